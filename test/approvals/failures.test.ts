import { CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { APPROVAL_TAG } from '../../lib/core/contract';
import {
  accessDenied,
  ADMIN_POLICY_ARN,
  AGENT_ARN,
  approveBody,
  expectNoLockViolations,
  GUARD_POLICY_ARNS,
  INSTANCE_ARN,
  instanceArn,
  iso,
  newFixture,
  NOW,
  periodicEvent,
  plus,
  throttling,
} from '../support/approvals-fixture';

afterEach(expectNoLockViolations);

const DB_ARN = 'arn:aws:rds:us-east-1:111122223333:db:orders-replica';
/** An approval whose actions two standard policies hold (ec2's and rds's): its set has two versions. */
const TWO_POLICIES = { actions: ['ec2:TerminateInstances', 'rds:DeleteDBInstance'], resources: [INSTANCE_ARN, DB_ARN] };

describe('a swap IAM refuses part-way', () => {
  test('LimitExceeded on the second approval policy: refused, the role keeps its standard policies, nothing left over', async () => {
    // GIVEN an agent role with 9 managed policies: AdministratorAccess, 4 others and the four guard ones
    const fx = newFixture({ agentExtraPolicies: 4 });
    const before = fx.role().attached;
    expect(before).toHaveLength(9);

    const reply = await fx.call(approveBody(TWO_POLICIES));

    expect(reply.statusCode).toBe(403);
    expect(reply.body.message).toBe(
      'IAM refused the policy swap on agent (LimitExceededException); the role keeps a complete set of guard ' +
        'policies, and the reconcile removes any extra one. A swap needs 3 free managed-policy places on the role ' +
        'besides the standard guard policies (IAM allows 10 by default).',
    );
    // the second attach hit the quota, the first was undone, both policies deleted
    const attaches = fx.calls.filter((c) => c.command === 'AttachRolePolicy');
    expect(attaches.map((c) => c.error)).toEqual([undefined, 'LimitExceededException']);
    const log = fx.iamWriteLog();
    expect(log.filter((l) => !l.startsWith('CreatePolicy'))).toEqual([
      expect.stringMatching(/^AttachRolePolicy agent AgentGuardApproval-\w+-1of2-Deny\d-[0-9a-f]+$/),
      expect.stringMatching(/^DetachRolePolicy agent AgentGuardApproval-\w+-1of2-Deny\d-[0-9a-f]+$/),
      expect.stringMatching(/^DeletePolicy AgentGuardApproval-\w+-1of2-Deny\d-[0-9a-f]+$/),
      expect.stringMatching(/^DeletePolicy AgentGuardApproval-\w+-2of2-Deny\d-[0-9a-f]+$/),
    ]);
    expect(fx.role().attached).toEqual(before);
    expect(fx.role().tags[APPROVAL_TAG]).toBeUndefined();
    expect(fx.iam.approvalPolicies()).toEqual([]);
    // one audit record, failed (nothing active), no schedule, and a notice that it failed
    expect([...fx.table.items.values()]).toEqual([
      expect.objectContaining({ status: 'failed', endReason: 'IAM refused the policy swap (LimitExceededException)' }),
    ]);
    expect(fx.scheduler.schedules.size).toBe(0);
    expect(fx.sns.notices.map((n) => n.subject)).toEqual([expect.stringMatching(/^agent-guard: approval \w+ failed$/)]);
  });

  test('a second approval that does not fit leaves the first approval set in force', async () => {
    // GIVEN 9 policies: room for the first approval's one version, but not for a two-version set on top of it
    const fx = newFixture({ agentExtraPolicies: 4 });
    const first = await fx.approve();
    const setOne = fx.approvalPoliciesOn();
    expect(setOne).toHaveLength(1);
    fx.resetCalls();

    const reply = await fx.call(approveBody({ ...TWO_POLICIES, resources: [instanceArn(2), DB_ARN] }));

    expect(reply.statusCode).toBe(403);
    expect(reply.body.message).toMatch(/^IAM refused the policy swap on agent \(LimitExceededException\)/);
    expect(fx.approvalPoliciesOn()).toEqual(setOne);
    expect(fx.role().tags[APPROVAL_TAG]).toBe(first.policySetId);
    expect(fx.iam.approvalPolicyArns()).toEqual([...setOne].sort());
    expect(fx.record(first.approvalId)).toMatchObject({ status: 'active', policySetId: first.policySetId });
    expect([...fx.table.items.values()].map((r) => r.status).sort()).toEqual(['active', 'failed']);
    expect(fx.scheduler.schedules.size).toBe(1);
  });

  test('a detach IAM denies after the new set is on: refused, the role is locked by both, the reconcile tidies', async () => {
    const fx = newFixture();
    fx.fail('DetachRolePolicy', () => accessDenied());
    const reply = await fx.call(approveBody(TWO_POLICIES));
    expect(reply.statusCode).toBe(403);
    expect(reply.body.message).toMatch(/^IAM refused the policy swap on agent \(AccessDenied\)/);
    // the standard policies are still on, next to an approval set no record stands behind
    expect(GUARD_POLICY_ARNS.every((a) => fx.role().attached.includes(a))).toBe(true);
    expect(fx.approvalPoliciesOn()).toHaveLength(2);
    expect([...fx.table.items.values()].map((r) => r.status)).toEqual(['failed']);

    fx.faults.length = 0;
    await fx.invoke(periodicEvent());
    expect(fx.isStandard()).toBe(true);
    expect(fx.iam.approvalPolicies()).toEqual([]);
  });

  test('throttling is retried, and the approval goes through', async () => {
    const fx = newFixture();
    fx.fail('AttachRolePolicy', (_input, nth) => (nth <= 2 ? throttling() : undefined));
    fx.fail('DetachRolePolicy', (_input, nth) => (nth === 1 ? throttling() : undefined));
    const approval = await fx.approve();
    expect(approval.status).toBe('active');
    expect(fx.caller.counts.retries).toBe(3);
    const kept = GUARD_POLICY_ARNS.filter((arn) => !fx.replacedStandard().includes(arn));
    expect(fx.role().attached).toEqual([ADMIN_POLICY_ARN, ...kept, ...fx.approvalPoliciesOn()]);
  });

  test('a revoke IAM refuses fails loudly and leaves the approval as it was', async () => {
    const fx = newFixture();
    const approval = await fx.approve();
    const set = fx.approvalPoliciesOn();
    const [replaced] = fx.replacedStandard();
    const kept = GUARD_POLICY_ARNS.filter((arn) => arn !== replaced);
    fx.fail('AttachRolePolicy', (input) => (input.PolicyArn === replaced ? accessDenied() : undefined));
    await expect(fx.call({ op: 'revoke', approvalId: approval.approvalId })).rejects.toThrow(
      'User is not authorized to perform this operation',
    );
    expect(fx.approvalPoliciesOn()).toEqual(set);
    expect(fx.role().attached).toEqual([ADMIN_POLICY_ARN, ...kept, ...set]);
    expect(fx.record(approval.approvalId).status).toBe('active');
    // once IAM allows it again, the revoke goes through
    fx.faults.length = 0;
    expect((await fx.call({ op: 'revoke', approvalId: approval.approvalId })).statusCode).toBe(200);
    expect(fx.isStandard()).toBe(true);
  });
});

describe('failures after the swap', () => {
  test('no expiry schedule: the approval stays in force, on-call is told, the reconcile ends it later', async () => {
    const fx = newFixture();
    fx.fail(CreateScheduleCommand.name.replace(/Command$/, ''), () =>
      accessDenied('not authorized to create schedules'),
    );
    const reply = await fx.call(approveBody({ durationSeconds: 600 }));
    expect(reply.statusCode).toBe(200);
    const approval = reply.body.ok ? reply.body.approvals![0] : undefined;
    const id = approval!.approvalId;
    expect(fx.record(id).status).toBe('active');
    expect(fx.setsOn()).toEqual([approval!.policySetId]);
    expect(fx.scheduler.schedules.size).toBe(0);
    const notice = fx.sns.notices.find((n) => n.subject === `agent-guard: no expiry schedule for ${id}`);
    expect(notice?.message).toBe(
      `Creating the expiry schedule failed (AccessDenied). IAM still denies after ${iso(plus(NOW, 600))};\n` +
        'the periodic reconcile will swap the policies back.',
    );
    expect(fx.sns.notices.map((n) => n.subject)).toContain('agent-guard: approval in force for agent');

    // the periodic reconcile before the expiry leaves it alone, after the expiry ends it
    expect(await fx.invoke(periodicEvent())).toEqual({ expired: 0, lapsed: 0, orphansRemoved: 0 });
    expect(fx.record(id).status).toBe('active');
    fx.advance(600);
    expect(await fx.invoke(periodicEvent())).toEqual({ expired: 1, lapsed: 0, orphansRemoved: 0 });
    expect(fx.record(id).status).toBe('expired');
    expect(fx.isStandard()).toBe(true);
  });

  test('a lost notice does not undo an approval', async () => {
    const fx = newFixture();
    fx.fail('Publish', () => accessDenied());
    const approval = await fx.approve();
    expect(fx.record(approval.approvalId).status).toBe('active');
    expect(fx.sns.notices).toEqual([]);
  });

  test('a crash before the record is written leaves a set the reconcile removes', async () => {
    const fx = newFixture();
    fx.fail('Put', () => accessDenied('dynamodb:PutItem denied'));
    await expect(fx.call(approveBody(TWO_POLICIES))).rejects.toThrow('dynamodb:PutItem denied');
    // IAM carries the carve-out, with nothing in the audit table behind it
    expect(fx.approvalPoliciesOn()).toHaveLength(2);
    const replaced = fx.replacedStandard();
    expect(fx.role().tags[APPROVAL_TAG]).toBeDefined();
    expect(fx.table.items.size).toBe(0);

    fx.faults.length = 0;
    fx.resetCalls();
    const result = await fx.invoke(periodicEvent());
    expect(result).toMatchObject({ expired: 0, lapsed: 0 });
    expect(fx.isStandard()).toBe(true);
    expect(fx.iam.approvalPolicies()).toEqual([]);
    expect(fx.iamWriteLog().slice(0, 3)).toEqual([
      ...replaced.map((arn) => `AttachRolePolicy agent ${arn.split('/').pop()}`),
      'UntagRole agent',
    ]);
  });

  test('a single-use watch that cannot be created leaves the approval in force until expiry, and says so', async () => {
    const fx = newFixture();
    fx.fail('PutRule', () => accessDenied('events:PutRule denied'));
    const reply = await fx.call(approveBody({ uses: 1 }));
    expect(reply.statusCode).toBe(200);
    expect(fx.sns.notices.map((n) => n.subject)).toContain('agent-guard: single use of id000001 is not watched');
    const [record] = [...fx.table.items.values()];
    expect(record).toMatchObject({ status: 'active', uses: 1, roleArn: AGENT_ARN });
    expect(fx.events.rules.size).toBe(0);
    expect(fx.setsOn()).toEqual([record.policySetId]);
  });
});
