import { Annotations, Aws, CfnResource, Duration, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { ActionGroup } from './action-group';
import {
  AGENT_TAG,
  AGENT_TAG_VALUE,
  BOUNDARY_POLICY_NAME,
  COMPONENT_TAG,
  CONSTRAINED_TAG,
  CONSTRAINED_TAG_VALUE,
  DEFAULT_STATUS_PARAMETER,
  GUARD_PATH,
  guardPolicyName,
} from './core/contract';
import { ApprovalFunction } from './approval-function';
import { GuardDashboard } from './guard-dashboard';
import { GuardFunction } from './guard-function';
import { GuardMode } from './guard-mode';
import { ProductionSignal } from './production-signal';
import { TrafficMetric } from './traffic-metric';
import {
  checkTrafficPartition,
  defaultTrafficMetrics,
  isGuardRegion,
  metricRegions,
  TRAFFIC_ONE_REGION_WARNING,
  trafficRegions,
} from './traffic-plan';
import { DEFAULT_BREAK_GLASS_MAX_SECONDS, DEFAULT_MAX_APPROVAL_SECONDS } from './core/approval/duration';
import { MAX_APPROVAL_POLICIES } from './core/approval/approval-policies';
import { UninstallFunction } from './uninstall-function';
import { boundaryDocument, BoundaryOptions } from './core/policy/boundary';
import { guardPolicyDigest } from './core/policy/guard-digest';
import { compileGuardPolicies } from './core/policy/guard-policies';
import { PolicyDocumentJson } from './core/iam/policy-document';
import { expandActionPattern, resolveCatalog } from './core/policy/resolve-catalog';
import { TRUST_DENY_STATEMENT } from './core/policy/trust-deny';
import { CentralNotices } from './central-notices';
import { assertValidPolicies, PolicyKind } from './core/policy/validate-policy';

/** IAM's quota of managed policies attached to one role: 10 by default, 20 at most (docs/AWS-BEHAVIOUR.md IAM-1). */
const ROLE_MANAGED_POLICY_QUOTA = { default: 10, max: 20 };

/** Longest values the boundary's tokens can take, so its size is checked against the worst case. */
const WORST_CASE_CONTEXT = { partition: 'aws-us-gov', account: '123456789012' };

/** Properties of {@link AgentGuard}. */
export interface AgentGuardProps {
  /**
   * Roles to constrain now, as if passed to {@link AgentGuard.constrain}.
   *
   * They must be roles defined in this app; tag imported roles `agent-guard:agent=true` and the guard
   * constrains them at run time.
   *
   * @default - none
   */
  readonly agentRoles?: iam.IRole[];

  /**
   * Groups of your own to protect besides the built-in ones, made with {@link ActionGroup.custom}.
   *
   * @default - only the built-in groups
   */
  readonly additionalGroups?: ActionGroup[];

  /**
   * Actions to take out of the protected catalog, exact (`ec2:DeleteTags`) or as patterns
   * (`ec2:DeleteTags*`). Each must name at least one protected action. The anti-tamper statements of the
   * boundary cannot be exempted.
   *
   * @default - none
   */
  readonly exemptActions?: string[];

  /**
   * Built-in groups to stop protecting while locked, such as `ActionGroup.REMOTE_EXECUTION`. An action
   * that one of your `additionalGroups` also names stays protected. `ActionGroup.DELETE` and
   * `ActionGroup.STACK_REPLACE` cannot be exempted: name single actions of theirs in `exemptActions`.
   *
   * The trade-off, for remote execution: while production serves traffic, code reaches it through the
   * pipeline. With the group exempt, an agent can change a Lambda function's code, override a build's
   * buildspec or a task's command, or run an SSM document on instances, and that code runs with the
   * resource's role, not the agent's. The guard's own resources stay protected either way.
   *
   * @default - none: every built-in group is protected
   */
  readonly exemptGroups?: ActionGroup[];

  /**
   * The most an agent role may ever do: the Allow of the permission boundary. Whatever the role's own
   * policies grant beyond it is not allowed.
   *
   * @default ['*'] - the boundary caps nothing; the agent's own policies decide
   */
  readonly ceilingActions?: string[];

  /**
   * The account's quota of managed policies per IAM role, if it was raised (IAM allows 10 by default and
   * up to 20 on request).
   *
   * An agent role needs room for its own managed policies, the guard policies, and, with approvals, an
   * approval swap, which attaches the new set before it detaches the old one. Synth fails for a role
   * passed to the guard that would not fit; at run time, the guard leaves a role that has no room
   * without the `agent-guard:constrained` tag, so it can do nothing, and tells on-call.
   *
   * @default 10
   */
  readonly managedPoliciesPerRole?: number;

  /**
   * Whether the guard locks agent roles, or only reports what it would do.
   *
   * @default GuardMode.ENFORCE
   */
  readonly mode?: GuardMode;

  /**
   * Where the guard learns that this account is production. A failed lookup counts as production.
   *
   * @default ProductionSignal.fromAccountTags() - the Organizations account tag `environment` is `production` or `prod`
   */
  readonly production?: ProductionSignal;

  /**
   * The metrics that count as live traffic. Their requests per minute are summed over every region
   * they are read in.
   *
   * @default TrafficMetric.defaults() - ALB, API Gateway REST and HTTP APIs and Lambda function URLs in every region of `trafficRegions`, and CloudFront (in the `aws` partition only: its metrics are in us-east-1)
   */
  readonly trafficMetrics?: TrafficMetric[];

  /**
   * The regions where the account serves traffic. CloudWatch metrics are regional, so every traffic
   * metric without a region of its own (the defaults included) is read in each of them; CloudFront's
   * are read in us-east-1 only, where CloudFront publishes them. Repeats are ignored.
   *
   * Synth warns when the guard would read its own region only and this is not set.
   *
   * @default - the guard's own region only
   */
  readonly trafficRegions?: string[];

  /**
   * Traffic is live when the summed requests in some minute of the lookback exceed this.
   *
   * @default 5
   */
  readonly trafficThresholdPerMinute?: number;

  /**
   * How far back the guard looks for traffic. The account stays locked this long after traffic stops.
   * Whole minutes, 1 to 1,440.
   *
   * @default Duration.minutes(15)
   */
  readonly trafficLookback?: Duration;

  /**
   * How long the lock holds after live traffic drops to none at once: the previous evaluation saw
   * traffic above the threshold, and this one sees no request at all in the lookback. Cutting traffic
   * (revoking a load balancer's ingress, changing DNS) is an incident or an attack, not idleness, so
   * the guard holds the lock and tells on-call. Approvals work as usual meanwhile. A decline through
   * the threshold is not a drop. Whole minutes, 1 to 1,440.
   *
   * @default Duration.hours(1)
   */
  readonly trafficDropHold?: Duration;

  /**
   * How often the guard sweeps every agent role, besides reacting to events. Whole minutes. An alarm
   * (`AgentGuardNotEvaluating`) tells on-call when three schedules pass without an evaluation.
   *
   * @default Duration.minutes(5)
   */
  readonly schedule?: Duration;

  /**
   * The SSM parameter where the guard publishes the account status (JSON) for agents to read. It must
   * sit under `/agent-guard/`, where the boundary keeps agents from writing.
   *
   * @default '/agent-guard/status'
   */
  readonly statusParameterName?: string;

  /**
   * Who may approve and revoke: IAM ARN patterns of roles (with their path) or users.
   *
   * For example `arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/*\/AWSReservedSSO_OnCall_*`.
   * Agent roles can never approve, whatever this says. Approvers also need `lambda:InvokeFunctionUrl` and
   * `lambda:InvokeFunction` (through the URL) on the approval function: see `grantApprove`.
   *
   * @default - no approval function: agent roles stay locked until the account is open
   */
  readonly approvers?: string[];

  /**
   * Distinct approvers an approval needs before it takes effect (the two-person rule). Break-glass
   * approvals need one.
   *
   * @default 2
   */
  readonly requiredApprovals?: number;

  /**
   * The longest an approval may last. IAM denies again at its expiry to the second.
   *
   * @default Duration.hours(1)
   */
  readonly maxApprovalDuration?: Duration;

  /**
   * The longest a break-glass approval (one approver, always announced, marked for review) may last.
   *
   * @default Duration.minutes(15)
   */
  readonly breakGlassMaxDuration?: Duration;

  /**
   * How long a request (from an agent) or an approval waiting for its second approver stays open.
   *
   * @default Duration.hours(1)
   */
  readonly approvalRequestTtl?: Duration;

  /**
   * A regular expression that every approval's ticket id must match in full.
   *
   * Approvals then need a ticket.
   *
   * @default - no ticket required
   */
  readonly ticketPattern?: string;

  /**
   * How long audit records are kept after an approval ends (DynamoDB TTL).
   *
   * @default Duration.days(365)
   */
  readonly auditRetention?: Duration;

  /**
   * A topic of your own for every notice and alarm action, instead of the one the guard creates.
   *
   * The guard publishes denials, repairs, state changes and approvals to it, and its failure alarms
   * notify it. It must be in the guard's account and region. If it is encrypted with a KMS key, that
   * key's policy must let `cloudwatch.amazonaws.com` use `kms:Decrypt` and `kms:GenerateDataKey*`, or
   * the alarms cannot publish; pass the key as `encryptionKey` and the guard adds that statement.
   *
   * @default - a topic named `AgentGuardNotices`, encrypted with `encryptionKey`
   */
  readonly noticesTopic?: sns.ITopic;

  /**
   * A central SNS topic or EventBridge event bus, typically in a security account, that gets a copy of
   * every notice the guard and approval functions publish.
   *
   * Each notice goes to the local topic and the central target at once. A copy the central target does
   * not take is logged and counted in the `Errors` and `CentralNoticeFailures` metrics; the local notice
   * is not held up or lost. The functions' roles get exactly `sns:Publish` on the topic or
   * `events:PutEvents` on the bus; the target's own resource policy must allow the member accounts.
   * Alarms still notify the local topic only.
   *
   * @default - no central copy
   */
  readonly centralNotices?: CentralNotices;

  /**
   * A KMS key of your own for everything the guard encrypts, instead of the key it creates.
   *
   * It encrypts the notices topic (when the guard creates it), the functions' log groups and the
   * approvals table. The guard adds key policy statements that let CloudWatch alarms publish
   * (`cloudwatch.amazonaws.com`: `kms:Decrypt`, `kms:GenerateDataKey*`) and CloudWatch Logs encrypt the
   * `/aws/lambda/AgentGuard*` log groups (`logs.<region>.amazonaws.com`). An imported key keeps its
   * policy: add those statements yourself (synth warns with them). It must be a symmetric key in the
   * guard's account and region. The dead-letter queue stays SQS-managed (SSE-SQS).
   *
   * @default - a key with rotation, which denies grants except for AWS resources
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * How long the guard and approval functions' logs are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Whether to create the CloudWatch dashboard `AgentGuard`: lock state over time, traffic against the
   * threshold, approvals in force, and the errors of the guard and approval functions and the
   * dead-letter queue.
   *
   * @default true
   */
  readonly dashboard?: boolean;
}

/**
 * Stops AI-agent IAM roles from deleting or recreating production resources while the account is
 * locked. Creates the permission boundary and the guard deny policies; {@link constrain} puts them on
 * a role.
 */
export class AgentGuard extends Construct {
  /** The permission boundary shared by every agent role: the ceiling and the anti-tamper denies. */
  public readonly boundary: iam.ManagedPolicy;
  /** The guard deny policies: the protected catalog, denied unless the role is tagged `agent-guard:state=open`. */
  public readonly guardPolicies: iam.ManagedPolicy[];
  /** The guard function: keeps agent roles' lock state current and constrains new agent roles. */
  public readonly evaluator: lambda.IFunction;
  /** Notices for on-call: denials with the approve command, repairs, state changes, guard failures. */
  public readonly notices: sns.ITopic;
  /** The account status for agents (JSON), rewritten when it changes. */
  public readonly statusParameter: ssm.IStringParameter;
  /** Fires when the guard function fails. */
  public readonly errorAlarm: cloudwatch.IAlarm;
  /** The approval function's URL (IAM auth), when `approvers` are given. */
  public readonly approvalUrl?: string;
  /** The approvals audit table, when `approvers` are given. */
  public readonly approvalsTable?: dynamodb.ITable;
  /** The key that encrypts the notices topic (when the guard creates it), the log groups and the audit table. */
  public readonly encryptionKey: kms.IKey;
  /** The CloudWatch dashboard, unless `dashboard` is false. */
  public readonly dashboard?: cloudwatch.Dashboard;

  private readonly constrained = new Set<iam.Role>();
  private readonly approvals?: ApprovalFunction;
  private readonly managedPoliciesPerRole: number;

  constructor(scope: Construct, id: string, props: AgentGuardProps = {}) {
    super(scope, id);
    Object.defineProperty(this, AGENT_GUARD_MARKER, { value: true });
    this.node.addValidation({ validate: () => this.secondGuardInAccount() });
    const logRetention = validateLogRetention(props.logRetention ?? logs.RetentionDays.ONE_YEAR);
    if (props.noticesTopic) sameEnvironment(this, props.noticesTopic, 'noticesTopic');
    if (props.encryptionKey) sameEnvironment(this, props.encryptionKey, 'encryptionKey');
    const ceilingActions = validateCeiling(props.ceilingActions ?? ['*']);
    this.managedPoliciesPerRole = validateManagedPoliciesPerRole(
      props.managedPoliciesPerRole ?? ROLE_MANAGED_POLICY_QUOTA.default,
    );
    const customGroups = (props.additionalGroups ?? []).map(customGroupSpec);
    const exemptGroups = (props.exemptGroups ?? []).map(builtInGroupName);
    const catalog = resolveCatalog({
      customGroups,
      exemptActions: noTokens(props.exemptActions ?? [], 'exemptActions'),
      exemptGroups,
    });

    const boundaryOptions = (context: { partition: string; account: string }): BoundaryOptions => ({
      ...context,
      guardStackName: Stack.of(this).stackName,
      ceilingActions,
    });
    assertValidPolicies(
      [{ name: BOUNDARY_POLICY_NAME, document: boundaryDocument(boundaryOptions(WORST_CASE_CONTEXT)) }],
      PolicyKind.MANAGED,
    );
    this.boundary = this.managedPolicy(
      'Boundary',
      BOUNDARY_POLICY_NAME,
      boundaryDocument(boundaryOptions({ partition: Aws.PARTITION, account: Aws.ACCOUNT_ID })),
    );
    for (const finding of [
      'AwsSolutions-IAM5[Action::*]',
      'AwsSolutions-IAM5[Resource::*]',
      'cdk-validator-cfnguard::iam_managed_policy_no_statements_with_admin_access_check',
      'cdk-validator-cfnguard::iam_managed_policy_no_statements_with_full_access_check',
    ]) {
      Validations.of(this.boundary).acknowledge({
        id: finding,
        reason:
          'A permission boundary only caps: its ceiling Allow grants nothing by itself, and every agent role ' +
          'still needs its own policies. Narrow it with the ceilingActions prop.',
      });
    }

    const guardPolicyDocuments = compileGuardPolicies({ catalog, policyName: guardPolicyName });
    assertValidPolicies(guardPolicyDocuments, PolicyKind.MANAGED);
    this.guardPolicies = guardPolicyDocuments.map((p, i) => this.managedPolicy(`Deny${i + 1}`, p.name, p.document));
    // Approval versions carry it: after a redeploy that changes these documents, they stand in for none.
    const digest = guardPolicyDigest(guardPolicyDocuments.map((p) => p.document));

    const regions = trafficRegions(Stack.of(this), props.trafficRegions);
    const trafficMetrics = validateTrafficMetrics(props.trafficMetrics ?? defaultTrafficMetrics(Stack.of(this)));
    checkTrafficPartition(Stack.of(this), trafficMetrics, regions);
    if (props.trafficRegions === undefined) this.warnIfOneTrafficRegion(trafficMetrics, regions);
    const live = new GuardFunction(this, 'Live', {
      boundary: this.boundary,
      guardPolicies: this.guardPolicies,
      guardPolicyDigest: digest,
      mode: props.mode ?? GuardMode.ENFORCE,
      production: props.production ?? ProductionSignal.fromAccountTags(),
      trafficMetrics,
      trafficRegions: regions,
      trafficThresholdPerMinute: validateThreshold(props.trafficThresholdPerMinute ?? 5),
      trafficLookback: wholeMinutes(props.trafficLookback ?? Duration.minutes(15), 'trafficLookback', 1440),
      trafficDropHold: wholeMinutes(props.trafficDropHold ?? Duration.hours(1), 'trafficDropHold', 1440),
      schedule: wholeMinutes(props.schedule ?? Duration.minutes(5), 'schedule', 1440),
      statusParameterName: validateStatusParameter(props.statusParameterName ?? DEFAULT_STATUS_PARAMETER),
      extraProtectedActions: customGroups.flatMap((g) => g.actions),
      exemptActions: props.exemptActions ?? [],
      exemptGroups,
      managedPoliciesPerRole: this.managedPoliciesPerRole,
      topic: props.noticesTopic,
      centralNotices: props.centralNotices?._json,
      encryptionKey: props.encryptionKey,
      logRetention,
    });
    this.evaluator = live.function;
    this.encryptionKey = live.key;
    this.notices = live.topic;
    this.statusParameter = live.statusParameter;
    this.errorAlarm = live.errorAlarm;

    let approvalFunction: lambda.IFunction | undefined;
    if (props.approvers !== undefined) {
      const approvals = new ApprovalFunction(this, 'Approvals', {
        guardPolicies: this.guardPolicies,
        guardPolicyDigest: digest,
        topic: live.topic,
        centralNotices: props.centralNotices?._json,
        approvers: validateApprovers(props.approvers),
        requiredApprovals: validateRequiredApprovals(props.requiredApprovals ?? 2),
        maxDuration: wholeMinutes(
          props.maxApprovalDuration ?? Duration.seconds(DEFAULT_MAX_APPROVAL_SECONDS),
          'maxApprovalDuration',
          24 * 60,
        ),
        breakGlassMaxDuration: wholeMinutes(
          props.breakGlassMaxDuration ?? Duration.seconds(DEFAULT_BREAK_GLASS_MAX_SECONDS),
          'breakGlassMaxDuration',
          60,
        ),
        requestTtl: wholeMinutes(props.approvalRequestTtl ?? Duration.hours(1), 'approvalRequestTtl', 24 * 60),
        ticketPattern: validateTicketPattern(props.ticketPattern),
        auditRetention: validateRetention(props.auditRetention ?? Duration.days(365)),
        customGroups,
        exemptActions: props.exemptActions ?? [],
        exemptGroups,
        leaseTable: live.leaseTable,
        encryptionKey: live.key,
        logRetention,
      });
      live.ignoreRoleChangesBy(approvals.role);
      this.approvalUrl = approvals.url.url;
      this.approvalsTable = approvals.table;
      approvalFunction = approvals.function;
      this.approvals = approvals;
    }

    props.centralNotices?._bind(this, [live.function, ...(approvalFunction ? [approvalFunction] : [])]);

    if (props.dashboard ?? true) {
      this.dashboard = new GuardDashboard(this, 'Dashboard', {
        guardFunction: live.function,
        approvalFunction,
        deadLetterQueue: live.deadLetterQueue,
        trafficAlarms: live.trafficAlarms,
        livenessAlarm: live.livenessAlarm,
        trafficThresholdPerMinute: validateThreshold(props.trafficThresholdPerMinute ?? 5),
        period: props.schedule ?? Duration.minutes(5),
      }).dashboard;
    }

    // Uninstall (docs/UNINSTALL.md): on stack delete, whatever could re-constrain a role is deleted first,
    // then the clean-up takes the guard off every principal, then the boundary and guard policies go.
    const uninstall = new UninstallFunction(this, 'Uninstall', {
      boundary: this.boundary,
      guardPolicies: this.guardPolicies,
      encryptionKey: live.key,
      logRetention,
    });
    uninstall.runAfter(...['Live', 'Approvals'].flatMap((id) => this.node.tryFindChild(id) ?? []));

    Tags.of(this).add(COMPONENT_TAG, 'true');
    (props.agentRoles ?? []).forEach((role) => this.constrain(role));
  }

  /**
   * Lets an approver call the approval function URL (approve, revoke, list): `lambda:InvokeFunctionUrl`
   * with IAM auth, and `lambda:InvokeFunction` only when `lambda:InvokedViaFunctionUrl` is true (function
   * URLs created since October 2025 need both). A direct invoke stays refused. The principal must also
   * match one of `approvers`: the function decides who may approve.
   *
   * @param principal the approver's role or user, in this account
   * @throws when the guard has no `approvers`, so no approval function
   */
  public grantApprove(principal: iam.IGrantable): iam.Grant {
    return this.approvalFunction('grantApprove').grantInvokeViaUrl(principal);
  }

  /**
   * Lets an agent role request approvals through the approval function URL: the same two permissions as
   * `grantApprove`, with the same condition. The boundary allows agents exactly this: the URL, never a
   * direct invoke. Agent roles with `lambda:*` in their own policies (AdministratorAccess) need no grant.
   *
   * @param principal the agent role, in this account
   * @throws when the guard has no `approvers`, so no approval function
   */
  public grantRequest(principal: iam.IGrantable): iam.Grant {
    return this.approvalFunction('grantRequest').grantInvokeViaUrl(principal);
  }

  private approvalFunction(method: string): ApprovalFunction {
    if (!this.approvals) {
      throw new Error(
        `${method}(): this guard has no approval function, because no approvers are given. Set the approvers ` +
          'prop to create the approval function and its URL.',
      );
    }
    return this.approvals;
  }

  /**
   * Makes a role an agent role: attaches the boundary and the guard policies, tags it
   * `agent-guard:agent=true`, and adds a trust-policy statement that denies every caller the
   * `agent-guard:*` session tags. It also tags it `agent-guard:constrained=true`, which the boundary
   * requires: the same template puts every guard part on the role. Constraining a role twice changes
   * nothing.
   */
  public constrain(role: iam.IRole): void {
    if (!(role instanceof iam.Role)) {
      throw new Error(
        `constrain(${role.node.path}): only a Role defined in this app can be constrained at synth. ` +
          `Tag an imported role ${AGENT_TAG}=${AGENT_TAG_VALUE} and the guard constrains it at run time.`,
      );
    }
    if (this.constrained.has(role)) return;
    if (role.permissionsBoundary && role.permissionsBoundary !== this.boundary) {
      throw new Error(
        `constrain(${role.node.path}): the role already has a permissions boundary. An agent role's boundary must ` +
          `be the guard's (${BOUNDARY_POLICY_NAME}); remove the other one, or fold its limits into ceilingActions.`,
      );
    }
    this.constrained.add(role);
    iam.PermissionsBoundary.of(role).apply(this.boundary);
    this.guardPolicies.forEach((policy) => role.addManagedPolicy(policy));
    Tags.of(role).add(AGENT_TAG, AGENT_TAG_VALUE);
    Tags.of(role).add(CONSTRAINED_TAG, CONSTRAINED_TAG_VALUE);
    role.assumeRolePolicy?.addStatements(iam.PolicyStatement.fromJson(TRUST_DENY_STATEMENT));
    const quota: ManagedPolicyRoom = {
      quota: this.managedPoliciesPerRole,
      guardPolicies: this.guardPolicies.length,
      approvalPolicies: this.approvals ? MAX_APPROVAL_POLICIES : 0,
    };
    role.node.addValidation({ validate: () => managedPolicyQuotaProblems(role, quota) });
  }

  /** A guard that reads its own region only misses an account that serves from another (CW-5). */
  private warnIfOneTrafficRegion(metrics: readonly TrafficMetric[], regions: readonly string[]): void {
    const stack = Stack.of(this);
    const read = metrics.flatMap((metric) => metricRegions(metric, regions));
    if (read.every((region) => isGuardRegion(stack, region))) {
      Annotations.of(this).addWarningV2(
        TRAFFIC_ONE_REGION_WARNING,
        'The guard reads traffic in its own region only. CloudWatch metrics are regional: if the account serves ' +
          "from other regions too, name them all in trafficRegions (e.g. ['us-east-1', 'eu-west-1']), or the " +
          "account counts as idle and its agent roles open. Set trafficRegions to the guard's region to silence this.",
      );
    }
  }

  /** Names are global in an account (IAM roles and policies, SSM parameters, the table...): one guard each. */
  private secondGuardInAccount(): string[] {
    const account = accountKey(this);
    const first = this.node.root.node
      .findAll()
      .find((c): c is AgentGuard => isAgentGuard(c) && accountKey(c) === account);
    if (first === undefined || first === this) return [];
    const where =
      account === ENV_AGNOSTIC ? 'two env-agnostic stacks (they deploy wherever the CLI points)' : `account ${account}`;
    return [
      `${this.node.path} is a second AgentGuard for ${where}; the first is ${first.node.path}. One guard guards a ` +
        'whole account, and its IAM roles and policies, SSM parameters, table, schedule group and functions have ' +
        'fixed names, so a second one fails at deploy. Keep one AgentGuard per account: put each in its own ' +
        'stack with its own account in `env`, or deploy one stack to many accounts with StackSets.',
    ];
  }

  private managedPolicy(id: string, name: string, document: PolicyDocumentJson): iam.ManagedPolicy {
    const policy = new iam.ManagedPolicy(this, id, {
      managedPolicyName: name,
      path: GUARD_PATH,
      document: iam.PolicyDocument.fromJson(document),
    });
    return policy;
  }
}

const AGENT_GUARD_MARKER = Symbol.for('agent-guard.AgentGuard');

const ENV_AGNOSTIC = 'env-agnostic';

/** Also true for a guard made by another copy of this library in node_modules. */
function isAgentGuard(x: unknown): x is AgentGuard {
  return typeof x === 'object' && x !== null && AGENT_GUARD_MARKER in x;
}

function accountKey(guard: Construct): string {
  const account = Stack.of(guard).account;
  return Token.isUnresolved(account) ? ENV_AGNOSTIC : account;
}

function validateLogRetention(retention: logs.RetentionDays): logs.RetentionDays {
  if (!Object.values(logs.RetentionDays).includes(retention)) {
    throw new Error(
      `logRetention ${retention} is not a CloudWatch Logs retention; use a logs.RetentionDays value, such as logs.RetentionDays.ONE_YEAR.`,
    );
  }
  return retention;
}

/** A topic or key in another account or region cannot serve the guard: alarms and log groups need their own. */
function sameEnvironment(guard: Construct, resource: kms.IKey | sns.ITopic, prop: string): void {
  const stack = Stack.of(guard);
  for (const part of ['account', 'region'] as const) {
    const theirs = resource.env[part];
    const ours = stack[part];
    if (!Token.isUnresolved(theirs) && !Token.isUnresolved(ours) && theirs !== ours) {
      throw new Error(
        `${prop} is in ${part} ${theirs}, but the guard's stack is in ${ours}. CloudWatch alarms notify topics, and ` +
          `CloudWatch Logs uses keys, of their own account and region only: pass a ${prop} from ${ours}.`,
      );
    }
  }
}

function customGroupSpec(group: ActionGroup): { name: string; actions: string[] } {
  if (!group.customActions) {
    throw new Error(
      `additionalGroups: '${group.name}' is a built-in group and is always protected; pass only ActionGroup.custom(...) groups.`,
    );
  }
  return { name: group.name, actions: noTokens(group.customActions, `group '${group.name}'`) };
}

function builtInGroupName(group: ActionGroup): string {
  if (group.customActions) {
    throw new Error(
      `exemptGroups: '${group.name}' is a group of your own; to stop protecting it, leave it out of additionalGroups.`,
    );
  }
  return group.name;
}

function noTokens(values: string[], where: string): string[] {
  if (values.some((v) => Token.isUnresolved(v))) {
    throw new Error(
      `${where}: use literal action names, not tokens; the guard sizes and checks its policies at synth.`,
    );
  }
  return values;
}

function validateCeiling(actions: string[]): string[] {
  noTokens(actions, 'ceilingActions');
  if (actions.length === 0) {
    throw new Error(
      "ceilingActions is empty, so agent roles could do nothing. Give at least one action, or leave it out for ['*'].",
    );
  }
  actions.filter((a) => a !== '*').forEach((a) => expandActionPattern(a, 'ceilingActions'));
  return actions;
}

function validateTrafficMetrics(metrics: TrafficMetric[]): TrafficMetric[] {
  if (metrics.length === 0) {
    throw new Error(
      'trafficMetrics is empty, so the account would never count as serving traffic and never lock. ' +
        'Give at least one metric, or leave it out for TrafficMetric.defaults().',
    );
  }
  const labels = metrics.map((m) => m.label);
  const twice = labels.find((label, i) => labels.indexOf(label) !== i);
  if (twice)
    throw new Error(`trafficMetrics: the label '${twice}' is used twice; labels name alarms, so make them unique.`);
  if (metrics.length > 50) throw new Error(`trafficMetrics: ${metrics.length} metrics; give at most 50.`);
  return metrics;
}

function validateThreshold(threshold: number): number {
  if (!Number.isFinite(threshold) || threshold < 0) {
    throw new Error(`trafficThresholdPerMinute must be a number of requests per minute, 0 or more, not ${threshold}.`);
  }
  return threshold;
}

function wholeMinutes(duration: Duration, name: string, max: number): Duration {
  if (duration.isUnresolved()) throw new Error(`${name} must be a literal duration, not a token.`);
  const minutes = duration.toMinutes({ integral: false });
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > max) {
    throw new Error(`${name} must be whole minutes from 1 to ${max}, not ${duration.toHumanString()}.`);
  }
  return duration;
}

function validateStatusParameter(name: string): string {
  if (
    Token.isUnresolved(name) ||
    !name.startsWith(GUARD_PATH) ||
    !/^[A-Za-z0-9_.\-/]+$/.test(name) ||
    name.length > 1011
  ) {
    throw new Error(
      `statusParameterName '${name}' must be a literal SSM parameter name under ${GUARD_PATH} ` +
        `(letters, digits and _ . - /), where the boundary keeps agents from writing it; for example ${DEFAULT_STATUS_PARAMETER}.`,
    );
  }
  return name;
}

const PRINCIPAL_PATTERN = /^arn:aws[a-z-]*:iam::(\d{12}|\*):(role|user)\/[\w+=,.@/*?-]+$/;

function validateApprovers(approvers: string[]): string[] {
  if (approvers.length === 0) {
    throw new Error(
      'approvers is empty, so nobody could approve. Name at least one on-call role, or leave the prop out.',
    );
  }
  for (const approver of approvers) {
    if (Token.isUnresolved(approver) || !PRINCIPAL_PATTERN.test(approver)) {
      throw new Error(
        `approvers: '${approver}' must be a literal IAM role or user ARN pattern, such as arn:aws:iam::111122223333:role/OnCall*.`,
      );
    }
  }
  return approvers;
}

function validateManagedPoliciesPerRole(quota: number): number {
  const { default: min, max } = ROLE_MANAGED_POLICY_QUOTA;
  if (!Number.isInteger(quota) || quota < min || quota > max) {
    throw new Error(
      `managedPoliciesPerRole must be a whole number from ${min} (IAM's default) to ${max} (its maximum), not ${quota}.`,
    );
  }
  return quota;
}

function validateRequiredApprovals(count: number): number {
  if (!Number.isInteger(count) || count < 1 || count > 5) {
    throw new Error(`requiredApprovals must be a whole number from 1 to 5, not ${count}; 2 is the two-person rule.`);
  }
  return count;
}

function validateTicketPattern(pattern: string | undefined): string | undefined {
  if (pattern === undefined) return undefined;
  try {
    new RegExp(pattern);
  } catch {
    throw new Error(`ticketPattern '${pattern}' is not a valid regular expression.`);
  }
  return pattern;
}

function validateRetention(retention: Duration): Duration {
  const days = retention.toDays({ integral: false });
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new Error(`auditRetention must be whole days from 1 to 3650, not ${retention.toHumanString()}.`);
  }
  return retention;
}

/** What a role's managed-policy places must hold besides its own policies. */
interface ManagedPolicyRoom {
  readonly quota: number;
  readonly guardPolicies: number;
  /** The most approval versions a role holds at once; 0 without approvals. */
  readonly approvalPolicies: number;
}

/**
 * A swap attaches the approval versions before it detaches the standard policies they stand in for,
 * and never holds more than the standard set and one set's worth of versions at once, so at worst a
 * role holds its own policies, the guard policies and the most approval versions a set may have.
 */
function managedPolicyQuotaProblems(role: iam.Role, room: ManagedPolicyRoom): string[] {
  const cfnRole = role.node.defaultChild as CfnResource;
  const arns: unknown = Stack.of(role).resolve((cfnRole as iam.CfnRole).managedPolicyArns);
  const own = (Array.isArray(arns) ? arns.length : 0) - room.guardPolicies;
  const swap = room.guardPolicies + room.approvalPolicies;
  const worst = own + swap;
  if (worst <= room.quota) return [];
  const during =
    room.approvalPolicies > 0
      ? `an approval swap, which holds the ${room.guardPolicies} guard policies and up to ${room.approvalPolicies} ` +
        `approval versions at once (${swap} guard places)`
      : `the ${room.guardPolicies} guard policies`;
  return [
    `${role.node.path} needs ${worst} managed policies at worst: its own ${own} and ${during}. That is over the ` +
      `quota of ${room.quota} per role (managedPoliciesPerRole). Merge some of its policies, or raise the ` +
      `account's quota (up to ${ROLE_MANAGED_POLICY_QUOTA.max}) and set managedPoliciesPerRole.`,
  ];
}
