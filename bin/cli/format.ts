import { resourcesLine } from '../../lib/core/approval/approval-scope';
import { formatDuration } from '../../lib/core/approval/duration';
import { APPROVAL_TAG, MANAGED_POLICY_MAX_CHARS } from '../../lib/core/contract';
import { policySize } from '../../lib/core/iam/policy-document';
import { ApprovalRecord, roleNameOf } from '../../lib/core/approval-api';
import type { CheckResult } from '../../lib/core/agent/check';
import { describeSource, sourcesOf } from '../../lib/core/agent/blast-radius';
import type { GuardStatus } from '../../lib/core/status';
import { effectiveLock, EffectiveLock } from '../../lib/core/status-freshness';
import type { ApiSuccess } from './client';
import { DryRunPlan } from './dry-run';
import { PLAIN, Style } from './style';

const number = new Intl.NumberFormat('en-US');

/** `in 29m` or `3m ago`, to the minute when over a minute. */
export function relative(iso: string | undefined, now: Date): string {
  if (!iso) return '';
  const ms = new Date(iso).getTime() - now.getTime();
  if (Number.isNaN(ms)) return '';
  const seconds = Math.abs(ms) / 1000;
  const text = formatDuration(seconds >= 120 ? Math.round(seconds / 60) * 60 : Math.round(seconds));
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** `OnCallAlice/alice` for a session, `user/bob` for a user: enough to tell approvers apart. */
export function shortPrincipal(arn: string): string {
  const session = /:assumed-role\/(.+)$/.exec(arn);
  if (session) return session[1];
  return arn.slice(arn.indexOf(':', arn.indexOf('::') + 2) + 1) || arn;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** The colour of an approval's status: in force green, waiting yellow, ended dim. */
function statusStyle(status: ApprovalRecord['status'], style: Style): (text: string) => string {
  if (status === 'active') return style.green;
  if (status === 'pending') return style.yellow;
  return style.dim;
}

function labelled(rows: [string, string | undefined][]): string[] {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.flatMap(([label, value]) => (value ? [`${label.padEnd(width)}  ${value}`] : []));
}

/** When the record's clock runs out, and how. */
function deadline(record: ApprovalRecord, now: Date): string {
  if (record.status === 'active') return `expires ${record.expiresAt} (${relative(record.expiresAt, now)})`;
  if (record.status === 'pending')
    return `lapses ${record.requestExpiresAt} (${relative(record.requestExpiresAt, now)})`;
  return `${record.status} ${record.endedAt ?? ''}`.trim();
}

/** One approval, in full. */
export function formatApproval(record: ApprovalRecord, now: Date, style: Style = PLAIN): string {
  const asked = record.requestedActions.join(', ');
  const exact = record.actions.join(', ');
  const lines = labelled([
    [
      'Approval',
      `${style.bold(record.approvalId)} (${record.kind}, ${statusStyle(record.status, style)(record.status)})`,
    ],
    ['Role', record.roleArn],
    ['Actions', asked === exact ? exact : `${exact} (from ${asked})`],
    ['On', resourcesLine(record.resources)],
    ['For', `${formatDuration(record.durationSeconds)}${record.uses ? `, single use` : ''}`],
    ['Expires', record.expiresAt ? `${record.expiresAt} (${relative(record.expiresAt, now)})` : undefined],
    [
      'Lapses',
      record.status === 'pending' && record.requestExpiresAt
        ? `${record.requestExpiresAt} (${relative(record.requestExpiresAt, now)}) unless approved`
        : undefined,
    ],
    ['Ended', record.endedAt ? `${record.endedAt}${record.endReason ? ` (${record.endReason})` : ''}` : undefined],
    ['Reason', `${record.reason}${record.ticket ? ` (ticket ${record.ticket})` : ''}`],
    ['Asked by', record.requestedBy],
    [
      'Approvers',
      `${record.approvers.length}/${record.requiredApprovals}${record.approvers.length ? `: ${record.approvers.join(', ')}` : ''}`,
    ],
  ]);
  if (record.kind === 'break-glass') lines.push(style.bold(style.red('BREAK-GLASS: marked for review.')));
  if (record.status === 'pending') lines.push(`Approve it with: agent-guard approve --id ${record.approvalId}`);
  if (record.status === 'active') lines.push(`Revoke it with:  agent-guard revoke --id ${record.approvalId}`);
  return lines.join('\n');
}

/** Approvals as a table, newest first as the function lists them. */
export function formatTable(records: readonly ApprovalRecord[], now: Date, style: Style = PLAIN): string {
  if (records.length === 0) return 'No approvals.';
  const header = ['ID', 'STATUS', 'KIND', 'ROLE', 'ACTIONS', 'RES', 'EXPIRES / LAPSES', 'APPROVERS'];
  const rows = records.map((r) => [
    r.approvalId,
    r.status,
    r.kind,
    truncate(roleNameOf(r.roleArn), 32),
    truncate(r.requestedActions.join(','), 32),
    String(r.resources.length),
    deadline(r, now),
    `${r.approvers.length}/${r.requiredApprovals} ${r.approvers.map(shortPrincipal).join(',')}`.trim(),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  // Padded first, coloured after, so the escape codes do not count towards the widths.
  const line = (row: string[], paint: (cell: string, i: number) => string) =>
    row
      .map((cell, i) => paint(i === row.length - 1 ? cell.trimEnd() : cell.padEnd(widths[i]), i))
      .join('  ')
      .trimEnd();
  return [
    line(header, (cell) => style.bold(cell)),
    ...rows.map((row, r) => line(row, (cell, i) => (i === 1 ? statusStyle(records[r].status, style)(cell) : cell))),
  ].join('\n');
}

/** The guard's status parameter, for people. */
export function formatStatus(status: GuardStatus, now: Date, style: Style = PLAIN): string {
  const lock = effectiveLock(status, now);
  const said = status.locked ? 'locked' : 'open';
  const state = lock.stale
    ? style.bold(
        style.red(
          `LOCKED (status stale: last heartbeat ${relative(status.evaluatedAt, now) || 'unreadable'}; ` +
            `it said ${said}): treat protected actions as denied`,
        ),
      )
    : status.locked
      ? style.bold(style.red('LOCKED: protected actions are denied to agent roles'))
      : status.protected
        ? style.yellow('OPEN (monitor mode: enforcing would lock now)')
        : style.green('OPEN: agent roles may run protected actions');
  const sources = sourcesOf(status);
  const undoable = Object.entries(status.undoable ?? {});
  const t = status.traffic;
  const figure = t.requestsPerMinute === null ? 'no datapoints' : `${number.format(t.requestsPerMinute)} requests/min`;
  return labelled([
    ['Account', `${status.account} (${status.mode})`],
    ['State', state],
    ['Since', `${status.since} (${relative(status.since, now)})`],
    ['Reason', status.reason],
    ['Production', `${status.production.value ? 'yes' : 'no'}: ${status.production.reason}`],
    [
      'Traffic',
      `${figure} vs threshold ${number.format(t.thresholdPerMinute)}/min over ${t.lookbackMinutes}m: ` +
        `${t.active ? 'live' : 'quiet'} (${t.reason})`,
    ],
    [
      'Hold',
      // Absent from statuses written before the hold existed.
      t.holdUntil ? `until ${t.holdUntil} (${relative(t.holdUntil, now)}): traffic dropped to none at once` : undefined,
    ],
    ['Stale', lock.stale ? lock.reason : undefined],
    // Absent from statuses written before the guard named its sources.
    ['Live', sources.length > 0 ? sources.map((s) => describeSource(s)).join('; ') : undefined],
    ['Undoable', undoable.length > 0 ? undoable.map(([group, can]) => `${group} ${can}`).join(', ') : undefined],
    ['Evaluated', `${status.evaluatedAt} (${relative(status.evaluatedAt, now)})`],
  ]).join('\n');
}

/** The dry run, for people: what would be written, with each policy's size against IAM's limit. */
export interface DryRunSummary {
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly breakGlass: boolean;
  readonly durationSeconds: number;
  /** The maximum the duration was checked against, and where it came from. */
  readonly maxSeconds: number;
  readonly maxFrom: string;
}

export function formatDryRun(plan: DryRunPlan, summary: DryRunSummary, now: Date, style: Style = PLAIN) {
  const nameWidth = Math.max(...plan.policies.map((p) => p.name.length));
  return [
    style.bold(style.cyan('Dry run: nothing was sent and no credentials were used.')),
    ...labelled([
      ['Approval', `${plan.approvalId} (made up here; the approval function picks its own)`],
      ['Kind', summary.breakGlass ? style.bold(style.red('break-glass')) : 'approval'],
      ['Role', plan.roleArn],
      ['Actions', summary.actions.join(', ')],
      ['On', resourcesLine(summary.resources)],
      [
        'For',
        `${formatDuration(summary.durationSeconds)}, within the ${summary.breakGlass ? 'break-glass ' : ''}maximum of ` +
          `${formatDuration(summary.maxSeconds)} (${summary.maxFrom})`,
      ],
      ['Expires', `${style.bold(plan.expiresAt)} (${relative(plan.expiresAt, now)}, if approved now)`],
      ['Role tag', `${APPROVAL_TAG}=${plan.tags[APPROVAL_TAG]}`],
    ]),
    '',
    `Guard policies on the role while it is in force (they replace the standard ones; the boundary is unchanged):`,
    ...plan.policies.map(
      (p) =>
        `  ${p.name.padEnd(nameWidth)}  ${number.format(policySize(p.document)).padStart(5)} / ${number.format(MANAGED_POLICY_MAX_CHARS)} chars  ${p.arn}`,
    ),
    '',
    'This assumes no other approval is in force on the role, and the built-in catalog (the deployed guard',
    'may add custom groups or exemptions). Use --json for the full policy documents.',
  ].join('\n');
}

/** The lock in force, with why; unknown and stale say to treat it as locked. */
export function formatLock(lock: EffectiveLock, style: Style = PLAIN): string {
  return lock.unknown
    ? style.red(`UNKNOWN, treat as locked: ${lock.reason}`)
    : lock.stale
      ? style.red(`STALE, treat as locked: ${lock.reason}`)
      : `${lock.locked ? style.red('LOCKED') : style.green('OPEN')}: ${lock.reason}`;
}

/** The answer of `approve`, `request` or `revoke`: the function's message and the approval it names. */
export function formatOutcome(result: ApiSuccess, now: Date, style: Style = PLAIN): string {
  const record = result.approvals[0];
  return record ? `${result.message}\n\n${formatApproval(record, now, style)}` : result.message;
}

/** The answer of `check` (and the evaluation part of `explain`), for people. */
export function formatCheck(
  result: CheckResult,
  style: Style = PLAIN,
  extra: { readonly explanation?: string } = {},
): string {
  const headline = result.verdict === 'allowed' ? style.green(result.summary) : style.bold(style.red(result.summary));
  const by = result.decidedBy;
  const approvals =
    result.approvals === null
      ? 'not listed'
      : result.approvals.length === 0
        ? 'none'
        : result.approvals
            .map(
              (a) =>
                `${a.id} (${a.status}${a.expiresAt ? `, expires ${a.expiresAt}` : ''}${a.covers ? ', covers this call' : ''})`,
            )
            .join('; ');
  const lines = [
    ...(extra.explanation ? [style.bold(extra.explanation), ''] : []),
    headline,
    ...labelled([
      ['Action', result.action],
      ['Resource', result.resource],
      ['Role', result.role ?? '(none given)'],
      ['Lock', formatLock(result.lock, style)],
      [
        'Decided by',
        by
          ? `${by.sid ? `statement ${by.sid} of ` : ''}${by.policy} (${by.kind}, ${by.policySource === 'attached' ? "the role's attached policies" : 'default policy set'})`
          : undefined,
      ],
      [
        'Group',
        result.group
          ? `${result.group.name}; can be undone: ${result.group.undoable}. ${result.group.why}`
          : 'none (not a protected action)',
      ],
      ['Approvals', approvals],
      [
        'Live',
        result.live
          ? `${result.live.sources.map((s) => describeSource(s)).join('; ')} (as of ${result.live.asOf})`
          : undefined,
      ],
    ]),
  ];
  if (result.requestCommand)
    lines.push('', 'To ask on-call for an approval:', `  ${style.cyan(result.requestCommand)}`);
  if (result.notes.length > 0) lines.push('', ...result.notes.map((n) => style.dim(`- ${n}`)));
  return lines.join('\n');
}
