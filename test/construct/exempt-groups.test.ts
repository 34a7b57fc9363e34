import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { loadApprovalsConfig } from '../../lambda/approvals/config';
import { ProtectedActions } from '../../lambda/guard/protected-actions';
import { ActionGroup, AgentGuard, AgentGuardProps } from '../../lib';
import { destructiveCatalog } from '../../lib/core/catalog/destructive-catalog';
import { APPROVALS_CONFIG_ENV } from '../../lib/core/config';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import { functionConfig } from '../support/function-config';
import { exampleGuardedRole, GuardedRole, guardedRoleWith, resolveIntrinsics } from '../support/guarded-role';
import { decide, Principal, STATES } from '../support/simulate';

const APPROVERS = ['arn:aws:iam::111122223333:role/OnCall*'];

function synthWith(props: AgentGuardProps): () => void {
  return () => new AgentGuard(new Stack(new App(), 'S'), 'Guard', props);
}

const asPrincipal = (role: GuardedRole): Principal => ({
  identityPolicies: role.identityPolicies,
  boundary: role.boundary,
});

describe('exemptGroups: which groups may be exempted', () => {
  test.each([ActionGroup.DELETE, ActionGroup.STACK_REPLACE])(
    'refuses the group %s, and points to exemptActions for single actions',
    (group) => {
      expect(synthWith({ exemptGroups: [group] })).toThrow(
        new RegExp(`exemptGroups: '${group.name}' cannot be exempted: .* name them in exemptActions\\.`),
      );
    },
  );

  test('refuses a group of your own, and says to leave it out of additionalGroups', () => {
    const mine = ActionGroup.custom('queues', ['sqs:PurgeQueue']);
    for (const props of [{ exemptGroups: [mine] }, { additionalGroups: [mine], exemptGroups: [mine] }]) {
      expect(synthWith(props)).toThrow(
        "exemptGroups: 'queues' is a group of your own; to stop protecting it, leave it out of additionalGroups.",
      );
    }
  });

  test('refuses an unknown group name from a hand-written configuration, listing the exemptible groups', () => {
    let message = '';
    try {
      resolveCatalog({ exemptGroups: ['remote-exec'] });
    } catch (error) {
      message = (error as Error).message;
    }
    const listed = /^exemptGroups: 'remote-exec' is not a built-in group\. Exemptible groups: (.*)\.$/.exec(message);
    expect(listed).not.toBeNull();
    const names = listed![1].split(', ');
    expect(names).toContain('remote-execution');
    expect(names).not.toContain('delete');
    expect(names).not.toContain('stack-replace');
  });

  test('keeps an exempted action that a group of your own names', () => {
    const mine = { name: 'deploys', actions: ['lambda:UpdateFunctionCode'] };
    const catalog = resolveCatalog({ customGroups: [mine], exemptGroups: ['remote-execution'] });
    expect(catalog.plain.get('lambda:UpdateFunctionCode')).toBe('deploys');
    expect(catalog.plain.has('lambda:UpdateFunctionConfiguration')).toBe(false);
  });

  test('accepts every other built-in group', () => {
    const others = ActionGroup.builtIn().filter((g) => g.name !== 'delete' && g.name !== 'stack-replace');
    expect(others.length).toBeGreaterThanOrEqual(5);
    expect(() => resolveCatalog({ exemptGroups: others.map((g) => g.name) })).not.toThrow();
  });
});

describe('with exemptGroups: [REMOTE_EXECUTION], the synthesized guard (IAM evaluation)', () => {
  const example = exampleGuardedRole();
  const exemptRole = guardedRoleWith({ approvers: APPROVERS, exemptGroups: [ActionGroup.REMOTE_EXECUTION] });
  const exempt = asPrincipal(exemptRole);
  const guarded = asPrincipal(example);
  const groupActions = (name: string) => destructiveCatalog.groups[name].actions;

  test.each(groupActions('remote-execution').map((a) => [a]))(
    'allows %s while locked, which the default guard denies',
    async (action) => {
      const request = { action, context: STATES.locked };
      await expect(decide(guarded, request)).resolves.toBe('ExplicitlyDenied');
      await expect(decide(exempt, request)).resolves.toBe('Allowed');
    },
  );

  test('still denies the actions of every other group while locked', async () => {
    const others = Object.keys(destructiveCatalog.groups).filter((g) => g !== 'remote-execution');
    for (const group of others) {
      for (const action of groupActions(group).slice(0, 3)) {
        await expect(decide(exempt, { action, context: STATES.locked })).resolves.toBe('ExplicitlyDenied');
      }
    }
  });

  test("the guard function's configuration names the group, so denials of its actions are not blamed on the guard", () => {
    expect(functionConfig(exemptRole.template).exemptGroups).toEqual(['remote-execution']);
    const classify = new ProtectedActions([], [], functionConfig(exemptRole.template).exemptGroups);
    expect(classify.isProtected('lambda:UpdateFunctionCode')).toBe(false);
    expect(classify.isProtected('ec2:TerminateInstances')).toBe(true);
    expect(new ProtectedActions([], []).isProtected('lambda:UpdateFunctionCode')).toBe(true);
  });

  test("the approval function's configuration carries it, so approvals compile the same catalog", () => {
    const resources = exemptRole.template.toJSON().Resources as Parameters<typeof resolveIntrinsics>[1];
    const fn = Object.values(resources).find(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === 'AgentGuardApprovals',
    )!;
    const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const config = loadApprovalsConfig({
      [APPROVALS_CONFIG_ENV]: resolveIntrinsics(variables[APPROVALS_CONFIG_ENV], resources) as string,
    });
    expect(config.exemptGroups).toEqual(['remote-execution']);
  });

  test('without the prop, neither configuration mentions exempt groups: synth output is unchanged', () => {
    expect(functionConfig(example.template)).not.toHaveProperty('exemptGroups');
    expect(JSON.stringify(example.template.toJSON())).not.toContain('exemptGroups');
  });
});

describe('an agent role passed to a guard with exempt groups', () => {
  test('carries the same boundary: exemptions never reach the anti-tamper statements', () => {
    const stack = new Stack(new App(), 'S');
    const role = new iam.Role(stack, 'Agent', { assumedBy: new iam.AccountRootPrincipal() });
    const guard = new AgentGuard(stack, 'Guard', {
      agentRoles: [role],
      exemptGroups: [ActionGroup.REMOTE_EXECUTION],
    });
    const plain = new AgentGuard(new Stack(new App(), 'S'), 'Guard');
    expect(Stack.of(guard).resolve(guard.boundary.document)).toEqual(Stack.of(plain).resolve(plain.boundary.document));
  });
});
