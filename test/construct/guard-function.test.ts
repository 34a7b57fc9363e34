import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { createExampleApp } from '../../examples/example-app';
import { AgentGuard, GuardMode, ProductionSignal, TrafficMetric } from '../../lib';
import { AgentGuardProps } from '../../lib/agent-guard';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { ACCOUNT, resolveIntrinsics } from '../support/guarded-role';
import { functionConfig } from '../support/function-config';
import { decide } from '../support/simulate';

type Resources = Parameters<typeof resolveIntrinsics>[1];

function guardTemplate(props: AgentGuardProps = {}, env?: { region: string }): Template {
  const stack = new Stack(new App(), 'S', env ? { env: { account: ACCOUNT, ...env } } : undefined);
  new AgentGuard(stack, 'Guard', props);
  return Template.fromStack(stack);
}

describe('the guard function and its wiring', () => {
  const { stack } = createExampleApp();
  const template = Template.fromStack(stack);

  test('one function, bundled, on the latest Node.js runtime', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'AgentGuardEvaluator',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 300,
    });
  });

  test('the configuration it is given passes the function’s own validation', () => {
    const config = functionConfig(template);
    expect(config).toMatchObject({
      accountId: ACCOUNT,
      mode: 'ENFORCE',
      production: { source: 'account-tags', tagKey: 'environment', values: ['production', 'prod'] },
      boundaryArn: `arn:aws:iam::${ACCOUNT}:policy/agent-guard/AgentGuardBoundary`,
      guardPolicyArns: [
        `arn:aws:iam::${ACCOUNT}:policy/agent-guard/AgentGuardDeny1`,
        `arn:aws:iam::${ACCOUNT}:policy/agent-guard/AgentGuardDeny2`,
        `arn:aws:iam::${ACCOUNT}:policy/agent-guard/AgentGuardDeny3`,
        `arn:aws:iam::${ACCOUNT}:policy/agent-guard/AgentGuardDeny4`,
      ],
      statusParameterName: '/agent-guard/status',
      topicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:AgentGuardNotices`,
      traffic: { thresholdPerMinute: 5, lookbackMinutes: 15, dropHoldMinutes: 60 },
    });
    expect(config.traffic.queries.map((q) => q.label)).toEqual([
      'ALB',
      'RestApi',
      'HttpApi',
      'CloudFront',
      'LambdaUrl',
    ]);
  });

  test('a schedule every 5 minutes', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'AgentGuardSchedule',
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
    });
  });

  test('traffic alarms on Metrics Insights queries, and a rule on their state changes', () => {
    template.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { AlarmName: Match.stringLikeRegexp('^AgentGuardTraffic-') },
      5,
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'AgentGuardTraffic-ALB',
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      Metrics: [
        Match.objectLike({
          Expression: 'SELECT SUM(RequestCount) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer)',
          Period: 60,
        }),
      ],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'AgentGuardAlarmChanges',
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        resources: Match.arrayWith([{ 'Fn::GetAtt': [Match.stringLikeRegexp('TrafficALB'), 'Arn'] }]),
      },
    });
  });

  test('IAM role events, except the writes of the guard and approval functions', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'AgentGuardRoleChanges',
      EventPattern: {
        source: ['aws.iam'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['iam.amazonaws.com'],
          eventName: Match.arrayWith([
            'CreateRole',
            'TagRole',
            'UntagRole',
            'PutRolePermissionsBoundary',
            'DeleteRolePermissionsBoundary',
            'DetachRolePolicy',
            'PutRolePolicy',
            'DeleteRolePolicy',
          ]),
          $or: [
            { userIdentity: { type: [{ 'anything-but': 'AssumedRole' }] } },
            {
              userIdentity: {
                sessionContext: {
                  sessionIssuer: {
                    arn: [
                      {
                        'anything-but': [
                          { 'Fn::GetAtt': [Match.stringLikeRegexp('^GuardLiveRole'), 'Arn'] },
                          { 'Fn::GetAtt': [Match.stringLikeRegexp('^GuardApprovalsRole'), 'Arn'] },
                        ],
                      },
                    ],
                  },
                },
              },
            },
          ],
        },
      },
    });
  });

  test('denials go to their own queue, drained by an event source mapping of bounded concurrency', () => {
    const resources = template.toJSON().Resources as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    const denied = Object.values(resources).find(
      (r) => r.Type === 'AWS::Events::Rule' && r.Properties.Name === 'AgentGuardAccessDenied',
    )!;
    // the rule's one target is the denials queue, never the function itself
    expect(denied.Properties.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [expect.stringMatching(/Denials/), 'Arn'] } }),
    ]);
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'AgentGuardDenials',
      SqsManagedSseEnabled: true,
      // SQS-2: a backlog older than an hour is deleted, so a flood is shed
      MessageRetentionPeriod: 3600,
      // LAM-7: at least the function timeout (300 s), as Lambda advises six times it
      VisibilityTimeout: 1800,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetters'), 'Arn'] } },
    });
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('Denials'), 'Arn'] },
      FunctionName: { Ref: Match.stringLikeRegexp('GuardLiveFunction') },
      BatchSize: 10,
      // LAM-5: 2 is the least MaximumConcurrency an SQS event source takes
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // the function is invoked directly by the schedule, alarm and role rules only
    const lambdaTargets = Object.values(resources)
      .filter((r) => r.Type === 'AWS::Events::Rule')
      .filter((r) => JSON.stringify(r.Properties.Targets ?? []).includes('GuardLiveFunction'))
      .map((r) => r.Properties.Name);
    expect(lambdaTargets.sort()).toEqual(['AgentGuardAlarmChanges', 'AgentGuardRoleChanges', 'AgentGuardSchedule']);
  });

  test('every rule target has a dead-letter queue and retries; the function has an on-failure destination', () => {
    const rules = template.findResources('AWS::Events::Rule', {
      Properties: { Name: Match.not('AgentGuardApprovalsReconcile') },
    });
    expect(Object.keys(rules)).toHaveLength(4);
    for (const rule of Object.values(rules) as { Properties: { Targets: Record<string, unknown>[] } }[]) {
      expect(rule.Properties.Targets).toEqual([
        expect.objectContaining({
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.stringMatching(/DeadLetters/), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 },
        }),
      ]);
    }
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetters'), 'Arn'] } },
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'AgentGuardDeadLetters',
      SqsManagedSseEnabled: true,
    });
  });

  test('alarms on function errors and dead letters notify on-call', () => {
    for (const name of ['AgentGuardErrors', 'AgentGuardDeadLetters']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: name,
        AlarmActions: [{ Ref: Match.stringLikeRegexp('Notices') }],
      });
    }
  });

  test('the status parameter under /agent-guard/, and an encrypted notices topic', () => {
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/agent-guard/status', Type: 'String' });
    template.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'AgentGuardNotices',
      KmsMasterKeyId: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('the guard’s role sits under the guard path, and its resources carry the component tag', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      Path: '/agent-guard/',
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
    });
    for (const type of ['AWS::Lambda::Function', 'AWS::SQS::Queue', 'AWS::SNS::Topic', 'AWS::KMS::Key']) {
      template.allResourcesProperties(type, {
        Tags: Match.arrayWith([{ Key: 'agent-guard:component', Value: 'true' }]),
      });
    }
  });

  test('an env-agnostic stack asserts at deploy time that it is in an IAM event region', () => {
    const rules = template.toJSON().Rules as Record<string, unknown>;
    const regionRules = Object.entries(rules).filter(([id]) => id.includes('IamEventRegion'));
    expect(regionRules).toEqual([
      [
        expect.any(String),
        {
          Assertions: [
            {
              Assert: { 'Fn::Contains': [['us-east-1', 'us-gov-west-1', 'cn-north-1'], { Ref: 'AWS::Region' }] },
              AssertDescription: expect.stringContaining('where IAM events arrive') as unknown,
            },
          ],
        },
      ],
    ]);
  });
});

describe('the guard role can write agent roles only as the guard needs (IAM evaluation)', () => {
  const template = Template.fromStack(createExampleApp().stack);
  const resources = template.toJSON().Resources as Resources;
  const permissions = Object.entries(resources).find(
    ([id, r]) => r.Type === 'AWS::IAM::Policy' && id.includes('LivePermissions'),
  )![1];
  const guardRole = {
    identityPolicies: [
      {
        name: 'Permissions',
        policy: resolveIntrinsics(permissions.Properties.PolicyDocument, resources) as PolicyDocumentJson,
      },
    ],
    principalTags: {},
  };
  const agentRole = `arn:aws:iam::${ACCOUNT}:role/some-agent`;
  const agentTagged = { 'iam:ResourceTag/agent-guard:agent': 'true' };
  const policy = (name: string) => `arn:aws:iam::${ACCOUNT}:policy/agent-guard/${name}`;
  const adopt = (state: string) => ({
    'aws:RequestTag/agent-guard:agent': 'true',
    'aws:RequestTag/agent-guard:state': state,
    'aws:TagKeys': ['agent-guard:agent', 'agent-guard:state'],
  });

  test.each([
    ['iam:TagRole', { ...agentTagged, 'aws:TagKeys': ['agent-guard:state'] }, 'Allowed'],
    ['iam:UntagRole', { ...agentTagged, 'aws:TagKeys': ['agent-guard:state'] }, 'Allowed'],
    ['iam:TagRole', { ...agentTagged, 'aws:TagKeys': ['agent-guard:constrained'] }, 'Allowed'],
    ['iam:UntagRole', { ...agentTagged, 'aws:TagKeys': ['agent-guard:constrained'] }, 'Allowed'],
    ['iam:TagRole', { 'aws:TagKeys': ['agent-guard:constrained'] }, 'ImplicitlyDenied'],
    ['iam:TagRole', { ...agentTagged, 'aws:TagKeys': ['agent-guard:approval'] }, 'ImplicitlyDenied'],
    ['iam:TagRole', { ...agentTagged, 'aws:TagKeys': ['agent-guard:agent'] }, 'ImplicitlyDenied'],
    ['iam:TagRole', { ...agentTagged, 'aws:TagKeys': ['agent-guard:state', 'owner'] }, 'ImplicitlyDenied'],
    ['iam:TagRole', { 'aws:TagKeys': ['agent-guard:state'] }, 'ImplicitlyDenied'],
    // Adopting a role made with the guard boundary: agent and locked in one call, nothing else (threat 8).
    ['iam:TagRole', adopt('locked'), 'Allowed'],
    ['iam:TagRole', adopt('open'), 'ImplicitlyDenied'],
    ['iam:TagRole', { ...adopt('locked'), 'aws:TagKeys': ['agent-guard:agent'] }, 'Allowed'],
    [
      'iam:TagRole',
      { ...adopt('locked'), 'aws:TagKeys': ['agent-guard:agent', 'agent-guard:state', 'agent-guard:constrained'] },
      'ImplicitlyDenied',
    ],
    ['iam:TagRole', { ...adopt('locked'), 'aws:RequestTag/agent-guard:agent': 'false' }, 'ImplicitlyDenied'],
    ['iam:AttachRolePolicy', { ...agentTagged, 'iam:PolicyARN': policy('AgentGuardDeny1') }, 'Allowed'],
    [
      'iam:AttachRolePolicy',
      { ...agentTagged, 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess' },
      'ImplicitlyDenied',
    ],
    ['iam:AttachRolePolicy', { 'iam:PolicyARN': policy('AgentGuardDeny1') }, 'ImplicitlyDenied'],
    [
      'iam:PutRolePermissionsBoundary',
      { ...agentTagged, 'iam:PermissionsBoundary': policy('AgentGuardBoundary') },
      'Allowed',
    ],
    [
      'iam:PutRolePermissionsBoundary',
      { ...agentTagged, 'iam:PermissionsBoundary': policy('Other') },
      'ImplicitlyDenied',
    ],
    ['iam:UpdateAssumeRolePolicy', agentTagged, 'Allowed'],
    ['iam:UpdateAssumeRolePolicy', {}, 'ImplicitlyDenied'],
    ['iam:DetachRolePolicy', agentTagged, 'ImplicitlyDenied'],
    ['iam:DeleteRolePermissionsBoundary', agentTagged, 'ImplicitlyDenied'],
    ['iam:PutRolePolicy', agentTagged, 'ImplicitlyDenied'],
    ['iam:DeleteRole', agentTagged, 'ImplicitlyDenied'],
    ['iam:CreateRole', {}, 'ImplicitlyDenied'],
  ] as [string, Record<string, string | string[]>, string][])('%s with %j → %s', async (action, context, expected) => {
    await expect(decide(guardRole, { action, resource: agentRole, context })).resolves.toBe(expected);
  });

  test('reads what the sweep needs', async () => {
    for (const action of ['iam:GetAccountAuthorizationDetails', 'cloudwatch:GetMetricData']) {
      await expect(decide(guardRole, { action })).resolves.toBe('Allowed');
    }
    await expect(
      decide(guardRole, {
        action: 'ssm:PutParameter',
        resource: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/agent-guard/status`,
      }),
    ).resolves.toBe('Allowed');
    await expect(
      decide(guardRole, { action: 'ssm:PutParameter', resource: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/other` }),
    ).resolves.toBe('ImplicitlyDenied');
  });
});

describe('guard props', () => {
  test('monitor mode, a fixed production answer and custom traffic reach the function', () => {
    const config = functionConfig(
      guardTemplate({
        mode: GuardMode.MONITOR,
        production: ProductionSignal.fromValue(true),
        trafficMetrics: [TrafficMetric.custom('Orders', 'SELECT SUM(Orders) FROM "Shop"', 'eu-west-1')],
        trafficThresholdPerMinute: 0,
        trafficLookback: Duration.minutes(30),
      }),
    );
    expect(config).toMatchObject({
      mode: 'MONITOR',
      production: { source: 'fixed', production: true },
      traffic: {
        queries: [{ label: 'Orders', expression: 'SELECT SUM(Orders) FROM "Shop"', regions: ['eu-west-1'] }],
        thresholdPerMinute: 0,
        lookbackMinutes: 30,
        dropHoldMinutes: 60,
      },
    });
  });

  test('metrics of another region are read but not alarmed on; without local alarms there is no alarm rule', () => {
    const template = guardTemplate({ trafficMetrics: [TrafficMetric.albRequests('eu-west-1')] });
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmName: Match.stringLikeRegexp('Traffic') }, 0);
    template.resourcePropertiesCountIs('AWS::Events::Rule', { Name: 'AgentGuardAlarmChanges' }, 0);
  });

  test('an Organizations role is assumed instead of reading Organizations directly', () => {
    const roleArn = 'arn:aws:iam::999999999999:role/OrgTagReader';
    const template = guardTemplate({
      production: ProductionSignal.fromOrganizationalUnit({
        ouPath: 'r-ab12/ou-ab12-11111111',
        organizationsRoleArn: roleArn,
      }),
    });
    expect(functionConfig(template).production).toEqual({
      source: 'organizational-unit',
      ouPath: 'r-ab12/ou-ab12-11111111',
      roleArn,
    });
    const text = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(text).toContain(
      '"Action":"sts:AssumeRole","Effect":"Allow","Resource":"arn:aws:iam::999999999999:role/OrgTagReader"',
    );
    expect(text).not.toContain('organizations:');
  });

  test('a fixed production answer needs no Organizations access', () => {
    const text = JSON.stringify(
      guardTemplate({ production: ProductionSignal.fromValue(false) }).findResources('AWS::IAM::Policy'),
    );
    expect(text).not.toMatch(/organizations:|sts:AssumeRole/);
  });

  test('a concrete us-east-1 stack needs no deploy-time region assertion', () => {
    const rules = guardTemplate({}, { region: 'us-east-1' }).toJSON().Rules as Record<string, unknown>;
    expect(Object.keys(rules).filter((id) => id.includes('IamEventRegion'))).toEqual([]);
  });

  test.each<[string, () => unknown, RegExp]>([
    [
      'a stack outside the IAM event regions',
      () => guardTemplate({}, { region: 'eu-west-1' }),
      /us-east-1.*not eu-west-1/,
    ],
    ['no traffic metrics', () => guardTemplate({ trafficMetrics: [] }), /never lock/],
    [
      'two metrics with one label',
      () =>
        guardTemplate({
          trafficMetrics: [TrafficMetric.albRequests(), TrafficMetric.custom('ALB', 'SELECT SUM(Other) FROM x')],
        }),
      /label 'ALB' is used twice/,
    ],
    ['a drop hold over a day', () => guardTemplate({ trafficDropHold: Duration.hours(25) }), /trafficDropHold/],
    ['a drop hold in seconds', () => guardTemplate({ trafficDropHold: Duration.seconds(30) }), /whole minutes/],
    ['a negative threshold', () => guardTemplate({ trafficThresholdPerMinute: -1 }), /0 or more/],
    ['a lookback in seconds', () => guardTemplate({ trafficLookback: Duration.seconds(90) }), /whole minutes/],
    ['a schedule over a day', () => guardTemplate({ schedule: Duration.days(2) }), /whole minutes from 1 to 1440/],
    [
      'a status parameter outside /agent-guard/',
      () => guardTemplate({ statusParameterName: '/ops/status' }),
      /under \/agent-guard\//,
    ],
    [
      'a malformed OU path',
      () => ProductionSignal.fromOrganizationalUnit({ ouPath: 'ou-1234' }),
      /OU ids from the root down/,
    ],
    [
      'an Organizations role that is not a role',
      () => ProductionSignal.fromAccountTags({ organizationsRoleArn: 'arn:aws:iam::999999999999:user/bob' }),
      /must be an IAM role ARN/,
    ],
    ['no production values', () => ProductionSignal.fromAccountTags({ values: [] }), /at least one/],
    ['a bad metric label', () => TrafficMetric.custom('my metric', 'SELECT 1'), /letters, digits and hyphens/],
    ['a bad metric region', () => TrafficMetric.albRequests('Europe'), /not an AWS region/],
  ])('rejects %s', (_name, build, message) => {
    expect(build).toThrow(message);
  });
});
