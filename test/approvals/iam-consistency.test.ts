import {
  AGENT,
  approveBody,
  BOB,
  expectNoLockViolations,
  GUARD_POLICY_ARNS,
  newFixture,
} from '../support/approvals-fixture';

afterEach(expectNoLockViolations);

/**
 * IAM is eventually consistent (docs/AWS-BEHAVIOUR.md): the fake shows an attach to reads only after a
 * few reads, and the lock watch counts a policy as in force only once it is attached and visible. A
 * swap that detaches the old set before the new one reads back leaves, for a while, neither in force.
 */
describe('the approval swap waits until the new set reads back (issue 9, item 6)', () => {
  test('approve: the standard policy it replaces is detached only once the approval set reads back', async () => {
    const fx = newFixture();
    fx.iam.visibilityDelayReads = 3;
    const approval = await fx.approve();
    expect(approval.status).toBe('active');
    expect(fx.setsOn(AGENT)).toHaveLength(1);
    const replaced = fx
      .approvalPoliciesOn(AGENT)
      .map((arn) => `/AgentGuardDeny${/-Deny(\d+)-[0-9a-f]+$/.exec(arn)![1]}`);
    expect(GUARD_POLICY_ARNS.filter((arn) => fx.role(AGENT).attached.includes(arn))).toEqual(
      GUARD_POLICY_ARNS.filter((arn) => !replaced.some((end) => arn.endsWith(end))),
    );
    // the watch (afterEach) saw a complete deny set in force after every write
  });

  test('revoke: the approval set is detached only once the standard set reads back', async () => {
    const fx = newFixture();
    const approval = await fx.approve();
    fx.iam.visibilityDelayReads = 3;
    const reply = await fx.call({ op: 'revoke', approvalId: approval.approvalId }, BOB);
    expect(reply.statusCode).toBe(200);
    expect(fx.isStandard(AGENT)).toBe(true);
  });

  test('an attach that never reads back detaches nothing: the role keeps both sets and the call fails', async () => {
    const fx = newFixture();
    fx.iam.visibilityDelayReads = 1_000;
    const reply = await fx.call(approveBody());
    expect(reply.statusCode).toBe(403);
    expect(reply.body.ok).toBe(false);
    expect(reply.body.message).toMatch(/did not show the new guard policies on agent in time .* nothing was detached/);
    const attached = fx.role(AGENT).attached;
    expect(GUARD_POLICY_ARNS.every((arn) => attached.includes(arn))).toBe(true);
    expect(fx.iamWriteLog().filter((w) => w.startsWith('DetachRolePolicy'))).toEqual([]);
    // the reads were bounded: at most ~10 s of capped backoff, a handful of reads
    const reads = fx.calls.filter((c) => c.command === 'ListAttachedRolePolicies').length;
    expect(reads).toBeLessThan(20);
  });
});
