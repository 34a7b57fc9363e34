import { createHash } from 'node:crypto';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AgentGuard } from '../../lib';
import { AgentGuardProps } from '../../lib/agent-guard';
import { loadApprovalsConfig } from '../../lambda/approvals/config';
import { loadConfig } from '../../lambda/guard/config';
import { APPROVALS_CONFIG_ENV, GUARD_CONFIG_ENV } from '../../lib/core/config';
import { resolveIntrinsics } from '../support/guarded-role';

type Resources = Parameters<typeof resolveIntrinsics>[1];

/** The guard's resources, with approvers so that the approval function is there too. */
function synth(props: AgentGuardProps = {}): Resources {
  const stack = new Stack(new App(), 'S', { env: { account: '111122223333', region: 'us-east-1' } });
  new AgentGuard(stack, 'Guard', { approvers: ['arn:aws:iam::111122223333:role/OnCall*'], ...props });
  return Template.fromStack(stack).toJSON().Resources as Resources;
}

function environment(resources: Resources, functionName: string, variable: string): string {
  const fn = Object.values(resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === functionName,
  )!;
  const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  return resolveIntrinsics(variables[variable], resources) as string;
}

/** The digests both functions are configured with. */
function configuredDigests(resources: Resources): string[] {
  const guard = loadConfig({ [GUARD_CONFIG_ENV]: environment(resources, 'AgentGuardEvaluator', GUARD_CONFIG_ENV) });
  const approvals = loadApprovalsConfig({
    [APPROVALS_CONFIG_ENV]: environment(resources, 'AgentGuardApprovals', APPROVALS_CONFIG_ENV),
  });
  return [guard.guardPolicyDigest, approvals.guardPolicyDigest];
}

/** JSON with object keys sorted and one-element lists written as their element (CloudFormation may write either). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return value.length === 1 ? canonical(value[0]) : `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The oracle: SHA-256 (hex) of the template's AgentGuardDeny<n> documents, in order of n. */
function templateDigest(resources: Resources): string {
  const standard = Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::ManagedPolicy')
    .map((r) => ({ name: r.Properties.ManagedPolicyName as string, document: r.Properties.PolicyDocument }))
    .filter((p) => /^AgentGuardDeny\d+$/.test(p.name))
    .sort((a, b) => Number(a.name.slice('AgentGuardDeny'.length)) - Number(b.name.slice('AgentGuardDeny'.length)));
  expect(standard.length).toBeGreaterThan(0);
  return createHash('sha256')
    .update(`[${standard.map((p) => canonical(p.document)).join(',')}]`)
    .digest('hex');
}

describe('the digest of the guard policies, in both function configurations (issue 10: fail closed on redeploy)', () => {
  const base = synth();
  const exempted = synth({ exemptActions: ['ec2:TerminateInstances'] });

  test('both functions get the same digest: the start of the SHA-256 of the synthesized guard policies', () => {
    const [guard, approvals] = configuredDigests(base);
    expect(approvals).toBe(guard);
    // 40 bits at least: a redeploy that changes the policies does not keep the digest by chance
    expect(guard.length).toBeGreaterThanOrEqual(10);
    expect(templateDigest(base).startsWith(guard)).toBe(true);
  });

  test('changing exemptActions changes the policies, and so the digest', () => {
    const [before] = configuredDigests(base);
    const [after, approvalsAfter] = configuredDigests(exempted);
    expect(approvalsAfter).toBe(after);
    expect(templateDigest(exempted)).not.toBe(templateDigest(base));
    expect(templateDigest(exempted).startsWith(after)).toBe(true);
    expect(after).not.toBe(before);
  });
});
