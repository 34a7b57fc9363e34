import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AgentGuard, TrafficMetric } from '../../lib';
import { AgentGuardProps } from '../../lib/agent-guard';
import { GuardConfig } from '../../lib/core/config';
import { ACCOUNT } from '../support/guarded-role';
import { functionConfig } from '../support/function-config';
import { newGuard, scheduledEvent } from '../support/guard-fixture';

function synth(props: AgentGuardProps = {}, region: string | undefined = 'us-east-1') {
  const stack = new Stack(new App(), 'S', region ? { env: { account: ACCOUNT, region } } : undefined);
  new AgentGuard(stack, 'Guard', props);
  return { stack, template: Template.fromStack(stack) };
}

/** Where each query is read, by label. */
function reads(config: GuardConfig): Record<string, string[]> {
  return Object.fromEntries(config.traffic.queries.map((q) => [q.label, q.regions]));
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const ONE_REGION_WARNING = Match.stringLikeRegexp('reads traffic in its own region only');

describe('traffic regions', () => {
  test('the default metrics are read in every traffic region; CloudFront in us-east-1 only', () => {
    const config = functionConfig(synth({ trafficRegions: ['us-east-1', 'eu-west-1', 'eu-west-1'] }).template);
    expect(reads(config)).toEqual({
      ALB: ['us-east-1', 'eu-west-1'],
      RestApi: ['us-east-1', 'eu-west-1'],
      HttpApi: ['us-east-1', 'eu-west-1'],
      CloudFront: ['us-east-1'],
      LambdaUrl: ['us-east-1', 'eu-west-1'],
    });
  });

  test('an account that serves from eu-west-1 only stays locked: the synthesized configuration reads eu-west-1', async () => {
    // GIVEN a guard in us-east-1 told that the account serves from eu-west-1
    const config = functionConfig(synth({ trafficRegions: ['us-east-1', 'eu-west-1'] }).template);
    // AND live traffic in eu-west-1, none in us-east-1 (CloudWatch metrics are regional, CW-5)
    const fx = newGuard({ config: { traffic: config.traffic }, traffic: [], trafficByRegion: { 'eu-west-1': [120] } });
    // WHEN the guard runs with that configuration
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN it sees the eu-west-1 traffic and the account is locked
    expect(summary.locked).toBe(true);
    expect(new Set(fx.cloudwatchRegions)).toEqual(new Set(['us-east-1', 'eu-west-1']));
  });

  test('without trafficRegions the same account opens, which is why synth warns', async () => {
    const { stack, template } = synth();
    Annotations.fromStack(stack).hasWarning('/S/Guard', ONE_REGION_WARNING);
    const fx = newGuard({
      config: { traffic: functionConfig(template).traffic },
      traffic: [],
      trafficByRegion: { 'eu-west-1': [120] },
    });
    expect((await fx.guard.handle(scheduledEvent())).locked).toBe(false);
  });

  test.each<[string, AgentGuardProps, string | undefined]>([
    ['trafficRegions names another region', { trafficRegions: ['us-east-1', 'eu-west-1'] }, 'us-east-1'],
    ['trafficRegions names the own region on purpose', { trafficRegions: ['us-east-1'] }, 'us-east-1'],
    [
      'a metric of another region',
      { trafficMetrics: [...TrafficMetric.defaults(), TrafficMetric.albRequests('eu-west-1')] },
      'us-east-1',
    ],
    ['an env-agnostic stack told its regions', { trafficRegions: ['us-east-1', 'eu-west-1'] }, undefined],
  ])('no warning when %s', (_name, props, region) => {
    const { stack } = synth(props, region);
    Annotations.fromStack(stack).hasNoWarning('*', ONE_REGION_WARNING);
  });

  test('an env-agnostic stack without trafficRegions warns too (its region is us-east-1 at deploy)', () => {
    const { stack } = synth({}, undefined);
    Annotations.fromStack(stack).hasWarning('/S/Guard', ONE_REGION_WARNING);
  });

  test("the README's remedy synthesizes: albRequests('eu-west-1') beside the defaults", () => {
    const { template } = synth({
      trafficMetrics: [...TrafficMetric.defaults(), TrafficMetric.albRequests('eu-west-1')],
    });
    const config = functionConfig(template);
    expect(reads(config)).toMatchObject({ ALB: ['us-east-1'], 'ALB-eu-west-1': ['eu-west-1'] });
    // AND only the metrics of the guard's region get alarms
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmName: 'AgentGuardTraffic-ALB' }, 1);
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmName: 'AgentGuardTraffic-ALB-eu-west-1' }, 0);
  });

  test('metric factories with a region carry it in their label', () => {
    expect(
      [
        TrafficMetric.albRequests('eu-west-1'),
        TrafficMetric.restApiRequests('eu-west-1'),
        TrafficMetric.httpApiRequests('ap-southeast-2'),
        TrafficMetric.lambdaUrlRequests('eu-central-1'),
        TrafficMetric.cloudFrontRequests(),
      ].map((m) => m.label),
    ).toEqual(['ALB-eu-west-1', 'RestApi-eu-west-1', 'HttpApi-ap-southeast-2', 'LambdaUrl-eu-central-1', 'CloudFront']);
  });

  test.each<[string, AgentGuardProps, RegExp]>([
    ['an empty trafficRegions', { trafficRegions: [] }, /trafficRegions is empty/],
    ['a region that is not one', { trafficRegions: ['Europe'] }, /'Europe' is not a literal AWS region/],
    [
      'a query read twice in one region',
      {
        trafficRegions: ['us-east-1', 'eu-west-1'],
        trafficMetrics: [TrafficMetric.albRequests(), TrafficMetric.albRequests('eu-west-1')],
      },
      /'ALB-eu-west-1' and 'ALB' read the same query in eu-west-1/,
    ],
    [
      'more regions than a partition has',
      { trafficRegions: Array.from({ length: 41 }, (_, i) => `xx-${LETTERS[i % 26]}${LETTERS[Math.floor(i / 26)]}-1`) },
      /at most 40/,
    ],
  ])('rejects %s', (_name, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  describe('partitions: IAM credentials of one partition are not valid in another (IAM-43)', () => {
    test.each(['us-gov-west-1', 'cn-north-1'])('a guard in %s reads no CloudFront metric by default', (region) => {
      const queries = reads(functionConfig(synth({}, region).template));
      expect(Object.keys(queries).sort()).toEqual(['ALB', 'HttpApi', 'LambdaUrl', 'RestApi']);
      expect(Object.values(queries).flat()).toEqual(Array(4).fill(region));
    });

    test.each<[string, AgentGuardProps, RegExp]>([
      [
        'a CloudFront metric',
        { trafficMetrics: [TrafficMetric.albRequests(), TrafficMetric.cloudFrontRequests()] },
        /'CloudFront' reads us-east-1 is in partition aws, and a guard in us-gov-west-1 \(aws-us-gov\) cannot/,
      ],
      ['a commercial traffic region', { trafficRegions: ['us-gov-west-1', 'us-east-1'] }, /trafficRegions: us-east-1/],
      [
        'a China region',
        { trafficRegions: ['us-gov-east-1', 'cn-northwest-1'] },
        /cn-northwest-1 is in partition aws-cn/,
      ],
    ])('a guard in GovCloud refuses %s', (_name, props, message) => {
      expect(() => synth(props, 'us-gov-west-1')).toThrow(message);
    });

    test('a guard in GovCloud reads both GovCloud regions', () => {
      const queries = reads(
        functionConfig(synth({ trafficRegions: ['us-gov-west-1', 'us-gov-east-1'] }, 'us-gov-west-1').template),
      );
      expect(queries.ALB).toEqual(['us-gov-west-1', 'us-gov-east-1']);
    });
  });
});

describe('liveness: an alarm when the guard stops evaluating', () => {
  test('three schedules without an Evaluations datapoint alarm, and notify on-call', () => {
    const { template } = synth({ schedule: Duration.minutes(10) });
    const topic = template.findResources('AWS::SNS::Topic');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'AgentGuardNotEvaluating',
      Namespace: 'AgentGuard',
      MetricName: 'Evaluations',
      Dimensions: [{ Name: 'service', Value: 'agent-guard' }],
      Statistic: 'Sum',
      Period: 600,
      EvaluationPeriods: 3,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: Object.keys(topic)[0] }],
    });
  });

  test.each([1, 5, 20, 59, 60, 480, 1440])(
    'a schedule of %i minutes fits CloudWatch’s evaluation range (CW-9)',
    (minutes) => {
      const { template } = synth({ schedule: Duration.minutes(minutes) });
      const alarm = Object.values(
        template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: 'AgentGuardNotEvaluating' } }),
      )[0] as { Properties: { Period: number; EvaluationPeriods: number } };
      const { Period, EvaluationPeriods } = alarm.Properties;
      // Period: 10, 20, 30 or a multiple of 60; Period x EvaluationPeriods at most 7 days, and at most
      // one day when the period is under an hour.
      expect(Period % 60).toBe(0);
      expect(Period * EvaluationPeriods).toBeLessThanOrEqual(Period < 3600 ? 86400 : 604800);
      expect(Period * EvaluationPeriods).toBe(3 * minutes * 60);
    },
  );

  test('the dashboard shows the liveness alarm', () => {
    const { template } = synth();
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(body).toContain('LivenessAlarm');
  });
});
