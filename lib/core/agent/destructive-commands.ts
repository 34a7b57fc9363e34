/**
 * Which shell commands would destroy or replace AWS resources: the AWS CLI (from the protected
 * catalog), Terraform/OpenTofu, the CDK, SAM, Pulumi, eksctl and Copilot.
 *
 * Deploys follow what IAM does while locked. Stack updates are protected (catalog group
 * `stack-replace`), so the tools that deploy through CloudFormation change sets (`cdk deploy`,
 * `aws cloudformation deploy`, `sam deploy`, `copilot deploy`) are destructive. Tools that call the
 * services' APIs directly (`terraform apply`, `pulumi up`) are destructive only when asked to destroy
 * or replace: their other calls are judged one by one by IAM.
 */
import { ResolvedCatalog } from '../policy/resolve-catalog';
import { CLI_OPERATION_ACTIONS, CLI_SERVICE_PREFIXES } from './aws-cli-services';
import { shellCommands } from './shell-commands';

/** One destructive operation found in a command line. */
export interface DestructiveOperation {
  /** The program: `aws`, `terraform`, `cdk`, ... */
  readonly tool: string;
  /** The command as found, wrappers taken off, such as `aws ec2 terminate-instances --instance-ids i-1`. */
  readonly command: string;
  /** The IAM action the operation needs and the guard protects, when one names it. */
  readonly iamAction?: string;
  /** The catalog group of `iamAction`, when it is in the catalog. */
  readonly group?: string;
  /** Why it counts as destructive, as a clause: "deletes a CloudFormation stack". */
  readonly why: string;
}

/** The destructive operations among the commands of a shell command line; empty when there are none. */
export function destructiveOperations(line: string, catalog: ResolvedCatalog): DestructiveOperation[] {
  const index = catalogIndex(catalog);
  return shellCommands(line).flatMap((argv) => {
    const found = classifyCommand(argv, index);
    return found ? [{ ...found, tool: argv[0], command: argv.join(' ') }] : [];
  });
}

type Found = Omit<DestructiveOperation, 'tool' | 'command'>;

interface CatalogIndex {
  /** Lower-cased `svc:action` to the catalog's spelling and group. */
  readonly actions: ReadonlyMap<string, { readonly action: string; readonly group: string }>;
}

const indexes = new WeakMap<ResolvedCatalog, CatalogIndex>();

function catalogIndex(catalog: ResolvedCatalog): CatalogIndex {
  let index = indexes.get(catalog);
  if (!index) {
    const actions = new Map<string, { action: string; group: string }>();
    for (const [action, group] of catalog.plain) actions.set(action.toLowerCase(), { action, group });
    for (const rule of catalog.conditional) {
      rule.actions.forEach((action) => actions.set(action.toLowerCase(), { action, group: rule.group }));
    }
    index = { actions };
    indexes.set(catalog, index);
  }
  return index;
}

function classifyCommand(argv: readonly string[], index: CatalogIndex): Found | undefined {
  switch (argv[0]) {
    case 'aws':
      return awsCli(argv.slice(1), index);
    case 'terraform':
    case 'tofu':
      return terraform(argv.slice(1));
    case 'cdk':
      return cdk(argv.slice(1), index);
    case 'sam':
      return sam(argv.slice(1), index);
    case 'pulumi':
      return pulumi(argv.slice(1));
    case 'eksctl':
      return eksctl(argv.slice(1), index);
    case 'copilot':
      return copilot(argv.slice(1), index);
    default:
      return undefined;
  }
}

/** The words that are not options nor option values, given the options that take a value. */
function positionals(args: readonly string[], valued: ReadonlySet<string>): string[] {
  const found: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i];
    if (word === '--') return [...found, ...args.slice(i + 1)];
    if (word.startsWith('-') && word.length > 1) {
      if (valued.has(word)) i++;
    } else {
      found.push(word);
    }
  }
  return found;
}

/**
 * The tool's subcommand: the first positional that names one of its subcommands. An option whose value
 * the valued set does not know would otherwise pass for the subcommand and hide a `destroy` after it.
 */
function subcommand(
  args: readonly string[],
  valued: ReadonlySet<string>,
  known: readonly string[],
): string | undefined {
  return positionals(args, valued).find((word) => known.includes(word));
}

/** True if `args` has flag `name` (`--name`, `-name`, `--name=true`), not set to false. */
function hasFlag(args: readonly string[], ...names: string[]): boolean {
  return args.some((word) => {
    const [flag, value] = word.split('=', 2);
    return names.includes(flag) && (value === undefined || value.toLowerCase() !== 'false');
  });
}

/** The value of `--name value` or `--name=value`. */
function optionValue(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
  }
  return undefined;
}

/** The AWS CLI's global options that take a value (`aws --profile p ec2 ...`). */
const AWS_GLOBAL_VALUED = new Set([
  '--profile',
  '--region',
  '--endpoint-url',
  '--output',
  '--query',
  '--color',
  '--ca-bundle',
  '--cli-read-timeout',
  '--cli-connect-timeout',
  '--cli-binary-format',
]);

/** Verbs of the catalog's `delete` group: an operation named so is destructive even outside the catalog. */
const DESTRUCTIVE_VERBS = /^(delete|terminate|remove|purge|destroy|deregister)-/;

function awsCli(args: readonly string[], index: CatalogIndex): Found | undefined {
  // Global options may also follow the operation; the first two positionals are service and operation.
  const words = positionals(args, AWS_GLOBAL_VALUED);
  const [service, operation] = words;
  if (service === undefined || operation === undefined) return undefined;
  // Help and skeletons print; an EC2 dry run only checks permissions.
  const help = args[args.length - 1] === 'help' && !(args[args.length - 2] ?? '').startsWith('-');
  if (help || args.some((w) => w.startsWith('--generate-cli-skeleton')) || hasFlag(args, '--dry-run')) {
    return undefined;
  }
  if (service === 's3') return s3HighLevel(operation, words.slice(2), args, index);
  if (service === 'cloudformation' && operation === 'deploy') {
    if (hasFlag(args, '--no-execute-changeset')) return undefined;
    return catalogued('cloudformation:ExecuteChangeSet', index, 'deploys a CloudFormation stack update');
  }
  if (service === 'route53' && operation === 'change-resource-record-sets') return route53Change(args, index);
  if (service === 'sts' && operation === 'assume-role') return assumeRole(args, index);

  const prefix = CLI_SERVICE_PREFIXES[service] ?? service;
  const guess = CLI_OPERATION_ACTIONS[`${prefix}:${operation}`] ?? `${prefix}:${pascalCase(operation)}`;
  const known = catalogued(guess, index);
  if (known) return known;
  if (DESTRUCTIVE_VERBS.test(operation)) {
    return { iamAction: guess, why: `calls ${guess}, named as a destructive operation (not in the guard's catalog)` };
  }
  return undefined;
}

/** `delete-db-instance` → `DeleteDbInstance`; IAM compares action names without case. */
export function pascalCase(kebab: string): string {
  return kebab
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** `action` as the catalog spells it, with its group; undefined when the catalog does not protect it. */
function catalogued(action: string, index: CatalogIndex, why?: string): Found | undefined {
  const hit = index.actions.get(action.toLowerCase());
  return hit ? { iamAction: hit.action, group: hit.group, why: why ?? `calls ${hit.action}` } : undefined;
}

/** `aws s3 rm|rb|mv|sync`: the high-level S3 commands that delete. */
function s3HighLevel(operation: string, paths: readonly string[], args: readonly string[], index: CatalogIndex) {
  const remote = (path: string | undefined) => path?.startsWith('s3://') === true;
  switch (operation) {
    case 'rm':
      return catalogued(
        's3:DeleteObject',
        index,
        hasFlag(args, '--recursive') ? 'deletes every object under an S3 prefix' : 'deletes an S3 object',
      );
    case 'rb':
      return hasFlag(args, '--force')
        ? catalogued('s3:DeleteBucket', index, 'deletes an S3 bucket and every object in it')
        : catalogued('s3:DeleteBucket', index, 'deletes an S3 bucket');
    case 'mv':
      return remote(paths[0])
        ? catalogued('s3:DeleteObject', index, 'moves S3 objects, deleting the source')
        : undefined;
    case 'sync':
      return hasFlag(args, '--delete') && remote(paths[1])
        ? catalogued('s3:DeleteObject', index, 'deletes S3 objects missing from the source (sync --delete)')
        : undefined;
    default:
      return undefined;
  }
}

/** A Route 53 change batch is destructive when a change DELETEs; one the hook cannot read may. */
function route53Change(args: readonly string[], index: CatalogIndex): Found | undefined {
  const batch = optionValue(args, '--change-batch');
  let deletes = true;
  if (batch !== undefined && batch.trimStart().startsWith('{')) {
    try {
      const changes = (JSON.parse(batch) as { Changes?: { Action?: unknown }[] }).Changes ?? [];
      deletes = changes.some((change) => String(change?.Action).toUpperCase() === 'DELETE');
    } catch {
      deletes = true;
    }
  }
  return deletes
    ? catalogued(
        'route53:ChangeResourceRecordSets',
        index,
        'changes DNS records with a DELETE, or a batch the hook cannot read',
      )
    : undefined;
}

/** Assuming a CDK bootstrap role other than the lookup role hands over an unbounded deployment. */
function assumeRole(args: readonly string[], index: CatalogIndex): Found | undefined {
  const role = optionValue(args, '--role-arn') ?? '';
  const name = role.slice(role.lastIndexOf('/') + 1);
  if (!/^cdk-[a-z0-9]+-/.test(name) || name.includes('-lookup-role-')) return undefined;
  return catalogued('sts:AssumeRole', index, 'assumes a CDK bootstrap role, which deploys without the guard');
}

const TERRAFORM_VALUED = new Set(['-chdir', '-var', '-var-file', '-target', '-replace', '-state', '-lock-timeout']);

/** Terraform's and OpenTofu's subcommands (`terraform -help`). */
const TERRAFORM_COMMANDS = [
  ...['init', 'validate', 'plan', 'apply', 'destroy', 'console', 'fmt', 'force-unlock', 'get', 'graph', 'import'],
  ...['login', 'logout', 'metadata', 'modules', 'output', 'providers', 'refresh', 'show', 'state', 'taint', 'test'],
  ...['untaint', 'version', 'workspace'],
];

function terraform(args: readonly string[]): Found | undefined {
  const command = subcommand(args, TERRAFORM_VALUED, TERRAFORM_COMMANDS);
  if (hasFlag(args, '-help', '--help', '-h')) return undefined;
  if (command === 'destroy') return { why: 'destroys every resource of the configuration' };
  if (command === 'apply') {
    if (hasFlag(args, '-destroy', '--destroy')) return { why: 'destroys every resource of the configuration' };
    if (args.some((w) => /^--?replace(=|$)/.test(w))) return { why: 'replaces resources (destroy, then create)' };
  }
  // `state rm`, `workspace delete` and `taint` change Terraform's records, not AWS resources.
  return undefined;
}

const CDK_VALUED = new Set([
  '-a',
  '--app',
  '-c',
  '--context',
  '-p',
  '--plugin',
  '--profile',
  '--proxy',
  '--ca-bundle-path',
  '-o',
  '--output',
  '-r',
  '--role-arn',
  '--toolkit-stack-name',
  '--method',
  '--region',
]);

/** The CDK CLI's subcommands (`cdk --help`). */
const CDK_COMMANDS = [
  ...['list', 'ls', 'synth', 'synthesize', 'bootstrap', 'gc', 'deploy', 'rollback', 'import', 'watch', 'destroy'],
  ...['diff', 'drift', 'metadata', 'acknowledge', 'ack', 'notices', 'init', 'migrate', 'context', 'docs', 'doctor'],
  ...['refactor', 'flags'],
];

function cdk(args: readonly string[], index: CatalogIndex): Found | undefined {
  const command = subcommand(args, CDK_VALUED, CDK_COMMANDS);
  if (hasFlag(args, '--help', '-h')) return undefined;
  switch (command) {
    case 'destroy':
      return needs('cloudformation:DeleteStack', index, 'deletes CloudFormation stacks');
    case 'deploy':
    case 'watch':
      // `--method=prepare-change-set` (and the older `--no-execute`) creates a change set and stops.
      if (optionValue(args, '--method') === 'prepare-change-set' || hasFlag(args, '--no-execute')) return undefined;
      return stackUpdate(index, 'deploys CloudFormation stack updates');
    case 'bootstrap':
      return stackUpdate(index, 'deploys the CDK bootstrap stack');
    case 'import':
      return stackUpdate(index, 'imports resources through a stack update');
    case 'rollback':
      return needs('cloudformation:RollbackStack', index, 'rolls a stack back');
    case 'gc':
      return needs('s3:DeleteObject', index, 'deletes unused CDK assets');
    default:
      return undefined;
  }
}

/** An operation that needs `action`, with the action's catalog group when the catalog protects it. */
function needs(action: string, index: CatalogIndex, why: string): Found {
  return catalogued(action, index, why) ?? { iamAction: action, why };
}

function stackUpdate(index: CatalogIndex, why: string): Found {
  return needs('cloudformation:ExecuteChangeSet', index, why);
}

function sam(args: readonly string[], index: CatalogIndex): Found | undefined {
  const command = subcommand(args, new Set(['--profile', '--region', '--config-file', '--config-env', '-t']), [
    ...['init', 'build', 'local', 'validate', 'package', 'deploy', 'delete', 'sync', 'logs', 'publish', 'list'],
    ...['pipeline', 'traces', 'remote', 'docs'],
  ]);
  if (hasFlag(args, '--help', '-h')) return undefined;
  if (command === 'delete') {
    return needs('cloudformation:DeleteStack', index, 'deletes a SAM application stack');
  }
  if (command === 'deploy' && !hasFlag(args, '--no-execute-changeset')) {
    return stackUpdate(index, 'deploys a CloudFormation stack update');
  }
  if (command === 'sync') return stackUpdate(index, 'deploys a CloudFormation stack update');
  return undefined;
}

function pulumi(args: readonly string[]): Found | undefined {
  const command = subcommand(args, new Set(['-s', '--stack', '-C', '--cwd', '--config-file']), [
    ...['up', 'update', 'destroy', 'down', 'preview', 'refresh', 'stack', 'state', 'config', 'login', 'new'],
    ...['import', 'cancel', 'logs', 'watch', 'whoami', 'plugin', 'org', 'about', 'version', 'env', 'install'],
  ]);
  if (hasFlag(args, '--help', '-h') || hasFlag(args, '--preview-only')) return undefined;
  if (command === 'destroy' || command === 'down') return { why: 'destroys every resource of the stack' };
  if ((command === 'up' || command === 'update') && args.some((w) => /^--(target-)?replace(=|$)/.test(w))) {
    return { why: 'replaces resources (destroy, then create)' };
  }
  // `stack rm` and `state delete` change Pulumi's records only; `stack rm` refuses a stack that has resources.
  return undefined;
}

function eksctl(args: readonly string[], index: CatalogIndex): Found | undefined {
  const [command, noun] = positionals(args, new Set(['-f', '--config-file', '--region', '--profile', '-n', '--name']));
  if (hasFlag(args, '--help', '-h')) return undefined;
  if (command === 'delete') return { why: `deletes an EKS ${noun ?? 'resource'} and its CloudFormation stacks` };
  if (command === 'scale' && noun === 'nodegroup') {
    return needs('eks:UpdateNodegroupConfig', index, "changes a node group's capacity");
  }
  return undefined;
}

function copilot(args: readonly string[], index: CatalogIndex): Found | undefined {
  const words = positionals(args, new Set(['-a', '--app', '-e', '--env', '-n', '--name']));
  if (hasFlag(args, '--help', '-h')) return undefined;
  // `copilot app delete`, `copilot svc delete`, ...; `copilot deploy` and `copilot svc deploy`.
  const verb = words[0] === 'deploy' ? 'deploy' : words[1];
  if (verb === 'delete') {
    return needs('cloudformation:DeleteStack', index, `deletes a Copilot ${words[0]} and its stacks`);
  }
  if (verb === 'deploy') return stackUpdate(index, 'deploys a CloudFormation stack update');
  if (verb === 'exec') {
    return needs('ecs:ExecuteCommand', index, 'runs a command inside a running task');
  }
  return undefined;
}
