import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AwsCaller, CallCounts, errorName, settleWithLimit } from '../shared/aws-caller';
import { isAgentRole, listAgentRoles, readRole, RoleSnapshot } from '../shared/agent-roles';
import { GuardConfig } from '../../lib/core/config';
import { decide, Decision, ProductionSignal, TrafficSignal } from './decide';
import { classify, GuardEvent, QueuedEvent } from './events';
import {
  CentralClients,
  denialNotice,
  failureNotice,
  Notice,
  publish,
  RoleFailure,
  repairNotice,
  statusNotice,
  trafficDropNotice,
} from '../shared/notices';
import { ReadBackOptions } from '../shared/read-back';
import { ProductionReader } from './production-signal';
import { ProtectedActions } from './protected-actions';
import { applyPlan, approvalsInForce, DesiredRole, lockRole, planRole, RolePlan, unconstrainRole } from './reconcile';
import { GuardStatus } from '../../lib/core/status';
import { StatusPublisher } from './status';
import { readTraffic } from './traffic-signal';
import { holdTraffic, TrafficMemory } from './traffic-hold';
import { LeaseUnavailable, RoleLeases } from '../shared/role-lease';

/** Structured logging, as Powertools Logger offers it. */
export interface GuardLogger {
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

/** Counters, published as CloudWatch metrics (EMF) by the entrypoint. */
export interface GuardMetrics {
  count(name: string, value: number): void;
}

export interface GuardDependencies {
  readonly config: GuardConfig;
  readonly iam: IAMClient;
  readonly organizations: OrganizationsClient;
  /** A CloudWatch client for a region; the entrypoint creates each once. */
  readonly cloudwatch: (region: string) => CloudWatchClient;
  readonly ssm: SSMClient;
  readonly sns: SNSClient;
  /** Clients in the central notices target's region. @default none: central copies fail and are reported */
  readonly centralClients?: CentralClients;
  readonly caller: AwsCaller;
  /** Per-role leases: the guard writes a role only while it holds the role's lease. */
  readonly leases: RoleLeases;
  readonly logger: GuardLogger;
  readonly metrics: GuardMetrics;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** How long to wait for the guard's repairs to read back before the role is tagged constrained. */
  readonly readBack?: ReadBackOptions;
}

/** What one invocation did; also logged. */
export interface InvocationSummary {
  readonly event: GuardEvent['kind'];
  readonly trigger?: string;
  readonly locked?: boolean;
  readonly protected?: boolean;
  readonly agentRoles: number;
  /** Roles that needed at least one write. */
  readonly rolesChanged: number;
  readonly rolesRepaired: number;
  readonly rolesFailed: number;
  readonly calls: CallCounts;
}

/** What Lambda reads back from an SQS batch: the records to deliver again (partial batch response). */
export interface BatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

/**
 * A denial older than this gets no notice: the agent has moved on, and under a flood the stale
 * backlog is shed at the cost of a clock read, not worked through (the queue's retention bounds it).
 */
export const DENIAL_MAX_AGE_MS = 15 * 60 * 1000;

type AccessDenied = Extract<GuardEvent, { kind: 'access-denied' }>;

interface Evaluation {
  readonly decision: Decision;
  /** When the signals were read: a later lock decision of another evaluation outranks this one. */
  readonly decidedAt: Date;
  readonly production: ProductionSignal;
  readonly traffic: TrafficSignal;
  readonly trafficMemory: TrafficMemory;
  /** The status in force before this evaluation, if it could be read. */
  readonly previous: GuardStatus | undefined;
}

interface RoleOutcome {
  readonly changed: boolean;
  readonly repaired: boolean;
  readonly failure?: RoleFailure;
}

/**
 * The guard's core: turns one EventBridge event into reads, a decision and the fewest writes that
 * bring agent roles to it. Never opens a role it could not fully constrain.
 */
export class Guard {
  private readonly production: ProductionReader;
  private readonly status: StatusPublisher;
  private readonly protectedActions: ProtectedActions;
  private readonly clock: () => Date;

  constructor(private readonly deps: GuardDependencies) {
    const { config } = deps;
    this.production = new ProductionReader(
      config.production,
      config.accountId,
      deps.organizations,
      deps.caller,
      config.productionCacheSeconds,
    );
    this.status = new StatusPublisher(deps.ssm, deps.caller, config.statusParameterName);
    this.protectedActions = new ProtectedActions(
      config.extraProtectedActions,
      config.exemptActions,
      config.exemptGroups,
    );
    this.clock = deps.clock ?? (() => new Date());
  }

  public async handle(event: unknown): Promise<InvocationSummary> {
    const classified = classify(event);
    if (classified.kind === 'sweep' && classified.trigger === 'unrecognised') {
      this.deps.logger.warn('Unrecognised event; running a full sweep instead', { event: preview(event) });
      this.deps.metrics.count('UnrecognisedEvents', 1);
    }
    this.deps.caller.takeCounts();
    let summary: InvocationSummary;
    try {
      summary = await this.dispatch(classified);
    } catch (error) {
      this.deps.metrics.count('Errors', 1);
      this.recordCalls(this.deps.caller.takeCounts());
      throw error;
    }
    this.recordCalls(summary.calls);
    this.deps.logger.info('Invocation done', { ...summary });
    return summary;
  }

  private async dispatch(event: GuardEvent): Promise<InvocationSummary> {
    switch (event.kind) {
      case 'sweep':
        return this.sweep(event.trigger);
      case 'role-changed':
        return this.reconcileOne(event.roleName, event.actor);
      case 'access-denied':
        await this.noticeDenial(event);
        return this.summarise('access-denied', event.action, undefined, 0, []);
    }
  }

  /**
   * Reads both signals and the last status (for the traffic drop hold); no read throws, errors count
   * as production, traffic and a hold. Counts `Evaluations`, which the liveness alarm watches.
   */
  private async evaluate(): Promise<Evaluation> {
    const now = this.clock();
    const { config } = this.deps;
    const [production, measured, previous] = await Promise.all([
      this.production.read(now),
      readTraffic(config.traffic, this.deps.cloudwatch, this.deps.caller, now),
      this.status.read(),
    ]);
    const { signal: traffic, memory, started } = holdTraffic(measured, previous, now, config.traffic.dropHoldMinutes);
    const decision = decide(production, traffic, config.mode);
    this.deps.metrics.count('Evaluations', 1);
    this.deps.metrics.count('Locked', decision.locked ? 1 : 0);
    this.deps.metrics.count('Protected', decision.protected ? 1 : 0);
    if (started && decision.protected) {
      this.deps.metrics.count('TrafficDropHolds', 1);
      this.deps.logger.warn('Live traffic dropped to none at once; holding the lock', { traffic: { ...traffic } });
      await this.notify(
        trafficDropNotice({
          account: config.accountId,
          mode: config.mode,
          reason: traffic.reason,
          holdUntil: memory.holdUntil,
        }),
      );
    }
    const before = previous.readable ? previous.status : undefined;
    if (decision.locked) await this.recordLockDecision(now);
    return { decision, decidedAt: now, production, traffic, trafficMemory: memory, previous: before };
  }

  /**
   * Tells evaluations still under way that this one decided to lock, before it reads a role: one that
   * decided to open earlier then locks a role instead of opening it (see `reconcileLeased`). Not
   * fatal: this evaluation still locks every role it reads.
   */
  private async recordLockDecision(decidedAt: Date): Promise<void> {
    try {
      await this.deps.leases.recordLockDecision(decidedAt);
    } catch (error) {
      this.deps.metrics.count('Errors', 1);
      this.deps.logger.error('Could not record the lock decision', { error: errorName(error) });
    }
  }

  private desired(decision: Decision): DesiredRole {
    return {
      locked: decision.locked,
      boundaryArn: this.deps.config.boundaryArn,
      guardPolicyArns: this.deps.config.guardPolicyArns,
      guardPolicyDigest: this.deps.config.guardPolicyDigest,
      managedPoliciesPerRole: this.deps.config.managedPoliciesPerRole,
    };
  }

  private async sweep(trigger: string): Promise<InvocationSummary> {
    // The roles are read after the lock decision is recorded, so an opening writer it overtakes sees it.
    const evaluation = await this.evaluate();
    const roles = await listAgentRoles(this.deps.iam, this.deps.caller, this.deps.config.boundaryArn);
    // Counted before the reconcile: a half-done swap it repairs was not in force.
    this.deps.metrics.count(
      'ApprovalsInForce',
      approvalsInForce(roles, this.deps.config.guardPolicyArns, this.deps.config.guardPolicyDigest),
    );
    const outcomes = await this.reconcileRoles(roles, evaluation, undefined, false);
    await this.publishStatus(evaluation);
    return this.summarise('sweep', trigger, evaluation, roles.length, outcomes);
  }

  private async reconcileOne(roleName: string, actor: string | undefined): Promise<InvocationSummary> {
    const role = await readRole(this.deps.iam, this.deps.caller, roleName);
    if (!role || !isAgentRole(role, this.deps.config.boundaryArn)) {
      return this.summarise('role-changed', roleName, undefined, 0, []);
    }
    // Signals are read only for agent roles; most IAM events are about other roles.
    const evaluation = await this.evaluate();
    // The role was read before the decision was recorded: it is read again under its lease.
    const outcomes = await this.reconcileRoles([role], evaluation, actor, true);
    await this.publishStatus(evaluation);
    return this.summarise('role-changed', roleName, evaluation, 1, outcomes);
  }

  private async reconcileRoles(
    roles: readonly RoleSnapshot[],
    evaluation: Evaluation,
    actor: string | undefined,
    alwaysLease: boolean,
  ): Promise<RoleOutcome[]> {
    const desired = this.desired(evaluation.decision);
    const settled = await settleWithLimit(roles, this.deps.config.concurrency, (role) => {
      const plan = planRole(role, desired);
      return alwaysLease || plan.changes.length > 0
        ? this.reconcileLeased(role, plan, desired, evaluation.decidedAt, actor)
        : this.reconcileRole(role, plan, actor);
    });
    // reconcileRole catches its own errors; a rejection here would be a bug, and is still a failure.
    const outcomes = settled.map((result, i) =>
      result.status === 'fulfilled'
        ? result.value
        : {
            changed: false,
            repaired: false,
            failure: { roleName: roles[i].name, error: String(result.reason), locked: false, inert: false },
          },
    );
    const failures = outcomes.flatMap((o) => (o.failure ? [o.failure] : []));
    if (failures.length > 0) await this.notify(failureNotice(failures));
    return outcomes;
  }

  /**
   * Reconciles a role under its lease, so no other invocation writes it meanwhile (a role the lease-free
   * read shows in shape needs none). Under the lease the role is read again, since another writer may
   * have changed it. An evaluation that decided to open yields to any later one that decided to lock:
   * it checks before opening, and again after, since that one may have read the role just before.
   * A plan that only locks needs no second read: locking is right whatever else changed. A lease that
   * stays held fails the role for this run; the next evaluation tries again.
   */
  private async reconcileLeased(
    snapshot: RoleSnapshot,
    snapshotPlan: RolePlan,
    desired: DesiredRole,
    decidedAt: Date,
    actor: string | undefined,
  ): Promise<RoleOutcome> {
    const { leases } = this.deps;
    const roleName = snapshot.name;
    const lockOnly = snapshotPlan.changes.every((change) => change.kind === 'lock');
    try {
      return await leases.withRoleLease(roleName, async () => {
        const role = desired.locked && lockOnly ? snapshot : await readRole(this.deps.iam, this.deps.caller, roleName);
        if (!role || !isAgentRole(role, this.deps.config.boundaryArn)) return { changed: false, repaired: false };
        const overtaken = !desired.locked && (await leases.lockDecidedSince(decidedAt));
        const wanted = overtaken ? { ...desired, locked: true } : desired;
        // Planned again only when the role was read again or the decision changed.
        const plan = role === snapshot && wanted === desired ? snapshotPlan : planRole(role, wanted);
        const opens = plan.changes.some((change) => change.kind === 'open');
        const outcome = await this.reconcileRole(role, plan, actor);
        if (opens && !outcome.failure && (await leases.lockDecidedSince(decidedAt))) {
          await lockRole(this.deps.iam, this.deps.caller, roleName);
        }
        return outcome;
      });
    } catch (error) {
      this.deps.logger.error('Could not reconcile an agent role under its lease', {
        role: snapshot.arn,
        error: errorName(error),
      });
      const busy = error instanceof LeaseUnavailable;
      return {
        changed: false,
        repaired: false,
        failure: { roleName, error: errorName(error), locked: false, inert: false, busy },
      };
    }
  }

  /** Makes the writes of `plan`, made for `role`; on a failure, leaves the role locked and, if unverified, inert. */
  private async reconcileRole(role: RoleSnapshot, plan: RolePlan, actor: string | undefined): Promise<RoleOutcome> {
    for (const problem of plan.problems) {
      this.deps.logger.error('Agent role left unconstrained and locked', { role: role.arn, problem });
    }
    try {
      await applyPlan(this.deps.iam, this.deps.caller, role.name, plan.changes, this.deps.readBack);
    } catch (error) {
      this.deps.logger.error('Could not reconcile an agent role; locking it', {
        role: role.arn,
        error: errorName(error),
      });
      // Not verified: without the constrained tag the boundary allows the role nothing.
      const inert =
        !plan.verified && (await succeeds(() => unconstrainRole(this.deps.iam, this.deps.caller, role.name)));
      const locked = await succeeds(() => lockRole(this.deps.iam, this.deps.caller, role.name));
      return {
        changed: true,
        repaired: false,
        failure: { roleName: role.name, error: errorName(error), locked, inert },
      };
    }
    if (plan.problems.length > 0) {
      const failure = { roleName: role.name, error: plan.problems.join('; '), locked: true, inert: true };
      return { changed: plan.changes.length > 0, repaired: false, failure };
    }
    if (plan.repairs.length > 0) {
      this.deps.logger.warn('Restored guard parts on an agent role', { role: role.arn, repairs: plan.repairs, actor });
      await this.notify(repairNotice(role.arn, plan.repairs, actor));
    }
    return { changed: plan.changes.length > 0, repaired: plan.repairs.length > 0 };
  }

  /**
   * A batch from the denials queue: one notice per role and action, fresh denials only. Records whose
   * notice could not be decided (a failed IAM read) are returned for SQS to deliver again; the others
   * are done, including those skipped or shed.
   */
  public async handleDenials(records: readonly QueuedEvent[]): Promise<BatchResponse> {
    this.deps.caller.takeCounts();
    const now = this.clock().getTime();
    const groups = new Map<string, { denial: AccessDenied; messageIds: string[] }>();
    let skipped = 0;
    let shed = 0;
    for (const record of records) {
      if (record.event.kind !== 'access-denied') skipped++;
      else if (record.sentAt && now - record.sentAt.getTime() > DENIAL_MAX_AGE_MS) shed++;
      else {
        const key = `${record.event.roleArn} ${record.event.action}`;
        const group = groups.get(key) ?? { denial: record.event, messageIds: [] };
        group.messageIds.push(record.messageId);
        groups.set(key, group);
      }
    }
    if (skipped > 0) this.deps.logger.warn('Records in the denials queue that are not denials', { skipped });
    let status: Promise<GuardStatus | undefined> | undefined;
    const readStatus = () => (status ??= this.readStatusForNotice());
    const failed: string[] = [];
    for (const { denial, messageIds } of groups.values()) {
      try {
        await this.noticeDenial(denial, readStatus);
      } catch (error) {
        this.deps.logger.error('Could not handle a denial; SQS delivers it again', { error: errorName(error) });
        failed.push(...messageIds);
      }
    }
    this.deps.metrics.count('DenialsSkipped', skipped);
    this.deps.metrics.count('DenialsShed', shed);
    this.deps.metrics.count('DenialsDeduplicated', records.length - skipped - shed - groups.size);
    if (failed.length > 0) this.deps.metrics.count('Errors', 1);
    this.recordCalls(this.deps.caller.takeCounts());
    this.deps.logger.info('Denial batch done', { records: records.length, notices: groups.size, skipped, shed });
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  }

  /** Tells on-call of a denial that the guard caused to an agent role. */
  private async noticeDenial(
    event: AccessDenied,
    readStatus: () => Promise<GuardStatus | undefined> = () => this.readStatusForNotice(),
  ): Promise<void> {
    if (!this.protectedActions.deniedByGuard(event.action, event.errorMessage)) return;
    const role = await readRole(this.deps.iam, this.deps.caller, event.roleName);
    if (!role || !isAgentRole(role, this.deps.config.boundaryArn)) return;
    const status = await readStatus();
    await this.notify(denialNotice({ roleArn: event.roleArn, action: event.action, resource: event.resource, status }));
    this.deps.metrics.count('DenialNotices', 1);
  }

  /** The status a denial notice quotes; a notice without it still goes out. */
  private async readStatusForNotice(): Promise<GuardStatus | undefined> {
    try {
      return await this.status.current();
    } catch (error) {
      this.deps.logger.warn('Could not read the status for a denial notice', { error: errorName(error) });
      return undefined;
    }
  }

  private async publishStatus(evaluation: Evaluation): Promise<void> {
    const { config } = this.deps;
    try {
      const { status, changed } = await this.status.publish(
        {
          account: config.accountId,
          mode: config.mode,
          decision: evaluation.decision,
          production: evaluation.production,
          traffic: evaluation.traffic,
          trafficMemory: evaluation.trafficMemory,
          lookbackMinutes: config.traffic.lookbackMinutes,
          scheduleMinutes: config.scheduleMinutes,
          exemptGroups: config.exemptGroups ?? [],
          now: this.clock(),
        },
        evaluation.previous,
      );
      if (changed) {
        this.deps.metrics.count('StateChanges', 1);
        this.deps.logger.info('Account status changed', { status: { ...status } });
        await this.notify(statusNotice(status));
      }
    } catch (error) {
      // The roles are already in their state; a stale status is reported, not fatal.
      this.deps.metrics.count('Errors', 1);
      this.deps.logger.error('Could not publish the account status', { error: errorName(error) });
    }
  }

  private async notify(notice: Notice): Promise<void> {
    const { config, logger, metrics } = this.deps;
    try {
      await publish(
        {
          ...this.deps,
          accountId: config.accountId,
          topicArn: config.topicArn,
          central: config.centralNotices,
          centralFailed: (error, target) => {
            metrics.count('Errors', 1);
            metrics.count('CentralNoticeFailures', 1);
            logger.error('Could not send a notice to the central target; the local topic has it', {
              subject: notice.subject,
              target: target.arn,
              error: errorName(error),
            });
          },
        },
        notice,
      );
    } catch (error) {
      this.deps.metrics.count('Errors', 1);
      this.deps.logger.error('Could not publish a notice', { subject: notice.subject, error: errorName(error) });
    }
  }

  private summarise(
    event: GuardEvent['kind'],
    trigger: string,
    evaluation: Evaluation | undefined,
    agentRoles: number,
    outcomes: readonly RoleOutcome[],
  ): InvocationSummary {
    const rolesFailed = outcomes.filter((o) => o.failure).length;
    const rolesRepaired = outcomes.filter((o) => o.repaired).length;
    this.deps.metrics.count('RolesChanged', outcomes.filter((o) => o.changed).length);
    this.deps.metrics.count('RolesRepaired', rolesRepaired);
    this.deps.metrics.count('RoleFailures', rolesFailed);
    if (rolesFailed > 0) this.deps.metrics.count('Errors', rolesFailed);
    return {
      event,
      trigger,
      locked: evaluation?.decision.locked,
      protected: evaluation?.decision.protected,
      agentRoles,
      rolesChanged: outcomes.filter((o) => o.changed).length,
      rolesRepaired,
      rolesFailed,
      calls: this.deps.caller.takeCounts(),
    };
  }

  private recordCalls(calls: CallCounts): void {
    this.deps.metrics.count('ApiReads', calls.reads);
    this.deps.metrics.count('ApiWrites', calls.writes);
    this.deps.metrics.count('ApiRetries', calls.retries);
    this.deps.metrics.count('ApiFailures', calls.failures);
  }
}

async function succeeds(step: () => Promise<void>): Promise<boolean> {
  try {
    await step();
    return true;
  } catch {
    return false;
  }
}

function preview(event: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(event) ?? String(event);
  } catch {
    text = '[an event that cannot be printed]';
  }
  return text.length > 2000 ? `${text.slice(0, 2000)}...` : text;
}
