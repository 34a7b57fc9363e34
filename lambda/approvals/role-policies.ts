import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  DeletePolicyCommand,
  DetachRolePolicyCommand,
  EntityAlreadyExistsException,
  IAMClient,
  NoSuchEntityException,
  TagRoleCommand,
  UntagRoleCommand,
} from '@aws-sdk/client-iam';
import { MAX_APPROVAL_POLICIES } from '../../lib/core/approval/approval-policies';
import {
  APPROVAL_TAG,
  COMPONENT_TAG,
  GUARD_PATH,
  parseApprovalPolicyArn,
  withApprovalVersions,
} from '../../lib/core/contract';
import { NamedPolicy } from '../../lib/core/iam/policy-document';
import { AwsCaller } from '../shared/aws-caller';
import { readRole, RoleSnapshot, tagValue } from '../shared/agent-roles';
import { readBack, ReadBackOptions } from '../shared/read-back';

/** What the approval function needs to know of a role: the guard's own snapshot. */
export type RoleState = RoleSnapshot;

/** The guard policies a role should end up with. */
export type PolicySetTarget =
  | { readonly kind: 'standard' }
  | { readonly kind: 'approval'; readonly setId: string; readonly policies: readonly NamedPolicy[] };

/**
 * Swaps a role's guard policies. An approval set replaces only the standard policies its versions
 * stand in for. Every step leaves the role at least as locked as one of the swap's ends: the target
 * policies are attached first and read back (IAM is eventually consistent, so an attach is not in
 * force until reads return it), then the marker tag moves, then the policies the target does not
 * hold are detached (the standard ones it replaces, the versions of the old set) and old versions are
 * deleted. A failed attach undoes itself and leaves the old set; an attach that does not read back in
 * time leaves both, which is more locked than either.
 *
 * A role holds at most the standard policies and {@link MAX_APPROVAL_POLICIES} versions at once: a
 * swap between two approval sets that would need more goes through the standard set.
 */
export class RolePolicies {
  constructor(
    private readonly iam: IAMClient,
    private readonly caller: AwsCaller,
    private readonly standardArns: readonly string[],
    /** The digest of the standard policies: the target versions carry it, so they stand in. */
    private readonly digest: string,
    private readonly readBackOptions: ReadBackOptions = {},
  ) {}

  public async read(roleName: string): Promise<RoleState | undefined> {
    return readRole(this.iam, this.caller, roleName);
  }

  /** Returns the role as it then is. */
  public async swap(role: RoleState, target: PolicySetTarget): Promise<RoleState> {
    if (target.kind === 'standard') return this.apply(role, [...this.standardArns], target);
    let from = role;
    const targetArns = withApprovalVersions(
      this.standardArns,
      target.policies.map((p) => policyArn(role, p.name)),
      this.digest,
    );
    if (
      new Set([...this.guardPoliciesOn(role), ...targetArns]).size >
      this.standardArns.length + MAX_APPROVAL_POLICIES
    ) {
      from = await this.apply(role, [...this.standardArns], { kind: 'standard' });
    }
    await this.create(role, target);
    return this.apply(from, targetArns, target);
  }

  /** Brings the role from its guard policies to `targetArns`; returns the role as it then is. */
  private async apply(role: RoleState, targetArns: readonly string[], target: PolicySetTarget): Promise<RoleState> {
    const created = targetArns.filter((arn) => parseApprovalPolicyArn(arn));
    const attachedNow: string[] = [];
    try {
      for (const arn of targetArns.filter((a) => !role.attachedPolicyArns.includes(a))) {
        await this.caller.call('iam:AttachRolePolicy', () =>
          this.iam.send(new AttachRolePolicyCommand({ RoleName: role.name, PolicyArn: arn })),
        );
        attachedNow.push(arn);
      }
    } catch (error) {
      // Undo, so the role holds exactly its old set again; the old set was never touched.
      for (const arn of attachedNow) await this.detach(role.name, arn).catch(() => undefined);
      await this.deletePolicies(created.filter((arn) => !role.attachedPolicyArns.includes(arn)));
      throw error;
    }
    if (attachedNow.length > 0) {
      await readBack(
        this.iam,
        this.caller,
        role.name,
        'attaching the new guard policies',
        (now) => targetArns.every((arn) => now.attachedPolicyArns.includes(arn)),
        this.readBackOptions,
      );
    }

    let tags = role.tags;
    if (target.kind === 'approval') {
      await this.caller.call('iam:TagRole', () =>
        this.iam.send(new TagRoleCommand({ RoleName: role.name, Tags: [{ Key: APPROVAL_TAG, Value: target.setId }] })),
      );
      tags = { ...tags, [APPROVAL_TAG]: target.setId };
    } else if (tagValue(role, APPROVAL_TAG) !== undefined) {
      await this.caller.call('iam:UntagRole', () =>
        this.iam.send(new UntagRoleCommand({ RoleName: role.name, TagKeys: [APPROVAL_TAG] })),
      );
      tags = Object.fromEntries(Object.entries(tags).filter(([key]) => key.toLowerCase() !== APPROVAL_TAG));
    }

    const old = this.guardPoliciesOn(role).filter((arn) => !targetArns.includes(arn));
    for (const arn of old) await this.detach(role.name, arn);
    await this.deletePolicies(old.filter((arn) => parseApprovalPolicyArn(arn)));
    const attachedPolicyArns = [...role.attachedPolicyArns.filter((arn) => !old.includes(arn)), ...attachedNow];
    return { ...role, attachedPolicyArns, tags };
  }

  /** The standard guard policies and approval versions (of any set) attached to the role. */
  private guardPoliciesOn(role: RoleState): string[] {
    return role.attachedPolicyArns.filter((arn) => this.standardArns.includes(arn) || parseApprovalPolicyArn(arn));
  }

  /** Creates an approval set's policies; a policy left by an earlier, interrupted try is reused. */
  private async create(role: RoleState, target: Extract<PolicySetTarget, { kind: 'approval' }>): Promise<void> {
    for (const policy of target.policies) {
      try {
        await this.caller.call('iam:CreatePolicy', () =>
          this.iam.send(
            new CreatePolicyCommand({
              PolicyName: policy.name,
              Path: GUARD_PATH,
              PolicyDocument: JSON.stringify(policy.document),
              Description: `agent-guard approval versions of the guard policies for ${role.name}`,
              Tags: [
                { Key: COMPONENT_TAG, Value: 'true' },
                { Key: APPROVAL_TAG, Value: target.setId },
              ],
            }),
          ),
        );
      } catch (error) {
        if (!(error instanceof EntityAlreadyExistsException)) throw error;
      }
    }
  }

  public async detach(roleName: string, policyArn: string): Promise<void> {
    try {
      await this.caller.call('iam:DetachRolePolicy', () =>
        this.iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: policyArn })),
      );
    } catch (error) {
      if (!(error instanceof NoSuchEntityException)) throw error;
    }
  }

  /** Deletes approval policies; one still attached somewhere is left for the reconcile. */
  public async deletePolicies(arns: readonly string[]): Promise<void> {
    for (const arn of arns) {
      await this.caller
        .call('iam:DeletePolicy', () => this.iam.send(new DeletePolicyCommand({ PolicyArn: arn })))
        .catch(() => undefined);
    }
  }
}

/** The ARN of a guard-path policy in the role's account and partition. */
function policyArn(role: RoleState, name: string): string {
  return `${role.arn.slice(0, role.arn.indexOf(':role/'))}:policy${GUARD_PATH}${name}`;
}
