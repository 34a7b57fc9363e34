import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack, Token, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { AwsSolutionsChecks } from 'cdk-nag';
import { exampleContext } from '../../examples/example-app';
import { AgentGuard, AgentGuardProps, AgentGuardStackSet, CentralNotices } from '../../lib';
import { loadApprovalsConfig } from '../../lambda/approvals/config';
import { loadConfig } from '../../lambda/guard/config';
import { ACCOUNT, functionNamed, functionRolePolicies, resolveIntrinsics, Resources } from '../support/guarded-role';
import { decide } from '../support/simulate';

/** The security account that receives every member account's notices. */
const SECURITY = '999999999999';
const ORG_ID = 'o-a1b2c3d4e5';
const CENTRAL_TOPIC = `arn:aws:sns:eu-west-1:${SECURITY}:agent-guard-notices`;
const CENTRAL_KEY = `arn:aws:kms:eu-west-1:${SECURITY}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const CENTRAL_BUS = `arn:aws:events:eu-west-1:${SECURITY}:event-bus/security`;
const APPROVERS = [`arn:aws:iam::${ACCOUNT}:role/OnCall*`];
/** Lambda: the environment variables of a function total at most 4 KB (AWS-BEHAVIOUR LAM-8). */
const LAMBDA_ENVIRONMENT_BYTES = 4 * 1024;

function synth(props: AgentGuardProps, env: { account?: string; region?: string } = {}): Resources {
  const stack = new Stack(new App({ context: exampleContext() }), 'S', { env });
  new AgentGuard(stack, 'Guard', { trafficRegions: ['us-east-1'], ...props });
  return Template.fromStack(stack).toJSON().Resources as Resources;
}

function environment(resources: Resources, name: string): Record<string, string> {
  const variables = (functionNamed(resources, name)[1].Properties.Environment as { Variables: Record<string, unknown> })
    .Variables;
  return Object.fromEntries(
    Object.entries(variables).map(([key, value]) => [key, resolveIntrinsics(value, resources) as string]),
  );
}

const FUNCTIONS = ['AgentGuardEvaluator', 'AgentGuardApprovals'];

describe.each([
  [
    'an SNS topic',
    CentralNotices.snsTopic(CENTRAL_TOPIC),
    'sns:Publish',
    'sns-topic',
    `arn:aws:sns:eu-west-1:${SECURITY}:other-topic`,
  ],
  [
    'an event bus',
    CentralNotices.eventBus(CENTRAL_BUS),
    'events:PutEvents',
    'event-bus',
    `arn:aws:events:eu-west-1:${SECURITY}:event-bus/default`,
  ],
])('central notices to %s', (_, central, action, kind, neighbour) => {
  const resources = synth({ centralNotices: central, approvers: APPROVERS });

  test.each(FUNCTIONS)('%s reads the target from its configuration, within the 4 KB environment', (name) => {
    const env = environment(resources, name);
    const config =
      name === 'AgentGuardEvaluator' ? loadConfig(env).centralNotices : loadApprovalsConfig(env).centralNotices;
    expect(config).toEqual({ kind, arn: central.arn });
    const bytes = Object.entries(env).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    expect(bytes).toBeLessThanOrEqual(LAMBDA_ENVIRONMENT_BYTES);
  });

  test.each(FUNCTIONS)('%s may send to the target and to nothing else of the security account (IAM)', async (name) => {
    const principal = { identityPolicies: functionRolePolicies(resources, name), principalTags: {} };
    await expect(decide(principal, { action, resource: central.arn })).resolves.toBe('Allowed');
    await expect(decide(principal, { action, resource: neighbour })).resolves.toBe('ImplicitlyDenied');
    // The other kind of target in the same account is not granted either.
    const [otherAction, otherTarget] =
      action === 'sns:Publish' ? ['events:PutEvents', CENTRAL_BUS] : ['sns:Publish', CENTRAL_TOPIC];
    await expect(decide(principal, { action: otherAction, resource: otherTarget })).resolves.toBe('ImplicitlyDenied');
  });

  test('cross-account, the grant and a resource policy for the organization allow it; either alone does not (IAM)', async () => {
    // ORG-30 / SNS-31 / EB-31: a request to another account's resource needs both policies to allow it.
    const identityPolicies = functionRolePolicies(resources, 'AgentGuardEvaluator');
    const resourcePolicy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: '*',
          Action: action,
          Resource: central.arn,
          Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG_ID } },
        },
      ],
    };
    const evaluate = async (identity: boolean, resource: boolean, orgId = ORG_ID) => {
      const result = await runSimulation(
        {
          request: {
            principal: `arn:aws:iam::${ACCOUNT}:role/AgentGuardEvaluator`,
            action,
            resource: { resource: central.arn, accountId: SECURITY },
            contextVariables: { 'aws:PrincipalAccount': ACCOUNT, 'aws:PrincipalOrgID': orgId },
          },
          identityPolicies: identity ? identityPolicies : [],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          resourcePolicy: resource ? resourcePolicy : undefined,
        },
        {},
      );
      if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
      return result.overallResult;
    };
    await expect(evaluate(true, true)).resolves.toBe('Allowed');
    await expect(evaluate(false, true)).resolves.toBe('ImplicitlyDenied');
    await expect(evaluate(true, false)).resolves.toBe('ImplicitlyDenied');
    await expect(evaluate(true, true, 'o-someoneelse')).resolves.toBe('ImplicitlyDenied');
  });
});

describe('central notices to an encrypted topic', () => {
  const resources = synth({
    centralNotices: CentralNotices.snsTopic(CENTRAL_TOPIC, { keyArn: CENTRAL_KEY }),
    approvers: APPROVERS,
  });

  test.each(FUNCTIONS)('%s may use that key to publish, and no other key (IAM)', async (name) => {
    // SNS-32, ORG-30: a publisher of another account needs the key in its own policy too.
    const principal = { identityPolicies: functionRolePolicies(resources, name), principalTags: {} };
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      await expect(decide(principal, { action, resource: CENTRAL_KEY })).resolves.toBe('Allowed');
      await expect(decide(principal, { action, resource: CENTRAL_KEY.replace('1234abcd', '9999abcd') })).resolves.toBe(
        'ImplicitlyDenied',
      );
    }
    await expect(decide(principal, { action: 'kms:Encrypt', resource: CENTRAL_KEY })).resolves.toBe('ImplicitlyDenied');
  });
});

describe('without central notices', () => {
  test('no function may publish or put events outside its own account', async () => {
    const resources = synth({ approvers: APPROVERS });
    for (const name of FUNCTIONS) {
      const principal = { identityPolicies: functionRolePolicies(resources, name), principalTags: {} };
      await expect(decide(principal, { action: 'sns:Publish', resource: CENTRAL_TOPIC })).resolves.toBe(
        'ImplicitlyDenied',
      );
    }
    expect(loadConfig(environment(resources, 'AgentGuardEvaluator')).centralNotices).toBeUndefined();
  });
});

describe('CentralNotices validation', () => {
  test.each([
    ['a token', () => CentralNotices.snsTopic(Token.asString({ Ref: 'Topic' })), /literal string, not a token/],
    ['a FIFO topic', () => CentralNotices.snsTopic(`${CENTRAL_TOPIC}.fifo`), /FIFO topic; give a standard topic/],
    ['a queue ARN', () => CentralNotices.snsTopic(`arn:aws:sqs:eu-west-1:${SECURITY}:q`), /arn:<partition>:sns:/],
    ['a topic name', () => CentralNotices.snsTopic('agent-guard-notices'), /arn:<partition>:sns:/],
    ['a bus name', () => CentralNotices.eventBus('security'), /event-bus\/<bus name>/],
    ['a rule ARN', () => CentralNotices.eventBus(`arn:aws:events:eu-west-1:${SECURITY}:rule/r`), /event-bus\//],
    ['a topic as a bus', () => CentralNotices.eventBus(CENTRAL_TOPIC), /event-bus\/<bus name>/],
    [
      'a key alias',
      () => CentralNotices.snsTopic(CENTRAL_TOPIC, { keyArn: `arn:aws:kms:eu-west-1:${SECURITY}:alias/notices` }),
      /literal KMS key ARN/,
    ],
    [
      'a key of another region',
      () => CentralNotices.snsTopic(CENTRAL_TOPIC, { keyArn: CENTRAL_KEY.replace('eu-west-1', 'us-east-1') }),
      /topic's partition and region \(aws, eu-west-1\)/,
    ],
  ])('refuses %s', (_, make, message) => {
    expect(make).toThrow(message);
  });

  test('refuses a target in another partition when the stack names its region', () => {
    expect(() =>
      synth(
        { trafficRegions: ['cn-north-1'], centralNotices: CentralNotices.snsTopic(CENTRAL_TOPIC) },
        { account: ACCOUNT, region: 'cn-north-1' },
      ),
    ).toThrow(/partition aws, but the guard's stack is in aws-cn/);
  });

  test('with a token region, a template rule holds the partition instead', () => {
    const stack = new Stack(new App({ context: exampleContext() }), 'S');
    new AgentGuard(stack, 'Guard', {
      trafficRegions: ['us-east-1'],
      centralNotices: CentralNotices.snsTopic(CENTRAL_TOPIC),
    });
    const rules = Template.fromStack(stack).toJSON().Rules as Record<string, { Assertions: { Assert: unknown }[] }>;
    const rule = Object.entries(rules).find(([id]) => id.includes('CentralNoticesPartition'))![1];
    expect(rule.Assertions[0].Assert).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::Partition' }, 'aws'] });
  });
});

describe('AgentGuardStackSet passes central notices to every account', () => {
  const stack = new Stack(new App({ context: exampleContext() }), 'Management', {
    env: { account: '111111111111', region: 'eu-west-1' },
  });
  const org = new AgentGuardStackSet(stack, 'Org', {
    targets: [{ organizationalUnitIds: ['ou-ab12-cdef3456'] }],
    guard: {
      trafficRegions: ['us-east-1'],
      approvers: APPROVERS,
      centralNotices: CentralNotices.snsTopic(CENTRAL_TOPIC, { keyArn: CENTRAL_KEY }),
    },
  });
  const app = stack.node.root as App;
  // Synth fails on a cdk-nag AwsSolutions finding: the grant names one ARN, no wildcard.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const file = path.join(assembly.directory, org.guardStack.templateFile);
  // Each account sets the mode parameter; any value will do to read the configuration.
  const text = fs.readFileSync(file, 'utf8').replace(/\{\s*"Ref":\s*"GuardMode"\s*\}/g, '"ENFORCE"');
  const template = JSON.parse(text) as { Resources: Resources; Rules: unknown };
  const resources = template.Resources;

  test('the guard function in the StackSet template is configured for the central topic', () => {
    expect(loadConfig(environment(resources, 'AgentGuardEvaluator')).centralNotices).toEqual({
      kind: 'sns-topic',
      arn: CENTRAL_TOPIC,
    });
  });

  test.each(FUNCTIONS)('%s in the StackSet template may publish to the central topic (IAM)', async (name) => {
    const principal = { identityPolicies: functionRolePolicies(resources, name), principalTags: {} };
    await expect(decide(principal, { action: 'sns:Publish', resource: CENTRAL_TOPIC })).resolves.toBe('Allowed');
  });

  test('the template holds the partition by a rule, as the StackSet template has no region', () => {
    const rules = template.Rules as Record<string, { Assertions: { Assert: unknown }[] }>;
    expect(Object.keys(rules).some((id) => id.includes('CentralNoticesPartition'))).toBe(true);
  });
});
