import { CloudWatchClient, GetMetricDataCommand, MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { AwsCaller, errorName } from '../shared/aws-caller';
import { TrafficQuery } from '../../lib/core/config';
import { TrafficSource } from '../../lib/core/status';
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
 * The LIMIT of a grouped read: the most series one Metrics Insights query returns anyway (CW-3). A
 * lower LIMIT would cut sources the query could have counted, and force a fail-closed read in accounts
 * with more sources than it (CW-22); this one cuts nothing the service would not.
 */
export const SERIES_PER_QUERY = 500;

/**
 * The query as the guard reads it. A built-in query is grouped by its source dimension and ranked by
 * each source's peak (CW-20, CW-21): the same call yields the total (the sum of the series) and names
 * the busiest sources. The alarms keep the ungrouped query, which returns the single series an alarm
 * needs (CW-24). A custom query is read as written.
 */
export function readExpression(query: TrafficQuery): string {
  return query.groupBy === undefined
    ? query.expression
    : `${query.expression} GROUP BY ${query.groupBy} ORDER BY MAX() DESC LIMIT ${SERIES_PER_QUERY}`;
}

/** One query's answer in one region: per-minute totals, its sources, and whether series may be missing. */
interface QueryRead {
  readonly points: Array<[number, number]>;
  readonly sources: TrafficSource[];
  /** Why series may be missing from the answer (unseen sources may hold traffic), or undefined. */
  readonly cut: string | undefined;
}

/**
 * Reads live traffic with one GetMetricData call per query and region (CloudWatch allows only one
 * Metrics Insights query per call, and metrics are regional), in parallel up to MAX_PARALLEL_QUERIES.
 * The total per minute is the sum over every series returned. No datapoints means no traffic; an
 * error, or a query whose final page is not `Complete`, means traffic. A query that may have cut
 * series (it returned SERIES_PER_QUERY of them, the cap of CW-3) means traffic too, unless the total
 * is above the threshold anyway or the ranking proves the unseen sources idle.
 */
export async function readTraffic(
  options: TrafficOptions,
  cloudwatch: (region: string) => CloudWatchClient,
  caller: AwsCaller,
  now: Date,
): Promise<TrafficSignal> {
  const { thresholdPerMinute, lookbackMinutes } = options;
  const perMinute = new Map<number, number>();
  const sources: TrafficSource[] = [];
  const cuts: string[] = [];
  try {
    const reads = options.queries.flatMap((query) => query.regions.map((region) => ({ query, region })));
    const results = await inParallel(reads, MAX_PARALLEL_QUERIES, ({ query, region }) =>
      queryData(cloudwatch(region), caller, query, region, now, lookbackMinutes),
    );
    for (const result of results) {
      for (const [minute, value] of result.points) perMinute.set(minute, (perMinute.get(minute) ?? 0) + value);
      sources.push(...result.sources);
      if (result.cut !== undefined) cuts.push(result.cut);
    }
  } catch (error) {
    return {
      active: true,
      requestsPerMinute: null,
      thresholdPerMinute,
      reason: `the CloudWatch read failed (${errorName(error)}), so traffic counts as live`,
      sources: [],
    };
  }
  const peak = Math.max(0, ...perMinute.values());
  const window = `peak ${round(peak)} requests/min in the last ${lookbackMinutes} min`;
  const measured = { requestsPerMinute: peak, thresholdPerMinute, sources };
  if (peak > thresholdPerMinute) {
    return { ...measured, active: true, reason: `${window}, above ${thresholdPerMinute}` };
  }
  if (cuts.length > 0) {
    return {
      ...measured,
      active: true,
      reason:
        `${window}, but ${cuts.join('; ')}: sources it did not return may hold traffic, so traffic counts as ` + 'live',
    };
  }
  return {
    ...measured,
    active: false,
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

/**
 * One query's answer, following NextToken; throws unless its last page is `Complete`. Values are added
 * up per label and minute: a series continued on the next page adds its other minutes, and series that
 * share a label (a custom query's own GROUP BY, under the Label the guard sets) add up as one, so the
 * total is the sum of every datapoint returned, as for an ungrouped read.
 */
async function queryData(
  client: CloudWatchClient,
  caller: AwsCaller,
  query: TrafficQuery,
  region: string,
  now: Date,
  lookbackMinutes: number,
): Promise<QueryRead> {
  const grouped = query.groupBy !== undefined;
  const series = new Map<string, Map<number, number>>();
  let returned = 0;
  let incomplete: string | undefined;
  let token: string | undefined;
  do {
    const page = await caller.call('cloudwatch:GetMetricData', () =>
      client.send(
        new GetMetricDataCommand({
          StartTime: new Date(now.getTime() - lookbackMinutes * 60000),
          EndTime: now,
          // Grouped: no Label, so each series carries its group's value as its label (CW-23).
          MetricDataQueries: [
            {
              Id: query.id,
              Label: grouped ? undefined : query.label,
              Expression: readExpression(query),
              Period: PERIOD_SECONDS,
            },
          ],
          NextToken: token,
        }),
      ),
    );
    const results: MetricDataResult[] = page.MetricDataResults ?? [];
    const unfinished = results.find((r) => r.StatusCode !== 'Complete');
    incomplete = results.length === 0 ? 'no result' : unfinished && (unfinished.StatusCode ?? 'no status');
    returned += results.length;
    for (const result of results) {
      const name = result.Label ?? query.label;
      const values = series.get(name) ?? new Map<number, number>();
      series.set(name, values);
      (result.Timestamps ?? []).forEach((t, j) => {
        const minute = Math.floor(t.getTime() / 60000);
        values.set(minute, (values.get(minute) ?? 0) + (result.Values?.[j] ?? 0));
      });
    }
    token = page.NextToken;
  } while (token);
  // PartialData on the last page means CloudWatch stopped early; InternalError and Forbidden mean no data.
  if (incomplete !== undefined) throw new Error(`query ${query.id} in ${region}: ${incomplete}`);

  const points: Array<[number, number]> = [...series.values()].flatMap((values) => [...values]);
  const peaks = [...series].map(([name, values]) => ({
    name,
    peak: Math.max(0, ...values.values()),
    empty: values.size === 0,
  }));
  const sources = grouped
    ? peaks.map(({ name, peak }) => ({ kind: query.label, region, name, peakPerMinute: peak }))
    : [];
  return { points, sources, cut: cutReason(query, region, returned, peaks) };
}

/**
 * Why a query's answer may lack series, or undefined. Below SERIES_PER_QUERY results nothing was cut
 * (CW-3, CW-22); a series continued over pages counts twice, which can only fail closed. At the cap, a
 * grouped query ranked by MAX() DESC (CW-21) returned the busiest sources first, so an unseen one peaks
 * at most at the lowest one returned: when that one has datapoints and all are 0 (request counts are
 * never negative), no unseen source holds traffic.
 */
function cutReason(
  query: TrafficQuery,
  region: string,
  returned: number,
  peaks: ReadonlyArray<{ readonly peak: number; readonly empty: boolean }>,
): string | undefined {
  if (returned < SERIES_PER_QUERY) return undefined;
  const lowestIdle = peaks.every((p) => !p.empty) && Math.min(...peaks.map((p) => p.peak)) === 0;
  if (query.groupBy !== undefined && lowestIdle) return undefined;
  return `${query.label} in ${region} returned ${returned} series, the most one query returns`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
