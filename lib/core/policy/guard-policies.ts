import { isoSeconds } from '../approval/duration';
import { iamReference } from '../catalog/iam-reference';
import { GUARD_POLICY_BUDGET_CHARS, MAX_GUARD_POLICIES, STATE_OPEN, STATE_TAG } from '../contract';
import { compressService, splitAction } from '../iam/action-pattern';
import {
  ConditionBlock,
  mergeConditions,
  NamedPolicy,
  policyDocument,
  PolicyDocumentJson,
  policySize,
  PolicyStatementJson,
} from '../iam/policy-document';
import { ConditionalDeny, ResolvedCatalog } from './resolve-catalog';

/** Deny unless the principal carries `agent-guard:state=open`; a missing tag leaves the condition true. */
export const LOCKED_CONDITION: ConditionBlock = { StringNotEquals: { [`aws:PrincipalTag/${STATE_TAG}`]: STATE_OPEN } };

/** Protected actions lifted on some resources until a literal expiry: the effect of one approval. */
export interface CarveOut {
  /** Approval id; appears in Sids, so letters and digits only. */
  readonly id: string;
  /** Exact protected actions (`svc:Action`), as the catalog spells them. */
  readonly actions: readonly string[];
  /** Resource ARN patterns the actions are lifted on. */
  readonly resources: readonly string[];
  /** IAM denies the actions again after this instant, whatever else happens. */
  readonly expiresAt: Date;
}

export interface GuardPolicyOptions {
  readonly catalog: ResolvedCatalog;
  /** Name of the n-th (1-based) policy. */
  readonly policyName: (index: number) => string;
  /** Fail if the catalog needs more policies than this. @default MAX_GUARD_POLICIES */
  readonly maxPolicies?: number;
  /** Shortest action prefix a compressed pattern may keep. @default 3 */
  readonly minPrefix?: number;
}

export interface ApprovalVersionOptions {
  readonly catalog: ResolvedCatalog;
  readonly carveOuts: readonly CarveOut[];
  /** As for the standard policies, which the versions must line up with. @default MAX_GUARD_POLICIES */
  readonly maxPolicies?: number;
  /** @default 3 */
  readonly minPrefix?: number;
}

/** One approval version: a policy that stands in for one standard guard policy. */
export interface ApprovalVersion {
  /** The 1-based index of the standard guard policy it stands in for. */
  readonly replaces: number;
  readonly document: PolicyDocumentJson;
}

const SID_SAFE = /^[A-Za-z0-9]+$/;

/** What one standard guard policy holds: conditional rules (by catalog index) and whole services. */
interface Slice {
  readonly rules: readonly number[];
  readonly services: readonly string[];
}

/**
 * Packs the protected catalog into as few managed policies of at most
 * {@link GUARD_POLICY_BUDGET_CHARS} as it needs, each holding whole services and whole conditional
 * rules, with the sizes balanced so every policy keeps room to grow.
 */
export function compileGuardPolicies(options: GuardPolicyOptions): NamedPolicy[] {
  const { catalog, maxPolicies = MAX_GUARD_POLICIES, minPrefix = 3 } = options;
  const targets = plainByService(catalog);
  return layout(catalog, targets, minPrefix, maxPolicies).map((slice, i) => {
    const patterns = patternsOf(slice.services, targets, new Set(), minPrefix);
    const statements = [
      ...slice.rules.flatMap((r) => conditionalStatement(catalog.conditional[r], r, new Set())),
      ...(patterns.length > 0 ? [lockedStatement(i + 1, patterns)] : []),
    ];
    return { name: options.policyName(i + 1), document: checkedDocument(statements) };
  });
}

/**
 * A role's approval versions: for each standard policy that holds an approved action, the same denies
 * minus the approved actions, plus the carve-out statements that deny them again outside the approved
 * resources and after each approval's expiry. A version that outgrows the budget spills into a second
 * one for the same standard policy. Standard policies that hold no approved action get no version:
 * they stay attached as they are.
 */
export function compileApprovalVersions(options: ApprovalVersionOptions): ApprovalVersion[] {
  const { catalog, carveOuts, maxPolicies = MAX_GUARD_POLICIES, minPrefix = 3 } = options;
  const carved = carvedActions(catalog, carveOuts);
  const targets = plainByService(catalog);
  return layout(catalog, targets, minPrefix, maxPolicies).flatMap((slice, i) => {
    const home = [...carved].filter((action) =>
      catalog.plain.has(action)
        ? slice.services.includes(splitAction(action).service)
        : homeRule(catalog, action, slice),
    );
    const touched =
      home.length > 0 || slice.rules.some((r) => catalog.conditional[r].actions.some((a) => carved.has(a)));
    if (!touched) return [];
    const local = carveOuts
      .map((c) => ({ ...c, actions: c.actions.filter((a) => home.includes(a)) }))
      .filter((c) => c.actions.length > 0);
    const fixed = [
      ...slice.rules.flatMap((r) => conditionalStatement(catalog.conditional[r], r, carved)),
      ...carveOutStatements(catalog, local),
    ];
    return pack(fixed, patternsOf(slice.services, targets, carved, minPrefix), i + 1).map((statements) => ({
      replaces: i + 1,
      document: checkedDocument(statements),
    }));
  });
}

/** A conditional-only action's carve-out lives with the first rule that names it. */
function homeRule(catalog: ResolvedCatalog, action: string, slice: Slice): boolean {
  return slice.rules.includes(catalog.conditional.findIndex((rule) => rule.actions.includes(action)));
}

function carvedActions(catalog: ResolvedCatalog, carveOuts: readonly CarveOut[]): Set<string> {
  const carved = new Set<string>();
  for (const carveOut of carveOuts) {
    if (!SID_SAFE.test(carveOut.id)) throw new Error(`Approval id '${carveOut.id}' must be letters and digits only.`);
    if (carveOut.resources.length === 0) throw new Error(`Approval ${carveOut.id} names no resources.`);
    for (const action of carveOut.actions) {
      if (!catalog.plain.has(action) && !catalog.conditional.some((rule) => rule.actions.includes(action))) {
        throw new Error(`Approval ${carveOut.id}: ${action} is not a protected action, so it needs no approval.`);
      }
      carved.add(action);
    }
  }
  return carved;
}

/** The catalog's plain actions by service, as names without the prefix. */
function plainByService(catalog: ResolvedCatalog): Map<string, Set<string>> {
  const byService = new Map<string, Set<string>>();
  for (const action of catalog.plain.keys()) {
    const { service, name } = splitAction(action);
    byService.set(service, (byService.get(service) ?? new Set()).add(name));
  }
  return byService;
}

function patternsOf(
  services: readonly string[],
  targets: ReadonlyMap<string, ReadonlySet<string>>,
  carved: ReadonlySet<string>,
  minPrefix: number,
): string[] {
  return services.flatMap((service) => {
    const names = [...targets.get(service)!].filter((name) => !carved.has(`${service}:${name}`));
    return names.length === 0
      ? []
      : compressService(service, iamReference.actionsOf(service), new Set(names), minPrefix);
  });
}

function lockedStatement(index: number, patterns: string[]): PolicyStatementJson {
  return { Sid: `DenyLocked${index}`, Effect: 'Deny', Action: patterns, Resource: '*', Condition: LOCKED_CONDITION };
}

/**
 * Which standard policy holds each conditional rule and each service. The assignment depends on the
 * catalog only, never on approvals, so an approval changes only the policies that hold its actions.
 * Units keep their order (rules, then services by name) and are cut into the fewest contiguous runs
 * that fit the budget; the cut points are then moved to make the runs as even as possible.
 */
function layout(
  catalog: ResolvedCatalog,
  targets: ReadonlyMap<string, ReadonlySet<string>>,
  minPrefix: number,
  maxPolicies: number,
): Slice[] {
  interface Unit {
    readonly rule?: number;
    readonly service?: string;
    readonly size: number;
  }
  const units: Unit[] = [
    ...catalog.conditional.flatMap((rule, r) =>
      conditionalStatement(rule, r, new Set()).map((s) => ({ rule: r, size: statementSize(s) + 1 })),
    ),
    ...[...targets.keys()].sort().map((service) => ({
      service,
      size: patternsOf([service], targets, new Set(), minPrefix).reduce((n, p) => n + p.length + 3, 0),
    })),
  ];
  // An empty policy with an empty locked statement: every unit adds its size to this, or less.
  const base = policySize(policyDocument([lockedStatement(1, [])]));
  const cut = (capacity: number): Unit[][] => {
    const runs: Unit[][] = [];
    let size = Infinity;
    for (const unit of units) {
      if (base + unit.size > capacity) {
        const what = unit.service ? `the actions of ${unit.service}` : `rule ${unit.rule! + 1}`;
        throw new Error(`${what} alone do not fit a policy of ${GUARD_POLICY_BUDGET_CHARS} characters.`);
      }
      if (size + unit.size > capacity) {
        runs.push([]);
        size = base;
      }
      runs[runs.length - 1].push(unit);
      size += unit.size;
    }
    return runs;
  };
  const fewest = cut(GUARD_POLICY_BUDGET_CHARS);
  if (fewest.length > maxPolicies) {
    throw new Error(
      `The protected catalog needs ${fewest.length} guard policies of at most ${GUARD_POLICY_BUDGET_CHARS} ` +
        `characters, more than the ${maxPolicies} allowed. Exempt actions or drop custom groups.`,
    );
  }
  // The smallest capacity that still needs no more policies: binary search, as `cut` is monotone.
  const largest = Math.max(...units.map((u) => u.size));
  let low = base + largest;
  let high = GUARD_POLICY_BUDGET_CHARS;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (cut(mid).length <= fewest.length) high = mid;
    else low = mid + 1;
  }
  return cut(low).map((run) => ({
    rules: run.flatMap((u) => (u.rule === undefined ? [] : [u.rule])),
    services: run.flatMap((u) => (u.service === undefined ? [] : [u.service])),
  }));
}

function statementSize(statement: PolicyStatementJson): number {
  return JSON.stringify(statement).replace(/\s/g, '').length;
}

/** The document, checked against the budget (the layout's sizes are an upper bound, so this holds). */
function checkedDocument(statements: PolicyStatementJson[]): PolicyDocumentJson {
  const document = policyDocument(statements);
  if (policySize(document) > GUARD_POLICY_BUDGET_CHARS) {
    throw new Error(
      `A guard policy came out at ${policySize(document)} characters, over ${GUARD_POLICY_BUDGET_CHARS}.`,
    );
  }
  return document;
}

function sidPart(group: string): string {
  return group.replace(/(^|-)([a-z])/g, (_m, _dash, c: string) => c.toUpperCase());
}

function conditionalStatement(
  rule: ConditionalDeny,
  index: number,
  carved: ReadonlySet<string>,
): PolicyStatementJson[] {
  const actions = rule.actions.filter((a) => !carved.has(a));
  if (actions.length === 0) return [];
  return [
    {
      Sid: `Deny${sidPart(rule.group)}${index + 1}`,
      Effect: 'Deny',
      Action: [...actions],
      Resource: rule.resources ? [...rule.resources] : '*',
      Condition: mergeConditions(LOCKED_CONDITION, rule.condition),
    },
  ];
}

/** The extra condition under which the catalog protects `action`: undefined for a plain action. */
function ruleConditionOf(catalog: ResolvedCatalog, action: string): ConditionBlock | undefined {
  return catalog.plain.has(action) ? undefined : catalog.conditional.find((r) => r.actions.includes(action))!.condition;
}

/**
 * Outside the approved resources a carved action stays denied; on them it is denied again after the
 * expiry. Approvals that lift the same action compose: the resources of all of them are left out of
 * the "outside" deny, and each keeps its own expiry (overlapping resources follow the earliest one).
 */
function carveOutStatements(catalog: ResolvedCatalog, carveOuts: readonly CarveOut[]): PolicyStatementJson[] {
  const outside = new Map<string, { actions: string[]; resources: string[]; condition: ConditionBlock }>();
  const expiry: PolicyStatementJson[] = [];
  for (const carveOut of carveOuts) {
    const byRule = new Map<string, string[]>();
    for (const action of carveOut.actions) {
      const key = JSON.stringify(ruleConditionOf(catalog, action) ?? {});
      byRule.set(key, [...(byRule.get(key) ?? []), action]);
    }
    [...byRule].forEach(([ruleKey, actions], i) => {
      const rule = JSON.parse(ruleKey) as ConditionBlock;
      expiry.push({
        Sid: `Approval${carveOut.id}Expiry${i + 1}`,
        Effect: 'Deny',
        Action: actions,
        Resource: [...carveOut.resources],
        Condition: mergeConditions(LOCKED_CONDITION, rule, {
          DateGreaterThan: { 'aws:CurrentTime': isoSeconds(carveOut.expiresAt) },
        }),
      });
    });
  }
  for (const action of new Set(carveOuts.flatMap((c) => c.actions))) {
    const resources = [
      ...new Set(carveOuts.filter((c) => c.actions.includes(action)).flatMap((c) => c.resources)),
    ].sort();
    const condition = mergeConditions(LOCKED_CONDITION, ruleConditionOf(catalog, action));
    const key = JSON.stringify([resources, condition]);
    const entry = outside.get(key) ?? { actions: [], resources, condition };
    entry.actions.push(action);
    outside.set(key, entry);
  }
  const outsideStatements = [...outside.values()].map((entry, i): PolicyStatementJson => ({
    Sid: `ApprovalOutside${i + 1}`,
    Effect: 'Deny',
    Action: entry.actions,
    NotResource: entry.resources,
    Condition: entry.condition,
  }));
  return [...outsideStatements, ...expiry];
}

/** First-fit: fixed statements first, then the plain patterns fill each policy in turn. */
function pack(fixed: PolicyStatementJson[], patterns: string[], index: number): PolicyStatementJson[][] {
  const policies: PolicyStatementJson[][] = [];
  const fits = (statements: PolicyStatementJson[]): boolean =>
    policySize(policyDocument(statements)) <= GUARD_POLICY_BUDGET_CHARS;

  for (const statement of fixed) {
    const target = policies.find((p) => fits([...p, statement]));
    if (target) target.push(statement);
    else if (fits([statement])) policies.push([statement]);
    else throw new Error(`Statement ${statement.Sid} alone exceeds ${GUARD_POLICY_BUDGET_CHARS} characters.`);
  }

  let part = 0;
  let remaining = patterns;
  while (remaining.length > 0) {
    const base = policies[part] ?? [];
    const statement = lockedStatement(index, []);
    let size = policySize(policyDocument([...base, statement]));
    let taken = 0;
    for (const pattern of remaining) {
      const added = pattern.length + (taken === 0 ? 2 : 3);
      if (size + added > GUARD_POLICY_BUDGET_CHARS) break;
      size += added;
      taken++;
    }
    if (taken > 0) {
      statement.Action = remaining.slice(0, taken);
      policies[part] = [...base, statement];
      remaining = remaining.slice(taken);
    } else if (base.length === 0) {
      throw new Error(`Action pattern ${remaining[0]} does not fit an empty policy.`);
    }
    part++;
  }
  return policies;
}
