import { approvalPolicyName } from '../contract';
import { CarveOut, compileGuardPolicies } from '../policy/guard-policies';
import { NamedPolicy } from '../iam/policy-document';
import { ResolvedCatalog } from '../policy/resolve-catalog';
import { assertValidPolicies, PolicyKind } from '../policy/validate-policy';

/** At most this many approval versions per role, so a swap fits the role's managed-policy quota. */
export const MAX_APPROVAL_POLICIES = 3;

/**
 * A role's approval versions of the guard policies: every deny of the catalog, minus the carve-outs of
 * all the approvals in force on that role, each until its own literal expiry. Checked against IAM's
 * rules; throws when the approvals together do not fit.
 */
export function approvalPolicySet(
  catalog: ResolvedCatalog,
  setId: string,
  carveOuts: readonly CarveOut[],
): NamedPolicy[] {
  if (carveOuts.length === 0) throw new Error('An approval policy set needs at least one approval.');
  let compiled: NamedPolicy[];
  try {
    compiled = compileGuardPolicies({
      catalog,
      carveOuts,
      policyName: (i) => String(i),
      maxPolicies: MAX_APPROVAL_POLICIES,
    });
  } catch (error) {
    throw new Error(
      `The ${carveOuts.length} approval(s) in force on this role do not fit ${MAX_APPROVAL_POLICIES} policies ` +
        `(${error instanceof Error ? error.message : String(error)}). Revoke one, or approve fewer resources.`,
      { cause: error },
    );
  }
  const named = compiled.map((p, i) => ({
    name: approvalPolicyName(setId, i + 1, compiled.length),
    document: p.document,
  }));
  assertValidPolicies(named, PolicyKind.MANAGED);
  return named;
}
