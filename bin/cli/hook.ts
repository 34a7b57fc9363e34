/**
 * `agent-guard hook`: a Claude Code `PreToolUse` hook for the Bash tool. It finds the destructive
 * operations in the command, and only then reads the guard status (cached for 30 s): while the account
 * is locked, or the status is stale or cannot be read, it denies with the reason and the approval
 * command. It never fails open: every failure is a deny printed on stdout with exit code 0, because
 * Claude Code runs the tool after any exit code but 0 and 2.
 *
 * Decisions, case by case:
 * - another tool, or a Bash call without `tool_input.command`: not a shell command, allowed (nothing
 *   printed), since nothing runs in a shell;
 * - empty stdin, stdin that is not JSON or has no `tool_name`, a command that is not a string: denied,
 *   since the hook cannot tell what would run;
 * - a command nested too deeply to read, or any unexpected error: denied, saying so;
 * - a command with no destructive operation: allowed without reading the status (no AWS SDK, no network).
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { APPROVAL_HOWTO } from '../../lib/core/status';
import { DEFAULT_STATUS_PARAMETER } from '../../lib/core/contract';
import { denyOutput, parseHookInput } from '../../lib/core/agent/claude-hook';
import { DestructiveOperation, destructiveOperations } from '../../lib/core/agent/destructive-commands';
import { resolveCatalog, ResolvedCatalog } from '../../lib/core/policy/resolve-catalog';
import { liveSources } from '../../lib/core/agent/blast-radius';
import { DEFAULT_SCHEDULE_MINUTES, effectiveLock, parseGuardStatus } from '../../lib/core/status-freshness';
import type { CliDeps } from './cli';
import { EXIT, messageOf } from './errors';
import { readParameterWith } from './ssm-read';
import { cacheDirectory, cacheFile, readCachedStatus, StatusSource, writeCachedStatus } from './status-cache';

/** The bound on reading the status (credentials and the SSM call together). */
export const STATUS_TIMEOUT_MS = 2_000;
/** The bound on reading stdin; Claude Code writes the request and closes it at once. */
const STDIN_TIMEOUT_MS = 5_000;
const STDIN_MAX_BYTES = 1024 * 1024;

export interface HookOptions {
  readonly parameter: string;
  readonly region?: string;
  readonly profile?: string;
  /** The guard's schedule, for the heartbeat's freshness; a `scheduleMinutes` in the status wins. */
  readonly scheduleMinutes: number;
  /** Read and write the status cache. */
  readonly cache: boolean;
}

export interface HookDeps {
  /** Reads the status parameter: its value, or undefined when it does not exist. Aborted on timeout. */
  readonly readStatus: (source: StatusSource, signal: AbortSignal) => Promise<string | undefined>;
  readonly clock: () => Date;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** @default STATUS_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** The protected catalog. @default the built-in catalog */
  readonly catalog?: () => ResolvedCatalog;
}

let builtIn: ResolvedCatalog | undefined;
const builtInCatalog = (): ResolvedCatalog => (builtIn ??= resolveCatalog());

/** What the hook prints for one stdin: the deny line, or '' to let the call through. Never throws. */
export async function decideHook(stdin: string, options: HookOptions, deps: HookDeps): Promise<string> {
  try {
    const request = parseHookInput(stdin);
    if (request.kind === 'not-shell') return '';
    if (request.kind === 'invalid') {
      return denyOutput(
        `agent-guard hook could not read the hook input (${request.problem}), so it cannot tell whether the ` +
          'command is destructive. Expected Claude Code PreToolUse JSON with tool_name and tool_input.command.',
      );
    }
    const operations = destructiveOperations(request.command, (deps.catalog ?? builtInCatalog)());
    if (operations.length === 0) return '';

    const { status, problem } = await readStatus(options, deps);
    const lock = effectiveLock(status, deps.clock(), options.scheduleMinutes);
    if (!lock.locked) return '';
    const state = lock.unknown
      ? `The guard status is unknown (${problem}), so agent-guard treats the account as locked.`
      : lock.stale
        ? lock.reason
        : `The account is locked: ${lock.reason}`;
    // The two busiest sources at most, names cut short: the reason stays one short message.
    const live = lock.stale ? undefined : liveSources(status, 2, 40);
    return denyOutput(
      `agent-guard: ${describe(operations)}. ${state}${live ? ` ${capitalised(live)}.` : ''} ` +
        approvalHowTo(status?.howToGetApproval ?? APPROVAL_HOWTO, operations),
    );
  } catch (error) {
    return denyOutput(
      `agent-guard hook failed (${messageOf(error)}), so it blocks this command rather than let it run unchecked.`,
    );
  }
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function describe(operations: readonly DestructiveOperation[]): string {
  return operations
    .map((op) => `\`${clipCommand(op.command)}\` ${op.why}${op.iamAction ? ` (${op.iamAction})` : ''}`)
    .join('; ');
}

function clipCommand(command: string): string {
  return command.length > 200 ? `${command.slice(0, 199)}…` : command;
}

/** The status's approval instructions with the IAM actions filled in, where the operations name them. */
function approvalHowTo(text: string, operations: readonly DestructiveOperation[]): string {
  const actions = [...new Set(operations.flatMap((op) => (op.iamAction ? [op.iamAction] : [])))];
  if (actions.length === 0 || !text.includes('<service:Action>')) return text;
  return text.split('<service:Action>').join(actions.join(' '));
}

/** The status, from the cache or SSM within the timeout; undefined with the problem when unreadable. */
async function readStatus(
  options: HookOptions,
  deps: HookDeps,
): Promise<{ status?: ReturnType<typeof parseGuardStatus>; problem: string }> {
  const source: StatusSource = {
    parameter: options.parameter,
    region: options.region ?? (deps.env.AWS_REGION || deps.env.AWS_DEFAULT_REGION || ''),
    ...((options.profile ?? deps.env.AWS_PROFILE) ? { profile: options.profile ?? deps.env.AWS_PROFILE } : {}),
  };
  const where = `SSM parameter ${source.parameter}${source.region ? ` in ${source.region}` : ''}`;
  const file = options.cache ? cacheFile(cacheDirectory(deps.env), source) : undefined;
  let value = file ? await readCachedStatus(file, source, deps.clock()) : undefined;
  if (value === undefined) {
    try {
      value = await withTimeout((signal) => deps.readStatus(source, signal), deps.timeoutMs ?? STATUS_TIMEOUT_MS);
    } catch (error) {
      return { problem: `could not read ${where}: ${messageOf(error)}` };
    }
    if (value === undefined) return { problem: `${where} does not exist` };
    // A cache that cannot be written only costs the next call a read.
    if (file) await writeCachedStatus(file, source, value, deps.clock()).catch(() => undefined);
  }
  const status = parseGuardStatus(value);
  return status ? { status, problem: '' } : { problem: `${where} does not hold a status the guard wrote` };
}

async function withTimeout<T>(run: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Rejected first, so the race reports the timeout rather than the read's abort error.
      reject(new Error(`no answer within ${timeoutMs / 1000}s`));
      controller.abort();
    }, timeoutMs);
  });
  try {
    return await Promise.race([run(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the status parameter: the SDK is imported only now, for one quick attempt the caller bounds. */
export function readStatusWithSdk(source: StatusSource, signal: AbortSignal): Promise<string | undefined> {
  return readParameterWith(
    {
      ...(source.region ? { region: source.region } : {}),
      ...(source.profile !== undefined ? { profile: source.profile } : {}),
    },
    source.parameter,
    { signal, requestTimeoutMs: STATUS_TIMEOUT_MS },
  );
}

/** Reads stdin to its end, within a bound of time and size; a terminal gives nothing. */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => reject(new Error('stdin was not closed within 5s')), STDIN_TIMEOUT_MS);
    process.stdin.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > STDIN_MAX_BYTES) {
        clearTimeout(timer);
        reject(new Error('stdin is larger than 1 MiB'));
        process.stdin.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    process.stdin.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    process.stdin.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function positiveMinutes(value: string): number {
  const minutes = Number(value);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
    // Commander makes it a usage error, exit code 2, which Claude Code also reads as a block.
    throw new InvalidArgumentError(`--schedule-minutes must be a whole number of minutes from 1 to 1440, not ${value}`);
  }
  return minutes;
}

/** What the hook command touches outside itself: a part of the CLI's dependencies. */
export type HookIo = Pick<CliDeps, 'stdout' | 'stderr' | 'clock' | 'env'>;

/** Adds `agent-guard hook` to a commander program. */
export function registerHook(
  program: Command,
  deps: HookIo,
  readStatus: HookDeps['readStatus'] = readStatusWithSdk,
): void {
  program
    .command('hook')
    .summary('Claude Code PreToolUse hook: block destructive shell commands while locked')
    .description(
      'Read a Claude Code PreToolUse request on stdin. If its Bash command would destroy or replace AWS ' +
        'resources (AWS CLI, Terraform, OpenTofu, CDK, SAM, Pulumi, eksctl, Copilot) and the guard status is ' +
        'locked, stale or unreadable, print a deny decision with the reason and the approval command. ' +
        'Otherwise print nothing. Always exits 0.',
    )
    .option('--parameter <name>', 'SSM parameter of the guard status', DEFAULT_STATUS_PARAMETER)
    .option('--region <region>', 'AWS region of the guard (default: $AWS_REGION, then the profile region)')
    .option('--profile <name>', 'AWS profile to read the status with (default: $AWS_PROFILE)')
    .option(
      '--schedule-minutes <n>',
      "the guard's schedule; a status older than three schedules counts as locked",
      positiveMinutes,
      DEFAULT_SCHEDULE_MINUTES,
    )
    .option('--no-cache', 'read the status from SSM every time (default: cached for 30 s)')
    .addHelpText(
      'after',
      `
Register it in .claude/settings.json:
  { "hooks": { "PreToolUse": [ { "matcher": "Bash",
      "hooks": [ { "type": "command", "command": "agent-guard hook" } ] } ] } }`,
    )
    .action(async (options: HookOptions) => {
      let stdin: string;
      try {
        stdin = await readStdin();
      } catch (error) {
        stdin = '';
        deps.stderr(`agent-guard hook: ${messageOf(error)}\n`);
      }
      const output = await decideHook(stdin, options, {
        readStatus,
        clock: deps.clock,
        env: deps.env,
      });
      deps.stdout(output);
    });
}

/**
 * Runs `agent-guard hook ...` (argv: node, script, hook, flags) without the rest of the CLI, whose
 * modules load the AWS SDK: bin/agent-guard.ts starts here for `hook`. Returns the exit code: 2 for a
 * usage error (Claude Code blocks on it, with the message on stderr), else 0. The bench passes a fake
 * `readStatus`.
 */
export async function runHookCli(
  argv: readonly string[],
  readStatus: HookDeps['readStatus'] = readStatusWithSdk,
): Promise<number> {
  const io: HookIo = {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    clock: () => new Date(),
    env: process.env,
  };
  const program = new Command('agent-guard')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerHook(program, io, readStatus);
  try {
    await program.parseAsync([...argv], { from: 'node' });
    return EXIT.OK;
  } catch (error) {
    const code = (error as { exitCode?: unknown }).exitCode;
    if (error instanceof CommanderError) return code === 0 ? EXIT.OK : EXIT.USAGE;
    io.stdout(denyOutput(`agent-guard hook failed (${messageOf(error)}), so it blocks this command.`));
    return EXIT.OK;
  }
}
