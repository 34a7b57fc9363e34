import { ApiRequest, ApprovalRecord } from '../../lib/core/approval-api';
import { CliError, EXIT, failure, messageOf } from './errors';
import { HttpReply, Transport } from './transport';

/** A successful answer of the approval function. */
export interface ApiSuccess {
  readonly message: string;
  readonly approvals: ApprovalRecord[];
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat || '(empty)';
}

/**
 * Sends one request and maps the answer to the CLI's exit codes: 403 or a refusal is 1, 400 is 2,
 * anything else that is not a success is 1.
 */
export async function callApi(transport: Transport, request: ApiRequest): Promise<ApiSuccess> {
  let reply: HttpReply;
  try {
    reply = await transport(request);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw failure(`Could not call the approval function: ${messageOf(error)}`);
  }
  let parsed: { ok?: unknown; refused?: unknown; message?: unknown; Message?: unknown; approvals?: unknown };
  try {
    parsed = JSON.parse(reply.body) as typeof parsed;
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
  } catch {
    throw failure(
      `The approval function answered HTTP ${reply.statusCode} with a body that is not JSON: ${snippet(reply.body)}` +
        (reply.statusCode >= 500 ? ' It failed; its logs say why. Try again shortly.' : ''),
    );
  }
  const message = typeof parsed.message === 'string' ? parsed.message : undefined;

  if (reply.statusCode === 403 || (parsed.ok === false && parsed.refused === true)) {
    if (message) throw new CliError(`Refused: ${message}`, EXIT.FAILED);
    // Function URL IAM auth answers {"Message":"Forbidden"} before the function runs.
    throw new CliError(
      `Refused by the function URL's IAM auth (${typeof parsed.Message === 'string' ? parsed.Message : 'HTTP 403'}): ` +
        'your credentials may not call lambda:InvokeFunctionUrl on the approval function. Check the signed-in identity (aws sts get-caller-identity).',
      EXIT.FAILED,
    );
  }
  if (reply.statusCode === 400) {
    throw new CliError(`The approval function rejected the request: ${message ?? snippet(reply.body)}`, EXIT.USAGE);
  }
  if (reply.statusCode >= 200 && reply.statusCode < 300 && parsed.ok === true) {
    return {
      message: message ?? '',
      approvals: Array.isArray(parsed.approvals) ? (parsed.approvals as ApprovalRecord[]) : [],
    };
  }
  const detail = message ?? (typeof parsed.Message === 'string' ? parsed.Message : snippet(reply.body));
  throw failure(
    `The approval function failed (HTTP ${reply.statusCode}): ${detail}` +
      (reply.statusCode >= 500 ? ' Its logs say why; nothing is granted unless agent-guard list shows it.' : ''),
  );
}
