/** IAM policy JSON, as IAM reads it. */

export type ConditionValue = string | string[];
/** `{ operator: { key: value } }` */
export type ConditionBlock = Record<string, Record<string, ConditionValue>>;

export interface PolicyStatementJson {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: string | Record<string, string | string[]>;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: ConditionBlock;
}

export interface PolicyDocumentJson {
  Version: '2012-10-17';
  Statement: PolicyStatementJson[];
}

/** A policy document with the name it is deployed under. */
export interface NamedPolicy {
  readonly name: string;
  readonly document: PolicyDocumentJson;
}

export function policyDocument(statements: PolicyStatementJson[]): PolicyDocumentJson {
  return { Version: '2012-10-17', Statement: statements };
}

/** The size IAM counts against its limits: every character but whitespace. */
export function policySize(document: PolicyDocumentJson): number {
  return JSON.stringify(document).replace(/\s/g, '').length;
}

/** Merges condition blocks; keys under the same operator are ANDed, as IAM does. */
export function mergeConditions(...blocks: (ConditionBlock | undefined)[]): ConditionBlock {
  const merged: ConditionBlock = {};
  for (const block of blocks) {
    for (const [operator, entries] of Object.entries(block ?? {})) {
      for (const key of Object.keys(entries)) {
        if (merged[operator]?.[key] !== undefined) {
          throw new Error(`Condition key ${key} appears twice under ${operator}; the statement would be ambiguous.`);
        }
      }
      merged[operator] = { ...merged[operator], ...entries };
    }
  }
  return merged;
}

export function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
