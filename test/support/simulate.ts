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
  /** @default an agent role of the test account */
  readonly arn?: string;
}

/** Organization policies over the account: an SCP (beside `FullAWSAccess`) and an RCP. */
export interface OrganizationPolicies {
  readonly scp?: PolicyDocumentJson;
  readonly rcp?: PolicyDocumentJson;
}

const FULL_AWS_ACCESS = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

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
export async function decide(
  principal: Principal,
  request: Request,
  organization: OrganizationPolicies = {},
): Promise<Decision> {
  const tags = principal.principalTags ?? VERIFIED_AGENT_TAGS;
  const { scp, rcp } = organization;
  const arn = principal.arn ?? `arn:aws:iam::${ACCOUNT}:role/ExampleAgentRole`;
  const result = await runSimulation(
    {
      request: {
        principal: arn,
        action: request.action,
        resource: { resource: request.resource ?? '*', accountId: ACCOUNT },
        // IAM sets aws:PrincipalArn on every request; for a role session it is the role's ARN.
        contextVariables: { 'aws:PrincipalAccount': ACCOUNT, 'aws:PrincipalArn': arn, ...tags, ...request.context },
      },
      identityPolicies: principal.identityPolicies,
      serviceControlPolicies: scp
        ? [
            {
              orgIdentifier: ACCOUNT,
              policies: [
                { name: 'FullAWSAccess', policy: FULL_AWS_ACCESS },
                { name: 'scp', policy: scp },
              ],
            },
          ]
        : [],
      resourceControlPolicies: rcp ? [{ orgIdentifier: ACCOUNT, policies: [{ name: 'rcp', policy: rcp }] }] : [],
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
