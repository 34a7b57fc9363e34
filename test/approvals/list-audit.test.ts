import { ApprovalRecord } from '../../lib/core/approval-api';
import {
  AGENT_ARN,
  AGENT_SESSION,
  ALICE,
  approveBody,
  BOB,
  expectNoLockViolations,
  INSTANCE_ARN,
  instanceArn,
  iso,
  newFixture,
  NOW,
  OTHER_AGENT_ARN,
  plus,
} from '../support/approvals-fixture';

afterEach(expectNoLockViolations);

const RETENTION_SECONDS = 365 * 86400;
const epoch = (isoTime: string) => Math.floor(new Date(isoTime).getTime() / 1000);

describe('list', () => {
  async function populated() {
    const fx = newFixture();
    const active = await fx.approve({ resources: [instanceArn(1)] });
    fx.advance(60);
    const request = await fx.call({ ...approveBody(), op: 'request' }, AGENT_SESSION);
    const pending = request.body.ok ? request.body.approvals![0] : undefined;
    fx.advance(60);
    const other = await fx.approve({ roleArn: OTHER_AGENT_ARN });
    fx.advance(60);
    const ended = await fx.approve({ resources: [instanceArn(2)] });
    await fx.call({ op: 'revoke', approvalId: ended.approvalId });
    return { fx, active, pending: pending!, other, ended };
  }

  const ids = (reply: { body: { ok: boolean; approvals?: ApprovalRecord[] } }) =>
    (reply.body.approvals ?? []).map((a) => a.approvalId);

  test('returns the active and pending approvals, newest first', async () => {
    const { fx, active, pending, other } = await populated();
    fx.resetCalls();
    const reply = await fx.call({ op: 'list' }, BOB);
    expect(reply.statusCode).toBe(200);
    expect(reply.body.message).toBe('3 approval(s).');
    expect(ids(reply)).toEqual([other.approvalId, pending.approvalId, active.approvalId]);
    expect(fx.writes()).toEqual([]);
  });

  test('filters by role', async () => {
    const { fx, active, pending } = await populated();
    const reply = await fx.call({ op: 'list', roleArn: AGENT_ARN });
    expect(ids(reply)).toEqual([pending.approvalId, active.approvalId]);
    const none = await fx.call({ op: 'list', roleArn: 'arn:aws:iam::111122223333:role/nobody' });
    expect(none.body.message).toBe('0 approval(s).');
  });

  test('includeEnded adds the ended ones', async () => {
    const { fx, active, pending, other, ended } = await populated();
    const reply = await fx.call({ op: 'list', includeEnded: true });
    expect(ids(reply)).toEqual([ended.approvalId, other.approvalId, pending.approvalId, active.approvalId]);
    const listed = reply.body.ok ? (reply.body.approvals ?? []) : [];
    expect(listed.find((a) => a.approvalId === ended.approvalId)?.status).toBe('revoked');
    const forAgent = await fx.call({ op: 'list', includeEnded: true, roleArn: AGENT_ARN });
    expect(ids(forAgent)).toEqual([ended.approvalId, pending.approvalId, active.approvalId]);
  });

  test('current behaviour: an agent may list too', async () => {
    const { fx } = await populated();
    const reply = await fx.call({ op: 'list' }, AGENT_SESSION);
    expect(reply.statusCode).toBe(200);
    expect(ids(reply)).toHaveLength(3);
  });
});

describe('audit', () => {
  test('approve, revoke and expiry each leave history, and the record says who, what, why and until when', async () => {
    const fx = newFixture({ config: { ticketPattern: 'OPS-[0-9]+' } });

    // an approval that is revoked
    const revoked = await fx.approve({ ticket: 'OPS-7', reason: 'rotate the node' });
    fx.advance(300);
    await fx.call({ op: 'revoke', approvalId: revoked.approvalId, reason: 'finished' }, BOB);
    const r = fx.record(revoked.approvalId);
    expect(r).toMatchObject({
      approvalId: revoked.approvalId,
      kind: 'approval',
      status: 'revoked',
      roleArn: AGENT_ARN,
      requestedActions: ['ec2:TerminateInstances'],
      actions: ['ec2:TerminateInstances'],
      resources: [INSTANCE_ARN],
      durationSeconds: 1800,
      reason: 'rotate the node',
      ticket: 'OPS-7',
      requestedBy: ALICE,
      approvers: [ALICE],
      createdAt: iso(NOW),
      activatedAt: iso(NOW),
      expiresAt: iso(plus(NOW, 1800)),
      revokedBy: BOB,
      revokedAt: iso(plus(NOW, 300)),
      endedAt: iso(plus(NOW, 300)),
      endReason: 'finished',
    });
    expect(r.history).toEqual([
      { at: iso(NOW), by: ALICE, what: 'approved' },
      { at: iso(NOW), by: ALICE, what: 'in force' },
      { at: iso(plus(NOW, 300)), by: BOB, what: 'revoked: finished' },
    ]);
    expect(r.ttl).toBeGreaterThanOrEqual(epoch(iso(fx.now)) + RETENTION_SECONDS);
    expect(r.ttl).toBeGreaterThanOrEqual(epoch(r.endedAt!) + RETENTION_SECONDS);

    // an approval that expires
    const expiring = await fx.approve({ ticket: 'OPS-8', durationSeconds: 600 });
    fx.advance(600);
    await fx.fireSchedule(expiring.approvalId);
    const e = fx.record(expiring.approvalId);
    expect(e).toMatchObject({
      status: 'expired',
      ticket: 'OPS-8',
      approvers: [ALICE],
      expiresAt: iso(plus(NOW, 900)),
      endedAt: iso(plus(NOW, 900)),
    });
    expect(e.revokedBy).toBeUndefined();
    expect(e.history.map((h) => h.what)).toEqual(['approved', 'in force', 'expired']);
    expect(e.ttl).toBeGreaterThanOrEqual(epoch(iso(fx.now)) + RETENTION_SECONDS);

    // the items are kept for as long as the retention says, counted from the end
    for (const record of fx.table.items.values()) {
      expect(record.ttl).toBeGreaterThanOrEqual(epoch(record.sortAt) + RETENTION_SECONDS);
    }
  });

  test('an active record is kept at least the retention past its expiry', async () => {
    const fx = newFixture();
    const approval = await fx.approve({ durationSeconds: 3600 });
    const record = fx.record(approval.approvalId);
    expect(record.ttl).toBeGreaterThanOrEqual(epoch(record.expiresAt!) + RETENTION_SECONDS);
  });

  test('a request keeps who asked and who approved, with the times', async () => {
    const fx = newFixture();
    const reply = await fx.call({ ...approveBody(), op: 'request', ticket: 'T-1' }, AGENT_SESSION);
    const id = reply.body.ok ? reply.body.approvals![0].approvalId : '';
    fx.advance(120);
    await fx.call({ op: 'approve-pending', approvalId: id, reason: 'looks right' }, BOB);
    const record = fx.record(id);
    expect(record).toMatchObject({ requestedBy: AGENT_SESSION, approvers: [BOB], ticket: 'T-1' });
    expect(record.history).toEqual([
      { at: iso(NOW), by: AGENT_SESSION, what: 'requested' },
      { at: iso(plus(NOW, 120)), by: BOB, what: 'approved' },
      { at: iso(plus(NOW, 120)), by: BOB, what: 'in force' },
    ]);
  });

  test('a revoke racing an expiry loses on the conditional write and is refused with a clear message', async () => {
    // The record is never overwritten by a stale copy: the status condition holds.
    const fx = newFixture();
    const approval = await fx.approve();
    fx.advance(1800);
    const results = await Promise.allSettled([
      fx.invoke({ op: 'expire', approvalId: approval.approvalId }),
      fx.call({ op: 'revoke', approvalId: approval.approvalId }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const reply = (results[1] as PromiseFulfilledResult<{ statusCode: number; body: { message: string } }>).value;
    expect(reply.statusCode).toBe(403);
    expect(reply.body.message).toContain('ended meanwhile');
    const record = fx.record(approval.approvalId);
    expect(record.status).toBe('expired');
    expect(record.history.map((h) => h.what)).toEqual(['approved', 'in force', 'expired']);
    expect(fx.isStandard()).toBe(true);
    expect(fx.iam.approvalPolicies()).toEqual([]);
  });
});
