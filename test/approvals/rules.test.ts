import {
  AGENT_SESSION,
  ALICE,
  approveBody,
  BOB,
  CROSS_ACCOUNT_ONCALL,
  DEVELOPER,
  expectNoLockViolations,
  expectNothingWritten,
  newFixture,
  OTHER_ACCOUNT_ID,
  roleArn,
  sessionArn,
  USER_ALICE,
  USER_MALLORY,
} from '../support/approvals-fixture';

afterEach(expectNoLockViolations);

/** Calls as `caller` with the approve body changed by `overrides`; expects a refusal that wrote nothing. */
async function refused(
  overrides: Record<string, unknown>,
  caller: string | null = ALICE,
  fixtureOptions: Parameters<typeof newFixture>[0] = {},
): Promise<{ statusCode: number; message: string }> {
  const fx = newFixture(fixtureOptions);
  const reply = await fx.call(approveBody(overrides), caller);
  expect(reply.body.ok).toBe(false);
  expectNothingWritten(fx);
  return { statusCode: reply.statusCode, message: reply.body.message };
}

describe('what an approval must say', () => {
  test('a blank reason is invalid input', async () => {
    const { statusCode, message } = await refused({ reason: '   ' });
    expect(statusCode).toBe(400);
    expect(message).toMatch(/reason/);
    expect(message).toMatch(/must not be blank/);
  });

  test('a missing reason is invalid input', async () => {
    const fx = newFixture();
    const body = approveBody();
    delete body.reason;
    const reply = await fx.call(body);
    expect(reply.statusCode).toBe(400);
    expect(reply.body.message).toMatch(/reason/);
    expectNothingWritten(fx);
  });

  describe('with a ticket pattern', () => {
    const options = { config: { ticketPattern: 'OPS-[0-9]+' } };

    test('a ticket is required', async () => {
      const { statusCode, message } = await refused({}, ALICE, options);
      expect(statusCode).toBe(403);
      expect(message).toBe('A ticket id is required (--ticket), matching OPS-[0-9]+.');
    });

    test('the ticket must match the whole pattern', async () => {
      for (const ticket of ['JIRA-1', 'OPS-12x', 'xOPS-12', 'OPS-']) {
        const { statusCode, message } = await refused({ ticket }, ALICE, options);
        expect(statusCode).toBe(403);
        expect(message).toBe(`Ticket '${ticket}' does not match OPS-[0-9]+.`);
      }
    });

    test('a matching ticket is accepted and kept', async () => {
      const fx = newFixture(options);
      const record = await fx.approve({ ticket: 'OPS-1234' });
      expect(fx.record(record.approvalId).ticket).toBe('OPS-1234');
    });

    test('requests need a ticket too', async () => {
      const fx = newFixture(options);
      const reply = await fx.call({ ...approveBody(), op: 'request' }, AGENT_SESSION);
      expect(reply.statusCode).toBe(403);
      expect(reply.body.message).toMatch(/A ticket id is required/);
      expectNothingWritten(fx);
    });
  });

  test('without a ticket pattern, a ticket is optional', async () => {
    const fx = newFixture();
    const record = await fx.approve();
    expect(record.ticket).toBeUndefined();
  });
});

describe('durations', () => {
  test('less than a minute is refused', async () => {
    const { statusCode, message } = await refused({ durationSeconds: 59 });
    expect(statusCode).toBe(403);
    expect(message).toBe('The duration must be at least 1m.');
  });

  test('zero is invalid input', async () => {
    const { statusCode, message } = await refused({ durationSeconds: 0 });
    expect(statusCode).toBe(400);
    expect(message).toMatch(/durationSeconds/);
  });

  test('over the maximum is refused, naming the maximum', async () => {
    const { statusCode, message } = await refused({ durationSeconds: 3601 });
    expect(statusCode).toBe(403);
    expect(message).toBe('The duration 1h1s is over the maximum of 1h; ask for less.');
  });

  test('exactly the minimum and the maximum are accepted', async () => {
    for (const durationSeconds of [60, 3600]) {
      const fx = newFixture();
      const record = await fx.approve({ durationSeconds });
      expect(record.status).toBe('active');
    }
  });

  test('break-glass has its own, shorter maximum', async () => {
    const { statusCode, message } = await refused({ breakGlass: true, durationSeconds: 901 });
    expect(statusCode).toBe(403);
    expect(message).toBe('The duration 15m1s is over the break-glass maximum of 15m; ask for less.');
    const fx = newFixture();
    expect((await fx.approve({ breakGlass: true, durationSeconds: 900 })).kind).toBe('break-glass');
  });

  test('a fractional duration is invalid input', async () => {
    const { statusCode, message } = await refused({ durationSeconds: 90.5 });
    expect(statusCode).toBe(400);
    expect(message).toMatch(/durationSeconds/);
  });
});

describe('who approves', () => {
  test('no self-approval: the approver cannot be the role approved', async () => {
    const { statusCode, message } = await refused({ roleArn: roleArn('OnCallAlice') }, ALICE);
    expect(statusCode).toBe(403);
    expect(message).toBe('No self-approval: the approver cannot be the role approved.');
  });

  test('an agent role cannot approve, even when its ARN matches an approver pattern', async () => {
    for (const approvers of [undefined, [`arn:aws:iam::111122223333:role/*`]]) {
      const { statusCode, message } = await refused({}, AGENT_SESSION, approvers ? { config: { approvers } } : {});
      expect(statusCode).toBe(403);
      expect(message).toBe('An agent role may not approve; an on-call engineer must.');
    }
  });

  test('an agent role cannot approve another agent role', async () => {
    const { message } = await refused({}, sessionArn('agent2', 'session1'));
    expect(message).toBe('An agent role may not approve; an on-call engineer must.');
  });

  test('a caller that is not an approver cannot approve', async () => {
    for (const caller of [DEVELOPER, USER_MALLORY]) {
      const { statusCode, message } = await refused({}, caller);
      expect(statusCode).toBe(403);
      const principal = caller === DEVELOPER ? roleArn('Developer') : USER_MALLORY;
      expect(message).toBe(`${principal} is not one of the approvers this guard was deployed with.`);
    }
  });

  test('approver patterns match the role behind the session and IAM users by exact ARN', async () => {
    for (const caller of [ALICE, BOB, USER_ALICE]) {
      const fx = newFixture();
      const record = await fx.approve({}, caller);
      expect(record.approvers).toEqual([caller]);
    }
  });

  test('a session of a role that does not exist is refused', async () => {
    const { statusCode, message } = await refused({}, sessionArn('OnCallGhost', 'ghost'));
    expect(statusCode).toBe(403);
    expect(message).toBe('The role behind arn:aws:sts::111122223333:assumed-role/OnCallGhost/ghost does not exist.');
  });

  test('a caller from another account is refused', async () => {
    const { statusCode, message } = await refused({}, CROSS_ACCOUNT_ONCALL);
    expect(statusCode).toBe(403);
    expect(message).toBe('Sign the request with a role of account 111122223333.');
    const user = await refused({}, `arn:aws:iam::${OTHER_ACCOUNT_ID}:user/alice`);
    expect(user.statusCode).toBe(403);
    expect(user.message).toBe(
      `Sign the request as an IAM role or user of account 111122223333, not arn:aws:iam::${OTHER_ACCOUNT_ID}:user/alice.`,
    );
  });

  test('other principal types are refused', async () => {
    for (const caller of [
      'arn:aws:sts::111122223333:federated-user/alice',
      'arn:aws:iam::111122223333:root',
      'not an arn',
    ]) {
      const { statusCode, message } = await refused({}, caller);
      expect(statusCode).toBe(403);
      expect(message).toMatch(/^Sign the request as an IAM role or user of account 111122223333/);
    }
  });

  test('an unsigned call is refused before anything else', async () => {
    const { statusCode, message } = await refused({}, null);
    expect(statusCode).toBe(403);
    expect(message).toBe('Sign the request with IAM credentials (SigV4).');
  });

  test('an agent role cannot revoke, and neither can a non-approver', async () => {
    const fx = newFixture();
    const record = await fx.approve();
    fx.resetCalls();
    for (const [caller, message] of [
      [AGENT_SESSION, 'An agent role may not revoke approvals; ask on-call.'],
      [DEVELOPER, `${roleArn('Developer')} is not an approver, so it may not revoke.`],
    ] as const) {
      const reply = await fx.call({ op: 'revoke', approvalId: record.approvalId }, caller);
      expect(reply.statusCode).toBe(403);
      expect(reply.body.message).toBe(message);
    }
    expect(fx.writes()).toEqual([]);
    expect(fx.record(record.approvalId).status).toBe('active');
    expect(fx.setsOn()).toEqual([record.policySetId]);
  });
});

describe('the target role', () => {
  test('must exist', async () => {
    const { statusCode, message } = await refused({ roleArn: roleArn('ghost') });
    expect(statusCode).toBe(403);
    expect(message).toBe('There is no role arn:aws:iam::111122223333:role/ghost in this account.');
  });

  test('must be named with its real path', async () => {
    const { message } = await refused({ roleArn: 'arn:aws:iam::111122223333:role/team/agent' });
    expect(message).toBe('There is no role arn:aws:iam::111122223333:role/team/agent in this account.');
  });

  test('must be an agent role', async () => {
    const { statusCode, message } = await refused({ roleArn: roleArn('Developer') });
    expect(statusCode).toBe(403);
    expect(message).toBe(
      'arn:aws:iam::111122223333:role/Developer is not an agent role (tag agent-guard:agent=true); it needs no approval.',
    );
  });

  test('a role ARN of another account is refused', async () => {
    const { statusCode, message } = await refused({ roleArn: `arn:aws:iam::${OTHER_ACCOUNT_ID}:role/agent` });
    expect(statusCode).toBe(403);
    expect(message).toBe(`There is no role arn:aws:iam::${OTHER_ACCOUNT_ID}:role/agent in this account.`);
  });

  test.each([
    ['an empty role name', 'arn:aws:iam::111122223333:role/team/'],
    ['a role name over 64 characters', `arn:aws:iam::111122223333:role/${'a'.repeat(65)}`],
  ])('%s is invalid input, not an internal error (IAM answers ValidationError to GetRole)', async (_what, target) => {
    const fx = newFixture();
    const reply = await fx.call(approveBody({ roleArn: target }));
    expect(reply.statusCode).toBe(400);
    expect(reply.body.message).toMatch(/roleArn/);
    expectNothingWritten(fx);
  });

  test('is not a user ARN', async () => {
    const { statusCode, message } = await refused({ roleArn: USER_ALICE });
    expect(statusCode).toBe(400);
    expect(message).toMatch(/roleArn/);
    expect(message).toMatch(/must be an IAM role ARN/);
  });
});

describe('the scope', () => {
  test('an unknown action is refused', async () => {
    const { statusCode, message } = await refused({ actions: ['ec2:Frobnicate'] });
    expect(statusCode).toBe(403);
    expect(message).toBe("'ec2:Frobnicate' matches no protected action, so it needs no approval. Check the spelling.");
  });

  test('an action that is not protected is refused', async () => {
    const { message } = await refused({ actions: ['ec2:DescribeInstances'] });
    expect(message).toBe(
      "'ec2:DescribeInstances' matches no protected action, so it needs no approval. Check the spelling.",
    );
  });

  test('an unknown group is refused, listing the groups', async () => {
    const { statusCode, message } = await refused({ actions: ['nuke-everything'] });
    expect(statusCode).toBe(403);
    expect(message).toMatch(/^'nuke-everything' is neither a protected group \(/);
    expect(message).toContain('dns-delete');
    expect(message).toContain('ec2:TerminateInstances');
  });

  test('a vendor wildcard is refused', async () => {
    const { message } = await refused({ actions: ['*'] });
    expect(message).toMatch(/^'\*' is neither a protected group/);
  });

  test('one bad action among good ones refuses the whole approval', async () => {
    const { message } = await refused({ actions: ['ec2:TerminateInstances', 'ec2:Frobnicate'] });
    expect(message).toMatch(/'ec2:Frobnicate' matches no protected action/);
  });

  test('a bare * resource is refused', async () => {
    const { statusCode, message } = await refused({ resources: ['*'] });
    expect(statusCode).toBe(403);
    expect(message).toMatch(/^A bare '\*' would lift the deny on every resource\./);
  });

  test('a bare * among named resources is refused', async () => {
    const { message } = await refused({ resources: ['arn:aws:ec2:us-east-1:111122223333:instance/i-1', '*'] });
    expect(message).toMatch(/^A bare '\*'/);
  });

  test('a resource that is not an ARN is refused', async () => {
    for (const resource of ['i-0123456789abcdef0', 'arn:aws:ec2:us-east-1:111122223333:instance/i 1']) {
      const { statusCode, message } = await refused({ resources: [resource] });
      expect(statusCode).toBe(403);
      // The default scope approves ec2:TerminateInstances: the example is one of its instances here.
      expect(message).toBe(
        `'${resource}' is not a resource ARN. For example arn:aws:ec2:us-east-1:111122223333:instance/example (ec2:TerminateInstances).`,
      );
    }
  });

  test('an empty action or resource list is invalid input', async () => {
    expect((await refused({ actions: [] })).statusCode).toBe(400);
    expect((await refused({ resources: [] })).statusCode).toBe(400);
  });

  test('uses other than 1 is invalid input', async () => {
    const { statusCode, message } = await refused({ uses: 2 });
    expect(statusCode).toBe(400);
    expect(message).toMatch(/uses/);
  });

  test('an unknown op is invalid input', async () => {
    const { statusCode, message } = await refused({ op: 'grant' });
    expect(statusCode).toBe(400);
    expect(message).toMatch(/op/);
  });
});
