import { actionMatches, arnMatches } from '../iam/action-pattern';
import { resourceServicesOf } from '../catalog/resource-services';
import { asList, ConditionValue, NamedPolicy, PolicyStatementJson } from '../iam/policy-document';

/**
 * A small IAM evaluator for exactly the policy grammar agent-guard emits: Allow and explicit Deny,
 * Action/NotAction, Resource/NotResource and the condition operators of the guard policies and the
 * boundary. Anything it does not know (an operator, a policy variable, a Principal element, a context
 * key the caller could not supply) makes the answer "unknown", never "allowed": callers treat unknown as
 * denied. It evaluates one account's identity policies and permission boundary only (no SCP, RCP,
 * resource policy or session policy). The AGPL IAM engine checks it in test/semantics/check-agrees.test.ts.
 */

/** The request as IAM would see it. */
export interface EvaluationRequest {
  readonly action: string;
  /** The resource ARN, or `*` for an action that takes no resource (IAM then matches `*` as written). */
  readonly resource: string;
  /**
   * The resource is not known: a statement on named resources may or may not apply, so it makes the
   * answer unknown. @default false
   */
  readonly resourceUnknown?: boolean;
  /** Condition keys and their values; multi-valued keys as arrays. Key names are matched without case. */
  readonly context: Readonly<Record<string, string | readonly string[]>>;
  /**
   * Keys not in `context` that may be present in the real request: conditions on them are unknown. Keys for
   * which this returns false are absent. @default - every key not in `context` is absent
   */
  readonly unknownKey?: (key: string) => boolean;
}

export interface EvaluationPolicies {
  /** The identity policies to evaluate (the guard's, with any others the caller knows). */
  readonly identity: readonly NamedPolicy[];
  /** The permission boundary, if the principal has one. */
  readonly boundary?: NamedPolicy;
  /**
   * Take an identity-based Allow for granted, when only the guard's policies were read: the answer is then
   * "the guard does not deny it", not "it is allowed". @default false
   */
  readonly assumeIdentityAllows?: boolean;
}

export type Decision = 'denied' | 'allowed' | 'unknown';
/** What decided: an explicit Deny, or a policy type with no matching Allow. */
export type DecisionKind = 'explicit-deny' | 'boundary-no-allow' | 'identity-no-allow';

export interface Decider {
  readonly policy: string;
  readonly sid?: string;
  readonly kind: DecisionKind;
}

export interface Verdict {
  readonly decision: Decision;
  /** The statement (or policy) that decided a denial; for unknown, the first statement that might. */
  readonly decidedBy?: Decider;
  /** Why the answer is unknown. */
  readonly unknowns: readonly string[];
}

/** Three-valued: a statement or condition holds, does not, or cannot be told. */
type Tri = true | false | string;

function and(results: Tri[]): Tri {
  if (results.includes(false)) return false;
  return results.find((r) => typeof r === 'string') ?? true;
}

function or(results: Tri[]): Tri {
  if (results.includes(true)) return true;
  return results.find((r) => typeof r === 'string') ?? false;
}

function not(result: Tri): Tri {
  return typeof result === 'string' ? result : !result;
}

/** Evaluates `request` against `policies` as IAM does within one account. */
export function evaluate(request: EvaluationRequest, policies: EvaluationPolicies): Verdict {
  const all = [...policies.identity, ...(policies.boundary ? [policies.boundary] : [])];
  let maybeDeny: { by: Decider; why: string } | undefined;
  for (const policy of all) {
    for (const statement of policy.document.Statement) {
      if (statement.Effect !== 'Deny') continue;
      const applies = statementApplies(statement, request);
      const by: Decider = {
        policy: policy.name,
        ...(statement.Sid ? { sid: statement.Sid } : {}),
        kind: 'explicit-deny',
      };
      if (applies === true) return { decision: 'denied', decidedBy: by, unknowns: [] };
      if (typeof applies === 'string') maybeDeny ??= { by, why: applies };
    }
  }
  if (maybeDeny) {
    return {
      decision: 'unknown',
      decidedBy: maybeDeny.by,
      unknowns: [`${label(maybeDeny.by)} may deny it: ${maybeDeny.why}`],
    };
  }
  const grants: [readonly NamedPolicy[], DecisionKind, boolean][] = [
    [policies.boundary ? [policies.boundary] : [], 'boundary-no-allow', policies.boundary === undefined],
    [policies.identity, 'identity-no-allow', policies.assumeIdentityAllows === true],
  ];
  for (const [set, kind, skip] of grants) {
    if (skip) continue;
    const allowed = or(
      set.flatMap((p) =>
        p.document.Statement.filter((s) => s.Effect === 'Allow').map((s) => statementApplies(s, request)),
      ),
    );
    const decider: Decider = { policy: kind === 'boundary-no-allow' ? set[0].name : 'identity-based policies', kind };
    if (allowed === false) return { decision: 'denied', decidedBy: decider, unknowns: [] };
    if (typeof allowed === 'string') {
      return {
        decision: 'unknown',
        decidedBy: decider,
        unknowns: [`an Allow of ${decider.policy} may not apply: ${allowed}`],
      };
    }
  }
  return { decision: 'allowed', unknowns: [] };
}

function label(by: Decider): string {
  return by.sid ? `statement ${by.sid} of ${by.policy}` : by.policy;
}

function statementApplies(statement: PolicyStatementJson, request: EvaluationRequest): Tri {
  if (statement.Principal !== undefined) return 'the statement names a Principal, which identity policies do not';
  const actionHit =
    statement.Action !== undefined
      ? asList(statement.Action).some((p) => actionMatches(p, request.action))
      : !asList(statement.NotAction).some((p) => actionMatches(p, request.action));
  if (!actionHit) return false;
  const resource: Tri =
    statement.Resource !== undefined
      ? or(asList(statement.Resource).map((p) => resourceMatches(p, request)))
      : not(or(asList(statement.NotResource).map((p) => resourceMatches(p, request))));
  if (resource === false) return false;
  return and([resource, conditionHolds(statement.Condition ?? {}, request)]);
}

function resourceMatches(pattern: string, request: EvaluationRequest): Tri {
  if (pattern === '*') return true;
  if (request.resourceUnknown) {
    return actsOnServiceOf(request.action, pattern)
      ? `the resource is not known, and the statement names ${pattern}`
      : false;
  }
  return arnMatches(pattern, request.resource);
}

/**
 * Whether `action` can act on a resource `pattern` names: false only when the pattern's ARN names a
 * literal service none of whose resources the action's service acts on (resource-services.ts).
 */
function actsOnServiceOf(action: string, pattern: string): boolean {
  const arnService = pattern.startsWith('arn:') ? pattern.split(':')[2] : undefined;
  if (arnService === undefined || /[*?$]/.test(arnService)) return true;
  const reach = resourceServicesOf(action.slice(0, action.indexOf(':')).toLowerCase());
  return reach === undefined || reach.has(arnService);
}

/** The operators this evaluator knows, by base name (no set prefix, no IfExists). */
const OPERATORS: Record<string, { negated: boolean; test: (policy: string, value: string) => boolean | undefined }> = {
  StringEquals: { negated: false, test: (p, v) => p === v },
  StringNotEquals: { negated: true, test: (p, v) => p === v },
  StringEqualsIgnoreCase: { negated: false, test: (p, v) => p.toLowerCase() === v.toLowerCase() },
  StringNotEqualsIgnoreCase: { negated: true, test: (p, v) => p.toLowerCase() === v.toLowerCase() },
  StringLike: { negated: false, test: (p, v) => arnMatches(p, v) },
  StringNotLike: { negated: true, test: (p, v) => arnMatches(p, v) },
  ArnEquals: { negated: false, test: (p, v) => arnLike(p, v) },
  ArnLike: { negated: false, test: (p, v) => arnLike(p, v) },
  ArnNotEquals: { negated: true, test: (p, v) => arnLike(p, v) },
  ArnNotLike: { negated: true, test: (p, v) => arnLike(p, v) },
  Bool: { negated: false, test: (p, v) => p.toLowerCase() === v.toLowerCase() },
  DateEquals: { negated: false, test: dateTest((a, b) => a === b) },
  DateNotEquals: { negated: true, test: dateTest((a, b) => a === b) },
  DateLessThan: { negated: false, test: dateTest((policy, value) => value < policy) },
  DateLessThanEquals: { negated: false, test: dateTest((policy, value) => value <= policy) },
  DateGreaterThan: { negated: false, test: dateTest((policy, value) => value > policy) },
  DateGreaterThanEquals: { negated: false, test: dateTest((policy, value) => value >= policy) },
};

/** A date comparison; undefined (unknown) when either side is not a date IAM would read. */
function dateTest(compare: (policy: number, value: number) => boolean) {
  return (policy: string, value: string): boolean | undefined => {
    const [p, v] = [policy, value].map((d) => (/^\d+$/.test(d) ? Number(d) * 1000 : Date.parse(d)));
    return Number.isNaN(p) || Number.isNaN(v) ? undefined : compare(p, v);
  };
}

/** ArnLike and ArnEquals: each of the six colon-separated parts is matched on its own, with wildcards. */
function arnLike(pattern: string, value: string): boolean {
  const split = (arn: string) => {
    const parts = arn.split(':');
    return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(':')];
  };
  const [p, v] = [split(pattern), split(value)];
  if (!p || !v) return false;
  return p.every((part, i) => arnMatches(part, v[i]));
}

function lookup(request: EvaluationRequest, key: string): readonly string[] | undefined | 'unknown' {
  const lower = key.toLowerCase();
  const found = Object.entries(request.context).find(([k]) => k.toLowerCase() === lower);
  if (found) return typeof found[1] === 'string' ? [found[1]] : found[1];
  return request.unknownKey?.(key) ? 'unknown' : undefined;
}

/** Operators are ANDed, keys under one operator are ANDed, values of one key are ORed. */
function conditionHolds(condition: Record<string, Record<string, ConditionValue>>, request: EvaluationRequest): Tri {
  return and(
    Object.entries(condition).flatMap(([operator, entries]) =>
      Object.entries(entries).map(([key, value]) => operatorHolds(operator, key, asList(value), request)),
    ),
  );
}

function operatorHolds(operator: string, key: string, policyValues: string[], request: EvaluationRequest): Tri {
  const parsed = /^(ForAnyValue:|ForAllValues:)?(.+?)(IfExists)?$/.exec(operator)!;
  const [, set, base, ifExists] = parsed;
  if (policyValues.some((v) => v.includes('${'))) return `${operator} on ${key} uses a policy variable`;
  const values = lookup(request, key);
  if (values === 'unknown') return `the value of ${key} is not known`;
  if (base === 'Null') {
    if (set || ifExists || policyValues.some((v) => !/^(true|false)$/i.test(v)))
      return `${operator} is not a Null test IAM knows`;
    const absent = values === undefined || values.length === 0;
    return policyValues.some((v) => (v.toLowerCase() === 'true') === absent);
  }
  const op = OPERATORS[base];
  if (!op) return `the condition operator ${operator} is not one this evaluator knows`;
  // One context value against the policy's values: any match for a positive operator, none for a negated one.
  const one = (value: string): Tri => {
    const hits = policyValues.map((p) => op.test(p, value));
    if (hits.includes(undefined)) return `${operator} on ${key} compares a value that is not a date`;
    const any = hits.includes(true);
    return op.negated ? !any : any;
  };
  if (values === undefined || values.length === 0) {
    if (set === 'ForAnyValue:') return false;
    if (set === 'ForAllValues:') return true;
    return ifExists ? true : op.negated;
  }
  if (set === 'ForAnyValue:') return or(values.map(one));
  if (set === 'ForAllValues:') return and(values.map(one));
  if (values.length > 1) return `${operator} without ForAnyValue or ForAllValues on the multi-valued key ${key}`;
  return one(values[0]);
}
