import { APPROVAL_TAG } from '../../lib/core/contract';
import { actionMatches } from '../../lib/core/iam/action-pattern';
import { asList, policySize, PolicyStatementJson } from '../../lib/core/iam/policy-document';
import { DryRunPlan } from '../../bin/cli/dry-run';
import { AGENT_ROLE_ARN, cli, GOOD_SCOPE, idSequence, INSTANCE_ARN } from './cli-fixture';

function offline() {
  return {
    transport: () => {
      throw new Error('the dry run must not make a transport');
    },
    readParameter: () => {
      throw new Error('the dry run must not read SSM');
    },
    env: {},
    // 789 ms past the second: the expiry is counted from the whole second, as the function does.
    clock: () => new Date('2026-05-01T12:00:00.789Z'),
    newId: idSequence('dry'),
  };
}

async function dryRun(args: readonly string[] = GOOD_SCOPE): Promise<DryRunPlan> {
  const result = await cli(['approve', ...args, '--dry-run', '--json'], offline());
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as DryRunPlan;
}

function statements(plan: DryRunPlan): PolicyStatementJson[] {
  return plan.policies.flatMap((p) => p.document.Statement);
}

describe('approve --dry-run --json', () => {
  test('works offline and prints exactly approvalId, roleArn, expiresAt, tags and policies', async () => {
    const plan = await dryRun();
    expect(Object.keys(plan)).toEqual(['approvalId', 'roleArn', 'expiresAt', 'tags', 'policies']);
    expect(plan.approvalId).toBe('dry0001aaaa');
    expect(plan.roleArn).toBe(AGENT_ROLE_ARN);
    expect(plan.expiresAt).toBe('2026-05-01T12:30:00Z');
    expect(plan.tags).toEqual({ [APPROVAL_TAG]: 'dry0002aaaa' });
    for (const policy of plan.policies) expect(Object.keys(policy)).toEqual(['name', 'arn', 'document']);
  });

  test('policies: named AgentGuardApproval-<setId>-<i>of<n>-Deny<k>-<digest>, under the guard path, each within 5,530 characters', async () => {
    const plan = await dryRun();
    const setId = plan.tags[APPROVAL_TAG];
    const n = plan.policies.length;
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(3);
    plan.policies.forEach((policy, i) => {
      expect(policy.name).toMatch(new RegExp(`^AgentGuardApproval-${setId}-${i + 1}of${n}-Deny\\d-[0-9a-f]+$`));
      expect(policy.arn).toBe(`arn:aws:iam::111122223333:policy/agent-guard/${policy.name}`);
      // issue 10, "Fit": 90% of IAM's 6,144 (IAM-1)
      expect(policySize(policy.document)).toBeLessThanOrEqual(5530);
      expect(policy.document.Version).toBe('2012-10-17');
    });
  });

  test('the carve-out names the approval id and the literal expiry; ec2:Terminate* expands to the exact actions', async () => {
    const plan = await dryRun();
    // On an instance: ec2:TerminateClientVpnConnections acts on client VPN endpoints, so it is left out.
    const expanded = ['ec2:TerminateInstances'];

    const expiry = statements(plan).filter((s) => s.Sid?.startsWith(`Approval${plan.approvalId}Expiry`));
    expect(expiry).toHaveLength(1);
    expect(expiry[0]).toMatchObject({
      Effect: 'Deny',
      Action: expanded,
      Resource: [INSTANCE_ARN],
      Condition: { DateGreaterThan: { 'aws:CurrentTime': plan.expiresAt } },
    });
    const outside = statements(plan).filter((s) => s.Sid?.startsWith('ApprovalOutside'));
    expect(outside).toEqual([expect.objectContaining({ Action: expanded, NotResource: [INSTANCE_ARN] })]);

    // The broad denies no longer name the carved actions; every other Terminate action stays denied.
    const broad = statements(plan).filter((s) => s.Sid?.startsWith('DenyLocked'));
    const broadPatterns = broad.flatMap((s) => asList(s.Action));
    for (const action of expanded) expect(broadPatterns.some((p) => actionMatches(p, action))).toBe(false);
  });

  test('the policy ARNs use the partition and account of the role', async () => {
    const role = 'arn:aws-us-gov:iam::444455556666:role/team/agent';
    const plan = await dryRun([
      ...GOOD_SCOPE.slice(0, 1),
      role,
      ...GOOD_SCOPE.slice(2, 4),
      '--resources',
      'arn:aws-us-gov:ec2:us-gov-west-1:444455556666:instance/i-1',
      ...GOOD_SCOPE.slice(6),
    ]);
    expect(plan.roleArn).toBe(role);
    for (const p of plan.policies) expect(p.arn).toBe(`arn:aws-us-gov:iam::444455556666:policy/agent-guard/${p.name}`);
  });

  test('a group expands to all of its actions', async () => {
    const plan = await dryRun([...GOOD_SCOPE.slice(0, 3), 'protection-off', ...GOOD_SCOPE.slice(4)]);
    const expiry = statements(plan).filter((s) => s.Sid?.startsWith(`Approval${plan.approvalId}Expiry`));
    expect(expiry.flatMap((s) => asList(s.Action))).toContain('ec2:ModifyInstanceAttribute');
  });

  test('human output: a summary with each policy size out of 6,144, and the assumptions', async () => {
    const result = await cli(['approve', ...GOOD_SCOPE, '--dry-run'], offline());
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Dry run: nothing was sent and no credentials were used.');
    expect(result.stdout).toMatch(/Expires\s+2026-05-01T12:30:00Z/);
    expect(result.stdout).toContain(`${APPROVAL_TAG}=dry0002aaaa`);
    expect(result.stdout).toMatch(
      /AgentGuardApproval-dry0002aaaa-1of\d-Deny\d-[0-9a-f]+\s+\d{1},?\d{3} \/ 6,144 chars/,
    );
    expect(result.stdout).toContain('assumes no other approval is in force on the role');
    expect(result.stdout).not.toContain('"Statement"');
  });

  test('the dry run checks input like a real approval: a bad scope is exit 2', async () => {
    const result = await cli(
      ['approve', ...GOOD_SCOPE.slice(0, 5), '*', ...GOOD_SCOPE.slice(6), '--dry-run', '--json'],
      offline(),
    );
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("A bare '*' would lift the deny on every resource");
  });
});
