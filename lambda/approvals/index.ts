import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { METRICS_NAMESPACE } from '../../lib/core/contract';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import { AwsCaller, errorName } from '../shared/aws-caller';
import { centralClients, centralFailureMetrics } from '../shared/notices';
import { RoleLeases } from '../shared/role-lease';
import { loadApprovalsConfig } from './config';
import { route } from './handler';
import { ApprovalService } from './service';

// Clients are built once per container. Retries live in AwsCaller, where they are counted.
const sdk = { maxAttempts: 1 };
const config = loadApprovalsConfig(process.env);
const logger = new Logger({ serviceName: 'agent-guard-approvals' });
const region = process.env.AWS_REGION ?? 'us-east-1';
const partition = config.topicArn.split(':')[1];
const ddb = DynamoDBDocumentClient.from(new DynamoDBClient(sdk), { marshallOptions: { removeUndefinedValues: true } });
const caller = new AwsCaller();

const service = new ApprovalService({
  config,
  catalog: resolveCatalog({
    customGroups: config.customGroups,
    exemptActions: config.exemptActions,
    exemptGroups: config.exemptGroups,
  }),
  iam: new IAMClient(sdk),
  ddb,
  scheduler: new SchedulerClient(sdk),
  events: new EventBridgeClient(sdk),
  sns: new SNSClient(sdk),
  centralClients: centralClients(config.centralNotices, sdk),
  caller,
  centralNoticeFailed: (error, target) => {
    // Raw to stdout, as Powertools Metrics writes it: the runtime's console prefix would hide the record.
    process.stdout.write(`${centralFailureMetrics(METRICS_NAMESPACE, 'agent-guard-approvals', new Date())}\n`);
    logger.error('Could not send a notice to the central target; the local topic has it', {
      target: target.arn,
      error: errorName(error),
    });
  },
  leases: new RoleLeases({
    ddb,
    caller,
    tableName: config.leaseTableName,
    onLost: (role, why) => logger.error('Role lease lost', { role, why }),
  }),
  functionArn: `arn:${partition}:lambda:${region}:${config.accountId}:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
});

export const handler = async (event: unknown): Promise<unknown> => {
  const result = await route(service, event);
  logger.info('Invocation done', { result: JSON.stringify(result).slice(0, 4000) });
  return result;
};
