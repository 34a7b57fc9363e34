import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import { listLogFiles, readLogFile } from '../../lib/core/replay/log-files';
import { agentRolePattern, AgentRolePattern } from '../../lib/core/replay/principal';
import { ReplayLine, Replayer } from '../../lib/core/replay/replay';
import { AccountPolicies, templatePolicies } from '../../lib/core/replay/template-policies';
import { defaultPolicies } from './check';
import { CliError, EXIT, messageOf, quote, usageError } from './errors';

/** What replay uses of the CLI's outside world (a subset of CliDeps). */
export interface ReplayDeps {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly terminal: { readonly stderr: boolean };
}

interface ReplayOptions {
  readonly agentRole?: string[];
  readonly state: string;
  readonly since?: string;
  readonly template?: string;
  readonly json?: boolean;
}

/** Inputs at least this large show a progress bar on a terminal. */
const PROGRESS_MIN_BYTES = 64 * 1024 * 1024;
const PROGRESS_EVERY_MS = 250;
/** Per file, at most this many skipped records are named on stderr; the rest are counted. */
const NAMED_PER_FILE = 10;
/** Per group and role, the summary names this many of the most frequent actions. */
const TOP_ACTIONS = 3;

export const REPLAY_HELP = `
Reads CloudTrail log files as a trail delivers them to S3 (JSON with a Records array, gzipped or not, in
nested folders; CloudTrail-Digest folders are passed over) and decides each call of an agent role with the
guard's policies: those of --template (the JSON template cdk synth writes), else the default policy set of
this version of agent-guard. Only IAM role sessions can be agents; IAM users, federated users, AWS services
and the root user are reported as not-agent.

--agent-role takes a role ARN, an ARN pattern with * and ?, or a role name pattern; repeat it for more.
A session ARN (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION) does not carry the role's path: when the
record has no sessionIssuer, a role is matched on its name, and its reason says so.

What it assumes, as check does: the resources carry no agent-guard or aws-cdk tags; the role's own Allow
policies, SCPs, resource policies and approvals are not read. A record without a resource ARN is decided
on an unknown resource (unknown answers count as would-block). Errored calls are decided too: they show
what an agent tried.

Exit codes: 0 every file and record was read; 3 some were skipped (stderr names each file, record index
and why) and the rest was replayed; 2 usage error.

Examples:
  agent-guard replay ./AWSLogs --agent-role 'arn:aws:iam::111122223333:role/agent-*'
  agent-guard replay ./AWSLogs --agent-role ci-agent --template cdk.out/Prod.template.json --json --since 2026-11-01`;

/** A time for --since: an ISO 8601 date (midnight UTC) or date-time with a zone. */
function sinceOf(value: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value);
  const time = iso ? Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value) : NaN;
  if (Number.isNaN(time)) {
    throw usageError(`--since ${quote(value)} is not a date. Write 2026-11-01 or 2026-11-01T09:30:00Z.`);
  }
  return new Date(time);
}

function templateOf(path: string): ReturnType<typeof templatePolicies> {
  let template: unknown;
  try {
    template = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw usageError(`--template ${quote(path)} could not be read as JSON (${messageOf(error)}).`);
  }
  try {
    return templatePolicies(template);
  } catch (error) {
    throw usageError(`--template ${quote(path)}: ${messageOf(error)}`);
  }
}

const count = new Intl.NumberFormat('en-US');

interface Row {
  calls: number;
  readonly actions: Map<string, number>;
}

/** The counts the summary prints. */
class Tally {
  public events = 0;
  public agentCalls = 0;
  public notAgent = 0;
  public readonly blocked = new Map<string, Row>();
  public readonly allowed = new Map<string, Row>();

  public add(line: ReplayLine, group: string | undefined): void {
    this.events++;
    if (line.verdict === 'not-agent') {
      this.notAgent++;
      return;
    }
    this.agentCalls++;
    const rows = line.verdict === 'would-block' ? this.blocked : this.allowed;
    const key = `${group ?? 'unprotected'}\n${line.principal}`;
    const row = rows.get(key) ?? { calls: 0, actions: new Map<string, number>() };
    row.calls++;
    row.actions.set(line.action!, (row.actions.get(line.action!) ?? 0) + 1);
    rows.set(key, row);
  }
}

function table(title: string, rows: Map<string, Row>): string[] {
  if (rows.size === 0) return [];
  const lines = [...rows]
    .sort((a, b) => b[1].calls - a[1].calls || a[0].localeCompare(b[0]))
    .map(([key, row]) => {
      const [group, role] = key.split('\n');
      const top = [...row.actions]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, TOP_ACTIONS)
        .map(([action, n]) => `${action} x${count.format(n)}`);
      const more = row.actions.size > TOP_ACTIONS ? `, +${row.actions.size - TOP_ACTIONS} more` : '';
      return [group, role, count.format(row.calls), `${top.join(', ')}${more}`];
    });
  const widths = [0, 1, 2].map((i) => Math.max(...lines.map((l) => l[i].length)));
  return [
    '',
    title,
    ...lines.map((l) => `  ${l[0].padEnd(widths[0])}  ${l[1].padEnd(widths[1])}  ${l[2].padStart(widths[2])}  ${l[3]}`),
  ];
}

/** A one-line progress bar on stderr, redrawn at most every PROGRESS_EVERY_MS. */
function progressBar(
  deps: ReplayDeps,
  total: number,
): { update: (bytes: number, events: number) => void; end: () => void } {
  let last = 0;
  return {
    update: (bytes, events) => {
      const now = Date.now();
      if (now - last < PROGRESS_EVERY_MS) return;
      last = now;
      const share = Math.min(1, bytes / total);
      const filled = Math.round(share * 30);
      deps.stderr(
        `\r[${'#'.repeat(filled)}${'-'.repeat(30 - filled)}] ${Math.floor(share * 100)}% ` +
          `${count.format(Math.round(bytes / 1e6))}/${count.format(Math.round(total / 1e6))} MB, ${count.format(events)} events`,
      );
    },
    end: () => deps.stderr('\r\x1b[K'),
  };
}

export function registerReplay(program: Command, deps: ReplayDeps): void {
  program
    .command('replay')
    .summary('which calls of agent roles in CloudTrail logs the guard would have denied')
    .description(
      'Replay CloudTrail log files or folders against the guard policies and report, for each call of an agent ' +
        'role, whether the guard would have blocked it.',
    )
    .argument('<file-or-folder...>', 'CloudTrail log files (.json or .json.gz) or folders of them')
    .option(
      '--agent-role <arn-or-glob>',
      'an agent role: ARN, ARN pattern or role name pattern (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .addOption(
      new Option('--state <state>', 'the lock state to replay in').choices(['locked', 'open']).default('locked'),
    )
    .option('--since <time>', 'only calls at or after this time (2026-11-01 or 2026-11-01T09:30:00Z)')
    .option('--template <file>', 'a synthesized template (JSON) whose guard policies to use (default: the default set)')
    .option('--json', 'print one JSON object per call instead of the summary')
    .addHelpText('after', REPLAY_HELP)
    .action(async (paths: string[], options: ReplayOptions) => {
      const agentRoles: AgentRolePattern[] = (options.agentRole ?? []).map((value) => {
        const pattern = agentRolePattern(value);
        if (!pattern) {
          throw usageError(
            `--agent-role ${quote(value)} is not a role ARN or name. Write arn:aws:iam::111122223333:role/agent, a pattern such as 'arn:aws:iam::*:role/agent-*', or a name such as agent-*.`,
          );
        }
        return pattern;
      });
      if (agentRoles.length === 0) {
        throw usageError('replay needs --agent-role ARN_OR_GLOB, once for each agent role (or pattern) to replay.');
      }
      const since = options.since !== undefined ? sinceOf(options.since) : undefined;
      const catalog = resolveCatalog();
      const fromTemplate = options.template !== undefined ? templateOf(options.template) : undefined;
      const replayer = new Replayer({
        agentRoles,
        locked: options.state !== 'open',
        ...(since ? { since } : {}),
        policiesFor: (p): AccountPolicies => fromTemplate?.(p) ?? defaultPolicies(catalog, p.partition, p.account),
        policySource: fromTemplate ? 'attached' : 'default',
        catalog,
      });

      const list = await listLogFiles(paths);
      const problem = (text: string): void => deps.stderr(`agent-guard replay: ${text}\n`);
      for (const { path, why } of list.unreadable) problem(`${path}: ${why}; skipped.`);
      if (list.files.length === 0 && list.unreadable.length === 0) {
        throw usageError(`No CloudTrail log files (*.json, *.json.gz) under ${paths.map(quote).join(', ')}.`);
      }

      const total = list.files.reduce((sum, f) => sum + f.bytes, 0);
      const bar =
        !options.json && deps.terminal.stderr && total >= PROGRESS_MIN_BYTES ? progressBar(deps, total) : undefined;
      const tally = new Tally();
      let skippedFiles = list.unreadable.length;
      let skippedRecords = 0;
      let bytesRead = 0;
      for (const file of list.files) {
        let named = 0;
        const result = await readLogFile(
          file.path,
          (record, index) => {
            let outcome;
            try {
              outcome = replayer.decide(record);
            } catch (error) {
              // A bug must not end the run: the record is reported like a bad one.
              outcome = { kind: 'skipped' as const, why: `could not be decided (${messageOf(error)})` };
            }
            if (outcome.kind === 'skipped') {
              skippedRecords++;
              if (named++ < NAMED_PER_FILE) problem(`${file.path}: record ${index}: ${outcome.why}; skipped.`);
            } else if (outcome.kind === 'line') {
              tally.add(outcome.line, outcome.group);
              if (options.json) deps.stdout(`${JSON.stringify(outcome.line)}\n`);
            }
          },
          (bytes) => {
            bytesRead += bytes;
            bar?.update(bytesRead, tally.events);
          },
        );
        if (named > NAMED_PER_FILE) {
          problem(`${file.path}: ${count.format(named - NAMED_PER_FILE)} more record(s) skipped.`);
        }
        if (result.problem !== undefined) {
          skippedFiles++;
          problem(
            `${file.path}: ${result.problem}; ${result.records > 0 ? 'the rest of the file is' : 'the file is'} skipped.`,
          );
        }
      }
      bar?.end();

      if (!options.json) {
        const source = fromTemplate ? `the guard policies of ${options.template}` : 'the default guard policies';
        deps.stdout(
          [
            `Replayed ${count.format(tally.events)} calls from ${count.format(list.files.length)} log file(s), ${options.state}, against ${source}.`,
            `Agent calls: ${count.format(tally.agentCalls)} (would block ${count.format(tally.agentCalls - sumOf(tally.allowed))}, allowed ${count.format(sumOf(tally.allowed))}); other callers: ${count.format(tally.notAgent)}.`,
            ...(list.digests > 0
              ? [`Passed over ${count.format(list.digests)} digest file(s) (CloudTrail-Digest).`]
              : []),
            ...table('Would block, by group and role:', tally.blocked),
            ...table('Allowed agent calls, by group and role:', tally.allowed),
          ].join('\n') + '\n',
        );
      }
      if (skippedFiles > 0 || skippedRecords > 0) {
        throw new CliError(
          `skipped ${count.format(skippedFiles)} file(s) in part or whole and ${count.format(skippedRecords)} record(s) ` +
            '(named above); everything else was replayed (exit 3).',
          EXIT.SKIPPED,
        );
      }
    });
}

function sumOf(rows: Map<string, Row>): number {
  let n = 0;
  for (const row of rows.values()) n += row.calls;
  return n;
}
