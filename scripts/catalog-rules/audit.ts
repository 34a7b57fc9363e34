/**
 * The verb audit: every action of the IAM catalog is decided by the rule of its verb, and every rule
 * must still match something. Pure, so the failure modes are tested on a tiny fake catalog.
 */
import { actionMatches } from '../../lib/core/iam/action-pattern';

/** One action of the IAM catalog. */
export interface IamAction {
  readonly service: string;
  /** As iam-data spells it, such as `DeleteTable` or `DELETE`. */
  readonly name: string;
  /** Service Authorization Reference access level: Read, List, Write, Permissions management or Tagging. */
  readonly accessLevel: string;
}

export type ConditionBlock = Record<string, Record<string, string | string[]>>;

/** Named actions of one verb whose decision differs from the verb's own. */
export interface ActionRule {
  /**
   * `svc:Name`, `svc:Prefix*` or `*:Prefix*` (every service), matched as IAM matches actions: without case.
   * Each pattern must match at least one action of the verb.
   */
  readonly match: readonly string[];
  /** The group the actions go to; `null` leaves them out of the catalog (an exception to a destructive verb). */
  readonly group: string | null;
  readonly reason: string;
  /** Deny only when this condition holds as well. */
  readonly condition?: ConditionBlock;
  /** Deny only on these ARN patterns. @default - every resource */
  readonly resources?: readonly string[];
  /** Why a Read or List action that this rule matches is denied anyway. @default - such an action is an error */
  readonly readDenied?: string;
}

/** The decision for every action whose name starts with one verb. */
export interface VerbRule {
  readonly reason: string;
  /** Destructive by verb: every action of the verb goes to this group, but for the `actions` that say otherwise. */
  readonly group?: string;
  readonly actions?: readonly ActionRule[];
}

export interface GroupSpec {
  readonly description: string;
}

export interface ConditionalOut {
  readonly why: string;
  readonly actions: string[];
  readonly condition: ConditionBlock;
  readonly resources?: string[];
}

export interface GroupOut {
  readonly description: string;
  readonly actions: string[];
  readonly conditional: ConditionalOut[];
}

export type Decision = 'destructive' | 'by action' | 'not destructive';

/** One row of the reviewable verb table. */
export interface VerbRow {
  readonly verb: string;
  readonly decision: Decision;
  readonly reason: string;
  /** Every action of the verb. */
  readonly total: number;
  /** Actions the catalog denies, by group. */
  readonly byGroup: Record<string, number>;
  readonly actionRules: readonly { rule: ActionRule; matched: number }[];
}

export interface AuditResult {
  readonly groups: Record<string, GroupOut>;
  readonly verbs: VerbRow[];
  /** Each names what to change; the catalog is not written while there is one. */
  readonly errors: string[];
}

// The verb is the first word of the name: a capitalised word (`Delete` of `DeleteTable`, `Parti` of
// `PartiQLDelete`), a run of capitals before the next word (`ES` of `ESHttpDelete`, `DELETE`), or a
// lower-case name's first word. IAM ignores case, so `DELETE` and `Delete` are one verb.
const VERB = /^(?:[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+)/;

/** The verb of an action name, lower-cased. */
export function verbOf(name: string): string {
  return (VERB.exec(name)?.[0] ?? name).toLowerCase();
}

function patternMatches(pattern: string, action: IamAction): boolean {
  const colon = pattern.indexOf(':');
  const service = pattern.slice(0, colon);
  if (service !== '*' && service !== action.service) return false;
  return actionMatches(`x:${pattern.slice(colon + 1)}`, `x:${action.name}`);
}

const isRead = (a: IamAction): boolean => a.accessLevel === 'Read' || a.accessLevel === 'List';
const id = (a: IamAction): string => `${a.service}:${a.name}`;

/** Decides every action of `catalog` by the rules, in the group order of `groups`. */
export function auditCatalog(
  catalog: readonly IamAction[],
  rules: Readonly<Record<string, VerbRule>>,
  groups: Readonly<Record<string, GroupSpec>>,
): AuditResult {
  const errors: string[] = [];
  const byVerb = new Map<string, IamAction[]>();
  for (const action of catalog) {
    const verb = verbOf(action.name);
    byVerb.set(verb, [...(byVerb.get(verb) ?? []), action]);
  }
  const ruleOf = new Map<string, [string, VerbRule]>();
  for (const [verb, rule] of Object.entries(rules)) {
    const key = verb.toLowerCase();
    if (ruleOf.has(key)) errors.push(`Verbs '${ruleOf.get(key)![0]}' and '${verb}' are one verb (IAM ignores case).`);
    ruleOf.set(key, [verb, rule]);
  }

  for (const [key, actions] of byVerb) {
    if (ruleOf.has(key)) continue;
    const spelling = actions[0].name.match(VERB)![0];
    const examples = actions.slice(0, 3).map(id).join(', ');
    errors.push(
      `Verb '${spelling}' (${actions.length} actions, such as ${examples}) has no rule. Add one to scripts/catalog-rules/verbs.ts with a reason.`,
    );
  }

  const out: Record<string, GroupOut> = {};
  for (const [name, spec] of Object.entries(groups))
    out[name] = { description: spec.description, actions: [], conditional: [] };
  const checkGroup = (group: string, where: string): boolean => {
    if (group in out) return true;
    errors.push(`${where}: group '${group}' is not in scripts/catalog-rules/groups.ts.`);
    return false;
  };

  const rows: VerbRow[] = [];
  for (const [key, [verb, rule]] of [...ruleOf].sort(([a], [b]) => a.localeCompare(b))) {
    const actions = byVerb.get(key) ?? [];
    if (actions.length === 0) {
      errors.push(`The rule for verb '${verb}' matches no action of iam-data. Remove it.`);
      continue;
    }
    if (rule.group !== undefined) checkGroup(rule.group, `Verb '${verb}'`);

    // Each action follows the one action rule that matches it, else the verb.
    const ruleFor = new Map<IamAction, ActionRule>();
    const actionRules = (rule.actions ?? []).map((actionRule) => {
      const where = `Verb '${verb}', rule '${actionRule.reason}'`;
      if (actionRule.group !== null) checkGroup(actionRule.group, where);
      if (actionRule.group === null && rule.group === undefined) {
        errors.push(`${where}: an exception to a verb that is not destructive changes nothing. Remove it.`);
      }
      let matched = 0;
      for (const pattern of actionRule.match) {
        const hits = actions.filter((a) => patternMatches(pattern, a));
        if (hits.length === 0) errors.push(`${where}: '${pattern}' matches no '${verb}' action of iam-data.`);
        for (const hit of hits) {
          const other = ruleFor.get(hit);
          if (other && other !== actionRule) {
            errors.push(`${where}: ${id(hit)} is matched by rule '${other.reason}' as well.`);
          } else if (!other) {
            ruleFor.set(hit, actionRule);
            matched++;
          }
        }
      }
      if (actionRule.readDenied !== undefined && !actions.some((a) => ruleFor.get(a) === actionRule && isRead(a))) {
        errors.push(`${where}: readDenied is set, but the rule matches no Read or List action. Remove it.`);
      }
      return { rule: actionRule, matched };
    });

    const byGroup: Record<string, number> = {};
    const conditional = new Map<ActionRule, string[]>();
    for (const action of actions) {
      const actionRule = ruleFor.get(action);
      const group = actionRule ? actionRule.group : (rule.group ?? null);
      if (group === null || !(group in out)) continue;
      if (isRead(action) && actionRule?.readDenied === undefined) {
        errors.push(
          `${id(action)} is a ${action.accessLevel} action, but verb '${verb}' puts it in group '${group}'. ` +
            `Add an exception (group null), or set readDenied with the reason it is denied.`,
        );
      }
      byGroup[group] = (byGroup[group] ?? 0) + 1;
      if (actionRule && (actionRule.condition || actionRule.resources)) {
        conditional.set(actionRule, [...(conditional.get(actionRule) ?? []), id(action)]);
      } else {
        out[group].actions.push(id(action));
      }
    }
    for (const [actionRule, list] of conditional) {
      out[actionRule.group!].conditional.push({
        why: actionRule.reason,
        actions: list.sort(),
        condition: actionRule.condition ?? {},
        ...(actionRule.resources ? { resources: [...actionRule.resources] } : {}),
      });
    }

    const destructiveRules = actionRules.some(({ rule: r }) => r.group !== null);
    rows.push({
      verb,
      decision: rule.group !== undefined ? 'destructive' : destructiveRules ? 'by action' : 'not destructive',
      reason: rule.reason,
      total: actions.length,
      byGroup,
      actionRules,
    });
  }

  for (const [name, group] of Object.entries(out)) {
    group.actions.sort();
    if (group.actions.length === 0 && group.conditional.length === 0) {
      errors.push(`Group '${name}' has no action. Give it a rule or remove it from scripts/catalog-rules/groups.ts.`);
    }
  }
  return { groups: out, verbs: rows, errors };
}
