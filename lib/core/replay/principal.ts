import { arnMatches } from '../iam/action-pattern';

/**
 * Who made a CloudTrail call, from its `userIdentity` (docs/AWS-BEHAVIOUR.md CT-22). Only an IAM role's
 * session (`AssumedRole`) can be an agent role; users, federated users, AWS services, the root user and
 * the rest are never agents here.
 */
export interface CallPrincipal {
  /** The role ARN for a role session; else the identity's ARN, or its type and service. */
  readonly name: string;
  /** Set for a role session. */
  readonly role?: {
    readonly arn: string;
    readonly partition: string;
    readonly account: string;
    /** False when the role came from the session ARN, which does not carry the role's path. */
    readonly pathKnown: boolean;
  };
}

const ROLE_ARN = /^arn:([a-z-]+):iam::(\d{12}):role\/(?:[^/]+\/)*[^/]+$/;
const SESSION_ARN = /^arn:([a-z-]+):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/;

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The principal of a record's `userIdentity`, or why it cannot be read. */
export function principalOf(userIdentity: unknown): CallPrincipal | string {
  if (typeof userIdentity !== 'object' || userIdentity === null) return 'no userIdentity object';
  const identity = userIdentity as Record<string, unknown>;
  const type = str(identity.type);
  if (!type) return 'userIdentity has no type';
  if (type !== 'AssumedRole') {
    const by = str(identity.invokedBy);
    return { name: str(identity.arn) ?? (by ? `${type} ${by}` : type) };
  }
  // The session issuer carries the role's full ARN, path included (CT-3); the session ARN does not.
  const issuer = (identity.sessionContext as { sessionIssuer?: { type?: unknown; arn?: unknown } } | undefined)
    ?.sessionIssuer;
  const issuerArn = issuer?.type === 'Role' ? str(issuer.arn) : undefined;
  const full = issuerArn !== undefined ? ROLE_ARN.exec(issuerArn) : null;
  if (full) {
    return { name: issuerArn!, role: { arn: issuerArn!, partition: full[1], account: full[2], pathKnown: true } };
  }
  const session = SESSION_ARN.exec(str(identity.arn) ?? '');
  if (!session)
    return 'an AssumedRole identity without a role session ARN (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION)';
  const [, partition, account, name] = session;
  const arn = `arn:${partition}:iam::${account}:role/${name}`;
  return { name: arn, role: { arn, partition, account, pathKnown: false } };
}

/** An `--agent-role` value: a role ARN or ARN pattern, or a role name or name pattern. */
export interface AgentRolePattern {
  /** The ARN pattern, for an ARN value. */
  readonly arn?: string;
  /** The name part (after the last `/`): all that a name value gives, and what a session ARN can be matched on. */
  readonly name: string;
  /** For an ARN value: the pattern with its path left out (`...:role/team/agent-*` as `...:role/agent-*`). */
  readonly withoutPath?: string;
}

const NAME_PATTERN = /^[\w+=,.@*?-]{1,64}$/;

/** The pattern an `--agent-role` value stands for, or undefined when it is neither a role ARN nor a name. */
export function agentRolePattern(value: string): AgentRolePattern | undefined {
  if (!value.startsWith('arn:')) return NAME_PATTERN.test(value) ? { name: value } : undefined;
  const parts = /^(arn:[a-z*?-]+:iam::[0-9*?]*:role\/)(.*\/)?([^/]+)$/.exec(value);
  if (!parts) return undefined;
  return { arn: value, name: parts[3], withoutPath: `${parts[1]}${parts[3]}` };
}

/**
 * How the role matches the agent patterns: 'exact' by its ARN, or by its name for a name pattern; 'name'
 * when an ARN pattern is matched with the path left out, because the session ARN does not carry the role's
 * path (the match may then be wider or narrower than the pattern meant); or undefined.
 */
export function matchAgentRole(
  role: NonNullable<CallPrincipal['role']>,
  patterns: readonly AgentRolePattern[],
): 'exact' | 'name' | undefined {
  const name = role.arn.slice(role.arn.lastIndexOf('/') + 1);
  for (const p of patterns) {
    if (p.arn === undefined ? arnMatches(p.name, name) : role.pathKnown && arnMatches(p.arn, role.arn)) return 'exact';
  }
  if (role.pathKnown) return undefined;
  return patterns.some((p) => p.withoutPath !== undefined && arnMatches(p.withoutPath, role.arn)) ? 'name' : undefined;
}
