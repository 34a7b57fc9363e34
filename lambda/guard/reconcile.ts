import {
  AttachRolePolicyCommand,
  IAMClient,
  PutRolePermissionsBoundaryCommand,
  TagRoleCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { isDeepStrictEqual } from 'node:util';
import {
  APPROVAL_TAG,
  completeApprovalSet,
  STATE_LOCKED,
  STATE_OPEN,
  STATE_TAG,
  TRUST_DENY_SID,
} from '../../lib/core/contract';
import { PolicyDocumentJson, PolicyStatementJson } from '../../lib/core/iam/policy-document';
import { TRUST_DENY_STATEMENT } from '../../lib/core/policy/trust-deny';
import { AwsCaller } from '../shared/aws-caller';
import { RoleSnapshot, tagValue } from '../shared/agent-roles';

/** What every agent role must look like now. */
export interface DesiredRole {
  readonly locked: boolean;
  readonly boundaryArn: string;
  readonly guardPolicyArns: readonly string[];
}

/** One write to bring a role to its desired shape. */
export type RoleChange =
  | { readonly kind: 'lock' }
  | { readonly kind: 'boundary'; readonly boundaryArn: string }
  | { readonly kind: 'attach'; readonly policyArn: string }
  | { readonly kind: 'trust'; readonly document: string }
  | { readonly kind: 'open' };

export interface RolePlan {
  /** In order: lock first, constrain next, open last, so no step leaves the role less locked. */
  readonly changes: readonly RoleChange[];
  /**
   * Guard parts a role had lost since the guard last set it up (it carries a state tag); each is an
   * alert. A role without a state tag is new, and constraining it is no alert.
   */
  readonly repairs: readonly string[];
  /** What keeps the role locked whatever the signals say. */
  readonly problems: readonly string[];
}

/**
 * The guard policies a role must hold. While an approval is in force (tag `agent-guard:approval`), the
 * approval versions of that set stand in for the standard ones, but only when every one of them is
 * attached; a half-done swap gets the standard ones back, which re-locks (both sets deny, so holding
 * both is never less locked than either).
 */
export function requiredGuardPolicies(role: RoleSnapshot, standard: readonly string[]): readonly string[] {
  const setId = tagValue(role, APPROVAL_TAG);
  return (setId && completeApprovalSet(role.attachedPolicyArns, setId)) || standard;
}

/**
 * How many roles have an approval in force: the `agent-guard:approval` tag and every approval version
 * of its set attached. A half-done swap does not count; the sweep puts the standard policies back.
 */
export function approvalsInForce(roles: readonly RoleSnapshot[], standard: readonly string[]): number {
  return roles.filter((role) => requiredGuardPolicies(role, standard) !== standard).length;
}

/**
 * The writes that bring one agent role to the desired shape; none when it is there already. A role
 * whose trust policy cannot be read or fixed here is locked whatever the signals say.
 */
export function planRole(role: RoleSnapshot, desired: DesiredRole): RolePlan {
  const state = tagValue(role, STATE_TAG);
  const changes: RoleChange[] = [];
  const repairs: string[] = [];
  const problems: string[] = [];

  let trust: string | undefined;
  try {
    trust = trustWithDeny(role.trustPolicy);
  } catch (error) {
    problems.push(`trust policy unreadable (${error instanceof Error ? error.message : String(error)})`);
  }
  const locked = desired.locked || problems.length > 0;

  if (locked && state !== STATE_LOCKED) changes.push({ kind: 'lock' });
  if (role.boundaryArn !== desired.boundaryArn) {
    changes.push({ kind: 'boundary', boundaryArn: desired.boundaryArn });
    repairs.push(role.boundaryArn ? `boundary replaced by ${role.boundaryArn}` : 'boundary removed');
  }
  for (const policyArn of requiredGuardPolicies(role, desired.guardPolicyArns)) {
    if (!role.attachedPolicyArns.includes(policyArn)) {
      changes.push({ kind: 'attach', policyArn });
      repairs.push(`guard policy ${policyArn} detached`);
    }
  }
  if (trust !== undefined) {
    changes.push({ kind: 'trust', document: trust });
    repairs.push('trust-policy deny of agent-guard session tags removed');
  }
  if (!locked && state !== STATE_OPEN) changes.push({ kind: 'open' });
  return { changes, repairs: state !== undefined ? repairs : [], problems };
}

/**
 * The trust policy with the guard's statement restored, or undefined when it is in place.
 * Throws when the trust policy cannot be read, so the caller locks the role.
 */
export function trustWithDeny(trustPolicy: string | undefined): string | undefined {
  if (trustPolicy === undefined) throw new Error('the trust policy is missing');
  const document = JSON.parse(trustPolicy) as PolicyDocumentJson;
  const statements: PolicyStatementJson[] = Array.isArray(document.Statement)
    ? document.Statement
    : [document.Statement];
  const current = statements.find((s) => s.Sid === TRUST_DENY_SID);
  if (current && isDeepStrictEqual(normalise(current), normalise(TRUST_DENY_STATEMENT))) return undefined;
  return JSON.stringify({
    ...document,
    Statement: [...statements.filter((s) => s.Sid !== TRUST_DENY_SID), TRUST_DENY_STATEMENT],
  });
}

/** IAM may return single values as strings or one-element lists. */
function normalise(statement: PolicyStatementJson): unknown {
  return JSON.parse(JSON.stringify(statement), (_key, value: unknown) =>
    Array.isArray(value) && value.length === 1 ? (value[0] as unknown) : value,
  );
}

/** Makes the writes of a plan, in order; stops at the first failure. */
export async function applyPlan(
  iam: IAMClient,
  caller: AwsCaller,
  roleName: string,
  changes: readonly RoleChange[],
): Promise<void> {
  for (const change of changes) {
    switch (change.kind) {
      case 'lock':
        await lockRole(iam, caller, roleName);
        break;
      case 'boundary':
        await caller.call('iam:PutRolePermissionsBoundary', () =>
          iam.send(
            new PutRolePermissionsBoundaryCommand({ RoleName: roleName, PermissionsBoundary: change.boundaryArn }),
          ),
        );
        break;
      case 'attach':
        await caller.call('iam:AttachRolePolicy', () =>
          iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: change.policyArn })),
        );
        break;
      case 'trust':
        await caller.call('iam:UpdateAssumeRolePolicy', () =>
          iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: change.document })),
        );
        break;
      case 'open':
        await caller.call('iam:TagRole', () =>
          iam.send(new TagRoleCommand({ RoleName: roleName, Tags: [{ Key: STATE_TAG, Value: STATE_OPEN }] })),
        );
        break;
    }
  }
}

/**
 * Locks a role: tags it `locked`, or, if that fails, removes the state tag (absent is locked too).
 * Throws only when both fail.
 */
export async function lockRole(iam: IAMClient, caller: AwsCaller, roleName: string): Promise<void> {
  try {
    await caller.call('iam:TagRole', () =>
      iam.send(new TagRoleCommand({ RoleName: roleName, Tags: [{ Key: STATE_TAG, Value: STATE_LOCKED }] })),
    );
  } catch {
    await caller.call('iam:UntagRole', () =>
      iam.send(new UntagRoleCommand({ RoleName: roleName, TagKeys: [STATE_TAG] })),
    );
  }
}
