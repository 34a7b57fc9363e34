import { DescribeRuleCommand, EventBridgeClient, ResourceNotFoundException } from '@aws-sdk/client-eventbridge';
import {
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteUserPermissionsBoundaryCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  IAMClient,
  ListEntitiesForPolicyCommand,
  ListPoliciesCommand,
  ListPolicyVersionsCommand,
  NoSuchEntityException,
  PolicyUsageType,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  APPROVAL_TAG,
  CONSTRAINED_TAG,
  GUARD_PATH,
  parseApprovalPolicyArn,
  STATE_TAG,
  TRUST_DENY_SID,
} from '../../lib/core/contract';

/** The tags only the guard writes; the constrained tag goes with them, which leaves the role inert until its boundary goes. */
const GUARD_WRITTEN_TAGS = [CONSTRAINED_TAG, STATE_TAG, APPROVAL_TAG];
import { UninstallConfig } from '../../lib/core/config';
import { PolicyDocumentJson, PolicyStatementJson } from '../../lib/core/iam/policy-document';
import { AwsCaller, CallCounts, errorName, settleWithLimit } from '../shared/aws-caller';
import { readRole } from '../shared/agent-roles';

export interface UninstallLogger {
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

export interface UninstallDeps {
  readonly config: UninstallConfig;
  readonly iam: IAMClient;
  readonly events: EventBridgeClient;
  readonly caller: AwsCaller;
  readonly logger: UninstallLogger;
  /** Milliseconds left before the function times out. @default no limit */
  readonly remainingMs?: () => number;
}

/** What one run did, for the custom resource's response and the log. */
export interface UninstallSummary {
  /** Principals that carried a guard part, by kind. */
  readonly roles: number;
  readonly users: number;
  readonly groups: number;
  /** Principals that were deleted while the clean-up ran: nothing to do for them. */
  readonly gone: number;
  readonly policiesDetached: number;
  readonly boundariesRemoved: number;
  readonly rolesUntagged: number;
  readonly trustStatementsRemoved: number;
  readonly approvalPoliciesDeleted: number;
  /** Listings made: the last one found nothing left, unless something failed. */
  readonly passes: number;
  readonly calls: CallCounts;
  /** What could not be cleaned, each naming the principal or policy and the error. */
  readonly failures: readonly string[];
}

type Kind = 'role' | 'user' | 'group';

/** One principal that carries guard parts, as the policy listings show it. */
interface Holder {
  readonly kind: Kind;
  readonly name: string;
  /** Guard-owned managed policies attached to it. */
  readonly policies: Set<string>;
  /** It has the guard's boundary as its permissions boundary. */
  boundary: boolean;
}

/** Passes of list-then-clean before giving up on principals that keep coming back. */
const MAX_PASSES = 3;
/** Stop starting principals when less than this is left, so the function can still answer. */
const RESERVE_MS = 30_000;

/**
 * Takes the guard off every principal in the account and deletes the approval policies it made at run
 * time, so that CloudFormation can then delete the boundary and the guard policies.
 *
 * Principals are found through the policies, not by listing every role: `ListEntitiesForPolicy` on the
 * boundary (as a permissions boundary) and on each guard-owned policy (as a permissions policy) names
 * exactly the roles, users and groups that hold them, so the cost follows the number of agent roles,
 * not of roles in the account.
 *
 * Per role, in this order, so that every intermediate state is at least as locked as the role was and
 * the role stays discoverable by a retry (it keeps the boundary, or a guard policy, until the last step):
 * 1. remove the guard's tags (`agent-guard:constrained`, `agent-guard:state`, `agent-guard:approval`): the
 *    boundary then allows nothing, and no state tag is locked;
 * 2. remove the trust-policy statement that denies `agent-guard:*` session tags;
 * 3. detach the guard policies and the approval policies: destructive actions are no longer denied;
 * 4. remove the boundary, if it is the guard's.
 * The `agent-guard:agent` tag, written by the platform team, stays.
 */
export class Uninstaller {
  private readonly counts = {
    gone: 0,
    policiesDetached: 0,
    boundariesRemoved: 0,
    rolesUntagged: 0,
    trustStatementsRemoved: 0,
    approvalPoliciesDeleted: 0,
  };

  constructor(private readonly deps: UninstallDeps) {}

  /**
   * Whether the guard can still re-constrain roles: its rule is there. While it is, a clean-up would be
   * undone at the next sweep, so a Delete that arrives then (the rollback of an update that added this
   * resource, or a forged invocation) changes nothing.
   */
  public async guardStillRunning(): Promise<boolean> {
    try {
      await this.deps.caller.call('events:DescribeRule', () =>
        this.deps.events.send(new DescribeRuleCommand({ Name: this.deps.config.guardRuleName })),
      );
      return true;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return false;
      throw error;
    }
  }

  public async run(): Promise<UninstallSummary> {
    const seen = { role: new Set<string>(), user: new Set<string>(), group: new Set<string>() };
    let failures: string[] = [];
    let approvalPolicies: string[] = [];
    let passes = 0;
    let left = 0;
    for (let pass = 1; pass <= MAX_PASSES; pass++) {
      passes = pass;
      approvalPolicies = await this.listApprovalPolicies();
      const holders = await this.listHolders([...this.deps.config.guardPolicyArns, ...approvalPolicies]);
      left = holders.length;
      if (holders.length === 0) break;
      holders.forEach((h) => seen[h.kind].add(h.name));
      failures = await this.cleanAll(holders);
    }
    if (left > 0 && failures.length === 0) {
      failures.push(`${left} principal(s) still held guard parts after ${MAX_PASSES} passes`);
    }
    if (failures.length === 0) failures = await this.deleteApprovalPolicies(approvalPolicies);

    const summary: UninstallSummary = {
      roles: seen.role.size,
      users: seen.user.size,
      groups: seen.group.size,
      ...this.counts,
      passes,
      calls: { ...this.deps.caller.counts },
      failures,
    };
    this.deps.logger.info('agent-guard clean-up', { ...summary });
    return summary;
  }

  /** The approval policies the approval function made, found by path and name. */
  private async listApprovalPolicies(): Promise<string[]> {
    const arns: string[] = [];
    let marker: string | undefined;
    do {
      const page = await this.deps.caller.call('iam:ListPolicies', () =>
        this.deps.iam.send(
          new ListPoliciesCommand({ Scope: 'Local', PathPrefix: GUARD_PATH, MaxItems: 1000, Marker: marker }),
        ),
      );
      for (const p of page.Policies ?? []) if (p.Arn && parseApprovalPolicyArn(p.Arn)) arns.push(p.Arn);
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return arns;
  }

  /** Every principal that holds the boundary or one of `policyArns`, with what it holds. */
  private async listHolders(policyArns: readonly string[]): Promise<Holder[]> {
    const holders = new Map<string, Holder>();
    const holder = (kind: Kind, name: string): Holder => {
      const key = `${kind}/${name}`;
      const found = holders.get(key) ?? { kind, name, policies: new Set<string>(), boundary: false };
      holders.set(key, found);
      return found;
    };
    const boundary = await this.entities(this.deps.config.boundaryArn, PolicyUsageType.PermissionsBoundary);
    for (const [kind, name] of boundary) if (kind !== 'group') holder(kind, name).boundary = true;
    for (const arn of policyArns) {
      for (const [kind, name] of await this.entities(arn, PolicyUsageType.PermissionsPolicy)) {
        holder(kind, name).policies.add(arn);
      }
    }
    return [...holders.values()];
  }

  private async entities(policyArn: string, usage: PolicyUsageType): Promise<[Kind, string][]> {
    const found: [Kind, string][] = [];
    let marker: string | undefined;
    try {
      do {
        const page = await this.deps.caller.call('iam:ListEntitiesForPolicy', () =>
          this.deps.iam.send(
            new ListEntitiesForPolicyCommand({
              PolicyArn: policyArn,
              PolicyUsageFilter: usage,
              MaxItems: 1000,
              Marker: marker,
            }),
          ),
        );
        for (const r of page.PolicyRoles ?? []) if (r.RoleName) found.push(['role', r.RoleName]);
        for (const u of page.PolicyUsers ?? []) if (u.UserName) found.push(['user', u.UserName]);
        for (const g of page.PolicyGroups ?? []) if (g.GroupName) found.push(['group', g.GroupName]);
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
    } catch (error) {
      // A policy deleted since it was listed holds nothing.
      if (!(error instanceof NoSuchEntityException)) throw error;
    }
    return found;
  }

  private async cleanAll(holders: readonly Holder[]): Promise<string[]> {
    const remaining = this.deps.remainingMs;
    const skipped: string[] = [];
    const results = await settleWithLimit(holders, this.deps.config.concurrency, async (h) => {
      if (remaining && remaining() < RESERVE_MS) {
        skipped.push(`${h.kind} ${h.name}`);
        return;
      }
      if (h.kind === 'role') await this.cleanRole(h);
      else if (h.kind === 'user') await this.cleanUser(h);
      else await this.cleanGroup(h);
    });
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected' ? [`${holders[i].kind} ${holders[i].name}: ${describe(r.reason)}`] : [],
    );
    if (skipped.length > 0) {
      failures.push(`out of time before ${skipped.length} principal(s): ${skipped.slice(0, 5).join(', ')}`);
    }
    return failures;
  }

  private async cleanRole(h: Holder): Promise<void> {
    const role = await readRole(this.deps.iam, this.deps.caller, h.name);
    if (!role) {
      this.counts.gone++;
      return;
    }
    const name = role.name;
    const guardOwned = (arn: string) => h.policies.has(arn) || this.isGuardPolicy(arn);

    // 1. The guard's tags. Without a state tag the guard policies deny: at least as locked as before.
    const tagKeys = Object.keys(role.tags).filter((k) => GUARD_WRITTEN_TAGS.includes(k.toLowerCase()));
    if (tagKeys.length > 0) {
      if (
        await this.write('iam:UntagRole', (iam) => iam.send(new UntagRoleCommand({ RoleName: name, TagKeys: tagKeys })))
      ) {
        this.counts.rolesUntagged++;
      }
    }

    // 2. The trust-policy statement; the rest of the trust policy stays as it is.
    const trust = trustWithoutDeny(role.trustPolicy);
    if (trust !== undefined) {
      const command = (iam: IAMClient) =>
        iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: trust }));
      if (await this.write('iam:UpdateAssumeRolePolicy', command)) this.counts.trustStatementsRemoved++;
    }

    // 3. The guard policies and approval policies: from here on nothing is denied by the guard.
    for (const arn of role.attachedPolicyArns.filter(guardOwned)) {
      const command = (iam: IAMClient) => iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: arn }));
      if (await this.write('iam:DetachRolePolicy', command)) this.counts.policiesDetached++;
    }

    // 4. The boundary last: until now it keeps the role findable by a retry.
    if (role.boundaryArn === this.deps.config.boundaryArn) {
      const command = (iam: IAMClient) => iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: name }));
      if (await this.write('iam:DeleteRolePermissionsBoundary', command)) this.counts.boundariesRemoved++;
    }
  }

  private async cleanUser(h: Holder): Promise<void> {
    for (const arn of h.policies) {
      const command = (iam: IAMClient) => iam.send(new DetachUserPolicyCommand({ UserName: h.name, PolicyArn: arn }));
      if (await this.write('iam:DetachUserPolicy', command)) this.counts.policiesDetached++;
    }
    if (h.boundary) {
      const command = (iam: IAMClient) => iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: h.name }));
      if (await this.write('iam:DeleteUserPermissionsBoundary', command)) this.counts.boundariesRemoved++;
    }
  }

  private async cleanGroup(h: Holder): Promise<void> {
    for (const arn of h.policies) {
      const command = (iam: IAMClient) => iam.send(new DetachGroupPolicyCommand({ GroupName: h.name, PolicyArn: arn }));
      if (await this.write('iam:DetachGroupPolicy', command)) this.counts.policiesDetached++;
    }
  }

  /** Deletes each approval policy: its non-default versions first, then the policy. */
  private async deleteApprovalPolicies(arns: readonly string[]): Promise<string[]> {
    const results = await settleWithLimit(arns, this.deps.config.concurrency, async (arn) => {
      try {
        const { Versions: versions = [] } = await this.deps.caller.call('iam:ListPolicyVersions', () =>
          this.deps.iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn })),
        );
        for (const v of versions.filter((v) => !v.IsDefaultVersion && v.VersionId)) {
          await this.deps.caller.call('iam:DeletePolicyVersion', () =>
            this.deps.iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: v.VersionId })),
          );
        }
        await this.deps.caller.call('iam:DeletePolicy', () =>
          this.deps.iam.send(new DeletePolicyCommand({ PolicyArn: arn })),
        );
        this.counts.approvalPoliciesDeleted++;
      } catch (error) {
        if (!(error instanceof NoSuchEntityException)) throw error;
      }
    });
    return results.flatMap((r, i) => (r.status === 'rejected' ? [`policy ${arns[i]}: ${describe(r.reason)}`] : []));
  }

  /** A standard guard policy or an approval policy (attached to a role after it was listed). */
  private isGuardPolicy(arn: string): boolean {
    return this.deps.config.guardPolicyArns.includes(arn) || parseApprovalPolicyArn(arn) !== undefined;
  }

  /** Sends one write; false when its principal (or policy attachment) is already gone. */
  private async write(name: string, operation: (iam: IAMClient) => Promise<unknown>): Promise<boolean> {
    try {
      await this.deps.caller.call(name, () => operation(this.deps.iam));
      return true;
    } catch (error) {
      if (error instanceof NoSuchEntityException) return false;
      throw new Error(`${name.slice(4)}: ${describe(error)}`, { cause: error });
    }
  }
}

/**
 * The trust policy without the guard's statement, or undefined when it has none (or when it holds
 * nothing else: IAM needs at least one statement, and a trust policy that only denies lets nobody in
 * either way). Throws when the trust policy cannot be read.
 */
export function trustWithoutDeny(trustPolicy: string | undefined): string | undefined {
  if (trustPolicy === undefined) return undefined;
  let document: PolicyDocumentJson;
  try {
    document = JSON.parse(trustPolicy) as PolicyDocumentJson;
  } catch {
    throw new Error('the trust policy is not JSON; remove the statement ' + TRUST_DENY_SID + ' by hand');
  }
  const statements: PolicyStatementJson[] = Array.isArray(document.Statement)
    ? document.Statement
    : [document.Statement];
  const rest = statements.filter((s) => s.Sid !== TRUST_DENY_SID);
  if (rest.length === statements.length || rest.length === 0) return undefined;
  return JSON.stringify({ ...document, Statement: rest });
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const name = errorName(error);
  const text = message.startsWith(name) || name === 'Error' ? message : `${name}: ${message}`;
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
