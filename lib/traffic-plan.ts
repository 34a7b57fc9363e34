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
  }));
}
