import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { createExampleApp } from '../../examples/example-app';
import { AgentGuard } from '../../lib';
import { AgentGuardProps } from '../../lib/agent-guard';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { loadApprovalsConfig } from '../../lambda/approvals/config';
import { APPROVALS_CONFIG_ENV } from '../../lib/core/config';
import { ACCOUNT, resolveIntrinsics } from '../support/guarded-role';
import { decide } from '../support/simulate';

type Resources = Parameters<typeof resolveIntrinsics>[1];

const ON_CALL = 'arn:aws:iam::*:role/OnCall*';

function template(props: AgentGuardProps): Template {
  const stack = new Stack(new App(), 'S');
  new AgentGuard(stack, 'Guard', props);
  return Template.fromStack(stack);
}

describe('the approval function', () => {
  const t = Template.fromStack(createExampleApp().stack);
  const resources = t.toJSON().Resources as Resources;

  test('sits behind a function URL with IAM auth', () => {
    t.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM' });
    t.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'AgentGuardApprovals',
      Runtime: 'nodejs24.x',
    });
    t.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/agent-guard/approvals-url',
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('ApprovalsFunctionFunctionUrl'), 'FunctionUrl'] },
    });
  });

  test('keeps an audit table with a status index, TTL retention, point-in-time recovery and deletion protection', () => {
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        TableName: 'AgentGuardApprovals',
        KeySchema: [{ AttributeName: 'approvalId', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: [
          Match.objectLike({
            IndexName: 'byStatus',
            KeySchema: [
              { AttributeName: 'status', KeyType: 'HASH' },
              { AttributeName: 'sortAt', KeyType: 'RANGE' },
            ],
          }),
        ],
      },
    });
  });

  test('expiry schedules live in the agent-guard group and invoke only the approval function', () => {
    t.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'agent-guard' });
    t.hasResourceProperties('AWS::IAM::Role', {
      Path: '/agent-guard/',
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ],
      }),
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 'lambda:InvokeFunction',
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('ApprovalsFunction'), 'Arn'] },
          },
        ],
      },
    });
  });

  test('reconciles every 5 minutes, and single-use rules may invoke it', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      Name: 'AgentGuardApprovalsReconcile',
      ScheduleExpression: 'rate(5 minutes)',
    });
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'events.amazonaws.com',
      SourceArn: {
        'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':rule/AgentGuardUse-\\*$')])],
      },
    });
  });

  test('its configuration passes the function’s own validation, with safe defaults', () => {
    const fn = Object.values(resources).find(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === 'AgentGuardApprovals',
    )!;
    const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const config = loadApprovalsConfig({
      [APPROVALS_CONFIG_ENV]: resolveIntrinsics(variables[APPROVALS_CONFIG_ENV], resources) as string,
    });
    expect(config).toMatchObject({
      accountId: ACCOUNT,
      requiredApprovals: 2,
      maxDurationSeconds: 3600,
      breakGlassMaxSeconds: 900,
      requestTtlSeconds: 3600,
      retentionDays: 365,
      scheduleGroup: 'agent-guard',
      approvers: ['arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_OnCall_*'],
    });
  });
});

describe('the approval function role can swap guard policies of agent roles only (IAM evaluation)', () => {
  const t = Template.fromStack(createExampleApp().stack);
  const resources = t.toJSON().Resources as Resources;
  const [, permissions] = Object.entries(resources).find(
    ([id, r]) => r.Type === 'AWS::IAM::Policy' && id.includes('ApprovalsPermissions'),
  )!;
  const approvals = {
    identityPolicies: [
      {
        name: 'Permissions',
        policy: resolveIntrinsics(permissions.Properties.PolicyDocument, resources) as PolicyDocumentJson,
      },
    ],
    principalTags: {},
  };
  const agentRole = `arn:aws:iam::${ACCOUNT}:role/agent`;
  const agentTagged = { 'iam:ResourceTag/agent-guard:agent': 'true' };
  const policy = (name: string) => `arn:aws:iam::${ACCOUNT}:policy/agent-guard/${name}`;
  const approvalPolicy = policy('AgentGuardApproval-s1-1of2');

  test.each([
    ['iam:AttachRolePolicy', agentRole, { ...agentTagged, 'iam:PolicyARN': approvalPolicy }, 'Allowed'],
    ['iam:DetachRolePolicy', agentRole, { ...agentTagged, 'iam:PolicyARN': policy('AgentGuardDeny1') }, 'Allowed'],
    [
      'iam:AttachRolePolicy',
      agentRole,
      { ...agentTagged, 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess' },
      'ImplicitlyDenied',
    ],
    [
      'iam:DetachRolePolicy',
      agentRole,
      { ...agentTagged, 'iam:PolicyARN': policy('AgentGuardBoundary') },
      'ImplicitlyDenied',
    ],
    [
      'iam:AttachRolePolicy',
      `arn:aws:iam::${ACCOUNT}:role/admin`,
      { 'iam:PolicyARN': approvalPolicy },
      'ImplicitlyDenied',
    ],
    ['iam:TagRole', agentRole, { ...agentTagged, 'aws:TagKeys': ['agent-guard:approval'] }, 'Allowed'],
    ['iam:TagRole', agentRole, { ...agentTagged, 'aws:TagKeys': ['agent-guard:state'] }, 'ImplicitlyDenied'],
    ['iam:TagRole', agentRole, { ...agentTagged, 'aws:TagKeys': ['agent-guard:constrained'] }, 'ImplicitlyDenied'],
    ['iam:UntagRole', agentRole, { ...agentTagged, 'aws:TagKeys': ['agent-guard:constrained'] }, 'ImplicitlyDenied'],
    ['iam:CreatePolicy', approvalPolicy, {}, 'Allowed'],
    ['iam:CreatePolicy', policy('AgentGuardDeny1'), {}, 'ImplicitlyDenied'],
    ['iam:CreatePolicyVersion', policy('AgentGuardDeny1'), {}, 'ImplicitlyDenied'],
    ['iam:DeletePolicy', policy('AgentGuardBoundary'), {}, 'ImplicitlyDenied'],
    ['iam:PutRolePermissionsBoundary', agentRole, agentTagged, 'ImplicitlyDenied'],
    ['iam:UpdateAssumeRolePolicy', agentRole, agentTagged, 'ImplicitlyDenied'],
    [
      'scheduler:CreateSchedule',
      `arn:aws:scheduler:us-east-1:${ACCOUNT}:schedule/agent-guard/AgentGuardExpire-abc`,
      {},
      'Allowed',
    ],
    [
      'scheduler:CreateSchedule',
      `arn:aws:scheduler:us-east-1:${ACCOUNT}:schedule/default/other`,
      {},
      'ImplicitlyDenied',
    ],
    ['events:PutRule', `arn:aws:events:us-east-1:${ACCOUNT}:rule/AgentGuardUse-abc`, {}, 'Allowed'],
    ['events:PutRule', `arn:aws:events:us-east-1:${ACCOUNT}:rule/AgentGuardSchedule`, {}, 'ImplicitlyDenied'],
  ] as [string, string, Record<string, string | string[]>, string][])(
    '%s on %s with %j → %s',
    async (action, resource, context, expected) => {
      await expect(decide(approvals, { action, resource, context })).resolves.toBe(expected);
    },
  );
});

describe('approval props', () => {
  test('without approvers there is no approval function', () => {
    const t = template({});
    t.resourcePropertiesCountIs('AWS::Lambda::Function', { FunctionName: 'AgentGuardApprovals' }, 0);
    t.resourcePropertiesCountIs('AWS::DynamoDB::Table', { TableName: 'AgentGuardApprovals' }, 0);
  });

  test('limits and ticket pattern reach the function', () => {
    const t = template({
      approvers: [ON_CALL],
      requiredApprovals: 1,
      maxApprovalDuration: Duration.minutes(30),
      breakGlassMaxDuration: Duration.minutes(5),
      approvalRequestTtl: Duration.minutes(20),
      ticketPattern: 'INC-[0-9]+',
      auditRetention: Duration.days(30),
    });
    const text = JSON.stringify(t.findResources('AWS::Lambda::Function'));
    for (const fragment of [
      '\\"requiredApprovals\\":1',
      '\\"maxDurationSeconds\\":1800',
      '\\"breakGlassMaxSeconds\\":300',
      '\\"requestTtlSeconds\\":1200',
      '\\"ticketPattern\\":\\"INC-[0-9]+\\"',
      '\\"retentionDays\\":30',
    ]) {
      expect(text).toContain(fragment);
    }
  });

  test.each<[string, AgentGuardProps, RegExp]>([
    ['no approvers', { approvers: [] }, /nobody could approve/],
    ['a bare wildcard approver', { approvers: ['*'] }, /role or user ARN pattern/],
    ['a group as approver', { approvers: ['arn:aws:iam::111122223333:group/oncall'] }, /role or user ARN pattern/],
    ['zero required approvals', { approvers: [ON_CALL], requiredApprovals: 0 }, /1 to 5/],
    ['a fractional duration', { approvers: [ON_CALL], maxApprovalDuration: Duration.seconds(90) }, /whole minutes/],
    ['a day-long break glass', { approvers: [ON_CALL], breakGlassMaxDuration: Duration.hours(2) }, /from 1 to 60/],
    ['a bad ticket pattern', { approvers: [ON_CALL], ticketPattern: '([' }, /not a valid regular expression/],
    ['a retention in hours', { approvers: [ON_CALL], auditRetention: Duration.hours(5) }, /whole days/],
  ])('rejects %s', (_name, props, message) => {
    expect(() => template(props)).toThrow(message);
  });
});
