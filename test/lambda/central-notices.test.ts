import 'aws-sdk-client-mock-jest';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { AuthorizationErrorException, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsCaller } from '../../lambda/shared/aws-caller';
import {
  CentralEntryFailed,
  centralClients,
  centralFailureMetrics,
  Notice,
  NoticeTargets,
  publish,
} from '../../lambda/shared/notices';
import { loadConfig } from '../../lambda/guard/config';
import { CentralNoticesTarget, GUARD_CONFIG_ENV } from '../../lib/core/config';
import { ApprovalsFixture, ALICE } from '../support/approvals-fixture';
import { ACCOUNT_ID, guardConfig, newGuard, published, scheduledEvent } from '../support/guard-fixture';

const SECURITY = '999999999999';
const CENTRAL_TOPIC: CentralNoticesTarget = {
  kind: 'sns-topic',
  arn: `arn:aws:sns:eu-west-1:${SECURITY}:agent-guard-notices`,
};
const CENTRAL_BUS: CentralNoticesTarget = {
  kind: 'event-bus',
  arn: `arn:aws:events:eu-west-1:${SECURITY}:event-bus/security`,
};
const LOCAL_TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT_ID}:AgentGuardNotices`;
const NOTICE: Notice = { kind: 'denial', subject: 'agent-guard: denied iam:DeleteRole', message: 'line one\nline two' };

function targets(central: CentralNoticesTarget | undefined, failures: unknown[] = []) {
  const snsClient = new SNSClient({ region: 'us-east-1', maxAttempts: 1 });
  const eventsClient = new EventBridgeClient({ region: 'eu-west-1', maxAttempts: 1 });
  const sns = mockClient(snsClient);
  const events = mockClient(eventsClient);
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  const value: NoticeTargets = {
    sns: snsClient,
    centralClients: { sns: snsClient, events: eventsClient },
    caller: new AwsCaller({ sleep: () => Promise.resolve(), attempts: 2 }),
    accountId: ACCOUNT_ID,
    topicArn: LOCAL_TOPIC,
    central,
    centralFailed: (error) => failures.push(error),
  };
  return { value, sns, events, failures };
}

describe('publish with a central target', () => {
  test('a central topic gets the same subject and message as the local topic', async () => {
    const t = targets(CENTRAL_TOPIC);
    await publish(t.value, NOTICE);
    const sent = t.sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(sent).toEqual(
      expect.arrayContaining([
        { TopicArn: LOCAL_TOPIC, Subject: NOTICE.subject, Message: NOTICE.message },
        { TopicArn: CENTRAL_TOPIC.arn, Subject: NOTICE.subject, Message: NOTICE.message },
      ]),
    );
    expect(sent).toHaveLength(2);
    expect(t.failures).toEqual([]);
  });

  test('a central event bus gets one agent-guard event: detail-type the kind, detail account, subject and message', async () => {
    const t = targets(CENTRAL_BUS);
    await publish(t.value, NOTICE);
    expect(t.sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: LOCAL_TOPIC });
    const entries = t.events.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toHaveLength(1);
    const [entry] = entries[0]!;
    expect(entry).toMatchObject({ EventBusName: CENTRAL_BUS.arn, Source: 'agent-guard', DetailType: 'denial' });
    expect(JSON.parse(entry.Detail!)).toEqual({
      account: ACCOUNT_ID,
      subject: NOTICE.subject,
      message: NOTICE.message,
    });
    // EB-33: an entry is at most 256 KB (Detail, DetailType, Source, bus name and time counted).
    expect(Buffer.byteLength(JSON.stringify(entry))).toBeLessThan(256 * 1024);
  });

  test('a central topic that refuses keeps the local notice and is reported, not thrown', async () => {
    const t = targets(CENTRAL_TOPIC);
    t.sns
      .on(PublishCommand, { TopicArn: CENTRAL_TOPIC.arn })
      .rejects(new AuthorizationErrorException({ message: 'not authorized', $metadata: { httpStatusCode: 403 } }));
    await expect(publish(t.value, NOTICE)).resolves.toBeUndefined();
    expect(t.sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: LOCAL_TOPIC, Subject: NOTICE.subject });
    expect(t.failures).toHaveLength(1);
    expect((t.failures[0] as Error).name).toBe('AuthorizationErrorException');
  });

  test('PutEvents that answers with a failed entry counts as a failure (EB-32)', async () => {
    const t = targets(CENTRAL_BUS);
    t.events.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'no' }],
    });
    await publish(t.value, NOTICE);
    expect(t.failures).toHaveLength(1);
    expect(t.failures[0]).toBeInstanceOf(CentralEntryFailed);
    expect(t.sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: LOCAL_TOPIC });
  });

  test('a local failure still rejects, and the central copy is still sent', async () => {
    const t = targets(CENTRAL_TOPIC);
    t.sns.on(PublishCommand, { TopicArn: LOCAL_TOPIC }).rejects(new Error('local down'));
    await expect(publish(t.value, NOTICE)).rejects.toThrow('local down');
    expect(t.sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: CENTRAL_TOPIC.arn });
  });

  test.each([CENTRAL_TOPIC, CENTRAL_BUS])('the central clients call the region of $arn (SNS-34)', async (target) => {
    const clients = centralClients(target, { maxAttempts: 1 })!;
    await expect(clients.sns.config.region()).resolves.toBe('eu-west-1');
    await expect(clients.events.config.region()).resolves.toBe('eu-west-1');
    expect(centralClients(undefined, { maxAttempts: 1 })).toBeUndefined();
  });

  test('without a central target, only the local topic is published to', async () => {
    const t = targets(undefined);
    await publish(t.value, NOTICE);
    expect(t.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(t.events).toHaveReceivedCommandTimes(PutEventsCommand, 0);
  });
});

describe('the approval function counts a failed central copy', () => {
  test('as the same embedded-metric record Powertools Metrics writes for the guard', () => {
    // Oracle: Powertools Metrics, which the guard uses, serialising the same two counts.
    const metrics = new Metrics({ namespace: 'AgentGuard', serviceName: 'agent-guard-approvals' });
    metrics.addMetric('Errors', MetricUnit.Count, 1);
    metrics.addMetric('CentralNoticeFailures', MetricUnit.Count, 1);
    const expected = metrics.serializeMetrics() as unknown as { _aws: { Timestamp: number } };
    const now = new Date(expected._aws.Timestamp);
    expect(JSON.parse(centralFailureMetrics('AgentGuard', 'agent-guard-approvals', now))).toEqual(expected);
  });
});

describe('the guard function with a central target', () => {
  test('each notice reaches the local topic and the central topic', async () => {
    const fx = newGuard({ config: { centralNotices: CENTRAL_TOPIC } });
    await fx.guard.handle(scheduledEvent());
    const local = fx.sns.commandCalls(PublishCommand, { TopicArn: fx.config.topicArn });
    const central = fx.sns.commandCalls(PublishCommand, { TopicArn: CENTRAL_TOPIC.arn });
    expect(local.length).toBeGreaterThan(0);
    expect(central.map((c) => c.args[0].input.Subject)).toEqual(local.map((c) => c.args[0].input.Subject));
    expect(fx.metrics.total('CentralNoticeFailures')).toBe(0);
  });

  test('each notice reaches the central event bus', async () => {
    const fx = newGuard({ config: { centralNotices: CENTRAL_BUS } });
    await fx.guard.handle(scheduledEvent());
    const subjects = published(fx.sns).map((p) => p.subject);
    const details = fx.events
      .commandCalls(PutEventsCommand)
      .map((c) => JSON.parse(c.args[0].input.Entries![0].Detail!) as { subject: string });
    expect(subjects.length).toBeGreaterThan(0);
    expect(details.map((d) => d.subject)).toEqual(subjects);
  });

  test('a central target the role may not reach keeps the local notice, logs it and counts an error', async () => {
    // The central topic refuses, as it does when its policy does not allow this account.
    const fx = newGuard({ config: { centralNotices: CENTRAL_TOPIC } });
    fx.sns
      .on(PublishCommand, { TopicArn: CENTRAL_TOPIC.arn })
      .rejects(new AuthorizationErrorException({ message: 'not authorized', $metadata: { httpStatusCode: 403 } }));
    await fx.guard.handle(scheduledEvent());
    const local = fx.sns.commandCalls(PublishCommand, { TopicArn: fx.config.topicArn });
    expect(local.length).toBeGreaterThan(0);
    expect(fx.metrics.total('CentralNoticeFailures')).toBe(local.length);
    expect(fx.metrics.total('Errors')).toBeGreaterThanOrEqual(local.length);
    expect(fx.logger.messages('error')).toContain(
      'Could not send a notice to the central target; the local topic has it',
    );
    expect(fx.logger.messages('error')).not.toContain('Could not publish a notice');
  });

  test('the configuration refuses a central target that is not a topic or bus ARN', () => {
    const env = (centralNotices: unknown) => ({
      [GUARD_CONFIG_ENV]: JSON.stringify({ ...guardConfig(), centralNotices }),
    });
    expect(loadConfig(env(CENTRAL_TOPIC)).centralNotices).toEqual(CENTRAL_TOPIC);
    expect(() => loadConfig(env({ kind: 'sns-topic', arn: CENTRAL_BUS.arn }))).toThrow(/standard SNS topic ARN/);
    expect(() => loadConfig(env({ kind: 'event-bus', arn: CENTRAL_TOPIC.arn }))).toThrow(/event bus ARN/);
    expect(() => loadConfig(env({ kind: 'queue', arn: CENTRAL_TOPIC.arn }))).toThrow(/centralNotices/);
  });
});

describe('the approval function with a central target', () => {
  test('the central topic gets every notice the local topic gets', async () => {
    const fx = new ApprovalsFixture({ config: { centralNotices: CENTRAL_TOPIC } });
    await fx.approve({}, ALICE);
    expect(fx.sns.notices.length).toBeGreaterThan(0);
    expect(fx.sns.copies.get(CENTRAL_TOPIC.arn)).toEqual(fx.sns.notices);
    expect(fx.centralNoticeFailures).toEqual([]);
  });

  test('a central topic without a grant keeps the local notice and reports each failure', async () => {
    // The fake SNS grants the function its own topic and the configured central topic only.
    const fx = new ApprovalsFixture({ config: { centralNotices: CENTRAL_TOPIC } });
    fx.sns.copies.delete(CENTRAL_TOPIC.arn);
    await fx.approve({}, ALICE);
    expect(fx.sns.notices.length).toBeGreaterThan(0);
    expect(fx.centralNoticeFailures).toHaveLength(fx.sns.notices.length);
    expect((fx.centralNoticeFailures[0] as Error).name).toBe('AuthorizationErrorException');
  });
});
