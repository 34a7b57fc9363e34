/**
 * `npm run demo`: replays "an agent deletes and recreates the production environment" against the
 * construct's real synthesized policies, offline. Every decision printed is computed: the guard's own
 * decision code, `check`'s evaluator, the approval service, and the IAM engine. `--account-tag VALUE`
 * (or DEMO_ACCOUNT_TAG) replays the same story in an account with another `environment` tag.
 */
import { liveSources } from '../lib/core/agent/blast-radius';
import { parseArgs } from 'node:util';
import { formatCheck } from '../bin/cli/format';
import { Style, styleFor, wantsColour } from '../bin/cli/style';
import { ApprovalRecord } from '../lib/core/approval-api';
import { formatDuration } from '../lib/core/approval/duration';
import { DEFAULT_SCHEDULE_MINUTES } from '../lib/core/status-freshness';
import { ACCOUNT, AGENT_ROLE_ARN, AGENT_SESSION, DemoAccount, GuardTick, ON_CALL, stackArn } from './demo/account';

const START = Date.parse('2026-05-01T09:00:00Z');
const at = (minutes: number, seconds = 0): Date => new Date(START + minutes * 60000 + seconds * 1000);
/** Requests per minute: live, and the trickle left once traffic has wound down. */
const LIVE = 1200;
const IDLE = 2;
const PROD_STACK = stackArn('prod-web', '6f1c2a40-0f7e-11f1-9d2b-0a1b2c3d4e5f');
const OTHER_STACK = stackArn('prod-db', '7a2d3b50-0f7e-11f1-9d2b-0a1b2c3d4e5f');
const DELETE = 'cloudformation:DeleteStack';
/** Minute (from START) at which traffic starts to wind down, and how long it takes. */
const WIND_DOWN = { from: 30, minutes: 15 };

const { values: options } = parseArgs({
  options: { 'account-tag': { type: 'string', default: process.env.DEMO_ACCOUNT_TAG ?? 'production' } },
});
const style: Style = styleFor(wantsColour(process.env, process.stdout.isTTY === true));
const print = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

const clock = (date: Date): string => date.toISOString().slice(11, 19);
const shortArn = (arn: string): string =>
  arn.replace(/^arn:aws:cloudformation:[^:]+:\d+:stack\/([^/]+)\/.*$/, 'stack/$1');
type Actor = 'guard' | 'agent' | 'on-call' | 'scheduler' | 'traffic';

/** One event: `HH:MM:SS  actor     text`, then indented detail lines. */
function event(when: Date, actor: Actor, text: string, ...detail: string[]): void {
  print(`${style.dim(clock(when))}  ${style.bold(actor.padEnd(9))} ${text}`);
  for (const line of detail) print(`${' '.repeat(20)}${line}`);
}

const verdict = (allowed: boolean): string => (allowed ? style.green('ALLOWED') : style.bold(style.red('DENIED')));
const lockWord = (tick: GuardTick): string =>
  tick.decision.locked ? style.bold(style.red('LOCKED')) : style.green('OPEN');

/** The lock of the last evaluation `advance` saw: a change is worth printing. */
let lastLocked: boolean | undefined;

/**
 * Runs the guard's schedule up to `until` and prints the evaluations worth reading: the first, a change
 * of lock, one with a notice, and those at `show`.
 */
async function advance(account: DemoAccount, until: Date, show: readonly Date[] = []): Promise<GuardTick | undefined> {
  let last: GuardTick | undefined;
  for (const { at: when, tick } of await account.runSchedule(until)) {
    const changed = lastLocked === undefined || lastLocked !== tick.decision.locked;
    lastLocked = tick.decision.locked;
    last = tick;
    if (!changed && !tick.notice && !show.some((d) => d.getTime() === when.getTime())) continue;
    const detail = [style.dim(tick.decision.reason)];
    const live = tick.decision.locked ? liveSources(tick.status, 2) : undefined;
    if (live) detail.push(style.dim(live));
    if (tick.notice) detail.push(style.yellow(`on-call notified: ${tick.notice.subject}`));
    event(when, 'guard', `evaluation: account ${lockWord(tick)}`, ...detail);
  }
  return last;
}
async function deleteStack(account: DemoAccount, when: Date, stack = PROD_STACK, note = ''): Promise<boolean> {
  await advance(account, when);
  const call = await account.callAws(DELETE, stack, when);
  event(
    when,
    'agent',
    `${DELETE} ${shortArn(stack)}: ${verdict(call.allowed)}${note}`,
    style.dim(`IAM engine: ${call.result}; ${call.by}`),
  );
  return call.allowed;
}

function approvalOf(reply: Awaited<ReturnType<DemoAccount['call']>>): ApprovalRecord {
  if (!reply.ok || reply.approvals?.length !== 1) throw new Error(`The approval function refused: ${reply.message}`);
  return reply.approvals[0];
}

const person = (sessionArn: string): string => sessionArn.slice(sessionArn.lastIndexOf('/') + 1);

async function main(): Promise<void> {
  const started = Date.now();
  const account = new DemoAccount({ environment: options['account-tag'] });
  const { traffic } = account.guardConfig;
  const steady = (minute: Date) => Math.round(LIVE + 37 * Math.sin(minute.getTime() / 420000));

  print(style.bold('agent-guard demo: an AI agent deletes and recreates the production environment'));
  print(
    style.dim(
      `Account ${ACCOUNT}, tagged environment=${options['account-tag']}. Guard synthesized in-process from ` +
        `lib/ (${account.guardPolicies.map((p) => p.name).join(', ')} + AgentGuardBoundary).`,
    ),
  );
  print(
    style.dim(
      'Calls decided by the IAM engine (@cloud-copilot/iam-simulate) over those policies; `check` by ' +
        "agent-guard's own evaluator; lock by lambda/guard; approvals by lambda/approvals.",
    ),
  );
  print(style.dim(`stack/prod-web below is short for ${PROD_STACK}; commands and calls use the full ARN.`));
  print();

  // 1. Production with live traffic: locked.
  account.setTraffic(steady);
  await advance(account, at(0));

  // 2. The agent asks first.
  await advance(account, at(2));
  const checked = await account.check(DELETE, PROD_STACK, at(2));
  const kept = formatCheck(checked, style)
    .split('\n')
    // The verdict, and the command check offers for asking on-call (indented under its label).
    .filter((line, i) => i === 0 || line.startsWith('  '))
    .map((line, i) => `${i === 0 ? '' : 'to ask: '}${line.trim().replace(PROD_STACK, shortArn(PROD_STACK))}`);
  event(at(2), 'agent', `$ agent-guard check --action ${DELETE} --resource ${shortArn(PROD_STACK)}`, ...kept);

  // 3. It tries anyway.
  await deleteStack(account, at(2, 30));

  // 4. It asks for 15 minutes on that stack; two on-call engineers approve.
  const duration = 15 * 60;
  await advance(account, at(3));
  const requested = approvalOf(
    await account.call(
      {
        op: 'request',
        roleArn: AGENT_ROLE_ARN,
        actions: [DELETE],
        resources: [PROD_STACK],
        durationSeconds: duration,
        reason: 'recreate prod-web from a clean template',
      },
      AGENT_SESSION,
      at(3),
    ),
  );
  event(
    at(3),
    'agent',
    `$ agent-guard request --actions ${DELETE} --resources ${shortArn(PROD_STACK)} --duration ${formatDuration(duration)}`,
    style.dim(`request ${requested.approvalId}: ${requested.status}`),
    style.yellow(`on-call notified: ${account.lastNotice() ?? '(no notice sent)'}`),
  );
  let record = requested;
  for (const [minute, who] of [
    [5, ON_CALL.alice],
    [6, ON_CALL.bob],
  ] as const) {
    await advance(account, at(minute));
    const reply = await account.call({ op: 'approve-pending', approvalId: record.approvalId }, who, at(minute));
    record = approvalOf(reply);
    const versions = account.approvalVersions().map((v) => `${v.name} (stands in for ${v.replaces})`);
    event(
      at(minute),
      'on-call',
      `${person(who)} approves: ${reply.message}`,
      ...(record.status === 'active' ? [style.dim(`attached to the role: ${versions.join(', ')}`)] : []),
    );
  }

  // 5. The delete goes through, on that stack only.
  await deleteStack(account, at(7));
  await deleteStack(account, at(7, 30), OTHER_STACK, ' (not in the approval)');

  // 6. Expiry.
  if (record.status === 'active' && record.expiresAt) {
    const expiry = new Date(record.expiresAt);
    // The versions carry their expiry as a literal: they deny on their own once it passes.
    await deleteStack(account, new Date(expiry.getTime() + 1000), PROD_STACK, ' (schedule not run yet)');
    const fired = new Date(expiry.getTime() + 5000);
    await account.expire(record, fired);
    const left = account.approvalVersions().map((v) => v.name);
    event(
      fired,
      'scheduler',
      `expiry schedule fires: approval ${record.approvalId} is now ${account.approvals.record(record.approvalId).status}`,
      style.dim(
        left.length === 0 ? 'the role holds the standard guard policies again' : `still attached: ${left.join(', ')}`,
      ),
    );
    await deleteStack(account, new Date(expiry.getTime() + 30000));
  }

  // 7. Traffic winds down; the account opens one lookback after the last live minute.
  await advance(account, at(WIND_DOWN.from - 5));
  const before = account.guardStatus()!;
  const lockedBefore = lastLocked;
  const windDown = (minute: Date) => {
    const elapsed = (minute.getTime() - at(WIND_DOWN.from).getTime()) / 60000;
    if (elapsed < 0) return steady(minute);
    return Math.max(IDLE, Math.round(LIVE * (1 - elapsed / WIND_DOWN.minutes)));
  };
  account.setTraffic(windDown);
  const lastLive = lastMinuteAbove(windDown, traffic.thresholdPerMinute);
  event(
    at(WIND_DOWN.from),
    'traffic',
    `winds down: ${LIVE} to ${IDLE} requests/min over ${WIND_DOWN.minutes} min`,
    style.dim(
      `last minute above ${traffic.thresholdPerMinute}/min: ${clock(lastLive)}; lookback ${traffic.lookbackMinutes} min`,
    ),
  );
  const afterLastLive = at(WIND_DOWN.from + WIND_DOWN.minutes);
  const horizon = at(WIND_DOWN.from + WIND_DOWN.minutes + traffic.lookbackMinutes + 10);
  await advance(account, afterLastLive, [afterLastLive]);
  const opensAt = await firstOpen(account, horizon);
  await deleteStack(account, new Date((opensAt ?? horizon).getTime() + 30000));

  // 7b. The other branch: traffic stops at once.
  print();
  print(style.bold(`Instead: at ${clock(at(WIND_DOWN.from))} live traffic stops at once (ingress cut, DNS changed)`));
  account.restoreStatus(before);
  lastLocked = lockedBefore;
  account.setTraffic((minute) => (minute.getTime() < at(WIND_DOWN.from).getTime() ? steady(minute) : 0));
  const comparison = opensAt ?? horizon;
  await advance(account, comparison, [comparison]);
  await deleteStack(account, new Date(comparison.getTime() + 30000));

  // The fixture watched every IAM write: no role was ever less locked than both ends of a swap.
  if (account.approvals.violations.length > 0) {
    throw new Error(`An agent role was left unlocked mid-swap: ${JSON.stringify(account.approvals.violations)}`);
  }
  print();
  print(style.dim(`Replayed in ${((Date.now() - started) / 1000).toFixed(1)} s of wall time.`));
}

/** Runs the schedule until the account opens (printing as `advance` does); when it opened, if it did by `until`. */
async function firstOpen(account: DemoAccount, until: Date): Promise<Date | undefined> {
  const step = DEFAULT_SCHEDULE_MINUTES * 60000;
  for (let t = Date.parse(account.guardStatus()!.evaluatedAt) + step; t <= until.getTime(); t += step) {
    const tick = await advance(account, new Date(t));
    if (tick && !tick.decision.locked) return new Date(t);
  }
  return undefined;
}

/** The last minute of the wind-down whose traffic is above the threshold. */
function lastMinuteAbove(model: (minute: Date) => number, threshold: number): Date {
  let last = at(WIND_DOWN.from);
  for (let m = WIND_DOWN.from; m <= WIND_DOWN.from + WIND_DOWN.minutes; m++) if (model(at(m)) > threshold) last = at(m);
  return last;
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
