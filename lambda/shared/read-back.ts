import { IAMClient } from '@aws-sdk/client-iam';
import { AwsCaller } from './aws-caller';
import { readRole, RoleSnapshot } from './agent-roles';

/**
 * How long to wait for an IAM write to read back. IAM is eventually consistent: a change can take
 * time to be seen by reads and to take effect (docs/AWS-BEHAVIOUR.md), so a write is trusted only
 * once a read returns it.
 */
export interface ReadBackOptions {
  /** Total time to wait, in milliseconds. @default 10000 */
  readonly maxWaitMs?: number;
  /** First pause between reads, doubled after each read up to `maxDelayMs`. @default 250 */
  readonly firstDelayMs?: number;
  /** Longest pause between two reads. @default 2000 */
  readonly maxDelayMs?: number;
}

/** A write did not read back within the wait; the caller must not act as if it had. */
export class NotVisibleError extends Error {
  constructor(roleName: string, what: string, waitedMs: number) {
    super(`${what} on role ${roleName} did not read back within ${waitedMs} ms`);
    this.name = 'NotVisibleError';
  }
}

/**
 * Reads a role (GetRole and ListAttachedRolePolicies) until `ready` holds, with capped exponential
 * backoff (pausing through the caller, whose sleep tests inject), and returns that read. Throws
 * `NotVisibleError` when the wait runs out, or when the role is gone.
 */
export async function readBack(
  iam: IAMClient,
  caller: AwsCaller,
  roleName: string,
  what: string,
  ready: (role: RoleSnapshot) => boolean,
  options: ReadBackOptions = {},
): Promise<RoleSnapshot> {
  const maxWaitMs = options.maxWaitMs ?? 10_000;
  const maxDelayMs = options.maxDelayMs ?? 2_000;
  let delay = options.firstDelayMs ?? 250;
  let waited = 0;
  for (;;) {
    const role = await readRole(iam, caller, roleName);
    if (role && ready(role)) return role;
    if (!role || waited >= maxWaitMs) throw new NotVisibleError(roleName, what, waited);
    const pause = Math.min(delay, maxDelayMs, maxWaitMs - waited);
    await caller.pause(pause);
    waited += pause;
    delay *= 2;
  }
}
