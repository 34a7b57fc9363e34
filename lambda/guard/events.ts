import * as z from 'zod/mini';
import { iamOperationOf } from '../../lib/core/cloudtrail/event-names';
import { ACCESS_DENIED_CODES, ROLE_EVENT_NAMES } from '../../lib/core/guard-events';

export { ACCESS_DENIED_CODES, ROLE_EVENT_NAMES };

/** What the guard does with one EventBridge event. */
export type GuardEvent =
  | { readonly kind: 'sweep'; readonly trigger: 'schedule' | 'alarm' | 'unrecognised' }
  | { readonly kind: 'role-changed'; readonly roleName: string; readonly eventName: string; readonly actor?: string }
  | {
      readonly kind: 'access-denied';
      readonly roleArn: string;
      readonly roleName: string;
      readonly action: string;
      readonly resource?: string;
      readonly errorMessage?: string;
    };

const envelope = z.object({ 'detail-type': z.string(), source: z.string(), detail: z.unknown() });

const cloudTrailDetail = z.object({
  // A host name is at most 253 characters; checked first, so the regex never backtracks over megabytes.
  eventSource: z
    .string()
    .check(z.maxLength(253, { abort: true }), z.regex(/^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com$/)),
  eventName: z.string().check(z.regex(/^[A-Za-z0-9]{1,128}$/)),
  errorCode: z.optional(z.string()),
  errorMessage: z.optional(z.string()),
  userIdentity: z.optional(
    z.object({
      arn: z.optional(z.string()),
      sessionContext: z.optional(
        z.object({ sessionIssuer: z.optional(z.object({ type: z.string(), arn: z.string(), userName: z.string() })) }),
      ),
    }),
  ),
  requestParameters: z.nullish(z.record(z.string(), z.unknown())),
  resources: z.optional(z.array(z.object({ ARN: z.optional(z.string()), arn: z.optional(z.string()) }))),
});

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/** Event sources whose IAM service prefix is not the host name's first label. */
const SERVICE_PREFIX: Record<string, string> = {
  'monitoring.amazonaws.com': 'cloudwatch',
  'elasticloadbalancing.amazonaws.com': 'elasticloadbalancing',
  'email.amazonaws.com': 'ses',
  'es.amazonaws.com': 'es',
  'tagging.amazonaws.com': 'tag',
};

/**
 * Classifies an EventBridge event. Anything it does not recognise becomes a full sweep, which can
 * only bring roles to the state the signals call for, never less locked.
 */
export function classify(event: unknown): GuardEvent {
  const outer = envelope.safeParse(event);
  if (!outer.success) return { kind: 'sweep', trigger: 'unrecognised' };
  const type = outer.data['detail-type'];
  if (type === 'Scheduled Event' && outer.data.source === 'aws.events') return { kind: 'sweep', trigger: 'schedule' };
  if (type === 'CloudWatch Alarm State Change' && outer.data.source === 'aws.cloudwatch') {
    return { kind: 'sweep', trigger: 'alarm' };
  }
  // PutEvents refuses a source that starts with `aws.` but writes any detail-type (EB-2), so only the
  // source tells a CloudTrail event from a forged one. A forged event gets no more than any other
  // unrecognised event: a full sweep, which reconciles every role to what the signals call for.
  const fromAws = outer.data.source.startsWith('aws.');
  if (type !== 'AWS API Call via CloudTrail' || !fromAws) return { kind: 'sweep', trigger: 'unrecognised' };
  const detail = cloudTrailDetail.safeParse(outer.data.detail);
  if (!detail.success) return { kind: 'sweep', trigger: 'unrecognised' };
  const d = detail.data;

  if (d.errorCode && ACCESS_DENIED_CODES.includes(d.errorCode)) {
    const issuer = d.userIdentity?.sessionContext?.sessionIssuer;
    if (issuer?.type !== 'Role' || !ROLE_NAME.test(issuer.userName)) return { kind: 'sweep', trigger: 'unrecognised' };
    const prefix = SERVICE_PREFIX[d.eventSource] ?? d.eventSource.split('.')[0];
    const resource = d.resources?.map((r) => r.ARN ?? r.arn).find((arn) => arn !== undefined);
    return {
      kind: 'access-denied',
      roleArn: issuer.arn,
      roleName: issuer.userName,
      // Lambda logs `DeleteFunction20150331` for `lambda:DeleteFunction` (CT-1).
      action: `${prefix}:${iamOperationOf(d.eventSource, d.eventName)}`,
      resource,
      errorMessage: d.errorMessage,
    };
  }
  if (
    d.eventSource === 'iam.amazonaws.com' &&
    outer.data.source === 'aws.iam' &&
    ROLE_EVENT_NAMES.includes(d.eventName)
  ) {
    const roleName = d.requestParameters?.roleName;
    if (typeof roleName === 'string' && ROLE_NAME.test(roleName)) {
      return { kind: 'role-changed', roleName, eventName: d.eventName, actor: d.userIdentity?.arn };
    }
  }
  return { kind: 'sweep', trigger: 'unrecognised' };
}

/** One record of an SQS batch from the denials queue, classified. */
export interface QueuedEvent {
  readonly messageId: string;
  /** When SQS received the message (its `SentTimestamp`), if it says. */
  readonly sentAt?: Date;
  readonly event: GuardEvent;
}

/** Any batch whose records all come from SQS; each record is then read on its own. */
const sqsBatch = z.object({ Records: z.array(z.object({ eventSource: z.literal('aws:sqs') })).check(z.minLength(1)) });

const sqsRecord = z.object({
  messageId: z.string(),
  body: z.string(),
  attributes: z.optional(z.object({ SentTimestamp: z.optional(z.string().check(z.regex(/^\d{1,15}$/))) })),
});

/**
 * The records of an SQS batch from the denials queue (the EventBridge events they hold, classified),
 * or `undefined` when `event` is not an SQS batch. A record that cannot be read, or whose body is not
 * JSON, is an unrecognised event, so one bad record never turns the batch into a sweep.
 */
export function queuedEvents(event: unknown): QueuedEvent[] | undefined {
  if (!sqsBatch.safeParse(event).success) return undefined;
  return (event as { Records: unknown[] }).Records.map((raw) => {
    const record = sqsRecord.safeParse(raw);
    if (!record.success) return { messageId: '', event: { kind: 'sweep', trigger: 'unrecognised' } };
    const sent = record.data.attributes?.SentTimestamp;
    return {
      messageId: record.data.messageId,
      sentAt: sent === undefined ? undefined : new Date(Number(sent)),
      event: classify(parseJson(record.data.body)),
    };
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
