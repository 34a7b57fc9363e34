import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface GuardNodejsFunctionProps {
  readonly functionName: string;
  readonly description: string;
  /** The folder under `lambda/` that holds the handler's `index`. */
  readonly handler: string;
  readonly role: iam.IRole;
  readonly logGroup: logs.ILogGroup;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  readonly onFailure?: lambda.IDestination;
}

/**
 * A guard handler as a Lambda function: bundled at synth by the local esbuild (never Docker), SDK
 * included so its version is pinned, one invocation at a time so two never write one role at once.
 */
export function guardNodejsFunction(
  scope: Construct,
  id: string,
  props: GuardNodejsFunctionProps,
): nodejs.NodejsFunction {
  return new nodejs.NodejsFunction(scope, id, {
    functionName: props.functionName,
    description: props.description,
    entry: handlerEntry(props.handler),
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 512,
    timeout: props.timeout,
    reservedConcurrentExecutions: 1,
    role: props.role,
    logGroup: props.logGroup,
    onFailure: props.onFailure,
    retryAttempts: 2,
    maxEventAge: Duration.hours(1),
    bundling: {
      minify: true,
      target: 'node22',
      mainFields: ['module', 'main'],
      bundleAwsSDK: true,
      forceDockerBundling: false,
    },
    environment: props.environment,
  });
}

/** The handler source: TypeScript in this repository, compiled JavaScript in the published package. */
function handlerEntry(name: string): string {
  const base = path.join(__dirname, '..', 'lambda', name, 'index');
  const found = ['.ts', '.js'].map((ext) => base + ext).find((file) => fs.existsSync(file));
  if (!found) throw new Error(`The ${name} handler is missing from ${path.dirname(base)}; reinstall agent-guard.`);
  return found;
}
