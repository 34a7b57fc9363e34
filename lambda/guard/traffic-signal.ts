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
 * Reads live traffic with one GetMetricData call per region: each Metrics Insights query already
 * aggregates every load balancer, API or distribution. No datapoints means no traffic; an error,
 * or a query CloudWatch could not complete, means traffic.
 */
export async function readTraffic(
  options: TrafficOptions,
  cloudwatch: (region: string) => CloudWatchClient,
  caller: AwsCaller,
  now: Date,
): Promise<TrafficSignal> {
  const { thresholdPerMinute, lookbackMinutes } = options;
  const byRegion = new Map<string, TrafficQuery[]>();
  for (const query of options.queries) byRegion.set(query.region, [...(byRegion.get(query.region) ?? []), query]);

  const perMinute = new Map<number, number>();
  try {
    for (const [region, queries] of byRegion) {
      for (const result of await metricData(cloudwatch(region), caller, queries, now, lookbackMinutes)) {
        if (result.StatusCode === 'InternalError' || result.StatusCode === 'Forbidden') {
          throw new Error(`query ${result.Id} in ${region}: ${result.StatusCode}`);
        }
        (result.Timestamps ?? []).forEach((t, i) => {
          const minute = Math.floor(t.getTime() / 60000);
          perMinute.set(minute, (perMinute.get(minute) ?? 0) + (result.Values?.[i] ?? 0));
        });
      }
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

async function metricData(
  client: CloudWatchClient,
  caller: AwsCaller,
  queries: readonly TrafficQuery[],
  now: Date,
  lookbackMinutes: number,
): Promise<MetricDataResult[]> {
  const results: MetricDataResult[] = [];
  let token: string | undefined;
  do {
    const page = await caller.call('cloudwatch:GetMetricData', () =>
      client.send(
        new GetMetricDataCommand({
          StartTime: new Date(now.getTime() - lookbackMinutes * 60000),
          EndTime: now,
          MetricDataQueries: queries.map((q) => ({
            Id: q.id,
            Label: q.label,
            Expression: q.expression,
            Period: PERIOD_SECONDS,
          })),
          NextToken: token,
        }),
      ),
    );
    results.push(...(page.MetricDataResults ?? []));
    token = page.NextToken;
  } while (token);
  return results;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
