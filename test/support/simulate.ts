import { runSimulation } from '@cloud-copilot/iam-simulate';
import { AGENT_TAG, CONSTRAINED_TAG, STATE_OPEN, STATE_TAG } from '../../lib/core/contract';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { ACCOUNT } from './guarded-role';

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** The lock states every anti-tamper test runs in. `locked` has no state tag at all: fail closed. */
export const STATES = {
  locked: {},
  lockedByOtherValue: { [`aws:PrincipalTag/${STATE_TAG}`]: 'Open' },
  open: { [`aws:PrincipalTag/${STATE_TAG}`]: STATE_OPEN },
} as const;

/** The tags of an agent role the guard has verified: the agent tag and the constrained tag. */
export const VERIFIED_AGENT_TAGS: Readonly<Record<string, string>> = {
  [`aws:PrincipalTag/${AGENT_TAG}`]: 'true',
  [`aws:PrincipalTag/${CONSTRAINED_TAG}`]: 'true',
};

export interface Principal {
  readonly identityPolicies: { name: string; policy: PolicyDocumentJson }[];
  readonly boundary?: { name: string; policy: PolicyDocumentJson };
  /** Tags of the principal, as `aws:PrincipalTag/...` context. @default VERIFIED_AGENT_TAGS */
  readonly principalTags?: Record<string, string>;
}

export interface Request {
  readonly action: string;
  readonly resource?: string;
  readonly context?: Record<string, string | string[]>;
}

const DEFAULT_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
};

/** Runs IAM's evaluation for one request by the given principal; throws on a simulator error. */
export async function decide(principal: Principal, request: Request): Promise<Decision> {
  const tags = principal.principalTags ?? VERIFIED_AGENT_TAGS;
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${ACCOUNT}:role/ExampleAgentRole`,
        action: request.action,
        resource: { resource: request.resource ?? '*', accountId: ACCOUNT },
        contextVariables: { 'aws:PrincipalAccount': ACCOUNT, ...tags, ...request.context },
      },
      identityPolicies: principal.identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      permissionBoundaryPolicies: principal.boundary ? [principal.boundary] : [],
      // KMS authorizes only through the key policy; the default one delegates to IAM.
      resourcePolicy: request.action.toLowerCase().startsWith('kms:') ? DEFAULT_KEY_POLICY : undefined,
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new Error(`simulation of ${request.action} failed: ${JSON.stringify(result.errors)}`);
  }
  return result.overallResult;
}
