import {
  CloudWatchClient,
  CloudWatchServiceException,
  GetMetricDataCommand,
  GetMetricDataCommandInput,
  GetMetricDataCommandOutput,
  MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import {
  AttachedPolicy,
  AttachRolePolicyCommand,
  GetAccountAuthorizationDetailsCommand,
  GetAccountAuthorizationDetailsCommandInput,
  GetAccountAuthorizationDetailsCommandOutput,
  GetRoleCommand,
  GetRoleCommandInput,
  GetRoleCommandOutput,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListAttachedRolePoliciesCommandInput,
  ListAttachedRolePoliciesCommandOutput,
  NoSuchEntityException,
  PutRolePermissionsBoundaryCommand,
  RoleDetail,
  TagRoleCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { ListTagsForResourceCommand, OrganizationsClient, Tag } from '@aws-sdk/client-organizations';
import { AuthorizationErrorException, PublishCommand, PublishCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { EventBridgeClient, PutEventsCommand, PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import {
  GetParameterCommand,
  GetParameterCommandInput,
  GetParameterCommandOutput,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  PutParameterCommandInput,
  PutParameterCommandOutput,
  SSMClient,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import {
  AGENT_TAG,
  AGENT_TAG_VALUE,
  approvalPolicyName,
  CONSTRAINED_TAG,
  CONSTRAINED_TAG_VALUE,
  STATE_TAG,
} from '../../lib/core/contract';
import { PolicyDocumentJson, PolicyStatementJson } from '../../lib/core/iam/policy-document';
import { TRUST_DENY_STATEMENT } from '../../lib/core/policy/trust-deny';
import { AwsCaller, RetryOptions } from '../../lambda/shared/aws-caller';
import { GuardConfig, TrafficQuery } from '../../lib/core/config';
import { Guard, GuardLogger, GuardMetrics } from '../../lambda/guard/guard';
import { assertCloudTrailEventName } from './cloudtrail-names';
import { RoleLeases } from '../../lambda/shared/role-lease';
import { FakeLeaseTable } from './fake-lease-table';

// ---------------------------------------------------------------------------------------------
// Constants of the fixture account
// ---------------------------------------------------------------------------------------------

export const ACCOUNT_ID = '111122223333';
export const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/AgentGuardBoundary`;
export const GUARD_POLICY_ARNS = [
  `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/AgentGuardDeny1`,
  `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/AgentGuardDeny2`,
] as const;
export const STATUS_PARAMETER = '/agent-guard/status';
export const TOPIC_ARN = `arn:aws:sns:us-east-1:${ACCOUNT_ID}:AgentGuardNotices`;
/** A fixed evaluation time; the clock of a fixture can be moved with `fx.now`. */
export const NOW = new Date('2026-05-01T12:00:00.000Z');

/**
 * The digest of the fixture's standard guard policies, as the construct passes it. The guard only
 * compares it with the digest in version names, so any value of the right form serves.
 */
export const GUARD_POLICY_DIGEST = '0a1b2c3d4e';
/** The digest of the guard policies of an earlier deploy. */
export const EARLIER_GUARD_POLICY_DIGEST = '9f8e7d6c5b';

/**
 * The ARN of an approval version of a guard policy, as the approval function names it: by default the
 * i-th version stands in for the i-th standard policy and carries the current digest.
 */
export function approvalPolicyArn(
  approvalId: string,
  index: number,
  count = 2,
  replaces = index,
  digest = GUARD_POLICY_DIGEST,
): string {
  return `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/${approvalPolicyName(approvalId, index, count, replaces, digest)}`;
}

export function roleArn(name: string): string {
  return `arn:aws:iam::${ACCOUNT_ID}:role/${name}`;
}

/** A valid guard configuration; `overrides` replace top-level fields. */
export function guardConfig(overrides: Partial<GuardConfig> = {}): GuardConfig {
  return {
    accountId: ACCOUNT_ID,
    mode: 'ENFORCE',
    scheduleMinutes: 5,
    production: { source: 'account-tags', tagKey: 'environment', values: ['production', 'prod'] },
    productionCacheSeconds: 900,
    traffic: {
      queries: [
        {
          id: 'traffic0',
          label: 'ALB',
          expression: 'SELECT SUM(RequestCount) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer)',
          regions: ['us-east-1'],
          groupBy: 'LoadBalancer',
        },
      ],
      thresholdPerMinute: 5,
      lookbackMinutes: 15,
      dropHoldMinutes: 60,
    },
    boundaryArn: BOUNDARY_ARN,
    guardPolicyArns: [...GUARD_POLICY_ARNS],
    guardPolicyDigest: GUARD_POLICY_DIGEST,
    managedPoliciesPerRole: 10,
    extraProtectedActions: [],
    exemptActions: [],
    statusParameterName: STATUS_PARAMETER,
    topicArn: TOPIC_ARN,
    concurrency: 8,
    leaseTableName: 'AgentGuardRoleLeases',
    ...overrides,
  };
}

/**
 * A traffic signal over `queries`, with the default threshold (5 per minute), lookback (15 minutes)
 * and drop hold (60 minutes).
 */
export function trafficConfig(queries: TrafficQuery[]): Pick<GuardConfig, 'traffic'> {
  return { traffic: { queries, thresholdPerMinute: 5, lookbackMinutes: 15, dropHoldMinutes: 60 } };
}

// ---------------------------------------------------------------------------------------------
// Roles, as GetAccountAuthorizationDetails and GetRole return them
// ---------------------------------------------------------------------------------------------

/** The statement that lets the account assume the role: what a role has before the guard touches it. */
export const ASSUME_STATEMENT: PolicyStatementJson = {
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` },
  Action: 'sts:AssumeRole',
};

export function trustPolicy(withDeny: boolean): PolicyDocumentJson {
  return {
    Version: '2012-10-17',
    Statement: withDeny ? [ASSUME_STATEMENT, TRUST_DENY_STATEMENT] : [ASSUME_STATEMENT],
  };
}

/** IAM returns policy documents URL-encoded (RFC 3986). */
export function encodePolicy(document: PolicyDocumentJson | string): string {
  const text = typeof document === 'string' ? document : JSON.stringify(document);
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface RoleSpec {
  readonly name: string;
  /** Carries `agent-guard:agent=true`. @default true */
  readonly agent?: boolean;
  /** The `agent-guard:state` tag; undefined leaves it off (a new role). */
  readonly state?: string;
  /** Carries `agent-guard:constrained=true`, as the guard leaves a role it has verified. @default false */
  readonly constrained?: boolean;
  /** The permission boundary; undefined for none. */
  readonly boundaryArn?: string;
  /** Attached managed policies. @default [] */
  readonly policyArns?: readonly string[];
  /** The trust policy: a document, raw (already URL-encoded) text, or true/false for with/without the deny. @default false */
  readonly trust?: boolean | PolicyDocumentJson | { readonly raw: string };
  /** Further tags. */
  readonly tags?: Readonly<Record<string, string>>;
}

function trustText(trust: RoleSpec['trust']): string {
  if (trust === undefined || typeof trust === 'boolean') return encodePolicy(trustPolicy(trust ?? false));
  if ('raw' in trust) return trust.raw;
  return encodePolicy(trust);
}

function specTags(spec: RoleSpec): { Key: string; Value: string }[] {
  const tags: Record<string, string> = {};
  if (spec.agent ?? true) tags[AGENT_TAG] = AGENT_TAG_VALUE;
  if (spec.state !== undefined) tags[STATE_TAG] = spec.state;
  if (spec.constrained) tags[CONSTRAINED_TAG] = CONSTRAINED_TAG_VALUE;
  Object.assign(tags, spec.tags ?? {});
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function attached(spec: RoleSpec): AttachedPolicy[] {
  return (spec.policyArns ?? []).map((arn) => ({ PolicyArn: arn, PolicyName: arn.split('/').pop() }));
}

/** One RoleDetailList entry of GetAccountAuthorizationDetails. */
export function roleDetail(spec: RoleSpec): RoleDetail {
  return {
    RoleName: spec.name,
    RoleId: `AROA${spec.name.toUpperCase().replace(/[^A-Z0-9]/g, '')}`.slice(0, 21),
    Arn: roleArn(spec.name),
    Path: '/',
    CreateDate: new Date('2026-01-01T00:00:00Z'),
    AssumeRolePolicyDocument: trustText(spec.trust),
    Tags: specTags(spec),
    PermissionsBoundary: spec.boundaryArn
      ? { PermissionsBoundaryType: 'PermissionsBoundaryPolicy', PermissionsBoundaryArn: spec.boundaryArn }
      : undefined,
    AttachedManagedPolicies: attached(spec),
    RolePolicyList: [],
    InstanceProfileList: [],
  };
}

/**
 * A fully constrained agent role: boundary, both guard policies, the trust deny, a state tag, and the
 * constrained tag the guard writes once it has verified them.
 */
export function constrainedRole(name: string, state: string | undefined, extra: Partial<RoleSpec> = {}): RoleSpec {
  return {
    name,
    state,
    constrained: true,
    boundaryArn: BOUNDARY_ARN,
    policyArns: [...GUARD_POLICY_ARNS],
    trust: true,
    ...extra,
  };
}

/** A new agent role: tagged as an agent, nothing else. */
export function newAgentRole(name: string, extra: Partial<RoleSpec> = {}): RoleSpec {
  return { name, ...extra };
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

export function scheduledEvent(): Record<string, unknown> {
  return {
    version: '0',
    id: '5c1f4b3a-0000-4000-8000-000000000001',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT_ID,
    time: NOW.toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:events:us-east-1:${ACCOUNT_ID}:rule/AgentGuardSchedule`],
    detail: {},
  };
}

export function alarmEvent(): Record<string, unknown> {
  return {
    version: '0',
    id: '5c1f4b3a-0000-4000-8000-000000000002',
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: ACCOUNT_ID,
    time: NOW.toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:cloudwatch:us-east-1:${ACCOUNT_ID}:alarm:AgentGuardTraffic`],
    detail: { alarmName: 'AgentGuardTraffic', state: { value: 'ALARM' } },
  };
}

function cloudTrailEvent(detail: Record<string, unknown>): Record<string, unknown> {
  assertCloudTrailEventName(String(detail.eventSource), String(detail.eventName));
  return {
    version: '0',
    id: '5c1f4b3a-0000-4000-8000-000000000003',
    'detail-type': 'AWS API Call via CloudTrail',
    source: typeof detail.eventSource === 'string' ? `aws.${detail.eventSource.split('.')[0]}` : 'aws.unknown',
    account: ACCOUNT_ID,
    time: NOW.toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: { eventVersion: '1.09', eventTime: NOW.toISOString(), awsRegion: 'us-east-1', ...detail },
  };
}

export const ADMIN_ACTOR = `arn:aws:sts::${ACCOUNT_ID}:assumed-role/PlatformAdmin/alice`;

/** An IAM call on a role, as CloudTrail delivers it through EventBridge. */
export function roleChangedEvent(eventName: string, roleName: string, actor = ADMIN_ACTOR): Record<string, unknown> {
  return cloudTrailEvent({
    eventSource: 'iam.amazonaws.com',
    eventName,
    userIdentity: { type: 'AssumedRole', arn: actor },
    requestParameters: { roleName },
    responseElements: null,
  });
}

/** A call refused to a role's session, as CloudTrail records it. */
export function accessDeniedEvent(input: {
  roleName: string;
  eventSource?: string;
  eventName?: string;
  errorCode?: string;
  errorMessage?: string;
  resourceArn?: string;
}): Record<string, unknown> {
  const arn = roleArn(input.roleName);
  return cloudTrailEvent({
    eventSource: input.eventSource ?? 'ec2.amazonaws.com',
    eventName: input.eventName ?? 'TerminateInstances',
    errorCode: input.errorCode ?? 'Client.UnauthorizedOperation',
    errorMessage:
      input.errorMessage ??
      `You are not authorized to perform this operation. User: arn:aws:sts::${ACCOUNT_ID}:assumed-role/${input.roleName}/agent is not authorized`,
    userIdentity: {
      type: 'AssumedRole',
      principalId: 'AROAEXAMPLE:agent',
      arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${input.roleName}/agent`,
      accountId: ACCOUNT_ID,
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROAEXAMPLE',
          arn,
          accountId: ACCOUNT_ID,
          userName: input.roleName,
        },
        attributes: { creationDate: NOW.toISOString(), mfaAuthenticated: 'false' },
      },
    },
    requestParameters: { instancesSet: { items: [{ instanceId: 'i-0123456789abcdef0' }] } },
    resources: input.resourceArn ? [{ ARN: input.resourceArn, accountId: ACCOUNT_ID }] : undefined,
  });
}

// ---------------------------------------------------------------------------------------------
// Errors, as the SDK raises them
// ---------------------------------------------------------------------------------------------

/** IAM's throttling error (IAM models no class for it; the SDK raises a plain service error). */
export function throttling(message = 'Rate exceeded'): Error {
  return Object.assign(new Error(message), {
    name: 'Throttling',
    $fault: 'client',
    $metadata: { httpStatusCode: 400, attempts: 1 },
  });
}

export function accessDenied(message = 'User is not authorized'): Error {
  return Object.assign(new Error(message), {
    name: 'AccessDenied',
    $fault: 'client',
    $metadata: { httpStatusCode: 403, attempts: 1 },
  });
}

export function parameterNotFound(): ParameterNotFound {
  return new ParameterNotFound({ message: 'Parameter not found', $metadata: { httpStatusCode: 400 } });
}

export function noSuchEntity(roleName: string): NoSuchEntityException {
  return new NoSuchEntityException({
    message: `The role with name ${roleName} cannot be found.`,
    $metadata: { httpStatusCode: 404 },
  });
}

// ---------------------------------------------------------------------------------------------
// Recording logger and metrics
// ---------------------------------------------------------------------------------------------

export interface LogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly attributes: Record<string, unknown>[];
}

export class RecordingLogger implements GuardLogger {
  public readonly entries: LogEntry[] = [];
  public info(message: string, ...attributes: Record<string, unknown>[]): void {
    this.entries.push({ level: 'info', message, attributes });
  }
  public warn(message: string, ...attributes: Record<string, unknown>[]): void {
    this.entries.push({ level: 'warn', message, attributes });
  }
  public error(message: string, ...attributes: Record<string, unknown>[]): void {
    this.entries.push({ level: 'error', message, attributes });
  }
  public messages(level: LogEntry['level']): string[] {
    return this.entries.filter((e) => e.level === level).map((e) => e.message);
  }
}

export class RecordingMetrics implements GuardMetrics {
  public readonly counts: { name: string; value: number }[] = [];
  public count(name: string, value: number): void {
    this.counts.push({ name, value });
  }
  /** The sum of every value counted under `name`. */
  public total(name: string): number {
    return this.counts.filter((c) => c.name === name).reduce((sum, c) => sum + c.value, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// The guard under test
// ---------------------------------------------------------------------------------------------

/** One datapoint per minute, ending at the evaluation time. */
export function perMinute(values: readonly number[], end: Date = NOW): { Timestamps: Date[]; Values: number[] } {
  return {
    Timestamps: values.map((_, i) => new Date(end.getTime() - (values.length - i) * 60000)),
    Values: [...values],
  };
}

export interface GuardFixtureOptions {
  readonly config?: Partial<GuardConfig>;
  /** Organizations account tags, or an error to reject with. @default environment=production */
  readonly accountTags?: Tag[] | Error;
  /**
   * Requests per minute that GetMetricData returns for every query, or an error to reject with.
   * @default [120, 140, 130]: live traffic, well above the threshold of 5
   */
  readonly traffic?: readonly number[] | Error;
  /** Requests per minute by region, for the regions named here; `traffic` answers the others. */
  readonly trafficByRegion?: Readonly<Record<string, readonly number[]>>;
  /**
   * The account's sources of traffic, one metric each: when given, CloudWatch answers every query from
   * them as Metrics Insights does (`insightsAnswer`), and `traffic` and `trafficByRegion` are unused.
   */
  readonly trafficSources?: readonly FakeTrafficSource[];
  /** Roles of the account, listed by GetAccountAuthorizationDetails and readable through GetRole. */
  readonly roles?: readonly RoleSpec[];
  /** Roles per GetAccountAuthorizationDetails page. @default 1000 */
  readonly pageSize?: number;
  /**
   * The status parameter's value before the first write; undefined means ParameterNotFound. The fake
   * parameter then holds what the guard writes.
   */
  readonly statusParameter?: string;
  readonly retry?: RetryOptions;
  /**
   * An IAM client to use instead of the mocked one (`roles` and `fx.iam` are then unused): a stateful
   * fake's, `FakeIam.client()` or `SharedIamAccount.client(writer)`, which enforce IAM's documented limits.
   */
  readonly iamClient?: IAMClient;
  /** A lease table shared with other writers. @default a new one */
  readonly leaseTable?: FakeLeaseTable;
  /** How the guard waits between polls of a held lease. @default one turn of the event loop */
  readonly leaseSleep?: (ms: number) => Promise<void>;
}

export interface GuardFixture {
  readonly guard: Guard;
  readonly config: GuardConfig;
  readonly iam: AwsClientStub<IAMClient>;
  readonly organizations: AwsClientStub<OrganizationsClient>;
  readonly cloudwatch: AwsClientStub<CloudWatchClient>;
  readonly ssm: AwsClientStub<SSMClient>;
  readonly sns: AwsClientStub<SNSClient>;
  readonly events: AwsClientStub<EventBridgeClient>;
  readonly caller: AwsCaller;
  /** The lease table the guard takes a role's lease in before writing the role. */
  readonly leaseTable: FakeLeaseTable;
  readonly logger: RecordingLogger;
  readonly metrics: RecordingMetrics;
  /** Regions the guard asked a CloudWatch client for, in order. */
  readonly cloudwatchRegions: string[];
  /** The status parameter behind the SSM stub (GetParameter and PutParameter). */
  readonly parameter: FakeParameter;
  /** The region of the client a GetMetricData input was sent through. */
  readonly regionOf: (input: GetMetricDataCommandInput) => string | undefined;
  /** The guard's clock; set `fx.now.value` to move it. */
  readonly now: { value: Date };
}

/** Names of IAM commands that write. */
export const IAM_WRITES = [
  TagRoleCommand,
  UntagRoleCommand,
  AttachRolePolicyCommand,
  PutRolePermissionsBoundaryCommand,
  UpdateAssumeRolePolicyCommand,
] as const;

/**
 * GetMetricData results for every query of a request, with the given per-minute values: one series
 * per query. A query without a label (a grouped read) gets a group value as its label (CW-23).
 */
export function metricResults(input: GetMetricDataCommandInput, values: readonly number[]): MetricDataResult[] {
  return (input.MetricDataQueries ?? []).map((q) => ({
    Id: q.Id,
    Label: q.Label ?? `${q.Id}-source`,
    StatusCode: 'Complete',
    ...perMinute(values, input.EndTime ?? NOW),
  }));
}

/** A Metrics Insights query: an expression in the Metrics Insights language (`SELECT ...`). */
const METRICS_INSIGHTS = /^\s*SELECT\b/i;

/** The most series one Metrics Insights query returns (docs/AWS-BEHAVIOUR.md, CW-3). */
export const INSIGHTS_SERIES_CAP = 500;

/** One metric of the fake account: a load balancer, API, distribution or function URL. */
export interface FakeTrafficSource {
  readonly region: string;
  /** The namespace it reports in, as the query names it: `AWS/ApplicationELB`. */
  readonly namespace: string;
  /** Its dimensions: `{ LoadBalancer: 'app/prod-api/1' }`. */
  readonly dimensions: Readonly<Record<string, string>>;
  /** Requests per minute, one per minute ending at the evaluation time. */
  readonly values: readonly number[];
}

/**
 * Whether a query's FROM clause matches a metric (CW-20): `FROM "ns"` matches every metric of the
 * namespace; `FROM SCHEMA("ns", k, ...)` only those with exactly the dimension keys listed.
 */
function fromMatches(expression: string, source: FakeTrafficSource): boolean {
  const schema = /\bFROM\s+SCHEMA\(\s*"([^"]+)"((?:\s*,\s*"?[A-Za-z0-9_]+"?)*)\s*\)/i.exec(expression);
  if (!schema) return expression.includes(`"${source.namespace}"`);
  const keys = schema[2]
    .split(',')
    .map((k) => k.trim().replace(/"/g, ''))
    .filter((k) => k !== '');
  const own = Object.keys(source.dimensions);
  return schema[1] === source.namespace && keys.length === own.length && keys.every((k) => own.includes(k));
}

const AGGREGATES: Readonly<Record<string, (values: number[]) => number>> = {
  MAX: (v) => Math.max(...v),
  MIN: (v) => Math.min(...v),
  SUM: (v) => v.reduce((a, b) => a + b, 0),
  AVG: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  COUNT: (v) => v.length,
};

/**
 * A Metrics Insights query's answer over `sources` (those of its region), as CloudWatch documents it:
 * without GROUP BY, one series summing every metric of the queried namespace (CW-20); with GROUP BY,
 * one series per group, labelled with the group's value or `Other` (CW-23), ranked by ORDER BY's aggregate over
 * each series' datapoints in the window (CW-21), then cut to LIMIT (CW-22) and never more than
 * INSIGHTS_SERIES_CAP series (CW-3). A series with no datapoint in the window is not returned.
 */
export function insightsAnswer(
  query: { readonly Id?: string; readonly Label?: string; readonly Expression?: string },
  sources: readonly FakeTrafficSource[],
  end: Date,
): MetricDataResult[] {
  const expression = query.Expression ?? '';
  const matching = sources.filter((s) => fromMatches(expression, s) && s.values.length > 0);
  const result = (label: string | undefined, values: readonly number[]): MetricDataResult => ({
    Id: query.Id,
    Label: label,
    StatusCode: 'Complete',
    ...perMinute(values, end),
  });
  const groupBy = /\bGROUP BY\s+"?([A-Za-z0-9_]+)"?/i.exec(expression);
  if (!groupBy) return [result(query.Label ?? query.Id, sumSeries(matching.map((s) => s.values)))];
  const groups = new Map<string, Array<readonly number[]>>();
  for (const source of matching) {
    const value = source.dimensions[groupBy[1]] ?? 'Other';
    groups.set(value, [...(groups.get(value) ?? []), source.values]);
  }
  let ranked = [...groups].map(([value, series]) => ({ value, values: sumSeries(series) }));
  const order = /\bORDER BY\s+(AVG|COUNT|MAX|MIN|SUM)\(\)\s*(ASC|DESC)?/i.exec(expression);
  if (order) {
    const aggregate = AGGREGATES[order[1].toUpperCase()];
    const sign = (order[2] ?? 'ASC').toUpperCase() === 'DESC' ? -1 : 1;
    ranked.sort((a, b) => sign * (aggregate(a.values) - aggregate(b.values)));
  }
  const limit = /\bLIMIT\s+(\d+)\s*$/i.exec(expression);
  ranked = ranked.slice(0, Math.min(limit ? Number(limit[1]) : Infinity, INSIGHTS_SERIES_CAP));
  // A query that matches nothing still answers its Id, with no datapoints.
  if (ranked.length === 0) return [result(query.Label ?? query.Id, [])];
  return ranked.map((group) => result(query.Label ?? group.value, group.values));
}

/** Per-minute sums of series that all end at the same minute. */
function sumSeries(series: ReadonlyArray<readonly number[]>): number[] {
  const length = Math.max(0, ...series.map((values) => values.length));
  return Array.from({ length }, (_, i) =>
    series.reduce((sum, values) => sum + (values[i - (length - values.length)] ?? 0), 0),
  );
}

/**
 * CloudWatch's documented limit on top of whatever a test mocks (docs/AWS-BEHAVIOUR.md, CW-1): a
 * GetMetricData call may hold only one Metrics Insights query, so a call with two or more is refused
 * with a validation error before it reaches the mock. The exact wording AWS uses was not found in the
 * documentation; the error is named `ValidationException`, HTTP 400, not retryable.
 */
export function enforceCloudWatchLimits(
  client: CloudWatchClient,
  onGetMetricData: (input: GetMetricDataCommandInput) => void = () => undefined,
): CloudWatchClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver) as unknown;
      return (command: unknown, ...rest: unknown[]) => {
        if (command instanceof GetMetricDataCommand) {
          onGetMetricData(command.input);
          const queries = (command.input.MetricDataQueries ?? []).filter((q) =>
            METRICS_INSIGHTS.test(q.Expression ?? ''),
          );
          if (queries.length > 1) {
            return Promise.reject(
              new CloudWatchServiceException({
                name: 'ValidationException',
                $fault: 'client',
                $metadata: { httpStatusCode: 400 },
                message: `A GetMetricData request can include only one Metrics Insights query; got ${queries.length}`,
              }),
            );
          }
        }
        return (target.send as (...args: unknown[]) => unknown).call(target, command, ...rest);
      };
    },
  });
}

/** SSM's limit on a Standard-tier parameter value (docs/AWS-BEHAVIOUR.md, SSM-1), counted in bytes. */
export const SSM_STANDARD_VALUE_LIMIT = 4096;

/**
 * The status parameter as Parameter Store keeps it: GetParameter answers the last value written, or
 * ParameterNotFound (SSM-4); PutParameter refuses a Standard-tier value over 4 KB (SSM-1) and counts
 * versions (SSM-3).
 */
export class FakeParameter {
  private version: number;

  constructor(
    private readonly name: string,
    public value: string | undefined,
  ) {
    this.version = value === undefined ? 0 : 1;
  }

  public get(input: GetParameterCommandInput): Promise<GetParameterCommandOutput> {
    if (input.Name !== this.name || this.value === undefined) return Promise.reject(parameterNotFound());
    return Promise.resolve({
      $metadata: {},
      Parameter: { Name: this.name, Type: 'String', Value: this.value, Version: this.version },
    });
  }

  public put(input: PutParameterCommandInput): Promise<PutParameterCommandOutput> {
    const value = input.Value ?? '';
    if (input.Name !== this.name) return Promise.reject(new Error(`the fake holds ${this.name} only`));
    if ((input.Tier ?? 'Standard') === 'Standard' && Buffer.byteLength(value, 'utf8') > SSM_STANDARD_VALUE_LIMIT) {
      return Promise.reject(
        new SSMServiceException({
          name: 'ValidationException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message:
            'Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger ' +
            'parameter value, upgrade the parameter to use the advanced-parameter tier.',
        }),
      );
    }
    if (this.value !== undefined && !input.Overwrite) {
      return Promise.reject(
        new ParameterAlreadyExists({ message: 'The parameter already exists.', $metadata: { httpStatusCode: 400 } }),
      );
    }
    this.value = value;
    this.version += 1;
    return Promise.resolve({ $metadata: {}, Version: this.version, Tier: 'Standard' });
  }
}

/**
 * A Guard wired to mocked SDK clients (one instance each, mocked per instance so fixtures never share
 * state), an AwsCaller that never sleeps, and a recording logger and metrics. Every command the guard
 * sends has a default answer; tests override with `fx.iam.on(...)` (the last matching definition wins).
 */
export function newGuard(options: GuardFixtureOptions = {}): GuardFixture {
  const config = guardConfig(options.config);
  const iamClient = new IAMClient({ region: 'us-east-1', maxAttempts: 1 });
  const organizationsClient = new OrganizationsClient({ region: 'us-east-1', maxAttempts: 1 });
  const cloudwatchClient = new CloudWatchClient({ region: 'us-east-1', maxAttempts: 1 });
  const ssmClient = new SSMClient({ region: 'us-east-1', maxAttempts: 1 });
  const snsClient = new SNSClient({ region: 'us-east-1', maxAttempts: 1 });
  const iam = mockClient(iamClient);
  const organizations = mockClient(organizationsClient);
  const cloudwatch = mockClient(cloudwatchClient);
  const ssm = mockClient(ssmClient);
  const sns = mockClient(snsClient);
  const eventsClient = new EventBridgeClient({ region: 'us-east-1', maxAttempts: 1 });
  const events = mockClient(eventsClient);

  // GIVEN the account's roles, paged as IAM pages them
  const details = (options.roles ?? []).map(roleDetail);
  mockRoles(iam, details, options.pageSize ?? 1000);
  iam.on(TagRoleCommand).resolves({});
  iam.on(UntagRoleCommand).resolves({});

  const tags = options.accountTags ?? [{ Key: 'environment', Value: 'production' }];
  if (tags instanceof Error) organizations.on(ListTagsForResourceCommand).rejects(tags);
  else organizations.on(ListTagsForResourceCommand).resolves({ Tags: tags });

  // One mocked client serves every region; each region's proxy notes which region an input went to.
  const regions = new WeakMap<object, string>();
  const regionOf = (input: GetMetricDataCommandInput) => regions.get(input);
  const traffic = options.traffic ?? [120, 140, 130];
  const sources = options.trafficSources;
  if (traffic instanceof Error) cloudwatch.on(GetMetricDataCommand).rejects(traffic);
  else if (sources) {
    cloudwatch.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput): GetMetricDataCommandOutput => ({
      $metadata: {},
      MetricDataResults: (input.MetricDataQueries ?? []).flatMap((q) =>
        insightsAnswer(
          q,
          sources.filter((s) => s.region === regionOf(input)),
          input.EndTime ?? NOW,
        ),
      ),
    }));
  } else {
    cloudwatch.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput): GetMetricDataCommandOutput => ({
      $metadata: {},
      MetricDataResults: metricResults(input, options.trafficByRegion?.[regionOf(input) ?? ''] ?? traffic),
    }));
  }

  const parameter = new FakeParameter(config.statusParameterName, options.statusParameter);
  ssm.on(GetParameterCommand).callsFake((input: GetParameterCommandInput) => parameter.get(input));
  ssm.on(PutParameterCommand).callsFake((input: PutParameterCommandInput) => parameter.put(input));
  // The function may publish to its own topic and the central target it was granted, nothing else.
  const central = config.centralNotices;
  const denied = (message: string) => new AuthorizationErrorException({ message, $metadata: { httpStatusCode: 403 } });
  sns.on(PublishCommand).callsFake((input: PublishCommandInput) => {
    const granted = [config.topicArn, ...(central?.kind === 'sns-topic' ? [central.arn] : [])];
    if (!granted.includes(input.TopicArn ?? '')) throw denied(`not authorized to publish to ${input.TopicArn}`);
    return { MessageId: 'message-1' };
  });
  events.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
    const bus = input.Entries?.[0]?.EventBusName;
    if (central?.kind !== 'event-bus' || bus !== central.arn) {
      throw Object.assign(new Error(`not authorized to put events on ${bus}`), { name: 'AccessDeniedException' });
    }
    return { FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] };
  });

  const caller = new AwsCaller({ sleep: () => Promise.resolve(), ...options.retry });
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  const cloudwatchRegions: string[] = [];
  const now = { value: NOW };
  const leaseTable = options.leaseTable ?? new FakeLeaseTable(config.leaseTableName);
  const guard = new Guard({
    config,
    iam: options.iamClient ?? iamClient,
    organizations: organizationsClient,
    cloudwatch: (region) => {
      cloudwatchRegions.push(region);
      return enforceCloudWatchLimits(cloudwatchClient, (input) => regions.set(input, region));
    },
    ssm: ssmClient,
    sns: snsClient,
    // One mocked client per service serves the central target's region too.
    centralClients: { sns: snsClient, events: eventsClient },
    caller,
    leases: new RoleLeases({
      ddb: leaseTable.client(),
      caller,
      tableName: config.leaseTableName,
      clock: () => now.value,
      sleep: options.leaseSleep ?? (() => new Promise((resolve) => setImmediate(resolve))),
    }),
    logger,
    metrics,
    clock: () => now.value,
  });
  return {
    guard,
    config,
    iam,
    organizations,
    cloudwatch,
    ssm,
    sns,
    events,
    caller,
    leaseTable,
    logger,
    metrics,
    cloudwatchRegions,
    parameter,
    regionOf,
    now,
  };
}

/** GetAccountAuthorizationDetails over `details`, in pages of `pageSize`; the Marker names the next page. */
export function rolePager(
  details: readonly RoleDetail[],
  pageSize = 1000,
): (input: GetAccountAuthorizationDetailsCommandInput) => GetAccountAuthorizationDetailsCommandOutput {
  return (input) => {
    const start = input.Marker === undefined ? 0 : Number(input.Marker.replace('page-', '')) * pageSize;
    const end = start + pageSize;
    const truncated = end < details.length;
    return {
      $metadata: {},
      RoleDetailList: details.slice(start, end),
      IsTruncated: truncated,
      Marker: truncated ? `page-${end / pageSize}` : undefined,
    };
  };
}

/**
 * Answers GetAccountAuthorizationDetails with `details` in pages of `pageSize` (Marker = index of the
 * next page), and GetRole / ListAttachedRolePolicies for each of them; other names are NoSuchEntity.
 */
export function mockRoles(iam: AwsClientStub<IAMClient>, details: readonly RoleDetail[], pageSize = 1000): void {
  iam.on(GetAccountAuthorizationDetailsCommand).callsFake(rolePager(details, pageSize));
  const byName = new Map(details.map((d) => [d.RoleName, { ...d }]));
  // The guard's repairs read back at once through GetRole and ListAttachedRolePolicies (the stateful
  // FakeIam, through `iamClient`, models delayed visibility).
  const update = (name: string | undefined, change: (d: RoleDetail) => RoleDetail) => {
    const d = name === undefined ? undefined : byName.get(name);
    if (name !== undefined && d) byName.set(name, change(d));
    return Promise.resolve({ $metadata: {} });
  };
  iam.on(AttachRolePolicyCommand).callsFake(({ RoleName, PolicyArn }: { RoleName?: string; PolicyArn?: string }) =>
    update(RoleName, (d) => ({
      ...d,
      AttachedManagedPolicies: [
        ...(d.AttachedManagedPolicies ?? []),
        { PolicyArn, PolicyName: PolicyArn?.split('/').pop() },
      ],
    })),
  );
  iam
    .on(PutRolePermissionsBoundaryCommand)
    .callsFake(({ RoleName, PermissionsBoundary }: { RoleName?: string; PermissionsBoundary?: string }) =>
      update(RoleName, (d) => ({
        ...d,
        PermissionsBoundary: {
          PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
          PermissionsBoundaryArn: PermissionsBoundary,
        },
      })),
    );
  iam
    .on(UpdateAssumeRolePolicyCommand)
    .callsFake(({ RoleName, PolicyDocument }: { RoleName?: string; PolicyDocument?: string }) =>
      update(RoleName, (d) => ({ ...d, AssumeRolePolicyDocument: encodePolicy(PolicyDocument ?? '') })),
    );
  iam.on(GetRoleCommand).callsFake((input: GetRoleCommandInput): Promise<GetRoleCommandOutput> => {
    const d = byName.get(input.RoleName);
    if (!d) return Promise.reject(noSuchEntity(input.RoleName ?? ''));
    return Promise.resolve({
      $metadata: {},
      Role: {
        RoleName: d.RoleName,
        RoleId: d.RoleId,
        Arn: d.Arn,
        Path: d.Path,
        CreateDate: d.CreateDate,
        AssumeRolePolicyDocument: d.AssumeRolePolicyDocument,
        Tags: d.Tags,
        PermissionsBoundary: d.PermissionsBoundary,
      },
    });
  });
  iam
    .on(ListAttachedRolePoliciesCommand)
    .callsFake((input: ListAttachedRolePoliciesCommandInput): Promise<ListAttachedRolePoliciesCommandOutput> => {
      const d = byName.get(input.RoleName);
      if (!d) return Promise.reject(noSuchEntity(input.RoleName ?? ''));
      return Promise.resolve({ $metadata: {}, AttachedPolicies: d.AttachedManagedPolicies ?? [], IsTruncated: false });
    });
}

// ---------------------------------------------------------------------------------------------
// Reading what the guard sent
// ---------------------------------------------------------------------------------------------

export interface SentCommand {
  readonly command: string;
  readonly input: Record<string, unknown>;
}

/** Every command a stub received, in order, by command class name (e.g. `TagRoleCommand`). */
export function sent(stub: { calls(): { args: readonly [unknown] }[] }, roleName?: string): SentCommand[] {
  return stub
    .calls()
    .map((call) => {
      const command = call.args[0] as { constructor: { name: string }; input: Record<string, unknown> };
      return { command: command.constructor.name, input: command.input };
    })
    .filter((c) => roleName === undefined || c.input.RoleName === roleName);
}

/** The IAM write commands sent, as `Command` names (reads left out), for one role or all. */
export function iamWrites(iam: AwsClientStub<IAMClient>, roleName?: string): SentCommand[] {
  const writes = new Set<string>(IAM_WRITES.map((c) => c.name));
  return sent(iam, roleName).filter((c) => writes.has(c.command));
}

/** The state tag value each TagRole call wrote, by role name, in call order. */
export function stateTagsWritten(iam: AwsClientStub<IAMClient>): { roleName: string; value: string | undefined }[] {
  return iam
    .commandCalls(TagRoleCommand)
    .filter((call) => call.args[0].input.Tags?.some((t) => t.Key === STATE_TAG))
    .map((call) => ({
      roleName: call.args[0].input.RoleName ?? '',
      value: call.args[0].input.Tags?.find((t) => t.Key === STATE_TAG)?.Value,
    }));
}

/** Messages published to SNS. */
export function published(sns: AwsClientStub<SNSClient>): { subject: string; message: string }[] {
  return sns.commandCalls(PublishCommand).map((call) => ({
    subject: call.args[0].input.Subject ?? '',
    message: call.args[0].input.Message ?? '',
  }));
}
