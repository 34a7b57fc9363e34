import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { GUARD_NAME_PREFIX } from './core/contract';
import { guardMetric } from './guard-metric';

export interface GuardDashboardProps {
  readonly guardFunction: lambda.IFunction;
  readonly approvalFunction?: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  /** The traffic alarms of the guard's own region; their metrics are what the guard reads there. */
  readonly trafficAlarms: readonly cloudwatch.Alarm[];
  readonly trafficThresholdPerMinute: number;
  /** Fires when the guard has not evaluated for three schedules. */
  readonly livenessAlarm: cloudwatch.IAlarm;
  /** How often the guard sweeps: the period of its lock-state and approval metrics. */
  readonly period: Duration;
}

/**
 * The guard at a glance: lock state over time, traffic against the lock threshold, approvals in
 * force, the errors of the guard's functions and dead-letter queue, and whether it still evaluates.
 */
export class GuardDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: GuardDashboardProps) {
    super(scope, id);
    const period = props.period;
    const traffic =
      props.trafficAlarms.length > 0
        ? new cloudwatch.GraphWidget({
            title: 'Traffic (requests per minute) against the lock threshold',
            left: props.trafficAlarms.map((alarm) => alarm.metric),
            leftAnnotations: [
              { value: props.trafficThresholdPerMinute, label: 'lock threshold', color: cloudwatch.Color.RED },
            ],
            leftYAxis: { min: 0 },
            width: 12,
          })
        : new cloudwatch.TextWidget({
            markdown:
              '**Traffic**: every traffic metric is read in another region; see the status parameter for the figures.',
            width: 12,
          });

    const errors: cloudwatch.IMetric[] = [
      props.guardFunction.metricErrors({ period, label: 'guard function errors' }),
      guardMetric('Errors', 'Sum', period, 'guard errors (handled: notices, status, roles)'),
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period,
        statistic: 'Maximum',
        label: 'events in the dead-letter queue',
      }),
    ];
    if (props.approvalFunction) {
      errors.push(props.approvalFunction.metricErrors({ period, label: 'approval function errors' }));
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Resource', {
      dashboardName: GUARD_NAME_PREFIX,
      defaultInterval: Duration.days(1),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Lock state (1 = locked)',
            left: [guardMetric('Locked', 'Maximum', period, 'locked')],
            leftYAxis: { min: 0, max: 1 },
            width: 12,
          }),
          traffic,
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Approvals in force (agent roles)',
            left: [guardMetric('ApprovalsInForce', 'Maximum', period, 'approvals in force')],
            leftYAxis: { min: 0 },
            width: 12,
          }),
          new cloudwatch.GraphWidget({ title: 'Errors', left: errors, leftYAxis: { min: 0 }, width: 12 }),
        ],
        [
          new cloudwatch.AlarmWidget({
            title: 'Evaluations (the guard is alive while this stays above the line)',
            alarm: props.livenessAlarm,
            leftYAxis: { min: 0 },
            width: 12,
          }),
        ],
      ],
    });
  }
}
