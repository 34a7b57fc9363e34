import * as z from 'zod/mini';

/** The approval function's request bodies, shared by the function and the CLI. */

// A role name is 1 to 64 characters after an optional path; IAM answers ValidationError, not
// NoSuchEntity, for an empty or longer name, which would fail the invocation instead of refusing.
const roleArn = z
  .string()
  .check(
    z.maxLength(640),
    z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/, 'must be an IAM role ARN'),
  );
/** The name of a role, from its ARN (the path dropped). */
export function roleNameOf(roleArn: string): string {
  return roleArn.slice(roleArn.lastIndexOf('/') + 1);
}

const approvalId = z.string().check(z.regex(/^[a-z0-9]{8,32}$/, 'must be an approval id'));
const text = (max: number) => z.string().check(z.regex(/\S/, 'must not be blank'), z.maxLength(max));

const scope = {
  roleArn,
  actions: z.array(z.string().check(z.minLength(1), z.maxLength(128))).check(z.minLength(1), z.maxLength(50)),
  /** Resource ARN patterns; left out with `allResources`. */
  resources: z.optional(
    z.array(z.string().check(z.minLength(1), z.maxLength(2048))).check(z.minLength(1), z.maxLength(20)),
  ),
  /** Every resource: only for actions without a resource type, and only with `uses: 1`. */
  allResources: z.optional(z.literal(true)),
  durationSeconds: z.int().check(z.gte(1), z.lte(31 * 86400)),
  reason: text(1000),
  ticket: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  uses: z.optional(z.literal(1)),
};

export const apiRequestSchema = z.discriminatedUnion('op', [
  /** An agent (or anyone) asks for an approval; it waits for on-call. */
  z.object({ op: z.literal('request'), ...scope }),
  /** An approver grants a new approval; with a two-person rule it waits for the second approver. */
  z.object({ op: z.literal('approve'), ...scope, breakGlass: z.optional(z.boolean()) }),
  /** An approver approves a pending request or co-signs a pending approval. */
  z.object({ op: z.literal('approve-pending'), approvalId, reason: z.optional(text(1000)) }),
  z.object({ op: z.literal('revoke'), approvalId, reason: z.optional(text(1000)) }),
  z.object({ op: z.literal('list'), roleArn: z.optional(roleArn), includeEnded: z.optional(z.boolean()) }),
]);
export type ApiRequest = z.infer<typeof apiRequestSchema>;
export type ScopeRequest = Extract<ApiRequest, { op: 'request' | 'approve' }>;

export type ApprovalStatus = 'pending' | 'active' | 'revoked' | 'expired' | 'used' | 'lapsed' | 'failed';
export type ApprovalKind = 'approval' | 'request' | 'break-glass';

/** One approval as the audit table holds it and the API returns it. */
export interface ApprovalRecord {
  readonly approvalId: string;
  readonly kind: ApprovalKind;
  readonly status: ApprovalStatus;
  readonly roleArn: string;
  /** As typed: groups, actions or patterns. */
  readonly requestedActions: string[];
  /** The exact protected actions carved out. */
  readonly actions: string[];
  readonly resources: string[];
  readonly durationSeconds: number;
  readonly reason: string;
  readonly ticket?: string;
  readonly uses?: number;
  readonly requestedBy: string;
  readonly approvers: string[];
  readonly requiredApprovals: number;
  readonly createdAt: string;
  readonly requestExpiresAt?: string;
  readonly activatedAt?: string;
  readonly expiresAt?: string;
  readonly revokedBy?: string;
  readonly revokedAt?: string;
  readonly endedAt?: string;
  readonly endReason?: string;
  readonly reviewRequired?: boolean;
  /** The policy set in force on the role that carries this approval. */
  readonly policySetId?: string;
  /** Index key: `expiresAt` while active, `requestExpiresAt` while pending, `endedAt` after. */
  readonly sortAt: string;
  /** DynamoDB TTL, epoch seconds: the record is kept this long after it ends. */
  readonly ttl: number;
  readonly history: { at: string; by: string; what: string }[];
}

export type ApiResponse =
  | { ok: true; message: string; approval?: ApprovalRecord; approvals?: ApprovalRecord[] }
  | { ok: false; refused: true; message: string }
  | { ok: false; refused: false; message: string };
