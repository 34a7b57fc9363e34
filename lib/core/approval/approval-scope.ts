import { destructiveCatalog } from '../catalog/destructive-catalog';
import { actionMatches } from '../iam/action-pattern';
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

const ARN_PATTERN = /^arn:(\*|aws[a-z-]*):[a-z0-9*?-]+:[a-z0-9*?-]*:(\d{12}|\*|)?:.+$/;

/**
 * Checks approved resource ARN patterns. A bare `*` is refused: an approval names what it lifts the
 * deny on, and `arn:aws:ec2:*:*:instance/*` says "every instance" on purpose.
 */
export function validateApprovalResources(resources: readonly string[]): string[] {
  if (resources.length === 0) throw new Error('Name at least one resource ARN (--resources).');
  for (const resource of resources) {
    if (resource === '*') {
      throw new Error(
        "A bare '*' would lift the deny on every resource. Name the resources, for example arn:aws:ec2:us-east-1:111122223333:instance/i-0abc.",
      );
    }
    if (!ARN_PATTERN.test(resource) || resource.length > 2048 || /\s/.test(resource)) {
      throw new Error(
        `'${resource}' is not a resource ARN such as arn:aws:s3:::my-bucket or arn:aws:ec2:*:*:instance/*.`,
      );
    }
  }
  return [...new Set(resources)].sort();
}

/** The names of the built-in groups, for help texts. */
export function builtInGroupNames(): string[] {
  return Object.keys(destructiveCatalog.groups);
}
