import { CloudWatchClient, GetMetricDataCommand, MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { AwsCaller, errorName } from '../shared/aws-caller';
import { TrafficQuery } from '../../lib/core/config';
import { TrafficSignal } from './decide';

export interface TrafficOptions {
  readonly queries: readonly TrafficQuery[];
  readonly thresholdPerMinute: number;
  readonly lookbackMinutes: number;
}

/** Per-minute datapoints: the queries use a 60-second period. */
const PERIOD_SECONDS = 60;

/**
 * At most this many GetMetricData calls in flight at once. Each call holds one Metrics Insights query,
 * because CloudWatch accepts only one per call (docs/AWS-BEHAVIOUR.md, CW-1).
 */
export const MAX_PARALLEL_QUERIES = 8;

/**
 * Reads live traffic with one GetMetricData call per query and region (CloudWatch allows only one
 * Metrics Insights query per call, and metrics are regional), in parallel up to MAX_PARALLEL_QUERIES.
 * Each query already aggregates every load balancer, API or distribution of its region. No datapoints
 * means no traffic; an error, or a query whose final page is not `Complete`, means traffic.
 */
export async function readTraffic(
  options: TrafficOptions,
  cloudwatch: (region: string) => CloudWatchClient,
  caller: AwsCaller,
  now: Date,
): Promise<TrafficSignal> {
  const { thresholdPerMinute, lookbackMinutes } = options;
  const perMinute = new Map<number, number>();
  try {
    const reads = options.queries.flatMap((query) => query.regions.map((region) => ({ query, region })));
    const results = await inParallel(reads, MAX_PARALLEL_QUERIES, ({ query, region }) =>
      queryData(cloudwatch(region), caller, query, region, now, lookbackMinutes),
    );
    for (const points of results) {
      for (const [minute, value] of points) perMinute.set(minute, (perMinute.get(minute) ?? 0) + value);
    }
  } catch (error) {
    return {
      active: true,
      requestsPerMinute: null,
      thresholdPerMinute,
      reason: `the CloudWatch read failed (${errorName(error)}), so traffic counts as live`,
    };
  }
  const peak = Math.max(0, ...perMinute.values());
  const window = `peak ${round(peak)} requests/min in the last ${lookbackMinutes} min`;
  return peak > thresholdPerMinute
    ? { active: true, requestsPerMinute: peak, thresholdPerMinute, reason: `${window}, above ${thresholdPerMinute}` }
    : {
        active: false,
        requestsPerMinute: peak,
        thresholdPerMinute,
        reason: perMinute.size === 0 ? 'no datapoints' : `${window}, at or below ${thresholdPerMinute}`,
      };
}

/**
 * Runs `task` over `items` with at most `limit` in flight, in order of `items`; rejects with the first
 * error (tasks already started are awaited by nobody, and no new ones start).
 */
async function inParallel<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index]);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** One query's per-minute values, following NextToken; throws unless its last page is `Complete`. */
async function queryData(
  client: CloudWatchClient,
  caller: AwsCaller,
  query: TrafficQuery,
  region: string,
  now: Date,
  lookbackMinutes: number,
): Promise<Array<[number, number]>> {
  const points: Array<[number, number]> = [];
  let incomplete: string | undefined;
  let token: string | undefined;
  do {
    const page = await caller.call('cloudwatch:GetMetricData', () =>
      client.send(
        new GetMetricDataCommand({
          StartTime: new Date(now.getTime() - lookbackMinutes * 60000),
          EndTime: now,
          MetricDataQueries: [
            { Id: query.id, Label: query.label, Expression: query.expression, Period: PERIOD_SECONDS },
          ],
          NextToken: token,
        }),
      ),
    );
    const results: MetricDataResult[] = page.MetricDataResults ?? [];
    const unfinished = results.find((r) => r.StatusCode !== 'Complete');
    incomplete = results.length === 0 ? 'no result' : unfinished && (unfinished.StatusCode ?? 'no status');
    for (const result of results) {
      (result.Timestamps ?? []).forEach((t, i) =>
        points.push([Math.floor(t.getTime() / 60000), result.Values?.[i] ?? 0]),
      );
    }
    token = page.NextToken;
  } while (token);
  // PartialData on the last page means CloudWatch stopped early; InternalError and Forbidden mean no data.
  if (incomplete !== undefined) throw new Error(`query ${query.id} in ${region}: ${incomplete}`);
  return points;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
