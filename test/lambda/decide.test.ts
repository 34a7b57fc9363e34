import { GuardModeName } from '../../lib/core/config';
import { decide, ProductionSignal, TrafficSignal } from '../../lambda/guard/decide';

const production: ProductionSignal = { production: true, reason: 'account tag environment=production' };
const notProduction: ProductionSignal = { production: false, reason: 'account tag environment=staging' };
const traffic: TrafficSignal = {
  active: true,
  requestsPerMinute: 140,
  thresholdPerMinute: 5,
  reason: 'peak 140 requests/min in the last 15 min, above 5',
  sources: [],
};
const noTraffic: TrafficSignal = {
  active: false,
  requestsPerMinute: 0,
  thresholdPerMinute: 5,
  reason: 'no datapoints',
  sources: [],
};

describe('decide', () => {
  describe('ENFORCE mode: lock exactly while production AND live traffic', () => {
    it.each<[string, ProductionSignal, TrafficSignal, boolean]>([
      ['production with traffic', production, traffic, true],
      ['production without traffic', production, noTraffic, false],
      ['not production with traffic', notProduction, traffic, false],
      ['not production without traffic', notProduction, noTraffic, false],
    ])('%s', (_name, prod, trf, expected) => {
      // GIVEN the two signals
      // WHEN the guard decides in ENFORCE mode
      const decision = decide(prod, trf, 'ENFORCE');
      // THEN it locks only when protected, and locked equals protected
      expect(decision.locked).toBe(expected);
      expect(decision.protected).toBe(expected);
    });

    it('names both signals in the reason when it locks', () => {
      // GIVEN production with traffic
      // WHEN deciding
      const decision = decide(production, traffic, 'ENFORCE');
      // THEN the reason quotes both signal reasons
      expect(decision.reason).toBe(
        'production (account tag environment=production) with live traffic (peak 140 requests/min in the last 15 min, above 5)',
      );
    });

    it('explains why it stays open: not production', () => {
      const decision = decide(notProduction, traffic, 'ENFORCE');
      expect(decision.reason).toBe('not production (account tag environment=staging)');
    });

    it('explains why it stays open: production without traffic', () => {
      const decision = decide(production, noTraffic, 'ENFORCE');
      expect(decision.reason).toBe(
        'production (account tag environment=production) without live traffic (no datapoints)',
      );
    });

    it('treats failed lookups (which the readers report as production and traffic) as protected', () => {
      // GIVEN the fail-closed signals the readers return after API errors
      const orgFailed: ProductionSignal = { production: true, reason: 'the Organizations lookup failed (Error)' };
      const cwFailed: TrafficSignal = {
        active: true,
        requestsPerMinute: null,
        thresholdPerMinute: 5,
        reason: 'the CloudWatch read failed (Error)',
        sources: [],
      };
      // WHEN deciding
      const decision = decide(orgFailed, cwFailed, 'ENFORCE');
      // THEN it locks
      expect(decision).toMatchObject({ locked: true, protected: true });
    });
  });

  describe('MONITOR mode: never locks, reports what it would do', () => {
    it('protected account: locked false, protected true, reason says would lock', () => {
      // GIVEN production with live traffic
      // WHEN deciding in MONITOR mode
      const decision = decide(production, traffic, 'MONITOR');
      // THEN roles stay open but the account is reported protected
      expect(decision.locked).toBe(false);
      expect(decision.protected).toBe(true);
      expect(decision.reason).toMatch(/^monitor mode, roles stay open; would lock: production \(/);
      expect(decision.reason).toContain('with live traffic');
    });

    it.each<[string, ProductionSignal, TrafficSignal]>([
      ['production without traffic', production, noTraffic],
      ['not production with traffic', notProduction, traffic],
      ['not production without traffic', notProduction, noTraffic],
    ])('unprotected (%s): locked false, protected false, reason says would stay open', (_name, prod, trf) => {
      const decision = decide(prod, trf, 'MONITOR');
      expect(decision.locked).toBe(false);
      expect(decision.protected).toBe(false);
      expect(decision.reason).toMatch(/^monitor mode, roles stay open; would stay open: /);
      expect(decision.reason).not.toContain('would lock');
    });
  });

  it('is a total function of its inputs: locked implies protected, in every mode', () => {
    // GIVEN every combination of signals and modes
    const modes: GuardModeName[] = ['ENFORCE', 'MONITOR'];
    for (const mode of modes) {
      for (const prod of [production, notProduction]) {
        for (const trf of [traffic, noTraffic]) {
          // WHEN deciding
          const decision = decide(prod, trf, mode);
          // THEN the guard never locks an unprotected account, and protected means production AND traffic
          expect(decision.protected).toBe(prod.production && trf.active);
          if (decision.locked) expect(decision.protected).toBe(true);
          if (mode === 'MONITOR') expect(decision.locked).toBe(false);
        }
      }
    }
  });
});
