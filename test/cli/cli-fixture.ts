import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  DeletePolicyCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  NoSuchEntityException,
  Role,
  TagRoleCommand,
  UntagRoleCommand,
} from '@aws-sdk/client-iam';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateScheduleCommand, DeleteScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { AGENT_TAG, guardPolicyName } from '../../lib/core/contract';
import { guardPolicyDigest } from '../../lib/core/policy/guard-digest';
import { compileGuardPolicies } from '../../lib/core/policy/guard-policies';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import { ApprovalRecord } from '../../lib/core/approval-api';
import { ApprovalsConfig } from '../../lib/core/config';
import { FunctionUrlEvent, HttpResult, route } from '../../lambda/approvals/handler';
import { ApprovalService } from '../../lambda/approvals/service';
import { AwsCaller } from '../../lambda/shared/aws-caller';
import { RoleLeases } from '../../lambda/shared/role-lease';
import { FakeLeaseTable } from '../support/fake-lease-table';
import { CliDeps, run } from '../../bin/cli/cli';
import { HttpReply, Transport } from '../../bin/cli/transport';
import type { GuardStatus } from '../../lib/core/status';

export const ACCOUNT = '111122223333';
export const AGENT_ROLE = 'agent';
export const AGENT_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/${AGENT_ROLE}`;
export const ONCALL_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/OnCallAlice`;
/** The signed-in on-call engineer. */
export const ONCALL_SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/OnCallAlice/alice`;
/** The agent itself, signed in. */
export const AGENT_SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/${AGENT_ROLE}/agent-session`;
export const NOW = new Date('2026-05-01T12:00:00.000Z');
export const FUNCTION_URL = 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/';
export const INSTANCE_ARN = `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0abc`;
/** The standard guard policies a default deploy has, as the construct compiles them, and their digest. */
const STANDARD = compileGuardPolicies({ catalog: resolveCatalog(), policyName: guardPolicyName });
export const STANDARD_POLICY_ARNS = STANDARD.map((p) => `arn:aws:iam::${ACCOUNT}:policy/agent-guard/${p.name}`);
const STANDARD_DIGEST = guardPolicyDigest(STANDARD.map((p) => p.document));

/** The commands of agent-guard. */
export const COMMANDS = ['approve', 'request', 'revoke', 'list', 'status'];
/** The flags approve takes to say which role, what, where, for how long and why, or which request. */
export const APPROVE_FLAGS = ['--role', '--actions', '--resources', '--duration', '--reason', '--id'];

/** The scope flags of a good approval; tests drop or replace single flags. */
export const GOOD_SCOPE = [
  '--role',
  AGENT_ROLE_ARN,
  '--actions',
  'ec2:Terminate*',
  '--resources',
  INSTANCE_ARN,
  '--duration',
  '30m',
  '--reason',
  'replace a broken instance',
];

export function approvalsConfig(overrides: Partial<ApprovalsConfig> = {}): ApprovalsConfig {
  return {
    accountId: ACCOUNT,
    approvers: [`arn:aws:iam::${ACCOUNT}:role/OnCall*`],
    requiredApprovals: 1,
    maxDurationSeconds: 4 * 3600,
    breakGlassMaxSeconds: 3600,
    requestTtlSeconds: 3600,
    retentionDays: 90,
    tableName: 'AgentGuardApprovals',
    leaseTableName: 'AgentGuardRoleLeases',
    topicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:AgentGuardNotices`,
    scheduleGroup: 'AgentGuard',
    schedulerRoleArn: `arn:aws:iam::${ACCOUNT}:role/agent-guard/AgentGuardScheduler`,
    guardPolicyArns: STANDARD_POLICY_ARNS,
    guardPolicyDigest: STANDARD_DIGEST,
    customGroups: [],
    exemptActions: [],
    ...overrides,
  };
}

/** Ids handed out in order: `<prefix>0001aaaa`, ... (letters and digits, as the service's own). */
export function idSequence(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}${String(++n).padStart(4, '0')}aaaa`;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI with test deps; anything not given throws if the CLI touches it. */
export async function cli(args: readonly string[], deps: Partial<CliDeps> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(['node', 'agent-guard', ...args], {
    transport: () => () => Promise.reject(new Error('the transport must not be called')),
    readParameter: () => Promise.reject(new Error('SSM must not be read')),
    profileRegion: () => Promise.resolve(undefined),
    terminal: { stdout: false, stderr: false },
    clock: () => NOW,
    env: {},
    newId: idSequence('dry'),
    ...deps,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

/** A transport that answers every call with one canned reply, and records what was sent. */
export function cannedTransport(reply: HttpReply | ((body: unknown) => HttpReply)): {
  transport: CliDeps['transport'];
  sent: { url: string; region: string | undefined; profile: string | undefined; body: unknown }[];
} {
  const sent: { url: string; region: string | undefined; profile: string | undefined; body: unknown }[] = [];
  return {
    sent,
    transport:
      (url, { region, profile }) =>
      (body) => {
        sent.push({ url, region, profile, body });
        return Promise.resolve(typeof reply === 'function' ? reply(body) : reply);
      },
  };
}

export function okReply(message: string, approvals: ApprovalRecord[] = []): HttpReply {
  return { statusCode: 200, body: JSON.stringify({ ok: true, message, approvals }) };
}

function role(name: string, tags: Record<string, string>): Role {
  return {
    RoleName: name,
    Arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
    Path: '/',
    RoleId: `AROA${name.toUpperCase().padEnd(17, 'X')}`,
    CreateDate: new Date('2026-01-01T00:00:00Z'),
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  };
}

/**
 * A real ApprovalService over mocked SDK clients, reached through `route` in-process: the CLI's
 * transport wraps each body in a function URL event signed as `signedInAs`.
 */
export class ApprovalsHarness {
  public readonly iam: AwsClientStub<IAMClient>;
  public readonly ddb: AwsClientStub<DynamoDBDocumentClient>;
  public readonly scheduler: AwsClientStub<SchedulerClient>;
  public readonly events: AwsClientStub<EventBridgeClient>;
  public readonly sns: AwsClientStub<SNSClient>;
  public readonly service: ApprovalService;
  /** Every body that reached the function, with the URL the CLI resolved. */
  public readonly sent: { url: string; body: unknown }[] = [];
  /** The agent role's attached managed policies. */
  private attached: string[] = [];

  constructor(options: { config?: Partial<ApprovalsConfig>; newId?: () => string } = {}) {
    const iamClient = new IAMClient({ region: 'us-east-1' });
    const ddbClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }), {
      marshallOptions: { removeUndefinedValues: true },
    });
    const schedulerClient = new SchedulerClient({ region: 'us-east-1' });
    const eventsClient = new EventBridgeClient({ region: 'us-east-1' });
    const snsClient = new SNSClient({ region: 'us-east-1' });
    this.iam = mockClient(iamClient);
    this.ddb = mockClient(ddbClient);
    this.scheduler = mockClient(schedulerClient);
    this.events = mockClient(eventsClient);
    this.sns = mockClient(snsClient);

    this.iam.on(GetRoleCommand).callsFake(({ RoleName }: { RoleName: string }) => {
      throw new NoSuchEntityException({ message: `The role ${RoleName} cannot be found.`, $metadata: {} });
    });
    this.iam.on(GetRoleCommand, { RoleName: 'OnCallAlice' }).resolves({ Role: role('OnCallAlice', {}) });
    this.iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
    this.agentRole({ [AGENT_TAG]: 'true' }, STANDARD_POLICY_ARNS);
    this.iam.on(CreatePolicyCommand).resolves({});
    // The agent role's attachments change with the swap's writes, so its read-back sees them.
    this.iam.on(AttachRolePolicyCommand, { RoleName: AGENT_ROLE }).callsFake(({ PolicyArn }: { PolicyArn: string }) => {
      this.attached = [...this.attached, PolicyArn];
      return {};
    });
    this.iam.on(DetachRolePolicyCommand, { RoleName: AGENT_ROLE }).callsFake(({ PolicyArn }: { PolicyArn: string }) => {
      this.attached = this.attached.filter((arn) => arn !== PolicyArn);
      return {};
    });
    this.iam.on(DeletePolicyCommand).resolves({});
    this.iam.on(TagRoleCommand).resolves({});
    this.iam.on(UntagRoleCommand).resolves({});
    this.ddb.on(QueryCommand).resolves({ Items: [] });
    this.ddb.on(PutCommand).resolves({});
    this.ddb.on(GetCommand).resolves({});
    this.scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:aws:scheduler:::schedule/x' });
    this.scheduler.on(DeleteScheduleCommand).resolves({});
    this.events.onAnyCommand().resolves({});
    this.sns.on(PublishCommand).resolves({ MessageId: 'm-1' });

    const caller = new AwsCaller({ sleep: () => Promise.resolve() });
    const config = approvalsConfig(options.config);
    this.service = new ApprovalService({
      config,
      catalog: resolveCatalog(),
      iam: iamClient,
      ddb: ddbClient,
      scheduler: schedulerClient,
      events: eventsClient,
      sns: snsClient,
      caller,
      leases: new RoleLeases({
        ddb: new FakeLeaseTable(config.leaseTableName).client(),
        caller,
        tableName: config.leaseTableName,
      }),
      functionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:AgentGuardApprovals`,
      clock: () => NOW,
      newId: options.newId ?? idSequence('svc'),
    });
  }

  /** The agent role as GetRole and ListAttachedRolePolicies show it. */
  public agentRole(tags: Record<string, string>, attached: readonly string[]): void {
    this.attached = [...attached];
    this.iam.on(GetRoleCommand, { RoleName: AGENT_ROLE }).resolves({ Role: role(AGENT_ROLE, tags) });
    this.iam.on(ListAttachedRolePoliciesCommand, { RoleName: AGENT_ROLE }).callsFake(() => ({
      AttachedPolicies: this.attached.map((PolicyArn) => ({ PolicyArn, PolicyName: PolicyArn.split('/').pop() })),
    }));
  }

  /** Records the table holds, by status (QueryCommand on the status index) and by id (GetCommand). */
  public records(records: readonly ApprovalRecord[]): void {
    this.ddb.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: Record<string, string> }) => ({
      Items: records.filter((r) => r.status === input.ExpressionAttributeValues[':status']),
    }));
    this.ddb.on(GetCommand).callsFake((input: { Key: { approvalId: string } }) => ({
      Item: records.find((r) => r.approvalId === input.Key.approvalId),
    }));
  }

  /** The CLI transport: a function URL event with the IAM authorizer's caller ARN, through `route`. */
  public transport(
    signedInAs: string = ONCALL_SESSION,
    rewrite: (body: unknown) => unknown = (b) => b,
  ): CliDeps['transport'] {
    return (url): Transport =>
      async (body) => {
        this.sent.push({ url, body });
        const event: FunctionUrlEvent = {
          body: JSON.stringify(rewrite(body)),
          isBase64Encoded: false,
          requestContext: { http: { method: 'POST' }, authorizer: { iam: { userArn: signedInAs } } },
        };
        try {
          const result = (await route(this.service, event)) as HttpResult;
          return { statusCode: result.statusCode, body: result.body };
        } catch {
          // A function error: the function URL answers 502 with a plain-text body.
          return { statusCode: 502, body: 'Internal Server Error' };
        }
      };
  }

  /** Runs the CLI against this harness; the URL comes from AGENT_GUARD_URL unless deps say otherwise. */
  public run(args: readonly string[], deps: Partial<CliDeps> & { signedInAs?: string } = {}): Promise<CliResult> {
    const { signedInAs, ...rest } = deps;
    return cli(args, { env: { AGENT_GUARD_URL: FUNCTION_URL }, transport: this.transport(signedInAs), ...rest });
  }

  public commandInputs<T>(command: new (input: T) => unknown): T[] {
    return this.iam.commandCalls(command as never).map((c) => c.args[0].input as T);
  }
}

/** An approval record as the table holds it. */
export function record(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    approvalId: 'abcd0001efgh',
    kind: 'approval',
    status: 'active',
    roleArn: AGENT_ROLE_ARN,
    requestedActions: ['ec2:TerminateInstances'],
    actions: ['ec2:TerminateInstances'],
    resources: [INSTANCE_ARN],
    durationSeconds: 1800,
    reason: 'replace a broken instance',
    requestedBy: ONCALL_SESSION,
    approvers: [ONCALL_SESSION],
    requiredApprovals: 1,
    createdAt: '2026-05-01T11:50:00Z',
    activatedAt: '2026-05-01T11:50:00Z',
    expiresAt: '2026-05-01T12:20:00Z',
    policySetId: 'set0001aaaa',
    sortAt: '2026-05-01T12:20:00Z',
    ttl: 1800000000,
    history: [{ at: '2026-05-01T11:50:00Z', by: ONCALL_SESSION, what: 'approved' }],
    ...overrides,
  };
}

/** A locked account's status, as the guard publishes it to `/agent-guard/status`. */
export const LOCKED_STATUS: GuardStatus = {
  schemaVersion: 1,
  account: '111122223333',
  mode: 'ENFORCE',
  locked: true,
  protected: true,
  since: '2026-05-01T09:00:00.000Z',
  reason: 'production (account tag environment=production) with live traffic (1234 requests/min)',
  production: { value: true, reason: 'account tag environment=production' },
  traffic: {
    active: true,
    requestsPerMinute: 1234,
    thresholdPerMinute: 5,
    lookbackMinutes: 15,
    reason: '1234 requests/min over 15m',
    liveAt: '2026-05-01T11:59:00.000Z',
    holdUntil: null,
  },
  evaluatedAt: '2026-05-01T11:59:00.000Z',
  howToGetApproval: 'agent-guard request ...',
};
