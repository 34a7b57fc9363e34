import * as z from 'zod/mini';

/** The env variable that carries the guard's configuration, as JSON written by the construct. */
export const CONFIG_ENV = 'AGENT_GUARD_CONFIG';

const arn = z.string().check(z.regex(/^arn:aws[a-z-]*:/, 'must be an ARN'));
const region = z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region'));

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
    ouPath: z.string().check(z.regex(/^r-[0-9a-z]{4,32}(\/ou-[0-9a-z]{4,32}-[0-9a-z]{8,32})+$/)),
    roleArn: z.optional(arn),
  }),
]);

const trafficQuery = z.object({
  /** Id in GetMetricData: lower-case letter first. */
  id: z.string().check(z.regex(/^[a-z][A-Za-z0-9_]{0,254}$/)),
  label: z.string().check(z.minLength(1)),
  /** A Metrics Insights query or a metric math expression that yields requests per period. */
  expression: z.string().check(z.minLength(1), z.maxLength(2048)),
  region,
});

export const guardConfigSchema = z.object({
  accountId: z.string().check(z.regex(/^\d{12}$/)),
  mode: z.enum(['ENFORCE', 'MONITOR']),
  production: productionSource,
  productionCacheSeconds: z.int().check(z.gte(0), z.lte(86400)),
  traffic: z.object({
    queries: z.array(trafficQuery).check(z.minLength(1), z.maxLength(500)),
    thresholdPerMinute: z.number().check(z.gte(0)),
    lookbackMinutes: z.int().check(z.gte(1), z.lte(1440)),
  }),
  boundaryArn: arn,
  guardPolicyArns: z.array(arn).check(z.minLength(1), z.maxLength(10)),
  /** Protected actions beyond the built-in catalog, and exemptions from it: exact names or patterns. */
  extraProtectedActions: z.array(z.string()),
  exemptActions: z.array(z.string()),
  statusParameterName: z.string().check(z.regex(/^\/[A-Za-z0-9_.\-/]+$/)),
  topicArn: arn,
  concurrency: z.int().check(z.gte(1), z.lte(64)),
});

export type GuardConfig = z.infer<typeof guardConfigSchema>;
export type ProductionSource = GuardConfig['production'];
export type TrafficQuery = z.infer<typeof trafficQuery>;

/** Reads and checks the configuration; throws a message that names every bad field. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): GuardConfig {
  const raw = env[CONFIG_ENV];
  if (!raw) throw new Error(`${CONFIG_ENV} is not set; the AgentGuard construct sets it.`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`${CONFIG_ENV} is not JSON.`);
  }
  const parsed = guardConfigSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${CONFIG_ENV} is invalid: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
