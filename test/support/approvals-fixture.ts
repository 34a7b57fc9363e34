import { assertCloudTrailEventName } from './cloudtrail-names';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteRuleCommand,
  EventBridgeClient,
  EventBridgeServiceException,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  ResourceNotFoundException as EventsResourceNotFound,
} from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import {
  ConflictException,
  CreateScheduleCommand,
  CreateScheduleCommandInput,
  DeleteScheduleCommand,
  ResourceNotFoundException as SchedulerResourceNotFound,
  SchedulerClient,
  ValidationException as SchedulerValidation,
} from '@aws-sdk/client-scheduler';
import { AuthorizationErrorException, InvalidParameterException, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  AGENT_TAG,
  AGENT_TAG_VALUE,
  APPROVAL_TAG,
  guardPolicyName,
  parseApprovalPolicyArn,
} from '../../lib/core/contract';
import { guardPolicyDigest } from '../../lib/core/policy/guard-digest';
import { compileGuardPolicies } from '../../lib/core/policy/guard-policies';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { ResolvedCatalog, resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import { ApiResponse, ApprovalRecord } from '../../lib/core/approval-api';
import { ApprovalsConfig } from '../../lib/core/config';
import { FunctionUrlEvent, HttpResult, route } from '../../lambda/approvals/handler';
import { ApprovalService, scheduleName } from '../../lambda/approvals/service';
import { APPROVALS_STATUS_INDEX } from '../../lib/core/config';
import { AwsCaller } from '../../lambda/shared/aws-caller';
import { RoleLeases } from '../../lambda/shared/role-lease';
import { FakeLeaseTable } from './fake-lease-table';
// EventBridge's pattern matching, the same matcher the construct's rules are tested with: it throws on
// an operator it does not implement, so a rule that grows new syntax fails its test.
import { matches } from '../construct/event-pattern';

// ---------------------------------------------------------------------------------------------
// The fixture account
// ---------------------------------------------------------------------------------------------

export const ACCOUNT_ID = '111122223333';
export const OTHER_ACCOUNT_ID = '444455556666';
export const BOUNDARY_ARN = `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/AgentGuardBoundary`;
export const ADMIN_POLICY_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess';
export const TOPIC_ARN = `arn:aws:sns:us-east-1:${ACCOUNT_ID}:AgentGuardNotices`;
export const FUNCTION_ARN = `arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:AgentGuardApprovals`;
export const SCHEDULER_ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/agent-guard/Scheduler`;
export const NOW = new Date('2026-05-01T12:00:00.000Z');

export function roleArn(name: string): string {
  return `arn:aws:iam::${ACCOUNT_ID}:role/${name}`;
}
export function sessionArn(roleName: string, session: string, account = ACCOUNT_ID): string {
  return `arn:aws:sts::${account}:assumed-role/${roleName}/${session}`;
}

/** The agent role and its sessions. */
export const AGENT = 'agent';
export const AGENT_ARN = roleArn(AGENT);
export const AGENT_SESSION = sessionArn(AGENT, 'session1');
/** A second agent role. */
export const OTHER_AGENT = 'agent2';
export const OTHER_AGENT_ARN = roleArn(OTHER_AGENT);
export const OTHER_AGENT_SESSION = sessionArn(OTHER_AGENT, 'session1');
/** On-call approvers (roles OnCallAlice and OnCallBob match `role/OnCall*`) and an approver user. */
export const ALICE = sessionArn('OnCallAlice', 'alice@example.com');
export const BOB = sessionArn('OnCallBob', 'bob@example.com');
export const CAROL = sessionArn('OnCallCarol', 'carol@example.com');
export const USER_ALICE = `arn:aws:iam::${ACCOUNT_ID}:user/alice`;
/** Signed callers who are not approvers. */
export const DEVELOPER = sessionArn('Developer', 'dave@example.com');
export const USER_MALLORY = `arn:aws:iam::${ACCOUNT_ID}:user/mallory`;
export const CROSS_ACCOUNT_ONCALL = sessionArn('OnCallAlice', 'alice@example.com', OTHER_ACCOUNT_ID);

export const INSTANCE_ARN = `arn:aws:ec2:us-east-1:${ACCOUNT_ID}:instance/i-0123456789abcdef0`;
export function instanceArn(n: number): string {
  return `arn:aws:ec2:us-east-1:${ACCOUNT_ID}:instance/i-${n.toString(16).padStart(17, '0')}`;
}

/** The real catalog, resolved once: it is immutable. */
export const CATALOG: ResolvedCatalog = resolveCatalog();
const STANDARD_POLICIES = compileGuardPolicies({ catalog: CATALOG, policyName: guardPolicyName });
/** The standard guard policies the construct makes of it. */
export const GUARD_POLICY_ARNS: readonly string[] = STANDARD_POLICIES.map(
  (p) => `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/${p.name}`,
);
/** Their digest, as the construct passes it. */
export const GUARD_POLICY_DIGEST = guardPolicyDigest(STANDARD_POLICIES.map((p) => p.document));

export function approvalsConfig(overrides: Partial<ApprovalsConfig> = {}): ApprovalsConfig {
  return {
    accountId: ACCOUNT_ID,
    approvers: [`arn:aws:iam::${ACCOUNT_ID}:role/OnCall*`, `arn:aws:iam::${ACCOUNT_ID}:user/alice`],
    requiredApprovals: 1,
    maxDurationSeconds: 3600,
    breakGlassMaxSeconds: 900,
    requestTtlSeconds: 3600,
    retentionDays: 365,
    tableName: 'AgentGuardApprovals',
    leaseTableName: 'AgentGuardRoleLeases',
    topicArn: TOPIC_ARN,
    scheduleGroup: 'agent-guard',
    schedulerRoleArn: SCHEDULER_ROLE_ARN,
    guardPolicyArns: [...GUARD_POLICY_ARNS],
    guardPolicyDigest: GUARD_POLICY_DIGEST,
    customGroups: [],
    exemptActions: [],
    ...overrides,
  };
}

/** A valid approve body for the agent role; `overrides` replace fields. */
export function approveBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    op: 'approve',
    roleArn: AGENT_ARN,
    actions: ['ec2:TerminateInstances'],
    resources: [INSTANCE_ARN],
    durationSeconds: 1800,
    reason: 'replace the broken web node',
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------------------------

export type ServiceName = 'iam' | 'dynamodb' | 'scheduler' | 'events' | 'sns';

export interface RecordedCall {
  readonly seq: number;
  readonly service: ServiceName;
  /** The command class name without `Command`, e.g. `AttachRolePolicy`. */
  readonly command: string;
  readonly input: Record<string, unknown>;
  /** The error name when the call failed. */
  error?: string;
}

/** Commands that change something. */
const WRITES = new Set([
  'CreatePolicy',
  'DeletePolicy',
  'AttachRolePolicy',
  'DetachRolePolicy',
  'TagRole',
  'UntagRole',
  'Put',
  'CreateSchedule',
  'DeleteSchedule',
  'PutRule',
  'PutTargets',
  'RemoveTargets',
  'DeleteRule',
  'Publish',
]);

export interface Violation {
  readonly seq: number;
  readonly command: string;
  readonly role: string;
  readonly attached: readonly string[];
  readonly allowedSets: readonly string[];
}

export interface Fault {
  readonly command: string;
  /** Return an error to throw it instead of running the command; undefined lets the call through. */
  readonly error: (input: Record<string, unknown>, nth: number) => Error | undefined;
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

import { FakeIam } from './fake-iam';
export { FakeIam } from './fake-iam';
export type { FakePolicy, FakeRole } from './fake-iam';

// ---------------------------------------------------------------------------------------------
// Fake DynamoDB (DocumentClient)
// ---------------------------------------------------------------------------------------------

export class FakeTable {
  public readonly items = new Map<string, ApprovalRecord>();
  /** Items per Query page. Small by default, so paging is exercised. */
  public pageSize = 3;
  /**
   * The `byStatus` index as a lagging copy, while `lagIndex()` holds: a global secondary index is
   * read eventually consistently only (docs/AWS-BEHAVIOUR.md), so a Query may return an item as it
   * was before a write that has already succeeded. `GetItem` with `ConsistentRead` reads the table.
   */
  private indexCopy: Map<string, ApprovalRecord> | undefined;

  /** From now on, Queries of the index see the items as they are now, until `catchUpIndex()`. */
  public lagIndex(): void {
    this.indexCopy = new Map([...this.items].map(([k, v]) => [k, clone(v)]));
  }

  public catchUpIndex(): void {
    this.indexCopy = undefined;
  }

  constructor(private readonly tableName: string) {}

  private checkTable(name: string | undefined): void {
    if (name !== this.tableName) throw new Error(`fake DynamoDB: no table ${name}`);
  }

  public send(command: unknown): unknown {
    if (command instanceof GetCommand) {
      this.checkTable(command.input.TableName);
      if (this.indexCopy && command.input.ConsistentRead !== true) {
        // An eventually consistent read may be as stale as the index.
        const item = this.indexCopy.get(String(command.input.Key?.approvalId));
        return { Item: item ? clone(item) : undefined };
      }
      const item = this.items.get(String(command.input.Key?.approvalId));
      return { Item: item ? clone(item) : undefined };
    }
    if (command instanceof PutCommand) {
      this.checkTable(command.input.TableName);
      const item = clone(command.input.Item ?? {}) as unknown as ApprovalRecord;
      if (typeof item.approvalId !== 'string' || item.approvalId === '') {
        throw new Error('fake DynamoDB: the key approvalId must be a non-empty string');
      }
      const existing = this.items.get(item.approvalId);
      const condition = command.input.ConditionExpression;
      if (condition === 'attribute_not_exists(approvalId)') {
        if (existing) throw this.conditionFailed();
      } else if (condition === '#status = :expected') {
        const names = command.input.ExpressionAttributeNames ?? {};
        const values = command.input.ExpressionAttributeValues ?? {};
        if (names['#status'] !== 'status') throw new Error('fake DynamoDB: #status must name status');
        if (!existing || existing.status !== values[':expected']) throw this.conditionFailed();
      } else if (condition !== undefined) {
        throw new Error(`fake DynamoDB does not understand the condition ${condition}`);
      }
      this.items.set(item.approvalId, item);
      return {};
    }
    if (command instanceof QueryCommand) {
      this.checkTable(command.input.TableName);
      const { IndexName, KeyConditionExpression: key, ExpressionAttributeNames: names = {} } = command.input;
      const values = command.input.ExpressionAttributeValues ?? {};
      if (IndexName !== APPROVALS_STATUS_INDEX) throw new Error(`fake DynamoDB: no index ${IndexName}`);
      if (names['#status'] !== 'status') throw new Error('fake DynamoDB: #status must name status');
      let until: string | undefined;
      if (key === '#status = :status AND sortAt <= :until') until = String(values[':until']);
      else if (key !== '#status = :status') throw new Error(`fake DynamoDB does not understand ${key}`);
      const matching = [...(this.indexCopy ?? this.items).values()]
        .filter((i) => i.status === values[':status'] && typeof i.sortAt === 'string')
        .filter((i) => until === undefined || i.sortAt <= until)
        .sort((a, b) => a.sortAt.localeCompare(b.sortAt) || a.approvalId.localeCompare(b.approvalId));
      const startKey = command.input.ExclusiveStartKey as { approvalId?: string } | undefined;
      const start = startKey ? matching.findIndex((i) => i.approvalId === startKey.approvalId) + 1 : 0;
      const page = matching.slice(start, start + this.pageSize);
      const last = page.at(-1);
      const more = start + this.pageSize < matching.length;
      return {
        Items: page.map((i) => clone(i)),
        Count: page.length,
        LastEvaluatedKey:
          more && last ? { approvalId: last.approvalId, status: last.status, sortAt: last.sortAt } : undefined,
      };
    }
    throw new Error(`fake DynamoDB does not implement ${(command as object).constructor.name}`);
  }

  private conditionFailed(): ConditionalCheckFailedException {
    return new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: { httpStatusCode: 400 },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Fake EventBridge Scheduler, EventBridge and SNS
// ---------------------------------------------------------------------------------------------

function schedulerError<T extends Error>(
  Type: new (options: { message: string; Message: string; $metadata: object }) => T,
  message: string,
  status: number,
): T {
  return new Type({ message, Message: message, $metadata: { httpStatusCode: status } });
}

export class FakeScheduler {
  /** Schedules by `group/name`. */
  public readonly schedules = new Map<string, CreateScheduleCommandInput>();

  public send(command: unknown): unknown {
    if (command instanceof CreateScheduleCommand) {
      const {
        Name: name,
        GroupName: group = 'default',
        ScheduleExpression: expression,
        Target: target,
      } = command.input;
      if (!name || !/^[0-9a-zA-Z._-]{1,64}$/.test(name)) {
        throw schedulerError(SchedulerValidation, `Invalid schedule name ${name}`, 400);
      }
      if (!expression || !/^at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\)$/.test(expression)) {
        throw schedulerError(SchedulerValidation, `Invalid expression ${expression}`, 400);
      }
      if (!target?.Arn || !target.RoleArn) {
        throw schedulerError(SchedulerValidation, 'A target needs Arn and RoleArn', 400);
      }
      const key = `${group}/${name}`;
      if (this.schedules.has(key)) {
        throw schedulerError(ConflictException, `Schedule ${name} already exists.`, 409);
      }
      this.schedules.set(key, clone(command.input));
      return { ScheduleArn: `arn:aws:scheduler:us-east-1:${ACCOUNT_ID}:schedule/${key}` };
    }
    if (command instanceof DeleteScheduleCommand) {
      const key = `${command.input.GroupName ?? 'default'}/${command.input.Name}`;
      if (!this.schedules.delete(key)) {
        throw schedulerError(SchedulerResourceNotFound, `Schedule ${command.input.Name} does not exist.`, 404);
      }
      return {};
    }
    throw new Error(`fake Scheduler does not implement ${(command as object).constructor.name}`);
  }
}

export interface FakeTarget {
  readonly Arn: string;
  readonly Input?: string;
}

export interface FakeRule {
  readonly pattern: Record<string, unknown>;
  readonly state: string;
  readonly targets: Map<string, FakeTarget>;
}

/** What `PutRule` may set as `State`; a rule without one is `ENABLED` (EB-3). */
const RULE_STATES = ['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'];

/** A `PutTargets` / `RemoveTargets` answer: the call succeeds and lists the entries that failed (EB-5, EB-6). */
function partialFailure(ids: readonly string[]): unknown {
  return {
    FailedEntryCount: ids.length,
    FailedEntries: ids.map((TargetId) => ({
      TargetId,
      ErrorCode: 'ConcurrentModificationException',
      ErrorMessage: 'fake EventBridge: this entry failed',
    })),
  };
}

export class FakeEvents {
  public readonly rules = new Map<string, FakeRule>();
  /** Target ids that `PutTargets` and `RemoveTargets` report as failed entries, while the call succeeds. */
  public readonly refusedTargets = new Set<string>();

  /**
   * The rules an event reaches: enabled rules whose pattern matches, where a read-only management event
   * from CloudTrail reaches only rules in state `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS` (EB-9).
   */
  public rulesFor(event: { detail?: { readOnly?: boolean } }): FakeRule[] {
    const states = event.detail?.readOnly
      ? ['ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS']
      : ['ENABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'];
    return [...this.rules.values()].filter((rule) => states.includes(rule.state) && matches(rule.pattern, event));
  }

  public send(command: unknown): unknown {
    if (command instanceof PutRuleCommand) {
      const name = command.input.Name ?? '';
      if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(name)) throw new Error(`fake EventBridge: bad rule name ${name}`);
      const pattern = JSON.parse(command.input.EventPattern ?? 'null') as Record<string, unknown>;
      if (typeof pattern !== 'object' || pattern === null) throw new Error('fake EventBridge: a rule needs a pattern');
      const state = command.input.State ?? 'ENABLED';
      if (!RULE_STATES.includes(state)) throw new Error(`fake EventBridge: bad rule state ${state}`);
      const targets = this.rules.get(name)?.targets ?? new Map<string, FakeTarget>();
      this.rules.set(name, { pattern, state, targets });
      return { RuleArn: `arn:aws:events:us-east-1:${ACCOUNT_ID}:rule/${name}` };
    }
    if (command instanceof PutTargetsCommand) {
      const rule = this.existingRule(command.input.Rule);
      const failed = (command.input.Targets ?? []).filter((t) => this.refusedTargets.has(t.Id ?? ''));
      for (const t of command.input.Targets ?? []) {
        if (!this.refusedTargets.has(t.Id ?? '')) rule.targets.set(t.Id ?? '', { Arn: t.Arn ?? '', Input: t.Input });
      }
      return partialFailure(failed.map((t) => t.Id ?? ''));
    }
    if (command instanceof RemoveTargetsCommand) {
      const rule = this.existingRule(command.input.Rule);
      const failed = (command.input.Ids ?? []).filter((id) => this.refusedTargets.has(id));
      for (const id of command.input.Ids ?? []) if (!this.refusedTargets.has(id)) rule.targets.delete(id);
      return partialFailure(failed);
    }
    if (command instanceof DeleteRuleCommand) {
      const rule = this.rules.get(command.input.Name ?? '');
      if (rule && rule.targets.size > 0) {
        throw new EventBridgeServiceException({
          name: 'ValidationException',
          $fault: 'client',
          message: "Rule can't be deleted since it has targets.",
          $metadata: { httpStatusCode: 400 },
        });
      }
      this.rules.delete(command.input.Name ?? '');
      return {};
    }
    throw new Error(`fake EventBridge does not implement ${(command as object).constructor.name}`);
  }

  /** The rule named `name`; ResourceNotFoundException, as EventBridge raises it, when there is none. */
  private existingRule(name: string | undefined): FakeRule {
    const rule = this.rules.get(name ?? '');
    if (!rule) {
      throw new EventsResourceNotFound({ message: `Rule ${name} does not exist.`, $metadata: { httpStatusCode: 400 } });
    }
    return rule;
  }
}

export interface Notice {
  readonly subject: string;
  readonly message: string;
}

export class FakeSns {
  /** Notices on the function's own topic. */
  public readonly notices: Notice[] = [];
  /** Notices on the other topics it may publish to (its central target), by topic ARN. */
  public readonly copies = new Map<string, Notice[]>();

  /** `granted`: topics beyond its own that the function may publish to; any other is refused. */
  constructor(
    private readonly topicArn: string,
    granted: readonly string[] = [],
  ) {
    for (const arn of granted) this.copies.set(arn, []);
  }

  public send(command: unknown): unknown {
    if (command instanceof PublishCommand) {
      const { TopicArn, Subject = '', Message = '' } = command.input;
      const invalid = (message: string) =>
        new InvalidParameterException({ message, $metadata: { httpStatusCode: 400 } });
      const copies = TopicArn === undefined ? undefined : this.copies.get(TopicArn);
      if (TopicArn !== this.topicArn && !copies) {
        throw new AuthorizationErrorException({
          message: `not authorized to perform SNS:Publish on ${TopicArn}`,
          $metadata: { httpStatusCode: 403 },
        });
      }
      // SNS-1: "no line breaks or control characters, and less than 100 characters long".
      if (Array.from(Subject).length >= 100 || /[\p{Cc}\u2028\u2029]/u.test(Subject)) {
        throw invalid('Subject: invalid');
      }
      if (Message === '' || Buffer.byteLength(Message) > 256 * 1024) throw invalid('Message: invalid length');
      (copies ?? this.notices).push({ subject: Subject, message: Message });
      return { MessageId: `message-${this.notices.length}` };
    }
    throw new Error(`fake SNS does not implement ${(command as object).constructor.name}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The account and the service under test
// ---------------------------------------------------------------------------------------------

export interface ApprovalsFixtureOptions {
  readonly config?: Partial<ApprovalsConfig>;
  /** How many more managed policies (local, AgentExtra<n>) the agent role holds. @default 0 */
  readonly agentExtraPolicies?: number;
  /** Start the fake clock here. @default NOW */
  readonly now?: Date;
}

export interface HttpReply {
  readonly statusCode: number;
  readonly body: ApiResponse;
}

/**
 * An in-memory account: IAM, the audit table, Scheduler, EventBridge and SNS, with every call recorded
 * in order, faults injectable per command, and a watch on every agent role: after each IAM write that
 * changes a role, it holds both standard guard policies or a complete approval set that is one end of
 * the swap under way (the set of the last settled state, or one created since).
 */
export class ApprovalsFixture {
  public readonly config: ApprovalsConfig;
  public readonly iam: FakeIam;
  public readonly table: FakeTable;
  /** The guard's lease table, which the service takes a role's lease in before writing the role. */
  public readonly leaseTable: FakeLeaseTable;
  public readonly scheduler = new FakeScheduler();
  public readonly events = new FakeEvents();
  public readonly sns: FakeSns;
  public readonly calls: RecordedCall[] = [];
  public readonly violations: Violation[] = [];
  public readonly faults: Fault[] = [];
  public readonly service: ApprovalService;
  /** The clients the service uses: every call through them is recorded and watched. */
  public readonly clients: {
    readonly iam: IAMClient;
    readonly ddb: DynamoDBDocumentClient;
    readonly scheduler: SchedulerClient;
    readonly events: EventBridgeClient;
    readonly sns: SNSClient;
  };
  public readonly caller = new AwsCaller({ sleep: () => Promise.resolve() });
  /** What the service reported of notices the central target did not take. */
  public readonly centralNoticeFailures: unknown[] = [];
  /** The service's clock. */
  public now: Date;
  private ids = 0;
  private seq = 0;
  /** Per agent role: the ends of its last settled state ('standard' or a set id), and when it settled. */
  private readonly settled = new Map<string, { ends: Set<string>; at: number }>();

  constructor(options: ApprovalsFixtureOptions = {}) {
    this.config = approvalsConfig(options.config);
    this.now = options.now ?? NOW;
    this.iam = new FakeIam(() => this.seq);
    this.table = new FakeTable(this.config.tableName);
    this.leaseTable = new FakeLeaseTable(this.config.leaseTableName);
    const central = this.config.centralNotices;
    this.sns = new FakeSns(this.config.topicArn, central?.kind === 'sns-topic' ? [central.arn] : []);

    // GIVEN the guard's policies, AdministratorAccess, an agent role with both, and the on-call roles
    this.iam.addPolicy(ADMIN_POLICY_ARN, {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    });
    for (const arn of [...this.config.guardPolicyArns, BOUNDARY_ARN]) this.iam.addPolicy(arn);
    const extra = Array.from({ length: options.agentExtraPolicies ?? 0 }, (_, i) => {
      const arn = `arn:aws:iam::${ACCOUNT_ID}:policy/AgentExtra${i + 1}`;
      this.iam.addPolicy(arn);
      return arn;
    });
    for (const name of [AGENT, OTHER_AGENT]) {
      this.iam.addRole(name, {
        tags: { [AGENT_TAG]: AGENT_TAG_VALUE, team: 'platform' },
        policies: [ADMIN_POLICY_ARN, ...this.config.guardPolicyArns, ...(name === AGENT ? extra : [])],
      });
    }
    for (const name of ['OnCallAlice', 'OnCallBob', 'OnCallCarol', 'Developer']) {
      this.iam.addRole(name, { policies: [ADMIN_POLICY_ARN] });
    }
    this.settle();

    const client = <T>(service: ServiceName, fake: { send(command: unknown): unknown }): T =>
      ({ send: (command: unknown) => this.dispatch(service, fake, command) }) as unknown as T;
    this.clients = {
      iam: client<IAMClient>('iam', this.iam),
      ddb: client<DynamoDBDocumentClient>('dynamodb', this.table),
      scheduler: client<SchedulerClient>('scheduler', this.scheduler),
      events: client<EventBridgeClient>('events', this.events),
      sns: client<SNSClient>('sns', this.sns),
    };
    this.service = new ApprovalService({
      config: this.config,
      catalog:
        this.config.customGroups.length > 0 ? resolveCatalog({ customGroups: this.config.customGroups }) : CATALOG,
      ...this.clients,
      caller: this.caller,
      centralNoticeFailed: (error) => this.centralNoticeFailures.push(error),
      centralClients: { sns: this.clients.sns, events: this.clients.events },
      leases: new RoleLeases({
        ddb: this.leaseTable.client(),
        caller: this.caller,
        tableName: this.config.leaseTableName,
        clock: () => this.now,
        // A wait for a held lease takes one turn of the event loop, not real time.
        sleep: () => new Promise((resolve) => setImmediate(resolve)),
      }),
      functionArn: FUNCTION_ARN,
      clock: () => this.now,
      newId: () => `id${String(++this.ids).padStart(6, '0')}`,
    });
  }

  // ----- the clock ----------------------------------------------------------------------------

  public advance(seconds: number): void {
    this.now = new Date(this.now.getTime() + seconds * 1000);
  }

  // ----- calling the function -----------------------------------------------------------------

  /** A function URL call signed by `callerArn`; null leaves the authorizer out (unsigned). */
  public urlEvent(
    body: unknown,
    callerArn: string | null = ALICE,
    options: { method?: string; base64?: boolean; raw?: boolean } = {},
  ): FunctionUrlEvent {
    const text = options.raw ? String(body) : JSON.stringify(body);
    return {
      body: options.base64 ? Buffer.from(text, 'utf8').toString('base64') : text,
      isBase64Encoded: options.base64 ?? false,
      requestContext: {
        http: { method: options.method ?? 'POST' },
        authorizer: callerArn === null ? undefined : { iam: { userArn: callerArn } },
      },
    };
  }

  public async invoke(event: unknown): Promise<unknown> {
    return route(this.service, event);
  }

  /** Calls the function URL as `callerArn` (null: unsigned) and parses the reply. */
  public async call(
    body: unknown,
    callerArn: string | null = ALICE,
    options: { method?: string; base64?: boolean; raw?: boolean } = {},
  ): Promise<HttpReply> {
    const result = (await route(this.service, this.urlEvent(body, callerArn, options))) as HttpResult;
    expect(result.headers).toEqual({ 'content-type': 'application/json' });
    return { statusCode: result.statusCode, body: JSON.parse(result.body) as ApiResponse };
  }

  /** Approves and returns the record; fails the test unless the reply is 200 with one approval. */
  public async approve(overrides: Record<string, unknown> = {}, callerArn = ALICE): Promise<ApprovalRecord> {
    const reply = await this.call(approveBody(overrides), callerArn);
    if (reply.statusCode !== 200 || !reply.body.ok || reply.body.approvals?.length !== 1) {
      throw new Error(`approve failed: ${reply.statusCode} ${JSON.stringify(reply.body)}`);
    }
    return reply.body.approvals[0];
  }

  /** The expiry schedule of an approval fires: Scheduler deletes it (ActionAfterCompletion) and invokes. */
  public async fireSchedule(approvalId: string): Promise<unknown> {
    const key = `${this.config.scheduleGroup}/${scheduleName(approvalId)}`;
    const schedule = this.scheduler.schedules.get(key);
    if (!schedule) throw new Error(`no schedule ${key}`);
    this.scheduler.schedules.delete(key);
    return this.invoke(JSON.parse(schedule.Target?.Input ?? '{}'));
  }

  /**
   * A CloudTrail event for a call made by `roleName`'s session; invokes the targets of every rule it
   * reaches. `source` forges the event's source, as `PutEvents` could; `readOnly` defaults to what
   * CloudTrail records for `Get`, `List` and `Describe` calls.
   */
  public async cloudTrail(
    roleName: string,
    eventName: string,
    errorCode?: string,
    service = 'ec2',
    options: { readonly source?: string; readonly readOnly?: boolean } = {},
  ): Promise<number> {
    assertCloudTrailEventName(`${service}.amazonaws.com`, eventName);
    const role = this.iam.role(roleName);
    const event = {
      source: options.source ?? `aws.${service}`,
      'detail-type': 'AWS API Call via CloudTrail',
      detail: {
        eventSource: `${service}.amazonaws.com`,
        eventName,
        readOnly: options.readOnly ?? /^(Get|List|Describe)[A-Z]/.test(eventName),
        ...(errorCode ? { errorCode } : {}),
        userIdentity: {
          type: 'AssumedRole',
          arn: sessionArn(roleName, 'session1'),
          sessionContext: { sessionIssuer: { type: 'Role', arn: role.arn, userName: roleName } },
        },
      },
    };
    let invoked = 0;
    for (const rule of this.events.rulesFor(event)) {
      for (const target of rule.targets.values()) {
        if (target.Arn !== FUNCTION_ARN) continue;
        invoked++;
        await this.invoke(target.Input ? JSON.parse(target.Input) : event);
      }
    }
    return invoked;
  }

  // ----- reading the account ------------------------------------------------------------------

  public record(approvalId: string): ApprovalRecord {
    const record = this.table.items.get(approvalId);
    if (!record) throw new Error(`no record ${approvalId}`);
    return record;
  }

  public role(name = AGENT): { attached: string[]; tags: Record<string, string> } {
    const role = this.iam.role(name);
    return { attached: [...role.attached], tags: Object.fromEntries(role.tags) };
  }

  /** Approval policy ARNs attached to a role. */
  public approvalPoliciesOn(name = AGENT): string[] {
    return this.iam.role(name).attached.filter((a) => parseApprovalPolicyArn(a));
  }

  /** Set ids of the approval policies attached to a role. */
  public setsOn(name = AGENT): string[] {
    return [...new Set(this.approvalPoliciesOn(name).map((a) => parseApprovalPolicyArn(a)!.setId))];
  }

  /** The standard guard policies the approval versions on the role stand in for (their `-Deny<n>` endings). */
  public replacedStandard(name = AGENT): string[] {
    const ends = this.approvalPoliciesOn(name).map((arn) => `/AgentGuardDeny${/-Deny(\d+)-[0-9a-f]+$/.exec(arn)![1]}`);
    return this.config.guardPolicyArns.filter((arn) => ends.some((end) => arn.endsWith(end)));
  }

  /** True when the role holds exactly the standard guard policies and no approval tag. */
  public isStandard(name = AGENT): boolean {
    const { attached, tags } = this.role(name);
    return (
      this.config.guardPolicyArns.every((a) => attached.includes(a)) &&
      this.approvalPoliciesOn(name).length === 0 &&
      !(APPROVAL_TAG in tags)
    );
  }

  /** Calls that wrote something (failed ones included), optionally of one service. */
  public writes(service?: ServiceName): RecordedCall[] {
    return this.calls.filter((c) => WRITES.has(c.command) && (!service || c.service === service));
  }

  /** `Command RoleName-or-PolicyName` strings of the IAM writes that succeeded, in order. */
  public iamWriteLog(): string[] {
    return this.writes('iam')
      .filter((c) => !c.error)
      .map((c) => {
        const target =
          c.command === 'CreatePolicy'
            ? String(c.input.PolicyName)
            : c.command === 'DeletePolicy'
              ? String(c.input.PolicyArn).split('/').pop()
              : `${String(c.input.RoleName)} ${c.command.endsWith('RolePolicy') ? String(c.input.PolicyArn).split('/').pop() : ''}`.trim();
        return `${c.command} ${target}`;
      });
  }

  /** Forgets the calls recorded so far (the account state stays). */
  public resetCalls(): void {
    this.calls.length = 0;
    this.sns.notices.length = 0;
  }

  /** Fails `command` with the error `error` returns (undefined lets the call through). */
  public fail(command: string, error: Fault['error']): void {
    this.faults.push({ command, error });
  }

  // ----- dispatch and the lock watch ----------------------------------------------------------

  private async dispatch(
    service: ServiceName,
    fake: { send(command: unknown): unknown },
    command: unknown,
  ): Promise<unknown> {
    await Promise.resolve();
    const name = (command as object).constructor.name.replace(/Command$/, '');
    const input = clone((command as { input: Record<string, unknown> }).input);
    const call: RecordedCall = { seq: ++this.seq, service, command: name, input };
    this.calls.push(call);
    const nth = this.calls.filter((c) => c.command === name).length;
    for (const fault of this.faults.filter((f) => f.command === name)) {
      const error = fault.error(input, nth);
      if (error) {
        call.error = error.name;
        throw error;
      }
    }
    try {
      const output = fake.send(command);
      if (service === 'iam' && WRITES.has(name) && typeof input.RoleName === 'string') this.watch(input.RoleName, call);
      return { $metadata: { httpStatusCode: 200 }, ...(output as object) };
    } catch (error) {
      call.error = error instanceof Error ? error.name : 'Error';
      throw error;
    }
  }

  /** Takes every role's current state as a settled end of a swap, for the lock watch. */
  public settle(): void {
    for (const role of this.iam.roles.values()) {
      const state = this.lockState(role.attached);
      const ends = new Set([...(state.standard ? ['standard'] : []), ...state.complete]);
      this.settled.set(role.name, { ends, at: this.seq });
    }
  }

  /**
   * `standard`: every standard guard policy is attached. `complete`: the sets whose versions are all
   * attached together with every standard policy they do not stand in for (the `-Deny<n>` ending of a
   * version's name), so they lock the role on their own. `exact`: the role holds one such set and
   * nothing else of the guard's, the settled end of a swap.
   */
  private lockState(attached: readonly string[]): {
    standard: boolean;
    complete: string[];
    sets: string[];
    exact: boolean;
  } {
    const standardAttached = this.config.guardPolicyArns.filter((a) => attached.includes(a));
    const bySet = new Map<string, { count: number; indices: Set<number>; replaces: Set<string>; stale: boolean }>();
    // A version stands in only when its name carries the digest of the standard policies deployed now.
    const current = new RegExp(`-Deny(\\d+)-${this.config.guardPolicyDigest}$`);
    for (const arn of attached) {
      const parsed = parseApprovalPolicyArn(arn);
      if (!parsed) continue;
      const entry = bySet.get(parsed.setId) ?? {
        count: parsed.count,
        indices: new Set(),
        replaces: new Set(),
        stale: false,
      };
      entry.indices.add(parsed.index);
      const standsIn = current.exec(arn);
      if (standsIn) entry.replaces.add(standsIn[1]);
      else entry.stale = true;
      bySet.set(parsed.setId, entry);
    }
    const stillNeeded = (e: { replaces: Set<string> }) =>
      this.config.guardPolicyArns.filter((a) => ![...e.replaces].some((n) => a.endsWith(`/AgentGuardDeny${n}`)));
    const complete = [...bySet]
      .filter(([, e]) => !e.stale && e.indices.size === e.count && [...e.indices].every((i) => i >= 1 && i <= e.count))
      .filter(([, e]) => stillNeeded(e).every((a) => attached.includes(a)))
      .map(([id]) => id);
    const only = bySet.get(complete[0]);
    return {
      standard: standardAttached.length === this.config.guardPolicyArns.length,
      complete,
      sets: [...bySet.keys()],
      exact: bySet.size === 1 && only !== undefined && stillNeeded(only).length === standardAttached.length,
    };
  }

  private setCreatedAt(setId: string): number {
    const seqs = this.iam
      .approvalPolicies()
      .filter((p) => parseApprovalPolicyArn(p.arn)!.setId === setId)
      .map((p) => p.createdSeq);
    return seqs.length > 0 ? Math.min(...seqs) : 0;
  }

  private watch(roleName: string, call: RecordedCall): void {
    const role = this.iam.roles.get(roleName);
    if (!role || role.tags.get(AGENT_TAG) !== AGENT_TAG_VALUE) return;
    const settled = this.settled.get(roleName) ?? { ends: new Set<string>(), at: 0 };
    if (settled.ends.size === 0) return; // never locked: nothing to keep
    // In force means attached and visible to reads: IAM is eventually consistent.
    const inForce = this.lockState(this.iam.inForce(role));
    const allowed = inForce.complete.filter((s) => settled.ends.has(s) || this.setCreatedAt(s) > settled.at);
    if (!inForce.standard && allowed.length === 0) {
      this.violations.push({
        seq: call.seq,
        command: call.command,
        role: roleName,
        attached: [...role.attached],
        allowedSets: [...settled.ends],
      });
    }
    // A settled state is one end of a swap: exactly the standard policies, or exactly one complete set.
    const state = this.lockState(role.attached);
    if (state.standard && state.sets.length === 0)
      this.settled.set(roleName, { ends: new Set(['standard']), at: call.seq });
    if (state.exact) {
      this.settled.set(roleName, { ends: new Set(state.complete), at: call.seq });
    }
  }

  /**
   * Seeds IAM as an earlier (perhaps crashed) run would leave it: approval policies created and attached
   * to `roleName` after the policies it holds. With `settle` (default), the new state counts as a swap's
   * end for the lock watch; without, the watch keeps the ends it had.
   */
  public seedApprovalSet(
    roleName: string,
    policies: readonly { name: string; document: PolicyDocumentJson }[],
    options: { attach?: 'all' | number; tag?: string; detach?: readonly string[]; settle?: boolean } = {},
  ): string[] {
    const arns = policies.map((p) => `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/${p.name}`);
    policies.forEach((p, i) => this.iam.addPolicy(arns[i], p.document));
    const role = this.iam.role(roleName);
    const attachCount = options.attach === undefined || options.attach === 'all' ? arns.length : options.attach;
    role.attached.push(...arns.slice(0, attachCount));
    role.attached = role.attached.filter((a) => !(options.detach ?? []).includes(a));
    if (options.tag) role.tags.set(APPROVAL_TAG, options.tag);
    if (options.settle ?? true) this.settle();
    return arns;
  }

  /** Puts a record straight into the table, as a crashed or earlier run left it. */
  public seedRecord(record: ApprovalRecord): void {
    this.table.items.set(record.approvalId, clone(record));
  }
}

const live: ApprovalsFixture[] = [];

export function newFixture(options: ApprovalsFixtureOptions = {}): ApprovalsFixture {
  const fx = new ApprovalsFixture(options);
  live.push(fx);
  return fx;
}

/**
 * For `afterEach`: no fixture made since the last check ever left an agent role less locked than both
 * ends of a swap.
 */
export function expectNoLockViolations(): void {
  const fixtures = live.splice(0);
  expect(fixtures.flatMap((fx) => fx.violations)).toEqual([]);
}

/** Statement Sids of a policy document. */
export function sids(document: PolicyDocumentJson): string[] {
  return document.Statement.map((s) => s.Sid ?? '');
}

/** The refusal contract: no IAM write, no record, no schedule, no rule, no notice; the role is as it was. */
export function expectNothingWritten(fx: ApprovalsFixture, roleName = AGENT): void {
  expect(fx.writes()).toEqual([]);
  expect(fx.table.items.size).toBe(0);
  expect(fx.scheduler.schedules.size).toBe(0);
  expect(fx.events.rules.size).toBe(0);
  expect(fx.sns.notices).toEqual([]);
  expect(fx.iam.approvalPolicies()).toEqual([]);
  expect(fx.isStandard(roleName)).toBe(true);
}

/** The periodic EventBridge rule's event: not one of the function's own inputs, so it reconciles. */
export function periodicEvent(): Record<string, unknown> {
  return {
    version: '0',
    id: '7d1f4b3a-0000-4000-8000-000000000001',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT_ID,
    time: NOW.toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:events:us-east-1:${ACCOUNT_ID}:rule/AgentGuardApprovalsReconcile`],
    detail: {},
  };
}

/** ISO time without milliseconds, as the approval function writes it. */
export function iso(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `date` plus `seconds`. */
export function plus(date: Date, seconds: number): Date {
  return new Date(date.getTime() + seconds * 1000);
}

/** An AccessDenied as any service raises it (not retried). */
export function accessDenied(message = 'User is not authorized to perform this operation'): Error {
  return Object.assign(new Error(message), {
    name: 'AccessDenied',
    $fault: 'client',
    $metadata: { httpStatusCode: 403 },
  });
}

/** IAM's throttling error (retried by AwsCaller). */
export function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), {
    name: 'Throttling',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}
