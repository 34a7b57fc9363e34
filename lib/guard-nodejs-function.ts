import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { GUARD_PATH } from './core/contract';

export interface GuardNodejsFunctionProps {
  readonly functionName: string;
  readonly description: string;
  /** The handler's folder under `lambda/`, and so its bundle's under `dist/handlers/`. */
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
 * A guard handler as a Lambda function, from the bundle that `npm run build` made when the package
 * was built (SDK included, so its version is pinned): a consumer's synth bundles nothing, so it needs
 * neither esbuild nor Docker. No reserved concurrency: Lambda keeps 100 executions of an account
 * unreserved, and new accounts may have fewer in all, so reserving any fails the deploy there; the
 * handlers serialise their writes to a role with a lease instead (lambda/shared/role-lease.ts).
 * Its role sits under the guard path and its log group carries the guard name, so the boundary
 * keeps agents off both; the caller grants the role what the handler needs.
 */
export function guardNodejsFunction(
  scope: Construct,
  id: string,
  props: GuardNodejsFunctionProps,
): { function: lambda.Function; role: iam.Role } {
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
  const fn = new lambda.Function(scope, id, {
    functionName: props.functionName,
    description: props.description,
    code: lambda.Code.fromAsset(handlerBundleDir(props.handler)),
    handler: 'index.handler',
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 512,
    timeout: props.timeout,
    role,
    logGroup,
    onFailure: props.onFailure,
    retryAttempts: 2,
    maxEventAge: Duration.hours(1),
    environment: props.environment,
  });
  acknowledgeOutsideVpc(fn);
  return { function: fn, role };
}

/** The guard's functions stay outside a VPC on purpose; says why to cfn-guard's Control Tower rule. */
export function acknowledgeOutsideVpc(scope: Construct): void {
  Validations.of(scope).acknowledge({
    id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
    reason:
      'The guard calls only public AWS APIs (IAM, CloudWatch, SSM, SNS, Organizations, DynamoDB, Scheduler) and ' +
      'serves nothing on a network. A VPC would add NAT or endpoints to pay for, and one more way to blind the guard.',
  });
}

/**
 * The folder of a handler's prebuilt bundle, `dist/handlers/<name>` beside agent-guard's package.json:
 * found the same way from the TypeScript sources (`lib/`) and from the compiled package (`dist/lib/`).
 */
export function handlerBundleDir(name: string): string {
  const root = packageRoot(__dirname);
  const dir = path.join(root, 'dist', 'handlers', name);
  if (!fs.existsSync(path.join(dir, 'index.js'))) {
    throw new Error(
      `The prebuilt bundle of the ${name} handler is missing (${path.join(dir, 'index.js')}). ` +
        `In a clone of agent-guard, run 'npm run build'; in an installed package, reinstall agent-guard.`,
    );
  }
  return dir;
}

function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (
      fs.existsSync(manifest) &&
      (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'agent-guard'
    ) {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`No package.json of agent-guard above ${from}.`);
  }
}
