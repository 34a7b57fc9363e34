import { Stack, Token } from 'aws-cdk-lib';
import { REGION_PATTERN, TrafficQuery } from './core/config';
import { TrafficMetric } from './traffic-metric';

/** Id of the synth warning that the guard reads its own region's traffic only. */
export const TRAFFIC_ONE_REGION_WARNING = 'agent-guard:traffic-one-region';

/** More regions than any partition has; each adds one GetMetricData call per region-less metric. */
const MAX_TRAFFIC_REGIONS = 40;

/**
 * The regions that metrics without a region of their own are read in: `trafficRegions` once each, or
 * the stack's region.
 */
export function trafficRegions(stack: Stack, regions: string[] | undefined): string[] {
  if (regions === undefined) return [stack.region];
  if (regions.length === 0) {
    throw new Error(
      "trafficRegions is empty, so no region's traffic would be read. Name the regions that serve traffic, " +
        "or leave it out for the guard's own region.",
    );
  }
  for (const region of regions) {
    if (Token.isUnresolved(region) || !REGION_PATTERN.test(region)) {
      throw new Error(`trafficRegions: '${region}' is not a literal AWS region such as 'eu-west-1'.`);
    }
  }
  const unique = [...new Set(regions)];
  if (unique.length > MAX_TRAFFIC_REGIONS) {
    throw new Error(`trafficRegions names ${unique.length} regions; give at most ${MAX_TRAFFIC_REGIONS}.`);
  }
  return unique;
}

/**
 * Whether `region` is the guard's own. An env-agnostic guard can only deploy where IAM events arrive,
 * which in the `aws` partition is us-east-1.
 */
export function isGuardRegion(stack: Stack, region: string): boolean {
  return region === stack.region || (Token.isUnresolved(stack.region) && region === 'us-east-1');
}

/**
 * The partition of a region, from its name. Credentials of one partition are not valid in another
 * (AWS-BEHAVIOUR IAM-43), so a guard reads metrics in its own partition only.
 */
export function regionPartition(region: string): string {
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('cn-')) return 'aws-cn';
  return 'aws';
}

/** The guard's partition, when its region is known at synth. */
function guardPartition(stack: Stack): string | undefined {
  return Token.isUnresolved(stack.region) ? undefined : regionPartition(stack.region);
}

/**
 * `TrafficMetric.defaults()`, less the metrics of another partition: CloudFront's are in us-east-1
 * only, which a guard in GovCloud or China cannot read, so every read would fail and lock for good.
 */
export function defaultTrafficMetrics(stack: Stack): TrafficMetric[] {
  const partition = guardPartition(stack);
  return TrafficMetric.defaults().filter(
    (metric) => partition === undefined || metric.region === undefined || regionPartition(metric.region) === partition,
  );
}

/** Refuses traffic regions and metrics the guard could never read, since they are in another partition. */
export function checkTrafficPartition(
  stack: Stack,
  metrics: readonly TrafficMetric[],
  regions: readonly string[],
): void {
  const partition = guardPartition(stack);
  if (partition === undefined) return;
  const elsewhere = (region: string) =>
    `${region} is in partition ${regionPartition(region)}, and a guard in ${stack.region} (${partition}) cannot ` +
    'read it: credentials of one partition are not valid in another. Deploy a guard in each partition.';
  for (const region of regions) {
    if (regionPartition(region) !== partition) throw new Error(`trafficRegions: ${elsewhere(region)}`);
  }
  for (const metric of metrics) {
    if (metric.region !== undefined && regionPartition(metric.region) !== partition) {
      throw new Error(`trafficMetrics: '${metric.label}' reads ${elsewhere(metric.region)}`);
    }
  }
}

/** The regions a metric is read in. */
export function metricRegions(metric: TrafficMetric, regions: readonly string[]): string[] {
  return metric.region === undefined ? [...regions] : [metric.region];
}

/**
 * The guard's traffic queries: one per metric, with the regions to read it in. A query read twice in
 * one region would count its traffic twice, so that is refused.
 */
export function trafficQueries(metrics: readonly TrafficMetric[], regions: readonly string[]): TrafficQuery[] {
  const seen = new Map<string, string>();
  for (const metric of metrics) {
    for (const region of metricRegions(metric, regions)) {
      const key = `${region}\n${metric.query}`;
      const other = seen.get(key);
      if (other !== undefined) {
        throw new Error(
          `trafficMetrics: '${metric.label}' and '${other}' read the same query in ${region}, so its traffic would ` +
            'count twice. Drop one of them (a metric without a region is read in every region of trafficRegions).',
        );
      }
      seen.set(key, metric.label);
    }
  }
  return metrics.map((metric, i) => ({
    id: `traffic${i}`,
    label: metric.label,
    expression: metric.query,
    regions: metricRegions(metric, regions),
    groupBy: metric.sourceDimension,
  }));
}
