import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentGuard } from '../../lib';

/**
 * IAM-1: a role holds at most 10 managed policies by default, 20 with a raised quota. The built-in
 * catalog needs 3 guard policies. An approval swap attaches approval versions (at most 3) before it
 * detaches the guard policies they replace, and goes through the standard set rather than hold more,
 * so with approvals the worst moment holds the role's own policies, the 3 guard policies and 3 versions.
 */
function synthWith(ownPolicies: number, props: { approvers?: string[]; managedPoliciesPerRole?: number } = {}) {
  const app = new App();
  const stack = new Stack(app, 'S');
  const role = new iam.Role(stack, 'Agent', {
    assumedBy: new iam.AccountRootPrincipal(),
    managedPolicies: Array.from({ length: ownPolicies }, (_, i) =>
      iam.ManagedPolicy.fromManagedPolicyArn(stack, `Own${i}`, `arn:aws:iam::111122223333:policy/Own${i}`),
    ),
  });
  new AgentGuard(stack, 'Guard', { agentRoles: [role], ...props });
  return () => app.synth();
}

describe('the managed-policy quota at synth, against the worst case of a swap (issue 9, item 3)', () => {
  test('without approvals: the role own policies and the 4 guard policies', () => {
    expect(synthWith(6)).not.toThrow();
    expect(synthWith(7)).toThrow(/needs 11 managed policies at worst: its own 7 and the 4 guard policies/);
  });

  test('with approvals: room for the guard policies and 3 approval versions at once', () => {
    const approvers = ['arn:aws:iam::111122223333:role/OnCall*'];
    expect(synthWith(3, { approvers })).not.toThrow();
    expect(synthWith(4, { approvers })).toThrow(
      'needs 11 managed policies at worst: its own 4 and an approval swap, which holds the 4 guard policies and ' +
        'up to 3 approval versions at once (7 guard places)',
    );
  });

  test('a raised quota makes room', () => {
    const approvers = ['arn:aws:iam::111122223333:role/OnCall*'];
    expect(synthWith(13, { approvers, managedPoliciesPerRole: 20 })).not.toThrow();
    expect(synthWith(14, { approvers, managedPoliciesPerRole: 20 })).toThrow(/over the quota of 20/);
  });

  test.each([9, 21, 10.5])('managedPoliciesPerRole %p is refused: IAM allows 10 to 20', (quota) => {
    expect(() => synthWith(0, { managedPoliciesPerRole: quota })).toThrow(
      `managedPoliciesPerRole must be a whole number from 10 (IAM's default) to 20 (its maximum), not ${quota}.`,
    );
  });
});
