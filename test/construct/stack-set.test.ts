import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { exampleContext } from '../../examples/example-app';
import { AgentGuardStackSet, AgentGuardStackSetProps, GuardMode } from '../../lib';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { ACCOUNT, resolveIntrinsics } from '../support/guarded-role';
import { decide, Principal, STATES } from '../support/simulate';

const MANAGEMENT = { account: '111111111111', region: 'eu-west-1' };
const MONITOR_OU = 'ou-ab12-cdef3456';
const ENFORCE_OU = 'ou-ab12-99990000';

type Resources = Parameters<typeof resolveIntrinsics>[1];

function managementStack(env: { account?: string; region?: string } = MANAGEMENT): Stack {
  return new Stack(new App({ context: exampleContext() }), 'Management', { env });
}

function stackSet(props: Partial<AgentGuardStackSetProps> = {}, stack = managementStack()): AgentGuardStackSet {
  return new AgentGuardStackSet(stack, 'Org', {
    targets: [{ organizationalUnitIds: [ENFORCE_OU] }],
    guard: { trafficRegions: ['us-east-1'] },
    ...props,
  });
}

/**
 * Evaluates a CloudFormation rule condition as CloudFormation would for a stack in `region`: the
 * functions the CloudFormation user guide lists for rules, over the pseudo parameter AWS::Region.
 */
function ruleHolds(condition: unknown, region: string): unknown {
  if (Array.isArray(condition)) return condition.map((c) => ruleHolds(c, region));
  if (condition === null || typeof condition !== 'object') return condition;
  const [[fn, args]] = Object.entries(condition as Record<string, unknown>);
  const values = Array.isArray(args) ? args.map((a) => ruleHolds(a, region)) : [];
  switch (fn) {
    case 'Ref':
      if (args !== 'AWS::Region') throw new Error(`unexpected Ref ${String(args)}`);
      return region;
    case 'Fn::Contains':
      return (values[0] as unknown[]).includes(values[1]);
    case 'Fn::Equals':
      return values[0] === values[1];
    case 'Fn::And':
      return values.every(Boolean);
    case 'Fn::Or':
      return values.some(Boolean);
    case 'Fn::Not':
      return !values[0];
    default:
      throw new Error(`unexpected rule function ${fn}`);
  }
}

describe('AgentGuardStackSet', () => {
  let management: Template;
  let guardTemplate: Template;
  let synthError: unknown;

  beforeAll(() => {
    const stack = managementStack();
    const org = stackSet(
      {
        targets: [
          { organizationalUnitIds: [MONITOR_OU], mode: GuardMode.MONITOR },
          { organizationalUnitIds: [ENFORCE_OU, 'r-ab12'] },
        ],
        guard: { trafficRegions: ['us-east-1', 'eu-west-1'] },
      },
      stack,
    );
    const app = stack.node.root as App;
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    try {
      const assembly = app.synth();
      management = Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template as Record<string, unknown>);
      const file = path.join(assembly.directory, org.guardStack.templateFile);
      guardTemplate = Template.fromJSON(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>);
    } catch (error) {
      synthError = error;
    }
  });

  test('synthesizes clean under cdk-nag AwsSolutions, the management stack and the guard template alike', () => {
    expect(synthError).toBeUndefined();
  });

  test('a service-managed StackSet that deploys to accounts joining the OUs, and keeps the guard of one that leaves', () => {
    management.hasResourceProperties('AWS::CloudFormation::StackSet', {
      PermissionModel: 'SERVICE_MANAGED',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: true },
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      StackSetName: 'AgentGuard',
    });
  });

  test('each target deploys to its OUs, in us-east-1 alone, with its own mode', () => {
    // IAM's CloudTrail events reach EventBridge in us-east-1 only (AWS-FACTS, EventBridge).
    const [stackSetResource] = Object.values(management.findResources('AWS::CloudFormation::StackSet')) as Array<{
      Properties: { StackInstancesGroup: unknown };
    }>;
    const groups = stackSetResource.Properties.StackInstancesGroup;
    expect(groups).toEqual([
      {
        DeploymentTargets: { AccountFilterType: 'NONE', OrganizationalUnitIds: [MONITOR_OU] },
        ParameterOverrides: [{ ParameterKey: 'GuardMode', ParameterValue: 'MONITOR' }],
        Regions: ['us-east-1'],
      },
      {
        DeploymentTargets: { AccountFilterType: 'NONE', OrganizationalUnitIds: [ENFORCE_OU, 'r-ab12'] },
        ParameterOverrides: [{ ParameterKey: 'GuardMode', ParameterValue: 'ENFORCE' }],
        Regions: ['us-east-1'],
      },
    ]);
  });

  test("the guard's mode is the template's parameter, in the config its function reads", () => {
    guardTemplate.hasParameter('GuardMode', { Type: 'String', AllowedValues: ['ENFORCE', 'MONITOR'] });
    const resources = guardTemplate.toJSON().Resources as Resources;
    // CloudFormation puts a target's parameter value where the template refers to it.
    const withMode = (mode: string) =>
      JSON.parse(JSON.stringify(resources).replace(/\{"Ref":"GuardMode"\}/g, JSON.stringify(mode))) as Resources;
    const readers = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && JSON.stringify(r).includes('{"Ref":"GuardMode"}'))
      .map(([id]) => id);
    const configs = (mode: string) =>
      readers.flatMap((id) => {
        const env = resolveIntrinsics(withMode(mode)[id].Properties.Environment, withMode(mode)) as {
          Variables: Record<string, string>;
        };
        return Object.values(env.Variables)
          .filter((v) => v.startsWith('{'))
          .map((v) => JSON.parse(v) as { mode?: string })
          .filter((config) => config.mode !== undefined);
      });
    expect(configs('MONITOR').map((c) => c.mode)).toEqual(['MONITOR']);
    expect(configs('ENFORCE').map((c) => c.mode)).toEqual(['ENFORCE']);
  });

  test('the template fails its stack in any region where IAM events do not arrive', () => {
    const rules = guardTemplate.toJSON().Rules as Record<string, { Assertions: Array<{ Assert: unknown }> }>;
    const holds = (region: string) =>
      Object.values(rules).every((rule) => rule.Assertions.every((a) => ruleHolds(a.Assert, region) === true));
    expect(holds('us-east-1')).toBe(true);
    for (const region of ['us-east-2', 'eu-west-1', 'ap-southeast-2', 'sa-east-1']) expect(holds(region)).toBe(false);
  });

  test("member accounts read the guard's code from the organization bucket of us-east-1, which this stack fills", () => {
    const functions = Object.values(guardTemplate.findResources('AWS::Lambda::Function')) as Array<{
      Properties: { Code: unknown };
    }>;
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      const resolved = resolveIntrinsics(fn.Properties.Code, {}) as { S3Bucket: string };
      expect(resolved.S3Bucket).toBe('agent-guard-assets-111111111111-us-east-1');
    }
    management.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketName: 'agent-guard-assets-111111111111-us-east-1',
    });
  });

  test("agents cannot change the guard's own stack, which StackSets names StackSet-<name>-<id>", async () => {
    const resources = guardTemplate.toJSON().Resources as Resources;
    const boundary = Object.values(resources).find(
      (r) => r.Type === 'AWS::IAM::ManagedPolicy' && r.Properties.ManagedPolicyName === 'AgentGuardBoundary',
    )!;
    const principal: Principal = {
      identityPolicies: [
        {
          name: 'AdministratorAccess',
          policy: { Version: '2012-10-17' as const, Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
        },
      ],
      boundary: {
        name: 'AgentGuardBoundary',
        policy: resolveIntrinsics(boundary.Properties.PolicyDocument, resources) as PolicyDocumentJson,
      },
    };
    const stackArn = (name: string) =>
      `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/${name}/4f1e3c20-0a8b-11ef-9f0e-0affd1c2b3a4`;
    const guardStack = stackArn('StackSet-AgentGuard-0b7c2f41-9e1d-4a53-8c2e-5d6f7a8b9c0d');
    for (const action of ['cloudformation:DeleteStack', 'cloudformation:UpdateStack']) {
      // Even while open: the guard's own parts are protected in every state.
      await expect(decide(principal, { action, resource: guardStack, context: STATES.open })).resolves.toBe(
        'ExplicitlyDenied',
      );
    }
    await expect(
      decide(principal, {
        action: 'cloudformation:DeleteStack',
        resource: stackArn('Shop'),
        context: STATES.open,
      }),
    ).resolves.toBe('Allowed');
  });

  test('matches the snapshot', () => {
    expect({
      stackSet: management.findResources('AWS::CloudFormation::StackSet'),
      guard: guardTemplate.toJSON(),
    }).toMatchSnapshot();
  });
});

describe('AgentGuardStackSet validation', () => {
  test.each([
    ['an OU name', 'Production'],
    ['an account id', '123456789012'],
    ['an OU id in capitals', 'ou-AB12-CDEF3456'],
    ['an OU id with a short OU part', 'ou-ab12-cdef'],
    ['a root id without its suffix', 'r-'],
  ])('refuses %s as a target (%s)', (_what, ou) => {
    expect(() => stackSet({ targets: [{ organizationalUnitIds: [ou] }] })).toThrow(/is not an OU id .* or a root id/);
  });

  test('refuses an OU in two targets: one guard per account', () => {
    expect(() =>
      stackSet({
        targets: [
          { organizationalUnitIds: [MONITOR_OU], mode: GuardMode.MONITOR },
          { organizationalUnitIds: [MONITOR_OU] },
        ],
      }),
    ).toThrow(/ou-ab12-cdef3456 is in two targets/);
  });

  test('refuses no targets, and a target with no OU', () => {
    expect(() => stackSet({ targets: [] })).toThrow(/targets is empty/);
    expect(() => stackSet({ targets: [{ organizationalUnitIds: [] }] })).toThrow(/names no OU/);
  });

  test('refuses a mode and agent roles in the guard props, with what to do instead', () => {
    expect(() => stackSet({ guard: { mode: GuardMode.MONITOR } })).toThrow(
      /guard\.mode cannot be given: set the mode of each target/,
    );
    const stack = managementStack();
    const role = new iam.Role(stack, 'Agent', { assumedBy: new iam.AccountRootPrincipal() });
    expect(() => stackSet({ guard: { agentRoles: [role] } }, stack)).toThrow(
      /guard\.agentRoles cannot be given: .*'agent-guard:agent=true'/,
    );
  });

  test('the asset bucket: a valid S3 name, and the default needs a literal account', () => {
    // S3 bucket names are lowercase, at most 63 characters (S3 user guide, bucket naming rules).
    expect(() => stackSet({ assetBucketPrefix: 'Agent_Guard' })).toThrow(/not make a valid S3 bucket name/);
    expect(() => stackSet({ assetBucketPrefix: 'a'.repeat(54) })).toThrow(/not make a valid S3 bucket name/);
    expect(() => stackSet({}, managementStack({}))).toThrow(/needs assetBucketPrefix/);
  });

  test('refuses a StackSet name that StackSets would refuse', () => {
    expect(() => stackSet({ stackSetName: '1guard' })).toThrow(/is not a StackSet name/);
    expect(() => stackSet({ stackSetName: 'agent_guard' })).toThrow(/is not a StackSet name/);
  });
});
