import { APPROVAL_TAG } from '../../lib/core/contract';
import {
  ACCOUNT_ID,
  ADMIN_POLICY_ARN,
  AGENT,
  AGENT_ARN,
  AGENT_SESSION,
  ALICE,
  ApprovalsFixture,
  approveBody,
  BOB,
  CAROL,
  DEVELOPER,
  expectNoLockViolations,
  FUNCTION_ARN,
  GUARD_POLICY_ARNS,
  HttpReply,
  instanceArn,
  iso,
  newFixture,
  NOW,
  OTHER_AGENT,
  OTHER_AGENT_ARN,
  OTHER_AGENT_SESSION,
  plus,
  sessionArn,
  USER_ALICE,
} from '../support/approvals-fixture';

afterEach(expectNoLockViolations);

/**
 * What ending an approval writes to IAM, in order: the standard policies the set stood in for (the
 * `-Deny<n>` ending of its names) back, the tag off, the set off and gone.
 */
function endingWrites(setNames: readonly (string | undefined)[]): string[] {
  const replaced = [...new Set(setNames.map((n) => `AgentGuardDeny${/-Deny(\d+)-[0-9a-f]+$/.exec(n!)![1]}`))].sort();
  return [
    ...replaced.map((n) => `AttachRolePolicy agent ${n}`),
    'UntagRole agent',
    ...setNames.map((n) => `DetachRolePolicy agent ${n}`),
    ...setNames.map((n) => `DeletePolicy ${n}`),
  ];
}

describe('revoke', () => {
  test('puts the standard policies back first, then drops the tag, then removes and deletes the set', async () => {
    const fx = newFixture();
    const approval = await fx.approve();
    const setNames = fx.approvalPoliciesOn().map((a) => a.split('/').pop());
    fx.advance(120);
    fx.resetCalls();

    const reply = await fx.call({ op: 'revoke', approvalId: approval.approvalId, reason: 'done early' }, BOB);

    expect(reply.statusCode).toBe(200);
    expect(reply.body.message).toBe(`Approval ${approval.approvalId} is revoked.`);
    expect(fx.iamWriteLog()).toEqual(endingWrites(setNames));
    expect(fx.calls.find((c) => c.command === 'UntagRole')?.input.TagKeys).toEqual([APPROVAL_TAG]);
    expect([...fx.role().attached].sort()).toEqual([ADMIN_POLICY_ARN, ...GUARD_POLICY_ARNS].sort());
    expect(fx.isStandard()).toBe(true);
    expect(fx.iam.approvalPolicies()).toEqual([]);

    // the expiry schedule is deleted
    expect(fx.calls.filter((c) => c.command === 'DeleteSchedule').map((c) => c.input)).toEqual([
      { Name: `AgentGuardExpire-${approval.approvalId}`, GroupName: 'agent-guard' },
    ]);
    expect(fx.scheduler.schedules.size).toBe(0);

    // the record says who ended it and when
    const at = iso(plus(NOW, 120));
    expect(fx.record(approval.approvalId)).toMatchObject({
      status: 'revoked',
      revokedBy: BOB,
      revokedAt: at,
      endedAt: at,
      endReason: 'done early',
      sortAt: at,
    });
    expect(fx.record(approval.approvalId).history.at(-1)).toEqual({ at, by: BOB, what: 'revoked: done early' });

    // and on-call hears of it
    expect(fx.sns.notices).toHaveLength(1);
    expect(fx.sns.notices[0].subject).toBe(`agent-guard: approval ${approval.approvalId} revoked`);
    expect(fx.sns.notices[0].message).toContain(`Role:     ${AGENT_ARN}`);
    expect(fx.sns.notices[0].message).toContain(`Ended by: ${BOB} (done early)`);
  });

  test('an approver other than the one who approved may revoke, and so may an approver user', async () => {
    const fx = newFixture();
    const approval = await fx.approve({}, BOB);
    const reply = await fx.call({ op: 'revoke', approvalId: approval.approvalId }, USER_ALICE);
    expect(reply.statusCode).toBe(200);
    expect(fx.record(approval.approvalId)).toMatchObject({ status: 'revoked', revokedBy: USER_ALICE });
    expect(fx.record(approval.approvalId).endReason).toBeUndefined();
  });

  test('an ended approval cannot be revoked again, and nothing is written', async () => {
    const fx = newFixture();
    const approval = await fx.approve();
    await fx.call({ op: 'revoke', approvalId: approval.approvalId });
    fx.resetCalls();
    const again = await fx.call({ op: 'revoke', approvalId: approval.approvalId });
    expect(again.statusCode).toBe(403);
    expect(again.body.message).toBe(`Approval ${approval.approvalId} is already revoked.`);
    expect(fx.writes()).toEqual([]);
  });

  test('an unknown id is refused', async () => {
    const fx = newFixture();
    const reply = await fx.call({ op: 'revoke', approvalId: 'nosuchid1' });
    expect(reply.statusCode).toBe(403);
    expect(reply.body.message).toBe('There is no approval nosuchid1; run agent-guard list.');
    expect(fx.writes()).toEqual([]);
  });

  test('a pending request can be revoked; IAM is not touched', async () => {
    const fx = newFixture();
    const request = await fx.call({ ...approveBody(), op: 'request' }, AGENT_SESSION);
    const id = request.body.ok ? request.body.approvals![0].approvalId : '';
    fx.resetCalls();
    const reply = await fx.call({ op: 'revoke', approvalId: id }, BOB);
    expect(reply.statusCode).toBe(200);
    expect(fx.record(id)).toMatchObject({ status: 'revoked', revokedBy: BOB });
    expect(fx.writes('iam')).toEqual([]);
    expect(fx.isStandard()).toBe(true);
  });

  test('the approval of a role that was deleted meanwhile still ends in the record', async () => {
    const fx = newFixture();
    const approval = await fx.approve();
    // the role is deleted out of band (its policies detached first, as IAM requires)
    fx.iam.roles.delete(AGENT);
    fx.resetCalls();
    const reply = await fx.call({ op: 'revoke', approvalId: approval.approvalId });
    expect(reply.statusCode).toBe(200);
    expect(fx.record(approval.approvalId).status).toBe('revoked');
    expect(fx.writes('iam')).toEqual([]);
  });
});

describe('expiry', () => {
  test('the schedule fires after the expiry and ends the approval as a revoke does', async () => {
    const fx = newFixture();
    const approval = await fx.approve({ durationSeconds: 900 });
    const setNames = fx.approvalPoliciesOn().map((a) => a.split('/').pop());
    fx.advance(900);
    fx.resetCalls();

    // WHEN Scheduler runs the one-shot schedule (and deletes it, ActionAfterCompletion DELETE)
    await fx.fireSchedule(approval.approvalId);

    expect(fx.iamWriteLog()).toEqual(endingWrites(setNames));
    expect(fx.isStandard()).toBe(true);
    const at = iso(plus(NOW, 900));
    const record = fx.record(approval.approvalId);
    expect(record).toMatchObject({ status: 'expired', endedAt: at, sortAt: at });
    expect(record.revokedBy).toBeUndefined();
    expect(record.history.at(-1)).toEqual({ at, by: 'the expiry schedule', what: 'expired' });
    expect(fx.sns.notices.map((n) => n.subject)).toEqual([`agent-guard: approval ${approval.approvalId} expired`]);
    // the schedule was already gone; deleting it again is harmless
    expect(fx.calls.filter((c) => c.command === 'DeleteSchedule').map((c) => c.error)).toEqual([
      'ResourceNotFoundException',
    ]);
  });

  test('an expire event routed straight to the function ends it too', async () => {
    const fx = newFixture();
    const approval = await fx.approve();
    fx.advance(1801);
    const result = await fx.invoke({ op: 'expire', approvalId: approval.approvalId });
    expect(result).toBeUndefined();
    expect(fx.record(approval.approvalId).status).toBe('expired');
    expect(fx.isStandard()).toBe(true);
    expect(fx.scheduler.schedules.size).toBe(0);
  });

  test('an expiry that fires after a revoke, or for an unknown id, does nothing', async () => {
    const fx = newFixture();
    const approval = await fx.approve();
    await fx.call({ op: 'revoke', approvalId: approval.approvalId });
    fx.resetCalls();
    await fx.invoke({ op: 'expire', approvalId: approval.approvalId });
    await fx.invoke({ op: 'expire', approvalId: 'nosuchid1' });
    expect(fx.writes()).toEqual([]);
    expect(fx.record(approval.approvalId).status).toBe('revoked');
  });

  test('the expiry of one of two approvals leaves the other in force', async () => {
    const fx = newFixture();
    const short = await fx.approve({ durationSeconds: 600 });
    const long = await fx.approve({
      durationSeconds: 3600,
      resources: ['arn:aws:ec2:us-east-1:111122223333:instance/i-2'],
    });
    fx.advance(600);
    await fx.fireSchedule(short.approvalId);
    expect(fx.record(short.approvalId).status).toBe('expired');
    const kept = fx.record(long.approvalId);
    expect(kept.status).toBe('active');
    expect(fx.setsOn()).toEqual([kept.policySetId]);
    expect(fx.role().tags[APPROVAL_TAG]).toBe(kept.policySetId);
    expect(kept.policySetId).not.toBe(long.policySetId);
    expect(fx.scheduler.schedules.size).toBe(1);
  });
});

describe('two-person rule', () => {
  const options = { config: { requiredApprovals: 2 } };

  test('the first approval waits, the same approver cannot co-sign, a second approver puts it in force', async () => {
    const fx = newFixture(options);

    // WHEN the first approver approves
    const first = await fx.call(approveBody());
    expect(first.statusCode).toBe(200);
    const pending = first.body.ok ? first.body.approvals![0] : undefined;
    const id = pending!.approvalId;
    expect(first.body.message).toBe(`Approval ${id} needs 1 more approver(s): agent-guard approve --id ${id}`);

    // THEN it is pending and nothing is attached
    expect(fx.record(id)).toMatchObject({ status: 'pending', approvers: [ALICE], requiredApprovals: 2 });
    expect(fx.record(id).expiresAt).toBeUndefined();
    expect(fx.writes('iam')).toEqual([]);
    expect(fx.isStandard()).toBe(true);
    expect(fx.scheduler.schedules.size).toBe(0);
    expect(fx.sns.notices.map((n) => n.subject)).toEqual(['agent-guard: second approver needed for agent']);
    expect(fx.sns.notices[0].message).toContain(`A second approver runs: agent-guard approve --id ${id}`);

    // WHEN the same approver tries again
    fx.resetCalls();
    const again = await fx.call({ op: 'approve-pending', approvalId: id });
    expect(again.statusCode).toBe(403);
    // (the first approver is also the one who asked, so the message may say either)
    expect([
      `${ALICE} already approved ${id}; another approver must approve it.`,
      `${ALICE} already asked for ${id}; another approver must approve it.`,
    ]).toContain(again.body.message);
    expect(fx.writes()).toEqual([]);

    // WHEN an agent or a non-approver tries
    for (const caller of [AGENT_SESSION, DEVELOPER]) {
      expect((await fx.call({ op: 'approve-pending', approvalId: id }, caller)).statusCode).toBe(403);
    }
    expect(fx.writes()).toEqual([]);

    // WHEN a second approver approves ten minutes later
    fx.advance(600);
    const second = await fx.call({ op: 'approve-pending', approvalId: id }, BOB);
    expect(second.statusCode).toBe(200);
    const expiresAt = iso(plus(NOW, 600 + 1800));
    expect(second.body.message).toBe(`Approval ${id} is in force until ${expiresAt}.`);
    const active = fx.record(id);
    expect(active).toMatchObject({ status: 'active', approvers: [ALICE, BOB], expiresAt });
    expect(active.history.map((h) => [h.by, h.what])).toEqual([
      [ALICE, 'approved'],
      [BOB, 'approved'],
      [BOB, 'in force'],
    ]);
    expect(fx.setsOn()).toEqual([active.policySetId]);
    expect(fx.scheduler.schedules.size).toBe(1);
  });

  test('with three required, the second approver leaves it pending', async () => {
    const fx = newFixture({ config: { requiredApprovals: 3 } });
    const { approvalId } = await fx.approve();
    const second = await fx.call({ op: 'approve-pending', approvalId }, BOB);
    expect(second.body.message).toBe(`Approval ${approvalId} needs 1 more approver(s).`);
    expect(fx.record(approvalId)).toMatchObject({ status: 'pending', approvers: [ALICE, BOB] });
    expect(fx.writes('iam')).toEqual([]);
    const third = await fx.call({ op: 'approve-pending', approvalId }, CAROL);
    expect(third.statusCode).toBe(200);
    expect(fx.record(approvalId)).toMatchObject({ status: 'active', approvers: [ALICE, BOB, CAROL] });
  });

  test('an approver cannot co-sign an approval of its own role', async () => {
    const fx = newFixture(options);
    const { approvalId } = await fx.approve();
    // the pending record names the agent; make it name Bob's role, as if it had been asked for it
    fx.seedRecord({ ...fx.record(approvalId), roleArn: 'arn:aws:iam::111122223333:role/OnCallBob' });
    const reply = await fx.call({ op: 'approve-pending', approvalId }, BOB);
    expect(reply.statusCode).toBe(403);
    expect(reply.body.message).toBe('No self-approval: the approver cannot be the role approved.');
  });

  test('an active approval cannot be co-signed again', async () => {
    const fx = newFixture();
    const { approvalId } = await fx.approve();
    fx.resetCalls();
    const reply = await fx.call({ op: 'approve-pending', approvalId }, BOB);
    expect(reply.statusCode).toBe(403);
    expect(reply.body.message).toBe(`Approval ${approvalId} is active, not pending.`);
    expect(fx.writes()).toEqual([]);
  });

  test('a second session of the same role does not count as a second approver', async () => {
    // Session names are chosen by whoever assumes the role, so sessions of one role count once
    // (IAM Identity Center roles aside; see aws-fidelity.test.ts).
    const fx = newFixture(options);
    const { approvalId } = await fx.approve();
    const reply = await fx.call(
      { op: 'approve-pending', approvalId },
      sessionArn('OnCallAlice', 'alice-second-session'),
    );
    expect(reply.statusCode).toBe(403);
    expect(fx.record(approvalId).status).toBe('pending');
  });
});

describe('requests from agents', () => {
  function requestBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...approveBody(), op: 'request', reason: 'the node is wedged', ...overrides };
  }

  /** A fresh account in which `caller` has asked for the agent role: the reply and the request's id. */
  async function requested(caller: string): Promise<{ fx: ApprovalsFixture; reply: HttpReply; id: string }> {
    const fx = newFixture();
    const reply = await fx.call(requestBody(), caller);
    const id = reply.body.ok ? reply.body.approvals![0].approvalId : '';
    return { fx, reply, id };
  }

  function approvePending(fx: ApprovalsFixture, id: string, caller: string): Promise<HttpReply> {
    return fx.call({ op: 'approve-pending', approvalId: id }, caller);
  }

  test('an agent asks for its own role: pending, on-call is told how to approve, nothing attached', async () => {
    const fx = newFixture();
    const reply = await fx.call(requestBody(), AGENT_SESSION);
    expect(reply.statusCode).toBe(200);
    const record = reply.body.ok ? reply.body.approvals![0] : undefined;
    const id = record!.approvalId;
    const lapses = iso(plus(NOW, 3600));
    expect(reply.body.message).toBe(`Request ${id} is waiting for on-call (lapses at ${lapses}).`);
    expect(fx.record(id)).toMatchObject({
      kind: 'request',
      status: 'pending',
      requestedBy: AGENT_SESSION,
      approvers: [],
      requestExpiresAt: lapses,
      sortAt: lapses,
    });
    expect(fx.writes('iam')).toEqual([]);
    expect(fx.isStandard()).toBe(true);
    expect(fx.sns.notices).toHaveLength(1);
    expect(fx.sns.notices[0].subject).toBe('agent-guard: approval requested for agent');
    expect(fx.sns.notices[0].message).toContain(`${AGENT_SESSION} asks for an approval.`);
    expect(fx.sns.notices[0].message).toContain(`Approve it with: agent-guard approve --id ${id}`);
    expect(fx.sns.notices[0].message).toContain(`It lapses unapproved at ${lapses}.`);
  });

  test('an agent cannot ask for another role', async () => {
    const fx = newFixture();
    for (const [caller, target] of [
      [AGENT_SESSION, OTHER_AGENT_ARN],
      [OTHER_AGENT_SESSION, AGENT_ARN],
    ]) {
      const reply = await fx.call(requestBody({ roleArn: target }), caller);
      expect(reply.statusCode).toBe(403);
      expect(reply.body.message).toBe('An agent role may request approvals for itself only; give --role its own ARN.');
    }
    expect(fx.writes()).toEqual([]);
  });

  test('the agent cannot approve its own request', async () => {
    const { fx, id } = await requested(AGENT_SESSION);
    fx.resetCalls();
    const approve = await approvePending(fx, id, AGENT_SESSION);
    expect(approve.statusCode).toBe(403);
    expect(approve.body.message).toBe('An agent role may not approve; an on-call engineer must.');
    expect(fx.writes()).toEqual([]);
  });

  test('on-call approves it; the clock starts at the approval, not at the request', async () => {
    const { fx, id } = await requested(AGENT_SESSION);
    fx.advance(1500);
    const approved = await approvePending(fx, id, ALICE);
    expect(approved.statusCode).toBe(200);
    const record = fx.record(id);
    expect(record).toMatchObject({
      kind: 'request',
      status: 'active',
      requestedBy: AGENT_SESSION,
      approvers: [ALICE],
      createdAt: iso(NOW),
      activatedAt: iso(plus(NOW, 1500)),
      expiresAt: iso(plus(NOW, 1500 + 1800)),
    });
    expect(fx.setsOn()).toEqual([record.policySetId]);
    expect(fx.scheduler.schedules.get(`agent-guard/AgentGuardExpire-${id}`)?.ScheduleExpression).toBe(
      `at(${iso(plus(NOW, 3300)).replace('Z', '')})`,
    );
  });

  test('a request not approved within its time lapses', async () => {
    const { fx, id } = await requested(AGENT_SESSION);
    fx.advance(3600);
    fx.resetCalls();
    const late = await approvePending(fx, id, ALICE);
    expect(late.statusCode).toBe(403);
    expect(late.body.message).toBe(`Request ${id} lapsed at ${iso(plus(NOW, 3600))}; ask for a new one.`);
    expect(fx.record(id)).toMatchObject({ status: 'lapsed', endReason: 'nobody approved it in time' });
    expect(fx.writes('iam')).toEqual([]);
    expect(fx.isStandard()).toBe(true);
    // and it stays lapsed
    const again = await approvePending(fx, id, BOB);
    expect(again.body.message).toBe(`Approval ${id} is lapsed, not pending.`);
  });

  test('anyone signed in the account may ask, but only an approver may approve', async () => {
    const { fx, reply, id } = await requested(DEVELOPER);
    expect(reply.statusCode).toBe(200);
    expect((await approvePending(fx, id, DEVELOPER)).statusCode).toBe(403);
    expect(fx.record(id).status).toBe('pending');
  });

  test('an approver who asked cannot approve their own request', async () => {
    const { fx, id } = await requested(ALICE);
    const own = await approvePending(fx, id, ALICE);
    expect(own.statusCode).toBe(403);
    expect(own.body.message).toBe(`${ALICE} already asked for ${id}; another approver must approve it.`);
    expect((await approvePending(fx, id, BOB)).statusCode).toBe(200);
  });
});

describe('single use', () => {
  test('watches CloudTrail for the first use by the role, and ends the approval when it comes', async () => {
    const fx = newFixture();
    const approval = await fx.approve({ uses: 1, actions: ['ec2:TerminateInstances', 'ec2:StopInstances'] });
    const rule = `AgentGuardUse-${approval.approvalId}`;

    // THEN a rule matches the role's successful calls of the approved actions
    const putRule = fx.calls.find((c) => c.command === 'PutRule');
    expect(putRule?.input.Name).toBe(rule);
    expect(putRule?.input.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    expect(JSON.parse(String(putRule?.input.EventPattern))).toEqual({
      source: [{ prefix: 'aws.' }],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventName: ['StopInstances', 'TerminateInstances'],
        userIdentity: { sessionContext: { sessionIssuer: { arn: [AGENT_ARN] } } },
        errorCode: [{ exists: false }],
      },
    });
    expect(fx.calls.find((c) => c.command === 'PutTargets')?.input).toEqual({
      Rule: rule,
      Targets: [
        { Id: 'approvals', Arn: FUNCTION_ARN, Input: JSON.stringify({ op: 'used', approvalId: approval.approvalId }) },
      ],
    });
    expect(fx.sns.notices[0].message).toContain('For:      30m, 1 use');

    // a denied call, another role's call and an unrelated call do not count
    expect(await fx.cloudTrail(AGENT, 'TerminateInstances', 'Client.UnauthorizedOperation')).toBe(0);
    expect(await fx.cloudTrail(OTHER_AGENT, 'TerminateInstances')).toBe(0);
    expect(await fx.cloudTrail(AGENT, 'DescribeInstances')).toBe(0);
    expect(fx.record(approval.approvalId).status).toBe('active');

    // WHEN the agent makes the approved call
    fx.advance(60);
    fx.resetCalls();
    expect(await fx.cloudTrail(AGENT, 'TerminateInstances')).toBe(1);

    // THEN the approval is used up, the role locked again and the rule gone
    expect(fx.record(approval.approvalId)).toMatchObject({ status: 'used', endedAt: iso(plus(NOW, 60)) });
    expect(fx.record(approval.approvalId).history.at(-1)).toEqual({
      at: iso(plus(NOW, 60)),
      by: 'first use seen in CloudTrail',
      what: 'used',
    });
    expect(fx.isStandard()).toBe(true);
    expect(fx.writes('events').map((c) => c.command)).toEqual(['RemoveTargets', 'DeleteRule']);
    expect(fx.events.rules.size).toBe(0);
    expect(fx.scheduler.schedules.size).toBe(0);
    expect(fx.sns.notices.map((n) => n.subject)).toEqual([`agent-guard: approval ${approval.approvalId} used`]);
  });

  test('a forged event (a custom source, as PutEvents writes it) does not use up the approval', async () => {
    const fx = newFixture();
    const approval = await fx.approve({ uses: 1 });
    for (const source of ['custom.x', 'ec2', 'awsx.ec2']) {
      expect(await fx.cloudTrail(AGENT, 'TerminateInstances', undefined, 'ec2', { source })).toBe(0);
    }
    expect(fx.record(approval.approvalId).status).toBe('active');
    expect(await fx.cloudTrail(AGENT, 'TerminateInstances')).toBe(1);
    expect(fx.record(approval.approvalId).status).toBe('used');
  });

  test('a read-only action approved for single use: its first use reaches the rule (EB-9)', async () => {
    const fx = newFixture({
      config: { customGroups: [{ name: 'secrets', actions: ['secretsmanager:GetSecretValue'] }] },
    });
    const secret = `arn:aws:secretsmanager:us-east-1:${ACCOUNT_ID}:secret:db-AbCdEf`;
    const approval = await fx.approve({ uses: 1, actions: ['secretsmanager:GetSecretValue'], resources: [secret] });
    expect(await fx.cloudTrail(AGENT, 'GetSecretValue', undefined, 'secretsmanager')).toBe(1);
    expect(fx.record(approval.approvalId).status).toBe('used');
  });

  test('EventBridge fails to add the target (a partial failure): on-call is told, and no rule is left', async () => {
    const fx = newFixture();
    fx.events.refusedTargets.add('approvals');
    const approval = await fx.approve({ uses: 1 });
    expect(fx.sns.notices.map((n) => n.subject)).toContain(
      `agent-guard: single use of ${approval.approvalId} is not watched`,
    );
    expect(fx.events.rules.size).toBe(0);
    // the approval still ends at its expiry
    expect(fx.record(approval.approvalId).status).toBe('active');
  });

  test('EventBridge fails to remove the target (a partial failure): on-call is told the rule is left', async () => {
    const fx = newFixture();
    const approval = await fx.approve({ uses: 1 });
    fx.events.refusedTargets.add('approvals');
    fx.resetCalls();
    await fx.call({ op: 'revoke', approvalId: approval.approvalId });
    expect(fx.record(approval.approvalId).status).toBe('revoked');
    const notice = fx.sns.notices.find((n) => n.subject.includes('first-use rule'));
    expect(notice?.message).toContain(`AgentGuardUse-${approval.approvalId}`);
  });

  test('a used event routed straight to the function ends it', async () => {
    const fx = newFixture();
    const approval = await fx.approve({ uses: 1 });
    await fx.invoke({ op: 'used', approvalId: approval.approvalId });
    expect(fx.record(approval.approvalId).status).toBe('used');
    expect(fx.events.rules.size).toBe(0);
  });

  test('a used event for an approval without a use limit does nothing', async () => {
    const fx = newFixture();
    const approval = await fx.approve();
    fx.resetCalls();
    await fx.invoke({ op: 'used', approvalId: approval.approvalId });
    expect(fx.writes()).toEqual([]);
    expect(fx.record(approval.approvalId).status).toBe('active');
  });

  test('a revoked single-use approval removes its rule too', async () => {
    const fx = newFixture();
    const approval = await fx.approve({ uses: 1 });
    expect(fx.events.rules.size).toBe(1);
    await fx.call({ op: 'revoke', approvalId: approval.approvalId });
    expect(fx.events.rules.size).toBe(0);
    expect(fx.record(approval.approvalId).status).toBe('revoked');
  });
});

describe('break-glass', () => {
  const options = { config: { requiredApprovals: 2 } };

  test('one approver is enough even with a two-person rule, and it is loud', async () => {
    const fx = newFixture(options);
    const reply = await fx.call(approveBody({ breakGlass: true, durationSeconds: 900 }));
    expect(reply.statusCode).toBe(200);
    const approval = reply.body.ok ? reply.body.approvals![0] : undefined;
    expect(fx.record(approval!.approvalId)).toMatchObject({
      kind: 'break-glass',
      status: 'active',
      requiredApprovals: 1,
      approvers: [ALICE],
      reviewRequired: true,
      expiresAt: iso(plus(NOW, 900)),
    });
    expect(fx.setsOn()).toEqual([approval!.policySetId]);
    expect(fx.sns.notices).toHaveLength(1);
    expect(fx.sns.notices[0].subject).toContain('BREAK-GLASS');
    expect(fx.sns.notices[0].subject).toBe('agent-guard: BREAK-GLASS approval in force for agent');
    expect(fx.sns.notices[0].message).toMatch(
      /^BREAK-GLASS: one approver, short limit\. This approval is marked for review\./,
    );
  });

  test('over the break-glass maximum is refused, even under the normal maximum', async () => {
    const fx = newFixture(options);
    const reply = await fx.call(approveBody({ breakGlass: true, durationSeconds: 901 }));
    expect(reply.statusCode).toBe(403);
    expect(reply.body.message).toBe('The duration 15m1s is over the break-glass maximum of 15m; ask for less.');
    expect(fx.writes()).toEqual([]);
  });

  test('still needs an approver, and never an agent', async () => {
    const fx = newFixture(options);
    for (const caller of [DEVELOPER, AGENT_SESSION]) {
      const reply = await fx.call(approveBody({ breakGlass: true, durationSeconds: 600 }), caller);
      expect(reply.statusCode).toBe(403);
    }
    expect(fx.writes()).toEqual([]);
  });

  test('breakGlass false is an ordinary approval', async () => {
    const fx = newFixture();
    const approval = await fx.approve({ breakGlass: false });
    expect(approval.kind).toBe('approval');
    expect(approval.reviewRequired).toBeUndefined();
    expect(fx.sns.notices[0].subject).not.toContain('BREAK-GLASS');
  });
});

describe('a swap that would hold more than the guard policies and 3 approval versions (issue 10, "Fit")', () => {
  /** The most guard policies (standard and versions) the role held at once, replayed from the IAM writes. */
  function peak(fx: ReturnType<typeof newFixture>, before: readonly string[]): number {
    const held = new Set(before.filter((a) => a.includes('/agent-guard/')));
    let most = held.size;
    for (const line of fx.iamWriteLog()) {
      const [command, , name] = line.split(' ');
      const arn = `arn:aws:iam::${ACCOUNT_ID}:policy/agent-guard/${name}`;
      if (command === 'AttachRolePolicy') held.add(arn);
      if (command === 'DetachRolePolicy') held.delete(arn);
      most = Math.max(most, held.size);
    }
    return most;
  }

  test('goes through the standard set, so a role never needs more than 3 places beyond the guard policies', async () => {
    const fx = newFixture();
    // approvals on ec2 until the policy that holds it spills into two versions
    for (let i = 1; fx.approvalPoliciesOn().length < 2; i++) await fx.approve({ resources: [instanceArn(i)] });
    const db = 'arn:aws:rds:us-east-1:111122223333:db:orders';
    let before = fx.role().attached;
    fx.resetCalls();
    // WHEN an approval on another policy joins them (two versions to three, none shared)
    const other = await fx.approve({ actions: ['rds:DeleteDBInstance'], resources: [db] });
    expect(fx.approvalPoliciesOn()).toHaveLength(3);
    // THEN the standard policies went back on and the old versions came off before the new ones were made
    const log = fx.iamWriteLog();
    const firstCreate = log.findIndex((l) => l.startsWith('CreatePolicy'));
    expect(
      log.slice(0, firstCreate).filter((l) => l.startsWith('DetachRolePolicy agent AgentGuardApproval')),
    ).toHaveLength(2);
    expect(peak(fx, before)).toBeLessThanOrEqual(GUARD_POLICY_ARNS.length + 3);

    // WHEN it is revoked (three versions to two) the same holds
    before = fx.role().attached;
    fx.resetCalls();
    expect((await fx.call({ op: 'revoke', approvalId: other.approvalId })).statusCode).toBe(200);
    expect(fx.approvalPoliciesOn()).toHaveLength(2);
    expect(peak(fx, before)).toBeLessThanOrEqual(GUARD_POLICY_ARNS.length + 3);
  });
});
