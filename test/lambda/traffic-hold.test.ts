import 'aws-sdk-client-mock-jest';
import { GetMetricDataCommand, GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { AttachRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetParameterCommand, GetParameterCommandInput, PutParameterCommand } from '@aws-sdk/client-ssm';
import { TrafficSignal } from '../../lambda/guard/decide';
import { holdTraffic, PreviousStatus } from '../../lambda/guard/traffic-hold';
import { APPROVAL_TAG } from '../../lib/core/contract';
import { GuardStatus } from '../../lib/core/status';
import {
  accessDenied,
  approvalPolicyArn,
  constrainedRole,
  GuardFixture,
  NOW,
  newGuard,
  published,
  scheduledEvent,
} from '../support/guard-fixture';

const MINUTE = 60000;
/** Minutes after NOW. */
const at = (minutes: number) => new Date(NOW.getTime() + minutes * MINUTE);

/**
 * CloudWatch over a traffic history: one datapoint per minute in the request's range, where `rate`
 * gives a number; none where it gives undefined (ALB publishes no RequestCount for a minute without
 * requests).
 */
function history(fx: GuardFixture, rate: (minute: Date) => number | undefined): void {
  fx.cloudwatch.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
    const timestamps: Date[] = [];
    const values: number[] = [];
    for (let t = input.StartTime?.getTime() ?? 0; t < (input.EndTime?.getTime() ?? 0); t += MINUTE) {
      const value = rate(new Date(t));
      if (value !== undefined) {
        timestamps.push(new Date(t));
        values.push(value);
      }
    }
    return {
      MetricDataResults: (input.MetricDataQueries ?? []).map((q) => ({
        Id: q.Id,
        StatusCode: 'Complete',
        Timestamps: timestamps,
        Values: values,
      })),
    };
  });
}

function lastStatus(fx: GuardFixture): GuardStatus {
  const value = fx.ssm.commandCalls(PutParameterCommand).at(-1)?.args[0].input.Value;
  return JSON.parse(value ?? '') as GuardStatus;
}

/** Runs the scheduled sweep at `minutes` after NOW; returns whether the account was locked. */
async function sweepAt(fx: GuardFixture, minutes: number): Promise<boolean | undefined> {
  fx.now.value = at(minutes);
  return (await fx.guard.handle(scheduledEvent())).locked;
}

const APPROVED = constrainedRole('agent-approved', 'locked', {
  tags: { [APPROVAL_TAG]: 'abc123' },
  policyArns: [approvalPolicyArn('abc123', 1), approvalPolicyArn('abc123', 2)],
});

describe('traffic that vanishes: the worked example (lookback 15 min, hold 60 min, sweeps every 5 min)', () => {
  // Live traffic of 120/min until minute 10, then none: the load balancer's ingress was revoked.
  const CUT = 10;
  const cutAtTen = (minute: Date) => (minute < at(CUT) ? 120 : undefined);

  it('stays locked through the lookback and the hold, tells on-call once, and opens 60 min + lookback after the cut', async () => {
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'open'), APPROVED] });
    history(fx, cutAtTen);
    // Live traffic: locked. The last live minute (9) stays in the 15-minute lookback until minute 24.
    for (const minute of [0, 5, 10, 15, 20]) expect(await sweepAt(fx, minute)).toBe(true);
    expect(lastStatus(fx).traffic).toMatchObject({ active: true, liveAt: at(20).toISOString(), holdUntil: null });
    expect(published(fx.sns).map((p) => p.subject)).toEqual(['agent-guard: account 111122223333 locked']);

    // Minute 25: no request in the lookback, right after a live one. Without the hold this opens.
    expect(await sweepAt(fx, 25)).toBe(true);
    const held = lastStatus(fx);
    expect(held.traffic).toMatchObject({ active: true, requestsPerMinute: 0, holdUntil: at(85).toISOString() });
    expect(held.reason).toContain(`the lock holds until ${at(85).toISOString()}`);
    // AND on-call is told, once
    const notices = published(fx.sns);
    expect(notices).toHaveLength(2);
    expect(notices[1].subject).toBe('agent-guard: traffic in account 111122223333 stopped at once; lock held');
    expect(notices[1].message).toContain(at(85).toISOString());

    // 30 minutes into the hold (minute 55): still locked, no new notice
    for (const minute of [30, 40, 55, 80]) expect(await sweepAt(fx, minute)).toBe(true);
    expect(published(fx.sns)).toHaveLength(2);
    // AND the approval in force all along kept its approval versions: the hold is just "locked"
    expect(fx.iam).not.toHaveReceivedCommandWith(AttachRolePolicyCommand, { RoleName: 'agent-approved' });

    // Minute 85 = cut + 60 min hold + 15 min lookback: open
    expect(await sweepAt(fx, 85)).toBe(false);
    expect(lastStatus(fx).traffic).toMatchObject({ active: false, liveAt: null, holdUntil: null });
    expect(published(fx.sns).at(-1)?.subject).toBe('agent-guard: account 111122223333 open');
  });

  it('a gradual decline below the threshold is not a drop: it opens when the lookback passes', async () => {
    // GIVEN 120/min until minute 10, then 4/min (under the threshold of 5) until minute 20, then none
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'open')] });
    history(fx, (minute) => (minute < at(10) ? 120 : minute < at(20) ? 4 : undefined));
    for (const minute of [0, 5, 10, 15, 20]) expect(await sweepAt(fx, minute)).toBe(true);
    // WHEN the lookback holds only the decline, and later nothing at all
    expect(await sweepAt(fx, 25)).toBe(false);
    expect(await sweepAt(fx, 40)).toBe(false);
    // THEN no hold, and no drop notice
    expect(lastStatus(fx).traffic).toMatchObject({ active: false, requestsPerMinute: 0, holdUntil: null });
    expect(published(fx.sns).map((p) => p.subject)).toEqual([
      'agent-guard: account 111122223333 locked',
      'agent-guard: account 111122223333 open',
    ]);
  });

  it('traffic that comes back ends the hold; a later drop starts a new one', async () => {
    const fx = newGuard({ roles: [] });
    // Live until 10, none until 40, live again from 40 to 50, then none
    history(fx, (minute) => (minute < at(10) || (minute >= at(40) && minute < at(50)) ? 120 : undefined));
    await sweepAt(fx, 5);
    await sweepAt(fx, 25);
    expect(lastStatus(fx).traffic.holdUntil).toBe(at(85).toISOString());
    await sweepAt(fx, 45);
    expect(lastStatus(fx).traffic).toMatchObject({ active: true, liveAt: at(45).toISOString(), holdUntil: null });
    expect(await sweepAt(fx, 65)).toBe(true);
    expect(lastStatus(fx).traffic.holdUntil).toBe(at(125).toISOString());
  });

  it('no status yet (the first run) and no traffic: no hold, the account opens', async () => {
    const fx = newGuard({ traffic: [], roles: [constrainedRole('agent-a', 'locked')] });
    expect(await sweepAt(fx, 0)).toBe(false);
    expect(lastStatus(fx).traffic.holdUntil).toBeNull();
  });

  it('a status that cannot be read: a hold starts (fail closed), bounded by the hold time', async () => {
    // GIVEN no traffic, and SSM refuses the first read only
    const fx = newGuard({ traffic: [], roles: [constrainedRole('agent-a', 'open')] });
    fx.ssm
      .on(GetParameterCommand)
      .rejectsOnce(accessDenied('no ssm'))
      .callsFake((input: GetParameterCommandInput) => fx.parameter.get(input));
    // WHEN the sweep runs THEN the account stays locked, and on-call is told why
    expect(await sweepAt(fx, 0)).toBe(true);
    expect(lastStatus(fx).traffic.holdUntil).toBe(at(60).toISOString());
    expect(published(fx.sns).at(-1)?.message).toContain('the last status could not be read (AccessDenied)');
    // AND once the status reads again, the hold ends on time
    expect(await sweepAt(fx, 55)).toBe(true);
    expect(await sweepAt(fx, 60)).toBe(false);
  });
});

describe('holdTraffic', () => {
  const quiet = (requestsPerMinute: number | null): TrafficSignal => ({
    active: requestsPerMinute === null,
    requestsPerMinute,
    thresholdPerMinute: 5,
    reason: 'measured',
    sources: [],
  });
  const live: TrafficSignal = {
    active: true,
    requestsPerMinute: 120,
    thresholdPerMinute: 5,
    reason: 'measured',
    sources: [],
  };
  const before = (memory: Partial<GuardStatus['traffic']>): PreviousStatus => ({
    readable: true,
    status: {
      traffic: { liveAt: null, holdUntil: null, ...memory },
    } as GuardStatus,
  });

  it.each<[string, boolean, boolean, TrafficSignal, PreviousStatus]>([
    ['live now', true, false, live, before({})],
    ['none now, live before', true, true, quiet(0), before({ liveAt: NOW.toISOString() })],
    ['a trickle now, live before (a decline)', false, false, quiet(3), before({ liveAt: NOW.toISOString() })],
    ['none now, quiet before', false, false, quiet(0), before({})],
    ['none now, no status yet', false, false, quiet(0), { readable: true, status: undefined }],
    ['none now, status unreadable', true, true, quiet(0), { readable: false, error: 'Throttling' }],
    ['a trickle now, hold in force', true, false, quiet(3), before({ holdUntil: at(30).toISOString() })],
    ['none now, hold ended', false, false, quiet(0), before({ holdUntil: at(-1).toISOString() })],
    ['read failed, hold in force', true, false, quiet(null), before({ holdUntil: at(30).toISOString() })],
  ])('%s: active %s, hold starts %s', (_name, active, started, measured, previous) => {
    const result = holdTraffic(measured, previous, at(0), 60);
    expect(result.signal.active).toBe(active);
    expect(result.started).toBe(started);
  });

  it('a failed read keeps what was remembered: it neither starts nor ends a hold', () => {
    const previous = before({ liveAt: at(-5).toISOString(), holdUntil: null });
    expect(holdTraffic(quiet(null), previous, at(0), 60).memory).toEqual({
      liveAt: at(-5).toISOString(),
      holdUntil: null,
    });
  });
});
