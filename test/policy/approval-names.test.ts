import { MAX_APPROVAL_POLICIES } from '../../lib/core/approval/approval-policies';
import {
  approvalPolicyName,
  completeApprovalSet,
  guardPolicyName,
  MAX_GUARD_POLICIES,
  parseApprovalPolicyArn,
  requiredGuardPolicyArns,
  staleApprovalSets,
  withApprovalVersions,
} from '../../lib/core/contract';
import { guardPolicyDigest } from '../../lib/core/policy/guard-digest';
import { compileGuardPolicies } from '../../lib/core/policy/guard-policies';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';

const POLICY_PREFIX = 'arn:aws:iam::111122223333:policy/agent-guard/';
const arnOf = (name: string) => `${POLICY_PREFIX}${name}`;
const STANDARD = [1, 2, 3].map((i) => arnOf(guardPolicyName(i)));
const DIGEST = guardPolicyDigest(
  compileGuardPolicies({ catalog: resolveCatalog(), policyName: guardPolicyName }).map((p) => p.document),
);
const EARLIER = guardPolicyDigest(
  compileGuardPolicies({
    catalog: resolveCatalog({ exemptActions: ['ec2:TerminateInstances'] }),
    policyName: guardPolicyName,
  }).map((p) => p.document),
);

describe('approval version names carry the digest of the guard policies they were compiled against', () => {
  test('the longest name fits IAM (IAM-3: a policy name is at most 128 characters)', () => {
    // The set id is the service's: 16 letters and digits; the most versions and standard policies
    const setId = 'z'.repeat(16);
    const name = approvalPolicyName(setId, MAX_APPROVAL_POLICIES, MAX_APPROVAL_POLICIES, MAX_GUARD_POLICIES, DIGEST);
    expect(name).toBe(`AgentGuardApproval-${setId}-3of3-Deny4-${DIGEST}`);
    expect(name.length).toBeLessThanOrEqual(128);
  });

  test('the digest is SHA-256 hex, the same for the same documents and another after a change', () => {
    expect(DIGEST).toMatch(/^[0-9a-f]+$/);
    expect(EARLIER).toMatch(/^[0-9a-f]+$/);
    expect(EARLIER).not.toBe(DIGEST);
    const again = compileGuardPolicies({ catalog: resolveCatalog(), policyName: guardPolicyName });
    expect(guardPolicyDigest(again.map((p) => p.document))).toBe(DIGEST);
  });

  test('parse reads the set, index, count, replaced policy and digest back', () => {
    expect(parseApprovalPolicyArn(arnOf(approvalPolicyName('set1', 2, 3, 4, DIGEST)))).toEqual({
      setId: 'set1',
      index: 2,
      count: 3,
      replaces: 4,
      digest: DIGEST,
    });
  });

  test('parse still recognises the names made before versions carried a digest, so they can be removed', () => {
    expect(parseApprovalPolicyArn(arnOf('AgentGuardApproval-set1-1of2-Deny2'))).toEqual({
      setId: 'set1',
      index: 1,
      count: 2,
      replaces: 2,
    });
    expect(parseApprovalPolicyArn(arnOf('AgentGuardApproval-set1-1of2'))).toEqual({
      setId: 'set1',
      index: 1,
      count: 2,
    });
    expect(parseApprovalPolicyArn(arnOf(`AgentGuardApproval-set1-1of2-Deny2-${DIGEST}x`))).toBeUndefined();
    expect(parseApprovalPolicyArn(arnOf(guardPolicyName(1)))).toBeUndefined();
  });
});

describe('a set of another digest stands in for nothing: the standard set is required', () => {
  const current = [arnOf(approvalPolicyName('set1', 1, 1, 2, DIGEST))];
  const earlier = [arnOf(approvalPolicyName('set1', 1, 1, 2, EARLIER))];
  const legacy = [arnOf('AgentGuardApproval-set1-1of1-Deny2')];
  const attached = (versions: string[]) => [STANDARD[0], STANDARD[2], ...versions];

  test('a complete set of the current digest replaces the standard policy it names', () => {
    expect(completeApprovalSet(attached(current), 'set1', DIGEST)).toEqual(current);
    expect(requiredGuardPolicyArns(attached(current), 'set1', STANDARD, DIGEST)).toEqual(attached(current));
    expect(staleApprovalSets(attached(current), DIGEST)).toEqual([]);
  });

  test.each([
    ['an earlier digest', earlier],
    ['no digest (named before this change)', legacy],
  ])('a complete set with %s: incomplete, so every standard policy is required', (_, versions) => {
    expect(completeApprovalSet(attached(versions), 'set1', DIGEST)).toBeUndefined();
    expect(requiredGuardPolicyArns(attached(versions), 'set1', STANDARD, DIGEST)).toBe(STANDARD);
    expect(withApprovalVersions(STANDARD, versions, DIGEST)).toEqual([...STANDARD, ...versions]);
    expect(staleApprovalSets(attached(versions), DIGEST)).toEqual(['set1']);
  });

  test('one stale version spoils its set, even next to current ones', () => {
    const mixed = [
      arnOf(approvalPolicyName('set1', 1, 2, 1, DIGEST)),
      arnOf(approvalPolicyName('set1', 2, 2, 2, EARLIER)),
    ];
    expect(requiredGuardPolicyArns([STANDARD[2], ...mixed], 'set1', STANDARD, DIGEST)).toBe(STANDARD);
  });
});
