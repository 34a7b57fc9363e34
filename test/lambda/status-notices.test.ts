import 'aws-sdk-client-mock-jest';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsCaller } from '../../lambda/shared/aws-caller';
import { Decision } from '../../lambda/guard/decide';
import { denialNotice, failureNotice, repairNotice, statusNotice } from '../../lambda/shared/notices';
import { APPROVAL_HOWTO, GuardStatus } from '../../lib/core/status';
import { buildStatus, StatusInput, StatusPublisher } from '../../lambda/guard/status';
import { accessDenied, ACCOUNT_ID, NOW, parameterNotFound, roleArn, STATUS_PARAMETER } from '../support/guard-fixture';

const LOCKED: Decision = { locked: true, protected: true, reason: 'production with live traffic' };
const OPEN: Decision = { locked: false, protected: false, reason: 'not production' };

function input(decision: Decision, now = NOW, requestsPerMinute: number | null = 140): StatusInput {
  return {
    account: ACCOUNT_ID,
    mode: 'ENFORCE',
    decision,
    production: { production: decision.protected, reason: 'account tag' },
    traffic: { active: decision.protected, requestsPerMinute, thresholdPerMinute: 5, reason: 'peak' },
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
      traffic: { active: true, requestsPerMinute: 140, thresholdPerMinute: 5, lookbackMinutes: 15, reason: 'peak' },
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
  ])('a parameter that is %s counts as no status: it is rewritten', async (_name, value) => {
    const { ssm, publisher: p } = publisher();
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: STATUS_PARAMETER, Value: value } });
    const { changed } = await p.publish(input(LOCKED));
    expect(changed).toBe(true);
    expect(ssm).toHaveReceivedCommandTimes(PutParameterCommand, 1);
  });

  it('reads the parameter once, and not again after a write', async () => {
    const { ssm, publisher: p } = publisher();
    ssm.on(GetParameterCommand).rejects(parameterNotFound());
    await p.publish(input(LOCKED));
    await p.publish(input(OPEN));
    await p.publish(input(OPEN, NOW, 3));
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    expect(ssm).toHaveReceivedCommandTimes(PutParameterCommand, 2);
    expect(await p.current()).toMatchObject({ locked: false });
  });

  it('propagates a read error other than ParameterNotFound, and tries to read again next time', async () => {
    const { ssm, publisher: p } = publisher();
    ssm.on(GetParameterCommand).rejectsOnce(accessDenied()).rejects(parameterNotFound());
    await expect(p.publish(input(LOCKED))).rejects.toThrow('User is not authorized');
    expect(ssm).not.toHaveReceivedCommand(PutParameterCommand);
    await expect(p.publish(input(LOCKED))).resolves.toMatchObject({ changed: true });
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 2);
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
