import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { Logger } from '@aws-lambda-powertools/logger';
import { AwsCaller } from '../shared/aws-caller';
import { loadConfig } from './config';
import { CustomResourceEvent, CustomResourceResult, onEvent } from './handler';
import { Uninstaller } from './uninstall';

// Clients are built once per container. Retries live in AwsCaller, where they are counted.
const sdk = { maxAttempts: 1 };
const config = loadConfig(process.env);
const logger = new Logger({ serviceName: 'agent-guard-uninstall' });
const iam = new IAMClient(sdk);
const events = new EventBridgeClient(sdk);

export const handler = async (
  event: CustomResourceEvent,
  context: { getRemainingTimeInMillis(): number },
): Promise<CustomResourceResult> => {
  const uninstaller = new Uninstaller({
    config,
    iam,
    events,
    caller: new AwsCaller(),
    logger,
    remainingMs: () => context.getRemainingTimeInMillis(),
  });
  return onEvent(event, config, uninstaller, logger);
};
