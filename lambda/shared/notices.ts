import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { arnShapesOf } from '../../lib/core/catalog/arn-formats';
import { AwsCaller } from './aws-caller';
import * as z from 'zod/mini';
import {
  CentralNoticesTarget,
  EVENT_BUS_ARN_PATTERN,
  GuardModeName,
  SNS_TOPIC_ARN_PATTERN,
} from '../../lib/core/config';
import { GuardStatus } from '../../lib/core/status';

/** What a notice is about: the `DetailType` of its event on a central event bus. */
export type NoticeKind = 'denial' | 'repair' | 'status' | 'traffic-drop' | 'failure' | 'approval';

export interface Notice {
  readonly kind: NoticeKind;
  readonly subject: string;
  readonly message: string;
}

/** SNS subjects are printable ASCII, "less than 100 characters long" (SNS-1): at most 99. */
export const MAX_SUBJECT_LENGTH = 99;
/** The longest an event field may be in a notice; a longer one is cut and marked. */
export const MAX_FIELD_LENGTH = 512;

/** A notice subject: printable ASCII, cut to {@link MAX_SUBJECT_LENGTH}. */
export function subject(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_SUBJECT_LENGTH);
}

/**
 * Text kept on one line: control characters, line and paragraph separators become `?`, so no part of
 * it can start a line of its own in a notice.
 */
export function oneLine(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]/gu, '?');
}

/** An event field as a notice may show it: on {@link oneLine}, and cut to {@link MAX_FIELD_LENGTH}. */
export function field(text: string): string {
  const clean = oneLine(text);
  const chars = Array.from(clean);
  return chars.length <= MAX_FIELD_LENGTH ? clean : `${chars.slice(0, MAX_FIELD_LENGTH - 3).join('')}...`;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function denialNotice(input: {
  roleArn: string;
  action: string;
  resource?: string;
  status?: GuardStatus;
}): Notice {
  const roleArn = field(input.roleArn);
  const action = field(input.action);
  const named = input.resource === undefined ? undefined : field(input.resource);
  // IAM matches an action without a resource type only against '*' (IAM-70): such an approval is single use.
  const scope =
    arnShapesOf(input.action)?.length === 0
      ? '--all-resources --uses 1'
      : `--resources ${shellQuote(named ?? '<resource ARN>')}`;
  const command = [
    'agent-guard approve',
    `--role ${shellQuote(roleArn)}`,
    `--actions ${shellQuote(action)}`,
    scope,
    '--duration 30m',
    "--reason '<why this is safe>'",
  ].join(' ');
  const reason = input.status ? field(input.status.reason) : 'see the account status parameter';
  return {
    kind: 'denial',
    subject: subject(`agent-guard: denied ${action} to an agent role`),
    message: [
      `The guard denied an AI-agent role a protected action.`,
      `Role:     ${roleArn}`,
      `Action:   ${action}`,
      `Resource: ${named ?? 'not named in the CloudTrail event'}`,
      `Reason:   ${input.status?.locked ? 'the account is locked: ' : ''}${reason}`,
      '',
      'If an on-call engineer agrees the action is safe, they approve it for a bounded time with:',
      `  ${command}`,
    ].join('\n'),
  };
}

export function repairNotice(roleArn: string, repairs: readonly string[], actor: string | undefined): Notice {
  return {
    kind: 'repair',
    subject: subject('agent-guard: restored the guard on an agent role'),
    message: [
      `Guard parts were missing from an AI-agent role, and the guard put them back.`,
      `Role:  ${field(roleArn)}`,
      `Found: ${repairs.map(field).join('; ')}`,
      `Changed by: ${actor === undefined ? 'unknown (found by the scheduled sweep)' : field(actor)}`,
    ].join('\n'),
  };
}

export function statusNotice(status: GuardStatus): Notice {
  const headline =
    status.mode === 'MONITOR'
      ? status.protected
        ? 'would lock (monitor mode)'
        : 'would stay open (monitor mode)'
      : status.locked
        ? 'locked'
        : 'open';
  return {
    kind: 'status',
    subject: subject(`agent-guard: account ${status.account} ${headline}`),
    message: [`Agent roles in account ${field(status.account)}: ${headline}.`, `Why: ${field(status.reason)}`].join(
      '\n',
    ),
  };
}

/** Live traffic dropped to none at once: the lock holds, and on-call should find out why. */
export function trafficDropNotice(input: {
  account: string;
  mode: GuardModeName;
  reason: string;
  holdUntil: string | null;
}): Notice {
  const { account, mode, reason, holdUntil } = input;
  const monitor = mode === 'MONITOR' ? ' (monitor mode: roles stay open, enforcing would hold the lock)' : '';
  return {
    kind: 'traffic-drop',
    subject: subject(`agent-guard: traffic in account ${account} stopped at once; lock held`),
    message: [
      `Live traffic in account ${field(account)} dropped to none at once${monitor}.`,
      `The guard keeps agent roles locked until ${holdUntil ?? 'the hold ends'}; approvals work as usual.`,
      `Why: ${field(reason)}`,
      '',
      'Traffic that vanishes is an incident (or someone cut it: load balancer ingress, DNS), not idleness.',
      'Find out why before the hold ends.',
    ].join('\n'),
  };
}

/** An agent role the guard could not bring to its desired shape, and what it managed instead. */
export interface RoleFailure {
  readonly roleName: string;
  readonly error: string;
  /** The state tag says locked (or is absent). */
  readonly locked: boolean;
  /** The constrained tag is off, so the boundary allows the role nothing at all. */
  readonly inert: boolean;
  /** Another writer held the role's lease throughout: this run wrote nothing to it. */
  readonly busy?: boolean;
}

export function failureNotice(failures: readonly RoleFailure[]): Notice {
  const outcome = (f: RoleFailure): string =>
    f.busy
      ? 'left to the writer that holds its lease; the next evaluation checks it again'
      : f.inert
        ? 'not constrained: it can do nothing until the guard can verify its guard policies'
        : f.locked
          ? 'locked'
          : 'COULD NOT LOCK, check it by hand';
  return {
    kind: 'failure',
    subject: subject(`agent-guard: ${failures.length} agent role(s) could not be reconciled`),
    message: failures.map((f) => `${field(f.roleName)}: ${field(f.error)}; ${outcome(f)}`).join('\n'),
  };
}

/** The `Source` of the events a central event bus receives. */
export const CENTRAL_EVENT_SOURCE = 'agent-guard';

/** The central target in a handler's configuration schema. */
export const centralNoticesSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('sns-topic'),
    arn: z.string().check(z.regex(SNS_TOPIC_ARN_PATTERN, 'must be a standard SNS topic ARN')),
  }),
  z.object({
    kind: z.literal('event-bus'),
    arn: z.string().check(z.regex(EVENT_BUS_ARN_PATTERN, 'must be an EventBridge event bus ARN')),
  }),
]);

/** Clients in the central target's region: SNS and EventBridge take a call at the resource's region only (SNS-34). */
export interface CentralClients {
  readonly sns: SNSClient;
  readonly events: EventBridgeClient;
}

/** The clients for `target`, in its region; none without a target. */
export function centralClients(
  target: CentralNoticesTarget | undefined,
  sdk: { readonly maxAttempts: number },
): CentralClients | undefined {
  if (!target) return undefined;
  const region = target.arn.split(':')[3];
  return { sns: new SNSClient({ ...sdk, region }), events: new EventBridgeClient({ ...sdk, region }) };
}

/** Where notices go, and who hears of a central copy that did not get there. */
export interface NoticeTargets {
  /** A client in the function's region, for the local topic. */
  readonly sns: SNSClient;
  /** Needed only with a central target; without them, each central copy fails and is reported. */
  readonly centralClients?: CentralClients;
  readonly caller: AwsCaller;
  readonly accountId: string;
  /** The account's own notices topic. */
  readonly topicArn: string;
  readonly central?: CentralNoticesTarget;
  /** Told of each central copy that failed; the local notice is not held up by it. */
  readonly centralFailed: (error: unknown, target: CentralNoticesTarget) => void;
}

/**
 * Publishes a notice to the local topic and, when set, the central target, at once. A central failure
 * goes to `centralFailed` and never to the caller; a local failure rejects as before.
 */
export async function publish(targets: NoticeTargets, notice: Notice): Promise<void> {
  const { sns, caller, topicArn, central } = targets;
  const copy = central
    ? sendCentral(targets, central, notice).catch((error: unknown) => targets.centralFailed(error, central))
    : undefined;
  try {
    await caller.call('sns:Publish', () =>
      sns.send(new PublishCommand({ TopicArn: topicArn, Subject: notice.subject, Message: notice.message })),
    );
  } finally {
    await copy;
  }
}

/**
 * One CloudWatch embedded metric format record that counts a failed central copy in `Errors` and
 * `CentralNoticeFailures`, with the `service` dimension Powertools Metrics gives the guard's metrics.
 * The approval function counts nothing else, so it writes this line itself rather than bundle Powertools
 * Metrics (its bundle has a 1 MB budget).
 */
export function centralFailureMetrics(namespace: string, service: string, now: Date): string {
  return JSON.stringify({
    _aws: {
      Timestamp: now.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [['service']],
          Metrics: [
            { Name: 'Errors', Unit: 'Count' },
            { Name: 'CentralNoticeFailures', Unit: 'Count' },
          ],
        },
      ],
    },
    service,
    Errors: 1,
    CentralNoticeFailures: 1,
  });
}

/** Thrown when PutEvents answers but did not take the entry (it reports per entry, EB-32). */
export class CentralEntryFailed extends Error {
  public override readonly name = 'CentralEntryFailed';
}

async function sendCentral(targets: NoticeTargets, central: CentralNoticesTarget, notice: Notice): Promise<void> {
  const { caller, centralClients: clients } = targets;
  if (!clients) throw new Error(`no client for the central target ${central.arn}`);
  if (central.kind === 'sns-topic') {
    await caller.call('sns:Publish', () =>
      clients.sns.send(new PublishCommand({ TopicArn: central.arn, Subject: notice.subject, Message: notice.message })),
    );
    return;
  }
  const answer = await caller.call('events:PutEvents', () =>
    clients.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: central.arn,
            Source: CENTRAL_EVENT_SOURCE,
            DetailType: notice.kind,
            Detail: JSON.stringify({ account: targets.accountId, subject: notice.subject, message: notice.message }),
          },
        ],
      }),
    ),
  );
  const entry = answer.Entries?.[0];
  if ((answer.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode) {
    throw new CentralEntryFailed(`${entry?.ErrorCode ?? 'unknown'}: ${entry?.ErrorMessage ?? ''}`);
  }
}
