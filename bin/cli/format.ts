import { formatDuration } from '../../lib/core/approval/duration';
import { APPROVAL_TAG, MANAGED_POLICY_MAX_CHARS } from '../../lib/core/contract';
import { policySize } from '../../lib/core/iam/policy-document';
import { ApprovalRecord, roleNameOf } from '../../lib/core/approval-api';
import type { GuardStatus } from '../../lib/core/status';
import { DryRunPlan } from './dry-run';

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
export function formatApproval(record: ApprovalRecord, now: Date): string {
  const asked = record.requestedActions.join(', ');
  const exact = record.actions.join(', ');
  const lines = labelled([
    ['Approval', `${record.approvalId} (${record.kind}, ${record.status})`],
    ['Role', record.roleArn],
    ['Actions', asked === exact ? exact : `${exact} (from ${asked})`],
    ['On', record.resources.join(', ')],
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
  if (record.kind === 'break-glass') lines.push('BREAK-GLASS: marked for review.');
  if (record.status === 'pending') lines.push(`Approve it with: agent-guard approve --id ${record.approvalId}`);
  if (record.status === 'active') lines.push(`Revoke it with:  agent-guard revoke --id ${record.approvalId}`);
  return lines.join('\n');
}

/** Approvals as a table, newest first as the function lists them. */
export function formatTable(records: readonly ApprovalRecord[], now: Date): string {
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
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The guard's status parameter, for people. */
export function formatStatus(status: GuardStatus, now: Date): string {
  const state = status.locked
    ? 'LOCKED: protected actions are denied to agent roles'
    : status.protected
      ? 'OPEN (monitor mode: enforcing would lock now)'
      : 'OPEN: agent roles may run protected actions';
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
    ['Evaluated', `${status.evaluatedAt} (${relative(status.evaluatedAt, now)})`],
  ]).join('\n');
}

/** The dry run, for people: what would be written, with each policy's size against IAM's limit. */
export function formatDryRun(plan: DryRunPlan, actions: readonly string[], resources: readonly string[], now: Date) {
  const nameWidth = Math.max(...plan.policies.map((p) => p.name.length));
  return [
    'Dry run: nothing was sent and no credentials were used.',
    ...labelled([
      ['Approval', `${plan.approvalId} (made up here; the approval function picks its own)`],
      ['Role', plan.roleArn],
      ['Actions', actions.join(', ')],
      ['On', resources.join(', ')],
      ['Expires', `${plan.expiresAt} (${relative(plan.expiresAt, now)}, if approved now)`],
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
