import * as z from 'zod/mini';
import { resolveApprovalActions, validateApprovalResources } from '../../lib/core/approval/approval-scope';
import { formatDuration, parseDuration } from '../../lib/core/approval/duration';
import { ResolvedCatalog } from '../../lib/core/policy/resolve-catalog';
import { ApiRequest, apiRequestSchema, ScopeRequest } from '../../lib/core/approval-api';
import { rolePartition } from './dry-run';
import { messageOf, quote, usageError } from './errors';

/** The scope flags of `approve` and `request`, as commander hands them over. */
export interface ScopeOptions {
  readonly role?: string;
  readonly actions?: readonly string[];
  readonly resources?: readonly string[];
  readonly allResources?: boolean;
  readonly duration?: string;
  readonly reason?: string;
  readonly ticket?: string;
  readonly uses?: string;
  readonly breakGlass?: boolean;
}

/** A scope request checked locally, with the exact protected actions it carves out. */
export interface CheckedScope {
  readonly request: ScopeRequest;
  readonly actions: string[];
  readonly resources: string[];
}

const MIN_SECONDS = 60;
/** The approval API's limits on one action and one resource (lib/core/approval-api.ts). */
const MAX_ACTION_CHARS = 128;
const MAX_RESOURCE_CHARS = 2048;
const MAX_SECONDS = 31 * 86400;

/** True for an ARN the approval function accepts as a role ARN (the API's own schema decides). */
export function isRoleArn(value: string): boolean {
  return apiRequestSchema.safeParse({ op: 'list', roleArn: value }).success;
}

export function checkRoleArn(flag: string, value: string): string {
  if (isRoleArn(value)) return value;
  const session = /^arn:(aws[a-z-]{0,20}):sts::(\d{12}):assumed-role\/([^/]{1,64})\//.exec(value);
  if (session) {
    throw usageError(
      `${flag} ${quote(value)} is a session ARN. Give the role ARN instead: arn:${session[1]}:iam::${session[2]}:role/${session[3]} ` +
        '(with the role path, if it has one).',
    );
  }
  throw usageError(
    `${flag} ${quote(value)} is not an IAM role ARN. Write it like arn:aws:iam::111122223333:role/my-agent ` +
      '(aws iam get-role --role-name NAME shows it).',
  );
}

export function checkApprovalId(value: string): string {
  if (/^[a-z0-9]{8,32}$/.test(value)) return value;
  throw usageError(
    `--id ${quote(value)} is not an approval id: 8 to 32 lower-case letters and digits, as agent-guard list shows.`,
  );
}

export function checkDuration(value: string, flag = '--duration'): number {
  let seconds: number;
  try {
    // No duration is longer than this; a longer text is not echoed back in full.
    if (value.length > 40) throw new Error(`${quote(value)} is not a duration. Write it like 30m, 1h, 1h30m or 90s.`);
    seconds = parseDuration(value);
  } catch (error) {
    throw usageError(`${flag}: ${messageOf(error)}`);
  }
  if (seconds < MIN_SECONDS) {
    throw usageError(`${flag} ${quote(value)} is shorter than 1m. Write at least 1m, for example 30m.`);
  }
  if (seconds > MAX_SECONDS) {
    throw usageError(
      `${flag} ${quote(value)} (${formatDuration(seconds)}) is over 31d, the most any approval can last. Ask for less, such as 1h.`,
    );
  }
  return seconds;
}

function checkText(flag: string, value: string | undefined, max: number): string | undefined {
  if (value === undefined) return undefined;
  if (!/\S/.test(value)) throw usageError(`${flag} must not be blank.`);
  if (value.length > max) throw usageError(`${flag} is ${value.length} characters long; keep it to ${max}.`);
  return value;
}

/** `--actions a,b c` → [a, b, c]: commas and spaces both separate actions and groups. */
function splitActions(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(/[\s,]+/)).filter((v) => v !== '');
}

/**
 * Checks the scope flags of `approve` or `request` the way the approval function will, so bad input
 * fails here, before anything is signed or sent.
 */
export function checkScope(
  op: 'approve' | 'request',
  options: ScopeOptions,
  catalog: () => ResolvedCatalog,
): CheckedScope {
  const missing = [
    ['--role ARN', options.role],
    ['--actions GROUP|ACTION...', options.actions],
    ['--resources ARN...', options.allResources ? [] : options.resources],
    ['--duration D', options.duration],
    ['--reason TEXT', options.reason],
  ].flatMap(([flag, value]) => (value === undefined ? [flag as string] : []));
  if (missing.length > 0) {
    const alternative = op === 'approve' ? ' (or only --id ID, to approve a pending request)' : '';
    throw usageError(`${op} needs ${missing.join(', ')}${alternative}. See agent-guard ${op} --help.`);
  }
  const roleArn = checkRoleArn('--role', options.role!);

  const typedActions = splitActions(options.actions!);
  if (typedActions.length === 0) throw usageError('--actions: name at least one group or action.');
  // The approval function's limits; checked first so that an overlong value is not echoed in full.
  const longAction = typedActions.find((a) => a.length > MAX_ACTION_CHARS);
  if (longAction !== undefined) {
    throw usageError(
      `--actions: ${quote(longAction)} is not an action: IAM action names and patterns are at most ${MAX_ACTION_CHARS} characters.`,
    );
  }
  const typedResources = options.resources ?? [];
  const longResource = typedResources.find((r) => r.length > MAX_RESOURCE_CHARS);
  if (longResource !== undefined) {
    throw usageError(
      `--resources: ${quote(longResource)} is longer than ${MAX_RESOURCE_CHARS} characters, the most for an ARN.`,
    );
  }
  let actions: string[];
  try {
    actions = resolveApprovalActions(typedActions, catalog());
  } catch (error) {
    throw usageError(`--actions: ${messageOf(error)}`);
  }

  const uses = checkUses(options.uses);
  // The approval is for the role's account and partition: the function refuses a role of another.
  const partition = rolePartition(roleArn);
  const account = roleArn.split(':')[4];
  let resources: string[];
  try {
    ({ actions, resources } = validateApprovalResources(
      { actions, requested: typedActions, resources: options.resources, allResources: options.allResources, uses },
      { partition, account },
    ));
  } catch (error) {
    throw usageError(`${options.allResources ? '--all-resources' : '--resources'}: ${messageOf(error)}`);
  }

  const durationSeconds = checkDuration(options.duration!);
  const reason = checkText('--reason', options.reason, 1000)!;
  const ticket = checkText('--ticket', options.ticket, 128);

  const body = {
    op,
    roleArn,
    actions: typedActions,
    ...(options.resources !== undefined ? { resources: [...options.resources] } : {}),
    ...(options.allResources ? { allResources: true } : {}),
    durationSeconds,
    reason,
    ...(ticket !== undefined ? { ticket } : {}),
    ...(uses !== undefined ? { uses } : {}),
    ...(op === 'approve' && options.breakGlass ? { breakGlass: true } : {}),
  };
  return { request: checkRequest(body) as ScopeRequest, actions, resources };
}

function checkUses(value: string | undefined): 1 | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '1') return 1;
  throw usageError(
    `--uses ${quote(value)}: only single-use approvals exist. Write --uses 1, or leave it out to allow any number of uses until the expiry.`,
  );
}

/** The last local check: the approval function's own request schema, so it never answers 400. */
export function checkRequest(body: unknown): ApiRequest {
  const parsed = apiRequestSchema.safeParse(body);
  if (!parsed.success) throw usageError(`Invalid request: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
