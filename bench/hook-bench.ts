/**
 * Hook benchmark (`npm run bench`): how long `agent-guard hook` takes per shell command, as Claude Code
 * runs it (a new node process per call, the request on stdin).
 *
 *   shipped CLI   the CLI bundled as the package builds it, on a non-destructive command (which never
 *                 reads the status, so no AWS is needed)
 *   cold / warm   the same bundle with the hook's status reader replaced by a fake that answers after
 *                 50 ms (an SSM call; no AWS): a destructive command with an empty cache (cold), then
 *                 with the status cached (warm), and a non-destructive one
 *   in-process    decideHook alone, after warm-up: parsing and classifying one command line
 *   node -e 0     an empty node process, for the machine's own start-up cost
 *
 * Timings come from a shared, noisy machine and are printed (median and 90th percentile), never asserted.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { decideHook, HookOptions } from '../bin/cli/hook';
import { APPROVAL_HOWTO } from '../lib/core/status';
import { bundleCli, mcpServerApart, NODE_BUNDLE } from '../scripts/build';

const ROOT = join(__dirname, '..');
const RUNS = Number(process.env.HOOK_BENCH_RUNS ?? 15);
const SAFE = JSON.stringify({ tool_name: 'Bash', tool_input: { command: 'git status && npm test -- --watch=false' } });
const DESTRUCTIVE = JSON.stringify({
  tool_name: 'Bash',
  tool_input: { command: 'cd infra && AWS_PROFILE=prod aws cloudformation delete-stack --stack-name prod-api' },
});
const LOCKED = JSON.stringify({
  schemaVersion: 1,
  locked: true,
  reason: 'Production account with live traffic.',
  evaluatedAt: new Date().toISOString(),
  howToGetApproval: APPROVAL_HOWTO,
});

/**
 * The shipped entry point (bin/agent-guard.ts) with one change: the hook reads the status through a
 * fake that answers after 50 ms. The rest of the CLI is in the bundle too, as shipped.
 */
const FAKE_ENTRY = `
import type { HookDeps } from ${JSON.stringify(join(ROOT, 'bin/cli/hook'))};
const readStatus: HookDeps['readStatus'] = () =>
  new Promise((resolve) => setTimeout(() => resolve(process.env.FAKE_STATUS), 50));
const main =
  process.argv[2] === 'hook'
    ? import(${JSON.stringify(join(ROOT, 'bin/cli/hook'))}).then((m) => m.runHookCli(process.argv, readStatus))
    : import(${JSON.stringify(join(ROOT, 'bin/cli/cli'))}).then((m) => m.run(process.argv));
void main.then((code) => (process.exitCode = code));
`;

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `median ${at(0.5).toFixed(0).padStart(5)} ms   p90 ${at(0.9).toFixed(0).padStart(5)} ms`;
}

function timeProcess(args: readonly string[], input: string, env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { input, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`exit ${result.status}: ${result.stderr}`);
  // Each hook run must decide as expected: a deny for the destructive command, nothing for the safe one.
  if (input !== '' && result.stdout.includes('"deny"') !== (input === DESTRUCTIVE)) {
    throw new Error(`unexpected decision for ${input}: ${result.stdout}`);
  }
  return ms;
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'agent-guard-hook-bench-'));
  try {
    // Both bundled as the package builds the CLI, the MCP server apart.
    await bundleCli(scratch);
    writeFileSync(join(scratch, 'fake-entry.ts'), FAKE_ENTRY);
    await build({
      ...NODE_BUNDLE,
      entryPoints: [join(scratch, 'fake-entry.ts')],
      outfile: join(scratch, 'fake-hook.js'),
      plugins: [mcpServerApart],
    });

    const cache = join(scratch, 'cache');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: scratch,
      XDG_CACHE_HOME: cache,
      FAKE_STATUS: LOCKED,
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const cli = [join(scratch, 'agent-guard.js'), 'hook'];
    const fake = [join(scratch, 'fake-hook.js'), 'hook', '--region', 'us-east-1'];
    const series = (run: () => number) => Array.from({ length: RUNS }, run);

    const rows: [string, number[]][] = [
      ['node -e 0 (machine baseline)', series(() => timeProcess(['-e', '0'], '', env))],
      ['shipped CLI, non-destructive', series(() => timeProcess(cli, SAFE, env))],
      ['fake reader, non-destructive', series(() => timeProcess(fake, SAFE, env))],
      [
        'fake reader, destructive, cold',
        series(() => {
          rmSync(cache, { recursive: true, force: true });
          return timeProcess(fake, DESTRUCTIVE, env);
        }),
      ],
      ['fake reader, destructive, warm', series(() => timeProcess(fake, DESTRUCTIVE, env))],
    ];

    const options: HookOptions = { parameter: '/agent-guard/status', scheduleMinutes: 5, cache: false };
    const deps = { readStatus: () => Promise.resolve(LOCKED), clock: () => new Date(), env: {} };
    for (let i = 0; i < 200; i++) await decideHook(DESTRUCTIVE, options, deps);
    const inProcess: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const start = process.hrtime.bigint();
      await decideHook(i % 2 ? SAFE : DESTRUCTIVE, options, deps);
      inProcess.push(Number(process.hrtime.bigint() - start) / 1e6);
    }

    console.log(`agent-guard hook latency, ${RUNS} runs each (fake status read: 50 ms)`);
    for (const [name, samples] of rows) console.log(`  ${name.padEnd(34)} ${stats(samples)}`);
    const sorted = inProcess.sort((a, b) => a - b);
    console.log(
      `  ${'in-process decideHook'.padEnd(34)} median ${sorted[500].toFixed(3)} ms   p90 ${sorted[900].toFixed(3)} ms`,
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
