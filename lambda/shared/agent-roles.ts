import {
  GetAccountAuthorizationDetailsCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  NoSuchEntityException,
  Tag,
} from '@aws-sdk/client-iam';
import { AGENT_TAG, AGENT_TAG_VALUE } from '../../lib/core/contract';
import { AwsCaller } from './aws-caller';

/** What the guard needs to know of one role to reconcile it. */
export interface RoleSnapshot {
  readonly name: string;
  readonly arn: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly boundaryArn?: string;
  readonly attachedPolicyArns: readonly string[];
  /** The trust policy, URL-decoded JSON text as IAM returns it. */
  readonly trustPolicy?: string;
}

/**
 * A role's tag value. IAM keeps tag keys unique without regard to case, so a key spelled in other
 * letters is the same tag.
 */
export function tagValue(role: Pick<RoleSnapshot, 'tags'>, key: string): string | undefined {
  const wanted = key.toLowerCase();
  return Object.entries(role.tags).find(([k]) => k.toLowerCase() === wanted)?.[1];
}

/** The role carries `agent-guard:agent=true`. */
export function hasAgentTag(role: Pick<RoleSnapshot, 'tags'>): boolean {
  return tagValue(role, AGENT_TAG) === AGENT_TAG_VALUE;
}

/**
 * A role is an agent when it carries the agent tag, or the guard's boundary, whoever put it there
 * (threat 8): a role made with the boundary but without the tag is constrained like any other, so a
 * principal never holds the boundary without the guard's deny policies and trust deny.
 */
export function isAgentRole(role: Pick<RoleSnapshot, 'tags' | 'boundaryArn'>, guardBoundaryArn: string): boolean {
  return hasAgentTag(role) || role.boundaryArn === guardBoundaryArn;
}

/**
 * Every agent role of the account with tags, boundary, attached policies and trust policy, in as few
 * calls as IAM allows. `ListRoles` leaves out tags and boundaries, so it would cost two more calls per
 * role; `GetAccountAuthorizationDetails` returns all of it, up to 1,000 roles a page.
 */
export async function listAgentRoles(
  iam: IAMClient,
  caller: AwsCaller,
  guardBoundaryArn: string,
): Promise<RoleSnapshot[]> {
  const roles: RoleSnapshot[] = [];
  let marker: string | undefined;
  do {
    const page = await caller.call('iam:GetAccountAuthorizationDetails', () =>
      iam.send(new GetAccountAuthorizationDetailsCommand({ Filter: ['Role'], MaxItems: 1000, Marker: marker })),
    );
    for (const detail of page.RoleDetailList ?? []) {
      if (!detail.RoleName || !detail.Arn) continue;
      const role: RoleSnapshot = {
        name: detail.RoleName,
        arn: detail.Arn,
        tags: tagMap(detail.Tags),
        boundaryArn: detail.PermissionsBoundary?.PermissionsBoundaryArn,
        attachedPolicyArns: (detail.AttachedManagedPolicies ?? []).flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : [])),
        trustPolicy: decodePolicy(detail.AssumeRolePolicyDocument),
      };
      if (isAgentRole(role, guardBoundaryArn)) roles.push(role);
    }
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return roles;
}

/** One role, fresh from IAM; undefined if it no longer exists. */
export async function readRole(iam: IAMClient, caller: AwsCaller, roleName: string): Promise<RoleSnapshot | undefined> {
  try {
    const { Role: role } = await caller.call('iam:GetRole', () => iam.send(new GetRoleCommand({ RoleName: roleName })));
    if (!role?.RoleName || !role.Arn) return undefined;
    const attached: string[] = [];
    let marker: string | undefined;
    do {
      const page = await caller.call('iam:ListAttachedRolePolicies', () =>
        iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName, Marker: marker })),
      );
      attached.push(...(page.AttachedPolicies ?? []).flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : [])));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return {
      name: role.RoleName,
      arn: role.Arn,
      tags: tagMap(role.Tags),
      boundaryArn: role.PermissionsBoundary?.PermissionsBoundaryArn,
      attachedPolicyArns: attached,
      trustPolicy: decodePolicy(role.AssumeRolePolicyDocument),
    };
  } catch (error) {
    if (error instanceof NoSuchEntityException) return undefined;
    throw error;
  }
}

function tagMap(tags: Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).flatMap((t) => (t.Key !== undefined ? [[t.Key, t.Value ?? '']] : [])));
}

/** IAM returns policy documents URL-encoded (RFC 3986). */
function decodePolicy(document: string | undefined): string | undefined {
  if (document === undefined) return undefined;
  try {
    return decodeURIComponent(document);
  } catch {
    return document;
  }
}
