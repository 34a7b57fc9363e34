import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { GUARD_SERVICE_NAME, METRICS_NAMESPACE } from '../../lib/core/contract';
import { AwsCaller } from '../shared/aws-caller';
import { centralClients } from '../shared/notices';
import { RoleLeases } from '../shared/role-lease';
import { loadConfig } from './config';
import { queuedEvents } from './events';
import { Guard } from './guard';
import { organizationsRegion } from './production-signal';

// Clients are built once per container. Retries live in AwsCaller, where they are counted.
const sdk = { maxAttempts: 1 };
const config = loadConfig(process.env);
const logger = new Logger({ serviceName: GUARD_SERVICE_NAME });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: GUARD_SERVICE_NAME });
const orgRole = config.production.source === 'fixed' ? undefined : config.production.roleArn;
const cloudwatchByRegion = new Map<string, CloudWatchClient>();
const caller = new AwsCaller();

const guard = new Guard({
  config,
  iam: new IAMClient(sdk),
  organizations: new OrganizationsClient({
    ...sdk,
    region: organizationsRegion(process.env.AWS_REGION),
    credentials: orgRole
      ? fromTemporaryCredentials({ params: { RoleArn: orgRole, RoleSessionName: 'agent-guard' } })
      : undefined,
  }),
  cloudwatch: (region) => {
    const client = cloudwatchByRegion.get(region) ?? new CloudWatchClient({ ...sdk, region });
    cloudwatchByRegion.set(region, client);
    return client;
  },
  ssm: new SSMClient(sdk),
  sns: new SNSClient(sdk),
  centralClients: centralClients(config.centralNotices, sdk),
  caller,
  leases: new RoleLeases({
    ddb: DynamoDBDocumentClient.from(new DynamoDBClient(sdk)),
    caller,
    tableName: config.leaseTableName,
    onLost: (role, why) => logger.error('Role lease lost', { role, why }),
  }),
  logger,
  metrics: { count: (name, value) => metrics.addMetric(name, MetricUnit.Count, value) },
});

/** EventBridge events directly; denials as SQS batches from their own queue (a partial batch response). */
export const handler = async (event: unknown): Promise<unknown> => {
  try {
    const queued = queuedEvents(event);
    return await (queued ? guard.handleDenials(queued) : guard.handle(event));
  } finally {
    metrics.publishStoredMetrics();
  }
};
