/**
 * Organization benchmark (`npm run bench`): the guard of 1,000 accounts, as an AgentGuardStackSet deploys
 * it, evaluated at once, with 50 ms per AWS call.
 *
 * Each account gets its own in-memory account and fake SDK clients (the ones of bench/guard-bench.ts:
 * `send` sleeps, then answers from the account, so writes really change it) and its own cold Guard,
 * the real evaluation core of lambda/guard. All 1,000 run concurrently in this one process. In AWS each
 * account's function has a CPU of its own, so the per-account times here are an upper bound: they
 * include waiting for this process's CPU, which the single-account baseline shows.
 *
 *   rollout  first sweep: every agent role unconstrained, the account protected (production, traffic)
 *   steady   a scheduled sweep after it: roles locked, status unchanged; no role may be written
 */
import { STATE_LOCKED } from '../lib/core/contract';
import { Account, coldGuard, INITIAL_STATUS, scheduled, statusValue } from './guard-bench';

const ACCOUNTS = 1000;
const LATENCY_MS = 50;
/** A member account of a large organization: a few agent roles among many workload roles. */
const AGENT_ROLES = 10;
const OTHER_ROLES = 50;
/** The guard's default schedule: every 5 minutes, in a 30-day month (as the README's cost table counts). */
const SWEEPS_PER_MONTH = 12 * 24 * 30;

interface AccountRun {
  readonly ms: number;
  readonly calls: Map<string, number>;
  readonly problems: string[];
  readonly roleWrites: number;
  readonly errors: string[];
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The IAM writes the guard makes to roles; a steady sweep must make none. */
const ROLE_WRITES = new Set([
  'TagRole',
  'UntagRole',
  'PutRolePermissionsBoundary',
  'AttachRolePolicy',
  'UpdateAssumeRolePolicy',
]);

async function evaluate(account: Account): Promise<AccountRun> {
  const harness = coldGuard(account, 8, LATENCY_MS);
  harness.fake.take();
  const start = performance.now();
  await harness.guard.handle(scheduled);
  const ms = performance.now() - start;
  const { calls } = harness.fake.take();
  const roleWrites = [...calls].filter(([api]) => ROLE_WRITES.has(api));
  return {
    ms,
    calls,
    problems: account.problems(STATE_LOCKED),
    roleWrites: roleWrites.reduce((sum, [, n]) => sum + n, 0),
    errors: harness.log.errors,
  };
}

let failed = false;
function check(ok: boolean, message: string): void {
  if (ok) return;
  failed = true;
  console.log(`  CHECK FAILED: ${message}`);
}

async function scenario(label: string, accounts: Account[]): Promise<AccountRun[]> {
  const start = performance.now();
  const runs = await Promise.all(accounts.map(evaluate));
  const wallMs = performance.now() - start;
  const times = runs.map((r) => r.ms).sort((a, b) => a - b);
  const byApi = new Map<string, number[]>();
  for (const run of runs) for (const [api, n] of run.calls) byApi.set(api, [...(byApi.get(api) ?? []), n]);
  const perAccount = [...byApi]
    .map(([api, counts]) => {
      const min = Math.min(...counts);
      const max = Math.max(...counts);
      // An account that never called the API counts 0 there.
      const mean = counts.reduce((a, b) => a + b, 0) / runs.length;
      return `${api} ${fmt(mean)}${min === max && counts.length === runs.length ? '' : ` (${min}-${max})`}`;
    })
    .join(', ');
  const total = runs.reduce((sum, r) => sum + [...r.calls.values()].reduce((a, b) => a + b, 0), 0);
  console.log(
    `${label}: ${fmt(accounts.length)} accounts in ${fmt(Math.round(wallMs))} ms wall; per account ` +
      `p50 ${fmt(Math.round(percentile(times, 50)))} ms, p99 ${fmt(Math.round(percentile(times, 99)))} ms, ` +
      `max ${fmt(Math.round(times[times.length - 1]))} ms; ${fmt(total / runs.length)} calls per account\n    ${perAccount}`,
  );
  const errors = runs.flatMap((r) => r.errors);
  check(errors.length === 0, `${errors.length} logged errors, e.g. ${errors[0]}`);
  const wrong = runs.filter((r) => r.problems.length > 0);
  check(wrong.length === 0, `${wrong.length} accounts left with roles not locked, e.g. ${wrong[0]?.problems[0]}`);
  return runs;
}

async function main(): Promise<void> {
  console.log(
    `agent-guard organization benchmark: ${fmt(ACCOUNTS)} accounts evaluated at once, each with ${AGENT_ROLES} agent ` +
      `roles + ${OTHER_ROLES} other roles, ${LATENCY_MS} ms per AWS call; one process stands in for ${fmt(ACCOUNTS)} ` +
      'Lambda functions, so per-account times are an upper bound\n',
  );
  const fresh = (n: number) =>
    Array.from({ length: n }, () => new Account('unconstrained', INITIAL_STATUS, AGENT_ROLES, OTHER_ROLES));
  const locked = (n: number) =>
    Array.from({ length: n }, () => new Account('locked', statusValue(true, true), AGENT_ROLES, OTHER_ROLES));

  await scenario('baseline, 1 account alone (rollout)', fresh(1));
  await scenario('baseline, 1 account alone (steady)', locked(1));
  await scenario('rollout: first sweep', fresh(ACCOUNTS));
  const steady = await scenario('steady: scheduled sweep, cold start', locked(ACCOUNTS));

  const writes = steady.reduce((sum, r) => sum + r.roleWrites, 0);
  check(writes === 0, `the steady sweep wrote roles ${writes} times`);
  const metricCalls = steady.reduce((sum, r) => sum + (r.calls.get('GetMetricData') ?? 0), 0) / steady.length;
  const allCalls = steady.reduce((sum, r) => sum + [...r.calls.values()].reduce((a, b) => a + b, 0), 0) / steady.length;
  console.log(
    `\nAt the default 5-minute schedule (${fmt(SWEEPS_PER_MONTH)} sweeps a month), one account makes about ` +
      `${fmt(allCalls * SWEEPS_PER_MONTH)} AWS calls a month from sweeps, ${fmt(metricCalls * SWEEPS_PER_MONTH)} of them ` +
      'GetMetricData, before event-driven runs (alarms, IAM events).',
  );
  if (failed) {
    console.log('FAIL: a check above failed');
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
