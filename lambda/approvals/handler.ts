import * as z from 'zod/mini';
import { apiRequestSchema, ApiResponse } from '../../lib/core/approval-api';
import { ApprovalService, Refusal } from './service';

/** The parts of a Lambda function URL event the approval function reads. */
export interface FunctionUrlEvent {
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext: {
    readonly http: { readonly method: string };
    readonly authorizer?: { readonly iam?: { readonly userArn?: string } };
  };
}

export interface HttpResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const scheduled = z.discriminatedUnion('op', [
  z.object({ op: z.literal('expire'), approvalId: z.string() }),
  z.object({ op: z.literal('used'), approvalId: z.string() }),
  z.object({ op: z.literal('reconcile') }),
]);

function isFunctionUrlEvent(event: unknown): event is FunctionUrlEvent {
  const context = (event as { requestContext?: { http?: unknown } } | null)?.requestContext;
  return typeof context === 'object' && context !== null && typeof context.http === 'object';
}

function reply(statusCode: number, response: ApiResponse): HttpResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(response) };
}

/**
 * Routes one invocation: a signed HTTPS call through the function URL (the CLI), or an expiry,
 * first-use or reconcile event. Refusals and bad input answer 403 and 400 with a message; anything
 * else fails the invocation, so Lambda's error metric and the alarm see it.
 */
export async function route(service: ApprovalService, event: unknown): Promise<unknown> {
  if (!isFunctionUrlEvent(event)) {
    const parsed = scheduled.safeParse(event);
    // A schedule or rule event that is not one of ours (the periodic EventBridge rule included) reconciles.
    if (!parsed.success) return service.reconcile();
    if (parsed.data.op === 'expire') return service.expire(parsed.data.approvalId);
    if (parsed.data.op === 'used') return service.used(parsed.data.approvalId);
    return service.reconcile();
  }
  const callerArn = event.requestContext.authorizer?.iam?.userArn;
  if (!callerArn)
    return reply(403, { ok: false, refused: true, message: 'Sign the request with IAM credentials (SigV4).' });
  if (event.requestContext.http.method !== 'POST') {
    return reply(400, { ok: false, refused: false, message: 'POST a JSON body; see agent-guard --help.' });
  }
  let body: unknown;
  try {
    const text = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
    body = JSON.parse(text);
  } catch {
    return reply(400, { ok: false, refused: false, message: 'The body is not JSON.' });
  }
  const parsed = apiRequestSchema.safeParse(body);
  if (!parsed.success) {
    return reply(400, { ok: false, refused: false, message: `Invalid request: ${z.prettifyError(parsed.error)}` });
  }
  try {
    const { message, approvals } = await service.handle(parsed.data, callerArn);
    return reply(200, { ok: true, message, approvals });
  } catch (error) {
    if (error instanceof Refusal) return reply(403, { ok: false, refused: true, message: error.message });
    throw error;
  }
}
