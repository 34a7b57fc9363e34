import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { GUARD_PATH } from './core/contract';

export interface GuardNodejsFunctionProps {
  readonly functionName: string;
  readonly description: string;
  /** The folder under `lambda/` that holds the handler's `index`. */
  readonly handler: string;
  /** Describes what the function's own role may do. */
  readonly roleDescription: string;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  readonly onFailure?: lambda.IDestination;
  readonly logRetention: logs.RetentionDays;
  /** Encrypts the log group; its key policy must let CloudWatch Logs use it. */
  readonly logEncryptionKey: kms.IKey;
}

/**
 * A guard handler as a Lambda function: bundled at synth by the local esbuild (never Docker), SDK
 * included so its version is pinned, one invocation at a time so two never write one role at once.
 * Its role sits under the guard path and its log group carries the guard name, so the boundary
 * keeps agents off both; the caller grants the role what the handler needs.
 */
export function guardNodejsFunction(
  scope: Construct,
  id: string,
  props: GuardNodejsFunctionProps,
): { function: nodejs.NodejsFunction; role: iam.Role } {
  const logGroup = new logs.LogGroup(scope, 'Logs', {
    logGroupName: `/aws/lambda/${props.functionName}`,
    retention: props.logRetention,
    encryptionKey: props.logEncryptionKey,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const role = new iam.Role(scope, 'Role', {
    path: GUARD_PATH,
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: props.roleDescription,
  });
  logGroup.grantWrite(role);
  const fn = new nodejs.NodejsFunction(scope, id, {
    functionName: props.functionName,
    description: props.description,
    entry: handlerEntry(props.handler),
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 512,
    timeout: props.timeout,
    reservedConcurrentExecutions: 1,
    role,
    logGroup,
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
  Validations.of(fn).acknowledge({
    id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
    reason:
      'The guard calls only public AWS APIs (IAM, CloudWatch, SSM, SNS, Organizations, DynamoDB, Scheduler) and ' +
      'serves nothing on a network. A VPC would add NAT or endpoints to pay for, and one more way to blind the guard.',
  });
  return { function: fn, role };
}

/** The handler source: TypeScript in this repository, compiled JavaScript in the published package. */
function handlerEntry(name: string): string {
  const base = path.join(__dirname, '..', 'lambda', name, 'index');
  const found = ['.ts', '.js'].map((ext) => base + ext).find((file) => fs.existsSync(file));
  if (!found) throw new Error(`The ${name} handler is missing from ${path.dirname(base)}; reinstall agent-guard.`);
  return found;
}
