import { iamReference } from '../catalog/iam-reference';
import { MANAGED_POLICY_MAX_CHARS, TRUST_POLICY_MAX_CHARS } from '../contract';
import { asList, NamedPolicy, PolicyDocumentJson, policySize, PolicyStatementJson } from '../iam/policy-document';

/** Which of IAM's rules a document must meet. */
export enum PolicyKind {
  /** A customer managed policy, also used as a permission boundary. */
  MANAGED = 'managed',
  /** A role trust policy: it names principals and no resources. */
  TRUST = 'trust',
}

const BASE_OPERATORS = [
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'NumericEquals',
  'NumericNotEquals',
  'NumericLessThan',
  'NumericLessThanEquals',
  'NumericGreaterThan',
  'NumericGreaterThanEquals',
  'DateEquals',
  'DateNotEquals',
  'DateLessThan',
  'DateLessThanEquals',
  'DateGreaterThan',
  'DateGreaterThanEquals',
  'Bool',
  'BinaryEquals',
  'IpAddress',
  'NotIpAddress',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
];
const OPERATOR = new RegExp(`^((ForAnyValue|ForAllValues):)?(${BASE_OPERATORS.join('|')})(IfExists)?$|^Null$`);
const ACTION = /^([a-z0-9-]+):([A-Za-z0-9*?]+)$/;
const SID = /^[A-Za-z0-9]*$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Lists every way a document breaks IAM's rules; an empty list means IAM would accept it. */
export function policyProblems(document: PolicyDocumentJson, kind: PolicyKind): string[] {
  const problems: string[] = [];
  const limit = kind === PolicyKind.TRUST ? TRUST_POLICY_MAX_CHARS : MANAGED_POLICY_MAX_CHARS;
  const size = policySize(document);
  if (size > limit) problems.push(`is ${size} characters, over IAM's limit of ${limit}`);
  if (document.Version !== '2012-10-17') problems.push(`has Version ${String(document.Version)}, not 2012-10-17`);
  if (document.Statement.length === 0) problems.push('has no statements');
  const sids = document.Statement.map((s) => s.Sid).filter((sid) => sid !== undefined);
  sids.filter((sid, i) => sids.indexOf(sid) !== i).forEach((sid) => problems.push(`repeats Sid ${sid}`));
  document.Statement.forEach((statement, i) => {
    const where = `statement ${statement.Sid ?? i + 1}`;
    statementProblems(statement, kind).forEach((problem) => problems.push(`${where}: ${problem}`));
  });
  return problems;
}

/** Throws one error naming every problem of every policy, so synth fails with the whole picture. */
export function assertValidPolicies(policies: readonly NamedPolicy[], kind: PolicyKind): void {
  const problems = policies.flatMap((p) => policyProblems(p.document, kind).map((problem) => `${p.name} ${problem}`));
  if (problems.length > 0) {
    throw new Error(`agent-guard generated a policy that IAM would reject:\n- ${problems.join('\n- ')}`);
  }
}

function statementProblems(statement: PolicyStatementJson, kind: PolicyKind): string[] {
  const problems: string[] = [];
  if (statement.Sid !== undefined && !SID.test(statement.Sid)) problems.push('Sid must be letters and digits only');
  if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') problems.push(`Effect ${String(statement.Effect)}`);
  if ((statement.Action === undefined) === (statement.NotAction === undefined)) {
    problems.push('needs exactly one of Action and NotAction');
  }
  if (kind === PolicyKind.TRUST) {
    if (statement.Principal === undefined) problems.push('a trust policy statement needs a Principal');
  } else {
    if (statement.Principal !== undefined) problems.push('an identity policy cannot name a Principal');
    if ((statement.Resource === undefined) === (statement.NotResource === undefined)) {
      problems.push('needs exactly one of Resource and NotResource');
    }
  }
  const actions = [...asList(statement.Action), ...asList(statement.NotAction)];
  if (actions.length === 0 && (statement.Action ?? statement.NotAction) !== undefined)
    problems.push('has an empty action list');
  actions.forEach((action) => problems.push(...actionProblems(action)));
  [...asList(statement.Resource), ...asList(statement.NotResource)].forEach((resource) => {
    if (resource !== '*' && !resource.startsWith('arn:'))
      problems.push(`resource '${resource}' is neither * nor an ARN`);
  });
  for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
    if (!OPERATOR.test(operator)) problems.push(`'${operator}' is not an IAM condition operator`);
    for (const [key, value] of Object.entries(entries)) {
      if (!iamReference.conditionKeyExists(key)) problems.push(`condition key '${key}' is not known to IAM`);
      problems.push(...conditionValueProblems(operator, key, asList(value)));
    }
  }
  return problems;
}

function actionProblems(action: string): string[] {
  if (action === '*') return [];
  const match = ACTION.exec(action);
  if (!match) {
    return [`action '${action}' must be 'service:Action' with a literal service prefix (no vendor wildcard)`];
  }
  if (!iamReference.hasService(match[1])) return [`'${match[1]}' in '${action}' is not an IAM service prefix`];
  if (iamReference.expand(action).length === 0) return [`action '${action}' matches no IAM action`];
  return [];
}

function conditionValueProblems(operator: string, key: string, values: string[]): string[] {
  if (values.length === 0) return [`condition ${operator} ${key} has no value`];
  if (operator === 'Null') {
    return values.every((v) => v === 'true' || v === 'false') ? [] : [`Null ${key} must be 'true' or 'false'`];
  }
  if (/^(ForAnyValue:|ForAllValues:)?Date/.test(operator)) {
    // IAM date operators cannot read policy variables: expiry must be a literal.
    return values
      .filter((v) => !ISO_DATE.test(v))
      .map((v) => `${operator} ${key} needs a literal UTC date, not '${v}'`);
  }
  return [];
}
