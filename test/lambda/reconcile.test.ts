import { APPROVAL_TAG, CONSTRAINED_TAG, STATE_TAG, TRUST_DENY_SID } from '../../lib/core/contract';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { TRUST_DENY_STATEMENT } from '../../lib/core/policy/trust-deny';
import { RoleSnapshot } from '../../lambda/shared/agent-roles';
import { DesiredRole, planRole, requiredGuardPolicies, trustWithDeny } from '../../lambda/guard/reconcile';
import {
  approvalPolicyArn,
  ASSUME_STATEMENT,
  BOUNDARY_ARN,
  EARLIER_GUARD_POLICY_DIGEST,
  GUARD_POLICY_ARNS,
  GUARD_POLICY_DIGEST,
  roleArn,
  trustPolicy,
} from '../support/guard-fixture';

const LOCKED: DesiredRole = {
  locked: true,
  boundaryArn: BOUNDARY_ARN,
  guardPolicyArns: GUARD_POLICY_ARNS,
  guardPolicyDigest: GUARD_POLICY_DIGEST,
  managedPoliciesPerRole: 10,
};
const OPEN: DesiredRole = { ...LOCKED, locked: false };

function snapshot(overrides: Partial<RoleSnapshot> & { state?: string } = {}): RoleSnapshot {
  const { state, ...rest } = overrides;
  return {
    name: 'agent-a',
    arn: roleArn('agent-a'),
    tags: {
      'agent-guard:agent': 'true',
      [CONSTRAINED_TAG]: 'true',
      ...(state === undefined ? {} : { [STATE_TAG]: state }),
    },
    boundaryArn: BOUNDARY_ARN,
    attachedPolicyArns: [...GUARD_POLICY_ARNS],
    trustPolicy: JSON.stringify(trustPolicy(true)),
    ...rest,
  };
}

const NEW_ROLE = snapshot({
  tags: { 'agent-guard:agent': 'true' },
  boundaryArn: undefined,
  attachedPolicyArns: [],
  trustPolicy: JSON.stringify(trustPolicy(false)),
});

/** What a new role needs: every guard part, a read-back of them, then the constrained tag. */
const CONSTRAIN_NEW = ['boundary', 'attach', 'attach', 'trust', 'verify', 'constrain'];

describe('planRole', () => {
  it('new role, locked: lock first, then constrain, read back, tag constrained; no repairs (it is new)', () => {
    const plan = planRole(NEW_ROLE, LOCKED);
    expect(plan.changes.map((c) => c.kind)).toEqual(['lock', ...CONSTRAIN_NEW]);
    expect(plan.changes[5]).toEqual({ kind: 'verify', boundaryArn: BOUNDARY_ARN, policyArns: GUARD_POLICY_ARNS });
    expect(plan.changes[1]).toEqual({ kind: 'boundary', boundaryArn: BOUNDARY_ARN });
    expect(plan.changes.slice(2, 4)).toEqual(GUARD_POLICY_ARNS.map((policyArn) => ({ kind: 'attach', policyArn })));
    expect(plan.repairs).toEqual([]);
    expect(plan.problems).toEqual([]);
  });

  it('new role, open: constrain first, open last', () => {
    const plan = planRole(NEW_ROLE, OPEN);
    expect(plan.changes.map((c) => c.kind)).toEqual([...CONSTRAIN_NEW, 'open']);
  });

  it.each<[string | undefined, DesiredRole, string[]]>([
    ['open', LOCKED, ['lock']],
    ['locked', LOCKED, []],
    ['locked', OPEN, ['open']],
    ['open', OPEN, []],
    ['OPEN', OPEN, ['open']],
    ['OPEN', LOCKED, ['lock']],
    ['', LOCKED, ['lock']],
  ])('constrained role in state %p: %o needs %p', (state, desired, kinds) => {
    expect(planRole(snapshot({ state }), desired).changes.map((c) => c.kind)).toEqual(kinds);
  });

  it('reads the state tag without regard to key case, as IAM does', () => {
    const tags = (key: string, value: string) => ({
      'agent-guard:agent': 'true',
      'Agent-Guard:Constrained': 'true',
      [key]: value,
    });
    expect(planRole(snapshot({ tags: tags('Agent-Guard:State', 'locked') }), LOCKED).changes).toEqual([]);
    expect(planRole(snapshot({ tags: tags('AGENT-GUARD:STATE', 'open') }), LOCKED).changes).toEqual([{ kind: 'lock' }]);
    expect(planRole(snapshot({ tags: tags('agent-guard:State', 'open') }), OPEN).changes).toEqual([]);
  });

  it('lists what a known role lost, as repairs', () => {
    const role = snapshot({
      state: 'open',
      boundaryArn: 'arn:aws:iam::111122223333:policy/Other',
      attachedPolicyArns: [GUARD_POLICY_ARNS[1]],
      trustPolicy: JSON.stringify(trustPolicy(false)),
    });
    const plan = planRole(role, LOCKED);
    // the constrained tag goes first: until the repairs read back, the role can do nothing
    expect(plan.changes.map((c) => c.kind)).toEqual([
      'unconstrain',
      'lock',
      'boundary',
      'attach',
      'trust',
      'verify',
      'constrain',
    ]);
    expect(plan.repairs).toEqual([
      'boundary replaced by arn:aws:iam::111122223333:policy/Other',
      `guard policy ${GUARD_POLICY_ARNS[0]} detached`,
      'trust-policy deny of agent-guard session tags removed',
    ]);
  });

  it.each<[string, string | undefined, RegExp]>([
    ['not JSON', '{oops', /^trust policy unreadable \(/],
    ['missing', undefined, /^trust policy unreadable \(the trust policy is missing\)$/],
    ['JSON null', 'null', /^trust policy unreadable \(/],
    ['without statements', '{"Version":"2012-10-17"}', /^trust policy unreadable \(/],
  ])(
    'a trust policy that is %s leaves the role unconstrained and locked, whatever the signals',
    (_name, trust, problem) => {
      const plan = planRole(snapshot({ state: 'open', trustPolicy: trust }), OPEN);
      expect(plan.problems).toEqual([expect.stringMatching(problem)]);
      expect(plan.changes.map((c) => c.kind)).toEqual(['unconstrain', 'lock']);
    },
  );

  const others = (n: number) => Array.from({ length: n }, (_, i) => `arn:aws:iam::aws:policy/Other${i}`);

  it('a role without room for a missing guard policy is left unconstrained and locked, attaching nothing', () => {
    // IAM-1: 10 managed policies per role by default; 9 others and one guard policy leave no room
    const role = snapshot({ state: 'open', attachedPolicyArns: [...others(9), GUARD_POLICY_ARNS[1]] });
    const plan = planRole(role, OPEN);
    expect(plan.changes.map((c) => c.kind)).toEqual(['unconstrain', 'lock']);
    expect(plan.problems).toEqual([
      'no room for 1 guard policies: 10 of the 10 managed policies a role may hold are attached',
    ]);
    expect(plan.verified).toBe(false);
  });

  it('a raised quota makes room', () => {
    const role = snapshot({ state: 'locked', attachedPolicyArns: [...others(9), GUARD_POLICY_ARNS[1]] });
    const plan = planRole(role, { ...LOCKED, managedPoliciesPerRole: 11 });
    expect(plan.problems).toEqual([]);
    expect(plan.changes.map((c) => c.kind)).toEqual(['unconstrain', 'attach', 'verify', 'constrain']);
  });

  it('a role without room still gets the boundary back: untagged, the boundary allows it nothing', () => {
    const role = snapshot({
      tags: { 'agent-guard:agent': 'true' },
      boundaryArn: undefined,
      attachedPolicyArns: others(10),
    });
    const plan = planRole(role, OPEN);
    expect(plan.changes).toEqual([{ kind: 'lock' }, { kind: 'boundary', boundaryArn: BOUNDARY_ARN }]);
  });

  it('a complete role without the constrained tag gets it from the snapshot, which is a read', () => {
    const role = snapshot({ tags: { 'agent-guard:agent': 'true', [STATE_TAG]: 'locked' } });
    const plan = planRole(role, LOCKED);
    expect(plan.changes).toEqual([{ kind: 'constrain' }]);
    expect(plan.verified).toBe(false);
    expect(planRole(snapshot({ state: 'locked' }), LOCKED)).toMatchObject({ changes: [], verified: true });
  });

  it('never plans open before any constraining change, in any case', () => {
    const states = [undefined, 'open', 'locked', 'x'];
    const boundaries = [undefined, BOUNDARY_ARN, 'arn:aws:iam::111122223333:policy/Other'];
    const policies = [[], [GUARD_POLICY_ARNS[0]], [...GUARD_POLICY_ARNS]];
    const trusts = [trustPolicy(true), trustPolicy(false)];
    for (const state of states)
      for (const boundaryArn of boundaries)
        for (const attachedPolicyArns of policies)
          for (const trust of trusts)
            for (const desired of [LOCKED, OPEN]) {
              const role = snapshot({ state, boundaryArn, attachedPolicyArns, trustPolicy: JSON.stringify(trust) });
              const kinds = planRole(role, desired).changes.map((c) => c.kind);
              // unconstrain, then lock, come first; open, if any, comes last; never both
              if (kinds.includes('unconstrain')) expect(kinds[0]).toBe('unconstrain');
              if (kinds.includes('lock')) expect(kinds.indexOf('lock')).toBe(kinds.includes('unconstrain') ? 1 : 0);
              // the constrained tag only after a read-back of any repair
              if (kinds.includes('constrain') && kinds.some((k) => ['boundary', 'attach', 'trust'].includes(k))) {
                expect(kinds.indexOf('verify')).toBe(kinds.indexOf('constrain') - 1);
              }
              if (kinds.includes('open')) expect(kinds[kinds.length - 1]).toBe('open');
              expect(kinds.includes('lock') && kinds.includes('open')).toBe(false);
              if (desired.locked) expect(kinds).not.toContain('open');
            }
  });
});

describe('requiredGuardPolicies', () => {
  const approved = (attached: string[], id = 'abc123') =>
    snapshot({ tags: { 'agent-guard:agent': 'true', [APPROVAL_TAG]: id }, attachedPolicyArns: attached });

  it('no approval: the standard policies', () => {
    expect(requiredGuardPolicies(snapshot(), GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toBe(GUARD_POLICY_ARNS);
  });

  it('an approval with all its versions attached: the versions stand in', () => {
    const versions = [approvalPolicyArn('abc123', 1), approvalPolicyArn('abc123', 2)];
    expect(requiredGuardPolicies(approved(versions), GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toEqual(versions);
  });

  it('an approval with some versions attached: the standard policies (a half-done swap re-locks)', () => {
    expect(
      requiredGuardPolicies(approved([approvalPolicyArn('abc123', 2)]), GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST),
    ).toBe(GUARD_POLICY_ARNS);
  });

  it('reads the approval tag without regard to key case', () => {
    const versions = [approvalPolicyArn('abc123', 1), approvalPolicyArn('abc123', 2)];
    const role = snapshot({
      tags: { 'agent-guard:agent': 'true', 'Agent-Guard:Approval': 'abc123' },
      attachedPolicyArns: versions,
    });
    expect(requiredGuardPolicies(role, GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toEqual(versions);
  });

  it('an approval tag with an empty value counts as none', () => {
    const versions = [approvalPolicyArn('', 1), approvalPolicyArn('', 2)];
    expect(requiredGuardPolicies(approved(versions, ''), GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toBe(
      GUARD_POLICY_ARNS,
    );
  });

  it('a set of another size stands in when complete: three approval versions for two standard policies', () => {
    const versions = [1, 2, 3].map((i) => approvalPolicyArn('abc123', i, 3));
    expect(requiredGuardPolicies(approved(versions), GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toEqual(versions);
    expect(requiredGuardPolicies(approved(versions.slice(0, 2)), GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toBe(
      GUARD_POLICY_ARNS,
    );
  });

  it('look-alike names do not count: another path, a longer id, a missing count', () => {
    const lookAlikes = [
      approvalPolicyArn('abc123', 1).replace('/agent-guard/', '/x/agent-guard/'),
      approvalPolicyArn('abc123x', 2),
      approvalPolicyArn('abc123', 2).replace('-2of2', '-2'),
    ];
    const role = approved([lookAlikes[0], approvalPolicyArn('abc123', 2)]);
    expect(requiredGuardPolicies(role, GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toBe(GUARD_POLICY_ARNS);
    expect(
      requiredGuardPolicies(
        approved([approvalPolicyArn('abc123', 1), lookAlikes[1]]),
        GUARD_POLICY_ARNS,
        GUARD_POLICY_DIGEST,
      ),
    ).toBe(GUARD_POLICY_ARNS);
    expect(
      requiredGuardPolicies(
        approved([approvalPolicyArn('abc123', 1), lookAlikes[2]]),
        GUARD_POLICY_ARNS,
        GUARD_POLICY_DIGEST,
      ),
    ).toBe(GUARD_POLICY_ARNS);
  });

  describe('versions named after the standard policy they stand in for (issue 10, "Fit")', () => {
    const [deny1, deny2] = GUARD_POLICY_ARNS;
    const forDeny2 = approvalPolicyArn('abc123', 1, 1, 2);

    it('a complete set: the standard policies it does not replace, then the versions', () => {
      expect(requiredGuardPolicies(approved([deny1, forDeny2]), GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toEqual([
        deny1,
        forDeny2,
      ]);
    });

    it('the standard policy it does not replace is repaired if it went, and only that one', () => {
      const plan = planRole(approved([forDeny2]), LOCKED);
      expect(plan.changes.filter((c) => c.kind === 'attach')).toEqual([{ kind: 'attach', policyArn: deny1 }]);
    });

    it('two versions for one standard policy (a spill) stand in only together', () => {
      const spill = [approvalPolicyArn('abc123', 1, 2, 2), approvalPolicyArn('abc123', 2, 2, 2)];
      expect(requiredGuardPolicies(approved([deny1, ...spill]), GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toEqual([
        deny1,
        ...spill,
      ]);
      expect(requiredGuardPolicies(approved([deny1, deny2, spill[0]]), GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toBe(
        GUARD_POLICY_ARNS,
      );
    });

    it('a set that misses the version for one standard policy: the whole standard set', () => {
      const set = [approvalPolicyArn('abc123', 1, 2, 1), approvalPolicyArn('abc123', 2, 2, 2)];
      expect(requiredGuardPolicies(approved([deny2, set[0]]), GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toBe(
        GUARD_POLICY_ARNS,
      );
    });

    it('without the approval tag, versions attached next to the standard set stand in for nothing', () => {
      const role = snapshot({ attachedPolicyArns: [...GUARD_POLICY_ARNS, forDeny2] });
      expect(requiredGuardPolicies(role, GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toBe(GUARD_POLICY_ARNS);
    });
  });

  describe('a set compiled against the guard policies of an earlier deploy stands in for nothing', () => {
    const [deny1, deny2] = GUARD_POLICY_ARNS;
    const earlier = approvalPolicyArn('abc123', 1, 1, 2, EARLIER_GUARD_POLICY_DIGEST);
    const lockedAndApproved = (attached: string[]) =>
      snapshot({
        tags: {
          'agent-guard:agent': 'true',
          [CONSTRAINED_TAG]: 'true',
          [STATE_TAG]: 'locked',
          [APPROVAL_TAG]: 'abc123',
        },
        attachedPolicyArns: attached,
      });

    it('a complete set of another digest: the whole standard set (the new Deny2 may hold other services)', () => {
      expect(requiredGuardPolicies(approved([deny1, earlier]), GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toBe(
        GUARD_POLICY_ARNS,
      );
      // the same set stands in under the digest it was compiled with
      expect(requiredGuardPolicies(approved([deny1, earlier]), GUARD_POLICY_ARNS, EARLIER_GUARD_POLICY_DIGEST)).toEqual(
        [deny1, earlier],
      );
    });

    it('names made before versions carried a digest count as compiled against other policies', () => {
      const legacy = `${deny1.replace(/AgentGuardDeny1$/, '')}AgentGuardApproval-abc123`;
      for (const versions of [[`${legacy}-1of2-Deny1`, `${legacy}-2of2-Deny2`], [`${legacy}-1of1`]]) {
        expect(requiredGuardPolicies(approved(versions), GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toBe(
          GUARD_POLICY_ARNS,
        );
      }
    });

    it('the guard puts the replaced standard policy back and tells on-call the approval no longer applies', () => {
      const plan = planRole(lockedAndApproved([deny1, earlier]), LOCKED);
      expect(plan.changes.map((c) => c.kind)).toEqual(['unconstrain', 'attach', 'verify', 'constrain']);
      expect(plan.changes[1]).toEqual({ kind: 'attach', policyArn: deny2 });
      expect(plan.repairs).toHaveLength(1);
      expect(plan.repairs[0]).toContain('approval set abc123');
      expect(plan.repairs[0]).toContain('earlier deploy');
      expect(plan.repairs[0]).toContain(deny2);
      expect(plan.repairs[0]).toContain('approve again');
    });

    it('once the standard set is back, nothing to do and nothing to tell again', () => {
      expect(planRole(lockedAndApproved([deny1, deny2, earlier]), LOCKED)).toMatchObject({ changes: [], repairs: [] });
    });
  });

  it('versions of another approval do not count', () => {
    const versions = [approvalPolicyArn('other', 1), approvalPolicyArn('other', 2)];
    expect(requiredGuardPolicies(approved(versions), GUARD_POLICY_ARNS, GUARD_POLICY_DIGEST)).toBe(GUARD_POLICY_ARNS);
  });
});

describe('trustWithDeny', () => {
  it('returns undefined when the statement is in place', () => {
    expect(trustWithDeny(JSON.stringify(trustPolicy(true)))).toBeUndefined();
  });

  it('adds the statement and keeps the others and the version', () => {
    const result = trustWithDeny(JSON.stringify(trustPolicy(false)));
    expect(JSON.parse(result ?? '')).toEqual({
      Version: '2012-10-17',
      Statement: [ASSUME_STATEMENT, TRUST_DENY_STATEMENT],
    });
  });

  it('accepts a single statement object', () => {
    const single = { Version: '2012-10-17', Statement: ASSUME_STATEMENT } as unknown as PolicyDocumentJson;
    const result = trustWithDeny(JSON.stringify(single));
    expect(JSON.parse(result ?? '')).toEqual({
      Version: '2012-10-17',
      Statement: [ASSUME_STATEMENT, TRUST_DENY_STATEMENT],
    });
  });

  it('replaces a weakened statement with the same Sid, without duplicating it', () => {
    const weakened: PolicyDocumentJson = {
      Version: '2012-10-17',
      Statement: [
        ASSUME_STATEMENT,
        { ...TRUST_DENY_STATEMENT, Condition: { 'ForAnyValue:StringLike': { 'aws:TagKeys': ['nothing:*'] } } },
      ],
    };
    const result = JSON.parse(trustWithDeny(JSON.stringify(weakened)) ?? '') as PolicyDocumentJson;
    const statements = Array.isArray(result.Statement) ? result.Statement : [result.Statement];
    expect(statements.filter((s) => s.Sid === TRUST_DENY_SID)).toEqual([TRUST_DENY_STATEMENT]);
    expect(statements).toHaveLength(2);
  });

  it('throws on a missing or unreadable policy', () => {
    expect(() => trustWithDeny(undefined)).toThrow('the trust policy is missing');
    expect(() => trustWithDeny('{')).toThrow(SyntaxError);
  });
});
