import { AttachRolePolicyCommand, CreatePolicyCommand, DetachRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { approvalPolicySet } from '../../lib/core/approval/approval-policies';
import { HttpResult } from '../../lambda/approvals/handler';
import {
  AGENT,
  ALICE,
  approveBody,
  CATALOG,
  expectNoLockViolations,
  expectNothingWritten,
  GUARD_POLICY_ARNS,
  GUARD_POLICY_DIGEST,
  INSTANCE_ARN,
  newFixture,
  NOW,
  periodicEvent,
  plus,
} from '../support/approvals-fixture';

afterEach(expectNoLockViolations);

describe('the function URL', () => {
  test('a method other than POST is invalid', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const fx = newFixture();
      const reply = await fx.call(approveBody(), ALICE, { method });
      expect(reply.statusCode).toBe(400);
      expect(reply.body).toEqual({ ok: false, refused: false, message: 'POST a JSON body; see agent-guard --help.' });
      expectNothingWritten(fx);
    }
  });

  test('an unsigned call is refused before the method or the body is looked at', async () => {
    const fx = newFixture();
    const reply = await fx.call('not json', null, { method: 'GET', raw: true });
    expect(reply.statusCode).toBe(403);
    expect(reply.body).toEqual({ ok: false, refused: true, message: 'Sign the request with IAM credentials (SigV4).' });
  });

  test('a body that is not JSON is invalid', async () => {
    for (const body of ['not json', '{"op":', '']) {
      const fx = newFixture();
      const reply = await fx.call(body, ALICE, { raw: true });
      expect(reply.statusCode).toBe(400);
      expect(reply.body).toEqual({ ok: false, refused: false, message: 'The body is not JSON.' });
      expectNothingWritten(fx);
    }
  });

  test('a missing body is invalid', async () => {
    const fx = newFixture();
    const event = fx.urlEvent({}, ALICE);
    const result = (await fx.invoke({ ...event, body: undefined })) as HttpResult;
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toMatchObject({ message: 'The body is not JSON.' });
  });

  test('a base64 body is decoded', async () => {
    const fx = newFixture();
    const reply = await fx.call(approveBody(), ALICE, { base64: true });
    expect(reply.statusCode).toBe(200);
    expect(fx.setsOn()).toHaveLength(1);
  });

  test('a base64 flag on a plain body is not JSON', async () => {
    const fx = newFixture();
    const event = fx.urlEvent(approveBody(), ALICE);
    const result = (await fx.invoke({ ...event, isBase64Encoded: true })) as HttpResult;
    expect(result.statusCode).toBe(400);
    expectNothingWritten(fx);
  });

  test.each([
    ['durationSeconds', { durationSeconds: 'soon' }],
    ['roleArn', { roleArn: 'agent' }],
    ['actions', { actions: 'ec2:TerminateInstances' }],
    ['resources', { resources: [] }],
    ['reason', { reason: 42 }],
    ['ticket', { ticket: '' }],
    ['breakGlass', { breakGlass: 'yes' }],
  ])('a body failing the schema is invalid, naming the field (%s)', async (field, overrides) => {
    const fx = newFixture();
    const reply = await fx.call(approveBody(overrides));
    expect(reply.statusCode).toBe(400);
    expect(reply.body.ok).toBe(false);
    expect(reply.body.message).toMatch(/^Invalid request: /);
    expect(reply.body.message).toContain(field);
    expectNothingWritten(fx);
  });

  test('ids must look like ids', async () => {
    const fx = newFixture();
    for (const approvalId of ['short', 'UPPERCASE1', 'has-dash1', 'x'.repeat(33)]) {
      const reply = await fx.call({ op: 'revoke', approvalId });
      expect(reply.statusCode).toBe(400);
      expect(reply.body.message).toContain('approvalId');
    }
    expect(fx.writes()).toEqual([]);
  });

  test('a body that is not an object, or has no op, is invalid', async () => {
    const fx = newFixture();
    for (const body of [null, 42, 'approve', [approveBody()], {}]) {
      const reply = await fx.call(body);
      expect(reply.statusCode).toBe(400);
    }
    expect(fx.writes()).toEqual([]);
  });
});

describe('other invocations', () => {
  test('an event that is not the function URL nor one of its own reconciles', async () => {
    const fx = newFixture();
    const [policy] = approvalPolicySet(
      CATALOG,
      'leftover1',
      [{ id: 'leftover1', actions: ['ec2:TerminateInstances'], resources: [INSTANCE_ARN], expiresAt: plus(NOW, 60) }],
      GUARD_POLICY_DIGEST,
    );
    fx.iam.addPolicy(`arn:aws:iam::111122223333:policy/agent-guard/${policy.name}`, policy.document);
    for (const event of [periodicEvent(), {}, null, 'tick', { op: 'expire' }, { requestContext: {} }]) {
      fx.resetCalls();
      const result = await fx.invoke(event);
      expect(result).toMatchObject({ expired: 0, lapsed: 0 });
      expect(fx.calls.some((c) => c.command === 'ListPolicies')).toBe(true);
    }
    expect(fx.iam.approvalPolicies()).toEqual([]);
  });

  test('op reconcile reconciles; expire and used take an id', async () => {
    const fx = newFixture();
    expect(await fx.invoke({ op: 'reconcile' })).toEqual({ expired: 0, lapsed: 0, orphansRemoved: 0 });
    fx.resetCalls();
    expect(await fx.invoke({ op: 'expire', approvalId: 'nosuchid1' })).toBeUndefined();
    expect(await fx.invoke({ op: 'used', approvalId: 'nosuchid1' })).toBeUndefined();
    expect(fx.calls.map((c) => c.command)).toEqual(['Get', 'Get']);
  });
});

describe('the lock watch of the fixture', () => {
  // The watch is what the flow tests lean on; it must see a role left less locked than both ends.
  const iamOf = (client: IAMClient) => ({
    send: (command: unknown) => (client as unknown as { send(c: unknown): Promise<unknown> }).send(command),
  });

  test('sees the standard policies detached before an approval set is on', async () => {
    const fx = newFixture();
    await iamOf(fx.clients.iam).send(new DetachRolePolicyCommand({ RoleName: AGENT, PolicyArn: GUARD_POLICY_ARNS[0] }));
    expect(fx.violations).toEqual([
      expect.objectContaining({ command: 'DetachRolePolicy', role: AGENT, allowedSets: ['standard'] }),
    ]);
    fx.violations.length = 0;
  });

  test('sees a half-attached set stand in for the standard policies', async () => {
    const fx = newFixture();
    const iam = iamOf(fx.clients.iam);
    // Actions of two standard policies (ec2's and rds's): two versions, each standing in for one
    const policies = approvalPolicySet(
      CATALOG,
      'newset1',
      [
        {
          id: 'newset1',
          actions: ['ec2:TerminateInstances', 'rds:DeleteDBInstance'],
          resources: [INSTANCE_ARN],
          expiresAt: plus(NOW, 60),
        },
      ],
      GUARD_POLICY_DIGEST,
    );
    expect(policies).toHaveLength(2);
    const arns = policies.map((p) => `arn:aws:iam::111122223333:policy/agent-guard/${p.name}`);
    const replaced = GUARD_POLICY_ARNS.filter((arn) =>
      policies.some((p) => arn.endsWith(`/AgentGuardDeny${/-Deny(\d+)-[0-9a-f]+$/.exec(p.name)![1]}`)),
    );
    for (const p of policies) {
      await iam.send(
        new CreatePolicyCommand({
          PolicyName: p.name,
          Path: '/agent-guard/',
          PolicyDocument: JSON.stringify(p.document),
        }),
      );
    }
    await iam.send(new AttachRolePolicyCommand({ RoleName: AGENT, PolicyArn: arns[0] }));
    for (const arn of replaced) await iam.send(new DetachRolePolicyCommand({ RoleName: AGENT, PolicyArn: arn }));
    expect(fx.violations).toHaveLength(2);
    fx.violations.length = 0;

    // the right order passes
    await iam.send(new AttachRolePolicyCommand({ RoleName: AGENT, PolicyArn: arns[1] }));
    expect(fx.violations).toEqual([]);
    // a complete set does not stand in for a standard policy it is not named after
    const kept = GUARD_POLICY_ARNS.find((arn) => !replaced.includes(arn))!;
    await iam.send(new DetachRolePolicyCommand({ RoleName: AGENT, PolicyArn: kept }));
    expect(fx.violations).toHaveLength(1);
    fx.violations.length = 0;
  });

  test('sees a stale set, neither end of the swap, stand in for the standard policies', async () => {
    const fx = newFixture();
    const policies = approvalPolicySet(
      CATALOG,
      'stale1',
      [
        {
          id: 'stale1',
          actions: ['ec2:TerminateInstances'],
          resources: ['arn:aws:ec2:*:*:instance/*'],
          expiresAt: plus(NOW, 60),
        },
      ],
      GUARD_POLICY_DIGEST,
    );
    fx.seedApprovalSet(AGENT, policies, { settle: false });
    for (const arn of GUARD_POLICY_ARNS) {
      await iamOf(fx.clients.iam).send(new DetachRolePolicyCommand({ RoleName: AGENT, PolicyArn: arn }));
    }
    expect(fx.violations.map((v) => v.attached.filter((a) => a.includes('AgentGuardDeny')))).toEqual(
      GUARD_POLICY_ARNS.map((_, i) => GUARD_POLICY_ARNS.slice(i + 1)),
    );
    fx.violations.length = 0;
  });
});
