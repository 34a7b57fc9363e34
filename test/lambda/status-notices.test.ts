import 'aws-sdk-client-mock-jest';
import { GetParameterCommand, PutParameterCommand, PutParameterCommandInput, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsCaller } from '../../lambda/shared/aws-caller';
import { Decision } from '../../lambda/guard/decide';
import { denialNotice, failureNotice, repairNotice, statusNotice } from '../../lambda/shared/notices';
import { APPROVAL_HOWTO, GuardStatus } from '../../lib/core/status';
import { buildStatus, clip, StatusInput, StatusPublisher } from '../../lambda/guard/status';
import {
  accessDenied,
  ACCOUNT_ID,
  FakeParameter,
  NOW,
  parameterNotFound,
  roleArn,
  STATUS_PARAMETER,
} from '../support/guard-fixture';

const LOCKED: Decision = { locked: true, protected: true, reason: 'production with live traffic' };
const OPEN: Decision = { locked: false, protected: false, reason: 'not production' };

function input(decision: Decision, now = NOW, requestsPerMinute: number | null = 140): StatusInput {
  return {
    account: ACCOUNT_ID,
    mode: 'ENFORCE',
    decision,
    production: { production: decision.protected, reason: 'account tag' },
    traffic: { active: decision.protected, requestsPerMinute, thresholdPerMinute: 5, reason: 'peak' },
    trafficMemory: { liveAt: null, holdUntil: null },
    lookbackMinutes: 15,
    now,
  };
}

describe('buildStatus', () => {
  it('holds the decision, both signals and how to get an approval', () => {
    expect(buildStatus(input(LOCKED), undefined)).toEqual({
      schemaVersion: 1,
      account: ACCOUNT_ID,
      mode: 'ENFORCE',
      locked: true,
      protected: true,
      since: NOW.toISOString(),
      reason: 'production with live traffic',
      production: { value: true, reason: 'account tag' },
      traffic: {
        active: true,
        requestsPerMinute: 140,
        thresholdPerMinute: 5,
        lookbackMinutes: 15,
        reason: 'peak',
        liveAt: null,
        holdUntil: null,
      },
      evaluatedAt: NOW.toISOString(),
      howToGetApproval: APPROVAL_HOWTO,
    });
  });

  it('keeps "since" while locked and protected hold, and resets it when either changes', () => {
    const first = buildStatus(input(LOCKED), undefined);
    const later = new Date(NOW.getTime() + 60000);
    expect(buildStatus(input(LOCKED, later), first).since).toBe(NOW.toISOString());
    expect(buildStatus(input(OPEN, later), first).since).toBe(later.toISOString());
    const monitor: Decision = { locked: false, protected: true, reason: 'monitor' };
    expect(buildStatus(input(monitor, later), first).since).toBe(later.toISOString());
  });
});

describe('StatusPublisher', () => {
  function publisher() {
    const client = new SSMClient({ region: 'us-east-1' });
    const ssm = mockClient(client);
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    const caller = new AwsCaller({ sleep: () => Promise.resolve() });
    return { ssm, publisher: new StatusPublisher(client, caller, STATUS_PARAMETER) };
  }

  it.each<[string, string]>([
    ['not JSON', '{'],
    ['another schema version', JSON.stringify({ ...buildStatus(input(LOCKED), undefined), schemaVersion: 2 })],
    ['empty', ''],
  ])('a parameter that is %s counts as no status', async (_name, value) => {
    const { ssm, publisher: p } = publisher();
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: STATUS_PARAMETER, Value: value } });
    await expect(p.read()).resolves.toEqual({ readable: true, status: undefined });
  });

  it('a status written before the traffic memory existed reads as one without a hold', async () => {
    const { ssm, publisher: p } = publisher();
    const old = buildStatus(input(LOCKED), undefined);
    const oldTraffic = Object.fromEntries(
      Object.entries(old.traffic).filter(([key]) => key !== 'liveAt' && key !== 'holdUntil'),
    );
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify({ ...old, traffic: oldTraffic }) } });
    const read = await p.read();
    expect(read).toMatchObject({ readable: true, status: { traffic: { liveAt: null, holdUntil: null } } });
  });

  it('writes at every publish (the heartbeat), and reports a change only when the status changed materially', async () => {
    const { ssm, publisher: p } = publisher();
    const first = await p.publish(input(LOCKED), undefined);
    const same = await p.publish(input(LOCKED, new Date(NOW.getTime() + 60000), 99), first.status);
    const opened = await p.publish(input(OPEN, new Date(NOW.getTime() + 120000)), same.status);
    expect([first.changed, same.changed, opened.changed]).toEqual([true, false, true]);
    expect(ssm).toHaveReceivedCommandTimes(PutParameterCommand, 3);
    expect(ssm).toHaveReceivedNthCommandWith(2, PutParameterCommand, {
      Value: expect.stringContaining(`"evaluatedAt":"${new Date(NOW.getTime() + 60000).toISOString()}"`),
    });
    expect(await p.current()).toMatchObject({ locked: false });
    expect(ssm).not.toHaveReceivedCommand(GetParameterCommand);
  });

  it('reads the parameter afresh each time; an error other than ParameterNotFound makes it unreadable', async () => {
    const { ssm, publisher: p } = publisher();
    ssm.on(GetParameterCommand).rejectsOnce(accessDenied()).rejects(parameterNotFound());
    await expect(p.read()).resolves.toEqual({ readable: false, error: 'AccessDenied' });
    await expect(p.read()).resolves.toEqual({ readable: true, status: undefined });
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 2);
  });
});

describe('the status fits a Standard-tier parameter (SSM-1: 4 KB)', () => {
  it('the fake parameter refuses a value of 4,097 bytes, as Parameter Store does', async () => {
    const parameter = new FakeParameter(STATUS_PARAMETER, undefined);
    await expect(parameter.put({ Name: STATUS_PARAMETER, Value: 'x'.repeat(4096) })).resolves.toBeDefined();
    await expect(
      parameter.put({ Name: STATUS_PARAMETER, Value: 'é'.repeat(2049), Overwrite: true }),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('the worst case (reasons of any length, in 4-byte characters, in a hold) is written', async () => {
    // GIVEN reasons far beyond the limit, of characters that take 4 bytes each in UTF-8
    const long = '\u{1F525}'.repeat(5000);
    const worst: StatusInput = {
      account: ACCOUNT_ID,
      mode: 'MONITOR',
      decision: { locked: false, protected: true, reason: long },
      production: { production: true, reason: long },
      traffic: { active: true, requestsPerMinute: 123456789.12, thresholdPerMinute: 1e9, reason: long },
      trafficMemory: { liveAt: NOW.toISOString(), holdUntil: NOW.toISOString() },
      lookbackMinutes: 1440,
      now: NOW,
    };
    const client = new SSMClient({ region: 'us-east-1' });
    const parameter = new FakeParameter(STATUS_PARAMETER, undefined);
    mockClient(client)
      .on(PutParameterCommand)
      .callsFake((input: PutParameterCommandInput) => parameter.put(input));
    const publisher = new StatusPublisher(client, new AwsCaller({ sleep: () => Promise.resolve() }), STATUS_PARAMETER);
    // WHEN it is published THEN Parameter Store's fake takes it, and it reads back whole
    await publisher.publish(worst, undefined);
    expect(Buffer.byteLength(parameter.value ?? '', 'utf8')).toBeLessThanOrEqual(4096);
    expect(JSON.parse(parameter.value ?? '')).toMatchObject({ traffic: { holdUntil: NOW.toISOString() } });
  });

  it('clip cuts on a character boundary and marks the cut', () => {
    expect(clip('abc', 3)).toBe('abc');
    expect(clip('\u{1F525}\u{1F525}', 7)).toBe('\u{1F525}...');
    expect(Buffer.byteLength(clip('é'.repeat(100), 51), 'utf8')).toBeLessThanOrEqual(51);
  });
});

describe('notices', () => {
  const status: GuardStatus = buildStatus(input(LOCKED), undefined);

  it('denialNotice: names role, action, resource and the approve command, shell-quoted', () => {
    const notice = denialNotice({
      roleArn: roleArn('agent-a'),
      action: 'rds:DeleteDBInstance',
      resource: "arn:aws:rds:us-east-1:111122223333:db:it's",
      status,
    });
    expect(notice.subject).toBe('agent-guard: denied rds:DeleteDBInstance to an agent role');
    expect(notice.message).toContain(`Role:     ${roleArn('agent-a')}`);
    expect(notice.message).toContain('Reason:   the account is locked: production with live traffic');
    expect(notice.message).toContain(
      `agent-guard approve --role '${roleArn('agent-a')}' --actions 'rds:DeleteDBInstance' ` +
        `--resources 'arn:aws:rds:us-east-1:111122223333:db:it'\\''s' --duration 30m --reason '<why this is safe>'`,
    );
  });

  it('denialNotice without a resource or status says so', () => {
    const notice = denialNotice({ roleArn: roleArn('agent-a'), action: 'ec2:TerminateInstances' });
    expect(notice.message).toContain('Resource: not named in the CloudTrail event');
    expect(notice.message).toContain("--resources '<resource ARN>'");
    expect(notice.message).toContain('Reason:   see the account status parameter');
  });

  it('subjects are less than 100 printable ASCII characters (SNS-1)', () => {
    const notice = denialNotice({ roleArn: roleArn('agent-a'), action: `s3:${'É'.repeat(200)}` });
    expect(notice.subject).toHaveLength(99);
    expect(notice.subject).toMatch(/^[\x20-\x7e]+$/);
  });

  it('repairNotice names the role, the repairs and the actor', () => {
    expect(repairNotice(roleArn('r'), ['boundary removed', 'x'], 'arn:aws:sts::1:assumed-role/a/b').message).toBe(
      [
        'Guard parts were missing from an AI-agent role, and the guard put them back.',
        `Role:  ${roleArn('r')}`,
        'Found: boundary removed; x',
        'Changed by: arn:aws:sts::1:assumed-role/a/b',
      ].join('\n'),
    );
  });

  it.each<[Partial<GuardStatus>, string]>([
    [{ mode: 'ENFORCE', locked: true }, 'locked'],
    [{ mode: 'ENFORCE', locked: false }, 'open'],
    [{ mode: 'MONITOR', locked: false, protected: true }, 'would lock (monitor mode)'],
    [{ mode: 'MONITOR', locked: false, protected: false }, 'would stay open (monitor mode)'],
  ])('statusNotice headline for %o is %p', (fields, headline) => {
    expect(statusNotice({ ...status, ...fields }).subject).toBe(`agent-guard: account ${ACCOUNT_ID} ${headline}`);
  });

  it('failureNotice lists every role and whether it could be locked', () => {
    const notice = failureNotice([
      { roleName: 'a', error: 'AccessDenied', locked: true, inert: false },
      { roleName: 'b', error: 'Throttling', locked: false, inert: false },
      { roleName: 'c', error: 'LimitExceeded', locked: true, inert: true },
    ]);
    expect(notice.subject).toBe('agent-guard: 3 agent role(s) could not be reconciled');
    expect(notice.message).toBe(
      'a: AccessDenied; locked\nb: Throttling; COULD NOT LOCK, check it by hand\n' +
        'c: LimitExceeded; not constrained: it can do nothing until the guard can verify its guard policies',
    );
  });
});
