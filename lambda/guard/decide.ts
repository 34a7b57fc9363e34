import { GuardModeName } from '../../lib/core/config';
import { TrafficSource } from '../../lib/core/status';

/** Whether the account counts as production, and why. */
export interface ProductionSignal {
  readonly production: boolean;
  readonly reason: string;
}

/** Live traffic against the threshold, and why. */
export interface TrafficSignal {
  readonly active: boolean;
  /** Highest requests per minute seen in the lookback, over every traffic query; unknown after an error. */
  readonly requestsPerMinute: number | null;
  readonly thresholdPerMinute: number;
  readonly reason: string;
  /** The sources the grouped queries named, with their peaks; none after an error. */
  readonly sources: readonly TrafficSource[];
}

export interface Decision {
  /** Agent roles are to be locked now. */
  readonly locked: boolean;
  /** The account is protected: production with live traffic. In monitor mode this is "would lock". */
  readonly protected: boolean;
  readonly reason: string;
}

/** The guard's rule: lock while the account is production and serves live traffic. */
export function decide(production: ProductionSignal, traffic: TrafficSignal, mode: GuardModeName): Decision {
  const isProtected = production.production && traffic.active;
  const why = isProtected
    ? `production (${production.reason}) with live traffic (${traffic.reason})`
    : !production.production
      ? `not production (${production.reason})`
      : `production (${production.reason}) without live traffic (${traffic.reason})`;
  if (mode === 'MONITOR') {
    return {
      locked: false,
      protected: isProtected,
      reason: `monitor mode, roles stay open; ${isProtected ? 'would lock' : 'would stay open'}: ${why}`,
    };
  }
  return { locked: isProtected, protected: isProtected, reason: why };
}
