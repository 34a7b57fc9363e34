/**
 * How a reader of the guard status (the hook, `check`, MCP) decides whether agents are locked now. The
 * status is trusted only while its heartbeat is fresh: a guard that stopped running must not look open.
 */
import { GuardStatus } from './status';

/** The guard's default schedule, in minutes (AgentGuardProps.schedule). */
export const DEFAULT_SCHEDULE_MINUTES = 5;
/** A status whose heartbeat is older than this many schedules counts as locked. */
export const STALE_AFTER_SCHEDULES = 3;

export interface EffectiveLock {
  /** Treat protected actions as denied. */
  readonly locked: boolean;
  /** Why, in a sentence for the agent. */
  readonly reason: string;
  /** The heartbeat is older than three schedules, or unreadable. */
  readonly stale: boolean;
  /** There is no status to read. */
  readonly unknown: boolean;
}

/**
 * The lock in force at `now`. No status, or a stale one, is locked (fail closed). The schedule is the
 * status's own `scheduleMinutes` when it carries one, else `scheduleMinutes`.
 */
export function effectiveLock(
  status: GuardStatus | undefined,
  now: Date,
  scheduleMinutes: number = DEFAULT_SCHEDULE_MINUTES,
): EffectiveLock {
  if (status === undefined) {
    return { locked: true, unknown: true, stale: false, reason: 'The guard status is unknown, so treat it as locked.' };
  }
  // Parsed from JSON: the field is checked, not trusted to match its type.
  const own: unknown = status.scheduleMinutes;
  const schedule = typeof own === 'number' && own > 0 ? own : scheduleMinutes;
  const heartbeat = Date.parse(status.evaluatedAt);
  if (Number.isNaN(heartbeat)) {
    return {
      locked: true,
      unknown: false,
      stale: true,
      reason: `The guard status has no readable heartbeat (evaluatedAt ${JSON.stringify(status.evaluatedAt)}), so treat it as locked.`,
    };
  }
  const ageMinutes = (now.getTime() - heartbeat) / 60_000;
  if (ageMinutes > STALE_AFTER_SCHEDULES * schedule) {
    return {
      locked: true,
      unknown: false,
      stale: true,
      reason:
        `The guard last reported ${Math.floor(ageMinutes)} minutes ago (at ${status.evaluatedAt}), more than ` +
        `${STALE_AFTER_SCHEDULES} schedules of ${schedule} minutes: it may have stopped, so treat it as locked.`,
    };
  }
  return { locked: status.locked, unknown: false, stale: false, reason: status.reason };
}

/**
 * The status in a parameter value, or undefined when the value is not one the guard wrote: a
 * malformed status is read as no status, which is locked.
 */
export function parseGuardStatus(raw: string): GuardStatus | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const status = value as Record<string, unknown>;
  const wellFormed =
    status.schemaVersion === 1 &&
    typeof status.locked === 'boolean' &&
    typeof status.reason === 'string' &&
    typeof status.evaluatedAt === 'string' &&
    typeof status.howToGetApproval === 'string';
  return wellFormed ? (value as GuardStatus) : undefined;
}
