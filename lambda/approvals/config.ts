import * as z from 'zod/mini';

export const APPROVALS_CONFIG_ENV = 'AGENT_GUARD_APPROVALS_CONFIG';

const arn = z.string().check(z.regex(/^arn:aws[a-z-]*:/, 'must be an ARN'));
const seconds = z.int().check(z.gte(60), z.lte(31 * 86400));

export const approvalsConfigSchema = z.object({
  accountId: z.string().check(z.regex(/^\d{12}$/)),
  /** IAM ARN patterns (`*` wildcards) of the roles and users who may approve and revoke. */
  approvers: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
  requiredApprovals: z.int().check(z.gte(1), z.lte(5)),
  maxDurationSeconds: seconds,
  breakGlassMaxSeconds: seconds,
  requestTtlSeconds: seconds,
  ticketPattern: z.optional(z.string()),
  retentionDays: z.int().check(z.gte(1), z.lte(3650)),
  tableName: z.string().check(z.minLength(1)),
  topicArn: arn,
  scheduleGroup: z.string().check(z.minLength(1)),
  schedulerRoleArn: arn,
  guardPolicyArns: z.array(arn).check(z.minLength(1)),
  customGroups: z.array(z.object({ name: z.string(), actions: z.array(z.string()) })),
  exemptActions: z.array(z.string()),
});
export type ApprovalsConfig = z.infer<typeof approvalsConfigSchema>;

export function loadApprovalsConfig(env: Readonly<Record<string, string | undefined>>): ApprovalsConfig {
  const raw = env[APPROVALS_CONFIG_ENV];
  if (!raw) throw new Error(`${APPROVALS_CONFIG_ENV} is not set; the AgentGuard construct sets it.`);
  const parsed = approvalsConfigSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) throw new Error(`${APPROVALS_CONFIG_ENV} is invalid: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
