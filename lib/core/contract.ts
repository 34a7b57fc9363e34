/**
 * The public tag and naming contract (DESIGN.md). Other tools and tests rely on these values.
 */

/** Tag an IAM role with this key and the value `true` to make it an AI-agent role. */
export const AGENT_TAG = 'agent-guard:agent';
/** The value of {@link AGENT_TAG} that marks an agent role. */
export const AGENT_TAG_VALUE = 'true';
/** Written by the guard only. `open` unlocks destructive actions; absent or any other value is locked. */
export const STATE_TAG = 'agent-guard:state';
/** The only value of {@link STATE_TAG} that unlocks. */
export const STATE_OPEN = 'open';
/** Written by the guard only: the id of the approval in force on a role. It grants nothing. */
export const APPROVAL_TAG = 'agent-guard:approval';
/**
 * Written by the guard only, as `true`, once it has read back that the role holds the boundary, a
 * complete guard deny set and the trust policy's session-tag deny. The boundary allows nothing without it.
 */
export const CONSTRAINED_TAG = 'agent-guard:constrained';
/** The value of {@link CONSTRAINED_TAG} that the boundary's ceiling requires. */
export const CONSTRAINED_TAG_VALUE = 'true';
/** Carried by every resource the guard deploys that can be tagged. */
export const COMPONENT_TAG = 'agent-guard:component';
/** The tag CDK bootstrap puts on its roles (`deploy`, `lookup`, `file-publishing`, `image-publishing`). */
export const CDK_BOOTSTRAP_ROLE_TAG = 'aws-cdk:bootstrap-role';

/** IAM path of every guard-owned managed policy and role. */
export const GUARD_PATH = '/agent-guard/';
/**
 * IAM path of the customer managed policies agents make: the only policies whose versions agents may
 * change (other policies may be attached to principals outside the boundary).
 */
export const AGENT_POLICY_PATH = '/agent-made/';
/** Name prefix of guard resources that have names. */
export const GUARD_NAME_PREFIX = 'AgentGuard';
/** The guard's periodic rule: it exists exactly while the guard can re-constrain roles. */
export const GUARD_SCHEDULE_RULE_NAME = `${GUARD_NAME_PREFIX}Schedule`;
/** Name of the permission boundary managed policy. */
/** The CloudWatch namespace of the guard function's metrics (Powertools EMF). */
export const METRICS_NAMESPACE = GUARD_NAME_PREFIX;
/** The guard function's service name: its logs' `service` key and its metrics' `service` dimension. */
export const GUARD_SERVICE_NAME = 'agent-guard';

export const BOUNDARY_POLICY_NAME = `${GUARD_NAME_PREFIX}Boundary`;
/** Name of the n-th (1-based) standard guard deny policy. */
export function guardPolicyName(index: number): string {
  return `${GUARD_NAME_PREFIX}Deny${index}`;
}

/**
 * Matches every tag key that spells `agent-guard:` in any letter case (IAM compares tag keys in
 * condition keys without case, but `StringLike` compares values with case), and some harmless others.
 */
export const GUARD_TAG_KEY_PATTERN = '?????-?????:*';
/** The same, for the `aws-cdk:` keys whose forgery would make a role look like a CDK bootstrap role. */
export const CDK_TAG_KEY_PATTERN = '???-???:*';

/** IAM's limit for a managed policy, in characters not counting whitespace. */
export const MANAGED_POLICY_MAX_CHARS = 6144;
/**
 * What the compiler fills a guard policy or an approval version to: 90% of
 * {@link MANAGED_POLICY_MAX_CHARS}, so the catalog can grow by a tenth (AWS adds actions every month)
 * before the same layout stops fitting IAM's limit.
 */
export const GUARD_POLICY_BUDGET_CHARS = 5530;
/** Most standard guard policies: each takes one of the role's managed-policy places (IAM-1). */
export const MAX_GUARD_POLICIES = 4;
/** IAM's default limit for a role trust policy, in characters not counting whitespace. */
export const TRUST_POLICY_MAX_CHARS = 2048;

/** The tag value the guard writes to lock a role explicitly (any value but `open` locks). */
export const STATE_LOCKED = 'locked';
/** Sid of the trust-policy statement that denies every caller the `agent-guard:*` session tags. */
export const TRUST_DENY_SID = 'AgentGuardNoGuardSessionTags';
/** Name prefix of a role's approval versions of the guard policies. */
export const APPROVAL_POLICY_PREFIX = `${GUARD_NAME_PREFIX}Approval`;

/**
 * Hex characters of a guard policy digest: the start of the SHA-256 of the standard guard policy
 * documents the construct compiled (lib/core/policy/guard-digest.ts). 40 bits tell a redeploy's
 * policies from the last ones; nobody chooses the documents to collide.
 */
export const GUARD_DIGEST_LENGTH = 10;
/** Matches a guard policy digest. */
export const GUARD_DIGEST_PATTERN = new RegExp(`^[0-9a-f]{${GUARD_DIGEST_LENGTH}}$`);

/**
 * Name of the n-th of `count` approval versions of a role's guard policies; this one stands in for the
 * standard policy {@link guardPolicyName}(`replaces`) as compiled with digest `digest`. The set id is
 * that of the newest approval in the set; the count lets anyone tell a complete set from a
 * half-attached one; the digest ties the version to the standard policies it was cut from.
 */
export function approvalPolicyName(
  setId: string,
  index: number,
  count: number,
  replaces: number,
  digest: string,
): string {
  return `${APPROVAL_POLICY_PREFIX}-${setId}-${index}of${count}-Deny${replaces}-${digest}`;
}

// Also matches the names made before versions carried a digest (`-Deny<k>`) or replaced single
// policies (no `-Deny<k>`), so the reconcile and the uninstall still find and remove them.
const APPROVAL_POLICY_ARN = new RegExp(
  `^arn:[a-z-]+:iam::\\d{12}:policy${GUARD_PATH}${APPROVAL_POLICY_PREFIX}-([A-Za-z0-9]+)-(\\d+)of(\\d+)` +
    `(?:-Deny(\\d+)(?:-([0-9a-f]+))?)?$`,
);

/** The parts of an approval version's name; `replaces` and `digest` are absent from older names. */
export interface ApprovalPolicyParts {
  readonly setId: string;
  readonly index: number;
  readonly count: number;
  /** The index of the standard policy it stands in for. */
  readonly replaces?: number;
  /** The digest of the standard policies it was compiled against. */
  readonly digest?: string;
}

/** The parts of an approval version's ARN, or undefined for any other ARN. */
export function parseApprovalPolicyArn(arn: string): ApprovalPolicyParts | undefined {
  const match = APPROVAL_POLICY_ARN.exec(arn);
  if (!match) return undefined;
  return {
    setId: match[1],
    index: Number(match[2]),
    count: Number(match[3]),
    ...(match[4] === undefined ? {} : { replaces: Number(match[4]) }),
    ...(match[5] === undefined ? {} : { digest: match[5] }),
  };
}

/**
 * Whether an approval version may stand in for a standard policy: it names the one it replaces and
 * was compiled against the standard policies deployed now (`digest`). After a redeploy that changed
 * them, a version may deny less than the standard policy of the same index now holds; a version named
 * before versions carried a digest counts as compiled against other policies. Neither stands in.
 */
function standsIn(
  parts: ApprovalPolicyParts | undefined,
  digest: string,
): parts is ApprovalPolicyParts & { readonly replaces: number } {
  return parts?.replaces !== undefined && parts.digest === digest;
}

/**
 * The approval versions of set `setId` among `attachedPolicyArns`, when all of them are there (every
 * index from 1 to the count, once) and every one stands in under `digest`; undefined for a missing,
 * half-attached or stale set.
 */
export function completeApprovalSet(
  attachedPolicyArns: readonly string[],
  setId: string,
  digest: string,
): string[] | undefined {
  const versions = attachedPolicyArns.filter((arn) => parseApprovalPolicyArn(arn)?.setId === setId);
  const parts = versions.map(parseApprovalPolicyArn);
  const count = parts[0]?.count ?? 0;
  const complete =
    count > 0 &&
    parts.length === count &&
    parts.every((p) => standsIn(p, digest) && p.count === count) &&
    new Set(parts.map((p) => p?.index)).size === count;
  return complete ? versions : undefined;
}

/**
 * The sets among `attachedPolicyArns` with a version that cannot stand in under `digest`: compiled
 * against other standard policies (a redeploy changed them) or named before versions carried a digest.
 */
export function staleApprovalSets(attachedPolicyArns: readonly string[], digest: string): string[] {
  const stale = attachedPolicyArns
    .map(parseApprovalPolicyArn)
    .filter((p): p is ApprovalPolicyParts => p !== undefined && !standsIn(p, digest));
  return [...new Set(stale.map((p) => p.setId))];
}

/**
 * The guard policies a role must hold: with the approval set `setId` complete and current (`digest`)
 * on it, the standard policies its versions do not stand in for, then the versions; otherwise (no
 * approval, a half-done swap, a set compiled against other guard policies) `standard` itself, the same
 * array, which denies everything an approval set does.
 */
export function requiredGuardPolicyArns(
  attachedPolicyArns: readonly string[],
  setId: string | undefined,
  standard: readonly string[],
  digest: string,
): readonly string[] {
  const versions = setId === undefined ? undefined : completeApprovalSet(attachedPolicyArns, setId, digest);
  return versions ? withApprovalVersions(standard, versions, digest) : standard;
}

/**
 * The standard policies `versions` do not stand in for, then `versions`. A version of another digest
 * stands in for none.
 */
export function withApprovalVersions(
  standard: readonly string[],
  versions: readonly string[],
  digest: string,
): string[] {
  const replaced = versions.map(parseApprovalPolicyArn).flatMap((p) => (standsIn(p, digest) ? [p.replaces] : []));
  const kept = standard.filter((arn) => !replaced.some((i) => arn.endsWith(`${GUARD_PATH}${guardPolicyName(i)}`)));
  return [...kept, ...versions];
}

/** Default SSM parameter where the guard publishes the account's status for agents to read. */
export const DEFAULT_STATUS_PARAMETER = `${GUARD_PATH}status`;
/** SSM parameter where the construct publishes the approval function's URL for the CLI. */
export const APPROVALS_URL_PARAMETER = `${GUARD_PATH}approvals-url`;
/** EventBridge Scheduler group of the approvals' one-shot expiry schedules. */
export const SCHEDULE_GROUP = 'agent-guard';

/** Key prefix of a role's item in the lease table: `role#<role name>`. */
export const ROLE_LEASE_PREFIX = 'role#';
/** The lease table's item that records the latest lock decision of any guard evaluation. */
export const LOCK_DECISION_KEY = 'decision#lock';
