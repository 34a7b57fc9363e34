import { iamReference } from '../catalog/iam-reference';
import { CLI_OPERATION_ACTIONS, CLI_SERVICE_PREFIXES } from './aws-cli-services';

/**
 * One AWS CLI command line (`aws cloudformation delete-stack --stack-name prod-api`) as the IAM action it
 * calls and the resource it acts on, for `agent-guard check -- aws ...`. Minimal on purpose: the
 * operation's kebab name in PascalCase, the CLI names that differ from the IAM service prefix, and the
 * resource from the usual name flags when the ARN can be built. Everything else is resource `*`, with a
 * note. The CLI-to-IAM tables are the hook's (aws-cli-services.ts).
 */

export interface CliAction {
  readonly action: string;
  /** The resource ARN, or `*` when it cannot be built from the command line. */
  readonly resource: string;
  readonly notes: readonly string[];
}

/** Where ARNs are built: partition, account and region, each when known. */
export interface ArnContext {
  readonly partition: string;
  readonly account?: string;
  readonly region?: string;
}

/** The high-level `aws s3` commands that destroy, as the API calls they make. */
const S3_COMMANDS: Readonly<Record<string, string>> = {
  rm: 's3:DeleteObject',
  rb: 's3:DeleteBucket',
  mv: 's3:DeleteObject',
};

type Builder = (value: string, at: Required<ArnContext>, flags: ReadonlyMap<string, string>) => string;

/** Resource ARNs from name flags, per service: the first flag present wins. */
const RESOURCE_FLAGS: Readonly<Record<string, readonly (readonly [string, Builder])[]>> = {
  cloudformation: [
    ['--stack-name', (v, c) => arnOr(v, `arn:${c.partition}:cloudformation:${c.region}:${c.account}:stack/${v}/*`)],
  ],
  lambda: [['--function-name', (v, c) => arnOr(v, `arn:${c.partition}:lambda:${c.region}:${c.account}:function:${v}`)]],
  s3: [['--bucket', (v, c, f) => `arn:${c.partition}:s3:::${v}${f.has('--key') ? `/${f.get('--key')}` : ''}`]],
  ec2: [
    ['--instance-ids', (v, c) => `arn:${c.partition}:ec2:${c.region}:${c.account}:instance/${v}`],
    ['--instance-id', (v, c) => `arn:${c.partition}:ec2:${c.region}:${c.account}:instance/${v}`],
    ['--volume-id', (v, c) => `arn:${c.partition}:ec2:${c.region}:${c.account}:volume/${v}`],
    ['--vpc-id', (v, c) => `arn:${c.partition}:ec2:${c.region}:${c.account}:vpc/${v}`],
  ],
  rds: [
    ['--db-instance-identifier', (v, c) => `arn:${c.partition}:rds:${c.region}:${c.account}:db:${v}`],
    ['--db-cluster-identifier', (v, c) => `arn:${c.partition}:rds:${c.region}:${c.account}:cluster:${v}`],
  ],
  dynamodb: [['--table-name', (v, c) => arnOr(v, `arn:${c.partition}:dynamodb:${c.region}:${c.account}:table/${v}`)]],
  logs: [['--log-group-name', (v, c) => `arn:${c.partition}:logs:${c.region}:${c.account}:log-group:${v}`]],
  iam: [['--role-name', (v, c) => `arn:${c.partition}:iam::${c.account}:role/${v}`]],
  kms: [['--key-id', (v, c) => arnOr(v, `arn:${c.partition}:kms:${c.region}:${c.account}:key/${v}`)]],
  route53: [
    ['--hosted-zone-id', (v, c) => `arn:${c.partition}:route53:::hostedzone/${v.replace(/^\/?hostedzone\//, '')}`],
  ],
  ecr: [['--repository-name', (v, c) => `arn:${c.partition}:ecr:${c.region}:${c.account}:repository/${v}`]],
  sns: [['--topic-arn', (v) => v]],
  sqs: [
    [
      '--queue-url',
      (v, c) => {
        const m = /^https:\/\/[^/]+\/(\d{12})\/([^/?]+)$/.exec(v);
        return m ? `arn:${c.partition}:sqs:${c.region}:${m[1]}:${m[2]}` : '*';
      },
    ],
  ],
};

function arnOr(value: string, built: string): string {
  return value.startsWith('arn:') ? value : built;
}

/** `delete-stack` → `DeleteStack`. */
function pascal(kebab: string): string {
  return kebab.replace(/(^|-)([a-z0-9])/g, (_m, _dash, c: string) => c.toUpperCase());
}

/** `--name value` and `--name=value`; a flag without a value maps to ''. Values of repeated flags: the first. */
function flagsOf(args: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    const [name, value] =
      eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, args[i + 1]?.startsWith('--') ? '' : (args[i + 1] ?? '')];
    if (!flags.has(name)) flags.set(name, value);
  }
  return flags;
}

/**
 * Maps `aws <service> <operation> [flags]` to its action and resource. Throws a message that says what
 * to write instead when the line is not one AWS CLI call of a known service and operation.
 */
export function cliToAction(argv: readonly string[], context: ArnContext): CliAction {
  const words = argv[0] === 'aws' ? argv.slice(1) : argv;
  // Global options before the service (aws --region eu-west-1 ec2 ...) are skipped.
  const firstWord = words.findIndex(
    (w, i) => !w.startsWith('-') && !(i > 0 && words[i - 1].startsWith('--') && !words[i - 1].includes('=')),
  );
  if (argv[0] !== 'aws' || firstWord < 0 || words.length < firstWord + 2) {
    throw new Error(
      'After -- give one AWS CLI command, such as: -- aws cloudformation delete-stack --stack-name prod-api.',
    );
  }
  const command = words[firstWord];
  const operation = words[firstWord + 1];
  const rest = words.slice(firstWord + 2);
  const flags = flagsOf(words);
  const region = flags.get('--region') || context.region;
  const notes: string[] = [];

  let action: string;
  let resource = '*';
  const at = context.account && region ? { partition: context.partition, account: context.account, region } : undefined;
  if (command === 's3' && S3_COMMANDS[operation] !== undefined) {
    action = S3_COMMANDS[operation];
    // rm and rb name their target; mv names its source first, and deletes it.
    const target = rest.find((w) => w.startsWith('s3://')) ?? '';
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(target);
    if (m)
      resource = `arn:${context.partition}:s3:::${m[1]}${m[2] ? `/${m[2]}` : operation === 'rm' && flags.has('--recursive') ? '/*' : ''}`;
    if (operation === 'rb' && flags.has('--force'))
      notes.push('aws s3 rb --force deletes every object first (s3:DeleteObject).');
  } else {
    const service = CLI_SERVICE_PREFIXES[command] ?? command;
    action = CLI_OPERATION_ACTIONS[`${service}:${operation}`] ?? `${service}:${pascal(operation)}`;
    const known = iamReference.expand(action);
    if (!iamReference.hasService(service)) {
      throw new Error(
        `'${command}' is not an AWS CLI service agent-guard knows the IAM prefix of. Pass --action and --resource instead.`,
      );
    }
    if (known.length !== 1) {
      throw new Error(
        `aws ${command} ${operation} maps to no IAM action of ${service} (tried ${action}). Pass --action and --resource instead.`,
      );
    }
    action = known[0];
    for (const [flag, build] of RESOURCE_FLAGS[service] ?? []) {
      const value = flags.get(flag);
      if (!value) continue;
      if (!value.startsWith('arn:') && !at && !['s3', 'iam', 'route53', 'sns'].includes(service)) {
        notes.push(`The ARN for ${flag} needs the account and region, which are not known; checked on resource *.`);
        break;
      }
      resource = build(
        value,
        at ?? { partition: context.partition, account: context.account ?? '*', region: region ?? '*' },
        flags,
      );
      if (/\s/.test(value) || value.includes(','))
        notes.push(`${flag} names more than one resource; checked on the first.`);
      break;
    }
  }
  if (resource === '*' && notes.length === 0) {
    notes.push(
      'The resource could not be built from the command line; checked on resource *, which any statement on named resources may match.',
    );
  }
  return { action, resource: resource.split(/[\s,]/)[0], notes };
}
