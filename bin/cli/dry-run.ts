import { approvalPolicySet, MAX_APPROVAL_POLICIES } from '../../lib/core/approval/approval-policies';
import { expiryFrom, formatDuration, isoSeconds } from '../../lib/core/approval/duration';
import { APPROVAL_TAG, GUARD_PATH, guardPolicyName } from '../../lib/core/contract';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { guardPolicyDigest } from '../../lib/core/policy/guard-digest';
import { compileGuardPolicies } from '../../lib/core/policy/guard-policies';
import { ResolvedCatalog } from '../../lib/core/policy/resolve-catalog';
import { messageOf, quote, usageError } from './errors';

/**
 * The AWS partitions, as AWS publishes them (the SDKs' partition data; aws-cdk-lib's RegionInfo lists
 * the same): commercial, China, GovCloud (US), the European Sovereign Cloud and the four isolated
 * (ISO) partitions. The dry run only builds documents, which read the same in each, so it takes them
 * all; whether AgentGuard itself deploys in a partition is a question for the construct, not for this
 * offline check. Anything else (`aws-gov`, `aws-china`, a typo) is refused.
 */
export const PARTITIONS = [
  'aws',
  'aws-cn',
  'aws-us-gov',
  'aws-eusc',
  'aws-iso',
  'aws-iso-b',
  'aws-iso-e',
  'aws-iso-f',
] as const;

/** Exactly what `approve --dry-run --json` prints: the tag and the policies the approval would write. */
export interface DryRunPlan {
  readonly approvalId: string;
  readonly roleArn: string;
  readonly expiresAt: string;
  readonly tags: { readonly [APPROVAL_TAG]: string };
  /** Every guard policy attached to the role while the approval is in force; the boundary is unchanged. */
  readonly policies: { readonly name: string; readonly arn: string; readonly document: PolicyDocumentJson }[];
}

export interface DryRunInput {
  readonly roleArn: string;
  /** Exact protected actions, resolved from the catalog. */
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly durationSeconds: number;
  readonly breakGlass: boolean;
}

/** The limits the deployed approval function applies; the dry run checks them the way it does. */
export interface DryRunLimits {
  readonly maxSeconds: number;
  readonly breakGlassMaxSeconds: number;
  /** Whether each limit is the construct's default, or came from a flag; for the messages. */
  readonly maxFromFlag: boolean;
  readonly breakGlassMaxFromFlag: boolean;
}

/**
 * The role's partition, which must be one AWS has. The resources are in it: the approval check
 * (validateApprovalResources) refuses any other, since the policies of a role in one partition never
 * match resources of another.
 */
export function rolePartition(roleArn: string): string {
  const partition = roleArn.split(':')[1] ?? '';
  if ((PARTITIONS as readonly string[]).includes(partition)) return partition;
  throw usageError(
    `--role ${quote(roleArn)} is in partition ${quote(partition)}, which AWS does not have. ` +
      `The partitions are ${PARTITIONS.join(', ')}.`,
  );
}

/** The duration check the approval function makes, with the limits it was deployed with. */
function checkLimit(input: DryRunInput, limits: DryRunLimits): void {
  const max = input.breakGlass ? limits.breakGlassMaxSeconds : limits.maxSeconds;
  if (input.durationSeconds <= max) return;
  const fromFlag = input.breakGlass ? limits.breakGlassMaxFromFlag : limits.maxFromFlag;
  const flag = input.breakGlass ? '--break-glass-max-duration' : '--max-approval-duration';
  const prop = input.breakGlass ? 'breakGlassMaxDuration' : 'maxApprovalDuration';
  throw usageError(
    `The duration ${formatDuration(input.durationSeconds)} is over the ${input.breakGlass ? 'break-glass ' : ''}` +
      `maximum of ${formatDuration(max)}; ask for less. ` +
      (fromFlag
        ? `(That maximum is from ${flag}.)`
        : `(That is the deployed default; for a guard deployed with another ${prop}, pass ${flag}.)`),
  );
}

/**
 * Builds, offline, the policy set an approval would put on the role, the way the approval function
 * does when no other approval is in force there: the expiry counts from now, to the second.
 */
export function planApproval(
  input: DryRunInput,
  deps: {
    readonly catalog: ResolvedCatalog;
    readonly now: Date;
    readonly newId: () => string;
    readonly limits: DryRunLimits;
  },
): DryRunPlan {
  const [, , account] = /^arn:([^:]+):iam::(\d{12}):role\//.exec(input.roleArn) ?? [];
  if (!account) throw usageError(`--role ${quote(input.roleArn)} is not an IAM role ARN.`);
  const partition = rolePartition(input.roleArn);
  checkLimit(input, deps.limits);
  const expires = expiryFrom(deps.now, input.durationSeconds);
  const approvalId = deps.newId();
  const setId = deps.newId();
  let policies;
  try {
    // Named with the digest of the standard policies this catalog compiles to, as the function names them.
    const standard = compileGuardPolicies({ catalog: deps.catalog, policyName: guardPolicyName });
    policies = approvalPolicySet(
      deps.catalog,
      setId,
      [{ id: approvalId, actions: input.actions, resources: input.resources, expiresAt: expires }],
      guardPolicyDigest(standard.map((p) => p.document)),
    );
  } catch (error) {
    // The library speaks of the approvals in force on the role; the dry run assumes there are none,
    // so this approval alone is what does not fit.
    const cause = (error as { cause?: unknown }).cause;
    throw usageError(
      `This approval alone does not fit the ${MAX_APPROVAL_POLICIES} policies an approval set may use ` +
        `(${messageOf(cause ?? error).replace(/\.$/, '')}). It names ${input.actions.length} exact action(s) ` +
        `and ${input.resources.length} resource(s); name fewer actions (exact ones rather than a whole group) or fewer resources.`,
    );
  }
  return {
    approvalId,
    roleArn: input.roleArn,
    expiresAt: isoSeconds(expires),
    tags: { [APPROVAL_TAG]: setId },
    policies: policies.map((p) => ({
      name: p.name,
      arn: `arn:${partition}:iam::${account}:policy${GUARD_PATH}${p.name}`,
      document: p.document,
    })),
  };
}
