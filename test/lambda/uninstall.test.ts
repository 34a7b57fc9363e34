import { DeletePolicyCommand } from '@aws-sdk/client-iam';
import {
  APPROVAL_TAG,
  AGENT_TAG,
  AGENT_TAG_VALUE,
  CONSTRAINED_TAG,
  STATE_OPEN,
  STATE_TAG,
} from '../../lib/core/contract';
import { TRUST_DENY_STATEMENT } from '../../lib/core/policy/trust-deny';
import { onEvent, PHYSICAL_ID } from '../../lambda/uninstall/handler';
import { trustWithoutDeny } from '../../lambda/uninstall/uninstall';
import { accessDenied, ASSUME_STATEMENT } from '../support/guard-fixture';
import {
  addGuardedRole,
  ADMIN_POLICY_ARN,
  approvalArn,
  BOUNDARY_ARN,
  FakeIamAccount,
  GUARD_POLICY_ARNS,
  GUARD_RULE,
  newUninstallFixture,
  OTHER_GUARD_PATH_POLICY,
  STACK_ID,
} from '../support/uninstall-fixture';

const WRITES = new Set([
  'UntagRole',
  'UpdateAssumeRolePolicy',
  'DetachRolePolicy',
  'DetachUserPolicy',
  'DetachGroupPolicy',
  'DeleteRolePermissionsBoundary',
  'DeleteUserPermissionsBoundary',
  'DeletePolicyVersion',
  'DeletePolicy',
]);

function writes(iam: FakeIamAccount): string[] {
  return iam.calls.filter((c) => WRITES.has(c.command)).map((c) => c.command);
}

/** The end state the clean-up promises for a role: none of the guard's parts, everything else kept. */
function expectUnguarded(iam: FakeIamAccount, name: string, keptPolicies: string[] = [ADMIN_POLICY_ARN]): void {
  const role = iam.role(name);
  expect(role.boundary).toBeUndefined();
  expect(role.attached).toEqual(keptPolicies);
  expect(role.tags.has(STATE_TAG)).toBe(false);
  expect(role.tags.has(APPROVAL_TAG)).toBe(false);
  expect(role.tags.has(CONSTRAINED_TAG)).toBe(false);
  expect(role.tags.get(AGENT_TAG)).toBe(AGENT_TAG_VALUE);
  expect(role.tags.get('team')).toBe('platform');
  expect(iam.trust(name).Statement).toEqual([ASSUME_STATEMENT]);
}

/** What CloudFormation does next: delete the boundary and the guard policies. Throws DeleteConflict if held. */
async function cloudFormationDeletesGuardPolicies(iam: FakeIamAccount): Promise<void> {
  for (const arn of [BOUNDARY_ARN, ...GUARD_POLICY_ARNS]) {
    await Promise.resolve().then(() => iam.send(new DeletePolicyCommand({ PolicyArn: arn })));
  }
}

describe('uninstall: the clean-up that runs when the guard stack is deleted', () => {
  test('a locked role ends with no guard part, and CloudFormation can then delete the boundary and policies', async () => {
    const fx = newUninstallFixture();
    addGuardedRole(fx.iam, 'Agent', { state: 'locked' });
    await expect(cloudFormationDeletesGuardPolicies(fx.iam)).rejects.toThrow('attached to entities');

    const summary = await fx.uninstaller().run();

    expect(summary.failures).toEqual([]);
    expectUnguarded(fx.iam, 'Agent');
    expect(summary).toMatchObject({ roles: 1, policiesDetached: 2, boundariesRemoved: 1, trustStatementsRemoved: 1 });
    await expect(cloudFormationDeletesGuardPolicies(fx.iam)).resolves.toBeUndefined();
  });

  test('an open role and an approved role: approval policies detached and deleted, versions first', async () => {
    const fx = newUninstallFixture();
    addGuardedRole(fx.iam, 'Open', { state: STATE_OPEN });
    const set = [approvalArn('ap1', 1), approvalArn('ap1', 2)];
    fx.iam.addPolicy(set[0], ['v3', 'v1', 'v2']); // default v3, two older versions
    fx.iam.addPolicy(set[1]);
    addGuardedRole(fx.iam, 'Approved', {
      state: STATE_OPEN,
      tags: { [APPROVAL_TAG]: 'ap1' },
      policies: [ADMIN_POLICY_ARN, ...set],
    });

    const summary = await fx.uninstaller().run();

    expect(summary.failures).toEqual([]);
    expectUnguarded(fx.iam, 'Open');
    expectUnguarded(fx.iam, 'Approved');
    expect([...fx.iam.policies.keys()].filter((arn) => arn.includes('AgentGuardApproval'))).toEqual([]);
    expect(summary.approvalPoliciesDeleted).toBe(2);
    await expect(cloudFormationDeletesGuardPolicies(fx.iam)).resolves.toBeUndefined();
  });

  test('a half-done swap (standard set plus part of an approval set) is cleaned, and the orphan policies go', async () => {
    const fx = newUninstallFixture();
    fx.iam.addPolicy(approvalArn('half', 1));
    fx.iam.addPolicy(approvalArn('half', 2)); // created, never attached
    fx.iam.addPolicy(approvalArn('orphan', 1, 1)); // left by an approval that was revoked halfway
    addGuardedRole(fx.iam, 'Swapping', {
      tags: { [APPROVAL_TAG]: 'half' },
      policies: [ADMIN_POLICY_ARN, ...GUARD_POLICY_ARNS, approvalArn('half', 1)],
    });

    const summary = await fx.uninstaller().run();

    expect(summary.failures).toEqual([]);
    expectUnguarded(fx.iam, 'Swapping');
    expect(fx.iam.policies.has(approvalArn('half', 2))).toBe(false);
    expect(fx.iam.policies.has(approvalArn('orphan', 1, 1))).toBe(false);
  });

  test('what is not the guard’s stays: other policies under /agent-guard/, other boundaries, other statements', async () => {
    const fx = newUninstallFixture();
    addGuardedRole(fx.iam, 'Agent', { policies: [ADMIN_POLICY_ARN, OTHER_GUARD_PATH_POLICY, ...GUARD_POLICY_ARNS] });
    const otherBoundary = `arn:aws:iam::111122223333:policy/TeamBoundary`;
    fx.iam.addRole('Workload', { boundary: otherBoundary, policies: [OTHER_GUARD_PATH_POLICY] });

    await fx.uninstaller().run();

    expectUnguarded(fx.iam, 'Agent', [ADMIN_POLICY_ARN, OTHER_GUARD_PATH_POLICY]);
    expect(fx.iam.role('Workload')).toMatchObject({ boundary: otherBoundary, attached: [OTHER_GUARD_PATH_POLICY] });
    expect(fx.iam.policies.has(OTHER_GUARD_PATH_POLICY)).toBe(true);
    expect(fx.iam.calls.filter((c) => c.input.RoleName === 'Workload')).toEqual([]);
  });

  test('users that carry the boundary and groups holding a guard policy are released too', async () => {
    const fx = newUninstallFixture();
    fx.iam.addUser('bot', { boundary: BOUNDARY_ARN, policies: [GUARD_POLICY_ARNS[0], ADMIN_POLICY_ARN] });
    fx.iam.addGroup('agents', [GUARD_POLICY_ARNS[1]]);

    const summary = await fx.uninstaller().run();

    expect(summary).toMatchObject({ users: 1, groups: 1, failures: [] });
    expect(fx.iam.users.get('bot')).toMatchObject({ boundary: undefined, attached: [ADMIN_POLICY_ARN] });
    expect(fx.iam.groups.get('agents')!.attached).toEqual([]);
    await expect(cloudFormationDeletesGuardPolicies(fx.iam)).resolves.toBeUndefined();
  });

  test('a second run finds nothing and writes nothing', async () => {
    const fx = newUninstallFixture();
    addGuardedRole(fx.iam, 'Agent');
    await fx.uninstaller().run();
    const before = fx.iam.calls.length;

    const again = await newUninstallFixtureSharing(fx.iam).run();

    expect(again).toMatchObject({ roles: 0, passes: 1, failures: [] });
    expect(writes(sliceFrom(fx.iam, before))).toEqual([]);
    expectUnguarded(fx.iam, 'Agent');
  });

  test('a role deleted between the listing and its clean-up counts as gone, not failed', async () => {
    const fx = newUninstallFixture();
    addGuardedRole(fx.iam, 'Agent');
    addGuardedRole(fx.iam, 'Deleted');
    fx.iam.after = (command) => {
      if (command === 'ListEntitiesForPolicy') fx.iam.roles.delete('Deleted');
    };

    const summary = await fx.uninstaller().run();

    expect(summary).toMatchObject({ gone: 1, failures: [] });
    expectUnguarded(fx.iam, 'Agent');
  });

  test('a role that cannot be cleaned is named, keeps its lock and its boundary, and a retry finishes', async () => {
    const fx = newUninstallFixture();
    addGuardedRole(fx.iam, 'Agent', { state: STATE_OPEN });
    addGuardedRole(fx.iam, 'Stuck', { state: STATE_OPEN });
    fx.iam.fault = (command, input) =>
      command === 'DetachRolePolicy' && input.RoleName === 'Stuck'
        ? accessDenied('not authorized to perform iam:DetachRolePolicy')
        : undefined;

    const summary = await fx.uninstaller().run();

    expect(summary.failures).toHaveLength(1);
    expect(summary.failures[0]).toMatch(/^role Stuck: DetachRolePolicy: AccessDenied: not authorized/);
    expectUnguarded(fx.iam, 'Agent');
    // The safest place to stop: no state tag (locked), both guard policies and the boundary still on.
    const stuck = fx.iam.role('Stuck');
    expect(stuck.tags.has(STATE_TAG)).toBe(false);
    expect(stuck.attached).toEqual([ADMIN_POLICY_ARN, ...GUARD_POLICY_ARNS]);
    expect(stuck.boundary).toBe(BOUNDARY_ARN);
    await expect(cloudFormationDeletesGuardPolicies(fx.iam)).rejects.toThrow('attached to entities');

    fx.iam.fault = undefined;
    const retry = await newUninstallFixtureSharing(fx.iam).run();
    expect(retry.failures).toEqual([]);
    expectUnguarded(fx.iam, 'Stuck');
    await expect(cloudFormationDeletesGuardPolicies(fx.iam)).resolves.toBeUndefined();
  });

  test('an approval policy that cannot be deleted is named', async () => {
    const fx = newUninstallFixture();
    fx.iam.addPolicy(approvalArn('ap9', 1, 1));
    fx.iam.fault = (command) => (command === 'DeletePolicy' ? accessDenied('explicit deny') : undefined);

    const summary = await fx.uninstaller().run();

    expect(summary.failures).toEqual([`policy ${approvalArn('ap9', 1, 1)}: AccessDenied: explicit deny`]);
  });

  test('a principal the guard re-constrains during the clean-up is cleaned by the next pass', async () => {
    const fx = newUninstallFixture();
    addGuardedRole(fx.iam, 'Agent');
    let reattached = false;
    fx.iam.after = (command) => {
      // A guard invocation still in flight puts the boundary back once.
      if (command === 'DeleteRolePermissionsBoundary' && !reattached) {
        reattached = true;
        fx.iam.role('Agent').boundary = BOUNDARY_ARN;
      }
    };

    const summary = await fx.uninstaller().run();

    expect(summary).toMatchObject({ passes: 3, failures: [] });
    expectUnguarded(fx.iam, 'Agent');
  });

  test('with no time left it changes nothing and says what is left', async () => {
    const fx = newUninstallFixture();
    addGuardedRole(fx.iam, 'Agent');

    const summary = await fx.uninstaller(() => 10_000).run();

    expect(summary.failures.join()).toMatch(/out of time before 1 principal\(s\): role Agent/);
    expect(writes(fx.iam)).toEqual([]);
  });

  test('API calls grow with the agent roles, not with the roles of the account; listings are paged', async () => {
    const calls = async (agents: number, others: number, pageSize = 100) => {
      const fx = newUninstallFixture();
      fx.iam.pageSize = pageSize;
      for (let i = 0; i < agents; i++) addGuardedRole(fx.iam, `Agent${i}`);
      for (let i = 0; i < others; i++) fx.iam.addRole(`Other${i}`, { policies: [ADMIN_POLICY_ARN] });
      const summary = await fx.uninstaller().run();
      expect(summary.failures).toEqual([]);
      for (let i = 0; i < agents; i++) expectUnguarded(fx.iam, `Agent${i}`);
      return fx.iam.calls.length;
    };
    const five = await calls(5, 0);
    expect(await calls(5, 500)).toBe(five);
    // Each locked role: GetRole, ListAttachedRolePolicies, UntagRole, UpdateAssumeRolePolicy,
    // two DetachRolePolicy, DeleteRolePermissionsBoundary.
    expect((await calls(6, 0)) - five).toBe(7);
    // Two principals a page: every role is still found.
    await calls(7, 3, 2);
  });
});

describe('trustWithoutDeny', () => {
  test('drops only the guard statement', () => {
    const trust = JSON.stringify({ Version: '2012-10-17', Statement: [ASSUME_STATEMENT, TRUST_DENY_STATEMENT] });
    expect(JSON.parse(trustWithoutDeny(trust)!)).toEqual({ Version: '2012-10-17', Statement: [ASSUME_STATEMENT] });
  });
  test('no change when it is absent, or when it is the only statement (IAM needs one)', () => {
    expect(trustWithoutDeny(JSON.stringify({ Version: '2012-10-17', Statement: [ASSUME_STATEMENT] }))).toBeUndefined();
    expect(
      trustWithoutDeny(JSON.stringify({ Version: '2012-10-17', Statement: TRUST_DENY_STATEMENT })),
    ).toBeUndefined();
  });
  test('an unreadable trust policy is an error', () => {
    expect(() => trustWithoutDeny('{not json')).toThrow(/not JSON/);
  });
});

describe('the custom resource event handler', () => {
  const event = (RequestType: 'Create' | 'Update' | 'Delete', StackId = STACK_ID) => ({
    RequestType,
    StackId,
    PhysicalResourceId: RequestType === 'Create' ? undefined : PHYSICAL_ID,
  });

  test('Create and Update change nothing and keep one physical id, so an update never replaces (deletes) it', async () => {
    const fx = newUninstallFixture();
    addGuardedRole(fx.iam, 'Agent');
    for (const type of ['Create', 'Update'] as const) {
      await expect(onEvent(event(type), fx.config, fx.uninstaller(), fx.logger)).resolves.toEqual({
        PhysicalResourceId: PHYSICAL_ID,
      });
    }
    expect(fx.iam.calls).toEqual([]);
  });

  test('Delete while the guard rule still exists (rollback, forged call) changes nothing', async () => {
    const fx = newUninstallFixture();
    addGuardedRole(fx.iam, 'Agent');
    fx.rules.rules.add(GUARD_RULE);

    const result = await onEvent(event('Delete'), fx.config, fx.uninstaller(), fx.logger);

    expect(result.Data?.Skipped).toMatch(/AgentGuardSchedule still exists/);
    expect(fx.iam.calls).toEqual([]);
    expect(fx.iam.role('Agent').boundary).toBe(BOUNDARY_ARN);
  });

  test('Delete for another stack is refused', async () => {
    const fx = newUninstallFixture();
    addGuardedRole(fx.iam, 'Agent');
    const other = STACK_ID.replace('stack/Guard/', 'stack/Other/');
    await expect(onEvent(event('Delete', other), fx.config, fx.uninstaller(), fx.logger)).rejects.toThrow(/refused/);
    expect(fx.iam.calls).toEqual([]);
  });

  test('Delete after the guard rule is gone cleans and reports counts; a failure fails the Delete, naming it', async () => {
    const fx = newUninstallFixture();
    addGuardedRole(fx.iam, 'Agent');
    const result = await onEvent(event('Delete'), fx.config, fx.uninstaller(), fx.logger);
    expect(result).toMatchObject({ PhysicalResourceId: PHYSICAL_ID, Data: { Roles: 1, BoundariesRemoved: 1 } });
    expectUnguarded(fx.iam, 'Agent');

    addGuardedRole(fx.iam, 'Stuck');
    fx.iam.fault = (command) => (command === 'DeleteRolePermissionsBoundary' ? accessDenied('denied') : undefined);
    await expect(onEvent(event('Delete'), fx.config, fx.uninstaller(), fx.logger)).rejects.toThrow(
      /could not clean 1 item\(s\): role Stuck: DeleteRolePermissionsBoundary: AccessDenied: denied\. .*delete the stack again/,
    );
  });
});

/** A fresh run (fresh counts) over the same account, as a retried Delete would make. */
function newUninstallFixtureSharing(iam: FakeIamAccount) {
  return newUninstallFixture({}, iam).uninstaller();
}

function sliceFrom(iam: FakeIamAccount, from: number): FakeIamAccount {
  return { calls: iam.calls.slice(from) } as FakeIamAccount;
}
