import { APPROVAL_TAG, approvalPolicyName } from '../../lib/core/contract';
import { approvalPolicySet } from '../../lib/core/approval/approval-policies';
import { CarveOut } from '../../lib/core/policy/guard-policies';
import { NamedPolicy } from '../../lib/core/iam/policy-document';
import {
  ADMIN_POLICY_ARN,
  AGENT,
  AGENT_SESSION,
  approveBody,
  CATALOG,
  expectNoLockViolations,
  GUARD_POLICY_ARNS,
  GUARD_POLICY_DIGEST,
  INSTANCE_ARN,
  instanceArn,
  iso,
  newFixture,
  NOW,
  periodicEvent,
  plus,
} from '../support/approvals-fixture';

afterEach(expectNoLockViolations);

/** A protected action that a standard policy other than ec2's holds: its carve-out changes that policy. */
const ELSEWHERE = [...CATALOG.plain.keys()].find(
  (action) =>
    approvalPolicySet(CATALOG, 'probe', [carveOutOf('probe', [action, 'ec2:TerminateInstances'])], GUARD_POLICY_DIGEST)
      .length === 2,
)!;

function carveOutOf(id: string, actions: string[], resource = INSTANCE_ARN): CarveOut {
  return { id, actions, resources: [resource], expiresAt: plus(NOW, 1800) };
}

/** The approval versions an earlier run would have made for one carve-out: two, for two standard policies. */
function orphanSet(setId: string, resource = INSTANCE_ARN): NamedPolicy[] {
  return approvalPolicySet(
    CATALOG,
    setId,
    [carveOutOf(setId, ['ec2:TerminateInstances', ELSEWHERE], resource)],
    GUARD_POLICY_DIGEST,
  );
}

/** The standard policies a set's versions stand in for (the `-Deny<n>` ending of their names). */
const replacedBy = (set: NamedPolicy[]) =>
  GUARD_POLICY_ARNS.filter((arn) =>
    set.some((p) => arn.endsWith(`/AgentGuardDeny${/-Deny(\d+)-[0-9a-f]+$/.exec(p.name)![1]}`)),
  );

const name = (arn: string) => arn.split('/').pop()!;

describe('reconcile repairs half-done swaps towards locked', () => {
  test('(a) a crash after the attach: the orphan set comes off and is deleted; the standard ones stay', async () => {
    // GIVEN the role holds its standard policies and a complete set no active record stands behind
    const fx = newFixture();
    const orphan = fx.seedApprovalSet(AGENT, orphanSet('orphan1'), { tag: 'orphan1' });
    expect(orphan).toHaveLength(2);

    const result = await fx.invoke(periodicEvent());

    expect(result).toEqual({ expired: 0, lapsed: 0, orphansRemoved: 2 });
    expect(fx.iamWriteLog()).toEqual([
      'UntagRole agent',
      `DetachRolePolicy agent ${name(orphan[0])}`,
      `DetachRolePolicy agent ${name(orphan[1])}`,
      `DeletePolicy ${name(orphan[0])}`,
      `DeletePolicy ${name(orphan[1])}`,
    ]);
    expect(fx.role().attached).toEqual([ADMIN_POLICY_ARN, ...GUARD_POLICY_ARNS]);
    expect(fx.isStandard()).toBe(true);
    expect(fx.iam.approvalPolicies()).toEqual([]);
  });

  test('(a) a crash part-way through the detach: the missing standard policy goes on first', async () => {
    const fx = newFixture();
    const set = orphanSet('orphan1');
    const [first] = replacedBy(set);
    const orphan = fx.seedApprovalSet(AGENT, set, { tag: 'orphan1', detach: [first] });

    await fx.invoke(periodicEvent());

    expect(fx.iamWriteLog()).toEqual([
      `AttachRolePolicy agent ${name(first)}`,
      'UntagRole agent',
      `DetachRolePolicy agent ${name(orphan[0])}`,
      `DetachRolePolicy agent ${name(orphan[1])}`,
      `DeletePolicy ${name(orphan[0])}`,
      `DeletePolicy ${name(orphan[1])}`,
    ]);
    expect(fx.isStandard()).toBe(true);
  });

  test('(a) a crash after the whole swap, with no record: both replaced standard policies go on before the set comes off', async () => {
    const fx = newFixture();
    const set = orphanSet('orphan1');
    const replaced = replacedBy(set);
    expect(replaced).toHaveLength(2);
    const orphan = fx.seedApprovalSet(AGENT, set, { tag: 'orphan1', detach: replaced });

    await fx.invoke(periodicEvent());

    expect(fx.iamWriteLog().slice(0, 4)).toEqual([
      ...replaced.map((arn) => `AttachRolePolicy agent ${name(arn)}`),
      'UntagRole agent',
      `DetachRolePolicy agent ${name(orphan[0])}`,
    ]);
    expect(fx.isStandard()).toBe(true);
    expect(fx.iam.approvalPolicies()).toEqual([]);
  });

  test('(a) a crash part-way through the attach: the half set comes off, and its unattached policy is deleted', async () => {
    const fx = newFixture();
    const orphan = fx.seedApprovalSet(AGENT, orphanSet('orphan1'), { attach: 1 });

    const result = await fx.invoke(periodicEvent());

    expect(result).toEqual({ expired: 0, lapsed: 0, orphansRemoved: 2 });
    expect(fx.iamWriteLog()).toEqual([
      `DetachRolePolicy agent ${name(orphan[0])}`,
      `DeletePolicy ${name(orphan[0])}`,
      `DeletePolicy ${name(orphan[1])}`,
    ]);
    expect(fx.isStandard()).toBe(true);
    expect(fx.iam.approvalPolicies()).toEqual([]);
  });

  test('(b) an active approval past its expiry is ended as expired', async () => {
    const fx = newFixture();
    const approval = await fx.approve({ durationSeconds: 600 });
    fx.scheduler.schedules.clear(); // the one-shot schedule never ran
    fx.advance(599);
    expect(await fx.invoke(periodicEvent())).toEqual({ expired: 0, lapsed: 0, orphansRemoved: 0 });
    expect(fx.record(approval.approvalId).status).toBe('active');

    fx.advance(1);
    fx.resetCalls();
    expect(await fx.invoke(periodicEvent())).toEqual({ expired: 1, lapsed: 0, orphansRemoved: 0 });
    const record = fx.record(approval.approvalId);
    expect(record).toMatchObject({ status: 'expired', endedAt: iso(plus(NOW, 600)) });
    expect(record.history.at(-1)).toEqual({ at: iso(plus(NOW, 600)), by: 'the reconcile', what: 'expired' });
    expect(fx.isStandard()).toBe(true);
    expect(fx.iam.approvalPolicies()).toEqual([]);
    expect(fx.sns.notices.map((n) => n.subject)).toEqual([`agent-guard: approval ${approval.approvalId} expired`]);
  });

  test('(c) a pending request past its time lapses', async () => {
    const fx = newFixture();
    const reply = await fx.call({ ...approveBody(), op: 'request' }, AGENT_SESSION);
    const id = reply.body.ok ? reply.body.approvals![0].approvalId : '';
    fx.advance(3599);
    expect(await fx.invoke(periodicEvent())).toMatchObject({ lapsed: 0 });
    expect(fx.record(id).status).toBe('pending');
    fx.advance(1);
    fx.resetCalls();
    expect(await fx.invoke(periodicEvent())).toEqual({ expired: 0, lapsed: 1, orphansRemoved: 0 });
    expect(fx.record(id)).toMatchObject({
      status: 'lapsed',
      endReason: 'nobody approved it in time',
      endedAt: iso(plus(NOW, 3600)),
    });
    expect(fx.writes('iam')).toEqual([]);
    expect(fx.sns.notices.map((n) => n.subject)).toEqual([`agent-guard: approval ${id} lapsed`]);
  });

  test('(c) a pending two-person approval lapses too', async () => {
    const fx = newFixture({ config: { requiredApprovals: 2 } });
    const { approvalId } = await fx.approve();
    fx.advance(3600);
    expect(await fx.invoke({ op: 'reconcile' })).toMatchObject({ lapsed: 1 });
    expect(fx.record(approvalId).status).toBe('lapsed');
  });

  test('(d) a stray set next to the complete set in force: only the stray one comes off', async () => {
    const fx = newFixture();
    const approval = await fx.approve();
    const inForce = fx.approvalPoliciesOn();
    // a stray set was attached after it (not a settled state: the watch still expects the set in force)
    const stray = fx.seedApprovalSet(AGENT, orphanSet('stray1', instanceArn(9)), { settle: false });
    fx.resetCalls();

    const result = await fx.invoke(periodicEvent());

    expect(result).toEqual({ expired: 0, lapsed: 0, orphansRemoved: 2 });
    expect(fx.iamWriteLog()).toEqual([
      `DetachRolePolicy agent ${name(stray[0])}`,
      `DeletePolicy ${name(stray[0])}`,
      `DetachRolePolicy agent ${name(stray[1])}`,
      `DeletePolicy ${name(stray[1])}`,
    ]);
    expect(fx.approvalPoliciesOn()).toEqual(inForce);
    expect(fx.role().tags[APPROVAL_TAG]).toBe(approval.policySetId);
    expect(fx.record(approval.approvalId)).toMatchObject({ status: 'active', policySetId: approval.policySetId });
    expect(fx.iam.approvalPolicyArns()).toEqual([...inForce].sort());
  });

  test('an approval policy attached nowhere is deleted', async () => {
    const fx = newFixture();
    const [policy] = orphanSet('leftover1');
    fx.iam.addPolicy(`arn:aws:iam::111122223333:policy/agent-guard/${policy.name}`, policy.document);
    expect(await fx.invoke(periodicEvent())).toEqual({ expired: 0, lapsed: 0, orphansRemoved: 1 });
    expect(fx.iamWriteLog()).toEqual([`DeletePolicy ${policy.name}`]);
  });

  test('an orphan on another agent role is repaired on that role only', async () => {
    const fx = newFixture();
    const approval = await fx.approve();
    fx.seedApprovalSet('agent2', orphanSet('orphan2'), { tag: 'orphan2', detach: GUARD_POLICY_ARNS });
    await fx.invoke(periodicEvent());
    expect(fx.isStandard('agent2')).toBe(true);
    expect(fx.setsOn()).toEqual([approval.policySetId]);
  });

  test('the guard policies, the boundary and look-alike names are never touched', async () => {
    const fx = newFixture();
    fx.iam.addPolicy('arn:aws:iam::111122223333:policy/agent-guard/AgentGuardApproval-notes');
    fx.iam.addPolicy(
      `arn:aws:iam::111122223333:policy/elsewhere/${approvalPolicyName('zzz', 1, 1, 1, GUARD_POLICY_DIGEST)}`,
    );
    expect(await fx.invoke(periodicEvent())).toEqual({ expired: 0, lapsed: 0, orphansRemoved: 0 });
    expect(fx.writes()).toEqual([]);
    // the listing asked for local policies under the guard path
    expect(fx.calls.find((c) => c.command === 'ListPolicies')?.input).toMatchObject({
      Scope: 'Local',
      PathPrefix: '/agent-guard/',
    });
  });

  test('a clean account: nothing is written', async () => {
    const fx = newFixture();
    await fx.approve();
    fx.resetCalls();
    expect(await fx.invoke(periodicEvent())).toEqual({ expired: 0, lapsed: 0, orphansRemoved: 0 });
    expect(fx.writes()).toEqual([]);
  });

  test('paging: many records and policies are all seen', async () => {
    const fx = newFixture();
    fx.table.pageSize = 1;
    fx.iam.pageSize = 1;
    const approvals = [];
    for (let i = 1; i <= 4; i++)
      approvals.push(await fx.approve({ resources: [instanceArn(i)], durationSeconds: 600 }));
    fx.seedApprovalSet('agent2', orphanSet('orphan2'), { tag: 'orphan2' });
    fx.scheduler.schedules.clear();
    fx.advance(600);
    expect(await fx.invoke(periodicEvent())).toEqual({ expired: 4, lapsed: 0, orphansRemoved: 2 });
    for (const a of approvals) expect(fx.record(a.approvalId).status).toBe('expired');
    expect(fx.isStandard()).toBe(true);
    expect(fx.isStandard('agent2')).toBe(true);
    expect(fx.iam.approvalPolicies()).toEqual([]);
  });
});
