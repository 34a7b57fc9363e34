import {
  AttachRolePolicyCommand,
  AttachRolePolicyCommandInput,
  DeletePolicyCommand,
  DeletePolicyCommandInput,
  DetachRolePolicyCommand,
  DetachRolePolicyCommandInput,
  UntagRoleCommand,
} from '@aws-sdk/client-iam';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { AGENT_TAG, APPROVAL_TAG } from '../../lib/core/contract';
import { ApprovalRecord } from '../../lib/core/approval-api';
import type { EffectiveLock } from '../../lib/core/status-freshness';
import type { GuardStatus } from '../../lib/core/status';
import {
  AGENT_ROLE_ARN,
  AGENT_SESSION,
  ApprovalsHarness,
  cannedTransport,
  cli,
  FUNCTION_URL,
  LOCKED_STATUS,
  okReply,
  ONCALL_SESSION,
  record,
  STANDARD_POLICY_ARNS,
} from './cli-fixture';

const APPROVAL_POLICY_ARNS = [1, 2].map(
  (i) => `arn:aws:iam::111122223333:policy/agent-guard/AgentGuardApproval-set0001aaaa-${i}of2`,
);

describe('revoke', () => {
  function harnessWithActiveApproval(): ApprovalsHarness {
    const h = new ApprovalsHarness();
    h.agentRole({ [AGENT_TAG]: 'true', [APPROVAL_TAG]: 'set0001aaaa' }, APPROVAL_POLICY_ARNS);
    h.records([record()]);
    return h;
  }

  test('ends the approval: the standard policies go back on, the approval versions come off', async () => {
    const h = harnessWithActiveApproval();
    const result = await h.run(['revoke', '--id', 'abcd0001efgh', '--reason', 'done early']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(h.sent[0].body).toEqual({ op: 'revoke', approvalId: 'abcd0001efgh', reason: 'done early' });
    expect(result.stdout).toContain('Approval abcd0001efgh is revoked.');
    expect(result.stdout).toMatch(/Approval\s+abcd0001efgh \(approval, revoked\)/);
    expect(result.stdout).toMatch(/Ended\s+2026-05-01T12:00:00Z \(done early\)/);
    expect(result.stdout).not.toContain('Revoke it with');

    expect(h.commandInputs<AttachRolePolicyCommandInput>(AttachRolePolicyCommand).map((a) => a.PolicyArn)).toEqual(
      STANDARD_POLICY_ARNS,
    );
    expect(h.iam.commandCalls(UntagRoleCommand)).toHaveLength(1);
    expect(h.commandInputs<DetachRolePolicyCommandInput>(DetachRolePolicyCommand).map((d) => d.PolicyArn)).toEqual(
      APPROVAL_POLICY_ARNS,
    );
    expect(h.commandInputs<DeletePolicyCommandInput>(DeletePolicyCommand).map((d) => d.PolicyArn)).toEqual(
      APPROVAL_POLICY_ARNS,
    );
  });

  test('--json prints the ended record', async () => {
    const h = harnessWithActiveApproval();
    const result = await h.run(['revoke', '--id', 'abcd0001efgh', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      approvalId: 'abcd0001efgh',
      status: 'revoked',
      revokedBy: ONCALL_SESSION,
      revokedAt: '2026-05-01T12:00:00Z',
    });
  });

  test('an agent may not revoke: exit 1, nothing changed', async () => {
    const h = harnessWithActiveApproval();
    const result = await h.run(['revoke', '--id', 'abcd0001efgh'], { signedInAs: AGENT_SESSION });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Refused: An agent role may not revoke approvals; ask on-call.');
    expect(h.iam.commandCalls(DetachRolePolicyCommand)).toHaveLength(0);
    expect(h.ddb.commandCalls(PutCommand)).toHaveLength(0);
  });

  test('an unknown id: exit 1, pointing at list', async () => {
    const h = harnessWithActiveApproval();
    const result = await h.run(['revoke', '--id', 'zzzz0001zzzz']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('There is no approval zzzz0001zzzz; run agent-guard list.');
  });
});

describe('list', () => {
  const active = record();
  const pending = record({
    approvalId: 'req0001aaaa',
    kind: 'request',
    status: 'pending',
    roleArn: 'arn:aws:iam::111122223333:role/agents/a-very-long-agent-role-name-for-the-table',
    requestedActions: ['ec2:TerminateInstances', 'rds:DeleteDBInstance', 's3:DeleteBucket'],
    resources: ['arn:aws:ec2:*:*:instance/*', 'arn:aws:rds:*:*:db:*', 'arn:aws:s3:::b'],
    requestedBy: AGENT_SESSION,
    approvers: [],
    expiresAt: undefined,
    requestExpiresAt: '2026-05-01T12:45:00Z',
    createdAt: '2026-05-01T11:55:00Z',
  });
  const revoked = record({
    approvalId: 'old0001aaaa',
    status: 'revoked',
    kind: 'break-glass',
    endedAt: '2026-05-01T10:00:00Z',
    createdAt: '2026-05-01T09:00:00Z',
  });

  function harness(): ApprovalsHarness {
    const h = new ApprovalsHarness();
    h.records([active, pending, revoked]);
    return h;
  }

  test('a table: id, status, kind, role name, actions (truncated), resources count, expiry, approvers', async () => {
    const h = harness();
    const result = await h.run(['list']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(h.sent[0].body).toEqual({ op: 'list' });
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0].split(/\s{2,}/)).toEqual([
      'ID',
      'STATUS',
      'KIND',
      'ROLE',
      'ACTIONS',
      'RES',
      'EXPIRES / LAPSES',
      'APPROVERS',
    ]);
    // Newest first, as the function sorts them.
    expect(lines[1].split(/\s{2,}/)).toEqual([
      'req0001aaaa',
      'pending',
      'request',
      'a-very-long-agent-role-name-f...',
      'ec2:TerminateInstances,rds:De...',
      '3',
      'lapses 2026-05-01T12:45:00Z (in 45m)',
      '0/1',
    ]);
    expect(lines[2].split(/\s{2,}/)).toEqual([
      'abcd0001efgh',
      'active',
      'approval',
      'agent',
      'ec2:TerminateInstances',
      '1',
      'expires 2026-05-01T12:20:00Z (in 20m)',
      '1/1 OnCallAlice/alice',
    ]);
    expect(lines[3]).toBe('2 approval(s).');
    // The columns line up.
    const column = lines[0].indexOf('STATUS');
    expect(lines[1].indexOf('pending')).toBe(column);
    expect(lines[2].indexOf('active')).toBe(column);
  });

  test('--all includes ended approvals; --role filters by role', async () => {
    const h = harness();
    let result = await h.run(['list', '--all']);
    expect(result.code).toBe(0);
    expect(h.sent[0].body).toEqual({ op: 'list', includeEnded: true });
    expect(result.stdout).toMatch(/old0001aaaa\s+revoked\s+break-glass\s+agent\s.*revoked 2026-05-01T10:00:00Z/);

    result = await h.run(['list', '--role', AGENT_ROLE_ARN]);
    expect(result.code).toBe(0);
    expect(h.sent[1].body).toEqual({ op: 'list', roleArn: AGENT_ROLE_ARN });
    expect(result.stdout).toContain('abcd0001efgh');
    expect(result.stdout).not.toContain('req0001aaaa');
  });

  test('--json prints the records', async () => {
    const h = harness();
    const result = await h.run(['list', '--json']);
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as ApprovalRecord[];
    expect(printed.map((r) => r.approvalId)).toEqual(['req0001aaaa', 'abcd0001efgh']);
  });

  test('no approvals', async () => {
    const h = new ApprovalsHarness();
    const result = await h.run(['list']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('No approvals.\n0 approval(s).\n');
  });
});

describe('status', () => {
  const STATUS = LOCKED_STATUS;

  function parameters(values: Record<string, string | undefined>) {
    return jest.fn((name: string) => Promise.resolve(values[name]));
  }

  test('prints locked/open, since, reason, traffic against the threshold, and the approvals in force', async () => {
    const readParameter = parameters({ '/agent-guard/status': JSON.stringify(STATUS, null, 1) });
    const { transport, sent } = cannedTransport(okReply('1 approval(s).', [record()]));
    const result = await cli(['status'], { readParameter, transport, env: { AGENT_GUARD_URL: FUNCTION_URL } });

    expect(result).toMatchObject({ code: 0, stderr: '' });
    // No --region and no AWS_REGION: the region of the function URL the CLI was given.
    expect(readParameter).toHaveBeenCalledWith('/agent-guard/status', { region: 'us-east-1' });
    expect(sent.map((s) => s.body)).toEqual([{ op: 'list' }]);
    expect(result.stdout).toMatch(/State\s+LOCKED: protected actions are denied to agent roles/);
    expect(result.stdout).toMatch(/Since\s+2026-05-01T09:00:00.000Z \(3h ago\)/);
    expect(result.stdout).toMatch(/Reason\s+production \(account tag environment=production\) with live traffic/);
    expect(result.stdout).toMatch(/Traffic\s+1,234 requests\/min vs threshold 5\/min over 15m: live/);
    expect(result.stdout).toContain('Approvals in force or pending:');
    expect(result.stdout).toMatch(/abcd0001efgh\s+active/);
  });

  /** `agent-guard status` over `status`, with no approvals. */
  function statusOf(status: unknown) {
    return cli(['status'], {
      readParameter: parameters({ '/agent-guard/status': JSON.stringify(status) }),
      transport: cannedTransport(okReply('0 approval(s).')).transport,
      env: { AGENT_GUARD_URL: FUNCTION_URL },
    });
  }

  test('a traffic drop hold in force gets a line of its own; a status without one shows none', async () => {
    const held = {
      ...STATUS,
      traffic: { ...STATUS.traffic, requestsPerMinute: 0, holdUntil: '2026-05-01T12:45:00.000Z' },
    };
    for (const [status, hold] of [
      [held, /Hold\s+until 2026-05-01T12:45:00.000Z \(in 45m\): traffic dropped to none at once/],
      [STATUS, undefined],
    ] as const) {
      const result = await statusOf(status);
      expect(result.code).toBe(0);
      if (hold) expect(result.stdout).toMatch(hold);
      else expect(result.stdout).not.toContain('Hold');
    }
  });

  test('open, and monitor mode says what enforcing would do', async () => {
    for (const [status, says] of [
      [
        { ...STATUS, locked: false, protected: false, traffic: { ...STATUS.traffic, requestsPerMinute: null } },
        /State\s+OPEN: agent roles may run protected actions[\s\S]*Traffic\s+no datapoints vs threshold 5\/min/,
      ],
      [
        { ...STATUS, mode: 'MONITOR', locked: false },
        /\(MONITOR\)[\s\S]*OPEN \(monitor mode: enforcing would lock now\)/,
      ],
    ] as const) {
      const result = await statusOf(status);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(says);
      expect(result.stdout).toContain('No approvals.');
    }
  });

  test('--parameter and --region choose the parameter; the URL comes from SSM in the same region', async () => {
    const readParameter = parameters({
      '/custom/status': JSON.stringify(STATUS),
      '/agent-guard/approvals-url': FUNCTION_URL,
    });
    const { transport, sent } = cannedTransport(okReply('0 approval(s).'));
    const result = await cli(['status', '--parameter', '/custom/status', '--region', 'eu-west-1'], {
      readParameter,
      transport,
    });
    expect(result.code).toBe(0);
    expect(readParameter.mock.calls).toEqual([
      ['/custom/status', { region: 'eu-west-1' }],
      ['/agent-guard/approvals-url', { region: 'eu-west-1' }],
    ]);
    expect(sent[0]).toMatchObject({ url: FUNCTION_URL, region: 'eu-west-1' });
  });

  test('--json prints the status and the approvals', async () => {
    const readParameter = parameters({ '/agent-guard/status': JSON.stringify(STATUS) });
    const result = await cli(['status', '--json'], {
      readParameter,
      transport: cannedTransport(okReply('1 approval(s).', [record()])).transport,
      env: { AGENT_GUARD_URL: FUNCTION_URL },
    });
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as {
      status: GuardStatus;
      effectiveLock: EffectiveLock;
      approvals: ApprovalRecord[];
    };
    expect(Object.keys(printed)).toEqual(['status', 'effectiveLock', 'approvals']);
    expect(printed.status).toEqual(STATUS);
    expect(printed.effectiveLock).toMatchObject({ locked: true, stale: false });
    expect(printed.approvals.map((r) => r.approvalId)).toEqual(['abcd0001efgh']);
  });

  describe('a stale status counts as locked, whatever it says', () => {
    // The clock is 12:00; an open status whose heartbeat is 40 minutes old
    const staleOpen = {
      ...STATUS,
      locked: false,
      protected: false,
      evaluatedAt: '2026-05-01T11:20:00.000Z',
      scheduleMinutes: 5,
    };

    test('the state line says LOCKED, why, and what the status said', async () => {
      const result = await statusOf(staleOpen);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/State\s+LOCKED \(status stale: last heartbeat 40m ago; it said open\)/);
      expect(result.stdout).toMatch(/Stale\s+The guard last reported 40 minutes ago .* 3 schedules of 5 minutes/);
      expect(result.stdout).not.toContain('OPEN: agent roles may run protected actions');
    });

    test("the status's own schedule decides: 40 minutes is fresh for a 15-minute schedule", async () => {
      const result = await statusOf({ ...staleOpen, scheduleMinutes: 15 });
      expect(result.stdout).toMatch(/State\s+OPEN: agent roles may run protected actions/);
      expect(result.stdout).not.toContain('Stale');
    });

    test('--json adds the effective lock beside the status as written', async () => {
      const result = await cli(['status', '--json'], {
        readParameter: parameters({ '/agent-guard/status': JSON.stringify(staleOpen) }),
        transport: cannedTransport(okReply('0 approval(s).')).transport,
        env: { AGENT_GUARD_URL: FUNCTION_URL },
      });
      const printed = JSON.parse(result.stdout) as { status: GuardStatus; effectiveLock: EffectiveLock };
      expect(printed.status.locked).toBe(false);
      expect(printed.effectiveLock).toMatchObject({ locked: true, stale: true });
    });
  });

  test('the busiest sources and whether each group can be undone, when the status has them', async () => {
    const result = await statusOf({
      ...STATUS,
      traffic: {
        ...STATUS.traffic,
        sources: [
          { kind: 'ALB', region: 'eu-west-1', name: 'app/prod-api/50dc6c495c0c9188', peakPerMinute: 1240 },
          { kind: 'CloudFront', region: 'us-east-1', name: 'E2QWRUHEXAMPLE', peakPerMinute: 900.5 },
        ],
      },
      undoable: { delete: 'no', 'scale-to-zero': 'yes' },
    });
    expect(result.stdout).toMatch(
      /Live\s+ALB app\/prod-api\/50dc6c495c0c9188 in eu-west-1, 1,240 req\/min; CloudFront E2QWRUHEXAMPLE in us-east-1, 900\.5 req\/min/,
    );
    expect(result.stdout).toMatch(/Undoable\s+delete no, scale-to-zero yes/);
  });

  test('no status parameter: exit 1, asking whether the guard is deployed there', async () => {
    const result = await cli(['status'], { readParameter: parameters({}), env: { AWS_REGION: 'us-west-2' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('SSM parameter /agent-guard/status in us-west-2 does not exist');
  });

  test('a parameter that is not the guard status: exit 1', async () => {
    for (const value of ['not json', '{"schemaVersion":2}', 'null']) {
      const result = await cli(['status'], {
        readParameter: parameters({ '/agent-guard/status': value }),
        env: { AWS_REGION: 'us-west-2' },
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('does not hold a status the guard wrote');
    }
  });

  test('the approvals cannot be listed: the status is still shown, exit 1', async () => {
    const readParameter = parameters({ '/agent-guard/status': JSON.stringify(STATUS) });
    const result = await cli(['status'], {
      readParameter,
      transport: cannedTransport({ statusCode: 502, body: 'Internal Server Error' }).transport,
      env: { AGENT_GUARD_URL: FUNCTION_URL },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/State\s+LOCKED/);
    expect(result.stdout).toContain('(could not list them; see below)');
    expect(result.stderr).toContain('Could not list approvals: The approval function answered HTTP 502');
  });
});
