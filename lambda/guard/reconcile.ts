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
  AGENT_TAG,
  AGENT_TAG_VALUE,
  APPROVAL_TAG,
  CONSTRAINED_TAG,
  CONSTRAINED_TAG_VALUE,
  requiredGuardPolicyArns,
  staleApprovalSets,
  STATE_LOCKED,
  STATE_OPEN,
  STATE_TAG,
  TRUST_DENY_SID,
} from '../../lib/core/contract';
import { PolicyDocumentJson, PolicyStatementJson } from '../../lib/core/iam/policy-document';
import { TRUST_DENY_STATEMENT } from '../../lib/core/policy/trust-deny';
import { AwsCaller } from '../shared/aws-caller';
import { hasAgentTag, RoleSnapshot, tagValue } from '../shared/agent-roles';
import { readBack, ReadBackOptions } from '../shared/read-back';

/** What every agent role must look like now. */
export interface DesiredRole {
  readonly locked: boolean;
  readonly boundaryArn: string;
  readonly guardPolicyArns: readonly string[];
  /** The digest of the standard guard policies: approval versions of another digest stand in for none. */
  readonly guardPolicyDigest: string;
  /** The account's quota of managed policies per role. */
  readonly managedPoliciesPerRole: number;
}

/** One step to bring a role to its desired shape. */
export type RoleChange =
  | { readonly kind: 'unconstrain' }
  | { readonly kind: 'lock' }
  | { readonly kind: 'adopt' }
  | { readonly kind: 'boundary'; readonly boundaryArn: string }
  | { readonly kind: 'attach'; readonly policyArn: string }
  | { readonly kind: 'trust'; readonly document: string }
  | { readonly kind: 'verify'; readonly boundaryArn: string; readonly policyArns: readonly string[] }
  | { readonly kind: 'constrain' }
  | { readonly kind: 'open' };

export interface RolePlan {
  /**
   * In order: unconstrain (the boundary then allows nothing) and lock (or adopt: tag a role that holds
   * the guard boundary an agent, locked) first, repair next, read the
   * repairs back, tag the role constrained, open last; no step leaves the role less locked.
   */
  readonly changes: readonly RoleChange[];
  /**
   * Guard parts a role had lost since the guard last set it up (it carries a state tag); each is an
   * alert. A role without a state tag is new, and constraining it is no alert.
   */
  readonly repairs: readonly string[];
  /** What stops the guard from constraining the role: it stays untagged, so it can do nothing, and locked. */
  readonly problems: readonly string[];
  /** The role already holds every guard part and the constrained tag: a failure later leaves it constrained. */
  readonly verified: boolean;
}

/**
 * The guard policies a role must hold. While an approval is in force (tag `agent-guard:approval`), the
 * approval versions of that set stand in for the standard policies they are named after, but only
 * when every version of the set is attached and carries `digest`; the other standard policies stay
 * required. A half-done swap, or a set compiled against the guard policies of an earlier deploy, gets
 * the whole standard set back, which re-locks (every set denies, so holding several is never less
 * locked than any one).
 */
export function requiredGuardPolicies(
  role: RoleSnapshot,
  standard: readonly string[],
  digest: string,
): readonly string[] {
  return requiredGuardPolicyArns(role.attachedPolicyArns, tagValue(role, APPROVAL_TAG), standard, digest);
}

/**
 * How many roles have an approval in force: the `agent-guard:approval` tag and every approval version
 * of its set attached, of the current digest. A half-done swap or a stale set does not count; the
 * sweep puts the standard policies back.
 */
export function approvalsInForce(roles: readonly RoleSnapshot[], standard: readonly string[], digest: string): number {
  return roles.filter((role) => requiredGuardPolicies(role, standard, digest) !== standard).length;
}

/**
 * The steps that bring one agent role to the desired shape; none when it is there already. The role
 * carries the constrained tag, which the boundary's ceiling requires, only while it holds the boundary,
 * a complete guard deny set and the trust-policy deny, as read back from IAM. A role that cannot be
 * brought there (trust policy unreadable, no room for the guard policies) is left without the tag, so
 * it can do nothing, and locked.
 */
export function planRole(role: RoleSnapshot, desired: DesiredRole): RolePlan {
  const state = tagValue(role, STATE_TAG);
  const constrained = tagValue(role, CONSTRAINED_TAG) === CONSTRAINED_TAG_VALUE;
  // A role with the guard boundary but no agent tag (threat 8) is adopted: tagged an agent, locked.
  const adopted = !hasAgentTag(role);
  const repairs: string[] = [];
  const problems: string[] = [];
  const fixes: RoleChange[] = [];

  if (role.boundaryArn !== desired.boundaryArn) {
    fixes.push({ kind: 'boundary', boundaryArn: desired.boundaryArn });
    repairs.push(role.boundaryArn ? `boundary replaced by ${role.boundaryArn}` : 'boundary removed');
  }
  const required = requiredGuardPolicies(role, desired.guardPolicyArns, desired.guardPolicyDigest);
  const missing = required.filter((arn) => !role.attachedPolicyArns.includes(arn));
  fixes.push(...missing.map((policyArn): RoleChange => ({ kind: 'attach', policyArn })));
  const staleSet = staleSetInForce(role, desired.guardPolicyDigest);
  if (staleSet !== undefined && missing.length > 0) {
    repairs.push(
      `approval set ${staleSet} was compiled against the guard policies of an earlier deploy, so it stands in ` +
        `for none: put back ${missing.join(', ')}; its approvals are no longer in force, approve again`,
    );
  } else {
    repairs.push(...missing.map((policyArn) => `guard policy ${policyArn} detached`));
  }
  if (role.attachedPolicyArns.length + missing.length > desired.managedPoliciesPerRole) {
    problems.push(
      `no room for ${missing.length} guard policies: ${role.attachedPolicyArns.length} of the ` +
        `${desired.managedPoliciesPerRole} managed policies a role may hold are attached`,
    );
  }
  try {
    const trust = trustWithDeny(role.trustPolicy);
    if (trust !== undefined) {
      fixes.push({ kind: 'trust', document: trust });
      repairs.push('trust-policy deny of agent-guard session tags removed');
    }
  } catch (error) {
    problems.push(`trust policy unreadable (${error instanceof Error ? error.message : String(error)})`);
  }

  const locked = desired.locked || problems.length > 0;
  const changes: RoleChange[] = [];
  if (constrained && (fixes.length > 0 || problems.length > 0 || adopted)) changes.push({ kind: 'unconstrain' });
  if (adopted) changes.push({ kind: 'adopt' });
  else if (locked && state !== STATE_LOCKED) changes.push({ kind: 'lock' });
  if (problems.length > 0) {
    // The boundary alone makes the untagged role inert; it takes no managed-policy place.
    changes.push(...fixes.filter((fix) => fix.kind === 'boundary'));
    return { changes, repairs: [], problems, verified: false };
  }

  changes.push(...fixes);
  if (fixes.length > 0) changes.push({ kind: 'verify', boundaryArn: desired.boundaryArn, policyArns: required });
  if (fixes.length > 0 || !constrained || adopted) changes.push({ kind: 'constrain' });
  if (!locked && state !== STATE_OPEN) changes.push({ kind: 'open' });
  return {
    changes,
    repairs: state !== undefined ? repairs : [],
    problems,
    verified: constrained && !adopted && fixes.length === 0,
  };
}

/** The approval set the role's tag names, when its versions carry another digest than `digest`. */
function staleSetInForce(role: RoleSnapshot, digest: string): string | undefined {
  const setId = tagValue(role, APPROVAL_TAG);
  return setId !== undefined && staleApprovalSets(role.attachedPolicyArns, digest).includes(setId) ? setId : undefined;
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

/**
 * Makes the steps of a plan, in order; stops at the first failure. A repair that does not read back
 * within the wait fails with `NotVisibleError`, before the constrained tag is written.
 */
export async function applyPlan(
  iam: IAMClient,
  caller: AwsCaller,
  roleName: string,
  changes: readonly RoleChange[],
  readBackOptions: ReadBackOptions = {},
): Promise<void> {
  for (const change of changes) {
    switch (change.kind) {
      case 'unconstrain':
        await unconstrainRole(iam, caller, roleName);
        break;
      case 'lock':
        await lockRole(iam, caller, roleName);
        break;
      case 'adopt':
        // One call, so the role is never an agent without being locked.
        await caller.call('iam:TagRole', () =>
          iam.send(
            new TagRoleCommand({
              RoleName: roleName,
              Tags: [
                { Key: AGENT_TAG, Value: AGENT_TAG_VALUE },
                { Key: STATE_TAG, Value: STATE_LOCKED },
              ],
            }),
          ),
        );
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
      case 'verify':
        await readBack(
          iam,
          caller,
          roleName,
          'the guard repairs',
          (role) =>
            role.boundaryArn === change.boundaryArn &&
            change.policyArns.every((arn) => role.attachedPolicyArns.includes(arn)) &&
            trustHoldsDeny(role.trustPolicy),
          readBackOptions,
        );
        break;
      case 'constrain':
        await caller.call('iam:TagRole', () =>
          iam.send(
            new TagRoleCommand({ RoleName: roleName, Tags: [{ Key: CONSTRAINED_TAG, Value: CONSTRAINED_TAG_VALUE }] }),
          ),
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

/** Removes the constrained tag: the boundary then allows the role nothing. */
export async function unconstrainRole(iam: IAMClient, caller: AwsCaller, roleName: string): Promise<void> {
  await caller.call('iam:UntagRole', () =>
    iam.send(new UntagRoleCommand({ RoleName: roleName, TagKeys: [CONSTRAINED_TAG] })),
  );
}

function trustHoldsDeny(trustPolicy: string | undefined): boolean {
  try {
    return trustWithDeny(trustPolicy) === undefined;
  } catch {
    return false;
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
