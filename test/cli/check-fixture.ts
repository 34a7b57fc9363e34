import { RolePolicies } from '../../bin/cli/check';
import { CliDeps } from '../../bin/cli/cli';
import { HttpReply } from '../../bin/cli/transport';
import { actionMatches, arnMatches } from '../../lib/core/iam/action-pattern';
import { asList, NamedPolicy } from '../../lib/core/iam/policy-document';
import type { GuardStatus } from '../../lib/core/status';
import { exampleGuardedRole } from '../support/guarded-role';
import { cannedTransport, FUNCTION_URL, LOCKED_STATUS, NOW } from './cli-fixture';

/** The example app's agent role as IAM would return it: its guard policies, boundary and guard tags. */
export const ROLE = exampleGuardedRole();
export const GUARD_POLICIES: NamedPolicy[] = ROLE.identityPolicies
  .filter((p) => p.name.startsWith('AgentGuard'))
  .map((p) => ({ name: p.name, document: p.policy }));
export const BOUNDARY: NamedPolicy = { name: ROLE.boundary.name, document: ROLE.boundary.policy };
export const VERIFIED_TAGS = { 'agent-guard:agent': 'true', 'agent-guard:constrained': 'true' };

export const STACK_ARN = 'arn:aws:cloudformation:us-east-1:111122223333:stack/prod-api/*';

/** A status evaluated `minutesAgo` before the test clock. */
export function statusAt(locked: boolean, minutesAgo: number): GuardStatus {
  return {
    ...LOCKED_STATUS,
    locked,
    protected: locked,
    reason: locked ? LOCKED_STATUS.reason : 'not production: account tag environment=dev',
    evaluatedAt: new Date(NOW.getTime() - minutesAgo * 60_000).toISOString(),
  };
}

/** Deps for an online check: the status in SSM, the role in IAM, and the approvals the function lists. */
export function online(
  options: {
    status?: GuardStatus | Error;
    role?: RolePolicies | Error;
    approvals?: HttpReply;
  } = {},
): Partial<CliDeps> & { sent: { body: unknown }[]; roleReads: string[]; parameterReads: string[] } {
  const roleReads: string[] = [];
  const parameterReads: string[] = [];
  const { transport, sent } = cannedTransport(
    options.approvals ?? { statusCode: 200, body: JSON.stringify({ ok: true, message: '0 approvals', approvals: [] }) },
  );
  const status = options.status ?? statusAt(true, 1);
  const role = options.role ?? { tags: VERIFIED_TAGS, boundary: BOUNDARY, guardPolicies: GUARD_POLICIES };
  return {
    env: { AWS_REGION: 'us-east-1', AGENT_GUARD_URL: FUNCTION_URL },
    transport,
    readParameter: (name) => {
      parameterReads.push(name);
      return status instanceof Error ? Promise.reject(status) : Promise.resolve(JSON.stringify(status));
    },
    readRole: (arn) => {
      roleReads.push(arn);
      return role instanceof Error ? Promise.reject(role) : Promise.resolve(role);
    },
    sent,
    roleReads,
    parameterReads,
  };
}

/**
 * The oracle for "which statement decided": the named statement exists in the named policy, has the
 * effect Deny, and its Action patterns match the action (read from the policy, not from the evaluator).
 */
export function statementDenies(
  policies: readonly NamedPolicy[],
  policyName: string,
  sid: string,
  action: string,
  resource: string,
): boolean {
  const statement = policies.find((p) => p.name === policyName)?.document.Statement.find((s) => s.Sid === sid);
  if (!statement || statement.Effect !== 'Deny') return false;
  const actionHit =
    statement.Action !== undefined
      ? asList(statement.Action).some((p) => actionMatches(p, action))
      : !asList(statement.NotAction).some((p) => actionMatches(p, action));
  const resourceHit =
    statement.Resource !== undefined
      ? asList(statement.Resource).some((p) => p === '*' || arnMatches(p, resource))
      : !asList(statement.NotResource).some((p) => arnMatches(p, resource));
  return actionHit && resourceHit;
}
