import { checkAction, CheckResult } from '../agent/check';
import { iamReference } from '../catalog/iam-reference';
import { iamActionOfEvent, iamServiceOfEventSource } from '../cloudtrail/event-names';
import { actionMatches } from '../iam/action-pattern';
import { asList, NamedPolicy } from '../iam/policy-document';
import { ResolvedCatalog } from '../policy/resolve-catalog';
import { EffectiveLock } from '../status-freshness';
import { AgentRolePattern, CallPrincipal, matchAgentRole, principalOf } from './principal';
import { AccountPolicies, PseudoParameters } from './template-policies';

/**
 * Decides, one CloudTrail record at a time, whether the guard's policies would have denied the call: the
 * project's own evaluator (through `checkAction`, as `agent-guard check` asks it), on the record's action,
 * resources, time and principal, in the lock state asked for.
 */

export type ReplayVerdict = 'would-block' | 'allowed' | 'not-agent';

/** One line of `replay --json`: exactly these fields. */
export interface ReplayLine {
  readonly eventID: string | null;
  readonly eventTime: string;
  readonly eventName: string;
  /** The IAM action; null for a call by a principal that is not an agent whose source has no IAM prefix. */
  readonly action: string | null;
  readonly principal: string;
  readonly verdict: ReplayVerdict;
  readonly reason: string;
}

/** What became of one record. */
export type ReplayOutcome =
  | {
      readonly kind: 'line';
      readonly line: ReplayLine;
      /** For agent calls: the action's protected group, `boundary`, `unknown` (no sure answer) or `unprotected`. */
      readonly group?: string;
    }
  /** Before `--since`, or not an API call (a CloudTrail Insights record): left out, not a problem. */
  | { readonly kind: 'ignored' }
  /** The record cannot be decided: the run reports it and goes on. */
  | { readonly kind: 'skipped'; readonly why: string };

export interface ReplayOptions {
  readonly agentRoles: readonly AgentRolePattern[];
  readonly locked: boolean;
  /** Records before this instant are left out. */
  readonly since?: Date;
  /** The guard policies of an account. */
  readonly policiesFor: (params: PseudoParameters) => AccountPolicies;
  /** Where the policies come from, for the reasons. */
  readonly policySource: 'default' | 'attached';
  readonly catalog: ResolvedCatalog;
}

/** The most accounts, account-action pairs and roles whose answers are kept for reuse: bounded memory. */
const CACHE_ENTRIES = 20_000;
const OPERATION = /^[A-Za-z0-9_-]{1,128}$/;
const REGION = /^[a-z0-9-]{1,32}$/;

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

interface Answer {
  readonly result: CheckResult;
  /** The resource the answer is for. */
  readonly resource: string;
}

/** Decides records; keeps bounded caches of the policies by account and action. */
export class Replayer {
  private readonly policies = new Map<string, AccountPolicies>();
  private readonly relevant = new Map<string, { policies: AccountPolicies; listed: boolean }>();
  /** How each role matched --agent-role; a log holds few roles and many calls by each. */
  private readonly matches = new Map<string, ReturnType<typeof matchAgentRole>>();
  private readonly lock: EffectiveLock;

  constructor(private readonly options: ReplayOptions) {
    this.lock = {
      locked: options.locked,
      reason: options.locked ? 'replayed as locked (--state locked)' : 'replayed as open (--state open)',
      stale: false,
      unknown: false,
    };
  }

  public decide(raw: unknown): ReplayOutcome {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return skipped('the record is not an object');
    const record = raw as Record<string, unknown>;
    if (record.eventType === 'AwsCloudTrailInsight') return { kind: 'ignored' };
    const eventTime = str(record.eventTime);
    const time = eventTime !== undefined ? Date.parse(eventTime) : NaN;
    if (Number.isNaN(time)) return skipped('no eventTime that is a date');
    if (this.options.since && time < this.options.since.getTime()) return { kind: 'ignored' };
    const eventSource = str(record.eventSource);
    const eventName = str(record.eventName);
    if (!eventSource || !eventName) return skipped('no eventSource or eventName');
    const region = str(record.awsRegion);
    if (!region || !REGION.test(region)) return skipped('no awsRegion that is a region name');
    const principal = principalOf(record.userIdentity);
    if (typeof principal === 'string') return skipped(principal);

    const service = iamServiceOfEventSource(eventSource);
    const known = service !== undefined && iamReference.hasService(service) && OPERATION.test(eventName);
    const action = known ? iamActionOfEvent(eventSource, eventName)! : null;
    const base = { eventID: str(record.eventID) ?? null, eventTime: eventTime!, eventName, action };

    const match = principal.role ? this.matchOf(principal.role) : undefined;
    if (!principal.role || !match) {
      const reason = principal.role
        ? `${principal.name} matches no --agent-role.`
        : `The caller is not an IAM role session (${principal.name}).`;
      return { kind: 'line', line: { ...base, principal: principal.name, verdict: 'not-agent', reason } };
    }
    if (action === null) {
      return skipped(
        service === undefined || !iamReference.hasService(service)
          ? `eventSource ${eventSource.slice(0, 100)} names no IAM service prefix that ${iamReference.source} lists`
          : `eventName ${eventName.slice(0, 100)} is not an API operation name`,
      );
    }

    const role = principal.role;
    const resources = resourcesOf(record.resources);
    const { policies, listed } = this.forAction({ partition: role.partition, account: role.account, region }, action);
    const { result, resource } = this.evaluate(
      policies,
      role.arn,
      action,
      resources.length > 0 ? resources : ['*'],
      eventTime!,
    );
    const notes = [
      result.summary,
      ...(resources.length === 0 ? ['The record names no resource ARN, so the resource is taken as unknown.'] : []),
      ...(resources.length > 1
        ? [`Of the record's ${resources.length} resources, this is the answer for ${resource}.`]
        : []),
      ...(!listed ? [`${action} is not an action ${iamReference.source} lists; it was evaluated as written.`] : []),
      ...(match === 'name'
        ? ["Matched --agent-role on the role's name: the session ARN does not carry the role's path."]
        : []),
      ...(str(record.errorCode) ? [`The call itself failed with ${str(record.errorCode)!.slice(0, 100)}.`] : []),
    ];
    // Unknown answers count as would-block, but the summary keeps them apart from sure denials.
    const group =
      result.verdict === 'unknown'
        ? 'unknown'
        : (result.group?.name ??
          (result.decidedBy !== undefined && result.decidedBy.policy === policies.boundary?.name
            ? 'boundary'
            : 'unprotected'));
    return {
      kind: 'line',
      line: {
        ...base,
        principal: role.arn,
        verdict: result.treatAsDenied ? 'would-block' : 'allowed',
        reason: notes.join(' '),
      },
      group,
    };
  }

  private matchOf(role: NonNullable<CallPrincipal['role']>): ReturnType<typeof matchAgentRole> {
    const key = `${role.pathKnown}|${role.arn}`;
    if (!this.matches.has(key)) {
      if (this.matches.size >= CACHE_ENTRIES) this.matches.clear();
      this.matches.set(key, matchAgentRole(role, this.options.agentRoles));
    }
    return this.matches.get(key);
  }

  private policiesOf(params: PseudoParameters): AccountPolicies {
    const key = `${params.partition}|${params.account}|${params.region}`;
    let policies = this.policies.get(key);
    if (!policies) {
      if (this.policies.size >= CACHE_ENTRIES) this.policies.clear();
      policies = this.options.policiesFor(params);
      this.policies.set(key, policies);
    }
    return policies;
  }

  /**
   * The account's policies with only the statements whose Action or NotAction covers `action`, and whether
   * the IAM reference lists the action. IAM skips every other statement for this action, and so does the
   * evaluator (a statement applies only when its action matches), so the answer is the same; the guard's
   * hundreds of action patterns are then matched once per action, not once per call.
   */
  private forAction(params: PseudoParameters, action: string): { policies: AccountPolicies; listed: boolean } {
    const key = `${params.partition}|${params.account}|${params.region}|${action}`;
    let entry = this.relevant.get(key);
    if (!entry) {
      if (this.relevant.size >= CACHE_ENTRIES) this.relevant.clear();
      const all = this.policiesOf(params);
      const only = (policy: NamedPolicy): NamedPolicy => ({
        name: policy.name,
        document: {
          ...policy.document,
          Statement: policy.document.Statement.filter((s) =>
            s.Action !== undefined
              ? asList(s.Action).some((p) => actionMatches(p, action))
              : !asList(s.NotAction).some((p) => actionMatches(p, action)),
          ),
        },
      });
      entry = {
        policies: { identity: all.identity.map(only), ...(all.boundary ? { boundary: only(all.boundary) } : {}) },
        listed: iamReference.expand(action).length > 0,
      };
      this.relevant.set(key, entry);
    }
    return entry;
  }

  /** The answer for the first resource denied, else for the first: a call needs every resource allowed. */
  private evaluate(
    policies: AccountPolicies,
    roleArn: string,
    action: string,
    resources: readonly string[],
    eventTime: string,
  ): Answer {
    let answer: Answer | undefined;
    for (const resource of resources) {
      const result = checkAction({
        action,
        resource,
        roleArn,
        lock: this.lock,
        now: new Date(eventTime),
        policies: { ...policies, source: this.options.policySource },
        catalog: this.options.catalog,
      });
      answer ??= { result, resource };
      if (result.treatAsDenied) return { result, resource };
    }
    return answer!;
  }
}

function skipped(why: string): ReplayOutcome {
  return { kind: 'skipped', why };
}

/** The ARNs of a record's `resources` (CT-24); entries without one are left out. */
function resourcesOf(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const arns = value
    .map((r) => (r as { ARN?: unknown } | null)?.ARN)
    .filter(
      (arn): arn is string => typeof arn === 'string' && /^arn:[a-z-]+:[a-z0-9-]+:/.test(arn) && arn.length <= 2048,
    );
  return [...new Set(arns)];
}
