import { arnMatches } from '../iam/action-pattern';
import { NamedPolicy } from '../iam/policy-document';
import { AGENT_TAG, AGENT_TAG_VALUE, CONSTRAINED_TAG, CONSTRAINED_TAG_VALUE, STATE_OPEN, STATE_TAG } from '../contract';
import { ResolvedCatalog } from '../policy/resolve-catalog';
import { EffectiveLock } from '../status-freshness';
import { TrafficSource } from '../status';
import { Decider, evaluate, Verdict } from './evaluate';
import { groupFact, GroupFact } from './group-facts';

/** What check reads of an approval record (lib/core/approval-api.ts `ApprovalRecord`). */
export interface ApprovalLike {
  readonly approvalId: string;
  readonly status: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly expiresAt?: string;
}

/** Where the evaluated policies came from. */
export type PolicySource = 'attached' | 'default';

/** Everything `check` knows, gathered by the CLI (online) or made up from the defaults (offline). */
export interface CheckInput {
  /** The exact action, spelled as the catalog spells it. */
  readonly action: string;
  /** The resource ARN, or `*` when it is not known. */
  readonly resource: string;
  readonly roleArn?: string;
  readonly lock: EffectiveLock;
  readonly now: Date;
  /** The role's approvals in force or pending; undefined when they could not be listed. */
  readonly approvals?: readonly ApprovalLike[];
  readonly policies: {
    readonly identity: readonly NamedPolicy[];
    readonly boundary?: NamedPolicy;
    readonly source: PolicySource;
  };
  /** The role's own `agent-guard:*` tags, when the role was read. */
  readonly roleTags?: Readonly<Record<string, string>>;
  readonly catalog: ResolvedCatalog;
  /** What the caller could not read, and other caveats, for the answer's notes. */
  readonly notes?: readonly string[];
  /** The busiest sources of traffic the status names: what a destructive call could take down. */
  readonly live?: LiveSources;
}

/** The busiest sources of traffic, as of the status's heartbeat. */
export interface LiveSources {
  readonly asOf: string;
  readonly sources: readonly TrafficSource[];
}

export interface ApprovalSummary {
  readonly id: string;
  readonly status: string;
  readonly expiresAt?: string;
  /** The approval lifts this action on this resource. */
  readonly covers: boolean;
}

export interface CheckResult {
  readonly action: string;
  readonly resource: string;
  readonly role?: string;
  /** denied; allowed (the guard lets it through); unknown, which callers treat as denied. */
  readonly verdict: Verdict['decision'];
  readonly treatAsDenied: boolean;
  readonly summary: string;
  readonly lock: EffectiveLock;
  readonly decidedBy?: Decider & { readonly policySource: PolicySource };
  readonly unknowns: readonly string[];
  readonly group: (GroupFact & { readonly name: string }) | null;
  readonly approvals: readonly ApprovalSummary[] | null;
  /** The command that asks for an approval; null when no approval would change the answer. */
  readonly requestCommand: string | null;
  /** The busiest sources of traffic; null when the status names none. */
  readonly live: LiveSources | null;
  readonly notes: readonly string[];
}

/** The group that protects `action`, if any. */
export function groupOf(catalog: ResolvedCatalog, action: string): string | undefined {
  return catalog.plain.get(action) ?? catalog.conditional.find((rule) => rule.actions.includes(action))?.group;
}

/** Context keys check can vouch for; tag keys it assumes absent; every other key is unknown. */
function knownKey(key: string): boolean {
  return /^(aws:(PrincipalTag|ResourceTag|RequestTag)\/|iam:ResourceTag\/|aws:TagKeys$)/i.test(key);
}

/** A word safe in a POSIX shell as it is; anything else in single quotes. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `agent-guard request ...` for this action and resource, with placeholders where a value is not known. */
export function requestCommand(action: string, resource: string, roleArn: string | undefined): string {
  return [
    'agent-guard request',
    `--role ${roleArn ? shellWord(roleArn) : '<your role ARN>'}`,
    `--actions ${shellWord(action)}`,
    `--resources ${resource === '*' ? '<resource ARN>' : shellWord(resource)}`,
    '--duration 30m',
    `--reason '<why this is safe now>'`,
  ].join(' ');
}

/**
 * Would the role be denied `action` on `resource` now, and why. The principal is evaluated locked
 * whenever the status says so, cannot be read or is stale, or the role's own state tag is not `open`: the
 * answer is never more open than either.
 */
export function checkAction(input: CheckInput): CheckResult {
  const notes = [...(input.notes ?? [])];
  const tags: Record<string, string> = input.roleTags
    ? { ...input.roleTags }
    : { [AGENT_TAG]: AGENT_TAG_VALUE, [CONSTRAINED_TAG]: CONSTRAINED_TAG_VALUE };
  if (input.roleTags === undefined && !input.lock.locked) tags[STATE_TAG] = STATE_OPEN;
  if (input.lock.locked) delete tags[STATE_TAG];
  if (input.roleTags && input.roleTags[STATE_TAG] !== STATE_OPEN && !input.lock.locked) {
    notes.push(`The status says open, but the role's ${STATE_TAG} tag is not open yet: IAM still denies as locked.`);
  }
  const context: Record<string, string> = {
    ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:PrincipalTag/${k}`, v])),
    'aws:CurrentTime': input.now.toISOString(),
    ...(input.roleArn ? { 'aws:PrincipalArn': input.roleArn } : {}),
  };
  const verdict = evaluate(
    {
      action: input.action,
      resource: input.resource,
      resourceUnknown: input.resource === '*',
      context,
      unknownKey: (key) => !knownKey(key),
    },
    { identity: input.policies.identity, boundary: input.policies.boundary, assumeIdentityAllows: true },
  );
  notes.push(
    "Assumed: the resource carries no agent-guard or aws-cdk tags; the role's own Allow policies, SCPs and resource policies are not read.",
  );

  const groupName = groupOf(input.catalog, input.action);
  const group = groupName ? { name: groupName, ...groupFact(groupName) } : null;
  const approvals =
    input.approvals?.map((record) => ({
      id: record.approvalId,
      status: record.status,
      ...(record.expiresAt ? { expiresAt: record.expiresAt } : {}),
      covers:
        record.status === 'active' &&
        record.actions.some((a) => a.toLowerCase() === input.action.toLowerCase()) &&
        input.resource !== '*' &&
        record.resources.some((r) => arnMatches(r, input.resource)) &&
        (record.expiresAt === undefined || Date.parse(record.expiresAt) > input.now.getTime()),
    })) ?? null;

  const denied = verdict.decision !== 'allowed';
  // An approval lifts only the catalog's denies, never the boundary's (anti-tamper, or no Allow for a role
  // the guard has not verified).
  const approvable = denied && group !== null && verdict.decidedBy?.policy !== input.policies.boundary?.name;
  const summary = summarise(input, verdict, group?.name);
  return {
    action: input.action,
    resource: input.resource,
    ...(input.roleArn ? { role: input.roleArn } : {}),
    verdict: verdict.decision,
    treatAsDenied: denied,
    summary,
    lock: input.lock,
    ...(verdict.decidedBy ? { decidedBy: { ...verdict.decidedBy, policySource: input.policies.source } } : {}),
    unknowns: verdict.unknowns,
    group,
    approvals,
    requestCommand: approvable ? requestCommand(input.action, input.resource, input.roleArn) : null,
    live: input.live && input.live.sources.length > 0 ? input.live : null,
    notes,
  };
}

function summarise(input: CheckInput, verdict: Verdict, group: string | undefined): string {
  const what = `${input.action} on ${input.resource === '*' ? 'an unnamed resource' : input.resource}`;
  const by = verdict.decidedBy;
  const where = by ? (by.sid ? `statement ${by.sid} of ${by.policy}` : by.policy) : '';
  if (verdict.decision === 'denied') {
    if (by?.kind === 'explicit-deny') return `DENIED: ${what} is denied by ${where}.`;
    return `DENIED: ${what} is not allowed by ${where} (no Allow matches).`;
  }
  if (verdict.decision === 'unknown') return `UNKNOWN, treat as denied: ${what}; ${verdict.unknowns.join('; ')}.`;
  return group
    ? `ALLOWED: the guard does not deny ${what} now (group ${group}, ${input.lock.locked ? 'an approval lifts it' : 'the account is open'}).`
    : `ALLOWED: ${what} is not a protected action; the guard does not deny it.`;
}
