import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { GUARD_SERVICE_NAME, METRICS_NAMESPACE } from './core/contract';

/** A metric the guard function publishes (Powertools EMF, dimension `service`). */
export function guardMetric(
  metricName: string,
  statistic: string,
  period: Duration,
  label?: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: GUARD_SERVICE_NAME },
    statistic,
    period,
    label,
  });
}
