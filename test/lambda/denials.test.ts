import 'aws-sdk-client-mock-jest';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { PublishCommand } from '@aws-sdk/client-sns';
import { queuedEvents } from '../../lambda/guard/events';
import { DENIAL_MAX_AGE_MS } from '../../lambda/guard/guard';
import {
  accessDeniedEvent,
  constrainedRole,
  GUARD_POLICY_ARNS,
  iamWrites,
  newGuard,
  NOW,
  published,
  roleArn,
  scheduledEvent,
  throttling,
} from '../support/guard-fixture';

/** An SQS batch as the event source mapping delivers it: each body is the EventBridge event (SQS-1). */
function sqsBatch(bodies: readonly unknown[], sentAt = NOW): { Records: Record<string, unknown>[] } {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `m${i}`,
      receiptHandle: `r${i}`,
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:AgentGuardDenials',
      awsRegion: 'us-east-1',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(sentAt.getTime()) },
      messageAttributes: {},
    })),
  };
}

/** `roleName` denied `eventName` by a guard policy, as CloudTrail records it. */
function denied(roleName: string, eventName = 'TerminateInstances'): Record<string, unknown> {
  return accessDeniedEvent({
    roleName,
    errorCode: 'Client.UnauthorizedOperation',
    eventName,
    errorMessage: `with an explicit deny in an identity-based policy: ${GUARD_POLICY_ARNS[0]}`,
  });
}

const roles = ['agent-a', 'agent-b'].map((name) => constrainedRole(name, 'locked'));

/** Parses and handles a batch, as the entrypoint does. */
async function handleBatch(fx: ReturnType<typeof newGuard>, batch: unknown) {
  const queued = queuedEvents(batch);
  expect(queued).toBeDefined();
  return fx.guard.handleDenials(queued!);
}

describe('queuedEvents: SQS batches from the denials queue', () => {
  test('an EventBridge event is not an SQS batch', () => {
    expect(queuedEvents(scheduledEvent())).toBeUndefined();
    expect(queuedEvents(denied('agent-a'))).toBeUndefined();
    expect(queuedEvents({ Records: [{ messageId: 'm0', eventSource: 'aws:s3', body: '{}' }] })).toBeUndefined();
  });

  test('each record is classified, with its message id and the time SQS received it', () => {
    const [record] = queuedEvents(sqsBatch([denied('agent-a', 'DeleteVolume')]))!;
    expect(record).toMatchObject({
      messageId: 'm0',
      sentAt: NOW,
      event: { kind: 'access-denied', roleName: 'agent-a', action: 'ec2:DeleteVolume' },
    });
  });

  test('a record that cannot be read is unrecognised; the batch is still a batch', () => {
    const batch = sqsBatch([denied('agent-a')]);
    batch.Records.push({ eventSource: 'aws:sqs', body: 42 });
    const queued = queuedEvents(batch)!;
    expect(queued.map((q) => q.event.kind)).toEqual(['access-denied', 'sweep']);
  });

  test('a body that is not JSON is an unrecognised event, not an error', () => {
    expect(queuedEvents(sqsBatch(['{not json']))![0].event).toEqual({ kind: 'sweep', trigger: 'unrecognised' });
  });
});

describe('Guard.handleDenials: a batch of denials', () => {
  test('ten denials of one action to one role: one notice', async () => {
    const fx = newGuard({ roles });
    const response = await handleBatch(fx, sqsBatch(Array.from({ length: 10 }, () => denied('agent-a'))));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(fx.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(fx.metrics.total('DenialsDeduplicated')).toBe(9);
  });

  test('ten denials across two roles and two actions: one notice per role and action', async () => {
    const fx = newGuard({ roles });
    const bodies = Array.from({ length: 10 }, (_, i) =>
      denied(i % 2 ? 'agent-a' : 'agent-b', i < 5 ? 'TerminateInstances' : 'DeleteVolume'),
    );
    await handleBatch(fx, sqsBatch(bodies));
    const subjects = published(fx.sns).map((n) => n.subject);
    expect(subjects.sort()).toEqual([
      'agent-guard: denied ec2:DeleteVolume to an agent role',
      'agent-guard: denied ec2:DeleteVolume to an agent role',
      'agent-guard: denied ec2:TerminateInstances to an agent role',
      'agent-guard: denied ec2:TerminateInstances to an agent role',
    ]);
    expect(iamWrites(fx.iam)).toEqual([]);
  });

  test('a bad record does not lose the others: it is skipped and counted, the denial noticed', async () => {
    const fx = newGuard({ roles });
    const response = await handleBatch(fx, sqsBatch(['{not json', scheduledEvent(), denied('agent-a')]));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(fx.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(fx.metrics.total('DenialsSkipped')).toBe(2);
    // a record in the denials queue never sweeps: that path is the schedule's and the role events'
    expect(iamWrites(fx.iam)).toEqual([]);
  });

  test('a denial whose role cannot be read is delivered again; the others are done', async () => {
    const fx = newGuard({ roles });
    fx.iam.on(GetRoleCommand, { RoleName: 'agent-b' }).rejects(throttling());
    const response = await handleBatch(fx, sqsBatch([denied('agent-a'), denied('agent-b'), denied('agent-b')]));
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }] });
    expect(
      published(fx.sns)
        .map((n) => n.message)
        .join('\n'),
    ).toContain(roleArn('agent-a'));
  });

  test('denials older than the notice age are shed: counted, no lookups, no notice', async () => {
    const fx = newGuard({ roles });
    const old = new Date(NOW.getTime() - DENIAL_MAX_AGE_MS - 1000);
    const response = await handleBatch(fx, sqsBatch([denied('agent-a'), denied('agent-b')], old));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(fx.metrics.total('DenialsShed')).toBe(2);
    expect(fx.iam).not.toHaveReceivedCommand(GetRoleCommand);
    expect(fx.sns).not.toHaveReceivedCommand(PublishCommand);
  });

  test('a flood of denial batches does not hold up a scheduled sweep', async () => {
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'open'), constrainedRole('agent-b', 'locked')] });
    const flood = Array.from({ length: 50 }, () =>
      handleBatch(fx, sqsBatch(Array.from({ length: 10 }, () => denied('agent-a')))),
    );
    const [sweep] = await Promise.all([fx.guard.handle(scheduledEvent()), ...flood]);
    // the sweep locked the open role, whatever the denials did meanwhile
    expect(sweep).toMatchObject({ event: 'sweep', trigger: 'schedule', locked: true, rolesChanged: 1 });
    expect(fx.metrics.total('DenialNotices')).toBe(50);
  });
});
