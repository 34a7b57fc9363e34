import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { Command, CommanderError } from 'commander';
// esbuild inlines the version when it bundles the CLI; tsc and tsx read it from the repository.
import { version } from '../../package.json';
import { builtInGroupNames } from '../../lib/core/approval/approval-scope';
import {
  DEFAULT_BREAK_GLASS_MAX_SECONDS,
  DEFAULT_MAX_APPROVAL_SECONDS,
  formatDuration,
} from '../../lib/core/approval/duration';
import { APPROVALS_URL_PARAMETER, DEFAULT_STATUS_PARAMETER } from '../../lib/core/contract';
import { resolveCatalog, ResolvedCatalog } from '../../lib/core/policy/resolve-catalog';
import type { ApprovalRecord } from '../../lib/core/approval-api';
import type { GuardStatus } from '../../lib/core/status';
import { accountOfArn, assumeRoleArn, checkAccount, checkRoleInAccount, sessionName } from './account';
import { effectiveLock } from '../../lib/core/status-freshness';
import { readRolePolicies, registerCheck, RolePolicies } from './check';
import { ApiSuccess, callApi } from './client';
import { DryRunLimits, PARTITIONS, planApproval } from './dry-run';
import { capErrorText, clip, CliError, EXIT, failure, messageOf, quote, usageError } from './errors';
import { formatDryRun, formatOutcome, formatStatus, formatTable } from './format';
import { registerHook } from './hook';
import { registerMcp, ServerTransport, stdioTransport } from './mcp';
import { registerExplain } from './explain';
import { registerReplay } from './replay';
import { checkApprovalId, checkDuration, checkRequest, checkRoleArn, checkScope, ScopeOptions } from './input';
import { styleFor, wantsColour } from './style';
import {
  AwsTarget,
  checkUrl,
  missingRegion,
  profileRegion,
  readSsmParameter,
  regionOfFunctionUrl,
  signedTransport,
  Transport,
} from './transport';

/** Everything the CLI touches outside itself, so tests can run it end to end in-process. */
export interface CliDeps {
  /**
   * Makes the transport to the approval function at `url` (from --url, AGENT_GUARD_URL or SSM). The
   * region is for URLs that are not Lambda function URLs, whose host names their region.
   */
  readonly transport: (url: string, target: AwsTarget) => Transport;
  /** SSM GetParameter: the value, or undefined when the parameter does not exist. */
  readonly readParameter: (
    name: string,
    target: AwsTarget & { readonly region: string },
  ) => Promise<string | undefined>;
  /** The region of the profile in the shared AWS config files, if it has one. */
  readonly profileRegion: (profile: string | undefined) => Promise<string | undefined>;
  /** Whether stdout and stderr are terminals that show colour; NO_COLOR and FORCE_COLOR in `env` then decide. */
  readonly terminal: { readonly stdout: boolean; readonly stderr: boolean };
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly clock: () => Date;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Ids for dry runs. @default 16 random lower-case letters and digits */
  readonly newId: () => string;
  /** IAM reads of `check` and `explain`: the role's guard tags, boundary and guard policies. */
  readonly readRole: (roleArn: string, target: AwsTarget) => Promise<RolePolicies>;
  /** All of stdin, for `explain`; empty when stdin is a terminal. */
  readonly readStdin: () => Promise<string>;
  /** The local user's name, for the session name of an assumed role. */
  readonly userName: () => string;
  /** The transport `agent-guard mcp` serves on. @default stdin and stdout */
  readonly mcpTransport: () => Promise<ServerTransport>;
}

interface ConnectionOptions {
  readonly url?: string;
  readonly region?: string;
  readonly profile?: string;
  readonly account?: string;
  readonly assumeRole?: string;
  /** The agent role of the commands that take one; it must be of --account. */
  readonly role?: string;
  readonly json?: boolean;
}

interface ApproveOptions extends ScopeOptions, ConnectionOptions {
  readonly id?: string;
  readonly dryRun?: boolean;
  readonly maxApprovalDuration?: string;
  readonly breakGlassMaxDuration?: string;
}

/** An AWS region name: `us-east-1`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`, `us-isob-east-1`. */
const REGION = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;

function randomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(16)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** A stream shows colour when it is a terminal that has colours (`TERM=dumb` has none). */
function hasColours(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && stream.hasColors?.() === true;
}

export function defaultDeps(): CliDeps {
  return {
    transport: (url, target) => signedTransport(url, target),
    readParameter: readSsmParameter,
    profileRegion,
    terminal: { stdout: hasColours(process.stdout), stderr: hasColours(process.stderr) },
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    clock: () => new Date(),
    env: process.env,
    newId: randomId,
    readRole: readRolePolicies,
    userName: () => userInfo().username,
    readStdin: async () => {
      if (process.stdin.isTTY) return '';
      let text = '';
      for await (const chunk of process.stdin) text += String(chunk);
      return text;
    },
    mcpTransport: stdioTransport,
  };
}

const EXIT_HELP = `
Exit codes:
  0  done (also for --help).
  1  refused: the approval function said no (HTTP 403), with its reason. Also every other failure
     that is not the input's fault: no credentials, network, missing URL, HTTP 5xx. They share code 1
     because in each case nothing was granted and a person has to look; the message tells which.
  2  usage error: unknown command or flag, or a bad duration, ARN, action or scope, or no region.
     Input is checked locally first, so nothing is sent. An HTTP 400 from the approval function is also 2.

Finding the approval function: --url, else $AGENT_GUARD_URL, else the SSM parameter
${APPROVALS_URL_PARAMETER} that AgentGuard publishes (region from --region, else $AWS_REGION, else
the profile's region in ~/.aws/config). Requests are signed with SigV4 by the default AWS credential
chain, or with the credentials of --profile ($AWS_PROFILE, SSO, ...).

Colour on a terminal only; NO_COLOR=1 turns it off, FORCE_COLOR=1 turns it on in a pipe.`;

const DURATION_HELP = 'how long, from when it is in force: 90s, 30m, 1h, 1h30m (the function caps it)';

/** Builds the commander program; actions throw CliError, which run() turns into exit codes. */
export function createCli(deps: CliDeps): Command {
  let catalogCache: ResolvedCatalog | undefined;
  const catalog = (): ResolvedCatalog => (catalogCache ??= resolveCatalog());
  const now = (): Date => deps.clock();

  const print = (text: string): void => deps.stdout(text.endsWith('\n') ? text : `${text}\n`);
  const printJson = (value: unknown): void => print(JSON.stringify(value, null, 2));
  const colourOut = wantsColour(deps.env, deps.terminal.stdout);
  const colourErr = wantsColour(deps.env, deps.terminal.stderr);
  const style = styleFor(colourOut);

  /** --profile, else $AWS_PROFILE; undefined leaves the SDK's default profile. */
  function profileOf(options: ConnectionOptions): string | undefined {
    const profile = options.profile ?? deps.env.AWS_PROFILE;
    if (profile === undefined) return undefined;
    // eslint-disable-next-line no-control-regex
    if (!/^[^\s\x00-\x1f]{1,128}$/.test(profile)) {
      throw usageError(
        `${options.profile !== undefined ? '--profile' : 'AWS_PROFILE'} ${quote(profile)} is not a profile name.`,
      );
    }
    return profile;
  }

  /** --region, else $AWS_REGION (or $AWS_DEFAULT_REGION); checked, since it goes into host names. */
  function givenRegion(options: ConnectionOptions): string | undefined {
    const [from, region] =
      options.region !== undefined
        ? ['--region', options.region]
        : deps.env.AWS_REGION
          ? ['AWS_REGION', deps.env.AWS_REGION]
          : ['AWS_DEFAULT_REGION', deps.env.AWS_DEFAULT_REGION];
    if (region === undefined || region === '') return undefined;
    if (!REGION.test(region)) throw usageError(`${from} ${quote(region)} is not an AWS region such as us-east-1.`);
    return region;
  }

  /**
   * The region for an SSM read: --region, $AWS_REGION, the region of a Lambda function URL the CLI
   * was given, or the profile's. None is a usage error that says how to give one.
   */
  async function regionFor(options: ConnectionOptions, what: string, urlHint?: string): Promise<string> {
    const hinted = urlHint ? regionOfFunctionUrl(safeHost(urlHint)) : undefined;
    const region = givenRegion(options) ?? hinted ?? (await deps.profileRegion(profileOf(options)));
    if (!region) throw usageError(missingRegion(what, profileOf(options)));
    return region;
  }

  /** Where and as whom to call AWS for `options`: --profile, --account and --assume-role, checked. */
  function targetOf(options: ConnectionOptions, region?: string): AwsTarget {
    const profile = profileOf(options);
    const account = options.account !== undefined ? checkAccount(options.account) : undefined;
    checkRoleInAccount(options.role, account);
    const assumed = options.assumeRole !== undefined ? assumeRoleArn(options.assumeRole, account, region) : undefined;
    return {
      ...(region !== undefined ? { region } : {}),
      ...(profile !== undefined ? { profile } : {}),
      // An ARN alone names its account, which the credentials are then checked against.
      ...(account !== undefined ? { account } : assumed !== undefined ? { account: accountOfArn(assumed) } : {}),
      ...(assumed !== undefined ? { assumeRoleArn: assumed, sessionName: sessionName(deps.userName()) } : {}),
    };
  }

  /** Finds the approval function URL and makes the transport. Called only after input is checked. */
  async function connect(options: ConnectionOptions): Promise<Transport> {
    const profile = profileOf(options);
    targetOf(options); // bad --account or --assume-role is a usage error before anything is read
    let region = givenRegion(options);
    let url: string;
    if (options.url !== undefined) {
      url = checkUrl(options.url, '--url').href;
    } else if (deps.env.AGENT_GUARD_URL) {
      url = checkUrl(deps.env.AGENT_GUARD_URL, 'AGENT_GUARD_URL').href;
    } else {
      region = await regionFor(
        options,
        `the SSM parameter ${APPROVALS_URL_PARAMETER} that names the approval function`,
      );
      const where = `SSM parameter ${APPROVALS_URL_PARAMETER} in ${region}`;
      let value: string | undefined;
      try {
        value = await deps.readParameter(APPROVALS_URL_PARAMETER, { ...targetOf(options, region), region });
      } catch (error) {
        throw failure(
          `Could not read ${where} to find the approval function (${messageOf(error)}). Pass --url or set AGENT_GUARD_URL.`,
        );
      }
      if (!value) {
        throw failure(
          `${where} does not exist, so the approval function URL is unknown. ` +
            'Pass --region where AgentGuard is deployed, or --url, or set AGENT_GUARD_URL.',
        );
      }
      try {
        url = checkUrl(value.trim(), where).href;
      } catch (error) {
        throw failure(messageOf(error));
      }
    }
    // A Lambda function URL names its region; any other URL is signed for the region given or the profile's.
    if (region === undefined && !regionOfFunctionUrl(new URL(url).hostname)) region = await deps.profileRegion(profile);
    try {
      return deps.transport(url, targetOf(options, region));
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw failure(`Could not set up the call to ${url}: ${messageOf(error)}`);
    }
  }

  function printOne(result: ApiSuccess, json: boolean | undefined): void {
    if (json) return printJson(result.approvals[0] ?? { message: result.message });
    print(formatOutcome(result, now(), style));
  }

  /** `request` and the MCP server's request_approval: the scope is checked before anything is sent. */
  async function requestApproval(options: ScopeOptions & ConnectionOptions): Promise<ApiSuccess> {
    const scope = checkScope('request', options, catalog);
    return callApi(await connect(options), scope.request);
  }

  /** `list` and the MCP server's list_approvals. */
  async function listApprovals(options: ConnectionOptions & { role?: string; all?: boolean }): Promise<ApiSuccess> {
    const request = checkRequest({
      op: 'list',
      ...(options.role !== undefined ? { roleArn: checkRoleArn('--role', options.role) } : {}),
      ...(options.all ? { includeEnded: true } : {}),
    });
    return callApi(await connect(options), request);
  }

  function withConnection(command: Command): Command {
    return command
      .option('--url <url>', `approval function URL (default: $AGENT_GUARD_URL, then SSM ${APPROVALS_URL_PARAMETER})`)
      .option(
        '--region <region>',
        "AWS region of the guard, for SSM and signing (default: $AWS_REGION, then the profile's region)",
      )
      .option('--profile <name>', 'AWS profile in ~/.aws/config to sign in with (default: $AWS_PROFILE)')
      .option(
        '--account <id>',
        'the account whose guard to act on: calls are refused unless the credentials are of it (default: any)',
      )
      .option(
        '--assume-role <name-or-arn>',
        "a role of --account to assume with the profile's credentials, for the guard of another account",
      )
      .option('--json', 'print JSON for scripts and agents instead of text');
  }

  function withScope(command: Command): Command {
    return command
      .option('--role <arn>', 'ARN of the agent role, arn:aws:iam::<account>:role/<name>')
      .option(
        '--actions <actions...>',
        `protected groups (${builtInGroupNames().join(', ')}), actions or patterns such as ec2:TerminateInstances or ec2:Terminate*`,
      )
      .option(
        '--resources <arns...>',
        "resource ARNs or ARN patterns of the role's account and partition, of a resource type of the actions, " +
          'each with a literal name or id part (instance/i-0abc*, not instance/*)',
      )
      .option(
        '--all-resources',
        "instead of --resources, for actions without a resource type (IAM matches them only against '*'): single use only (--uses 1)",
      )
      .option('--duration <duration>', DURATION_HELP)
      .option('--reason <text>', 'why this is safe; goes to the audit record and to on-call')
      .option('--ticket <id>', 'ticket id, where the guard requires one')
      .option('--uses <n>', 'only 1: the approval ends at its first use seen in CloudTrail');
  }

  const program = new Command('agent-guard')
    .description(
      'On-call CLI for agent-guard: grant, request, revoke and list time-boxed approvals for AI-agent roles, ' +
        'and show why the account is locked.',
    )
    .version(version, '-V, --version', 'print the version of agent-guard')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.stdout(text),
      writeErr: (text) => deps.stderr(text),
      // Commander's own errors echo what was typed: capped like ours, red on a terminal.
      outputError: (text, write) => write(styleFor(colourErr).red(capErrorText(text))),
      getOutHasColors: () => colourOut,
      getErrHasColors: () => colourErr,
    })
    .configureHelp({ styleTitle: (text) => style.bold(text) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_HELP);

  withConnection(
    withScope(
      program
        .command('approve')
        .summary('grant an approval, or approve a pending one (--id)')
        .description(
          'Grant an agent role a time-boxed approval of protected actions on named resources. IAM enforces the ' +
            'expiry. With --id, approve a pending request or co-sign an approval that needs a second approver.',
        )
        .option('--id <id>', 'approve the pending request or approval with this id (no scope flags with it)'),
    )
      .option('--break-glass', 'one approver, short limit, loud notice, marked for review')
      .option(
        '--dry-run',
        'check and print the tag and policies that would be written, offline, without credentials; add --json for the documents',
      )
      .option(
        '--max-approval-duration <duration>',
        `with --dry-run: the maxApprovalDuration the guard was deployed with (default: ${formatDuration(DEFAULT_MAX_APPROVAL_SECONDS)})`,
      )
      .option(
        '--break-glass-max-duration <duration>',
        `with --dry-run: the breakGlassMaxDuration the guard was deployed with (default: ${formatDuration(DEFAULT_BREAK_GLASS_MAX_SECONDS)})`,
      ),
  )
    .addHelpText(
      'after',
      `
The dry run assumes no other approval is in force on the role (the function folds those in) and uses the
built-in catalog (a deployed guard may add custom groups or exemptions). Its ids are made up locally.
It checks the duration against the deployed defaults, ${formatDuration(DEFAULT_MAX_APPROVAL_SECONDS)} (${formatDuration(DEFAULT_BREAK_GLASS_MAX_SECONDS)} with --break-glass), unless
--max-approval-duration or --break-glass-max-duration give the guard's own. The role and the resources
must be in one partition (${PARTITIONS.join(', ')}).

Resources must be concrete, as the function checks them: the role's account and partition, the ARN
format of a resource type of the actions, and a literal name or id part (instance/i-0abc*, not
instance/*). Actions without a resource type (IAM matches them only against '*') are approved with
--all-resources --uses 1, apart from the others.

Examples:
  agent-guard approve --role arn:aws:iam::111122223333:role/agent --actions ec2:TerminateInstances \\
    --resources arn:aws:ec2:us-east-1:111122223333:instance/i-0abc --duration 30m --reason 'replace a broken instance'
  agent-guard approve --role arn:aws:iam::111122223333:role/agent --actions aoss:DeleteIndex --all-resources \\
    --uses 1 --duration 30m --reason 'drop the stale index'
  agent-guard approve --id 0abc1def2ghi3jkl`,
    )
    .action(async (options: ApproveOptions) => {
      if (options.id !== undefined) {
        const conflicting = givenFlags(options, [
          ['role', '--role'],
          ['actions', '--actions'],
          ['resources', '--resources'],
          ['allResources', '--all-resources'],
          ['duration', '--duration'],
          ['ticket', '--ticket'],
          ['uses', '--uses'],
          ['breakGlass', '--break-glass'],
          ['dryRun', '--dry-run'],
          ['maxApprovalDuration', '--max-approval-duration'],
          ['breakGlassMaxDuration', '--break-glass-max-duration'],
        ]);
        if (conflicting.length > 0) {
          throw usageError(
            `--id approves a pending request as it was asked for, so leave out ${conflicting.join(', ')}. ` +
              'To grant a different scope, leave out --id instead.',
          );
        }
        const request = checkRequest({
          op: 'approve-pending',
          approvalId: checkApprovalId(options.id),
          ...(options.reason !== undefined ? { reason: options.reason } : {}),
        });
        return printOne(await callApi(await connect(options), request), options.json);
      }
      const scope = checkScope('approve', options, catalog);
      if (!options.dryRun) {
        const offlineOnly = givenFlags(options, [
          ['maxApprovalDuration', '--max-approval-duration'],
          ['breakGlassMaxDuration', '--break-glass-max-duration'],
        ]);
        if (offlineOnly.length > 0) {
          throw usageError(
            `${offlineOnly.join(' and ')} only go with --dry-run: the deployed approval function applies its own limits.`,
          );
        }
      }
      if (options.dryRun) {
        const limits: DryRunLimits = {
          maxSeconds:
            options.maxApprovalDuration !== undefined
              ? checkDuration(options.maxApprovalDuration, '--max-approval-duration')
              : DEFAULT_MAX_APPROVAL_SECONDS,
          breakGlassMaxSeconds:
            options.breakGlassMaxDuration !== undefined
              ? checkDuration(options.breakGlassMaxDuration, '--break-glass-max-duration')
              : DEFAULT_BREAK_GLASS_MAX_SECONDS,
          maxFromFlag: options.maxApprovalDuration !== undefined,
          breakGlassMaxFromFlag: options.breakGlassMaxDuration !== undefined,
        };
        const breakGlass = options.breakGlass === true;
        const plan = planApproval(
          { ...scope.request, actions: scope.actions, resources: scope.resources, breakGlass },
          { catalog: catalog(), now: now(), newId: deps.newId, limits },
        );
        if (options.json) return printJson(plan);
        const fromFlag = breakGlass ? limits.breakGlassMaxFromFlag : limits.maxFromFlag;
        return print(
          formatDryRun(
            plan,
            {
              actions: scope.actions,
              resources: scope.resources,
              breakGlass,
              durationSeconds: scope.request.durationSeconds,
              maxSeconds: breakGlass ? limits.breakGlassMaxSeconds : limits.maxSeconds,
              maxFrom: fromFlag
                ? `from ${breakGlass ? '--break-glass-max-duration' : '--max-approval-duration'}`
                : 'the deployed default',
            },
            now(),
            style,
          ),
        );
      }
      printOne(await callApi(await connect(options), scope.request), options.json);
    });

  withConnection(
    withScope(
      program
        .command('request')
        .summary('ask on-call for an approval (agents run this for their own role)')
        .description(
          'Ask for an approval. It waits for on-call (agent-guard approve --id ID); its clock starts when it is ' +
            'approved. An agent role may ask for itself only.',
        ),
    ),
  ).action(async (options: ScopeOptions & ConnectionOptions) => printOne(await requestApproval(options), options.json));

  withConnection(
    program
      .command('revoke')
      .summary('end an approval now, or withdraw a pending one')
      .description('End an approval now: the role gets its standard guard policies back.')
      .option('--id <id>', 'the approval to revoke (agent-guard list shows ids)')
      .option('--reason <text>', 'why; goes to the audit record'),
  ).action(async (options: ConnectionOptions & { id?: string; reason?: string }) => {
    if (options.id === undefined) throw usageError('revoke needs --id ID; agent-guard list shows the ids.');
    const request = checkRequest({
      op: 'revoke',
      approvalId: checkApprovalId(options.id),
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
    });
    printOne(await callApi(await connect(options), request), options.json);
  });

  withConnection(
    program
      .command('list')
      .summary('list approvals in force and pending')
      .description('List the approvals in force and the pending ones, newest first.')
      .option('--role <arn>', 'only those of this role')
      .option('--all', 'include ended approvals (revoked, expired, used, lapsed, failed)'),
  ).action(async (options: ConnectionOptions & { role?: string; all?: boolean }) => {
    const result = await listApprovals(options);
    if (options.json) return printJson(result.approvals);
    print(`${formatTable(result.approvals, now(), style)}\n${result.message}`);
  });

  withConnection(
    program
      .command('status')
      .summary('show whether agent roles are locked, and why, with the approvals in force')
      .description(
        'Show the status the guard publishes to SSM (locked or open, since when, why, traffic against the ' +
          'threshold) and the approvals in force or pending.',
      )
      .option('--parameter <name>', 'SSM parameter of the guard status', DEFAULT_STATUS_PARAMETER),
  ).action(async (options: ConnectionOptions & { parameter: string }) => {
    const parameter = clip(options.parameter);
    const region = await regionFor(
      options,
      `the SSM parameter ${parameter} that holds the guard status`,
      options.url ?? deps.env.AGENT_GUARD_URL,
    );
    const where = `SSM parameter ${parameter} in ${region}`;
    const source = { ...targetOf(options, region), region };
    let raw: string | undefined;
    try {
      raw = await deps.readParameter(options.parameter, source);
    } catch (error) {
      throw failure(`Could not read ${where}: ${messageOf(error)}`);
    }
    if (!raw) {
      throw failure(
        `${where} does not exist. Is AgentGuard deployed in this account and region? (--region, --parameter)`,
      );
    }
    let status: GuardStatus;
    try {
      status = JSON.parse(raw) as GuardStatus;
      if (status?.schemaVersion !== 1) throw new Error('unknown schema');
    } catch {
      throw failure(`${where} does not hold a status the guard wrote (schemaVersion 1).`);
    }

    let approvals: ApprovalRecord[] | null = null;
    let listError: CliError | undefined;
    try {
      approvals = (await callApi(await connect(options), { op: 'list' })).approvals;
    } catch (error) {
      listError = error instanceof CliError ? error : failure(messageOf(error));
    }
    if (options.json) {
      // The lock a reader should act on: a stale status counts as locked, whatever it says.
      const lock = effectiveLock(status, now());
      printJson({
        status,
        effectiveLock: lock,
        approvals,
        ...(listError ? { approvalsError: listError.message } : {}),
      });
    } else {
      print(
        `${formatStatus(status, now(), style)}\n\nApprovals in force or pending:\n` +
          (approvals ? formatTable(approvals, now(), style) : '(could not list them; see below)'),
      );
    }
    if (listError) throw new CliError(`Could not list approvals: ${listError.message}`, EXIT.FAILED);
  });

  registerHook(program, deps);
  const checkContext = {
    readParameter: deps.readParameter,
    readRole: deps.readRole,
    now,
    catalog,
    style,
    print,
    regionFor: (options: ConnectionOptions, what: string) =>
      regionFor(options, what, options.url ?? deps.env.AGENT_GUARD_URL),
    targetOf,
    connect,
  };
  registerCheck(program, checkContext, withConnection);
  registerExplain(program, checkContext, deps.readStdin, withConnection);
  registerMcp(program, { ...checkContext, requestApproval, listApprovals }, withConnection, deps.mcpTransport);
  registerReplay(program, deps);

  return program;
}

/**
 * Runs the CLI on `argv` (node, script, args...) and returns the exit code. Never throws and never
 * calls process.exit.
 */
export async function run(argv: readonly string[], overrides: Partial<CliDeps> = {}): Promise<number> {
  const stderr = overrides.stderr ?? ((text: string) => void process.stderr.write(text));
  let red = (text: string) => text;
  try {
    const deps: CliDeps = { ...defaultDeps(), ...overrides };
    red = styleFor(wantsColour(deps.env, deps.terminal.stderr)).red;
    await createCli(deps).parseAsync([...argv], { from: 'node' });
    return EXIT.OK;
  } catch (error) {
    try {
      // Commander has already written its message (or the help).
      if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      if (error instanceof CliError) {
        stderr(`${red(capErrorText(`agent-guard: ${error.message}`))}\n`);
        return error.exitCode;
      }
      stderr(`${red(capErrorText(`agent-guard: unexpected error: ${messageOf(error)}`))}\n`);
    } catch {
      // Even a failing stderr must not turn into a throw.
    }
    return EXIT.FAILED;
  }
}

/** The host name of a URL, or '' when it is not one. */
function safeHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

/** The flags among `pairs` (option key, flag) that were given on the command line. */
function givenFlags<K extends string>(
  options: Partial<Record<K, unknown>>,
  pairs: readonly (readonly [K, string])[],
): string[] {
  return pairs.flatMap(([key, flag]) => (options[key] !== undefined ? [flag] : []));
}
