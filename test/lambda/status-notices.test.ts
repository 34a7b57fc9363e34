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
    traffic: { active: decision.protected, requestsPerMinute, thresholdPerMinute: 5, reason: 'peak', sources: [] },
    trafficMemory: { liveAt: null, holdUntil: null },
    lookbackMinutes: 15,
    scheduleMinutes: 5,
    exemptGroups: [],
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
        sources: [],
      },
      // The issue's own examples: a delete and a stack replacement cannot be undone.
      undoable: expect.objectContaining({ delete: 'no', 'stack-replace': 'no' }) as unknown,
      scheduleMinutes: 5,
      evaluatedAt: NOW.toISOString(),
      howToGetApproval: APPROVAL_HOWTO,
    });
  });

  it('names the busiest live sources across queries and regions, busiest first, and no idle one', () => {
    const source = (kind: string, region: string, name: string, peakPerMinute: number) => ({
      kind,
      region,
      name,
      peakPerMinute,
    });
    const sources = [
      source('RestApi', 'eu-west-1', 'orders', 300),
      source('ALB', 'us-east-1', 'app/idle/1', 0),
      source('ALB', 'us-east-1', 'app/prod-api/50dc6c495c0c9188', 1240.5),
      source('CloudFront', 'us-east-1', 'E2QWRUHEXAMPLE', 900),
      source('LambdaUrl', 'eu-west-1', 'webhook', 12),
      source('HttpApi', 'eu-west-1', 'a1b2c3', 40),
      source('ALB', 'eu-west-1', 'app/admin/1', 7),
    ];
    const status = buildStatus({ ...input(LOCKED), traffic: { ...input(LOCKED).traffic, sources } }, undefined);
    // The five busiest of the six live ones, by peak: the 7/min admin ALB and the idle one are left out.
    expect(status.traffic.sources?.map((s) => `${s.kind} ${s.region} ${s.name} ${s.peakPerMinute}`)).toEqual([
      'ALB us-east-1 app/prod-api/50dc6c495c0c9188 1240.5',
      'CloudFront us-east-1 E2QWRUHEXAMPLE 900',
      'RestApi eu-west-1 orders 300',
      'HttpApi eu-west-1 a1b2c3 40',
      'LambdaUrl eu-west-1 webhook 12',
    ]);
  });

  it('lists no exempt group as undoable or not: its actions are not protected', () => {
    const status = buildStatus({ ...input(LOCKED), exemptGroups: ['scale-to-zero'] }, undefined);
    expect(status.undoable).not.toHaveProperty('scale-to-zero');
    expect(status.undoable).toHaveProperty('delete', 'no');
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

  // Texts far beyond any limit, of characters that take the most bytes in the status's JSON: 4 in
  // UTF-8 (U+1F525), or 6 once escaped (a control character, U+0001).
  it.each([
    ['4-byte characters', '\u{1F525}'.repeat(5000)],
    ['control characters', '\u0001'.repeat(20000)],
  ])('the worst case (texts of any length in %s, in a hold, busiest sources named) is written', async (_, long) => {
    // Measured on 2026-12-02: 3,699 bytes (4-byte characters), 3,669 (control characters).
    // GIVEN the longest label a TrafficMetric accepts (40 characters), more sources than the status names,
    // and peaks with as many digits as a double prints
    const kind = `A${'b'.repeat(39)}`;
    const sources = Array.from({ length: 20 }, (_, i) => ({
      kind,
      region: long,
      name: long,
      peakPerMinute: 1.2345678901234568e21 + i,
    }));
    const worst: StatusInput = {
      account: ACCOUNT_ID,
      mode: 'MONITOR',
      decision: { locked: false, protected: true, reason: long },
      production: { production: true, reason: long },
      traffic: {
        active: true,
        requestsPerMinute: 1.2345678901234568e21,
        thresholdPerMinute: 1e21,
        reason: long,
        sources,
      },
      trafficMemory: { liveAt: NOW.toISOString(), holdUntil: NOW.toISOString() },
      lookbackMinutes: 1440,
      scheduleMinutes: 1440,
      exemptGroups: [],
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
    const bytes = Buffer.byteLength(parameter.value ?? '', 'utf8');
    expect(bytes).toBeLessThanOrEqual(4096);
    const written = JSON.parse(parameter.value ?? '') as GuardStatus;
    expect(written).toMatchObject({ traffic: { holdUntil: NOW.toISOString() } });
    expect(written.traffic.sources).toHaveLength(5);
  });

  it('clip cuts on a character boundary and marks the cut, counting JSON escapes', () => {
    expect(clip('abc', 3)).toBe('abc');
    // A quote is written as two bytes, a control character as six (\u0001).
    expect(clip('"'.repeat(10), 10)).toBe('"'.repeat(3) + '...');
    expect(clip('\u0001'.repeat(10), 15)).toBe('\u0001\u0001...');
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
