import { cloudTrailEventNameMatchers, iamOperationOf } from '../../lib/core/cloudtrail/event-names';
import { AGENT_TAG, AGENT_TAG_VALUE } from '../../lib/core/contract';
import {
  ACCOUNT_ID,
  ADMIN_POLICY_ARN,
  AGENT,
  ALICE,
  approveBody,
  BOB,
  expectNoLockViolations,
  GUARD_POLICY_ARNS,
  instanceArn,
  newFixture,
  periodicEvent,
  sessionArn,
  USER_ALICE,
} from '../support/approvals-fixture';

afterEach(expectNoLockViolations);

const SSO_PATH = '/aws-reserved/sso.amazonaws.com/eu-west-1/';
const SSO_ROLE = 'AWSReservedSSO_OnCall_0123456789abcdef';

describe('two-person rule counts people, not sessions (issue 9, item 5)', () => {
  const options = { config: { requiredApprovals: 2 } };

  test('a second session of the same role does not count as a second approver', async () => {
    const fx = newFixture(options);
    const { approvalId } = await fx.approve();
    const second = sessionArn('OnCallAlice', 'alice-second-session');
    const reply = await fx.call({ op: 'approve-pending', approvalId }, second);
    expect(reply.statusCode).toBe(403);
    expect(reply.body.message).toBe(
      `${second} is the same approver as ${ALICE} (sessions of one role count once); another approver must approve it.`,
    );
    expect(fx.record(approvalId)).toMatchObject({ status: 'pending', approvers: [ALICE] });
    expect(fx.writes('iam')).toEqual([]);
    // a different role still counts
    expect((await fx.call({ op: 'approve-pending', approvalId }, BOB)).statusCode).toBe(200);
  });

  test('an approver who asked cannot approve again from another session of the same role', async () => {
    const fx = newFixture(options);
    const asked = await fx.call({ ...approveBody(), op: 'request', reason: 'the node is wedged' }, ALICE);
    const id = asked.body.ok ? asked.body.approvals![0].approvalId : '';
    const reply = await fx.call({ op: 'approve-pending', approvalId: id }, sessionArn('OnCallAlice', 'other'));
    expect(reply.statusCode).toBe(403);
    expect(fx.record(id).status).toBe('pending');
  });

  test('an IAM user counts as one approver', async () => {
    const fx = newFixture(options);
    const { approvalId } = await fx.approve({}, USER_ALICE);
    const again = await fx.call({ op: 'approve-pending', approvalId }, USER_ALICE);
    expect(again.statusCode).toBe(403);
    expect((await fx.call({ op: 'approve-pending', approvalId }, BOB)).statusCode).toBe(200);
  });

  test('distinct sessions of an IAM Identity Center role are distinct people', async () => {
    const fx = newFixture({
      config: { requiredApprovals: 2, approvers: [`arn:aws:iam::${ACCOUNT_ID}:role/aws-reserved/*`] },
    });
    fx.iam.addRole(SSO_ROLE, { path: SSO_PATH, policies: [ADMIN_POLICY_ARN] });
    const alice = sessionArn(SSO_ROLE, 'alice@example.com');
    const bob = sessionArn(SSO_ROLE, 'bob@example.com');
    const { approvalId } = await fx.approve({}, alice);
    expect((await fx.call({ op: 'approve-pending', approvalId }, alice)).statusCode).toBe(403);
    const reply = await fx.call({ op: 'approve-pending', approvalId }, bob);
    expect(reply.statusCode).toBe(200);
    expect(fx.record(approvalId)).toMatchObject({ status: 'active', approvers: [alice, bob] });
  });
});

describe('a revoked approval stays revoked while the index lags (issue 9, item 7)', () => {
  test('a new approval composed from a stale index does not bring a revoked one back', async () => {
    const fx = newFixture();
    const first = await fx.approve();
    // GIVEN the byStatus index still shows the first approval active after its revoke
    fx.table.lagIndex();
    const revoked = await fx.call({ op: 'revoke', approvalId: first.approvalId, reason: 'done' }, BOB);
    expect(revoked.statusCode).toBe(200);
    expect(fx.record(first.approvalId).status).toBe('revoked');
    expect(fx.isStandard()).toBe(true);

    // WHEN a second approval is granted on the same role
    const reply = await fx.call(approveBody({ resources: [instanceArn(2)], reason: 'second' }), ALICE);

    // THEN it is in force alone: the revoked approval's carve-out is nowhere in the role's policies
    expect(reply.statusCode).toBe(200);
    const second = reply.body.ok ? reply.body.approvals![0] : undefined;
    expect(fx.record(second!.approvalId)).toMatchObject({ status: 'active' });
    expect(fx.record(first.approvalId).status).toBe('revoked');
    const attached = fx.iam.role(AGENT).attached.map((arn) => JSON.stringify(fx.iam.document(arn)));
    expect(attached.join('\n')).toContain(`Approval${second!.approvalId}`);
    expect(attached.join('\n')).not.toContain(`Approval${first.approvalId}`);
    expect(fx.setsOn()).toEqual([fx.record(second!.approvalId).policySetId]);
  });
});

test('the reconcile does not end again an approval the lagging index still lists as active', async () => {
  const fx = newFixture();
  const first = await fx.approve();
  fx.table.lagIndex();
  expect((await fx.call({ op: 'revoke', approvalId: first.approvalId }, BOB)).statusCode).toBe(200);
  fx.advance(3600);
  await expect(fx.invoke(periodicEvent())).resolves.toMatchObject({ expired: 0 });
  expect(fx.record(first.approvalId).status).toBe('revoked');
  expect(fx.isStandard()).toBe(true);
});

describe('single use of Lambda actions (issue 9, item 9)', () => {
  test('CloudTrail names with a version suffix map to their IAM operation', () => {
    expect(iamOperationOf('lambda.amazonaws.com', 'DeleteFunction20150331')).toBe('DeleteFunction');
    expect(iamOperationOf('lambda.amazonaws.com', 'UpdateFunctionCode20150331v2')).toBe('UpdateFunctionCode');
    expect(iamOperationOf('ec2.amazonaws.com', 'TerminateInstances')).toBe('TerminateInstances');
    expect(cloudTrailEventNameMatchers(['lambda:DeleteFunction', 'ec2:TerminateInstances'])).toEqual([
      'TerminateInstances',
      { prefix: 'DeleteFunction20' },
    ]);
  });

  test('a single-use approval of lambda:DeleteFunction is used up by DeleteFunction20150331', async () => {
    const fx = newFixture();
    const fn = `arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:wedged`;
    const approval = await fx.approve({ uses: 1, actions: ['lambda:DeleteFunction'], resources: [fn] });
    expect(approval.status).toBe('active');

    // other Lambda operations whose names start alike do not count
    expect(await fx.cloudTrail(AGENT, 'DeleteFunctionConcurrency20171031', undefined, 'lambda')).toBe(0);
    expect(await fx.cloudTrail(AGENT, 'DeleteFunctionUrlConfig20211031', undefined, 'lambda')).toBe(0);
    expect(await fx.cloudTrail(AGENT, 'DeleteFunction20150331', 'AccessDenied', 'lambda')).toBe(0);
    expect(fx.record(approval.approvalId).status).toBe('active');

    // WHEN the agent deletes the function, as CloudTrail logs it
    expect(await fx.cloudTrail(AGENT, 'DeleteFunction20150331', undefined, 'lambda')).toBe(1);

    // THEN the approval is used up and the role locked again
    expect(fx.record(approval.approvalId).status).toBe('used');
    expect(fx.isStandard()).toBe(true);
    expect(fx.events.rules.size).toBe(0);
  });
});

describe('approval notices fit SNS (SNS-1, ledger C2)', () => {
  /** An agent role with the longest name IAM allows (64 characters, IAM-6). */
  function longAgent(fx: ReturnType<typeof newFixture>): string {
    const name = 'a'.repeat(64);
    fx.iam.addRole(name, {
      tags: { [AGENT_TAG]: AGENT_TAG_VALUE },
      policies: [ADMIN_POLICY_ARN, ...GUARD_POLICY_ARNS],
    });
    fx.settle();
    return fx.iam.role(name).arn;
  }

  test('a break-glass approval for a role with a 64-character name still tells on-call', async () => {
    const fx = newFixture();
    const roleArn = longAgent(fx);
    const reply = await fx.call(approveBody({ roleArn, breakGlass: true, durationSeconds: 900 }));
    expect(reply.statusCode).toBe(200);
    expect(fx.sns.notices).toHaveLength(1);
    expect(fx.sns.notices[0].subject).toMatch(/^agent-guard: BREAK-GLASS approval in force for a+$/);
  });

  test('a reason with line breaks cannot add lines of its own to the notice', async () => {
    const fx = newFixture();
    await fx.approve({ reason: 'fix the node\nApproved by: the security team\u2028Expires:  never' });
    const lines = fx.sns.notices[0].message.split('\n');
    expect(lines.filter((l) => l.startsWith('Approved by:'))).toEqual([`Approved by: ${ALICE}`]);
    expect(lines.filter((l) => l.startsWith('Expires:'))).toHaveLength(1);
    expect(fx.sns.notices[0].message).not.toMatch(/[\u2028\u2029]/);
  });
});
