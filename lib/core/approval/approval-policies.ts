import { approvalPolicyName } from '../contract';
import { CarveOut, compileApprovalVersions } from '../policy/guard-policies';
import { NamedPolicy } from '../iam/policy-document';
import { ResolvedCatalog } from '../policy/resolve-catalog';
import { assertValidPolicies, PolicyKind } from '../policy/validate-policy';

/**
 * At most this many approval versions per role. A swap never holds more than the standard guard
 * policies and this many versions at once (it goes through the standard set when it would), so this
 * is the number of managed-policy places an agent role keeps free for approvals.
 */
export const MAX_APPROVAL_POLICIES = 3;

/**
 * A role's approval versions of the guard policies that the approvals in force on it change: the same
 * denies, minus the carve-outs of all those approvals, each until its own literal expiry. Each version
 * is named after the standard policy it stands in for and `digest`, that of the standard policies
 * deployed now (guard-digest.ts); the others stay as they are. Checked against
 * IAM's rules; throws when the approvals together need more than {@link MAX_APPROVAL_POLICIES}.
 */
export function approvalPolicySet(
  catalog: ResolvedCatalog,
  setId: string,
  carveOuts: readonly CarveOut[],
  digest: string,
): NamedPolicy[] {
  if (carveOuts.length === 0) throw new Error('An approval policy set needs at least one approval.');
  const fail = (why: string, cause?: unknown) =>
    new Error(
      `The ${carveOuts.length} approval(s) in force on this role do not fit ${MAX_APPROVAL_POLICIES} policies ` +
        `(${why}). Revoke one, or approve fewer actions or resources.`,
      { cause },
    );
  let versions;
  try {
    versions = compileApprovalVersions({ catalog, carveOuts });
  } catch (error) {
    throw fail(error instanceof Error ? error.message : String(error), error);
  }
  if (versions.length > MAX_APPROVAL_POLICIES) {
    const replaced = new Set(versions.map((v) => v.replaces)).size;
    const cause = new Error(`they change ${replaced} guard policies and need ${versions.length} approval versions`);
    throw fail(cause.message, cause);
  }
  const named = versions.map((v, i) => ({
    name: approvalPolicyName(setId, i + 1, versions.length, v.replaces, digest),
    document: v.document,
  }));
  assertValidPolicies(named, PolicyKind.MANAGED);
  return named;
}
