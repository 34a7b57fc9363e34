import { destructiveCatalog } from '../catalog/destructive-catalog';
import { iamReference } from '../catalog/iam-reference';
import { ConditionBlock } from '../iam/policy-document';

/** A user-defined group of protected actions. */
export interface CustomGroupSpec {
  readonly name: string;
  /** Exact actions or patterns (`svc:Verb*`); patterns are expanded from the IAM catalog. */
  readonly actions: readonly string[];
}

export interface CatalogSelection {
  readonly customGroups?: readonly CustomGroupSpec[];
  /** Exact actions or patterns to take out of the catalog. */
  readonly exemptActions?: readonly string[];
  /** Built-in groups to take out of the catalog; an action a custom group names stays protected. */
  readonly exemptGroups?: readonly string[];
}

/** The groups of the incident this project exists for: never exemptible as a whole. */
const UNEXEMPTIBLE_GROUPS = ['delete', 'stack-replace'];

/** Actions denied while locked only when an extra condition holds as well, or only on some resources. */
export interface ConditionalDeny {
  readonly group: string;
  readonly actions: readonly string[];
  readonly condition: ConditionBlock;
  /** ARN patterns the deny applies to; undefined for every resource. */
  readonly resources?: readonly string[];
}

/** The catalog after selection: every action exact and spelled as the IAM catalog spells it. */
export interface ResolvedCatalog {
  /** Protected action (`svc:Action`) to the first group that names it. */
  readonly plain: ReadonlyMap<string, string>;
  readonly conditional: readonly ConditionalDeny[];
}

const ACTION_SYNTAX = /^[a-z0-9-]+:[A-Za-z0-9*?]+$/;
const GROUP_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** Expands an action or pattern against the IAM catalog, or throws a message that says what to change. */
export function expandActionPattern(pattern: string, where: string): string[] {
  if (!ACTION_SYNTAX.test(pattern)) {
    throw new Error(
      `${where}: '${pattern}' is not an IAM action. Write 'service:Action' with a literal service prefix, such as 'ec2:DeleteVpc' or 'ec2:Delete*'.`,
    );
  }
  const service = pattern.slice(0, pattern.indexOf(':'));
  if (!iamReference.hasService(service)) {
    throw new Error(`${where}: '${service}' in '${pattern}' is not an IAM service prefix (${iamReference.source}).`);
  }
  const actions = iamReference.expand(pattern);
  if (actions.length === 0) {
    throw new Error(
      `${where}: '${pattern}' matches no action of ${service} in ${iamReference.source}. Check the spelling.`,
    );
  }
  return actions;
}

/** Selects and checks the catalog: built-in groups, then custom groups, minus exemptions. */
export function resolveCatalog(selection: CatalogSelection = {}): ResolvedCatalog {
  const plain = new Map<string, string>();
  const conditional: ConditionalDeny[] = [];
  const exemptGroups = checkExemptGroups(selection.exemptGroups ?? [], selection.customGroups ?? []);
  for (const [group, entry] of Object.entries(destructiveCatalog.groups)) {
    if (exemptGroups.has(group)) continue;
    entry.actions.forEach((action) => plain.has(action) || plain.set(action, group));
    entry.conditional.forEach((rule) =>
      conditional.push({ group, actions: rule.actions, condition: rule.condition, resources: rule.resources }),
    );
  }

  for (const custom of selection.customGroups ?? []) {
    if (!GROUP_NAME.test(custom.name)) {
      throw new Error(
        `Custom group '${custom.name}': use 1 to 40 lower-case letters, digits and hyphens, starting with a letter.`,
      );
    }
    if (custom.name in destructiveCatalog.groups) {
      throw new Error(`Custom group '${custom.name}' has the name of a built-in group; choose another name.`);
    }
    if (custom.actions.length === 0) {
      throw new Error(`Custom group '${custom.name}' has no actions; give it at least one.`);
    }
    for (const pattern of custom.actions) {
      expandActionPattern(pattern, `Custom group '${custom.name}'`).forEach(
        (a) => plain.has(a) || plain.set(a, custom.name),
      );
    }
  }

  const exempt = new Set<string>();
  for (const pattern of selection.exemptActions ?? []) {
    const matched = expandActionPattern(pattern, 'exemptActions').filter(
      (a) => plain.has(a) || conditional.some((rule) => rule.actions.includes(a)),
    );
    if (matched.length === 0) {
      throw new Error(
        `exemptActions: '${pattern}' is not in the protected catalog, so exempting it changes nothing. Remove it.`,
      );
    }
    matched.forEach((a) => exempt.add(a));
  }
  exempt.forEach((a) => plain.delete(a));
  const kept = conditional
    .map((rule) => ({ ...rule, actions: rule.actions.filter((a) => !exempt.has(a)) }))
    .filter((rule) => rule.actions.length > 0);
  return { plain, conditional: kept };
}

function checkExemptGroups(names: readonly string[], custom: readonly CustomGroupSpec[]): ReadonlySet<string> {
  for (const name of names) {
    if (custom.some((g) => g.name === name)) {
      throw new Error(
        `exemptGroups: '${name}' is a group of your own; to stop protecting it, leave it out of additionalGroups.`,
      );
    }
    if (UNEXEMPTIBLE_GROUPS.includes(name)) {
      throw new Error(
        `exemptGroups: '${name}' cannot be exempted: it is the destruction the guard exists to stop. To let agents run single actions of it, name them in exemptActions.`,
      );
    }
    if (!(name in destructiveCatalog.groups)) {
      throw new Error(
        `exemptGroups: '${name}' is not a built-in group. Exemptible groups: ${Object.keys(destructiveCatalog.groups)
          .filter((g) => !UNEXEMPTIBLE_GROUPS.includes(g))
          .join(', ')}.`,
      );
    }
  }
  return new Set(names);
}
