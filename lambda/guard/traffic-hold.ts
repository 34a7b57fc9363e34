import { GuardStatus } from '../../lib/core/status';
import { TrafficSignal } from './decide';

/** What the guard remembers about traffic from one evaluation to the next, in the status. */
export type TrafficMemory = Pick<GuardStatus['traffic'], 'liveAt' | 'holdUntil'>;

/** The previous evaluation's status: none yet (first run), or unreadable. */
export type PreviousStatus =
  | { readonly readable: true; readonly status: GuardStatus | undefined }
  | { readonly readable: false; readonly error: string };

export interface HeldTraffic {
  /** The traffic signal the decision uses: the measured one, or live while a hold lasts. */
  readonly signal: TrafficSignal;
  readonly memory: TrafficMemory;
  /** A drop was found now, and the hold starts: on-call is told once. */
  readonly started: boolean;
}

/**
 * Holds the lock after live traffic drops to none at once. A drop is an evaluation that measures no
 * request at all in its lookback, when the last measurement before it was live; a decline through the
 * threshold is not one. Cutting traffic (ingress, DNS) would otherwise open the account one lookback
 * later. Fails closed: when the previous status cannot be read, neither a drop nor a hold in force can
 * be ruled out, so a hold starts (bounded by `holdMinutes`, and on-call is told). A missing status
 * (first run) means no drop.
 */
export function holdTraffic(
  measured: TrafficSignal,
  previous: PreviousStatus,
  now: Date,
  holdMinutes: number,
): HeldTraffic {
  const at = now.toISOString();
  if (measured.active && measured.requestsPerMinute !== null) {
    return { signal: measured, memory: { liveAt: at, holdUntil: null }, started: false };
  }
  const startHold = (why: string): HeldTraffic => {
    const holdUntil = new Date(now.getTime() + holdMinutes * 60000).toISOString();
    return { signal: held(measured, why, holdUntil), memory: { liveAt: null, holdUntil }, started: true };
  };
  if (!previous.readable) {
    return startHold(`the last status could not be read (${previous.error}), so a drop of traffic cannot be ruled out`);
  }
  const before = previous.status?.traffic;
  const memory: TrafficMemory = { liveAt: before?.liveAt ?? null, holdUntil: before?.holdUntil ?? null };
  // A failed read already counts as live; it neither starts nor ends a hold.
  if (measured.requestsPerMinute === null) return { signal: measured, memory, started: false };
  if (memory.holdUntil !== null && Date.parse(memory.holdUntil) > now.getTime()) {
    return {
      signal: held(measured, 'live traffic dropped to none at once', memory.holdUntil),
      memory: { liveAt: null, holdUntil: memory.holdUntil },
      started: false,
    };
  }
  if (memory.liveAt !== null && measured.requestsPerMinute === 0) {
    return startHold(`live traffic (last measured ${memory.liveAt}) dropped to none at once`);
  }
  return { signal: measured, memory: { liveAt: null, holdUntil: null }, started: false };
}

function held(measured: TrafficSignal, why: string, holdUntil: string): TrafficSignal {
  return { ...measured, active: true, reason: `${why}, so the lock holds until ${holdUntil} (${measured.reason})` };
}
