import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { exampleContext } from '../../examples/example-app';
import { AgentGuard } from '../../lib';
import { boundaryDocument } from '../../lib/core/policy/boundary';
import { PolicyDocumentJson, policySize } from '../../lib/core/iam/policy-document';
import { ACCOUNT, exampleGuardedRole, PARTITION, REGION, resolveIntrinsics } from '../support/guarded-role';
import { decide, Principal, Request, STATES, VERIFIED_AGENT_TAGS } from '../support/simulate';

/*
 * Function URLs created since October 2025 need both `lambda:InvokeFunctionUrl` and
 * `lambda:InvokeFunction` (AWS-BEHAVIOUR LAM-1). A URL call carries `lambda:InvokedViaFunctionUrl`
 * = true; a direct `Invoke` lacks the key, and its event (so the caller identity) is forgeable (LAM-2).
 * Through the IAM engine: agents and approvers reach the approval function through its URL, and neither
 * can invoke it directly.
 */

const APPROVALS = `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:AgentGuardApprovals`;
const GUARD = `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:AgentGuardEvaluator`;

const viaUrl: Request[] = [
  { action: 'lambda:InvokeFunctionUrl', resource: APPROVALS, context: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
  { action: 'lambda:InvokeFunction', resource: APPROVALS, context: { 'lambda:InvokedViaFunctionUrl': 'true' } },
];
const direct: Request[] = [
  { action: 'lambda:InvokeFunction', resource: APPROVALS },
  { action: 'lambda:InvokeFunction', resource: APPROVALS, context: { 'lambda:InvokedViaFunctionUrl': 'false' } },
  { action: 'lambda:InvokeFunction', resource: GUARD },
];
const stateNames = Object.keys(STATES) as (keyof typeof STATES)[];
const label = (r: Request) => `${r.action} ${JSON.stringify(r.context ?? {})} on ${r.resource}`;

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** Builds a stack with a guard (approvers given) and returns the template and the resolved resources. */
function guardStack(setup: (stack: Stack, guard: AgentGuard, agentRole: iam.Role) => void): Resources {
  const app = new App({ context: exampleContext() });
  const stack = new Stack(app, 'UrlStack');
  const agentRole = new iam.Role(stack, 'Agent', { assumedBy: new iam.AccountRootPrincipal() });
  const guard = new AgentGuard(stack, 'Guard', { agentRoles: [agentRole], approvers: ['arn:aws:iam::*:role/OnCall'] });
  setup(stack, guard, agentRole);
  return Template.fromStack(stack).toJSON().Resources as Resources;
}

/** The inline policies CDK attached to the role with logical id prefix `roleId`, resolved. */
function inlinePolicies(resources: Resources, roleId: string): { name: string; policy: PolicyDocumentJson }[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
    .filter(([, r]) => JSON.stringify(r.Properties.Roles).includes(`"${roleId}`))
    .map(([id, r]) => ({
      name: id,
      policy: resolveIntrinsics(r.Properties.PolicyDocument, resources) as PolicyDocumentJson,
    }));
}

describe('an agent with AdministratorAccess inside the guard (the example role)', () => {
  const role = exampleGuardedRole();
  const agent: Principal = { identityPolicies: role.identityPolicies, boundary: role.boundary };

  describe.each(stateNames)('in state %s', (state) => {
    test.each(viaUrl.map((r) => [label(r), r] as const))('may call the approval URL: %s', async (_l, request) => {
      await expect(decide(agent, { ...request, context: { ...STATES[state], ...request.context } })).resolves.toBe(
        'Allowed',
      );
    });
    test.each(direct.map((r) => [label(r), r] as const))('may not invoke directly: %s', async (_l, request) => {
      await expect(decide(agent, { ...request, context: { ...STATES[state], ...request.context } })).resolves.toBe(
        'ExplicitlyDenied',
      );
    });
  });

  test('the boundary stays within 90% of the managed-policy limit in the worst case (aws-us-gov, longest stack name)', () => {
    const size = policySize(
      boundaryDocument({
        partition: 'aws-us-gov',
        account: '123456789012',
        // CloudFormation stack names are at most 128 characters
        guardStackName: 'A'.repeat(128),
        ceilingActions: ['*'],
      }),
    );
    expect(size).toBeLessThanOrEqual(Math.floor(0.9 * 6144));
  });
});

/** A role of the stack as IAM would hold it: its managed and inline policies, and its boundary. */
function principalOf(resources: Resources, roleId: string, tags: Record<string, string>): Principal {
  const roleEntry = Object.entries(resources).find(([id, r]) => r.Type === 'AWS::IAM::Role' && id.startsWith(roleId))!;
  const props = resolveIntrinsics(roleEntry[1].Properties, resources) as Record<string, unknown>;
  const managed = new Map<string, { name: string; policy: PolicyDocumentJson }>();
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const name = r.Properties.ManagedPolicyName as string;
    managed.set(`arn:${PARTITION}:iam::${ACCOUNT}:policy${r.Properties.Path as string}${name}`, {
      name,
      policy: resolveIntrinsics(r.Properties.PolicyDocument, resources) as PolicyDocumentJson,
    });
  }
  const lookup = (arn: string) => managed.get(arn)!;
  return {
    identityPolicies: [
      ...((props.ManagedPolicyArns as string[] | undefined) ?? []).map(lookup),
      ...inlinePolicies(resources, roleEntry[0]),
    ],
    boundary: props.PermissionsBoundary ? lookup(props.PermissionsBoundary as string) : undefined,
    principalTags: tags,
  };
}

describe.each([
  ['grantRequest, to an agent role with no other policies', 'Agent', VERIFIED_AGENT_TAGS],
  ['grantApprove, to an on-call role', 'OnCall', {}],
] as const)('%s', (_what, roleId, tags) => {
  const resources = guardStack((stack, guard, agentRole) => {
    if (roleId === 'Agent') {
      guard.grantRequest(agentRole);
    } else {
      guard.grantApprove(new iam.Role(stack, 'OnCall', { assumedBy: new iam.AccountRootPrincipal() }));
    }
  });
  const principal = principalOf(resources, roleId, tags);

  test('holds a policy from the grant', () => {
    expect(principal.identityPolicies.length).toBeGreaterThan(0);
    expect(roleId === 'Agent' ? principal.boundary : 'none').toBeDefined();
  });

  describe.each(stateNames)('in state %s', (state) => {
    test.each(viaUrl.map((r) => [label(r), r] as const))('may call the approval URL: %s', async (_l, request) => {
      await expect(decide(principal, { ...request, context: { ...STATES[state], ...request.context } })).resolves.toBe(
        'Allowed',
      );
    });
    test.each(direct.map((r) => [label(r), r] as const))('may not invoke directly: %s', async (_l, request) => {
      await expect(
        decide(principal, { ...request, context: { ...STATES[state], ...request.context } }),
      ).resolves.not.toBe('Allowed');
    });
  });
});

describe('without approvers', () => {
  test.each(['grantRequest', 'grantApprove'] as const)('%s throws a clear error', (method) => {
    const stack = new Stack(new App({ context: exampleContext() }), 'NoApprovers');
    const agentRole = new iam.Role(stack, 'Agent', { assumedBy: new iam.AccountRootPrincipal() });
    const guard = new AgentGuard(stack, 'Guard', { agentRoles: [agentRole] });
    expect(() => guard[method](agentRole)).toThrow(/no approval function.*approvers/);
  });
});
