import { Aws, CfnRule, Duration, Fn, Lazy, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import {
  AGENT_TAG,
  AGENT_TAG_VALUE,
  CONSTRAINED_TAG,
  GUARD_NAME_PREFIX,
  GUARD_PATH,
  GUARD_SCHEDULE_RULE_NAME,
  GUARD_SERVICE_NAME,
  METRICS_NAMESPACE,
  STATE_LOCKED,
  STATE_TAG,
} from './core/contract';
import { ACCESS_DENIED_CODES, ROLE_EVENT_NAMES } from './core/guard-events';
import { GuardMode } from './guard-mode';
import { ProductionSignal } from './production-signal';
import { guardNodejsFunction } from './guard-nodejs-function';
import { grantRoleLeases, roleLeaseTable } from './role-lease-table';
import { ALARM_PERIOD, onCallAlarm } from './on-call-alarm';
import { TrafficMetric } from './traffic-metric';
import { isGuardRegion, metricRegions, trafficQueries } from './traffic-plan';
import { guardMetric } from './guard-metric';
import { CentralNoticesTarget, GUARD_CONFIG_ENV, GuardConfig, GuardModeName } from './core/config';

/** Schedules without an evaluation before the liveness alarm fires. */
const LIVENESS_SCHEDULES = 3;

/** Regions where CloudTrail delivers the events of IAM, a global service, to EventBridge. */
export const IAM_EVENT_REGIONS = ['us-east-1', 'us-gov-west-1', 'cn-north-1'];

/** Concurrent denial batches at most: the least `MaximumConcurrency` an SQS event source takes (LAM-5). */
const DENIAL_CONCURRENCY = 2;
/** How long a denial may wait in its queue before SQS deletes it. */
const DENIAL_RETENTION = Duration.hours(1);

/**
 * The AccessDenied rule's pattern. CloudTrail events only (an `aws.` source, which `PutEvents` cannot
 * write, EB-2), of assumed-role sessions, whose error message names a policy under the guard path:
 * IAM names the denying policy's ARN in the message (IAM-39). EC2 answers with an encoded message that
 * names no policy (IAM-40), so its denials match on the error code, and the function checks the
 * action against the catalog.
 */
function accessDeniedPattern(): events.EventPattern {
  return {
    source: events.Match.prefix('aws.'),
    detailType: ['AWS API Call via CloudTrail'],
    detail: {
      userIdentity: { type: ['AssumedRole'] },
      $or: [
        { errorCode: [...ACCESS_DENIED_CODES], errorMessage: [{ wildcard: `*:policy${GUARD_PATH}*` }] },
        { eventSource: ['ec2.amazonaws.com'], errorCode: ['Client.UnauthorizedOperation'] },
      ],
    },
  };
}

export interface GuardFunctionProps {
  readonly boundary: iam.ManagedPolicy;
  readonly guardPolicies: readonly iam.ManagedPolicy[];
  /** The digest of the standard guard policies' documents (guard-digest.ts). */
  readonly guardPolicyDigest: string;
  readonly mode: GuardMode;
  readonly production: ProductionSignal;
  readonly trafficMetrics: readonly TrafficMetric[];
  /** Where metrics without a region are read. */
  readonly trafficRegions: readonly string[];
  readonly trafficThresholdPerMinute: number;
  readonly trafficLookback: Duration;
  readonly trafficDropHold: Duration;
  readonly schedule: Duration;
  readonly statusParameterName: string;
  readonly extraProtectedActions: readonly string[];
  readonly exemptActions: readonly string[];
  /** Built-in groups taken out of the catalog; empty for none. */
  readonly exemptGroups: readonly string[];
  /** The account's quota of managed policies per role. */
  readonly managedPoliciesPerRole: number;
  /** The notices topic to use instead of creating one. */
  readonly topic?: sns.ITopic;
  /** Where a copy of each notice goes as well; the caller grants the role. */
  readonly centralNotices?: CentralNoticesTarget;
  /** The key to encrypt with instead of creating one. */
  readonly encryptionKey?: kms.IKey;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The live half of the guard: the function that keeps every agent role's lock state current and
 * constrains new agent roles, with its triggers, alarms, status parameter, notices and dead letters.
 */
export class GuardFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly topic: sns.ITopic;
  /** Encrypts the notices topic (when the guard creates it), the log groups and the audit table. */
  public readonly key: kms.IKey;
  public readonly statusParameter: ssm.StringParameter;
  public readonly deadLetterQueue: sqs.Queue;
  /** The per-role leases that serialise the writes of the guard and the approval function to a role. */
  public readonly leaseTable: dynamodb.Table;
  /** Denials wait here for the guard function, apart from the events that lock roles. */
  public readonly denialQueue: sqs.Queue;
  public readonly trafficAlarms: cloudwatch.Alarm[];
  public readonly errorAlarm: cloudwatch.Alarm;
  /** Fires when the guard has not evaluated for three schedules. */
  public readonly livenessAlarm: cloudwatch.Alarm;
  /** Roles whose IAM writes the role-change rule ignores: the guard's own, which would only call it back. */
  private readonly quietWriters: iam.IRole[] = [];

  constructor(scope: Construct, id: string, props: GuardFunctionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.assertIamEventRegion(stack);

    this.key = props.encryptionKey ?? this.createKey();
    allowServicesToUseKey(this, this.key);
    this.topic =
      props.topic ??
      new sns.Topic(this, 'Notices', {
        topicName: `${GUARD_NAME_PREFIX}Notices`,
        displayName: 'agent-guard notices',
        masterKey: this.key,
        enforceSSL: true,
      });

    this.statusParameter = new ssm.StringParameter(this, 'Status', {
      parameterName: props.statusParameterName,
      description: 'agent-guard: the account status for AI agents (JSON); written by the guard function',
      stringValue: JSON.stringify({ schemaVersion: 0, note: 'The guard has not evaluated this account yet.' }),
    });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      queueName: `${GUARD_NAME_PREFIX}DeadLetters`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    for (const id of ['AwsSolutions-SQS3', 'cdk-validator-cfnguard::sqs_dlq_check']) {
      Validations.of(this.deadLetterQueue).acknowledge({
        id,
        reason: 'This queue is the dead-letter queue of the guard function and its rules; it needs none of its own.',
      });
    }

    this.leaseTable = roleLeaseTable(this, 'RoleLeases', this.key);

    const queries = trafficQueries(props.trafficMetrics, props.trafficRegions);
    const { function: fn, role } = guardNodejsFunction(this, 'Function', {
      functionName: `${GUARD_NAME_PREFIX}Evaluator`,
      description: 'agent-guard: locks AI-agent roles while the account is production with live traffic',
      roleDescription: 'agent-guard: the guard function; writes the lock state and guard parts of agent roles only',
      handler: 'guard',
      timeout: Duration.minutes(5),
      logRetention: props.logRetention,
      logEncryptionKey: this.key,
      onFailure: new SqsDestination(this.deadLetterQueue),
      environment: {
        [GUARD_CONFIG_ENV]: stack.toJsonString({
          accountId: Aws.ACCOUNT_ID,
          mode: props.mode.name as GuardModeName,
          scheduleMinutes: props.schedule.toMinutes(),
          production: props.production._json,
          productionCacheSeconds: 900,
          traffic: {
            queries,
            thresholdPerMinute: props.trafficThresholdPerMinute,
            lookbackMinutes: props.trafficLookback.toMinutes(),
            dropHoldMinutes: props.trafficDropHold.toMinutes(),
          },
          boundaryArn: props.boundary.managedPolicyArn,
          guardPolicyArns: props.guardPolicies.map((p) => p.managedPolicyArn),
          guardPolicyDigest: props.guardPolicyDigest,
          managedPoliciesPerRole: props.managedPoliciesPerRole,
          extraProtectedActions: [...props.extraProtectedActions],
          exemptActions: [...props.exemptActions],
          exemptGroups: props.exemptGroups.length > 0 ? [...props.exemptGroups] : undefined,
          statusParameterName: props.statusParameterName,
          topicArn: this.topic.topicArn,
          centralNotices: props.centralNotices,
          concurrency: 8,
          leaseTableName: this.leaseTable.tableName,
        } satisfies GuardConfig),
        POWERTOOLS_SERVICE_NAME: GUARD_SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    });
    this.function = fn;
    this.grantGuardPermissions(role, props);
    grantRoleLeases(this.leaseTable, this.key, role, { lockDecisions: true });

    this.trafficAlarms = this.createTrafficAlarms(stack, props);
    this.quietWriters.push(role);
    this.denialQueue = this.createDenialQueue();
    this.wireTriggers(props.schedule);
    this.wireDenials();

    this.errorAlarm = onCallAlarm(this, 'ErrorAlarm', {
      alarmName: `${GUARD_NAME_PREFIX}Errors`,
      alarmDescription: 'agent-guard: the guard function failed; agent roles may hold a stale lock state.',
      metric: this.function.metricErrors({ period: ALARM_PERIOD }),
      topic: this.topic,
    });
    this.livenessAlarm = this.createLivenessAlarm(props.schedule);
    onCallAlarm(this, 'DeadLetterAlarm', {
      alarmName: `${GUARD_NAME_PREFIX}DeadLetters`,
      alarmDescription: 'agent-guard: events reached the dead-letter queue; the guard missed them.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: ALARM_PERIOD }),
      topic: this.topic,
    });
  }

  /**
   * Every evaluation counts `Evaluations` (EMF); a schedule with none means the guard is not running.
   * Missing data is breaching, since a dead guard publishes nothing. Three schedules fit CloudWatch's
   * evaluation range for every schedule the construct accepts (CW-9).
   */
  private createLivenessAlarm(schedule: Duration): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, 'LivenessAlarm', {
      alarmName: `${GUARD_NAME_PREFIX}NotEvaluating`,
      alarmDescription:
        `agent-guard: the guard has not evaluated the account for ${LIVENESS_SCHEDULES} schedules; agent roles ` +
        'keep their last lock state and new agent roles are not constrained.',
      metric: guardMetric('Evaluations', 'Sum', schedule),
      threshold: 1,
      evaluationPeriods: LIVENESS_SCHEDULES,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    alarm.addAlarmAction(new cwActions.SnsAction(this.topic));
    return alarm;
  }

  private createKey(): kms.Key {
    const key = new kms.Key(this, 'NoticesKey', {
      description: 'agent-guard: encrypts the notices topic, the guard log groups and the approvals table',
      enableKeyRotation: true,
      // The audit table and the log groups outlive the stack (RETAIN); so must the key that can read them.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Grants only for AWS resources (DynamoDB makes its own for the table): nobody hands this key out.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'GrantsOnlyForAwsResources',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: {
          BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
        },
      }),
    );
    return key;
  }

  /** IAM is global: CloudTrail hands its events to EventBridge in one region per partition only. */
  private assertIamEventRegion(stack: Stack): void {
    if (!Token.isUnresolved(stack.region)) {
      if (!IAM_EVENT_REGIONS.includes(stack.region)) {
        throw new Error(
          `AgentGuard must be deployed in ${IAM_EVENT_REGIONS.join(', ')} (one per partition), not ${stack.region}: ` +
            'CloudTrail delivers IAM events to EventBridge there only, and the guard reacts to them.',
        );
      }
      return;
    }
    new CfnRule(this, 'IamEventRegion', {
      assertions: [
        {
          assert: Fn.conditionContains(IAM_EVENT_REGIONS, Aws.REGION),
          assertDescription: `AgentGuard must be deployed in ${IAM_EVENT_REGIONS.join(', ')}, where IAM events arrive.`,
        },
      ],
    });
  }

  /** Alarms on the metrics of this region, so traffic locks at once instead of at the next poll. */
  private createTrafficAlarms(stack: Stack, props: GuardFunctionProps): cloudwatch.Alarm[] {
    return props.trafficMetrics
      .filter((metric) => metricRegions(metric, props.trafficRegions).some((region) => isGuardRegion(stack, region)))
      .map(
        (metric) =>
          new cloudwatch.Alarm(this, `Traffic${metric.label}`, {
            alarmName: `${GUARD_NAME_PREFIX}Traffic-${metric.label}`,
            alarmDescription: `agent-guard: live traffic (${metric.label}); its state changes make the guard re-evaluate.`,
            metric: new cloudwatch.MathExpression({
              expression: metric.query,
              label: metric.label,
              period: Duration.minutes(1),
            }),
            threshold: props.trafficThresholdPerMinute,
            evaluationPeriods: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
      )
      .map((alarm) => {
        Validations.of(alarm).acknowledge({
          id: 'cdk-validator-cfnguard::cloudwatch_alarm_action_check',
          reason:
            'A traffic alarm is a trigger, not a page: EventBridge sends its state changes to the guard function ' +
            '(rule AlarmChanges). An SNS action would tell on-call every time traffic starts or stops.',
        });
        return alarm;
      });
  }

  /** Another guard role whose writes to agent roles need no re-evaluation (the approval function's). */
  public ignoreRoleChangesBy(role: iam.IRole): void {
    this.quietWriters.push(role);
  }

  private wireTriggers(schedule: Duration): void {
    const target = new targets.LambdaFunction(this.function, {
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 4,
      maxEventAge: Duration.hours(2),
    });
    const rule = (id: string, props: Omit<events.RuleProps, 'targets'>) =>
      new events.Rule(this, id, { ...props, targets: [target] });

    rule('Schedule', {
      ruleName: GUARD_SCHEDULE_RULE_NAME,
      description: 'agent-guard: the periodic sweep of every agent role',
      schedule: events.Schedule.rate(schedule),
    });
    if (this.trafficAlarms.length > 0) {
      rule('AlarmChanges', {
        ruleName: `${GUARD_NAME_PREFIX}AlarmChanges`,
        description: 'agent-guard: re-evaluate when live traffic starts or stops',
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          resources: this.trafficAlarms.map((a) => a.alarmArn),
        },
      });
    }
    rule('RoleChanges', {
      ruleName: `${GUARD_NAME_PREFIX}RoleChanges`,
      description: 'agent-guard: constrain new agent roles and restore removed guard parts at once',
      eventPattern: {
        source: ['aws.iam'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['iam.amazonaws.com'],
          eventName: [...ROLE_EVENT_NAMES],
          // Not the guard's own writes, which would only call it back to find nothing to do.
          $or: [
            { userIdentity: { type: [{ 'anything-but': 'AssumedRole' }] } },
            {
              userIdentity: {
                sessionContext: {
                  sessionIssuer: {
                    arn: [{ 'anything-but': Lazy.list({ produce: () => this.quietWriters.map((r) => r.roleArn) }) }],
                  },
                },
              },
            },
          ],
        },
      },
    });
  }

  /**
   * Denials get their own path: the rule fills a queue that the function drains through an event source
   * mapping of at most {@link DENIAL_CONCURRENCY} concurrent batches, so a flood of denials waits (or is
   * shed) there and cannot take the invocations that lock roles. No reserved concurrency is needed.
   */
  private createDenialQueue(): sqs.Queue {
    return new sqs.Queue(this, 'Denials', {
      queueName: `${GUARD_NAME_PREFIX}Denials`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // A backlog older than this is deleted unread (SQS-2): a flood is shed, not queued for days.
      retentionPeriod: DENIAL_RETENTION,
      // Lambda's advice for an SQS event source: six times the function timeout (LAM-7).
      visibilityTimeout: Duration.seconds(this.function.timeout!.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 3 },
    });
  }

  private wireDenials(): void {
    new events.Rule(this, 'AccessDenied', {
      ruleName: `${GUARD_NAME_PREFIX}AccessDenied`,
      description: 'agent-guard: tell on-call when a guard policy denies an agent role',
      eventPattern: accessDeniedPattern(),
      targets: [
        new targets.SqsQueue(this.denialQueue, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 4,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });
    this.function.addEventSource(
      new SqsEventSource(this.denialQueue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(20),
        maxConcurrency: DENIAL_CONCURRENCY,
        reportBatchItemFailures: true,
      }),
    );
  }

  private grantGuardPermissions(role: iam.Role, props: GuardFunctionProps): void {
    const roles = Stack.of(this).formatArn({ service: 'iam', region: '', resource: 'role', resourceName: '*' });
    const agentRolesOnly = { StringEquals: { [`iam:ResourceTag/${AGENT_TAG}`]: AGENT_TAG_VALUE } };
    const statements = [
      new iam.PolicyStatement({
        sid: 'ListRolesWithTags',
        actions: ['iam:GetAccountAuthorizationDetails'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'ReadRoles',
        actions: ['iam:GetRole', 'iam:ListAttachedRolePolicies'],
        resources: [roles],
      }),
      new iam.PolicyStatement({
        sid: 'WriteGuardTagsOnly',
        actions: ['iam:TagRole', 'iam:UntagRole'],
        resources: [roles],
        conditions: {
          ...agentRolesOnly,
          'ForAllValues:StringEquals': { 'aws:TagKeys': [STATE_TAG, CONSTRAINED_TAG] },
          Null: { 'aws:TagKeys': 'false' },
        },
      }),
      new iam.PolicyStatement({
        // A role made with the guard boundary but without the agent tag (threat 8): the guard tags it an
        // agent and locked in one call. TagRole has no key that names the boundary (IAM-90), so IAM
        // allows this on any role; the guard's code adopts only roles whose boundary is the guard's.
        sid: 'AdoptGuardBoundaryRoles',
        actions: ['iam:TagRole'],
        resources: [roles],
        conditions: {
          StringEquals: {
            [`aws:RequestTag/${AGENT_TAG}`]: AGENT_TAG_VALUE,
            [`aws:RequestTag/${STATE_TAG}`]: STATE_LOCKED,
          },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [AGENT_TAG, STATE_TAG] },
        },
      }),
      new iam.PolicyStatement({
        sid: 'PutGuardBoundaryOnly',
        actions: ['iam:PutRolePermissionsBoundary'],
        resources: [roles],
        conditions: { ...agentRolesOnly, ArnEquals: { 'iam:PermissionsBoundary': props.boundary.managedPolicyArn } },
      }),
      new iam.PolicyStatement({
        sid: 'AttachGuardPoliciesOnly',
        actions: ['iam:AttachRolePolicy'],
        resources: [roles],
        conditions: {
          ...agentRolesOnly,
          ArnEquals: { 'iam:PolicyARN': props.guardPolicies.map((p) => p.managedPolicyArn) },
        },
      }),
      new iam.PolicyStatement({
        sid: 'RestoreTrustDeny',
        actions: ['iam:UpdateAssumeRolePolicy'],
        resources: [roles],
        conditions: agentRolesOnly,
      }),
      new iam.PolicyStatement({
        sid: 'ReadTraffic',
        actions: ['cloudwatch:GetMetricData'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'Status',
        actions: ['ssm:GetParameter', 'ssm:PutParameter'],
        resources: [this.statusParameter.parameterArn],
      }),
    ];
    const orgRole = props.production.organizationsRoleArn;
    if (props.production._json.source !== 'fixed') {
      statements.push(
        orgRole
          ? new iam.PolicyStatement({ sid: 'ReadOrganizations', actions: ['sts:AssumeRole'], resources: [orgRole] })
          : new iam.PolicyStatement({
              sid: 'ReadOrganizations',
              actions: ['organizations:ListTagsForResource', 'organizations:ListParents'],
              resources: ['*'],
            }),
      );
    }
    const policy = new iam.Policy(this, 'Permissions', { statements });
    policy.attachToRole(role);
    this.topic.grantPublish(role);
    const why =
      'GetAccountAuthorizationDetails, GetMetricData and the Organizations reads support no resource ARNs. ' +
      'Agent roles have any name, so role writes name role/* but are held by conditions: only roles tagged ' +
      `${AGENT_TAG}=${AGENT_TAG_VALUE}, only the ${STATE_TAG} and ${CONSTRAINED_TAG} tags, only the guard's boundary and policies.`;
    for (const finding of ['Resource::*', 'Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*']) {
      Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: why });
    }
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Publishing to the encrypted notices topic needs data keys of its one KMS key, granted by topic.grantPublish.',
    });
  }
}

/**
 * The key policy statements that let AWS services use the guard's key: CloudWatch alarms publish to
 * the encrypted notices topic, and CloudWatch Logs encrypts the guard's log groups. A key imported
 * into the app keeps its own policy; the guard then warns with what that policy must allow.
 */
function allowServicesToUseKey(scope: Construct, key: kms.IKey): void {
  const statements = [
    // SNS developer guide, "Configure AWS KMS permissions for AWS services" (CloudWatch alarms).
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublishToNotices',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }),
    // CloudWatch Logs user guide, "Encrypt log data in CloudWatch Logs using AWS KMS".
    new iam.PolicyStatement({
      sid: 'LogsEncryptGuardLogGroups',
      principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:/aws/lambda/${GUARD_NAME_PREFIX}*`,
        },
      },
    }),
  ];
  const added = statements.map((statement) => key.addToResourcePolicy(statement).statementAdded);
  if (added.some((a) => !a)) {
    Validations.of(scope).addWarning(
      'agent-guard:imported-key-policy',
      `encryptionKey ${key.node.path} is imported, so the guard cannot edit its key policy. Add these statements to it, ` +
        'or CloudWatch alarms cannot publish notices and the log groups cannot be created: ' +
        JSON.stringify(Stack.of(scope).resolve(statements.map((s): unknown => s.toStatementJson()))),
    );
  }
}
