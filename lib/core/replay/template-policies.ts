import { BOUNDARY_POLICY_NAME, GUARD_PATH, guardPolicyName, MAX_GUARD_POLICIES } from '../contract';
import { NamedPolicy, PolicyDocumentJson } from '../iam/policy-document';
import { PolicyKind, policyProblems } from '../policy/validate-policy';

/**
 * The guard policies of a synthesized CloudFormation template (JSON): its `AWS::IAM::ManagedPolicy`
 * resources under the guard's path, named like the standard guard policies and the boundary. A template
 * spells ARNs with `Fn::Join`/`Fn::Sub` of pseudo parameters; they are filled in per account, from the
 * replayed call's own partition, account and region. Anything else a template could refer to (a
 * parameter, another resource) is not known offline and is refused when the template is read.
 */

/** The values of the pseudo parameters a guard policy uses. */
export interface PseudoParameters {
  readonly partition: string;
  readonly account: string;
  readonly region: string;
}

/** The guard policies of one account, as IAM holds them. */
export interface AccountPolicies {
  readonly identity: readonly NamedPolicy[];
  readonly boundary?: NamedPolicy;
}

const SUFFIX_OF_PARTITION: Readonly<Record<string, string>> = { 'aws-cn': 'amazonaws.com.cn' };

function pseudo(name: string, params: PseudoParameters): string | undefined {
  switch (name) {
    case 'AWS::Partition':
      return params.partition;
    case 'AWS::AccountId':
      return params.account;
    case 'AWS::Region':
      return params.region;
    case 'AWS::URLSuffix':
      return SUFFIX_OF_PARTITION[params.partition] ?? 'amazonaws.com';
    default:
      return undefined;
  }
}

/** Resolves the intrinsics of `value`; `where` names the spot in the template for errors. */
function resolve(value: unknown, params: PseudoParameters, where: string): unknown {
  if (Array.isArray(value)) return value.map((v, i) => resolve(v, params, `${where}[${i}]`));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const [key, arg] = entries[0] ?? [];
  const unresolvable = (): Error =>
    new Error(
      `${where} uses ${JSON.stringify(value).slice(0, 120)}, which replay cannot fill in offline: only ` +
        'Ref, Fn::Join and Fn::Sub of AWS::Partition, AWS::AccountId, AWS::Region and AWS::URLSuffix.',
    );
  if (entries.length === 1 && (key === 'Ref' || key.startsWith('Fn::'))) {
    if (key === 'Ref') {
      const resolved = typeof arg === 'string' ? pseudo(arg, params) : undefined;
      if (resolved === undefined) throw unresolvable();
      return resolved;
    }
    if (key === 'Fn::Join' && Array.isArray(arg) && arg.length === 2 && typeof arg[0] === 'string') {
      const parts = resolve(arg[1], params, where);
      if (!Array.isArray(parts) || parts.some((p) => typeof p !== 'string')) throw unresolvable();
      return parts.join(arg[0]);
    }
    if (key === 'Fn::Sub' && (typeof arg === 'string' || (Array.isArray(arg) && typeof arg[0] === 'string'))) {
      const [text, variables] = typeof arg === 'string' ? [arg, {}] : (arg as [string, unknown]);
      if (typeof variables !== 'object' || variables === null || Object.keys(variables).length > 0)
        throw unresolvable();
      // `${!Literal}` writes `${Literal}`; `${AWS::X}` is the pseudo parameter.
      return text.replace(/\$\{(!?)([^}]*)\}/g, (_, bang: string, name: string) => {
        if (bang) return `\${${name}}`;
        const resolved = pseudo(name, params);
        if (resolved === undefined) throw unresolvable();
        return resolved;
      });
    }
    throw unresolvable();
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v, params, `${where}.${k}`)]));
}

interface FoundPolicy {
  readonly name: string;
  readonly logicalId: string;
  readonly document: unknown;
}

const SAMPLE: PseudoParameters = { partition: 'aws', account: '111122223333', region: 'us-east-1' };

/**
 * Reads the guard policies out of a parsed template. Throws, with what to change, when the template has
 * none, or a policy that cannot be filled in or that IAM would not accept.
 */
export function templatePolicies(template: unknown): (params: PseudoParameters) => AccountPolicies {
  const resources = (template as { Resources?: unknown } | null)?.Resources;
  if (typeof resources !== 'object' || resources === null) {
    throw new Error('it has no Resources: give the JSON template that cdk synth writes to cdk.out.');
  }
  const guardNames = new Set(Array.from({ length: MAX_GUARD_POLICIES }, (_, i) => guardPolicyName(i + 1)));
  const found: FoundPolicy[] = [];
  for (const [logicalId, resource] of Object.entries(resources as Record<string, unknown>)) {
    const { Type, Properties } = (resource ?? {}) as { Type?: unknown; Properties?: Record<string, unknown> };
    if (Type !== 'AWS::IAM::ManagedPolicy' || !Properties) continue;
    const name = resolve(Properties.ManagedPolicyName, SAMPLE, `${logicalId}.ManagedPolicyName`);
    const path = resolve(Properties.Path, SAMPLE, `${logicalId}.Path`);
    if (path !== GUARD_PATH || typeof name !== 'string') continue;
    if (name !== BOUNDARY_POLICY_NAME && !guardNames.has(name)) continue;
    found.push({ name, logicalId, document: Properties.PolicyDocument });
  }
  const identity = found.filter((p) => p.name !== BOUNDARY_POLICY_NAME).sort((a, b) => a.name.localeCompare(b.name));
  const boundary = found.find((p) => p.name === BOUNDARY_POLICY_NAME);
  if (identity.length === 0) {
    throw new Error(
      `it has no guard policies (AWS::IAM::ManagedPolicy named ${guardPolicyName(1)}... under ${GUARD_PATH}): ` +
        'give the template of the stack that holds AgentGuard.',
    );
  }
  const build = (params: PseudoParameters): AccountPolicies => {
    const named = (p: FoundPolicy): NamedPolicy => ({
      name: p.name,
      document: resolve(p.document, params, `${p.logicalId}.PolicyDocument`) as PolicyDocumentJson,
    });
    return { identity: identity.map(named), ...(boundary ? { boundary: named(boundary) } : {}) };
  };
  // Fill in once now, so a template replay cannot read fails before any log is read.
  const sample = build(SAMPLE);
  for (const policy of [...sample.identity, ...(sample.boundary ? [sample.boundary] : [])]) {
    const statements = (policy.document as { Statement?: unknown } | null)?.Statement;
    const problems = Array.isArray(statements)
      ? policyProblems(policy.document, PolicyKind.MANAGED)
      : ['has no Statement array'];
    if (problems.length > 0) throw new Error(`its policy ${policy.name} ${problems.join('; ')}.`);
  }
  return build;
}
