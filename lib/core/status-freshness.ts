import type { GuardStatus } from './status';

/** A status older than this many schedules is stale: a dead guard must not look open. */
export const STALE_AFTER_SCHEDULES = 3;

/** The lock state a reader acts on. */
export interface EffectiveLock {
  /** Treat protected actions as denied. */
  readonly locked: boolean;
  readonly reason: string;
  /** The status is older than three schedules. */
  readonly stale: boolean;
  /** There is no status, or it cannot be read. */
  readonly unknown: boolean;
}

/**
 * The lock state to act on: the status's own, unless there is none or it is stale (its heartbeat,
 * `evaluatedAt`, older than three schedules), and then locked. Fail closed.
 */
export function effectiveLock(status: GuardStatus | undefined, now: Date, scheduleMinutes: number): EffectiveLock {
  if (status === undefined) {
    return {
      locked: true,
      reason: 'The guard status could not be read: treat as locked.',
      stale: false,
      unknown: true,
    };
  }
  const evaluated = Date.parse(status.evaluatedAt);
  if (Number.isNaN(evaluated)) {
    return {
      locked: true,
      reason: 'The guard status has no readable evaluatedAt heartbeat: treat as locked.',
      stale: false,
      unknown: true,
    };
  }
  const limitMs = STALE_AFTER_SCHEDULES * scheduleMinutes * 60_000;
  if (now.getTime() - evaluated > limitMs) {
    const minutes = Math.floor((now.getTime() - evaluated) / 60_000);
    return {
      locked: true,
      reason:
        `The guard status was last evaluated ${minutes} minutes ago (${status.evaluatedAt}), more than ` +
        `${STALE_AFTER_SCHEDULES} schedules of ${scheduleMinutes} minutes: the guard may be down, so treat as locked. ` +
        `It last said ${status.locked ? 'locked' : 'open'}: ${status.reason}`,
      stale: true,
      unknown: false,
    };
  }
  return { locked: status.locked, reason: status.reason, stale: false, unknown: false };
}
