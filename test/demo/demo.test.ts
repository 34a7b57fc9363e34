import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ANSI_ESCAPE } from '../../bin/cli/style';

const ROOT = join(__dirname, '../..');

/** `npm run demo` as CI runs it: stdout is a pipe. */
function runDemo(env: Record<string, string>, args: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/demo.ts', ...args],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...env }, timeout: 90_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

/** Finds each pattern on a line after the previous one's; fails naming the first one missing. */
function inOrder(lines: readonly string[], patterns: readonly RegExp[]): RegExpExecArray[] {
  let from = 0;
  return patterns.map((pattern) => {
    const index = lines.findIndex((line, i) => i >= from && pattern.test(line));
    if (index < 0) throw new Error(`no line after line ${from} matches ${pattern}:\n${lines.slice(from).join('\n')}`);
    from = index + 1;
    return pattern.exec(lines[index])!;
  });
}

const minutes = (hhmmss: string): number => {
  const [h, m, s] = hhmmss.split(':').map(Number);
  return h * 60 + m + s / 60;
};

/** The verdicts of the agent's DeleteStack calls, in order. */
const verdicts = (lines: readonly string[]): string[] =>
  lines.flatMap((l) => /agent\s+cloudformation:DeleteStack \S+: (ALLOWED|DENIED)/.exec(l)?.[1] ?? []);

let production: string[];
let staging: string[];
let stagingColoured: string;

beforeAll(async () => {
  // Both at once: most of each run is loading and synthesizing, which does not share a core well anyway.
  const [plain, coloured] = await Promise.all([
    runDemo({ NO_COLOR: '1' }),
    runDemo({ FORCE_COLOR: '1' }, ['--account-tag', 'staging']),
  ]);
  production = plain.split('\n');
  stagingColoured = coloured;
  staging = coloured.replace(ANSI_ESCAPE, '').split('\n');
}, 120_000);

test('plain text into a pipe; colour only when forced', () => {
  expect(production.join('\n').includes('\x1b[')).toBe(false);
  expect(stagingColoured.includes('\x1b[')).toBe(true);
});

test('the production account tells the incident in order', () => {
  const [, , , check, , iam, alice, bob, allowed, , , , expired, deniedAgain, windDown, stillLocked, opened] = inOrder(
    production,
    [
      /^(\d\d:\d\d:\d\d)\s+guard\s+evaluation: account LOCKED$/,
      /production \(account tag environment=production\) with live traffic/,
      /agent\s+\$ agent-guard check --action cloudformation:DeleteStack --resource stack\/prod-web$/,
      /^\s+DENIED: cloudformation:DeleteStack on stack\/prod-web is denied by statement (\S+) of (AgentGuardDeny\d)\.$/,
      /agent\s+cloudformation:DeleteStack stack\/prod-web: DENIED$/,
      /IAM engine: ExplicitlyDenied; denied by statement (\S+) of (AgentGuardDeny\d)$/,
      /^(\d\d:\d\d:\d\d)\s+on-call\s+alice@example\.com approves: Approval (\S+) needs 1 more approver\(s\)\.$/,
      /^(\d\d:\d\d:\d\d)\s+on-call\s+bob@example\.com approves: Approval (\S+) is in force until \S+T(\d\d:\d\d:\d\d)Z\.$/,
      /^(\d\d:\d\d:\d\d)\s+agent\s+cloudformation:DeleteStack stack\/prod-web: ALLOWED$/,
      /IAM engine: Allowed;/,
      /agent\s+cloudformation:DeleteStack stack\/prod-web: DENIED \(schedule not run yet\)$/,
      /IAM engine: ExplicitlyDenied; denied by statement \S+ of AgentGuardApproval-/,
      /^(\d\d:\d\d:\d\d)\s+scheduler\s+expiry schedule fires: approval (\S+) is now expired$/,
      /^(\d\d:\d\d:\d\d)\s+agent\s+cloudformation:DeleteStack stack\/prod-web: DENIED$/,
      /last minute above \d+\/min: (\d\d:\d\d:\d\d); lookback (\d+) min$/,
      /^(\d\d:\d\d:\d\d)\s+guard\s+evaluation: account LOCKED$/,
      /^(\d\d:\d\d:\d\d)\s+guard\s+evaluation: account OPEN$/,
    ],
  );
  // check (agent-guard's evaluator) and the IAM engine blame the same statement of the same policy
  expect(iam.slice(1)).toEqual(check.slice(1));
  // two distinct on-call engineers signed the same approval; it runs 15 minutes from the second signature
  expect(alice[2]).toBe(bob[2]);
  expect(minutes(bob[3]) - minutes(bob[1])).toBe(15);
  expect(minutes(allowed[1])).toBeLessThan(minutes(bob[3]));
  expect(expired[2]).toBe(alice[2]);
  expect(minutes(deniedAgain[1])).toBeGreaterThanOrEqual(minutes(bob[3]));
  // still locked while the lookback holds a live minute; open once it no longer does, on the next evaluation
  const lookback = Number(windDown[2]);
  expect(minutes(stillLocked[1]) - minutes(windDown[1])).toBeLessThanOrEqual(lookback);
  expect(minutes(opened[1]) - minutes(windDown[1])).toBeGreaterThan(lookback);
  expect(minutes(opened[1]) - minutes(windDown[1])).toBeLessThanOrEqual(lookback + 5);
  expect(production[production.indexOf(opened.input) + 1]).toMatch(/without live traffic/);
});

test('a sudden drop holds the lock past the time the wind-down opened, and tells on-call', () => {
  const [opened] = inOrder(production, [/^(\d\d:\d\d:\d\d)\s+guard\s+evaluation: account OPEN$/]);
  const branch = production.slice(production.findIndex((l) => l.startsWith('Instead:')));
  const [held, , , atOpening, denied] = inOrder(branch, [
    /^(\d\d:\d\d:\d\d)\s+guard\s+evaluation: account LOCKED$/,
    /dropped to none at once, so the lock holds until/,
    /on-call notified: agent-guard: traffic in account \d{12} stopped at once; lock held$/,
    /^(\d\d:\d\d:\d\d)\s+guard\s+evaluation: account (LOCKED|OPEN)$/,
    /agent\s+cloudformation:DeleteStack stack\/prod-web: (ALLOWED|DENIED)$/,
  ]);
  expect(minutes(held[1])).toBeLessThanOrEqual(minutes(opened[1]));
  expect(atOpening[1]).toBe(opened[1]);
  expect(atOpening[2]).toBe('LOCKED');
  expect(denied[1]).toBe('DENIED');
});

test('in an account not tagged production nothing locks, so the same calls go through', () => {
  expect(staging.filter((l) => /account LOCKED/.test(l))).toEqual([]);
  expect(staging.filter((l) => /on-call notified: agent-guard: traffic/.test(l))).toEqual([]);
  inOrder(staging, [
    /not production \(account tag environment=staging\)/,
    /^\s+ALLOWED: the guard does not deny cloudformation:DeleteStack on stack\/prod-web now/,
  ]);
  // the same story, other decisions: every call the production account denied goes through here
  const here = verdicts(staging);
  const there = verdicts(production);
  expect(here).toHaveLength(there.length);
  expect(there).toContain('DENIED');
  expect(here.every((v) => v === 'ALLOWED')).toBe(true);
});

/** The first ```text block after `heading` in a Markdown file of the repository, as lines. */
function textBlock(file: string, heading: string): string[] {
  const markdown = readFileSync(join(ROOT, file), 'utf8');
  const start = markdown.indexOf(heading);
  const block = start < 0 ? null : /```text\n([\s\S]*?)\n```/.exec(markdown.slice(start));
  if (!block) throw new Error(`${file}: no \`\`\`text block after "${heading}"`);
  return block[1].split('\n');
}

/** The run's own wall time is the one line that differs from run to run. */
const timeless = (lines: readonly string[]): string[] => lines.filter((l) => !/^Replayed in /.test(l));

test('docs/DEMO.md holds the output of this demo (regenerate it with the command it gives)', () => {
  expect(timeless(textBlock('docs/DEMO.md', '\n```text\n'))).toEqual(timeless(production).slice(0, -1));
});

test("the README's excerpt is lines of the output, in order", () => {
  const excerpt = textBlock('README.md', '## See it work');
  inOrder(
    production,
    excerpt.filter((l) => l !== '').map((l) => new RegExp(`^${l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)),
  );
});
