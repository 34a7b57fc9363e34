import { Command } from 'commander';
import { cliToAction } from '../../lib/core/agent/cli-to-action';
import { sourcesOf } from '../../lib/core/agent/blast-radius';
import { checkAction, CheckResult } from '../../lib/core/agent/check';
import { iamReference } from '../../lib/core/catalog/iam-reference';
import {
  BOUNDARY_POLICY_NAME,
  DEFAULT_STATUS_PARAMETER,
  GUARD_NAME_PREFIX,
  GUARD_PATH,
  guardPolicyName,
} from '../../lib/core/contract';
import { NamedPolicy, PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { boundaryDocument } from '../../lib/core/policy/boundary';
import { compileGuardPolicies } from '../../lib/core/policy/guard-policies';
import { ResolvedCatalog } from '../../lib/core/policy/resolve-catalog';
import {
  DEFAULT_SCHEDULE_MINUTES,
  effectiveLock,
  EffectiveLock,
  parseGuardStatus,
} from '../../lib/core/status-freshness';
import type { ApprovalRecord } from '../../lib/core/approval-api';
import type { GuardStatus } from '../../lib/core/status';
import { callApi } from './client';
import { CliError, clip, EXIT, messageOf, quote, usageError } from './errors';
import { formatCheck } from './format';
import { checkRoleArn } from './input';
import { Style } from './style';
import { AwsTarget, clientConfig, Transport } from './transport';

/** What the check and explain commands use of the CLI: its deps and connection helpers. */
export interface CheckContext {
  readonly readParameter: (
    name: string,
    target: AwsTarget & { readonly region: string },
  ) => Promise<string | undefined>;
  readonly readRole: (roleArn: string, target: AwsTarget) => Promise<RolePolicies>;
  readonly now: () => Date;
  readonly catalog: () => ResolvedCatalog;
  readonly style: Style;
  readonly print: (text: string) => void;
  /** The region for an SSM read, or a usage error that says how to give one. */
  readonly regionFor: (options: CheckOptions, what: string) => Promise<string>;
  /** Where and as whom to call AWS: --profile, --account, --assume-role, checked. */
  readonly targetOf: (options: CheckOptions, region?: string) => AwsTarget;
  readonly connect: (options: CheckOptions) => Promise<Transport>;
}

export interface CheckOptions {
  readonly action?: string;
  readonly resource?: string;
  readonly role?: string;
  readonly json?: boolean;
  readonly offline?: boolean;
  readonly parameter: string;
  readonly scheduleMinutes: string;
  readonly url?: string;
  readonly region?: string;
  readonly profile?: string;
  readonly account?: string;
  readonly assumeRole?: string;
}

/** What IAM holds for a role: its guard tags, its boundary and its guard policies (path /agent-guard/). */
export interface RolePolicies {
  readonly tags: Readonly<Record<string, string>>;
  readonly boundary?: NamedPolicy;
  readonly guardPolicies: readonly NamedPolicy[];
}

export const CHECK_HELP = `
Exit codes: 0 the guard would let the call through; 1 it would deny it, or the answer is unknown (treat as
denied); 2 bad input.

Online (the default), check reads the status parameter (SSM GetParameter), lists the role's approvals
through the approval function, and reads the role from IAM: GetRole (tags, boundary),
ListAttachedRolePolicies under ${GUARD_PATH}, then GetPolicy and GetPolicyVersion for each guard policy and the
boundary. With --offline, or when a read fails, it uses what it could not read as locked: no status means
locked, and no role means the default compiled policy set of this version of agent-guard.

Examples:
  agent-guard check --action cloudformation:DeleteStack \\
    --resource 'arn:aws:cloudformation:us-east-1:111122223333:stack/prod-api/*' --role arn:aws:iam::111122223333:role/agent
  agent-guard check --role arn:aws:iam::111122223333:role/agent -- aws cloudformation delete-stack --stack-name prod-api`;

/** Adds the options check and explain share. */
export function withCheckOptions(command: Command): Command {
  return command
    .option('--offline', 'read nothing from AWS: status unknown (locked), default policy set, no approvals')
    .option('--parameter <name>', 'SSM parameter of the guard status', DEFAULT_STATUS_PARAMETER)
    .option(
      '--schedule-minutes <n>',
      "the guard's schedule; a status older than three schedules counts as locked",
      // A guard with a longer schedule looks stale sooner: fail closed.
      String(DEFAULT_SCHEDULE_MINUTES),
    );
}

/** `svc:Action` as the catalog spells it, or a usage error. */
export function checkActionName(value: string, flag: string): string {
  const known = /^[a-z0-9-]+:[A-Za-z0-9]+$/.test(value) ? iamReference.expand(value) : [];
  if (known.length === 1) return known[0];
  throw usageError(
    `${flag} ${quote(value)} is not an IAM action that ${iamReference.source} knows. Write one exact action, such as cloudformation:DeleteStack.`,
  );
}

const RESOURCE_ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:\S+$/;

export function checkResource(value: string, flag: string): string {
  if (value === '*' || (RESOURCE_ARN.test(value) && value.length <= 2048)) return value;
  throw usageError(
    `${flag} ${quote(value)} is not a resource ARN. Write it like arn:aws:ec2:us-east-1:111122223333:instance/i-0abc, or * when you do not know it.`,
  );
}

export function scheduleOf(value: string): number {
  const n = Number(value);
  if (!/^\d{1,4}$/.test(value) || n < 1 || n > 1440) {
    throw usageError(`--schedule-minutes ${quote(value)} is not a number of minutes from 1 to 1440.`);
  }
  return n;
}

/** The status, or why it could not be read. Never throws for AWS failures: unreadable means locked. */
export async function readStatus(
  ctx: CheckContext,
  options: CheckOptions,
): Promise<{ status?: GuardStatus; problem?: string }> {
  if (options.offline) return { problem: 'offline: the status was not read' };
  const parameter = clip(options.parameter);
  let region: string;
  try {
    region = await ctx.regionFor(options, `the SSM parameter ${parameter} that holds the guard status`);
  } catch (error) {
    return { problem: messageOf(error) };
  }
  const where = `SSM parameter ${parameter} in ${region}`;
  let raw: string | undefined;
  try {
    raw = await ctx.readParameter(options.parameter, { ...ctx.targetOf(options, region), region });
  } catch (error) {
    return { problem: `could not read ${where}: ${messageOf(error)}` };
  }
  if (!raw) return { problem: `${where} does not exist` };
  const status = parseGuardStatus(raw);
  return status ? { status } : { problem: `${where} does not hold a status the guard wrote (schemaVersion 1)` };
}

/** The standard guard policies and the boundary of this version of agent-guard, for one account. */
export function defaultPolicies(
  catalog: ResolvedCatalog,
  partition: string,
  account: string,
): { identity: NamedPolicy[]; boundary: NamedPolicy } {
  return {
    identity: compileGuardPolicies({ catalog, policyName: guardPolicyName }),
    boundary: {
      name: BOUNDARY_POLICY_NAME,
      // The guard stack's real name is not known offline; its resources are still protected by tag.
      document: boundaryDocument({
        partition,
        account,
        guardStackName: `${GUARD_NAME_PREFIX}*`,
        ceilingActions: ['*'],
      }),
    },
  };
}

/** What `check` and `explain` ask about. */
export interface Question {
  readonly action: string;
  readonly resource: string;
  readonly roleArn?: string;
  readonly notes?: readonly string[];
}

/** Gathers the status, approvals and policies (each failure noted, none fatal), then decides. */
export async function answer(ctx: CheckContext, options: CheckOptions, question: Question): Promise<CheckResult> {
  ctx.targetOf(options); // bad --account or --assume-role is a usage error, not an unreadable status
  const now = ctx.now();
  const notes = [...(question.notes ?? [])];
  const { status, problem } = await readStatus(ctx, options);
  const lock: EffectiveLock = effectiveLock(status, now, scheduleOf(options.scheduleMinutes));
  if (problem) notes.push(`Status: ${problem}.`);

  let approvals: ApprovalRecord[] | undefined;
  let role: RolePolicies | undefined;
  if (question.roleArn && !options.offline) {
    try {
      approvals = (await callApi(await ctx.connect(options), { op: 'list', roleArn: question.roleArn })).approvals;
    } catch (error) {
      notes.push(`Approvals: could not list them (${messageOf(error)}).`);
    }
    try {
      role = await ctx.readRole(question.roleArn, ctx.targetOf(options, options.region));
    } catch (error) {
      notes.push(`Policies: could not read the role from IAM (${messageOf(error)}); evaluated the default set.`);
    }
  } else if (!question.roleArn) {
    notes.push('No --role: evaluated the default policy set, and no approvals.');
  }

  const arnParts = /^arn:([a-z-]+):[^:]*:[^:]*:(\d{12})?:/.exec(question.roleArn ?? question.resource);
  const partition = arnParts?.[1] ?? 'aws';
  const account =
    /^arn:[a-z-]+:iam::(\d{12}):/.exec(question.roleArn ?? '')?.[1] ?? status?.account ?? arnParts?.[2] ?? '*';
  const policies = role
    ? {
        identity: role.guardPolicies,
        ...(role.boundary ? { boundary: role.boundary } : {}),
        source: 'attached' as const,
      }
    : { ...defaultPolicies(ctx.catalog(), partition, account), source: 'default' as const };
  if (role && role.boundary === undefined)
    notes.push('The role has no permissions boundary: the guard does not constrain it.');
  if (role && role.guardPolicies.length === 0) notes.push(`The role has no guard policies under ${GUARD_PATH}.`);

  return checkAction({
    action: question.action,
    resource: question.resource,
    ...(question.roleArn ? { roleArn: question.roleArn } : {}),
    lock,
    now,
    ...(approvals ? { approvals } : {}),
    policies,
    ...(role ? { roleTags: role.tags } : {}),
    catalog: ctx.catalog(),
    notes,
    ...(status ? { live: { asOf: status.evaluatedAt, sources: sourcesOf(status) } } : {}),
  });
}

/** Prints the result and fails (exit 1) unless the guard would let the call through. */
export function report(
  ctx: CheckContext,
  result: CheckResult,
  json: boolean | undefined,
  extra: { readonly explanation?: string; readonly denial?: object } = {},
  exitOnDeny = true,
): void {
  ctx.print(json ? JSON.stringify({ ...extra, ...result }, null, 2) : formatCheck(result, ctx.style, extra));
  // The answer is printed; the exit code carries it for scripts (`check ... && aws ...`).
  if (exitOnDeny && result.treatAsDenied)
    throw new CliError('treat this call as denied (exit 1); the answer is above.', EXIT.FAILED);
}

/** The question an AWS CLI command asks (`check -- aws ...`), or a usage error when it is not one. */
export async function commandQuestion(
  ctx: CheckContext,
  options: CheckOptions,
  argv: readonly string[],
  roleArn: string | undefined,
): Promise<Question> {
  const account = /^arn:[a-z-]+:iam::(\d{12}):/.exec(roleArn ?? '')?.[1] ?? options.account;
  const partition = /^arn:([a-z-]+):/.exec(roleArn ?? '')?.[1] ?? 'aws';
  // The region for ARNs: the command's own --region, else the CLI's; none leaves the resource unknown.
  const region = await ctx.regionFor(options, 'the resource ARN').catch(() => undefined);
  try {
    const mapped = cliToAction(argv, {
      partition,
      ...(account ? { account } : {}),
      ...(region ? { region } : {}),
    });
    return { action: mapped.action, resource: mapped.resource, ...(roleArn ? { roleArn } : {}), notes: mapped.notes };
  } catch (error) {
    throw usageError(messageOf(error));
  }
}

export function registerCheck(program: Command, ctx: CheckContext, withConnection: (c: Command) => Command): void {
  withConnection(
    withCheckOptions(
      program
        .command('check')
        .summary('would this call be denied now, and why (before an agent acts)')
        .description(
          'Answer whether the guard would deny an action on a resource now: the lock state and why, the ' +
            "approvals in force on the role, the action's group and whether it can be undone, the deciding " +
            'policy statement, and the exact agent-guard request command. Give --action and --resource, or one ' +
            'AWS CLI command after --.',
        )
        .argument(
          '[aws-cli...]',
          'an AWS CLI command after --, such as -- aws cloudformation delete-stack --stack-name prod-api',
        )
        .option('--action <action>', 'the IAM action, such as cloudformation:DeleteStack')
        .option('--resource <arn>', 'the resource ARN (* when not known)')
        .option('--role <arn>', 'the agent role ARN (default: evaluate the default policy set)'),
    ),
  )
    .addHelpText('after', CHECK_HELP)
    .action(async (argv: string[], options: CheckOptions) => {
      const roleArn = options.role !== undefined ? checkRoleArn('--role', options.role) : undefined;
      let question: Question;
      if (argv.length > 0) {
        if (options.action !== undefined || options.resource !== undefined) {
          throw usageError('Give either --action and --resource, or an AWS CLI command after --, not both.');
        }
        question = await commandQuestion(ctx, options, argv, roleArn);
      } else {
        if (options.action === undefined) {
          throw usageError('check needs --action ACTION (and --resource ARN), or an AWS CLI command after --.');
        }
        const action = checkActionName(options.action, '--action');
        const resource = checkResource(options.resource ?? '*', '--resource');
        question = { action, resource, ...(roleArn ? { roleArn } : {}) };
      }
      scheduleOf(options.scheduleMinutes);
      report(ctx, await answer(ctx, options, question), options.json);
    });
}

/** Reads a role's tags, boundary and guard policies from IAM; the SDK is loaded only when needed. */
export async function readRolePolicies(roleArn: string, target: AwsTarget): Promise<RolePolicies> {
  const iam = await import('@aws-sdk/client-iam');
  const client = new iam.IAMClient(clientConfig(target));
  const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
  const document = async (arn: string, name: string): Promise<NamedPolicy> => {
    const { Policy } = await client.send(new iam.GetPolicyCommand({ PolicyArn: arn }));
    const { PolicyVersion } = await client.send(
      new iam.GetPolicyVersionCommand({ PolicyArn: arn, VersionId: Policy?.DefaultVersionId }),
    );
    // IAM returns policy documents URL-encoded (RFC 3986).
    return { name, document: JSON.parse(decodeURIComponent(PolicyVersion?.Document ?? '')) as PolicyDocumentJson };
  };
  try {
    const { Role } = await client.send(new iam.GetRoleCommand({ RoleName: roleName }));
    const attached: { PolicyArn?: string; PolicyName?: string }[] = [];
    let marker: string | undefined;
    do {
      const page = await client.send(
        new iam.ListAttachedRolePoliciesCommand({ RoleName: roleName, PathPrefix: GUARD_PATH, Marker: marker }),
      );
      attached.push(...(page.AttachedPolicies ?? []));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    const boundaryArn = Role?.PermissionsBoundary?.PermissionsBoundaryArn;
    return {
      tags: Object.fromEntries(
        (Role?.Tags ?? []).filter((t) => t.Key?.startsWith('agent-guard:')).map((t) => [t.Key!, t.Value ?? '']),
      ),
      ...(boundaryArn
        ? { boundary: await document(boundaryArn, boundaryArn.slice(boundaryArn.lastIndexOf('/') + 1)) }
        : {}),
      guardPolicies: await Promise.all(attached.map((p) => document(p.PolicyArn!, p.PolicyName ?? p.PolicyArn!))),
    };
  } finally {
    client.destroy();
  }
}
