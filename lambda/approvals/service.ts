import { randomBytes } from 'node:crypto';
import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  ResourceNotFoundException as EventsResourceNotFound,
} from '@aws-sdk/client-eventbridge';
import {
  IAMClient,
  ListEntitiesForPolicyCommand,
  ListPoliciesCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { CreateScheduleCommand, DeleteScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { approvalPolicySet, MAX_APPROVAL_POLICIES } from '../../lib/core/approval/approval-policies';
import {
  ApprovalAccount,
  resolveApprovalActions,
  resourcesLine,
  validateApprovalResources,
} from '../../lib/core/approval/approval-scope';
import { expiryFrom, formatDuration, isoSeconds } from '../../lib/core/approval/duration';
import {
  AGENT_TAG,
  AGENT_TAG_VALUE,
  APPROVAL_TAG,
  GUARD_PATH,
  parseApprovalPolicyArn,
  requiredGuardPolicyArns,
  staleApprovalSets,
} from '../../lib/core/contract';
import { cloudTrailEventNameMatchers } from '../../lib/core/cloudtrail/event-names';
import { arnMatches } from '../../lib/core/iam/action-pattern';
import { CarveOut } from '../../lib/core/policy/guard-policies';
import { ResolvedCatalog } from '../../lib/core/policy/resolve-catalog';
import { AwsCaller, errorName } from '../shared/aws-caller';
import { hasAgentTag, tagValue } from '../shared/agent-roles';
import { CentralClients, oneLine, publish, subject } from '../shared/notices';
import { NotVisibleError } from '../shared/read-back';
import { LeaseUnavailable, RoleLeases } from '../shared/role-lease';
import {
  ApiRequest,
  ApprovalKind,
  roleNameOf,
  ApprovalRecord,
  ApprovalStatus,
  ScopeRequest,
} from '../../lib/core/approval-api';
import { ApprovalsConfig, CentralNoticesTarget, EXPIRY_SCHEDULE_PREFIX } from '../../lib/core/config';
import { PolicySetTarget, RolePolicies, RoleState } from './role-policies';
import { ApprovalStore } from './store';

/** A request the rules refuse; nothing was written. Its message says what to change. */
export class Refusal extends Error {
  public override readonly name = 'Refusal';
}

export interface ApprovalServiceDependencies {
  readonly config: ApprovalsConfig;
  readonly catalog: ResolvedCatalog;
  readonly iam: IAMClient;
  readonly ddb: DynamoDBDocumentClient;
  readonly scheduler: SchedulerClient;
  readonly events: EventBridgeClient;
  readonly sns: SNSClient;
  readonly caller: AwsCaller;
  /**
   * Told of each notice copy the central target did not take; the entrypoint logs and counts it.
   * @default ignored
   */
  readonly centralNoticeFailed?: (error: unknown, target: CentralNoticesTarget) => void;
  /** Clients in the central notices target's region. @default none: central copies fail and are reported */
  readonly centralClients?: CentralClients;
  /** Per-role leases: the function writes a role only while it holds the role's lease. */
  readonly leases: RoleLeases;
  /** This function's ARN: the target of expiry schedules and single-use rules. */
  readonly functionArn: string;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** @default 16 random lower-case letters and digits */
  readonly newId?: () => string;
}

interface Caller {
  /** The ARN the request was signed with: an assumed-role session or an IAM user. */
  readonly sessionArn: string;
  /** The role (with its path) or user behind it. */
  readonly principalArn: string;
  /** Who counts as one person for the two-person rule; see `identityKey`. */
  readonly person: string;
  readonly isAgent: boolean;
}

/** The path of the roles IAM Identity Center creates; their session name is the signed-in user's. */
const IDENTITY_CENTER_PATH = /^arn:aws[a-z-]*:iam::\d{12}:role\/aws-reserved\/sso\.amazonaws\.com\//;

/**
 * Who a signed request counts as for the two-person rule. Whoever calls `AssumeRole` picks the session
 * name, so the sessions of one role count as one person: the role. IAM Identity Center sets the session
 * name to the user's name itself, so there each session counts. An IAM user is one person.
 */
function identityKey(sessionArn: string, principalArn: string): string {
  return IDENTITY_CENTER_PATH.test(principalArn) ? sessionArn : principalArn;
}

/** Who ends the approvals of a set compiled against the guard policies of an earlier deploy, and why. */
const STALE_SET_ENDED_BY = 'agent-guard';
const STALE_SET_REASON =
  'a redeploy changed the guard policies its policy versions were compiled against, so they no longer ' +
  'apply; the standard guard policies are back. Approve again if it is still needed';

const ENDED: ApprovalStatus[] = ['revoked', 'expired', 'used', 'lapsed', 'failed'];

function randomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(16)].map((b) => alphabet[b % alphabet.length]).join('');
}

/**
 * The approval function's core: checks who asks and what, keeps the audit record, swaps the role's
 * guard policies, schedules the expiry and tells on-call. IAM ends every approval at its literal
 * expiry whatever happens here; this only makes approvals visible, revocable and tidy.
 */
export class ApprovalService {
  private readonly store: ApprovalStore;
  private readonly roles: RolePolicies;
  private readonly clock: () => Date;
  private readonly newId: () => string;
  /** This account and partition (from the function's own ARN): the only ones an approval may name. */
  private readonly where: ApprovalAccount;

  constructor(private readonly deps: ApprovalServiceDependencies) {
    this.store = new ApprovalStore(deps.ddb, deps.caller, deps.config.tableName);
    this.roles = new RolePolicies(deps.iam, deps.caller, deps.config.guardPolicyArns, deps.config.guardPolicyDigest);
    this.clock = deps.clock ?? (() => new Date());
    this.newId = deps.newId ?? randomId;
    const [, partition, , region] = deps.functionArn.split(':');
    this.where = { partition, account: deps.config.accountId, region };
  }

  public async handle(
    request: ApiRequest,
    callerArn: string,
  ): Promise<{ message: string; approvals: ApprovalRecord[] }> {
    const caller = await this.identify(callerArn);
    switch (request.op) {
      case 'request':
        return this.request(request, caller);
      case 'approve':
        return this.approve(request, caller);
      case 'approve-pending':
        return this.approvePending(request.approvalId, caller);
      case 'revoke':
        return this.revoke(request.approvalId, caller, request.reason);
      case 'list':
        return this.list(request.roleArn, request.includeEnded ?? false);
    }
  }

  /** The expiry schedule fired. */
  public async expire(approvalId: string): Promise<void> {
    const record = await this.store.get(approvalId);
    if (record?.status === 'active') await this.end(record, 'expired', 'the expiry schedule');
  }

  /** CloudTrail shows the approved call of a single-use approval. */
  public async used(approvalId: string): Promise<void> {
    const record = await this.store.get(approvalId);
    if (record?.status === 'active' && record.uses === 1)
      await this.end(record, 'used', 'first use seen in CloudTrail');
  }

  /**
   * Ends what is due and repairs half-done swaps towards locked: approval policies that no active
   * approval stands behind, or that were compiled against the guard policies of an earlier deploy
   * (their approvals end, see `dropStaleSets`), come off their roles (the standard guard policies go on
   * first) and are deleted.
   */
  public async reconcile(): Promise<{ expired: number; lapsed: number; orphansRemoved: number }> {
    const now = isoSeconds(this.clock());
    // The index reads eventually consistently: what it lists is read again before it is ended.
    const due = await this.current(await this.store.byStatus('active', now), 'active', now);
    for (const record of due) await this.end(record, 'expired', 'the reconcile');
    const lapsedRecords = await this.current(await this.store.byStatus('pending', now), 'pending', now);
    for (const record of lapsedRecords)
      await this.finish(record, 'lapsed', 'the reconcile', 'nobody approved it in time');

    const activeSets = new Set((await this.store.byStatus('active')).map((r) => r.policySetId));
    let orphansRemoved = 0;
    const { guardPolicyArns, guardPolicyDigest } = this.deps.config;
    for (const policyArn of await this.approvalPolicies()) {
      const setId = parseApprovalPolicyArn(policyArn)!.setId;
      const stale = staleApprovalSets([policyArn], guardPolicyDigest).length > 0;
      if (activeSets.has(setId) && !stale) continue;
      for (const roleName of await this.rolesAttachedTo(policyArn)) {
        await this.underLease(roleName, async () => {
          const read = await this.roles.read(roleName);
          if (!read) return;
          const role = await this.dropStaleSets(read);
          const inForce = tagValue(role, APPROVAL_TAG);
          const required = requiredGuardPolicyArns(
            role.attachedPolicyArns,
            inForce,
            guardPolicyArns,
            guardPolicyDigest,
          );
          const holdsActiveSet =
            inForce !== undefined &&
            activeSets.has(inForce) &&
            required !== guardPolicyArns &&
            required.every((arn) => role.attachedPolicyArns.includes(arn));
          if (holdsActiveSet) {
            await this.roles.detach(role.name, policyArn);
          } else {
            await this.roles.swap(role, { kind: 'standard' });
          }
        });
      }
      await this.roles.deletePolicies([policyArn]);
      orphansRemoved++;
    }
    return { expired: due.length, lapsed: lapsedRecords.length, orphansRemoved };
  }

  /** The records of `listed` that a consistent read still shows in `status` and due by `until`. */
  private async current(listed: ApprovalRecord[], status: ApprovalStatus, until: string): Promise<ApprovalRecord[]> {
    const records = await Promise.all(listed.map((r) => this.store.get(r.approvalId)));
    return records.filter((r): r is ApprovalRecord => r?.status === status && r.sortAt <= until);
  }

  private async request(request: ScopeRequest, caller: Caller) {
    if (caller.isAgent && caller.principalArn !== request.roleArn) {
      throw new Refusal('An agent role may request approvals for itself only; give --role its own ARN.');
    }
    const scope = await this.checkScope(request, false);
    const record = this.newRecord('request', request, scope.actions, scope.resources, caller, []);
    await this.store.create(record);
    await this.notify(`agent-guard: approval requested for ${roleNameOf(record.roleArn)}`, [
      `${caller.sessionArn} asks for an approval.`,
      ...this.describe(record),
      '',
      `Approve it with: agent-guard approve --id ${record.approvalId}`,
      `It lapses unapproved at ${record.requestExpiresAt}.`,
    ]);
    return {
      message: `Request ${record.approvalId} is waiting for on-call (lapses at ${record.requestExpiresAt}).`,
      approvals: [record],
    };
  }

  private async approve(request: Extract<ApiRequest, { op: 'approve' }>, caller: Caller) {
    this.mustApprove(caller, request.roleArn);
    const breakGlass = request.breakGlass ?? false;
    const scope = await this.checkScope(request, breakGlass);
    const record = this.newRecord(
      breakGlass ? 'break-glass' : 'approval',
      request,
      scope.actions,
      scope.resources,
      caller,
      [caller.sessionArn],
    );
    if (record.approvers.length >= record.requiredApprovals) {
      const active = await this.activate(record, caller, undefined);
      return { message: `Approval ${active.approvalId} is in force until ${active.expiresAt}.`, approvals: [active] };
    }
    await this.store.create(record);
    await this.notify(`agent-guard: second approver needed for ${roleNameOf(record.roleArn)}`, [
      `${caller.sessionArn} approved; ${record.requiredApprovals - 1} more approver(s) needed.`,
      ...this.describe(record),
      '',
      `A second approver runs: agent-guard approve --id ${record.approvalId}`,
    ]);
    return {
      message: `Approval ${record.approvalId} needs ${record.requiredApprovals - 1} more approver(s): agent-guard approve --id ${record.approvalId}`,
      approvals: [record],
    };
  }

  private async approvePending(approvalId: string, caller: Caller) {
    const record = await this.store.get(approvalId);
    if (!record) throw new Refusal(`There is no approval or request ${approvalId}; run agent-guard list.`);
    if (record.status !== 'pending') throw new Refusal(`Approval ${approvalId} is ${record.status}, not pending.`);
    this.mustApprove(caller, record.roleArn);
    if (record.requestExpiresAt && record.requestExpiresAt <= isoSeconds(this.clock())) {
      await this.finish(record, 'lapsed', caller.sessionArn, 'nobody approved it in time');
      throw new Refusal(`Request ${approvalId} lapsed at ${record.requestExpiresAt}; ask for a new one.`);
    }
    if (record.requestedBy === caller.sessionArn || record.approvers.includes(caller.sessionArn)) {
      throw new Refusal(
        `${caller.sessionArn} already ${record.requestedBy === caller.sessionArn ? 'asked for' : 'approved'} ${approvalId}; ` +
          'another approver must approve it.',
      );
    }
    for (const signer of [record.requestedBy, ...record.approvers]) {
      if ((await this.personOf(signer)) === caller.person) {
        throw new Refusal(
          `${caller.sessionArn} is the same approver as ${signer} (sessions of one role count once); ` +
            'another approver must approve it.',
        );
      }
    }
    // A request stored before approvals had to be concrete is checked again, as a new one would be.
    try {
      const allResources = record.resources.includes('*');
      validateApprovalResources(
        { ...record, resources: allResources ? undefined : record.resources, allResources },
        this.where,
      );
    } catch (error) {
      throw new Refusal(`${approvalId} cannot be approved as it is: ${(error as Error).message}`);
    }
    const signed: ApprovalRecord = {
      ...record,
      approvers: [...record.approvers, caller.sessionArn],
      history: [...record.history, { at: isoSeconds(this.clock()), by: caller.sessionArn, what: 'approved' }],
    };
    if (signed.approvers.length < signed.requiredApprovals) {
      await this.store.update(signed, 'pending');
      return {
        message: `Approval ${approvalId} needs ${signed.requiredApprovals - signed.approvers.length} more approver(s).`,
        approvals: [signed],
      };
    }
    const active = await this.activate(signed, caller, 'pending');
    return { message: `Approval ${approvalId} is in force until ${active.expiresAt}.`, approvals: [active] };
  }

  private async revoke(approvalId: string, caller: Caller, reason: string | undefined) {
    if (caller.isAgent) throw new Refusal('An agent role may not revoke approvals; ask on-call.');
    if (!this.isApprover(caller)) throw new Refusal(`${caller.principalArn} is not an approver, so it may not revoke.`);
    const record = await this.store.get(approvalId);
    if (!record) throw new Refusal(`There is no approval ${approvalId}; run agent-guard list.`);
    if (record.status !== 'active' && record.status !== 'pending') {
      throw new Refusal(`Approval ${approvalId} is already ${record.status}.`);
    }
    let ended: ApprovalRecord;
    try {
      ended = await this.end(record, 'revoked', caller.sessionArn, reason);
    } catch (error) {
      // Its expiry or another revoke got there first.
      if (errorName(error) === 'ConditionalCheckFailedException') {
        throw new Refusal(`Approval ${approvalId} ended meanwhile; run agent-guard list --all.`, { cause: error });
      }
      throw error;
    }
    return { message: `Approval ${approvalId} is revoked.`, approvals: [ended] };
  }

  private async list(roleArn: string | undefined, includeEnded: boolean) {
    const statuses: ApprovalStatus[] = includeEnded ? ['active', 'pending', ...ENDED] : ['active', 'pending'];
    const records = (await Promise.all(statuses.map((s) => this.store.byStatus(s)))).flat();
    const approvals = records
      .filter((r) => !roleArn || r.roleArn === roleArn)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    return { message: `${approvals.length} approval(s).`, approvals };
  }

  private async identify(callerArn: string): Promise<Caller> {
    const assumed = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/[\w+=,.@-]{2,64}$/.exec(callerArn);
    if (assumed) {
      if (assumed[1] !== this.deps.config.accountId) {
        throw new Refusal(`Sign the request with a role of account ${this.deps.config.accountId}.`);
      }
      const role = await this.roles.read(assumed[2]);
      if (!role) throw new Refusal(`The role behind ${callerArn} does not exist.`);
      // A role with the guard boundary but not yet the tag can do nothing until the guard tags it.
      const agent = hasAgentTag(role);
      return {
        sessionArn: callerArn,
        principalArn: role.arn,
        person: identityKey(callerArn, role.arn),
        isAgent: agent,
      };
    }
    if (new RegExp(`^arn:aws[a-z-]*:iam::${this.deps.config.accountId}:user/`).test(callerArn)) {
      return { sessionArn: callerArn, principalArn: callerArn, person: callerArn, isAgent: false };
    }
    throw new Refusal(
      `Sign the request as an IAM role or user of account ${this.deps.config.accountId}, not ${callerArn}.`,
    );
  }

  /** The person (see `identityKey`) behind a session ARN kept in a record. */
  private async personOf(signedArn: string): Promise<string> {
    const assumed = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/([\w+=,.@-]{1,64})\//.exec(signedArn);
    if (!assumed) return signedArn;
    const role = await this.roles.read(assumed[1]);
    // A role deleted since cannot be the caller's: the caller's role exists.
    return role ? identityKey(signedArn, role.arn) : signedArn;
  }

  private isApprover(caller: Caller): boolean {
    return this.deps.config.approvers.some((pattern) => arnMatches(pattern, caller.principalArn));
  }

  private mustApprove(caller: Caller, targetRoleArn: string): void {
    if (caller.isAgent) throw new Refusal('An agent role may not approve; an on-call engineer must.');
    if (!this.isApprover(caller)) {
      throw new Refusal(`${caller.principalArn} is not one of the approvers this guard was deployed with.`);
    }
    if (caller.principalArn === targetRoleArn)
      throw new Refusal('No self-approval: the approver cannot be the role approved.');
  }

  private async checkScope(
    request: ScopeRequest,
    breakGlass: boolean,
  ): Promise<{ actions: string[]; resources: string[] }> {
    const { config } = this.deps;
    const max = breakGlass ? config.breakGlassMaxSeconds : config.maxDurationSeconds;
    if (request.durationSeconds < 60) throw new Refusal('The duration must be at least 1m.');
    if (request.durationSeconds > max) {
      throw new Refusal(
        `The duration ${formatDuration(request.durationSeconds)} is over the ${breakGlass ? 'break-glass ' : ''}maximum of ${formatDuration(max)}; ask for less.`,
      );
    }
    if (config.ticketPattern) {
      if (!request.ticket) throw new Refusal(`A ticket id is required (--ticket), matching ${config.ticketPattern}.`);
      if (!new RegExp(`^(?:${config.ticketPattern})$`).test(request.ticket)) {
        throw new Refusal(`Ticket '${request.ticket}' does not match ${config.ticketPattern}.`);
      }
    }
    let actions: string[];
    let resources: string[];
    try {
      ({ actions, resources } = validateApprovalResources(
        { ...request, requested: request.actions, actions: resolveApprovalActions(request.actions, this.deps.catalog) },
        this.where,
      ));
    } catch (error) {
      throw new Refusal(error instanceof Error ? error.message : String(error));
    }
    const role = await this.roles.read(roleNameOf(request.roleArn));
    if (!role || role.arn !== request.roleArn)
      throw new Refusal(`There is no role ${request.roleArn} in this account.`);
    if (!hasAgentTag(role)) {
      throw new Refusal(
        `${request.roleArn} is not an agent role (tag ${AGENT_TAG}=${AGENT_TAG_VALUE}); it needs no approval.`,
      );
    }
    return { actions, resources };
  }

  private newRecord(
    kind: ApprovalKind,
    request: ScopeRequest,
    actions: string[],
    resources: string[],
    caller: Caller,
    approvers: string[],
  ): ApprovalRecord {
    const now = this.clock();
    const requestExpiresAt = isoSeconds(new Date(now.getTime() + this.deps.config.requestTtlSeconds * 1000));
    return {
      approvalId: this.newId(),
      kind,
      status: 'pending',
      roleArn: request.roleArn,
      requestedActions: [...request.actions],
      actions,
      resources,
      durationSeconds: request.durationSeconds,
      reason: request.reason,
      ticket: request.ticket,
      uses: request.uses,
      requestedBy: caller.sessionArn,
      approvers,
      requiredApprovals: kind === 'break-glass' ? 1 : this.deps.config.requiredApprovals,
      createdAt: isoSeconds(now),
      requestExpiresAt,
      reviewRequired: kind === 'break-glass' ? true : undefined,
      sortAt: requestExpiresAt,
      ttl: this.ttl(now),
      history: [{ at: isoSeconds(now), by: caller.sessionArn, what: kind === 'request' ? 'requested' : 'approved' }],
    };
  }

  private ttl(from: Date): number {
    return Math.floor(from.getTime() / 1000) + this.deps.config.retentionDays * 86400 + 31 * 86400;
  }

  /** Swaps the role's policy set and records the approval in force; runs under the role's lease. */
  private async putInForce(
    record: ApprovalRecord,
    caller: Caller,
    storedStatus: ApprovalStatus | undefined,
  ): Promise<ApprovalRecord> {
    const now = this.clock();
    const expiresAt = isoSeconds(expiryFrom(now, record.durationSeconds));
    const read = await this.roles.read(roleNameOf(record.roleArn));
    if (!read) throw new Refusal(`There is no role ${record.roleArn} in this account.`);
    const role = await this.dropStaleSets(read);
    const others = await this.activeOn(role.arn, now);
    const setId = this.newId();
    let target: PolicySetTarget;
    try {
      target = {
        kind: 'approval',
        setId,
        policies: approvalPolicySet(
          this.deps.catalog,
          setId,
          [...others.map(carveOutOf), carveOutOf({ ...record, expiresAt })],
          this.deps.config.guardPolicyDigest,
        ),
      };
    } catch (error) {
      throw new Refusal(error instanceof Error ? error.message : String(error));
    }
    try {
      await this.roles.swap(role, target);
    } catch (error) {
      await this.recordFailure(record, storedStatus, caller, `IAM refused the policy swap (${errorName(error)})`);
      const why =
        error instanceof NotVisibleError
          ? `IAM did not show the new guard policies on ${role.name} in time (IAM is eventually consistent), so ` +
            'nothing was detached: the role holds both sets, and the reconcile removes the extra one. Try again.'
          : `IAM refused the policy swap on ${role.name} (${errorName(error)}); the role keeps a complete set of ` +
            `guard policies, and the reconcile removes any extra one. A swap needs ${MAX_APPROVAL_POLICIES} free ` +
            'managed-policy places on the role besides the standard guard policies (IAM allows 10 by default).';
      throw new Refusal(why, { cause: error });
    }
    const active: ApprovalRecord = {
      ...record,
      status: 'active',
      activatedAt: isoSeconds(now),
      expiresAt,
      sortAt: expiresAt,
      policySetId: setId,
      ttl: this.ttl(new Date(expiresAt)),
      history: [...record.history, { at: isoSeconds(now), by: caller.sessionArn, what: 'in force' }],
    };
    if (storedStatus) await this.store.update(active, storedStatus);
    else await this.store.create(active);
    for (const other of others) await this.store.update({ ...other, policySetId: setId }, 'active');
    return active;
  }

  /** Puts an approval in force: the role's new policy set holds it and every other active one. */
  private async activate(
    record: ApprovalRecord,
    caller: Caller,
    storedStatus: ApprovalStatus | undefined,
  ): Promise<ApprovalRecord> {
    const active = await this.underLease(roleNameOf(record.roleArn), () =>
      this.putInForce(record, caller, storedStatus),
    );
    await this.scheduleExpiry(active);
    if (active.uses === 1) {
      await this.watchFirstUse(active).catch((error: unknown) =>
        // Single use is best effort; the expiry stays the hard stop.
        this.notify(`agent-guard: single use of ${active.approvalId} is not watched`, [
          `Creating the first-use rule failed (${errorName(error)}). The approval lasts until ${active.expiresAt};`,
          `revoke it by hand after use: agent-guard revoke --id ${active.approvalId}`,
        ]),
      );
    }
    const loud = active.kind === 'break-glass';
    await this.notify(`agent-guard: ${loud ? 'BREAK-GLASS ' : ''}approval in force for ${roleNameOf(active.roleArn)}`, [
      ...(loud ? ['BREAK-GLASS: one approver, short limit. This approval is marked for review.', ''] : []),
      ...this.describe(active),
      `Approved by: ${active.approvers.join(', ')}`,
      `Expires:  ${active.expiresAt} (IAM denies again after it, whatever happens)`,
      '',
      `Revoke it with: agent-guard revoke --id ${active.approvalId}`,
    ]);
    return active;
  }

  /** Keeps an approval IAM would not put in force in the audit trail, as failed. */
  private async recordFailure(
    record: ApprovalRecord,
    storedStatus: ApprovalStatus | undefined,
    caller: Caller,
    reason: string,
  ): Promise<void> {
    const now = isoSeconds(this.clock());
    const failed: ApprovalRecord = {
      ...record,
      status: 'failed',
      endedAt: now,
      endReason: reason,
      sortAt: now,
      ttl: this.ttl(new Date(now)),
      history: [...record.history, { at: now, by: caller.sessionArn, what: `failed: ${reason}` }],
    };
    try {
      if (storedStatus) await this.store.update(failed, storedStatus);
      else await this.store.create(failed);
    } catch {
      // The refusal still reaches the approver; the notice below still reaches on-call.
    }
    await this.notify(`agent-guard: approval ${record.approvalId} failed`, [
      ...this.describe(failed),
      `Why: ${reason}`,
    ]);
  }

  /** Puts the role's remaining approvals, or the standard policies, back and records the end; under the lease. */
  private async putBack(
    record: ApprovalRecord,
    status: 'revoked' | 'expired' | 'used',
    by: string,
    reason?: string,
  ): Promise<ApprovalRecord> {
    const now = this.clock();
    const read = await this.roles.read(roleNameOf(record.roleArn));
    const role = read && (await this.dropStaleSets(read, record.approvalId));
    const remaining = role
      ? (await this.activeOn(role.arn, now)).filter((r) => r.approvalId !== record.approvalId)
      : [];
    let setId: string | undefined;
    if (role) {
      let target: PolicySetTarget = { kind: 'standard' };
      if (remaining.length > 0) {
        setId = this.newId();
        target = {
          kind: 'approval',
          setId,
          policies: approvalPolicySet(
            this.deps.catalog,
            setId,
            remaining.map(carveOutOf),
            this.deps.config.guardPolicyDigest,
          ),
        };
      }
      await this.roles.swap(role, target);
    }
    const ended = await this.finish(record, status, by, reason);
    for (const other of remaining) await this.store.update({ ...other, policySetId: setId }, 'active');
    return ended;
  }

  /** Ends an approval and puts the role's remaining approvals, or the standard policies, back. */
  private async end(
    record: ApprovalRecord,
    status: 'revoked' | 'expired' | 'used',
    by: string,
    reason?: string,
  ): Promise<ApprovalRecord> {
    if (record.status === 'pending')
      return this.finish(record, status === 'revoked' ? 'revoked' : 'lapsed', by, reason);
    const ended = await this.underLease(roleNameOf(record.roleArn), () => this.putBack(record, status, by, reason));
    await this.unschedule(record);
    return ended;
  }

  /** Removes an ended approval's expiry schedule and first-use rule. */
  private async unschedule(record: ApprovalRecord): Promise<void> {
    await this.deps.caller
      .call('scheduler:DeleteSchedule', () =>
        this.deps.scheduler.send(
          new DeleteScheduleCommand({
            Name: scheduleName(record.approvalId),
            GroupName: this.deps.config.scheduleGroup,
          }),
        ),
      )
      .catch(() => undefined);
    if (record.uses === 1) await this.unwatchFirstUse(record.approvalId);
  }

  /**
   * Under the role's lease. A role that holds approval versions compiled against the guard policies of
   * an earlier deploy (another digest: a redeploy changed them) gets the standard set back, and the
   * approvals of those sets end, revoked: their versions may deny less than the guard policies now
   * deployed, so the guard counts them as standing in for nothing, and compiling them into a new set
   * would carry approvals made against other policies into this deploy. On-call approves again; the
   * notice says so. `except` is the approval the caller is ending itself. Returns the role as it then is.
   */
  private async dropStaleSets(role: RoleState, except?: string): Promise<RoleState> {
    const stale = staleApprovalSets(role.attachedPolicyArns, this.deps.config.guardPolicyDigest);
    if (stale.length === 0) return role;
    const standard = await this.roles.swap(role, { kind: 'standard' });
    const ended = (await this.activeOn(role.arn, this.clock())).filter(
      (r) => r.approvalId !== except && r.policySetId !== undefined && stale.includes(r.policySetId),
    );
    for (const record of ended) {
      await this.finish(record, 'revoked', STALE_SET_ENDED_BY, STALE_SET_REASON);
      await this.unschedule(record);
    }
    return standard;
  }

  /** Records the end of an approval and tells on-call. */
  private async finish(
    record: ApprovalRecord,
    status: ApprovalStatus,
    by: string,
    reason?: string,
  ): Promise<ApprovalRecord> {
    const now = isoSeconds(this.clock());
    const ended: ApprovalRecord = {
      ...record,
      status,
      endedAt: now,
      endReason: reason,
      revokedBy: status === 'revoked' ? by : undefined,
      revokedAt: status === 'revoked' ? now : undefined,
      sortAt: now,
      ttl: this.ttl(new Date(now)),
      history: [...record.history, { at: now, by, what: reason ? `${status}: ${reason}` : status }],
    };
    await this.store.update(ended, record.status);
    await this.notify(`agent-guard: approval ${record.approvalId} ${status}`, [
      ...this.describe(ended),
      `Ended by: ${by}${reason ? ` (${reason})` : ''}`,
    ]);
    return ended;
  }

  /**
   * The approvals in force on a role. The status index reads eventually consistently only, so it may
   * still list an approval that has just been revoked; each candidate is read again, consistently,
   * and only what is still active counts.
   */
  private async activeOn(roleArn: string, now: Date): Promise<ApprovalRecord[]> {
    const nowIso = isoSeconds(now);
    const inForce = (r: ApprovalRecord | undefined): r is ApprovalRecord =>
      r?.status === 'active' && r.roleArn === roleArn && (r.expiresAt ?? '') > nowIso;
    const candidates = (await this.store.byStatus('active')).filter(inForce);
    const current = await Promise.all(candidates.map((r) => this.store.get(r.approvalId)));
    return current.filter(inForce);
  }

  /**
   * Runs `work` while holding the role's lease, so the guard never writes the role meanwhile. A lease
   * that stays held is a refusal, with nothing written.
   */
  private async underLease<T>(roleName: string, work: () => Promise<T>): Promise<T> {
    try {
      return await this.deps.leases.withRoleLease(roleName, work);
    } catch (error) {
      if (!(error instanceof LeaseUnavailable)) throw error;
      throw new Refusal(`Role ${roleName} is being changed by the guard or another approval; try again in a minute.`, {
        cause: error,
      });
    }
  }

  private async scheduleExpiry(record: ApprovalRecord): Promise<void> {
    const at = record.expiresAt!.replace(/Z$/, '');
    try {
      await this.deps.caller.call('scheduler:CreateSchedule', () =>
        this.deps.scheduler.send(
          new CreateScheduleCommand({
            Name: scheduleName(record.approvalId),
            GroupName: this.deps.config.scheduleGroup,
            ScheduleExpression: `at(${at})`,
            ScheduleExpressionTimezone: 'UTC',
            FlexibleTimeWindow: { Mode: 'OFF' },
            ActionAfterCompletion: 'DELETE',
            Target: {
              Arn: this.deps.functionArn,
              RoleArn: this.deps.config.schedulerRoleArn,
              Input: JSON.stringify({ op: 'expire', approvalId: record.approvalId }),
            },
          }),
        ),
      );
    } catch (error) {
      // IAM still ends the approval at its expiry; the reconcile tidies up within minutes.
      await this.notify(`agent-guard: no expiry schedule for ${record.approvalId}`, [
        `Creating the expiry schedule failed (${errorName(error)}). IAM still denies after ${record.expiresAt};`,
        'the periodic reconcile will swap the policies back.',
      ]);
    }
  }

  /**
   * A rule that calls the function back at the approval's first use. It matches only `aws.` sources,
   * which `PutEvents` cannot write (EB-2), so a forged event cannot use an approval up. It receives
   * read-only management events too (EB-9): an approved action may be a read, such as a custom group's.
   */
  private async watchFirstUse(record: ApprovalRecord): Promise<void> {
    const name = useRuleName(record.approvalId);
    await this.deps.caller.call('events:PutRule', () =>
      this.deps.events.send(
        new PutRuleCommand({
          Name: name,
          Description: `agent-guard: ends single-use approval ${record.approvalId} at its first use`,
          State: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
          EventPattern: JSON.stringify({
            source: [{ prefix: 'aws.' }],
            'detail-type': ['AWS API Call via CloudTrail'],
            detail: {
              eventName: cloudTrailEventNameMatchers(record.actions),
              userIdentity: { sessionContext: { sessionIssuer: { arn: [record.roleArn] } } },
              errorCode: [{ exists: false }],
            },
          }),
        }),
      ),
    );
    const added = await this.deps.caller.call('events:PutTargets', () =>
      this.deps.events.send(
        new PutTargetsCommand({
          Rule: name,
          Targets: [
            {
              Id: USE_TARGET_ID,
              Arn: this.deps.functionArn,
              Input: JSON.stringify({ op: 'used', approvalId: record.approvalId }),
            },
          ],
        }),
      ),
    );
    // PutTargets succeeds even when the entry failed (EB-5): a rule without its target watches nothing.
    if ((added.FailedEntryCount ?? 0) > 0) {
      await this.deps.caller
        .call('events:DeleteRule', () => this.deps.events.send(new DeleteRuleCommand({ Name: name })))
        .catch(() => undefined);
      throw new Error(`PutTargets failed: ${added.FailedEntries?.map((e) => e.ErrorCode).join(', ')}`);
    }
  }

  /** Removes the first-use rule; one that stays is harmless, but on-call is told to delete it. */
  private async unwatchFirstUse(approvalId: string): Promise<void> {
    const name = useRuleName(approvalId);
    try {
      const removed = await this.deps.caller.call('events:RemoveTargets', () =>
        this.deps.events.send(new RemoveTargetsCommand({ Rule: name, Ids: [USE_TARGET_ID] })),
      );
      // RemoveTargets succeeds even when the entry failed (EB-6); DeleteRule would then be refused.
      if ((removed.FailedEntryCount ?? 0) > 0) throw new Error('RemoveTargets failed for the target');
      await this.deps.caller.call('events:DeleteRule', () =>
        this.deps.events.send(new DeleteRuleCommand({ Name: name })),
      );
    } catch (error) {
      if (error instanceof EventsResourceNotFound) return;
      await this.notify(`agent-guard: first-use rule of ${approvalId} is left`, [
        `Removing the EventBridge rule ${name} failed (${errorName(error)}). It only calls the approval`,
        `function for an approval that has ended; delete it by hand (targets first, then the rule).`,
      ]);
    }
  }

  private async approvalPolicies(): Promise<string[]> {
    const arns: string[] = [];
    let marker: string | undefined;
    do {
      const page = await this.deps.caller.call('iam:ListPolicies', () =>
        this.deps.iam.send(new ListPoliciesCommand({ Scope: 'Local', PathPrefix: GUARD_PATH, Marker: marker })),
      );
      arns.push(...(page.Policies ?? []).flatMap((p) => (p.Arn && parseApprovalPolicyArn(p.Arn) ? [p.Arn] : [])));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return arns;
  }

  private async rolesAttachedTo(policyArn: string): Promise<string[]> {
    const names: string[] = [];
    let marker: string | undefined;
    try {
      do {
        const page = await this.deps.caller.call('iam:ListEntitiesForPolicy', () =>
          this.deps.iam.send(
            new ListEntitiesForPolicyCommand({ PolicyArn: policyArn, EntityFilter: 'Role', Marker: marker }),
          ),
        );
        names.push(...(page.PolicyRoles ?? []).flatMap((r) => (r.RoleName ? [r.RoleName] : [])));
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
    } catch (error) {
      // Gone since it was listed: swapping a role back deletes every policy of the set, not just this one.
      if (error instanceof NoSuchEntityException) return [];
      throw error;
    }
    return names;
  }

  private describe(record: ApprovalRecord): string[] {
    return [
      `Approval: ${record.approvalId} (${record.kind})`,
      `Role:     ${record.roleArn}`,
      `Actions:  ${record.actions.join(', ')}`,
      `On:       ${resourcesLine(record.resources)}`,
      `For:      ${formatDuration(record.durationSeconds)}${record.uses ? `, ${record.uses} use` : ''}`,
      `Reason:   ${record.reason}${record.ticket ? ` (ticket ${record.ticket})` : ''}`,
    ];
  }

  /** Publishes a notice; each line stays one line, whatever the request put in it (C2, SNS-1). */
  private async notify(title: string, lines: string[]): Promise<void> {
    const { config } = this.deps;
    await publish(
      {
        ...this.deps,
        accountId: config.accountId,
        topicArn: config.topicArn,
        central: config.centralNotices,
        centralFailed: this.deps.centralNoticeFailed ?? (() => undefined),
      },
      { kind: 'approval', subject: subject(title), message: lines.map(oneLine).join('\n') },
    ).catch(() => undefined);
  }
}

function carveOutOf(record: ApprovalRecord): CarveOut {
  return {
    id: record.approvalId,
    actions: record.actions,
    resources: record.resources,
    expiresAt: new Date(record.expiresAt!),
  };
}

export function scheduleName(approvalId: string): string {
  return `${EXPIRY_SCHEDULE_PREFIX}${approvalId}`;
}

/** The first-use rule's one target: the approval function. */
const USE_TARGET_ID = 'approvals';

export function useRuleName(approvalId: string): string {
  return `AgentGuardUse-${approvalId}`;
}
