import { ArnShape, arnShapesOf } from '../catalog/arn-formats';
import { destructiveCatalog } from '../catalog/destructive-catalog';
import { actionMatches, splitAction } from '../iam/action-pattern';
import { ResolvedCatalog } from '../policy/resolve-catalog';

/** Every protected action, exact, with the group that protects it. */
function protectedActions(catalog: ResolvedCatalog): Map<string, string> {
  const all = new Map(catalog.plain);
  for (const rule of catalog.conditional) rule.actions.forEach((a) => all.has(a) || all.set(a, rule.group));
  return all;
}

/**
 * Turns what an approver typed (group names, exact actions, wildcard patterns) into the exact
 * protected actions to carve out. A pattern is expanded from the catalog, so only the protected
 * actions it matches are lifted and the rest of any compressed deny pattern stays denied.
 */
export function resolveApprovalActions(inputs: readonly string[], catalog: ResolvedCatalog): string[] {
  if (inputs.length === 0) throw new Error('Name at least one action or group to approve (--actions).');
  const all = protectedActions(catalog);
  const groups = new Set([...all.values()]);
  const chosen = new Set<string>();
  for (const input of inputs) {
    if (groups.has(input)) {
      for (const [action, group] of all) if (group === input) chosen.add(action);
      continue;
    }
    if (!/^[a-z0-9-]+:[A-Za-z0-9*?]+$/.test(input)) {
      throw new Error(
        `'${input}' is neither a protected group (${[...groups].sort().join(', ')}) nor an action such as ec2:TerminateInstances.`,
      );
    }
    const matched = [...all.keys()].filter((action) => actionMatches(input, action));
    if (matched.length === 0) {
      throw new Error(`'${input}' matches no protected action, so it needs no approval. Check the spelling.`);
    }
    matched.forEach((a) => chosen.add(a));
  }
  return [...chosen].sort();
}

/** Where the approval is: the account and partition every approved resource must name. */
export interface ApprovalAccount {
  readonly partition: string;
  readonly account: string;
  /** The region the examples in messages name. @default us-east-1 */
  readonly region?: string;
}

/** What an approval lifts the deny on: resource ARN patterns, or every resource (`--all-resources`). */
export interface ResourceScope {
  /** The exact protected actions, as {@link resolveApprovalActions} returns them. */
  readonly actions: readonly string[];
  /**
   * What was typed: groups, actions and patterns. An action named exactly must fit the resources; one
   * that only a group or pattern brought in is left out when it cannot (an action without a resource
   * type beside named resources, or one with a type beside `allResources`).
   * @default the exact actions, each named exactly
   */
  readonly requested?: readonly string[];
  readonly resources?: readonly string[];
  readonly allResources?: boolean;
  /** 1 for a single-use approval. */
  readonly uses?: number;
}

/** The approval's scope as the policies carve it out. */
export interface CheckedResources {
  readonly actions: string[];
  readonly resources: string[];
}

/** See {@link matchShape}. */
export type ShapeMatch = 'none' | 'wildcards' | 'named';

const MAX_SHOWN = 100;
const MAX_ARN = 2048;
const WILDCARD = /[*?]/;

/** Text a user typed, quoted and capped, so that a message never echoes a long input in full. */
function shown(text: string): string {
  return `'${text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text}'`;
}

/**
 * How an ARN pattern's resource part can name an ARN of the shape's resource part: wildcards only
 * inside variable parts (`$`), each variable part at least one character. 'wildcards' when it can,
 * but only with every variable part made of wildcards (`instance/*`); 'named' when some variable part
 * holds a literal character. One pass over the pattern with a set of states (no regular expression,
 * so no backtracking on long input).
 */
function matchResource(pattern: string, shape: string): ShapeMatch {
  // A state: `shape` position, inside a variable (consumed at least one character of it), literal seen.
  type State = readonly [number, boolean, boolean];
  const key = ([j, inside, literal]: State): number => j * 4 + (inside ? 2 : 0) + (literal ? 1 : 0);
  let states = new Map<number, State>([[0, [0, false, false]]]);
  const close = (): void => {
    // A variable that consumed a character may end: the shape goes on after it.
    for (const [j, inside, literal] of [...states.values()]) {
      if (inside) states.set(key([j + 1, false, literal]), [j + 1, false, literal]);
    }
  };
  for (const c of pattern) {
    close();
    const next = new Map<number, State>();
    const add = (s: State): void => void next.set(key(s), s);
    const literal = !WILDCARD.test(c);
    for (const [j, inside, seen] of states.values()) {
      if (inside || shape[j] === '$') add([j, true, seen || literal]);
      else if (j < shape.length && shape[j] === c) add([j + 1, false, seen]);
    }
    if (next.size === 0) return 'none';
    states = next;
  }
  close();
  const ends = [...states.values()].filter(([j, inside]) => j === shape.length && !inside);
  if (ends.length === 0) return 'none';
  return !shape.includes('$') || ends.some(([, , literal]) => literal) ? 'named' : 'wildcards';
}

/**
 * How an ARN pattern can name an ARN of a resource type in this account and partition: see
 * {@link matchResource}. The partition and service are literal, the region is any where the format
 * has one, and the account is this account where the format has one.
 */
export function matchShape(pattern: string, shape: ArnShape, where: ApprovalAccount): ShapeMatch {
  const parts = pattern.split(':');
  if (parts.length < 6 || parts[0] !== 'arn' || parts[1] !== where.partition) return 'none';
  const [, , service, region, account] = parts;
  const fits =
    (shape.service === '$' ? service !== '' && !WILDCARD.test(service) : shape.service === service) &&
    (shape.region === '$' ? region !== '' : shape.region === region) &&
    account === (shape.account === '$' ? where.account : shape.account);
  return fits ? matchResource(parts.slice(5).join(':'), shape.resource) : 'none';
}

/** An ARN of the shape with this account and partition filled in, for messages. */
function exampleArn(shape: ArnShape, service: string, where: ApprovalAccount): string {
  const fill = (part: string, value: string): string => (part === '$' ? value : part);
  return [
    'arn',
    where.partition,
    fill(shape.service, service),
    fill(shape.region, where.region ?? 'us-east-1'),
    fill(shape.account, where.account),
    shape.resource.replace(/\$/g, 'example'),
  ].join(':');
}

/**
 * The shapes an action's resources may take. A custom-group action outside the built-in catalog has no
 * ARN formats here: any resource of its service in this account with a literal name part will do.
 */
function shapesFor(action: string): readonly ArnShape[] {
  const shapes = arnShapesOf(action);
  if (shapes) return shapes;
  const { service } = splitAction(action);
  return ['$', ''].flatMap((region) => ['$', ''].map((account) => ({ service, region, account, resource: '$' })));
}

function examplesFor(actions: readonly string[], where: ApprovalAccount, service?: string): string {
  const typed = actions.filter((a) => shapesFor(a).length > 0);
  const ofService = typed.filter((a) => splitAction(a).service === service);
  const chosen = (ofService.length > 0 ? ofService : typed).slice(0, 2);
  const simplest = (a: string): ArnShape => [...shapesFor(a)].sort((x, y) => x.resource.length - y.resource.length)[0];
  return chosen.map((a) => `${exampleArn(simplest(a), splitAction(a).service, where)} (${a})`).join(' or ');
}

function listed(actions: readonly string[]): string {
  return actions.length <= 3 ? actions.join(', ') : `${actions.slice(0, 3).join(', ')} and ${actions.length - 3} more`;
}

/** Checks one resource pattern against the shapes of the approved actions; throws what to change. */
function checkResource(resource: string, actions: readonly string[], where: ApprovalAccount): void {
  const example = (service?: string): string => `For example ${examplesFor(actions, where, service)}.`;
  if (resource === '*') {
    throw new Error(`A bare '*' would lift the deny on every resource. Name the resources. ${example()}`);
  }
  const parts = resource.split(':');
  if (resource.length > MAX_ARN || /\s/.test(resource) || parts.length < 6 || parts[0] !== 'arn') {
    throw new Error(`${shown(resource)} is not a resource ARN. ${example()}`);
  }
  // IAM replaces `${...}` in a Resource with a request value, and `${*}` with a literal `*`.
  if (resource.includes('${')) {
    throw new Error(`${shown(resource)} holds a policy variable ('\${'); name the resources literally. ${example()}`);
  }
  const [, partition, service, , account] = parts;
  if (partition !== where.partition) {
    throw new Error(
      `${shown(resource)} names partition ${shown(partition)}; this guard is in ${where.partition}. ${example()}`,
    );
  }
  if (service === '' || WILDCARD.test(service)) {
    throw new Error(`${shown(resource)} does not name one service; write its prefix without wildcards. ${example()}`);
  }
  if (account !== '' && account !== where.account) {
    throw new Error(
      `${shown(resource)} names account ${shown(account)}; approvals lift the deny in account ${where.account} only. ${example(service)}`,
    );
  }
  let best: ShapeMatch = 'none';
  for (const shape of new Set(actions.flatMap(shapesFor))) {
    const match = matchShape(resource, shape, where);
    if (match === 'named') return;
    if (match === 'wildcards') best = match;
  }
  if (best === 'wildcards') {
    throw new Error(
      `${shown(resource)} names every resource of its type. Put at least one literal character in the resource's name or id. ${example(service)}`,
    );
  }
  throw new Error(
    `${shown(resource)} is not an ARN of a resource type that ${listed(actions)} can act on in account ${where.account}. ${example(service)}`,
  );
}

/**
 * Checks what an approval lifts the deny on. Each ARN pattern must be concrete: this partition and
 * account (where the resource type has an account), the ARN format of a resource type of an approved
 * action (wildcards only where the format has a variable part), and a literal character in at least one
 * variable part, so that `instance/*` is refused and `instance/i-0abc*` is not. Actions without a
 * resource type match only `*` in IAM: they are approved with `allResources`, apart from the others and
 * for a single use, and the resources are then `['*']`.
 */
export function validateApprovalResources(scope: ResourceScope, where: ApprovalAccount): CheckedResources {
  const exact = new Set((scope.requested ?? scope.actions).map((a) => a.toLowerCase()));
  const named = (a: string): boolean => exact.has(a.toLowerCase());
  const untyped = scope.actions.filter((a) => shapesFor(a).length === 0);
  const typed = scope.actions.filter((a) => shapesFor(a).length > 0);
  const resources = scope.resources ?? [];
  if (scope.allResources) {
    if (resources.length > 0) {
      throw new Error('Give either resource ARNs (--resources) or --all-resources, not both.');
    }
    const misfits = typed.filter(named);
    if (misfits.length > 0 || untyped.length === 0) {
      const which = misfits.length > 0 ? misfits : typed;
      throw new Error(
        `--all-resources is only for actions without a resource type, which IAM matches only against '*'. ` +
          `${listed(which)} ${which.length === 1 ? 'acts' : 'act'} on named resources: give ${which.length === 1 ? 'it' : 'them'} with --resources instead, in an approval of ${which.length === 1 ? 'its' : 'their'} own. ` +
          `For example ${examplesFor(which, where)}.`,
      );
    }
    if (scope.uses !== 1) {
      throw new Error('An approval of every resource (--all-resources) is single use: add --uses 1.');
    }
    return { actions: untyped, resources: ['*'] };
  }
  const misfits = untyped.filter(named);
  if (misfits.length > 0 || typed.length === 0) {
    const which = misfits.length > 0 ? misfits : untyped;
    const split =
      typed.length > 0
        ? ` Approve ${which.length === 1 ? 'it' : 'them'} on ${which.length === 1 ? 'its' : 'their'} own (--all-resources --uses 1), and ${listed(typed)} in a second approval with --resources.`
        : ` Approve ${which.length === 1 ? 'it' : 'them'} with --all-resources --uses 1.`;
    throw new Error(
      `${listed(which)} ${which.length === 1 ? 'has' : 'have'} no resource type: IAM matches ${which.length === 1 ? 'it' : 'them'} only against '*', so no ARN can name what to lift.${split}`,
    );
  }
  if (resources.length === 0) {
    throw new Error(`Name at least one resource ARN (--resources). For example ${examplesFor(typed, where)}.`);
  }
  for (const resource of resources) checkResource(resource, typed, where);
  // A group or pattern keeps only the actions that can act on a named resource: lifting the others on
  // these ARNs would lift nothing, and would only cost approval versions.
  const fits = (action: string): boolean =>
    resources.some((r) => shapesFor(action).some((shape) => matchShape(r, shape, where) === 'named'));
  return { actions: typed.filter((a) => named(a) || fits(a)), resources: [...new Set(resources)].sort() };
}

/** What an approval lifts the deny on, for notices and the CLI; `*` (all resources) says why. */
export function resourcesLine(resources: readonly string[]): string {
  return resources.includes('*')
    ? "EVERY resource ('*'): these actions have no resource type, so IAM matches them only against '*'. Single use."
    : resources.join(', ');
}

/** The names of the built-in groups, for help texts. */
export function builtInGroupNames(): string[] {
  return Object.keys(destructiveCatalog.groups);
}
