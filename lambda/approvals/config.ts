import * as z from 'zod/mini';
import { GUARD_DIGEST_PATTERN } from '../../lib/core/contract';
import { Exactly, loadEnvConfig, tableName } from '../shared/env-config';
import { centralNoticesSchema } from '../shared/notices';
import { APPROVALS_CONFIG_ENV, ApprovalsConfig } from '../../lib/core/config';

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
  leaseTableName: tableName,
  topicArn: arn,
  centralNotices: z.optional(centralNoticesSchema),
  scheduleGroup: z.string().check(z.minLength(1)),
  schedulerRoleArn: arn,
  guardPolicyArns: z.array(arn).check(z.minLength(1)),
  guardPolicyDigest: z.string().check(z.regex(GUARD_DIGEST_PATTERN, 'must be a guard policy digest')),
  customGroups: z.array(z.object({ name: z.string(), actions: z.array(z.string()) })),
  exemptActions: z.array(z.string()),
  exemptGroups: z.optional(z.array(z.string())),
});
// The schema checks exactly the interface the construct fills: neither may drift from the other.
const schemaMatchesInterface: Exactly<z.infer<typeof approvalsConfigSchema>, ApprovalsConfig> = true;
void schemaMatchesInterface;

/** Reads and checks the configuration; throws a message that names every bad field. */
export function loadApprovalsConfig(env: Readonly<Record<string, string | undefined>>): ApprovalsConfig {
  return loadEnvConfig(env, APPROVALS_CONFIG_ENV, approvalsConfigSchema);
}
