import { Token } from 'aws-cdk-lib';
import { REGION_PATTERN } from './core/config';

const LABEL = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;

/**
 * One source of live traffic: a CloudWatch Metrics Insights query that sums requests per minute over
 * every resource of a kind, so one query covers every load balancer, API or distribution of a region.
 * CloudWatch metrics are regional: a metric without a region is read in every region of the guard's
 * `trafficRegions` (the guard's own region unless set), one `GetMetricData` call per region. The guard
 * alarms on the ones in its own region to re-evaluate at once.
 */
export class TrafficMetric {
  /**
   * Requests to every Application Load Balancer (`AWS/ApplicationELB` `RequestCount`).
   *
   * @param region read only this region, labelled `ALB-<region>`; without it, label `ALB`, read in every traffic region
   */
  public static albRequests(region?: string): TrafficMetric {
    return TrafficMetric.regional(
      'ALB',
      'SELECT SUM(RequestCount) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer)',
      region,
      'LoadBalancer',
    );
  }

  /**
   * Requests to every API Gateway REST API (`AWS/ApiGateway` `Count` by `ApiName`).
   *
   * @param region read only this region, labelled `RestApi-<region>`; without it, read in every traffic region
   */
  public static restApiRequests(region?: string): TrafficMetric {
    return TrafficMetric.regional(
      'RestApi',
      'SELECT SUM("Count") FROM SCHEMA("AWS/ApiGateway", ApiName)',
      region,
      'ApiName',
    );
  }

  /**
   * Requests to every API Gateway HTTP API (`AWS/ApiGateway` `Count` by `ApiId`).
   *
   * @param region read only this region, labelled `HttpApi-<region>`; without it, read in every traffic region
   */
  public static httpApiRequests(region?: string): TrafficMetric {
    return TrafficMetric.regional(
      'HttpApi',
      'SELECT SUM("Count") FROM SCHEMA("AWS/ApiGateway", ApiId)',
      region,
      'ApiId',
    );
  }

  /** Requests to every CloudFront distribution; CloudFront publishes its metrics in us-east-1 only. */
  public static cloudFrontRequests(): TrafficMetric {
    return new TrafficMetric(
      'CloudFront',
      'SELECT SUM(Requests) FROM SCHEMA("AWS/CloudFront", DistributionId, Region)',
      'us-east-1',
      'DistributionId',
    );
  }

  /**
   * Requests to every Lambda function URL (`AWS/Lambda` `UrlRequestCount`).
   *
   * @param region read only this region, labelled `LambdaUrl-<region>`; without it, read in every traffic region
   */
  public static lambdaUrlRequests(region?: string): TrafficMetric {
    return TrafficMetric.regional(
      'LambdaUrl',
      'SELECT SUM(UrlRequestCount) FROM SCHEMA("AWS/Lambda", FunctionName)',
      region,
      'FunctionName',
    );
  }

  /**
   * Your own query. It must return requests per period (the guard reads it with a 60-second period).
   * Its traffic counts in the total like any other, but it names no source in the status: the guard
   * reads it exactly as written, since a query of any shape cannot be grouped safely.
   *
   * @param label letters, digits and hyphens, starting with a letter; names the alarm and the status entry
   * @param query a Metrics Insights query (`SELECT SUM(...) FROM ...`) or a metric math expression
   * @param region where the metric lives; without it, every region of the guard's `trafficRegions`
   */
  public static custom(label: string, query: string, region?: string): TrafficMetric {
    return new TrafficMetric(label, query, region);
  }

  /**
   * The defaults: ALB, REST and HTTP APIs and Lambda URLs in every region of the guard's
   * `trafficRegions`, and CloudFront (us-east-1).
   */
  public static defaults(): TrafficMetric[] {
    return [
      TrafficMetric.albRequests(),
      TrafficMetric.restApiRequests(),
      TrafficMetric.httpApiRequests(),
      TrafficMetric.cloudFrontRequests(),
      TrafficMetric.lambdaUrlRequests(),
    ];
  }

  private static regional(kind: string, query: string, region: string | undefined, dimension: string): TrafficMetric {
    return new TrafficMetric(region === undefined ? kind : `${kind}-${region}`, query, region, dimension);
  }

  private constructor(
    /** Names the metric in alarms and in the status. */
    public readonly label: string,
    /** The Metrics Insights query or metric math expression. */
    public readonly query: string,
    /** Where the metric lives; undefined means every region of the guard's `trafficRegions`. */
    public readonly region: string | undefined,
    /**
     * The dimension that names each source (`LoadBalancer`, `ApiName`, ...): the guard reads the query
     * grouped by it, to name the busiest sources in its status. Undefined for a custom query.
     */
    public readonly sourceDimension?: string,
  ) {
    if (!LABEL.test(label)) {
      throw new Error(
        `TrafficMetric label '${label}' must start with a letter and hold only letters, digits and hyphens (at most 40).`,
      );
    }
    if (Token.isUnresolved(query) || query.trim().length === 0 || query.length > 2048) {
      throw new Error(`TrafficMetric ${label}: the query must be a literal of 1 to 2,048 characters.`);
    }
    if (region !== undefined && (Token.isUnresolved(region) || !REGION_PATTERN.test(region))) {
      throw new Error(`TrafficMetric ${label}: '${region}' is not an AWS region such as 'eu-west-1'.`);
    }
  }
}
