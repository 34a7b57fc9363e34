import { exampleGuardedRole } from '../support/guarded-role';
import { decide, Principal, STATES } from '../support/simulate';
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

  test('a role an agent creates with the boundary is inert until the guard tags it', async () => {
    const created: Principal = { ...agent, identityPolicies: [role.identityPolicies[0]], principalTags: {} };
    await expect(decide(created, { action: 'ec2:DescribeVpcs', context: STATES.open })).resolves.toBe(
      'ImplicitlyDenied',
    );
    await expect(decide(created, { action: 'ec2:DeleteVpc', context: STATES.open })).resolves.toBe('ImplicitlyDenied');
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
