import { GUARD_TAG_KEY_PATTERN, TRUST_DENY_SID } from '../contract';
import { PolicyStatementJson } from '../iam/policy-document';

/**
 * The trust-policy statement every agent role carries: whoever assumes the role may not set
 * `agent-guard:*` session tags, which would override the role's own tags. The construct adds it at
 * synth and the guard restores it at run time, so both use this one definition.
 */
export const TRUST_DENY_STATEMENT: PolicyStatementJson = {
  Sid: TRUST_DENY_SID,
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: 'sts:TagSession',
  Condition: { 'ForAnyValue:StringLike': { 'aws:TagKeys': [GUARD_TAG_KEY_PATTERN] } },
};
