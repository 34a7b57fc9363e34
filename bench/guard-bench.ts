/**
 * Guard benchmark (`npm run bench`): how many AWS calls the guard Lambda makes, and how long it runs,
 * for one account with 1,000 agent roles (and 200 other roles) when every AWS call takes 50 ms.
 *
 * The Guard gets fake SDK clients: `send(command)` sleeps 50 ms, then dispatches on the command's class
 * name against an in-memory account (roles with tags, boundary, attached policies and a trust policy;
 * the account's production tag and traffic; the status parameter), so writes really change the account
 * and the next sweep sees them. The fakes never throttle or fail, so retries stay 0 and the concurrency
 * figures are the best case: real IAM throttles bursts of writes.
 *
 *   A  first sweep   1,000 unconstrained agent roles in a protected account (production, live traffic)
 *   B  steady sweep  the same roles constrained and locked, status unchanged: writes beyond the status
 *                    heartbeat (one PutParameter per evaluation) must be 0, else exit 1
 *   C  lock flip     1,000 constrained, open roles; traffic starts; run at concurrency 1, 8 and 32
 *   D  role event    one CloudTrail CreateRole event for a new agent role
 *   bundle           the handler built as the construct builds it (esbuild), its size, largest inputs, and
 *                    the time a cold `require` of it takes in a fresh node process
 *
 * Timings come from a noisy machine and are printed, never asserted; only call counts and the state the
 * account ends in are checked.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  CloudWatchClient,
  GetMetricDataCommandInput,
  GetMetricDataCommandOutput,
  MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import {
  AttachRolePolicyCommandInput,
  AttachRolePolicyCommandOutput,
  GetAccountAuthorizationDetailsCommandInput,
  GetAccountAuthorizationDetailsCommandOutput,
  GetRoleCommandInput,
  GetRoleCommandOutput,
  IAMClient,
  LimitExceededException,
  ListAttachedRolePoliciesCommandInput,
  ListAttachedRolePoliciesCommandOutput,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  PutRolePermissionsBoundaryCommandInput,
  PutRolePermissionsBoundaryCommandOutput,
  Role,
  Tag,
  TagRoleCommandInput,
  TagRoleCommandOutput,
  UntagRoleCommandInput,
  UntagRoleCommandOutput,
  UpdateAssumeRolePolicyCommandInput,
  UpdateAssumeRolePolicyCommandOutput,
} from '@aws-sdk/client-iam';
import {
  ListTagsForResourceCommandInput,
  ListTagsForResourceCommandOutput,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { PublishCommandInput, PublishCommandOutput, SNSClient } from '@aws-sdk/client-sns';
import {
  GetParameterCommandInput,
  GetParameterCommandOutput,
  ParameterNotFound,
  PutParameterCommandInput,
  PutParameterCommandOutput,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { build } from 'esbuild';
import { loadConfig } from '../lambda/guard/config';
import { GUARD_CONFIG_ENV, GuardConfig } from '../lib/core/config';
import { decide, ProductionSignal, TrafficSignal } from '../lambda/guard/decide';
import { Guard, InvocationSummary } from '../lambda/guard/guard';
import { trustWithDeny } from '../lambda/guard/reconcile';
import { buildStatus } from '../lambda/guard/status';
import { AwsCaller } from '../lambda/shared/aws-caller';
import { RoleLeases } from '../lambda/shared/role-lease';
import { FakeLeaseTable } from '../test/support/fake-lease-table';
import {
  AGENT_TAG,
  AGENT_TAG_VALUE,
  DEFAULT_STATUS_PARAMETER,
  GUARD_TAG_KEY_PATTERN,
  STATE_LOCKED,
  STATE_OPEN,
  STATE_TAG,
  CONSTRAINED_TAG,
  CONSTRAINED_TAG_VALUE,
  TRUST_DENY_SID,
  TRUST_POLICY_MAX_CHARS,
} from '../lib/core/contract';

const LATENCY_MS = 50;
const AGENT_ROLES = 1000;
const OTHER_ROLES = 200;
const ACCOUNT_ID = '123456789012';
const REGION = 'us-east-1';
const ROOT = path.resolve(__dirname, '..');

const PRODUCTION_TAG = { key: 'environment', value: 'production' };
const TRAFFIC_THRESHOLD = 10;
const LIVE_TRAFFIC = 500;
const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/AgentGuardBoundary`;
// The example app compiles the catalog into two guard policies.
const GUARD_POLICY_ARNS = [1, 2].map((i) => `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/AgentGuardDeny${i}`);

/** The configuration the construct writes (GuardFunction), with an account-tags production signal. */
const RAW_CONFIG = {
  accountId: ACCOUNT_ID,
  mode: 'ENFORCE',
  production: { source: 'account-tags', tagKey: PRODUCTION_TAG.key, values: [PRODUCTION_TAG.value] },
  productionCacheSeconds: 900,
  traffic: {
    queries: [
      {
        id: 'traffic0',
        label: 'LoadBalancers',
        expression: 'SELECT SUM(RequestCount) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer)',
        regions: [REGION],
      },
    ],
    thresholdPerMinute: TRAFFIC_THRESHOLD,
    lookbackMinutes: 5,
    dropHoldMinutes: 60,
  },
  boundaryArn: BOUNDARY_ARN,
  guardPolicyArns: GUARD_POLICY_ARNS,
  // Any digest of the right form: the fakes hold no approval versions for it to tell apart.
  guardPolicyDigest: '0a1b2c3d4e',
  extraProtectedActions: [],
  exemptActions: [],
  statusParameterName: DEFAULT_STATUS_PARAMETER,
  topicArn: `arn:aws:sns:${REGION}:${ACCOUNT_ID}:AgentGuardNotices`,
  concurrency: 8,
  leaseTableName: 'AgentGuardRoleLeases',
  managedPoliciesPerRole: 10,
};
const CONFIG_JSON = JSON.stringify(RAW_CONFIG);

function config(concurrency: number): GuardConfig {
  return { ...loadConfig({ [GUARD_CONFIG_ENV]: CONFIG_JSON }), concurrency };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------
// The account

interface ModelRole {
  readonly name: string;
  readonly arn: string;
  readonly roleId: string;
  tags: Tag[];
  boundaryArn?: string;
  attached: string[];
  /** Decoded JSON; the fake returns it URL-encoded, as IAM does. */
  trust: string;
  writes: number;
}

const ALLOW_ACCOUNT = {
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` },
  Action: 'sts:AssumeRole',
};
/** The guard's trust statement as IAM may hand it back: one-element lists as plain strings. */
const TRUST_DENY_AS_IAM_RETURNS = {
  Sid: TRUST_DENY_SID,
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: 'sts:TagSession',
  Condition: { 'ForAnyValue:StringLike': { 'aws:TagKeys': GUARD_TAG_KEY_PATTERN } },
};
const trustPolicy = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

export type AgentShape = 'unconstrained' | 'locked' | 'open';

export class Account {
  public readonly roles = new Map<string, ModelRole>();
  public readonly parameters = new Map<string, { value: string; version: number }>();
  public production = true;
  public requestsPerMinute = LIVE_TRAFFIC;

  /** 1,000 agent roles (or `agentRoles`) in the given shape and 200 other roles (or `otherRoles`); the status parameter as given. */
  constructor(agents: AgentShape, status: string, agentRoles = AGENT_ROLES, otherRoles = OTHER_ROLES) {
    for (let i = 1; i <= otherRoles; i++) {
      this.addRole(`app-${String(i).padStart(4, '0')}`, {
        tags: [{ Key: 'team', Value: 'web' }],
        attached: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
        trust: trustPolicy({
          Effect: 'Allow',
          Principal: { Service: 'ecs-tasks.amazonaws.com' },
          Action: 'sts:AssumeRole',
        }),
      });
    }
    for (let i = 1; i <= agentRoles; i++) this.addAgentRole(`agent-${String(i).padStart(4, '0')}`, agents);
    this.parameters.set(DEFAULT_STATUS_PARAMETER, { value: status, version: 1 });
  }

  public addAgentRole(name: string, shape: AgentShape): void {
    const tags: Tag[] = [
      { Key: AGENT_TAG, Value: AGENT_TAG_VALUE },
      { Key: 'team', Value: 'ml' },
    ];
    const agentPolicy = 'arn:aws:iam::aws:policy/PowerUserAccess';
    if (shape === 'unconstrained') {
      this.addRole(name, { tags, attached: [agentPolicy], trust: trustPolicy(ALLOW_ACCOUNT) });
      return;
    }
    this.addRole(name, {
      tags: [
        ...tags,
        { Key: STATE_TAG, Value: shape === 'open' ? STATE_OPEN : STATE_LOCKED },
        { Key: CONSTRAINED_TAG, Value: CONSTRAINED_TAG_VALUE },
      ],
      boundaryArn: BOUNDARY_ARN,
      attached: [agentPolicy, ...GUARD_POLICY_ARNS],
      trust: trustPolicy(ALLOW_ACCOUNT, TRUST_DENY_AS_IAM_RETURNS),
    });
  }

  private addRole(name: string, parts: Pick<ModelRole, 'tags' | 'attached' | 'trust'> & { boundaryArn?: string }) {
    const roleId = `AROA${String(this.roles.size).padStart(17, '0')}`;
    this.roles.set(name, { name, arn: `arn:aws:iam::${ACCOUNT_ID}:role/${name}`, roleId, writes: 0, ...parts });
  }

  public isAgent(role: ModelRole): boolean {
    return role.tags.some((t) => t.Key?.toLowerCase() === AGENT_TAG && t.Value === AGENT_TAG_VALUE);
  }

  public tag(role: ModelRole, key: string): string | undefined {
    return role.tags.find((t) => t.Key?.toLowerCase() === key.toLowerCase())?.Value;
  }

  /** Agent roles not fully constrained in the given state; non-agent roles that were written. */
  public problems(state: string): string[] {
    const problems: string[] = [];
    for (const role of this.roles.values()) {
      if (!this.isAgent(role)) {
        if (role.writes > 0) problems.push(`${role.name}: not an agent role, but written ${role.writes} times`);
        continue;
      }
      const missing = [
        this.tag(role, STATE_TAG) === state ? undefined : `state ${this.tag(role, STATE_TAG)}`,
        this.tag(role, CONSTRAINED_TAG) === CONSTRAINED_TAG_VALUE ? undefined : 'constrained tag',
        role.boundaryArn === BOUNDARY_ARN ? undefined : 'boundary',
        GUARD_POLICY_ARNS.every((arn) => role.attached.includes(arn)) ? undefined : 'guard policies',
        trustWithDeny(role.trust) === undefined ? undefined : 'trust statement',
      ].filter((m) => m !== undefined);
      if (missing.length > 0) problems.push(`${role.name}: ${missing.join(', ')}`);
    }
    return problems;
  }
}

export function statusValue(production: boolean, trafficActive: boolean): string {
  const productionSignal: ProductionSignal = {
    production,
    reason: `account tag ${PRODUCTION_TAG.key}=${production ? PRODUCTION_TAG.value : 'staging'}`,
  };
  const traffic: TrafficSignal = {
    active: trafficActive,
    requestsPerMinute: trafficActive ? LIVE_TRAFFIC : 0,
    thresholdPerMinute: TRAFFIC_THRESHOLD,
    reason: trafficActive ? 'above threshold' : 'no datapoints',
    sources: [],
  };
  const status = buildStatus(
    {
      account: ACCOUNT_ID,
      mode: 'ENFORCE',
      decision: decide(productionSignal, traffic, 'ENFORCE'),
      production: productionSignal,
      traffic,
      trafficMemory: { liveAt: null, holdUntil: null },
      scheduleMinutes: 5,
      exemptGroups: [],
      lookbackMinutes: RAW_CONFIG.traffic.lookbackMinutes,
      now: new Date(Date.now() - 3600_000),
    },
    undefined,
  );
  return JSON.stringify(status, null, 1);
}

/** What the construct puts in the status parameter before the guard first runs. */
export const INITIAL_STATUS = JSON.stringify({
  schemaVersion: 0,
  note: 'The guard has not evaluated this account yet.',
});

// ---------------------------------------------------------------------------------------------------
// Fake SDK clients

interface SdkCommand {
  readonly input: unknown;
}
interface FakeClient {
  send(command: SdkCommand): Promise<unknown>;
}

const META = { httpStatusCode: 200 };
const encodePolicy = (document: string) => encodeURIComponent(document);
const iamError = <E>(Type: new (o: { message: string; $metadata: object }) => E, message: string) =>
  new Type({ message, $metadata: { httpStatusCode: 400 } });

/** What IAM says of a role alike in GetAccountAuthorizationDetails and GetRole. */
const roleFields = (r: ModelRole): Role => ({
  Path: '/',
  RoleName: r.name,
  RoleId: r.roleId,
  Arn: r.arn,
  CreateDate: new Date('2025-01-01T00:00:00Z'),
  AssumeRolePolicyDocument: encodePolicy(r.trust),
  PermissionsBoundary: r.boundaryArn
    ? { PermissionsBoundaryType: 'PermissionsBoundaryPolicy', PermissionsBoundaryArn: r.boundaryArn }
    : undefined,
  Tags: r.tags.map((t) => ({ ...t })),
});

/** Every call of the guard, by API name, and how many ran at once. */
export class FakeAws {
  public readonly iam: IAMClient;
  public readonly organizations: OrganizationsClient;
  public readonly cloudwatch: CloudWatchClient;
  public readonly ssm: SSMClient;
  public readonly sns: SNSClient;
  /** The role leases, a DynamoDB table: the guard takes a role's lease only to write the role. */
  public readonly ddb: DynamoDBDocumentClient;
  private readonly leaseTable = new FakeLeaseTable(RAW_CONFIG.leaseTableName);
  private counts = new Map<string, number>();
  private inFlight = 0;
  private peak = 0;

  constructor(
    public readonly account: Account,
    private readonly latencyMs: number,
  ) {
    this.iam = this.client((name, input) => this.iamCall(name, input)) as unknown as IAMClient;
    this.organizations = this.client((name, input) =>
      this.organizationsCall(name, input),
    ) as unknown as OrganizationsClient;
    this.cloudwatch = this.client((name, input) => this.cloudwatchCall(name, input)) as unknown as CloudWatchClient;
    this.ssm = this.client((name, input) => this.ssmCall(name, input)) as unknown as SSMClient;
    this.sns = this.client((name, input) => this.snsCall(name, input)) as unknown as SNSClient;
    this.ddb = this.client((_name, _input, command) =>
      this.leaseTable.send(command),
    ) as unknown as DynamoDBDocumentClient;
  }

  /** Calls by API since the last take, and the most that were in flight at once. */
  public take(): { calls: Map<string, number>; peakInFlight: number } {
    const taken = { calls: this.counts, peakInFlight: this.peak };
    this.counts = new Map();
    this.peak = 0;
    return taken;
  }

  private client(dispatch: (name: string, input: unknown, command: SdkCommand) => unknown): FakeClient {
    return {
      send: async (command) => {
        const name = command.constructor.name;
        const api = name.replace(/Command$/, '');
        this.counts.set(api, (this.counts.get(api) ?? 0) + 1);
        this.inFlight++;
        this.peak = Math.max(this.peak, this.inFlight);
        try {
          await sleep(this.latencyMs);
          return await dispatch(name, command.input, command);
        } finally {
          this.inFlight--;
        }
      },
    };
  }

  private role(name: string | undefined): ModelRole {
    const role = name === undefined ? undefined : this.account.roles.get(name);
    if (!role) throw iamError(NoSuchEntityException, `The role with name ${name} cannot be found.`);
    return role;
  }

  private iamCall(name: string, input: unknown): unknown {
    switch (name) {
      case 'GetAccountAuthorizationDetailsCommand':
        return this.getAccountAuthorizationDetails(input as GetAccountAuthorizationDetailsCommandInput);
      case 'GetRoleCommand':
        return this.getRole(input as GetRoleCommandInput);
      case 'ListAttachedRolePoliciesCommand':
        return this.listAttachedRolePolicies(input as ListAttachedRolePoliciesCommandInput);
      case 'TagRoleCommand':
        return this.tagRole(input as TagRoleCommandInput);
      case 'UntagRoleCommand':
        return this.untagRole(input as UntagRoleCommandInput);
      case 'PutRolePermissionsBoundaryCommand':
        return this.putRolePermissionsBoundary(input as PutRolePermissionsBoundaryCommandInput);
      case 'AttachRolePolicyCommand':
        return this.attachRolePolicy(input as AttachRolePolicyCommandInput);
      case 'UpdateAssumeRolePolicyCommand':
        return this.updateAssumeRolePolicy(input as UpdateAssumeRolePolicyCommandInput);
      default:
        throw new Error(`fake IAM does not model ${name}`);
    }
  }

  private getAccountAuthorizationDetails(
    input: GetAccountAuthorizationDetailsCommandInput,
  ): GetAccountAuthorizationDetailsCommandOutput {
    if (!input.Filter?.includes('Role') || input.Filter.length !== 1) throw new Error('bench expects Filter [Role]');
    const pageSize = Math.min(input.MaxItems ?? 100, 1000);
    const start = input.Marker ? Number(Buffer.from(input.Marker, 'base64').toString()) : 0;
    const names = [...this.account.roles.keys()].sort();
    const page = names.slice(start, start + pageSize).map((n) => this.role(n));
    const next = start + page.length;
    return {
      $metadata: META,
      RoleDetailList: page.map((r) => ({
        ...roleFields(r),
        InstanceProfileList: [],
        RolePolicyList: [],
        AttachedManagedPolicies: r.attached.map((arn) => ({ PolicyArn: arn, PolicyName: arn.split('/').pop() })),
        RoleLastUsed: {},
      })),
      IsTruncated: next < names.length,
      Marker: next < names.length ? Buffer.from(String(next)).toString('base64') : undefined,
    };
  }

  private getRole(input: GetRoleCommandInput): GetRoleCommandOutput {
    const r = this.role(input.RoleName);
    return {
      $metadata: META,
      Role: { ...roleFields(r), MaxSessionDuration: 3600 },
    };
  }

  private listAttachedRolePolicies(input: ListAttachedRolePoliciesCommandInput): ListAttachedRolePoliciesCommandOutput {
    const r = this.role(input.RoleName);
    const pageSize = input.MaxItems ?? 100;
    const start = input.Marker ? Number(input.Marker) : 0;
    const page = r.attached.slice(start, start + pageSize);
    const next = start + page.length;
    return {
      $metadata: META,
      AttachedPolicies: page.map((arn) => ({ PolicyArn: arn, PolicyName: arn.split('/').pop() })),
      IsTruncated: next < r.attached.length,
      Marker: next < r.attached.length ? String(next) : undefined,
    };
  }

  private tagRole(input: TagRoleCommandInput): TagRoleCommandOutput {
    const r = this.role(input.RoleName);
    // IAM keeps tag keys unique without regard to case; tagging an existing key replaces it.
    for (const tag of input.Tags ?? []) {
      const key = tag.Key?.toLowerCase();
      r.tags = [...r.tags.filter((t) => t.Key?.toLowerCase() !== key), { Key: tag.Key, Value: tag.Value }];
    }
    if (r.tags.length > 50) throw iamError(LimitExceededException, 'A role can have at most 50 tags.');
    r.writes++;
    return { $metadata: META };
  }

  private untagRole(input: UntagRoleCommandInput): UntagRoleCommandOutput {
    const r = this.role(input.RoleName);
    const keys = new Set((input.TagKeys ?? []).map((k) => k.toLowerCase()));
    r.tags = r.tags.filter((t) => !keys.has(t.Key?.toLowerCase() ?? ''));
    r.writes++;
    return { $metadata: META };
  }

  private putRolePermissionsBoundary(
    input: PutRolePermissionsBoundaryCommandInput,
  ): PutRolePermissionsBoundaryCommandOutput {
    const r = this.role(input.RoleName);
    r.boundaryArn = input.PermissionsBoundary;
    r.writes++;
    return { $metadata: META };
  }

  private attachRolePolicy(input: AttachRolePolicyCommandInput): AttachRolePolicyCommandOutput {
    const r = this.role(input.RoleName);
    if (input.PolicyArn && !r.attached.includes(input.PolicyArn)) {
      if (r.attached.length >= 10)
        throw iamError(LimitExceededException, 'Cannot exceed quota for PoliciesPerRole: 10');
      r.attached = [...r.attached, input.PolicyArn];
    }
    r.writes++;
    return { $metadata: META };
  }

  private updateAssumeRolePolicy(input: UpdateAssumeRolePolicyCommandInput): UpdateAssumeRolePolicyCommandOutput {
    const r = this.role(input.RoleName);
    const document = input.PolicyDocument ?? '';
    try {
      JSON.parse(document);
    } catch {
      throw iamError(MalformedPolicyDocumentException, 'This policy contains invalid Json');
    }
    if (document.replace(/\s/g, '').length > TRUST_POLICY_MAX_CHARS) {
      throw iamError(LimitExceededException, `Cannot exceed quota for ACLSizePerRole: ${TRUST_POLICY_MAX_CHARS}`);
    }
    r.trust = document;
    r.writes++;
    return { $metadata: META };
  }

  private organizationsCall(name: string, input: unknown): unknown {
    if (name !== 'ListTagsForResourceCommand') throw new Error(`fake Organizations does not model ${name}`);
    const { ResourceId } = input as ListTagsForResourceCommandInput;
    if (ResourceId !== ACCOUNT_ID) throw new Error(`unexpected ResourceId ${ResourceId}`);
    const value = this.account.production ? PRODUCTION_TAG.value : 'staging';
    const output: ListTagsForResourceCommandOutput = {
      $metadata: META,
      Tags: [
        { Key: PRODUCTION_TAG.key, Value: value },
        { Key: 'cost-centre', Value: '42' },
      ],
    };
    return output;
  }

  private cloudwatchCall(name: string, input: unknown): unknown {
    if (name !== 'GetMetricDataCommand') throw new Error(`fake CloudWatch does not model ${name}`);
    const { StartTime, EndTime, MetricDataQueries } = input as GetMetricDataCommandInput;
    const minutes: Date[] = [];
    if (StartTime && EndTime && this.account.requestsPerMinute > 0) {
      for (let t = Math.ceil(StartTime.getTime() / 60000) * 60000; t < EndTime.getTime(); t += 60000) {
        minutes.push(new Date(t));
      }
    }
    const results: MetricDataResult[] = (MetricDataQueries ?? []).map((q) => ({
      Id: q.Id,
      Label: q.Label,
      StatusCode: 'Complete',
      Timestamps: minutes,
      Values: minutes.map(() => this.account.requestsPerMinute),
    }));
    const output: GetMetricDataCommandOutput = { $metadata: META, MetricDataResults: results, Messages: [] };
    return output;
  }

  private ssmCall(name: string, input: unknown): unknown {
    switch (name) {
      case 'GetParameterCommand': {
        const { Name } = input as GetParameterCommandInput;
        const parameter = Name === undefined ? undefined : this.account.parameters.get(Name);
        if (!parameter) throw new ParameterNotFound({ message: '', $metadata: { httpStatusCode: 400 } });
        const output: GetParameterCommandOutput = {
          $metadata: META,
          Parameter: { Name, Type: 'String', Value: parameter.value, Version: parameter.version },
        };
        return output;
      }
      case 'PutParameterCommand': {
        const { Name, Value } = input as PutParameterCommandInput;
        if (Name === undefined || Value === undefined) throw new Error('PutParameter without Name or Value');
        const version = (this.account.parameters.get(Name)?.version ?? 0) + 1;
        this.account.parameters.set(Name, { value: Value, version });
        const output: PutParameterCommandOutput = { $metadata: META, Version: version, Tier: 'Standard' };
        return output;
      }
      default:
        throw new Error(`fake SSM does not model ${name}`);
    }
  }

  private snsCall(name: string, input: unknown): unknown {
    if (name !== 'PublishCommand') throw new Error(`fake SNS does not model ${name}`);
    const { TopicArn } = input as PublishCommandInput;
    if (TopicArn !== RAW_CONFIG.topicArn) throw new Error(`unexpected topic ${TopicArn}`);
    const output: PublishCommandOutput = { $metadata: META, MessageId: 'bench' };
    return output;
  }
}

// ---------------------------------------------------------------------------------------------------
// Running the guard

const READ_KIND: Record<string, 'signal' | 'status' | 'list' | 'role' | 'lease'> = {
  GetMetricData: 'signal',
  ListTagsForResource: 'signal',
  ListParents: 'signal',
  GetParameter: 'status',
  GetAccountAuthorizationDetails: 'list',
  GetRole: 'role',
  ListAttachedRolePolicies: 'role',
  // the lock decision, read from the role lease table before and after a role is opened
  Get: 'lease',
};

interface Run {
  readonly label: string;
  readonly wallMs: number;
  /** CPU time of this process during the run: the guard's own work, plus the fakes'. */
  readonly cpuMs: number;
  readonly summary: InvocationSummary;
  readonly calls: Map<string, number>;
  readonly peakInFlight: number;
  readonly reads: { signal: number; status: number; list: number; role: number; total: number };
  readonly writes: number;
  /** Calls to the role lease table (DynamoDB): leases taken and released, the lock decision. */
  readonly lease: number;
}

export interface Harness {
  readonly fake: FakeAws;
  readonly guard: Guard;
  readonly log: { warnings: string[]; errors: string[] };
}

/** A cold start: a new Guard (empty caches) on the given account. */
export function coldGuard(account: Account, concurrency: number, latencyMs = LATENCY_MS): Harness {
  const fake = new FakeAws(account, latencyMs);
  const log = { warnings: [] as string[], errors: [] as string[] };
  const caller = new AwsCaller();
  const guard = new Guard({
    config: config(concurrency),
    iam: fake.iam,
    organizations: fake.organizations,
    cloudwatch: () => fake.cloudwatch,
    ssm: fake.ssm,
    sns: fake.sns,
    caller,
    leases: new RoleLeases({ ddb: fake.ddb, caller, tableName: RAW_CONFIG.leaseTableName }),
    logger: {
      info: () => undefined,
      warn: (message) => log.warnings.push(message),
      error: (message) => log.errors.push(message),
    },
    metrics: { count: () => undefined },
  });
  return { fake, guard, log };
}

let failed = false;
function check(ok: boolean, message: string): void {
  if (ok) return;
  failed = true;
  console.log(`  CHECK FAILED: ${message}`);
}

const fmt = (n: number) => n.toLocaleString('en-US');
const ms = (n: number) => `${fmt(Math.round(n))} ms`;

/** Writes beyond the lease table's: a steady sweep must make none. */
/** Writes to roles: every write but the status heartbeat and the lease table's. */
function roleWrites(run: Run): number {
  return (
    run.writes - (run.calls.get('PutParameter') ?? 0) - (run.calls.get('Put') ?? 0) - (run.calls.get('Delete') ?? 0)
  );
}

async function invoke(label: string, harness: Harness, event: unknown): Promise<Run> {
  harness.fake.take();
  harness.log.warnings.length = 0;
  harness.log.errors.length = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const summary = await harness.guard.handle(event);
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const { calls, peakInFlight } = harness.fake.take();
  const reads = { signal: 0, status: 0, list: 0, role: 0, lease: 0, total: 0 };
  let writes = 0;
  for (const [api, n] of calls) {
    const kind = READ_KIND[api];
    if (kind) {
      reads[kind] += n;
      reads.total += n;
    } else writes += n;
  }
  const lease = ['Put', 'Delete', 'Get'].reduce((sum, api) => sum + (calls.get(api) ?? 0), 0);
  const run: Run = { label, wallMs, cpuMs, summary, calls, peakInFlight, reads, writes, lease };
  const byApi = [...calls].map(([api, n]) => `${api} ${fmt(n)}`).join(', ');
  console.log(
    `${label}: ${fmt(reads.total)} reads, ${fmt(writes)} writes, ${summary.calls.retries} retries, ${ms(wallMs)} ` +
      `(cpu ${ms(cpuMs)}); ` +
      `peak ${peakInFlight} calls in flight; roles changed ${fmt(summary.rolesChanged)}, ` +
      `repaired ${summary.rolesRepaired}, failed ${summary.rolesFailed}\n    ${byApi}`,
  );
  check(
    summary.calls.reads === reads.total && summary.calls.writes === writes,
    `AwsCaller counted ${summary.calls.reads} reads and ${summary.calls.writes} writes, the fakes saw ${reads.total} and ${writes}`,
  );
  check(summary.calls.failures === 0 && summary.rolesFailed === 0, `${summary.calls.failures} calls failed`);
  check(harness.log.errors.length === 0, `logged errors: ${harness.log.errors.slice(0, 3).join('; ')}`);
  return run;
}

export const scheduled = { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };
const alarm = {
  'detail-type': 'CloudWatch Alarm State Change',
  source: 'aws.cloudwatch',
  detail: { alarmName: 'AgentGuardTraffic-LoadBalancers', state: { value: 'ALARM' } },
};
const createRole = (roleName: string) => ({
  'detail-type': 'AWS API Call via CloudTrail',
  source: 'aws.iam',
  detail: {
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreateRole',
    userIdentity: { arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/Deployer/ci` },
    requestParameters: { roleName },
  },
});

// ---------------------------------------------------------------------------------------------------
// Bundle

interface BundleFigures {
  readonly bytes: number;
  readonly topInputs: { path: string; bytes: number }[];
  readonly topPackages: { path: string; bytes: number }[];
  readonly loadMs: number[];
}

/** Builds the handler with the options the construct gives NodejsFunction, then requires it cold 5 times. */
async function bundle(): Promise<BundleFigures> {
  const dir = await mkdtemp(path.join(tmpdir(), 'agent-guard-bench-'));
  try {
    const outfile = path.join(dir, 'index.js');
    const result = await build({
      absWorkingDir: ROOT,
      entryPoints: [path.join(ROOT, 'lambda', 'guard', 'index.ts')],
      bundle: true,
      platform: 'node',
      target: 'node22',
      minify: true,
      mainFields: ['module', 'main'],
      format: 'cjs',
      outfile,
      metafile: true,
      logLevel: 'warning',
    });
    const bytes = (await stat(outfile)).size;
    const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
    const inputs = Object.entries(output?.inputs ?? {}).map(([input, { bytesInOutput }]) => ({
      path: input,
      bytes: bytesInOutput,
    }));
    const largest = (list: { path: string; bytes: number }[]) => list.sort((a, b) => b.bytes - a.bytes).slice(0, 5);
    const packages = new Map<string, number>();
    for (const input of inputs) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input.path);
      const name = match ? match[1] : input.path.split('/').slice(0, 2).join('/');
      packages.set(name, (packages.get(name) ?? 0) + input.bytes);
    }
    const topInputs = largest(inputs);
    const topPackages = largest([...packages].map(([name, bytes]) => ({ path: name, bytes })));

    const code =
      'const t = process.hrtime.bigint();' +
      `require(${JSON.stringify(outfile)});` +
      'process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));';
    const env = {
      PATH: process.env.PATH ?? '',
      [GUARD_CONFIG_ENV]: CONFIG_JSON,
      AWS_REGION: REGION,
      POWERTOOLS_SERVICE_NAME: 'agent-guard',
      POWERTOOLS_METRICS_NAMESPACE: 'AgentGuard',
    };
    const loadMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      // stderr is captured, not shown: on Node 20 the SDK warns that it will soon need Node 22 (Lambda runs 24).
      const stdout = execFileSync(process.execPath, ['-e', code], { env, encoding: 'utf8', stdio: 'pipe' });
      loadMs.push(Number(stdout));
    }
    return { bytes, topInputs, topPackages, loadMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// ---------------------------------------------------------------------------------------------------

/** Writes of a run other than the status parameter, which every evaluation rewrites (its heartbeat). */
async function main(): Promise<void> {
  console.log(
    `agent-guard benchmark: 1 account, ${fmt(AGENT_ROLES)} agent roles + ${OTHER_ROLES} other roles, ` +
      `${LATENCY_MS} ms per AWS call, fakes never throttle; timings are indicative only\n`,
  );
  const runs: Run[] = [];
  let steadyWrites = 0;

  // A: first sweep of unconstrained roles in a protected account.
  const account = new Account('unconstrained', INITIAL_STATUS);
  const warm = coldGuard(account, 8);
  const a = await invoke('A first sweep (c=8)', warm, scheduled);
  runs.push(a);
  const aProblems = account.problems(STATE_LOCKED);
  check(aProblems.length === 0, `after the first sweep: ${aProblems.length} roles wrong, e.g. ${aProblems[0]}`);

  // B: steady sweeps, warm (same container) and cold (new container, roles as the construct and IAM left them).
  const bWarm = await invoke('B steady sweep, warm', warm, scheduled);
  const steadyAccount = new Account('locked', statusValue(true, true));
  const bCold = await invoke('B steady sweep, cold start', coldGuard(steadyAccount, 8), scheduled);
  runs.push(bWarm, bCold);
  steadyWrites += roleWrites(bWarm) + roleWrites(bCold);

  // C: lock flip. Each run: a warm container on open roles (its steady sweep must write nothing), then traffic.
  const flips = new Map<number, Run>();
  for (const concurrency of [1, 8, 32]) {
    const flipAccount = new Account('open', statusValue(true, false));
    flipAccount.requestsPerMinute = 0;
    const harness = coldGuard(flipAccount, concurrency);
    const openSweep = await invoke(`C open steady sweep (c=${concurrency}, warm-up)`, harness, scheduled);
    steadyWrites += roleWrites(openSweep);
    flipAccount.requestsPerMinute = LIVE_TRAFFIC;
    const flip = await invoke(`C lock flip (c=${concurrency})`, harness, alarm);
    check((flip.calls.get('TagRole') ?? 0) === AGENT_ROLES, `lock flip wrote ${flip.calls.get('TagRole')} TagRole`);
    const problems = flipAccount.problems(STATE_LOCKED);
    check(problems.length === 0, `after the lock flip: ${problems.length} roles wrong, e.g. ${problems[0]}`);
    flips.set(concurrency, flip);
    runs.push(flip);
  }

  // D: a new agent role appears; CloudTrail's CreateRole event reaches a warm and a cold container.
  account.addAgentRole('agent-new-1', 'unconstrained');
  const dWarm = await invoke('D role event, warm', warm, createRole('agent-new-1'));
  account.addAgentRole('agent-new-2', 'unconstrained');
  const dCold = await invoke('D role event, cold start', coldGuard(account, 8), createRole('agent-new-2'));
  runs.push(dWarm, dCold);
  const dProblems = account.problems(STATE_LOCKED);
  check(dProblems.length === 0, `after the role events: ${dProblems.length} roles wrong, e.g. ${dProblems[0]}`);

  console.log('\nbundling lambda/guard/index.ts as the construct does...');
  const figures = await bundle();

  // The compact table.
  const header = [
    'scenario',
    'calls',
    'reads',
    'signal',
    'status',
    'list',
    'role',
    'writes',
    'lease',
    'retries',
    'wall',
    'cpu',
  ];
  const rows = runs.map((r) => [
    r.label,
    fmt(r.reads.total + r.writes),
    fmt(r.reads.total),
    fmt(r.reads.signal),
    fmt(r.reads.status),
    fmt(r.reads.list),
    fmt(r.reads.role),
    fmt(r.writes),
    fmt(r.lease),
    fmt(r.summary.calls.retries),
    ms(r.wallMs),
    ms(r.cpuMs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log('\n' + line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  rows.forEach((row) => console.log(line(row)));
  console.log(
    'reads: signal = GetMetricData + Organizations ListTagsForResource; status = SSM GetParameter;\n' +
      '       list = GetAccountAuthorizationDetails pages (1,000 roles a page); role = GetRole + ListAttachedRolePolicies\n' +
      'lease: calls to the role lease table (PutItem/DeleteItem per role written, the lock decision), in reads and writes\n' +
      'cpu:   CPU time of this process during the invocation, the fakes included',
  );

  console.log(`\nwrites when steady, beyond the status heartbeat and the lease table: ${steadyWrites}`);
  const base = flips.get(8)?.wallMs ?? NaN;
  const ratios = [...flips].map(([c, r]) => `c=${c} ${(r.wallMs / base).toFixed(2)}x`).join(', ');
  console.log(`lock flip wall time relative to concurrency 8: ${ratios}`);
  console.log(`\nbundle: ${fmt(Math.round(figures.bytes / 1024))} KB (${fmt(figures.bytes)} bytes); largest inputs:`);
  for (const input of figures.topInputs) {
    console.log(`  ${(input.bytes / 1024).toFixed(1).padStart(7)} KB  ${input.path}`);
  }
  const packages = figures.topPackages.map((p) => `${p.path} ${(p.bytes / 1024).toFixed(0)} KB`).join(', ');
  console.log(`largest packages: ${packages}`);
  console.log(
    `module load (cold require, median of 5): ${median(figures.loadMs).toFixed(1)} ms ` +
      `(runs: ${figures.loadMs.map((t) => t.toFixed(1)).join(', ')})`,
  );

  if (steadyWrites !== 0) {
    console.log('FAIL: a steady sweep wrote');
    process.exitCode = 1;
  }
  if (failed) {
    console.log('FAIL: a check above failed');
    process.exitCode = 1;
  }
}

// bench/org-bench.ts imports the fakes; run the benchmark only when this file is the entry point.
if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
