import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { createExampleApp } from '../examples/example-app';
import { ActionGroup, AgentGuard } from '../lib';

function agentRole(stack: Stack, id = 'Agent', props: Partial<iam.RoleProps> = {}): iam.Role {
  return new iam.Role(stack, id, { assumedBy: new iam.AccountRootPrincipal(), ...props });
}

describe('AgentGuard', () => {
  const { stack } = createExampleApp();
  const template = Template.fromStack(stack);

  test('creates one boundary and four guard policies under the guard path', () => {
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 5);
    for (const name of [
      'AgentGuardBoundary',
      'AgentGuardDeny1',
      'AgentGuardDeny2',
      'AgentGuardDeny3',
      'AgentGuardDeny4',
    ]) {
      template.hasResourceProperties('AWS::IAM::ManagedPolicy', { ManagedPolicyName: name, Path: '/agent-guard/' });
    }
  });

  test('constrains the agent role: boundary, guard policies, tag and trust deny', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      PermissionsBoundary: { Ref: Match.stringLikeRegexp('^GuardBoundary') },
      ManagedPolicyArns: Match.arrayWith([
        { Ref: Match.stringLikeRegexp('^GuardDeny1') },
        { Ref: Match.stringLikeRegexp('^GuardDeny2') },
      ]),
      Tags: Match.arrayWith([{ Key: 'agent-guard:agent', Value: 'true' }]),
      AssumeRolePolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sts:TagSession', Principal: { AWS: '*' } }),
        ]),
      },
    });
  });

  test('the boundary allows only principals tagged as agents and constrained by the guard', () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      ManagedPolicyName: 'AgentGuardBoundary',
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'Ceiling',
            Effect: 'Allow',
            Action: '*',
            Resource: '*',
            Condition: {
              StringEquals: {
                'aws:PrincipalTag/agent-guard:agent': 'true',
                'aws:PrincipalTag/agent-guard:constrained': 'true',
              },
            },
          },
        ]),
      },
    });
  });

  test('matches the snapshot', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });

  test('constrain() is idempotent', () => {
    const s = new Stack(new App(), 'S');
    const role = agentRole(s);
    const guard = new AgentGuard(s, 'Guard', { agentRoles: [role] });
    guard.constrain(role);
    interface RoleProps {
      ManagedPolicyArns: unknown[];
      AssumeRolePolicyDocument: { Statement: { Effect: string }[] };
    }
    const roles = Template.fromStack(s).findResources('AWS::IAM::Role') as Record<string, { Properties: RoleProps }>;
    const [props] = Object.values(roles).map((r) => r.Properties);
    expect(props.ManagedPolicyArns).toHaveLength(guard.guardPolicies.length); // each guard policy once
    expect(props.AssumeRolePolicyDocument.Statement.filter((st) => st.Effect === 'Deny')).toHaveLength(1);
  });

  test('custom groups and exemptions reach the guard policies', () => {
    const s = new Stack(new App(), 'S');
    new AgentGuard(s, 'Guard', {
      additionalGroups: [ActionGroup.custom('glue-jobs', ['glue:UpdateJob'])],
      exemptActions: ['ec2:DeleteTags'],
    });
    const text = JSON.stringify(Template.fromStack(s).findResources('AWS::IAM::ManagedPolicy'));
    expect(text).toContain('"glue:UpdateJob"');
    expect(text).not.toMatch(/"ec2:Del\*"|"ec2:DeleteTags"/);
  });

  describe('rejects bad props with a message that says what to change', () => {
    test.each([
      [{ ceilingActions: [] }, /ceilingActions is empty/],
      [{ ceilingActions: ['*:*'] }, /ceilingActions: '\*:\*' is not an IAM action/],
      [{ exemptActions: ['ec2:DescribeVpcs'] }, /not in the protected catalog/],
      [{ additionalGroups: [ActionGroup.DELETE] }, /'delete' is a built-in group and is always protected/],
    ])('%j', (props, message) => {
      expect(() => new AgentGuard(new Stack(new App(), 'S'), 'Guard', props)).toThrow(message);
    });

    test('an imported role', () => {
      const s = new Stack(new App(), 'S');
      const imported = iam.Role.fromRoleName(s, 'Imported', 'agent');
      expect(() => new AgentGuard(s, 'Guard', { agentRoles: [imported] })).toThrow(
        /Tag an imported role agent-guard:agent=true/,
      );
    });

    test('a role that already has another boundary', () => {
      const s = new Stack(new App(), 'S');
      const other = new iam.ManagedPolicy(s, 'Other', {
        statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] })],
      });
      expect(
        () => new AgentGuard(s, 'Guard', { agentRoles: [agentRole(s, 'A', { permissionsBoundary: other })] }),
      ).toThrow(/already has a permissions boundary/);
    });

    test('a role that would exceed the managed-policy quota fails synth', () => {
      const app = new App();
      const s = new Stack(app, 'S');
      const names = [
        'ReadOnlyAccess',
        'AmazonS3FullAccess',
        'AmazonEC2FullAccess',
        'AWSLambda_FullAccess',
        'AmazonSQSFullAccess',
        'AmazonSNSFullAccess',
        'CloudWatchFullAccess',
        'AmazonDynamoDBFullAccess',
        'AmazonRDSFullAccess',
      ];
      const role = agentRole(s, 'Crowded', {
        managedPolicies: names.map((n) => iam.ManagedPolicy.fromAwsManagedPolicyName(n)),
      });
      new AgentGuard(s, 'Guard', { agentRoles: [role] });
      expect(() => app.synth()).toThrow(
        /needs 13 managed policies at worst: its own 9 and the 4 guard policies. That is over the quota of 10/,
      );
    });
  });
});
