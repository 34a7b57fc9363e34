import 'aws-sdk-client-mock-jest';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { GuardStatus } from '../../lib/core/status';
import { TrafficQuery } from '../../lib/core/config';
import { AgentGuard } from '../../lib/agent-guard';
import { TrafficMetric } from '../../lib/traffic-metric';
import { readExpression } from '../../lambda/guard/traffic-signal';
import { functionConfig } from '../support/function-config';
import { trafficQueries } from '../../lib/traffic-plan';
import {
  FakeTrafficSource,
  GuardFixture,
  guardConfig,
  INSIGHTS_SERIES_CAP,
  insightsAnswer,
  newGuard,
  NOW,
  scheduledEvent,
} from '../support/guard-fixture';

// The construct's own default queries, read in two regions: what a deployed guard reads.
const REGIONS = ['us-east-1', 'eu-west-1'];
const DEFAULT_QUERIES = trafficQueries(TrafficMetric.defaults(), REGIONS);

const alb = (region: string, name: string, values: number[]): FakeTrafficSource => ({
  region,
  namespace: 'AWS/ApplicationELB',
  dimensions: { LoadBalancer: name },
  values,
});
const restApi = (region: string, name: string, values: number[]): FakeTrafficSource => ({
  region,
  namespace: 'AWS/ApiGateway',
  dimensions: { ApiName: name },
  values,
});
const distribution = (id: string, values: number[]): FakeTrafficSource => ({
  region: 'us-east-1',
  namespace: 'AWS/CloudFront',
  dimensions: { DistributionId: id, Region: 'Global' },
  values,
});

async function evaluate(
  sources: readonly FakeTrafficSource[],
  queries: TrafficQuery[] = DEFAULT_QUERIES,
  thresholdPerMinute = 5,
): Promise<{ fx: GuardFixture; status: GuardStatus }> {
  const fx = newGuard({
    config: guardConfig({ traffic: { queries, thresholdPerMinute, lookbackMinutes: 15, dropHoldMinutes: 60 } }),
    trafficSources: sources,
    roles: [],
  });
  await fx.guard.handle(scheduledEvent());
  const value = fx.ssm.commandCalls(PutParameterCommand).at(-1)?.args[0].input.Value;
  if (!value) throw new Error('no status was written');
  return { fx, status: JSON.parse(value) as GuardStatus };
}

/** The same queries without their source dimension: read as the ungrouped queries the alarms use. */
function ungrouped(queries: readonly TrafficQuery[]): TrafficQuery[] {
  return queries.map((q) => ({ id: q.id, label: q.label, expression: q.expression, regions: q.regions }));
}

describe('blast radius: the busiest sources, from the same one call per query and region', () => {
  const sources = [
    alb('us-east-1', 'app/prod-api/50dc6c495c0c9188', [1000, 1240, 1100]),
    alb('us-east-1', 'app/admin/1a2b', [3, 4, 2]),
    alb('eu-west-1', 'app/prod-eu/77aa', [600, 650, 700]),
    restApi('eu-west-1', 'orders', [0, 90, 0]),
    distribution('E2QWRUHEXAMPLE', [800, 100, 100]),
    alb('eu-west-1', 'app/idle/9f', [0, 0, 0]),
  ];

  it('ranks sources across queries and regions by their peak requests per minute', async () => {
    const { status } = await evaluate(sources);
    // Worked example: peaks 1240, 700, 800, 90, 4 (the idle one names no traffic)
    expect(status.traffic.sources).toEqual([
      { kind: 'ALB', region: 'us-east-1', name: 'app/prod-api/50dc6c495c0c9188', peakPerMinute: 1240 },
      { kind: 'CloudFront', region: 'us-east-1', name: 'E2QWRUHEXAMPLE', peakPerMinute: 800 },
      { kind: 'ALB', region: 'eu-west-1', name: 'app/prod-eu/77aa', peakPerMinute: 700 },
      { kind: 'RestApi', region: 'eu-west-1', name: 'orders', peakPerMinute: 90 },
      { kind: 'ALB', region: 'us-east-1', name: 'app/admin/1a2b', peakPerMinute: 4 },
    ]);
  });

  it('makes one GetMetricData call per query and region, as before (CW-1, CW-5)', async () => {
    const { fx } = await evaluate(sources);
    // Four regional defaults in two regions, and CloudFront in us-east-1 only
    expect(fx.cloudwatch).toHaveReceivedCommandTimes(GetMetricDataCommand, 4 * 2 + 1);
  });

  it('totals the same as the ungrouped queries: the peak of the per-minute sum, not a sum of peaks', async () => {
    const grouped = await evaluate(sources);
    const plain = await evaluate(sources, ungrouped(DEFAULT_QUERIES));
    // Minute by minute: 1000+3+600+0+800 = 2403, 1240+4+650+90+100 = 2084, 1100+2+700+0+100 = 1902
    expect(grouped.status.traffic.requestsPerMinute).toBe(2403);
    expect(plain.status.traffic.requestsPerMinute).toBe(2403);
    expect(plain.status.traffic.sources).toEqual([]);
  });

  it('counts a custom query in the total; it names no source', async () => {
    const custom: TrafficQuery[] = trafficQueries(
      [TrafficMetric.custom('Orders', 'SELECT SUM(Orders) FROM SCHEMA("MyShop", Shop)', 'eu-west-1')],
      REGIONS,
    );
    const shops: FakeTrafficSource[] = [
      { region: 'eu-west-1', namespace: 'MyShop', dimensions: { Shop: 'north' }, values: [4, 4] },
      { region: 'eu-west-1', namespace: 'MyShop', dimensions: { Shop: 'south' }, values: [3, 3] },
    ];
    const { status } = await evaluate(shops, custom);
    // 4 + 3 = 7 a minute, above the threshold of 5, though neither shop is
    expect(status.traffic).toMatchObject({ active: true, requestsPerMinute: 7, sources: [] });
  });

  it("adds up a custom query's own groups, though they come back under one label", async () => {
    const custom = trafficQueries(
      [TrafficMetric.custom('Orders', 'SELECT SUM(Orders) FROM SCHEMA("MyShop", Shop) GROUP BY Shop', 'eu-west-1')],
      REGIONS,
    );
    const shops: FakeTrafficSource[] = ['north', 'south', 'east'].map((shop) => ({
      region: 'eu-west-1',
      namespace: 'MyShop',
      dimensions: { Shop: shop },
      values: [2, 2],
    }));
    const { status } = await evaluate(shops, custom);
    expect(status.traffic).toMatchObject({ active: true, requestsPerMinute: 6, sources: [] });
  });

  it('a custom query at the series cap counts as live: nothing ranks what it left out', async () => {
    const custom = trafficQueries(
      [TrafficMetric.custom('Orders', 'SELECT SUM(Orders) FROM SCHEMA("MyShop", Shop) GROUP BY Shop', 'eu-west-1')],
      REGIONS,
    );
    const shops: FakeTrafficSource[] = Array.from({ length: 600 }, (_, i) => ({
      region: 'eu-west-1',
      namespace: 'MyShop',
      dimensions: { Shop: `shop-${i}` },
      values: [0, 0],
    }));
    const { status } = await evaluate(shops, custom);
    expect(status.traffic.active).toBe(true);
    expect(status.traffic.reason).toContain('Orders in eu-west-1 returned 500 series');
  });

  describe('a query that may have cut series fails closed (CW-3, CW-22)', () => {
    // More load balancers than one query returns, each quiet: together far above the threshold
    const many = (count: number, perMinute: number) =>
      Array.from({ length: count }, (_, i) => alb('us-east-1', `app/lb-${i}/x`, [perMinute, perMinute]));
    const albOnly = DEFAULT_QUERIES.filter((q) => q.label === 'ALB');
    const threshold = 10_000;

    it('counts traffic as live, and says why, when the series returned may not be all', async () => {
      // 600 sources at 10/min hold 6,000/min; the 500 returned show 5,000, both below 10,000
      const { status } = await evaluate(many(600, 10), albOnly, threshold);
      expect(status.traffic.requestsPerMinute).toBe(INSIGHTS_SERIES_CAP * 10);
      expect(status.traffic.active).toBe(true);
      expect(status.traffic.reason).toMatch(/ALB in us-east-1 returned 500 series.*counts as live/);
    });

    it('counts traffic as live even when exactly as many sources as the cap exist (it cannot tell)', async () => {
      const { status } = await evaluate(many(INSIGHTS_SERIES_CAP, 10), albOnly, threshold);
      expect(status.traffic.active).toBe(true);
    });

    it('stays quiet when the lowest-ranked source returned had no request: no unseen one had any', async () => {
      const idle = many(700, 0);
      const { status } = await evaluate([...idle, alb('us-east-1', 'app/busy/1', [3, 3])], albOnly, threshold);
      expect(status.traffic).toMatchObject({ active: false, requestsPerMinute: 3 });
    });

    it('is quiet below the cap: every source was counted', async () => {
      const { status } = await evaluate(many(INSIGHTS_SERIES_CAP - 1, 10), albOnly, threshold);
      expect(status.traffic).toMatchObject({ active: false, requestsPerMinute: (INSIGHTS_SERIES_CAP - 1) * 10 });
    });
  });
});

describe('the synthesized guard', () => {
  const stack = new Stack(new App(), 'S', { env: { account: '111122223333', region: 'us-east-1' } });
  new AgentGuard(stack, 'Guard', { schedule: Duration.minutes(10) });
  const template = Template.fromStack(stack);
  const config = functionConfig(template);

  it('tells the guard its schedule, which the status carries for readers', async () => {
    expect(config.scheduleMinutes).toBe(10);
    const fx = newGuard({ config: { scheduleMinutes: config.scheduleMinutes }, roles: [] });
    await fx.guard.handle(scheduledEvent());
    expect(JSON.parse(fx.parameter.value ?? '{}')).toMatchObject({ scheduleMinutes: 10 });
  });

  it('groups every built-in query by the dimension its SCHEMA names, so no source falls into "Other" (CW-23)', () => {
    for (const query of config.traffic.queries) {
      const schema = /SCHEMA\("[^"]+", ([^)]+)\)/.exec(query.expression);
      expect(schema?.[1].split(', ')).toContain(query.groupBy);
    }
  });

  it('alarms on the ungrouped query, a single series compared with the threshold (CW-24)', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).flatMap((alarm) =>
      ((alarm.Properties as { Metrics?: Array<{ Expression?: string }> }).Metrics ?? []).map((m) => m.Expression),
    );
    const expressions = alarms.filter((e): e is string => e !== undefined);
    expect(expressions.length).toBeGreaterThan(0);
    for (const expression of expressions) expect(expression).not.toMatch(/GROUP BY/i);
    // ... while the read of the same query is grouped
    expect(config.traffic.queries.map(readExpression).every((e) => /GROUP BY/.test(e))).toBe(true);
  });
});

describe('the CloudWatch fake answers Metrics Insights as documented', () => {
  const lbs = [alb('us-east-1', 'a', [1, 9]), alb('us-east-1', 'b', [5, 5]), alb('us-east-1', 'c', [2, 2])];
  const ask = (expression: string) =>
    insightsAnswer({ Id: 'q', Expression: expression }, lbs, NOW).map((r) => `${r.Label}:${r.Values?.join(',')}`);
  const FROM = 'SELECT SUM(RequestCount) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer)';

  it('without GROUP BY, one series summing every metric (CW-20)', () => {
    expect(ask(FROM)).toEqual(['q:8,16']);
  });

  it('ranks groups by the aggregate over the window before LIMIT (CW-21)', () => {
    expect(ask(`${FROM} GROUP BY LoadBalancer ORDER BY MAX() DESC LIMIT 2`)).toEqual(['a:1,9', 'b:5,5']);
    expect(ask(`${FROM} GROUP BY LoadBalancer ORDER BY SUM() DESC LIMIT 1`)).toEqual(['a:1,9']);
  });

  it('never returns more than 500 series, whatever the LIMIT (CW-3)', () => {
    const sources = Array.from({ length: 700 }, (_, i) => alb('us-east-1', `lb${i}`, [1]));
    const answer = insightsAnswer(
      { Id: 'q', Expression: `${FROM} GROUP BY LoadBalancer ORDER BY MAX() DESC LIMIT 1000` },
      sources,
      NOW,
    );
    expect(answer).toHaveLength(500);
  });

  it('SCHEMA matches only metrics with exactly its dimensions (CW-20)', () => {
    const withStage: FakeTrafficSource = { ...lbs[0], dimensions: { LoadBalancer: 'a', TargetGroup: 't' } };
    const answer = insightsAnswer({ Id: 'q', Expression: FROM }, [withStage], NOW);
    expect(answer[0].Values).toEqual([]);
  });
});
