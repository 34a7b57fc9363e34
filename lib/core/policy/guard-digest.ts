import { createHash } from 'node:crypto';
import { GUARD_DIGEST_LENGTH } from '../contract';
import { PolicyDocumentJson } from '../iam/policy-document';

/**
 * The digest of the standard guard policies, in order: the first {@link GUARD_DIGEST_LENGTH} hex
 * characters of the SHA-256 of their canonical JSON. Canonical: object keys sorted, a one-element list
 * written as its element (CDK and IAM may write either), so the digest of the documents as compiled
 * equals that of the documents in the template. Approval versions carry it in their name; the guard
 * and the approval function count a version of another digest as standing in for nothing.
 */
export function guardPolicyDigest(documents: readonly PolicyDocumentJson[]): string {
  return createHash('sha256').update(canonicalJson(documents)).digest('hex').slice(0, GUARD_DIGEST_LENGTH);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return value.length === 1 ? canonicalJson(value[0]) : `[${value.map(canonicalJson).join(',')}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
