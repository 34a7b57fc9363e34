import { BOUNDARY_POLICY_NAME, GUARD_PATH } from '../contract';

/**
 * Reads an AWS AccessDenied message (docs/AWS-BEHAVIOUR.md IAM-100 to IAM-104): who was denied which
 * action on which resource, and by which kind of policy. The message is data, not a shell line, so a
 * regular expression over it is the right tool; nothing in it is trusted beyond its shape.
 */

/** The kind of policy an AccessDenied message names. */
export type PolicyType =
  | 'identity-based policy'
  | 'permissions boundary'
  | 'service control policy'
  | 'resource control policy'
  | 'resource-based policy'
  | 'session policy'
  | 'VPC endpoint policy'
  | 'unknown';

/** Who denied: the guard's deny policies, the guard's boundary, or something else. */
export type DenialSource = 'guard-policy' | 'guard-boundary' | 'other' | 'unknown';

export interface ParsedDenial {
  readonly principal: string;
  /** The role ARN behind the principal, when it is a role or a role session (without any role path). */
  readonly roleArn?: string;
  readonly action: string;
  /** Absent when the message names no resource. */
  readonly resource?: string;
  readonly explicit: boolean;
  readonly policyType: PolicyType;
  /** The ARN of the denying policy, when the message names it. */
  readonly policyArn?: string;
  readonly source: DenialSource;
}

/** The EC2-style message that carries only an encoded authorization failure. */
export interface EncodedDenial {
  readonly encoded: string;
}

const POLICY_TYPES: readonly PolicyType[] = [
  'identity-based policy',
  'permissions boundary',
  'service control policy',
  'resource control policy',
  'resource-based policy',
  'session policy',
  'VPC endpoint policy',
];

const ARN = String.raw`arn:[a-z-]+:[^\s]+?`;
const TYPES = String.raw`(identity-based polic(?:y|ies)|permissions boundary|service control polic(?:y|ies)|resource control polic(?:y|ies)|resource-based polic(?:y|ies)|session polic(?:y|ies)|VPC endpoint polic(?:y|ies))`;
const DENIAL = new RegExp(
  String.raw`User: (${ARN}|\S+) is not authorized to perform: ([a-z0-9-]+:[A-Za-z0-9]+)` +
    String.raw`(?: on resource: (.+?))?` +
    String.raw`(?: because no ${TYPES} allows? the \S+ action| with an explicit deny(?: in (?:an? |the )?${TYPES}(?:: (${ARN}))?)?)` +
    String.raw`(?=[.;,]?(?:\s|$))`,
  'i',
);
const ENCODED = /Encoded authorization failure message:\s*([A-Za-z0-9_\-+/=]+)/;

function policyTypeOf(text: string | undefined): PolicyType {
  if (text === undefined) return 'unknown';
  const singular = text.toLowerCase().replace(/policies$/, 'policy');
  return POLICY_TYPES.find((t) => t.toLowerCase() === singular) ?? 'unknown';
}

/** `arn:aws:sts::1:assumed-role/Name/session` and `arn:aws:iam::1:role/path/Name` → the role ARN. */
export function roleArnOf(principal: string): string | undefined {
  const session = /^arn:([a-z-]+):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(principal);
  if (session) return `arn:${session[1]}:iam::${session[2]}:role/${session[3]}`;
  return /^arn:[a-z-]+:iam::\d{12}:role\/.+$/.test(principal) ? principal : undefined;
}

function sourceOf(explicit: boolean, type: PolicyType, policyArn: string | undefined): DenialSource {
  if (type === 'identity-based policy' && explicit) {
    if (policyArn === undefined) return 'unknown';
    return policyArn.includes(`:policy${GUARD_PATH}`) && !policyArn.endsWith(`/${BOUNDARY_POLICY_NAME}`)
      ? 'guard-policy'
      : 'other';
  }
  if (type === 'permissions boundary') {
    // The guard's boundary is the only boundary an agent role can hold (the guard refuses others).
    if (policyArn === undefined) return 'guard-boundary';
    return policyArn.endsWith(`${GUARD_PATH}${BOUNDARY_POLICY_NAME}`) ? 'guard-boundary' : 'other';
  }
  return type === 'unknown' ? 'unknown' : 'other';
}

/** The denial in `message`, or the encoded EC2 form, or undefined when the text is neither. */
export function parseDenial(message: string): ParsedDenial | EncodedDenial | undefined {
  const flat = message.replace(/\s+/g, ' ');
  const match = DENIAL.exec(flat);
  if (match) {
    const [, principal, action, resource, implicitType, explicitType, policyArn] = match;
    const explicit = implicitType === undefined && match[0].includes('explicit deny');
    const policyType = policyTypeOf(explicit ? explicitType : implicitType);
    const roleArn = roleArnOf(principal);
    return {
      principal,
      ...(roleArn ? { roleArn } : {}),
      action,
      ...(resource ? { resource } : {}),
      explicit,
      policyType,
      ...(policyArn ? { policyArn } : {}),
      source: sourceOf(explicit, policyType, policyArn),
    };
  }
  const encoded = ENCODED.exec(flat);
  return encoded ? { encoded: encoded[1] } : undefined;
}

export function isEncoded(denial: ParsedDenial | EncodedDenial): denial is EncodedDenial {
  return 'encoded' in denial;
}
