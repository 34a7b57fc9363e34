import { approvalPolicySet } from '../../lib/core/approval/approval-policies';
import { expiryFrom, isoSeconds } from '../../lib/core/approval/duration';
import { APPROVAL_TAG, GUARD_PATH } from '../../lib/core/contract';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { ResolvedCatalog } from '../../lib/core/policy/resolve-catalog';
import { messageOf, usageError } from './errors';

/** Exactly what `approve --dry-run --json` prints: the tag and the policies the approval would write. */
export interface DryRunPlan {
  readonly approvalId: string;
  readonly roleArn: string;
  readonly expiresAt: string;
  readonly tags: { readonly [APPROVAL_TAG]: string };
  /** Every guard policy attached to the role while the approval is in force; the boundary is unchanged. */
  readonly policies: { readonly name: string; readonly arn: string; readonly document: PolicyDocumentJson }[];
}

export interface DryRunInput {
  readonly roleArn: string;
  /** Exact protected actions, resolved from the catalog. */
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly durationSeconds: number;
}

/**
 * Builds, offline, the policy set an approval would put on the role, the way the approval function
 * does when no other approval is in force there: the expiry counts from now, to the second.
 */
export function planApproval(
  input: DryRunInput,
  deps: { readonly catalog: ResolvedCatalog; readonly now: Date; readonly newId: () => string },
): DryRunPlan {
  const [, partition, account] = /^arn:([^:]+):iam::(\d{12}):role\//.exec(input.roleArn) ?? [];
  if (!partition || !account) throw usageError(`--role '${input.roleArn}' is not an IAM role ARN.`);
  const expires = expiryFrom(deps.now, input.durationSeconds);
  const approvalId = deps.newId();
  const setId = deps.newId();
  let policies;
  try {
    policies = approvalPolicySet(deps.catalog, setId, [
      { id: approvalId, actions: input.actions, resources: input.resources, expiresAt: expires },
    ]);
  } catch (error) {
    throw usageError(messageOf(error));
  }
  return {
    approvalId,
    roleArn: input.roleArn,
    expiresAt: isoSeconds(expires),
    tags: { [APPROVAL_TAG]: setId },
    policies: policies.map((p) => ({
      name: p.name,
      arn: `arn:${partition}:iam::${account}:policy${GUARD_PATH}${p.name}`,
      document: p.document,
    })),
  };
}
