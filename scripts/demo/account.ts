/**
 * The demo's account: the guard construct synthesized in-process, the guard's own decision code fed by
 * in-memory Organizations and CloudWatch, the real approval service over the test suite's in-memory
 * AWS (test/support/approvals-fixture.ts), and each agent call decided by the IAM engine over the
 * template's policies. Repo-only: it uses devDependencies, the AGPL IAM engine among them.
 */
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchClient, MetricDataResult } from '@aws-sdk/client-cloudwatch';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { exampleContext } from '../../examples/example-app';
import { AgentGuard } from '../../lib';
import { checkAction, CheckResult } from '../../lib/core/agent/check';
import { ApiResponse, ApprovalRecord } from '../../lib/core/approval-api';
import { APPROVALS_CONFIG_ENV, ApprovalsConfig, GuardConfig } from '../../lib/core/config';
import {
  AGENT_TAG,
  AGENT_TAG_VALUE,
  guardPolicyName,
  parseApprovalPolicyArn,
  STATE_OPEN,
  STATE_TAG,
} from '../../lib/core/contract';
import { NamedPolicy } from '../../lib/core/iam/policy-document';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import { GuardStatus } from '../../lib/core/status';
import { DEFAULT_SCHEDULE_MINUTES, effectiveLock } from '../../lib/core/status-freshness';
import { loadApprovalsConfig } from '../../lambda/approvals/config';
import { decide, Decision } from '../../lambda/guard/decide';
import { ProductionReader } from '../../lambda/guard/production-signal';
import { buildStatus } from '../../lambda/guard/status';
import { holdTraffic } from '../../lambda/guard/traffic-hold';
import { readTraffic } from '../../lambda/guard/traffic-signal';
import { Notice, trafficDropNotice } from '../../lambda/shared/notices';
import { AwsCaller } from '../../lambda/shared/aws-caller';
import { ADMIN_POLICY_ARN, ApprovalsFixture } from '../../test/support/approvals-fixture';
import { functionConfig } from '../../test/support/function-config';
import { ACCOUNT, guardedRole, PARTITION, REGION, resolveIntrinsics } from '../../test/support/guarded-role';

export { ACCOUNT };
export const AGENT_ROLE_NAME = 'coding-agent';
export const AGENT_ROLE_ARN = `arn:${PARTITION}:iam::${ACCOUNT}:role/${AGENT_ROLE_NAME}`;
export const AGENT_SESSION = `arn:${PARTITION}:sts::${ACCOUNT}:assumed-role/${AGENT_ROLE_NAME}/claude-code`;
/** On-call engineers sign in through IAM Identity Center: one role, one session per person. */
const SSO_ROLE = 'AWSReservedSSO_OnCall_0123456789abcdef';
export const ON_CALL = {
  alice: `arn:${PARTITION}:sts::${ACCOUNT}:assumed-role/${SSO_ROLE}/alice@example.com`,
  bob: `arn:${PARTITION}:sts::${ACCOUNT}:assumed-role/${SSO_ROLE}/bob@example.com`,
} as const;
export const stackArn = (name: string, id: string): string =>
  `arn:${PARTITION}:cloudformation:${REGION}:${ACCOUNT}:stack/${name}/${id}`;

/** Requests per minute the account serves at a minute, over every region. */
export type TrafficModel = (minute: Date) => number;

/** One evaluation of the guard: what it decided, and any notice. */
export interface GuardTick {
  readonly decision: Decision;
  /** The status it published, with the busiest sources of traffic (the blast radius). */
  readonly status: GuardStatus;
  /** The traffic-drop notice this evaluation sent on-call, if any. */
  readonly notice?: Notice;
}

/** One agent call as IAM decides it. */
export interface CallDecision {
  readonly allowed: boolean;
  /** `Allowed`, `ExplicitlyDenied` or `ImplicitlyDenied`, as the engine says. */
  readonly result: string;
  /** The policy and statement that denied it, or what allowed it. */
  readonly by: string;
}

type Cfn = Parameters<typeof resolveIntrinsics>[1];

/** The guard as the example app deploys it, with two approvers required; synthesized in-process. */
function synthesize(): Template {
  // The built-in CloudFormation validation takes most of a synth's time and decides nothing here.
  const app = new App({ context: exampleContext(), builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'AgentGuardDemo');
  const agentRole = new iam.Role(stack, 'CodingAgent', {
    roleName: AGENT_ROLE_NAME,
    assumedBy: new iam.AccountRootPrincipal(),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')],
  });
  new AgentGuard(stack, 'Guard', {
    agentRoles: [agentRole],
    approvers: [`arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_OnCall_*`],
    requiredApprovals: 2,
    trafficRegions: ['us-east-1', 'eu-west-1'],
  });
  return Template.fromStack(stack, { skipCyclicalDependenciesCheck: true });
}

/** The approval function's configuration as the function reads it, with intrinsics resolved. */
function approvalsConfig(template: Template): ApprovalsConfig {
  const resources = template.toJSON().Resources as Cfn;
  const fn = Object.values(resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === 'AgentGuardApprovals',
  );
  if (!fn) throw new Error('The synthesized template has no AgentGuardApprovals function.');
  const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  return loadApprovalsConfig({
    [APPROVALS_CONFIG_ENV]: resolveIntrinsics(variables[APPROVALS_CONFIG_ENV], resources) as string,
  });
}

/** CloudWatch answering GetMetricData from the traffic model: the first query carries all of it. */
function fakeCloudWatch(traffic: () => TrafficModel, config: GuardConfig): (region: string) => CloudWatchClient {
  const [carrier] = config.traffic.queries;
  const regions = carrier.regions;
  return (region) =>
    ({
      send: (command: unknown) => {
        if (!(command instanceof GetMetricDataCommand)) throw new Error('only GetMetricData is faked');
        const { StartTime, EndTime, MetricDataQueries } = command.input;
        const [query] = MetricDataQueries ?? [];
        // One load balancer per region carries it; a grouped query labels each series with the group's value.
        const result: MetricDataResult = {
          Id: query.Id,
          Label: `app/prod-web-${region}/50dc6c495c0c9188`,
          StatusCode: 'Complete',
          Timestamps: [],
          Values: [],
        };
        if (query.Id === carrier.id && regions.includes(region)) {
          for (let t = StartTime!.getTime(); t < EndTime!.getTime(); t += 60000) {
            // Split over the regions, as metrics are regional; a minute without requests has no datapoint.
            const value = traffic()(new Date(t)) / regions.length;
            if (value > 0) {
              result.Timestamps!.push(new Date(t));
              result.Values!.push(value);
            }
          }
        }
        return Promise.resolve({ MetricDataResults: [result] });
      },
    }) as unknown as CloudWatchClient;
}

function fakeOrganizations(accountTags: () => Record<string, string>): OrganizationsClient {
  return {
    send: () => Promise.resolve({ Tags: Object.entries(accountTags()).map(([Key, Value]) => ({ Key, Value })) }),
  } as unknown as OrganizationsClient;
}

export class DemoAccount {
  public readonly guardConfig: GuardConfig;
  /** The approval function's service, over in-memory IAM, DynamoDB, Scheduler, EventBridge and SNS. */
  public readonly approvals: ApprovalsFixture;
  /** The managed policies of the template by ARN, resolved for the demo account. */
  private readonly policies = new Map<string, NamedPolicy>();
  private readonly boundary: NamedPolicy;
  /** The agent role's tags in the template, as `aws:PrincipalTag/...`. */
  private readonly roleTags: Record<string, string>;
  private readonly production: ProductionReader;
  private readonly caller = new AwsCaller({ sleep: () => Promise.resolve() });
  private traffic: TrafficModel = () => 0;
  private previous: GuardStatus | undefined;
  /** When the guard last ran: it runs on its schedule, every DEFAULT_SCHEDULE_MINUTES from the epoch. */
  private lastRun = 0;

  constructor(accountTags: Record<string, string>) {
    const template = synthesize();
    this.guardConfig = functionConfig(template);
    const role = guardedRole(template);
    for (const p of role.identityPolicies) {
      const arn =
        p.name === 'AdministratorAccess'
          ? ADMIN_POLICY_ARN
          : this.guardConfig.guardPolicyArns.find((a) => a.endsWith(`/${p.name}`));
      if (!arn) throw new Error(`The agent role holds ${p.name}, which the guard configuration does not name.`);
      this.policies.set(arn, { name: p.name, document: p.policy });
    }
    this.boundary = { name: role.boundary.name, document: role.boundary.policy };
    this.roleTags = role.principalTags;
    this.production = new ProductionReader(
      this.guardConfig.production,
      ACCOUNT,
      fakeOrganizations(() => accountTags),
      this.caller,
      this.guardConfig.productionCacheSeconds,
    );

    const config = approvalsConfig(template);
    this.approvals = new ApprovalsFixture({ config, now: new Date(0) });
    this.approvals.iam.addRole(AGENT_ROLE_NAME, {
      tags: { [AGENT_TAG]: AGENT_TAG_VALUE },
      policies: [ADMIN_POLICY_ARN, ...config.guardPolicyArns],
    });
    this.approvals.iam.addRole(SSO_ROLE, { path: '/aws-reserved/sso.amazonaws.com/eu-west-1/' });
  }

  /** The guard's standard deny policies, as the template holds them. */
  public get guardPolicies(): NamedPolicy[] {
    return this.guardConfig.guardPolicyArns.map((arn) => this.policies.get(arn)!);
  }

  public setTraffic(model: TrafficModel): void {
    this.traffic = model;
  }

  /** The status the guard published last. */
  public guardStatus(): GuardStatus | undefined {
    return this.previous;
  }

  /** Rewinds the guard to `status`, as if it had just published it. */
  public restoreStatus(status: GuardStatus): void {
    this.previous = status;
    this.lastRun = Date.parse(status.evaluatedAt);
  }

  /** Runs every scheduled evaluation due after the last one, up to `until`, in order. */
  public async runSchedule(until: Date): Promise<{ at: Date; tick: GuardTick }[]> {
    const step = DEFAULT_SCHEDULE_MINUTES * 60000;
    const ticks = [];
    const first =
      this.lastRun === 0 ? Math.floor(until.getTime() / step) * step : Math.floor(this.lastRun / step) * step + step;
    for (let t = first; t <= until.getTime(); t += step) {
      ticks.push({ at: new Date(t), tick: await this.evaluateGuard(new Date(t)) });
    }
    return ticks;
  }

  /** One scheduled evaluation, as lambda/guard/guard.ts runs it, minus the role writes. */
  public async evaluateGuard(now: Date): Promise<GuardTick> {
    const config = this.guardConfig;
    const cloudwatch = fakeCloudWatch(() => this.traffic, config);
    const [production, measured] = await Promise.all([
      this.production.read(now),
      readTraffic(config.traffic, cloudwatch, this.caller, now),
    ]);
    const previous = { readable: true as const, status: this.previous };
    const { signal, memory, started } = holdTraffic(measured, previous, now, config.traffic.dropHoldMinutes);
    const decision = decide(production, signal, config.mode);
    const status = buildStatus(
      {
        account: config.accountId,
        mode: config.mode,
        decision,
        production,
        traffic: signal,
        trafficMemory: memory,
        lookbackMinutes: config.traffic.lookbackMinutes,
        scheduleMinutes: config.scheduleMinutes,
        exemptGroups: config.exemptGroups ?? [],
        now,
      },
      this.previous,
    );
    this.previous = status;
    this.lastRun = now.getTime();
    const notice =
      started && decision.protected
        ? trafficDropNotice({
            account: config.accountId,
            mode: config.mode,
            reason: signal.reason,
            holdUntil: memory.holdUntil,
          })
        : undefined;
    return { decision, status, ...(notice ? { notice } : {}) };
  }

  /** `agent-guard check` as the agent runs it, over the role's attached guard policies. */
  public async check(action: string, resource: string, now: Date): Promise<CheckResult> {
    const lock = effectiveLock(this.previous, now, DEFAULT_SCHEDULE_MINUTES);
    const tags: Record<string, string> = Object.fromEntries(
      Object.entries(this.roleTags).map(([k, v]) => [k.replace('aws:PrincipalTag/', ''), v]),
    );
    if (!lock.locked) tags[STATE_TAG] = STATE_OPEN;
    const listed = await this.call({ op: 'list', roleArn: AGENT_ROLE_ARN }, AGENT_SESSION, now);
    return checkAction({
      action,
      resource,
      roleArn: AGENT_ROLE_ARN,
      lock,
      now,
      approvals: listed.ok ? (listed.approvals ?? []) : undefined,
      // As the CLI reads the role: its guard policies (AdministratorAccess is assumed to allow).
      policies: {
        identity: this.attached().filter((p) => p.name !== 'AdministratorAccess'),
        boundary: this.boundary,
        source: 'attached',
      },
      roleTags: tags,
      catalog: resolveCatalog(),
    });
  }

  /** A call to the approval function's URL, signed by `callerArn`, at `now`. */
  public async call(body: Record<string, unknown>, callerArn: string, now: Date): Promise<ApiResponse> {
    this.approvals.now = now;
    const reply = (await this.approvals.invoke(this.approvals.urlEvent(body, callerArn))) as { body: string };
    return JSON.parse(reply.body) as ApiResponse;
  }

  /** The subject of the last notice the approval function sent on-call. */
  public lastNotice(): string | undefined {
    return this.approvals.sns.notices.at(-1)?.subject;
  }

  /** Scheduler fires the approval's expiry at `now`. */
  public async expire(record: ApprovalRecord, now: Date): Promise<void> {
    this.approvals.now = now;
    await this.approvals.fireSchedule(record.approvalId);
  }

  /** The approval versions on the agent role now, by name, and the standard policies they stand in for. */
  public approvalVersions(): { name: string; replaces: string }[] {
    return this.approvals.iam.role(AGENT_ROLE_NAME).attached.flatMap((arn) => {
      const parts = parseApprovalPolicyArn(arn);
      if (!parts) return [];
      const replaces = parts.replaces === undefined ? 'none' : guardPolicyName(parts.replaces);
      return [{ name: arn.slice(arn.lastIndexOf('/') + 1), replaces }];
    });
  }

  /** The managed policies the agent role holds now: the template's, and approval versions as IAM holds them. */
  private attached(): NamedPolicy[] {
    return this.approvals.iam.role(AGENT_ROLE_NAME).attached.map(
      (arn) =>
        this.policies.get(arn) ?? {
          name: arn.slice(arn.lastIndexOf('/') + 1),
          document: this.approvals.iam.document(arn),
        },
    );
  }

  /** IAM's decision on the agent's call now: the role's attached policies, boundary and tags. */
  public async callAws(action: string, resource: string, now: Date): Promise<CallDecision> {
    // The role carries the state tag the guard's last decision wrote; as deployed, it has none (locked).
    const locked = this.previous?.locked ?? true;
    const tags = { ...this.roleTags, ...(locked ? {} : { [`aws:PrincipalTag/${STATE_TAG}`]: STATE_OPEN }) };
    const simulation = await runSimulation(
      {
        request: {
          principal: `${AGENT_ROLE_ARN}`,
          action,
          resource: { resource, accountId: ACCOUNT },
          contextVariables: {
            'aws:PrincipalAccount': ACCOUNT,
            'aws:PrincipalArn': AGENT_ROLE_ARN,
            'aws:CurrentTime': now.toISOString(),
            ...tags,
          },
        },
        identityPolicies: this.attached().map((p) => ({ name: p.name, policy: p.document })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        permissionBoundaryPolicies: [{ name: this.boundary.name, policy: this.boundary.document }],
      },
      {},
    );
    if (simulation.resultType !== 'single') {
      throw new Error(`The IAM engine could not decide ${action}: ${JSON.stringify(simulation)}`);
    }
    const analysis = simulation.result.analysis;
    const deny = [analysis.identityAnalysis, analysis.permissionBoundaryAnalysis]
      .flatMap((a) => a?.denyStatements ?? [])
      .at(0);
    const result = simulation.overallResult;
    const by = deny
      ? `denied by statement ${deny.statement.sid() ?? '(no Sid)'} of ${deny.policyId}`
      : result === 'Allowed'
        ? 'AdministratorAccess allows it, no guard statement denies it'
        : 'no Allow matches';
    return { allowed: result === 'Allowed', result, by };
  }
}
