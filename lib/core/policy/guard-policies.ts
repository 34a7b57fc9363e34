import { isoSeconds } from '../approval/duration';
import { iamReference } from '../catalog/iam-reference';
import { MANAGED_POLICY_MAX_CHARS, STATE_OPEN, STATE_TAG } from '../contract';
import { compressService, splitAction } from '../iam/action-pattern';
import {
  ConditionBlock,
  mergeConditions,
  NamedPolicy,
  policyDocument,
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
  /** @default - none: the standard guard policies */
  readonly carveOuts?: readonly CarveOut[];
  /** Fail if the catalog needs more policies than this. @default 3 */
  readonly maxPolicies?: number;
  /** Shortest action prefix a compressed pattern may keep. @default 3 */
  readonly minPrefix?: number;
}

const SID_SAFE = /^[A-Za-z0-9]+$/;

/**
 * Packs the protected catalog into as few managed policies as fit IAM's size limit. With carve-outs,
 * it emits a role's approval versions: the same denies, minus the approved actions on the approved
 * resources until each approval's expiry.
 */
export function compileGuardPolicies(options: GuardPolicyOptions): NamedPolicy[] {
  const { catalog, carveOuts = [], maxPolicies = 3, minPrefix = 3 } = options;
  const carved = carvedActions(catalog, carveOuts);

  const fixed: PolicyStatementJson[] = [
    ...catalog.conditional.flatMap((rule, i) => conditionalStatement(rule, i, carved)),
    ...carveOutStatements(catalog, carveOuts),
  ];
  const patterns = plainPatterns(catalog, carved, minPrefix);
  const policies = pack(fixed, patterns);
  if (policies.length > maxPolicies) {
    throw new Error(
      `The protected catalog needs ${policies.length} guard policies of at most ${MANAGED_POLICY_MAX_CHARS} characters, ` +
        `more than the ${maxPolicies} allowed. Exempt actions, drop custom groups or combine approvals.`,
    );
  }
  return policies.map((statements, i) => ({ name: options.policyName(i + 1), document: policyDocument(statements) }));
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

function plainPatterns(catalog: ResolvedCatalog, carved: ReadonlySet<string>, minPrefix: number): string[] {
  const byService = new Map<string, Set<string>>();
  for (const action of catalog.plain.keys()) {
    if (carved.has(action)) continue;
    const { service, name } = splitAction(action);
    byService.set(service, (byService.get(service) ?? new Set()).add(name));
  }
  return [...byService.keys()]
    .sort()
    .flatMap((service) =>
      compressService(service, iamReference.actionsOf(service), byService.get(service)!, minPrefix),
    );
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
function pack(fixed: PolicyStatementJson[], patterns: string[]): PolicyStatementJson[][] {
  const policies: PolicyStatementJson[][] = [];
  const fits = (statements: PolicyStatementJson[]): boolean =>
    policySize(policyDocument(statements)) <= MANAGED_POLICY_MAX_CHARS;

  for (const statement of fixed) {
    const target = policies.find((p) => fits([...p, statement]));
    if (target) target.push(statement);
    else if (fits([statement])) policies.push([statement]);
    else throw new Error(`Statement ${statement.Sid} alone exceeds ${MANAGED_POLICY_MAX_CHARS} characters.`);
  }

  let index = 0;
  let remaining = patterns;
  while (remaining.length > 0) {
    const base = policies[index] ?? [];
    const statement: PolicyStatementJson = {
      Sid: `DenyLocked${index + 1}`,
      Effect: 'Deny',
      Action: [],
      Resource: '*',
      Condition: LOCKED_CONDITION,
    };
    let size = policySize(policyDocument([...base, statement]));
    let taken = 0;
    for (const pattern of remaining) {
      const added = pattern.length + (taken === 0 ? 2 : 3);
      if (size + added > MANAGED_POLICY_MAX_CHARS) break;
      size += added;
      taken++;
    }
    if (taken > 0) {
      statement.Action = remaining.slice(0, taken);
      policies[index] = [...base, statement];
      remaining = remaining.slice(taken);
    } else if (base.length === 0) {
      throw new Error(`Action pattern ${remaining[0]} does not fit an empty policy.`);
    }
    index++;
  }
  return policies;
}
