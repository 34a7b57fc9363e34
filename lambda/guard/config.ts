import * as z from 'zod/mini';
import { GUARD_DIGEST_PATTERN } from '../../lib/core/contract';
import { Exactly, loadEnvConfig, tableName } from '../shared/env-config';
import { centralNoticesSchema } from '../shared/notices';
import {
  GUARD_CONFIG_ENV,
  GuardConfig,
  DIMENSION_NAME_PATTERN,
  METRIC_QUERY_ID_PATTERN,
  OU_PATH_PATTERN,
  REGION_PATTERN,
} from '../../lib/core/config';

const arn = z.string().check(z.regex(/^arn:aws[a-z-]*:/, 'must be an ARN'));
const region = z.string().check(z.regex(REGION_PATTERN, 'must be an AWS region'));

const productionSource = z.discriminatedUnion('source', [
  z.object({ source: z.literal('fixed'), production: z.boolean() }),
  z.object({
    source: z.literal('account-tags'),
    tagKey: z.string().check(z.minLength(1)),
    values: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
    /** Role in the management or delegated-admin account to read Organizations through. */
    roleArn: z.optional(arn),
  }),
  z.object({
    source: z.literal('organizational-unit'),
    /** OU ids from the root down, `r-abcd/ou-abcd-11111111/...`; the account is production inside it. */
    ouPath: z.string().check(z.regex(OU_PATH_PATTERN)),
    roleArn: z.optional(arn),
  }),
]);

const trafficQuery = z.object({
  /** Id in GetMetricData: lower-case letter first. */
  id: z.string().check(z.regex(METRIC_QUERY_ID_PATTERN)),
  label: z.string().check(z.minLength(1)),
  /** A Metrics Insights query or a metric math expression that yields requests per period. */
  expression: z.string().check(z.minLength(1), z.maxLength(2048)),
  /** Distinct regions, one GetMetricData call each. */
  regions: z.array(region).check(
    z.minLength(1),
    z.refine((regions) => new Set(regions).size === regions.length, 'must not repeat a region'),
  ),
  /** The dimension that names each source; absent for a custom query. */
  groupBy: z.optional(z.string().check(z.regex(DIMENSION_NAME_PATTERN))),
});

export const guardConfigSchema = z.object({
  accountId: z.string().check(z.regex(/^\d{12}$/)),
  mode: z.enum(['ENFORCE', 'MONITOR']),
  scheduleMinutes: z.int().check(z.gte(1), z.lte(1440)),
  production: productionSource,
  productionCacheSeconds: z.int().check(z.gte(0), z.lte(86400)),
  traffic: z.object({
    queries: z.array(trafficQuery).check(z.minLength(1), z.maxLength(500)),
    thresholdPerMinute: z.number().check(z.gte(0)),
    lookbackMinutes: z.int().check(z.gte(1), z.lte(1440)),
    dropHoldMinutes: z.int().check(z.gte(1), z.lte(1440)),
  }),
  boundaryArn: arn,
  guardPolicyArns: z.array(arn).check(z.minLength(1), z.maxLength(10)),
  guardPolicyDigest: z.string().check(z.regex(GUARD_DIGEST_PATTERN, 'must be a guard policy digest')),
  managedPoliciesPerRole: z.int().check(z.gte(10), z.lte(20)),
  /** Protected actions beyond the built-in catalog, and exemptions from it: exact names or patterns. */
  extraProtectedActions: z.array(z.string()),
  exemptActions: z.array(z.string()),
  exemptGroups: z.optional(z.array(z.string())),
  statusParameterName: z.string().check(z.regex(/^\/[A-Za-z0-9_.\-/]+$/)),
  topicArn: arn,
  centralNotices: z.optional(centralNoticesSchema),
  concurrency: z.int().check(z.gte(1), z.lte(64)),
  leaseTableName: tableName,
});

// The schema checks exactly the interface the construct fills: neither may drift from the other.
const schemaMatchesInterface: Exactly<z.infer<typeof guardConfigSchema>, GuardConfig> = true;
void schemaMatchesInterface;

/** Reads and checks the configuration; throws a message that names every bad field. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): GuardConfig {
  return loadEnvConfig(env, GUARD_CONFIG_ENV, guardConfigSchema);
}
