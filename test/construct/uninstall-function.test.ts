import { Template } from 'aws-cdk-lib/assertions';
import { createExampleApp } from '../../examples/example-app';
import { UNINSTALL_CONFIG_ENV } from '../../lib/core/config';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { loadConfig } from '../../lambda/uninstall/config';
import { ACCOUNT, exampleGuardedRole, resolveIntrinsics } from '../support/guarded-role';
import { decide } from '../support/simulate';

type Resources = Parameters<typeof resolveIntrinsics>[1];
type Resource = Resources[string] & { DependsOn?: string[] };

const template = Template.fromStack(createExampleApp().stack);
const resources = template.toJSON().Resources as Record<string, Resource>;
const idOf = (predicate: (r: Resource) => boolean) => Object.keys(resources).filter((id) => predicate(resources[id]));
const [cleanUp] = idOf((r) => r.Type === 'Custom::AgentGuardUninstall');
const managedPolicy = (name: string) =>
  idOf((r) => r.Type === 'AWS::IAM::ManagedPolicy' && r.Properties.ManagedPolicyName === name)[0];

/** Every resource `id` depends on, through DependsOn, Ref or GetAtt: all of them are deleted after it. */
function deletedAfter(id: string, seen = new Set<string>()): Set<string> {
  const direct = new Set<string>(resources[id].DependsOn ?? []);
  JSON.stringify(resources[id].Properties ?? {}, (key, value: unknown) => {
    if (key === 'Ref' && typeof value === 'string' && value in resources) direct.add(value);
    if (key === 'Fn::GetAtt' && Array.isArray(value) && typeof value[0] === 'string') direct.add(value[0]);
    return value;
  });
  for (const dep of direct) {
    if (seen.has(dep)) continue;
    seen.add(dep);
    deletedAfter(dep, seen);
  }
  return seen;
}

describe('the clean-up on cdk destroy: order of deletion', () => {
  test('one clean-up resource, which the boundary and every guard policy outlive', () => {
    expect(idOf((r) => r.Type === 'Custom::AgentGuardUninstall')).toHaveLength(1);
    expect(resources[cleanUp].DependsOn).toEqual(
      expect.arrayContaining([
        managedPolicy('AgentGuardBoundary'),
        managedPolicy('AgentGuardDeny1'),
        managedPolicy('AgentGuardDeny2'),
        managedPolicy('AgentGuardDeny3'),
      ]),
    );
    for (const policy of ['AgentGuardBoundary', 'AgentGuardDeny1', 'AgentGuardDeny2', 'AgentGuardDeny3']) {
      expect(deletedAfter(managedPolicy(policy)).has(cleanUp)).toBe(false);
    }
  });

  test('every rule and every guard or approval function is deleted before the clean-up runs', () => {
    const triggers = idOf(
      (r) =>
        r.Type === 'AWS::Events::Rule' ||
        (r.Type === 'AWS::Lambda::Function' && !String(r.Properties.FunctionName).startsWith('AgentGuardUninstall')),
    );
    expect(triggers.length).toBeGreaterThanOrEqual(7);
    for (const id of triggers) expect([id, deletedAfter(id).has(cleanUp)]).toEqual([id, true]);
  });

  test('the clean-up itself does not wait for anything of the guard that could re-constrain roles', () => {
    const waitsFor = [...deletedAfter(cleanUp)].map((id) => resources[id].Type);
    expect(waitsFor).not.toContain('AWS::Events::Rule');
    expect(waitsFor.filter((t) => t === 'AWS::Lambda::Function')).toHaveLength(2); // its own and the framework's
  });

  test('its configuration passes the function’s validation and names the guard’s schedule rule', () => {
    const fn = Object.values(resources).find(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === 'AgentGuardUninstall',
    )!;
    const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const stackId = `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/AgentGuardExample/0b1c2d3e`;
    const withStackId = JSON.parse(
      JSON.stringify(variables[UNINSTALL_CONFIG_ENV]).replaceAll('{"Ref":"AWS::StackId"}', JSON.stringify(stackId)),
    ) as unknown;
    const config = loadConfig({ [UNINSTALL_CONFIG_ENV]: resolveIntrinsics(withStackId, resources) as string });
    expect(config).toMatchObject({
      boundaryArn: `arn:aws:iam::${ACCOUNT}:policy/agent-guard/AgentGuardBoundary`,
      stackId,
      guardPolicyArns: [
        `arn:aws:iam::${ACCOUNT}:policy/agent-guard/AgentGuardDeny1`,
        `arn:aws:iam::${ACCOUNT}:policy/agent-guard/AgentGuardDeny2`,
        `arn:aws:iam::${ACCOUNT}:policy/agent-guard/AgentGuardDeny3`,
        `arn:aws:iam::${ACCOUNT}:policy/agent-guard/AgentGuardDeny4`,
      ],
    });
    // The rule it waits for is a rule of the guard, with a schedule: it exists while the guard runs.
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: config.guardRuleName,
      ScheduleExpression: 'rate(5 minutes)',
    });
  });

  test('the function and its framework carry guard names and paths, which the boundary protects', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'AgentGuardUninstall', Timeout: 840 });
    template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'AgentGuardUninstallProvider' });
    const roles = Object.keys(resources).filter(
      (id) => id.startsWith('GuardUninstall') && resources[id].Type === 'AWS::IAM::Role',
    );
    expect(roles.length).toBe(2);
    for (const id of roles) expect(resources[id].Properties.Path).toBe('/agent-guard/');
  });
});

describe('agents cannot run the clean-up (IAM evaluation of the boundary)', () => {
  const agent = exampleGuardedRole();
  const fn = (name: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}`;
  const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/agent-guard/${name}`;

  test.each([
    ['lambda:InvokeFunction', fn('AgentGuardUninstall')],
    ['lambda:InvokeFunction', fn('AgentGuardUninstallProvider')],
    ['lambda:UpdateFunctionCode', fn('AgentGuardUninstall')],
    ['lambda:UpdateFunctionConfiguration', fn('AgentGuardUninstall')],
    ['sts:AssumeRole', role('AgentGuardExample-GuardUninstallRole1DDA0E4A-AbC123')],
    ['iam:PassRole', role('AgentGuardExample-GuardUninstallRole1DDA0E4A-AbC123')],
    ['iam:PutRolePolicy', role('AgentGuardExample-GuardUninstallProviderRole-XyZ789')],
  ])('%s on %s is denied, open or locked', async (action, resource) => {
    for (const state of [{}, { 'aws:PrincipalTag/agent-guard:state': 'open' }] as Record<string, string>[]) {
      const principal = { ...agent, principalTags: { 'aws:PrincipalTag/agent-guard:agent': 'true', ...state } };
      await expect(decide(principal, { action, resource })).resolves.toBe('ExplicitlyDenied');
    }
  });
});

describe('the clean-up role removes only guard parts (IAM evaluation)', () => {
  const permissions = Object.entries(resources).find(
    ([id, r]) => r.Type === 'AWS::IAM::Policy' && id.startsWith('GuardUninstallPermissions'),
  )![1];
  const cleanUpRole = {
    identityPolicies: [
      {
        name: 'Permissions',
        policy: resolveIntrinsics(permissions.Properties.PolicyDocument, resources) as PolicyDocumentJson,
      },
    ],
    principalTags: {},
  };
  const anyRole = `arn:aws:iam::${ACCOUNT}:role/some-agent`;
  const user = `arn:aws:iam::${ACCOUNT}:user/bot`;
  const policy = (name: string) => `arn:aws:iam::${ACCOUNT}:policy/agent-guard/${name}`;
  const approval = policy('AgentGuardApproval-ap1-1of2');
  const boundary = { 'iam:PermissionsBoundary': policy('AgentGuardBoundary') };

  test.each([
    ['iam:DetachRolePolicy', anyRole, { 'iam:PolicyARN': policy('AgentGuardDeny1') }, 'Allowed'],
    ['iam:DetachRolePolicy', anyRole, { 'iam:PolicyARN': approval }, 'Allowed'],
    ['iam:DetachRolePolicy', anyRole, { 'iam:PolicyARN': policy('TeamReadOnly') }, 'ImplicitlyDenied'],
    [
      'iam:DetachRolePolicy',
      anyRole,
      { 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess' },
      'ImplicitlyDenied',
    ],
    ['iam:DetachUserPolicy', user, { 'iam:PolicyARN': policy('AgentGuardDeny2') }, 'Allowed'],
    ['iam:DeleteRolePermissionsBoundary', anyRole, boundary, 'Allowed'],
    ['iam:DeleteUserPermissionsBoundary', user, boundary, 'Allowed'],
    [
      'iam:DeleteRolePermissionsBoundary',
      anyRole,
      { 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/TeamBoundary` },
      'ImplicitlyDenied',
    ],
    [
      'iam:UntagRole',
      anyRole,
      { 'aws:TagKeys': ['agent-guard:constrained', 'agent-guard:state', 'agent-guard:approval'] },
      'Allowed',
    ],
    ['iam:UntagRole', anyRole, { 'aws:TagKeys': ['agent-guard:agent'] }, 'ImplicitlyDenied'],
    ['iam:UntagRole', anyRole, { 'aws:TagKeys': ['agent-guard:state', 'owner'] }, 'ImplicitlyDenied'],
    ['iam:UpdateAssumeRolePolicy', anyRole, boundary, 'Allowed'],
    ['iam:UpdateAssumeRolePolicy', anyRole, { 'iam:ResourceTag/agent-guard:agent': 'true' }, 'Allowed'],
    ['iam:UpdateAssumeRolePolicy', anyRole, {}, 'ImplicitlyDenied'],
    ['iam:DeletePolicy', approval, {}, 'Allowed'],
    ['iam:DeletePolicyVersion', approval, {}, 'Allowed'],
    ['iam:DeletePolicy', policy('AgentGuardBoundary'), {}, 'ImplicitlyDenied'],
    ['iam:DeletePolicy', policy('AgentGuardDeny1'), {}, 'ImplicitlyDenied'],
    ['iam:DeletePolicy', policy('TeamReadOnly'), {}, 'ImplicitlyDenied'],
    ['iam:AttachRolePolicy', anyRole, { 'iam:PolicyARN': policy('AgentGuardDeny1') }, 'ImplicitlyDenied'],
    ['iam:PutRolePermissionsBoundary', anyRole, boundary, 'ImplicitlyDenied'],
    ['iam:TagRole', anyRole, { 'aws:TagKeys': ['agent-guard:state'] }, 'ImplicitlyDenied'],
    ['iam:TagRole', anyRole, { 'aws:TagKeys': ['agent-guard:constrained'] }, 'ImplicitlyDenied'],
    ['iam:DeleteRole', anyRole, {}, 'ImplicitlyDenied'],
    ['iam:CreatePolicy', policy('AgentGuardApproval-x-1of1'), {}, 'ImplicitlyDenied'],
  ] as [string, string, Record<string, string | string[]>, string][])(
    '%s on %s with %j → %s',
    async (action, resource, context, expected) => {
      await expect(decide(cleanUpRole, { action, resource, context })).resolves.toBe(expected);
    },
  );

  test('it reads what it needs to find the holders and to tell whether the guard is gone', async () => {
    await expect(decide(cleanUpRole, { action: 'iam:ListPolicies' })).resolves.toBe('Allowed');
    await expect(
      decide(cleanUpRole, { action: 'iam:ListEntitiesForPolicy', resource: policy('AgentGuardBoundary') }),
    ).resolves.toBe('Allowed');
    await expect(
      decide(cleanUpRole, {
        action: 'events:DescribeRule',
        resource: `arn:aws:events:us-east-1:${ACCOUNT}:rule/AgentGuardSchedule`,
      }),
    ).resolves.toBe('Allowed');
    await expect(decide(cleanUpRole, { action: 'iam:GetRole', resource: anyRole })).resolves.toBe('Allowed');
  });
});
