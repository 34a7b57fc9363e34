/**
 * CloudTrail names API calls by their operation, which for most services is the IAM action without
 * its prefix (`ec2:TerminateInstances` is logged as `TerminateInstances`). Lambda is the exception:
 * its calls are logged with the API version as a suffix, for example `DeleteFunction20150331` or
 * `UpdateFunctionCode20150331v2` (docs/AWS-BEHAVIOUR.md CT-1). The suffix is not the same for every
 * operation and can change with a new API version, so the names are matched by the operation
 * followed by a date (`20…`), which no other Lambda operation name continues with.
 */

/** An EventBridge `eventName` pattern element: an exact name or a prefix. */
export type EventNameMatcher = string | { readonly prefix: string };

const VERSIONED_SERVICES = new Set(['lambda']);

/** A CloudTrail `eventName` version suffix, e.g. `20150331` or `20150331v2`. */
const VERSION_SUFFIX = /20\d{6}(?:v\d+)?$/;

function split(action: string): { service: string; operation: string } {
  const colon = action.indexOf(':');
  if (colon < 1) throw new Error(`${action} is not an IAM action (service:Operation)`);
  return { service: action.slice(0, colon).toLowerCase(), operation: action.slice(colon + 1) };
}

/**
 * The `detail.eventName` pattern elements that match the CloudTrail events of `actions` (IAM actions
 * without wildcards), deduplicated and sorted: exact names, then prefixes for Lambda.
 */
export function cloudTrailEventNameMatchers(actions: readonly string[]): EventNameMatcher[] {
  const exact = new Set<string>();
  const prefixes = new Set<string>();
  for (const action of actions) {
    const { service, operation } = split(action);
    if (VERSIONED_SERVICES.has(service)) prefixes.add(`${operation}20`);
    else exact.add(operation);
  }
  return [...[...exact].sort(), ...[...prefixes].sort().map((prefix) => ({ prefix }))];
}

/**
 * The IAM operation (the action without its service prefix) a CloudTrail event stands for, from its
 * `eventSource` and `eventName`: `DeleteFunction` for `lambda.amazonaws.com` / `DeleteFunction20150331`;
 * other services' names pass through. The guard's denial notices should name actions through this.
 */
export function iamOperationOf(eventSource: string, eventName: string): string {
  const service = eventSource.replace(/\.amazonaws\.com$/, '').toLowerCase();
  return VERSIONED_SERVICES.has(service) ? eventName.replace(VERSION_SUFFIX, '') : eventName;
}

/**
 * Event sources whose host name is not the service's IAM prefix (docs/AWS-BEHAVIOUR.md CT-23): CloudWatch
 * logs as `monitoring`, SES (API v1) as `email`, the Classic Load Balancer API as `elb`. Every other source
 * is `<prefix>.amazonaws.com`.
 */
const PREFIX_OF_SOURCE: Readonly<Record<string, string>> = {
  monitoring: 'cloudwatch',
  email: 'ses',
  elb: 'elasticloadbalancing',
};

/**
 * The IAM service prefix of a CloudTrail `eventSource` (`ec2.amazonaws.com` is `ec2`), or undefined when the
 * source is not of the `<host>.amazonaws.com` form. Whether IAM knows the prefix is for the caller to check.
 */
export function iamServiceOfEventSource(eventSource: string): string | undefined {
  const host = /^([a-z0-9-]+)\.amazonaws\.com$/.exec(eventSource.toLowerCase())?.[1];
  return host === undefined ? undefined : (PREFIX_OF_SOURCE[host] ?? host);
}

/** The IAM action (`svc:Operation`) of a CloudTrail event, or undefined when its source has no IAM prefix. */
export function iamActionOfEvent(eventSource: string, eventName: string): string | undefined {
  const service = iamServiceOfEventSource(eventSource);
  return service === undefined ? undefined : `${service}:${iamOperationOf(eventSource, eventName)}`;
}
