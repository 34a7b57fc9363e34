import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import {
  AGENT_TAG,
  AGENT_TAG_VALUE,
  APPROVAL_POLICY_PREFIX,
  APPROVAL_TAG,
  APPROVALS_URL_PARAMETER,
  GUARD_NAME_PREFIX,
  GUARD_PATH,
  SCHEDULE_GROUP,
} from './core/contract';
import {
  APPROVALS_CONFIG_ENV,
  ApprovalsConfig,
  APPROVALS_STATUS_INDEX,
  CentralNoticesTarget,
  EXPIRY_SCHEDULE_PREFIX,
} from './core/config';
import { guardNodejsFunction } from './guard-nodejs-function';
import { grantRoleLeases } from './role-lease-table';
import { ALARM_PERIOD, onCallAlarm } from './on-call-alarm';

export interface ApprovalFunctionProps {
  readonly guardPolicies: readonly iam.ManagedPolicy[];
  /** The digest of the standard guard policies' documents (guard-digest.ts). */
  readonly guardPolicyDigest: string;
  readonly topic: sns.ITopic;
  /** Where a copy of each notice goes as well; the caller grants the role. */
  readonly centralNotices?: CentralNoticesTarget;
  readonly approvers: readonly string[];
  readonly requiredApprovals: number;
  readonly maxDuration: Duration;
  readonly breakGlassMaxDuration: Duration;
  readonly requestTtl: Duration;
  readonly ticketPattern?: string;
  readonly auditRetention: Duration;
  readonly customGroups: readonly { name: string; actions: string[] }[];
  readonly exemptActions: readonly string[];
  /** Built-in groups taken out of the catalog; empty for none. */
  readonly exemptGroups: readonly string[];
  /** The guard's per-role leases; the approval function writes a role only while it holds its lease. */
  readonly leaseTable: dynamodb.ITable;
  /** Encrypts the audit table and the log group. */
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The approval function behind an IAM-authenticated function URL, with its audit table, expiry
 * schedules, reconcile schedule and least-privilege role.
 */
export class ApprovalFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly url: lambda.FunctionUrl;
  public readonly table: dynamodb.Table;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ApprovalFunctionProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.table = new dynamodb.Table(this, 'Audit', {
      tableName: `${GUARD_NAME_PREFIX}Approvals`,
      partitionKey: { name: 'approvalId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      timeToLiveAttribute: 'ttl',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: APPROVALS_STATUS_INDEX,
      partitionKey: { name: 'status', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sortAt', type: dynamodb.AttributeType.STRING },
    });

    const group = new scheduler.CfnScheduleGroup(this, 'Schedules', { name: SCHEDULE_GROUP });
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      path: GUARD_PATH,
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: 'agent-guard: lets the one-shot expiry schedules invoke the approval function',
    });

    const { function: fn, role } = guardNodejsFunction(this, 'Function', {
      functionName: `${GUARD_NAME_PREFIX}Approvals`,
      description: 'agent-guard: time-boxed approvals for AI-agent roles',
      roleDescription: 'agent-guard: the approval function; swaps the guard policies of agent roles',
      handler: 'approvals',
      timeout: Duration.minutes(2),
      logRetention: props.logRetention,
      logEncryptionKey: props.encryptionKey,
      environment: {
        [APPROVALS_CONFIG_ENV]: stack.toJsonString({
          accountId: Aws.ACCOUNT_ID,
          approvers: [...props.approvers],
          requiredApprovals: props.requiredApprovals,
          maxDurationSeconds: props.maxDuration.toSeconds(),
          breakGlassMaxSeconds: props.breakGlassMaxDuration.toSeconds(),
          requestTtlSeconds: props.requestTtl.toSeconds(),
          ticketPattern: props.ticketPattern,
          retentionDays: props.auditRetention.toDays(),
          tableName: this.table.tableName,
          leaseTableName: props.leaseTable.tableName,
          topicArn: props.topic.topicArn,
          centralNotices: props.centralNotices,
          scheduleGroup: SCHEDULE_GROUP,
          schedulerRoleArn: schedulerRole.roleArn,
          guardPolicyArns: props.guardPolicies.map((p) => p.managedPolicyArn),
          guardPolicyDigest: props.guardPolicyDigest,
          customGroups: [...props.customGroups],
          exemptActions: [...props.exemptActions],
          exemptGroups: props.exemptGroups.length > 0 ? [...props.exemptGroups] : undefined,
        } satisfies ApprovalsConfig),
        POWERTOOLS_SERVICE_NAME: 'agent-guard-approvals',
      },
    });
    this.function = fn;
    this.role = role;
    this.function.node.addDependency(group);
    schedulerRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.function.functionArn] }),
    );

    this.url = this.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
    new ssm.StringParameter(this, 'UrlParameter', {
      parameterName: APPROVALS_URL_PARAMETER,
      description: 'agent-guard: the approval function URL, for the agent-guard CLI',
      stringValue: this.url.url,
    });

    new events.Rule(this, 'Reconcile', {
      ruleName: `${GUARD_NAME_PREFIX}ApprovalsReconcile`,
      description: 'agent-guard: end due approvals and repair half-done policy swaps, towards locked',
      schedule: events.Schedule.rate(Duration.minutes(5)),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 2 })],
    });
    this.function.addPermission('SingleUseRules', {
      principal: new iam.ServicePrincipal('events.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceArn: stack.formatArn({ service: 'events', resource: 'rule', resourceName: `${GUARD_NAME_PREFIX}Use-*` }),
      sourceAccount: Aws.ACCOUNT_ID,
    });
    Validations.of(this.function).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
      reason:
        'Not public: only EventBridge rules named AgentGuardUse-* in this account and region (SourceArn and ' +
        'SourceAccount are both set). The rule reads neither, since they are built from AWS::AccountId.',
    });

    this.grantApprovalPermissions(props, schedulerRole);
    grantRoleLeases(props.leaseTable, props.encryptionKey, this.role, { lockDecisions: false });
    onCallAlarm(this, 'ErrorAlarm', {
      alarmName: `${GUARD_NAME_PREFIX}ApprovalsErrors`,
      alarmDescription:
        'agent-guard: the approval function failed; expiries and repairs may be late (IAM still expires).',
      metric: this.function.metricErrors({ period: ALARM_PERIOD }),
      topic: props.topic,
    });
  }

  /**
   * Lets `principal` call the function URL: `lambda:InvokeFunctionUrl` with IAM auth, and (since October
   * 2025 a function URL needs it too) `lambda:InvokeFunction` only through the URL
   * (`lambda:InvokedViaFunctionUrl` true), as CDK's `grantInvokeUrl` does. A direct invoke, which lacks
   * the key, is not granted: its event, and so the caller identity, is forgeable. The grant is an
   * identity-policy statement, which with AWS_IAM auth suffices for a principal in the function's account,
   * so the function's resource policy stays without an invoke statement for any caller.
   */
  public grantInvokeViaUrl(principal: iam.IGrantable): iam.Grant {
    const url = iam.Grant.addToPrincipal({
      grantee: principal,
      actions: ['lambda:InvokeFunctionUrl'],
      resourceArns: [this.function.functionArn],
      conditions: { StringEquals: { 'lambda:FunctionUrlAuthType': lambda.FunctionUrlAuthType.AWS_IAM } },
    });
    const invoke = iam.Grant.addToPrincipal({
      grantee: principal,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [this.function.functionArn],
      conditions: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
    });
    return url.combine(invoke);
  }

  private grantApprovalPermissions(props: ApprovalFunctionProps, schedulerRole: iam.Role): void {
    const stack = Stack.of(this);
    const roles = stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: '*' });
    const approvalPolicies = stack.formatArn({
      service: 'iam',
      region: '',
      resource: 'policy',
      resourceName: `${GUARD_PATH.slice(1)}${APPROVAL_POLICY_PREFIX}-*`,
    });
    const agentRolesOnly = { StringEquals: { [`iam:ResourceTag/${AGENT_TAG}`]: AGENT_TAG_VALUE } };
    const guardPolicyArns = [approvalPolicies, ...props.guardPolicies.map((p) => p.managedPolicyArn)];
    const policy = new iam.Policy(this, 'Permissions', {
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadRoles',
          actions: ['iam:GetRole', 'iam:ListAttachedRolePolicies'],
          resources: [roles],
        }),
        new iam.PolicyStatement({
          sid: 'ApprovalPolicies',
          actions: ['iam:CreatePolicy', 'iam:DeletePolicy', 'iam:TagPolicy', 'iam:ListEntitiesForPolicy'],
          resources: [approvalPolicies],
        }),
        new iam.PolicyStatement({ sid: 'FindApprovalPolicies', actions: ['iam:ListPolicies'], resources: ['*'] }),
        new iam.PolicyStatement({
          sid: 'SwapGuardPoliciesOnAgentRoles',
          actions: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'],
          resources: [roles],
          conditions: { ...agentRolesOnly, ArnLike: { 'iam:PolicyARN': guardPolicyArns } },
        }),
        new iam.PolicyStatement({
          sid: 'ApprovalTagOnly',
          actions: ['iam:TagRole', 'iam:UntagRole'],
          resources: [roles],
          conditions: {
            ...agentRolesOnly,
            'ForAllValues:StringEquals': { 'aws:TagKeys': [APPROVAL_TAG] },
            Null: { 'aws:TagKeys': 'false' },
          },
        }),
        new iam.PolicyStatement({
          sid: 'ExpirySchedules',
          actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'],
          resources: [
            stack.formatArn({
              service: 'scheduler',
              resource: 'schedule',
              resourceName: `${SCHEDULE_GROUP}/${EXPIRY_SCHEDULE_PREFIX}*`,
            }),
          ],
        }),
        new iam.PolicyStatement({
          sid: 'PassSchedulerRole',
          actions: ['iam:PassRole'],
          resources: [schedulerRole.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        }),
        new iam.PolicyStatement({
          sid: 'SingleUseRules',
          actions: ['events:PutRule', 'events:PutTargets', 'events:RemoveTargets', 'events:DeleteRule'],
          resources: [
            stack.formatArn({ service: 'events', resource: 'rule', resourceName: `${GUARD_NAME_PREFIX}Use-*` }),
          ],
        }),
      ],
    });
    policy.attachToRole(this.role);
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
        resources: [this.table.tableArn, `${this.table.tableArn}/index/${APPROVALS_STATUS_INDEX}`],
      }),
    );
    // The table is encrypted with the key: DynamoDB uses it on the caller's behalf.
    props.encryptionKey.grant(this.role, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:DescribeKey');
    props.topic.grantPublish(this.role);
    const why =
      'Agent roles have any name, so the role writes name role/* but are held by conditions: only roles tagged ' +
      `${AGENT_TAG}=${AGENT_TAG_VALUE}, only the ${APPROVAL_TAG} tag, only guard and approval policies. Approval ` +
      'policies, schedules and single-use rules are created at run time under the AgentGuard prefix; ListPolicies has no resource.';
    for (const finding of [
      'Resource::*',
      'Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*',
      `Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/agent-guard/${APPROVAL_POLICY_PREFIX}-*`,
      `Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${SCHEDULE_GROUP}/${EXPIRY_SCHEDULE_PREFIX}*`,
      `Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/${GUARD_NAME_PREFIX}Use-*`,
    ]) {
      Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: why });
    }
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Publishing to the encrypted notices topic, and reading and writing the encrypted audit table, need data ' +
        'keys of the guard key alone.',
    });
  }
}
