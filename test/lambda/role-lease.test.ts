import {
  LEASE_SECONDS,
  LEASE_WAIT_MS,
  LeaseUnavailable,
  roleLeaseKey,
  RoleLeases,
} from '../../lambda/shared/role-lease';
import { AwsCaller } from '../../lambda/shared/aws-caller';
import { evaluateCondition, FakeLeaseTable } from '../support/fake-lease-table';

const NOW = new Date('2026-05-01T12:00:00.000Z');
const epoch = (date: Date) => Math.floor(date.getTime() / 1000);

/** Leases on `table`, whose clock reads `clock.now` and whose waits are recorded, not slept. */
function leases(table: FakeLeaseTable, clock: { now: Date }, owner: string, slept: number[] = []) {
  return new RoleLeases({
    ddb: table.client(),
    caller: new AwsCaller({ sleep: () => Promise.resolve() }),
    tableName: table.tableName,
    clock: () => clock.now,
    // A wait takes one turn of the event loop, so other invocations run meanwhile.
    sleep: (ms) => {
      slept.push(ms);
      return new Promise((resolve) => setImmediate(resolve));
    },
    random: () => 0.5,
    newOwner: () => owner,
  });
}

describe('the lease table fake enforces DynamoDB condition expressions (DDB-6, DDB-8)', () => {
  const item = { pk: 'role#a', owner: 'x', expiresAt: 100 };

  test.each([
    ['attribute_not_exists(pk) OR expiresAt < :now', undefined, { ':now': 50 }, true],
    ['attribute_not_exists(pk) OR expiresAt < :now', item, { ':now': 50 }, false],
    ['attribute_not_exists(pk) OR expiresAt < :now', item, { ':now': 101 }, true],
    ['attribute_not_exists(pk) OR expiresAt < :now', item, { ':now': 100 }, false],
    ['#o = :o', item, { ':o': 'x' }, true],
    ['#o = :o', item, { ':o': 'y' }, false],
    ['#o = :o', undefined, { ':o': 'x' }, false],
    ['NOT (expiresAt >= :now AND attribute_exists(pk))', item, { ':now': 100 }, false],
  ] as const)('%s on %j with %j is %s', (expression, existing, values, expected) => {
    const names = expression.includes('#o') ? { '#o': 'owner' } : {};
    expect(evaluateCondition(expression, existing, names, values)).toBe(expected);
  });

  test('a value that is not supplied, or one supplied and not used, is a ValidationException', () => {
    expect(() => evaluateCondition('expiresAt < :now', item, {}, {})).toThrow(/not defined: :now/);
    expect(() => evaluateCondition('attribute_not_exists(pk)', item, {}, { ':now': 1 })).toThrow(/unused/);
    expect(() => evaluateCondition('#o = :o', item, {}, { ':o': 'x' })).toThrow(/not defined: #o/);
  });
});

describe('RoleLeases', () => {
  test('runs the work holding the lease, and releases it after', async () => {
    const table = new FakeLeaseTable();
    const clock = { now: NOW };
    let during: Record<string, unknown> | undefined;
    const result = await leases(table, clock, 'owner-1').withRoleLease('agent', () => {
      during = table.items.get(roleLeaseKey('agent'));
      return Promise.resolve('done');
    });
    expect(result).toBe('done');
    expect(during).toEqual({ pk: 'role#agent', owner: 'owner-1', expiresAt: epoch(NOW) + LEASE_SECONDS });
    expect(table.items.size).toBe(0);
  });

  test('releases the lease when the work fails', async () => {
    const table = new FakeLeaseTable();
    const work = leases(table, { now: NOW }, 'o').withRoleLease('agent', () => Promise.reject(new Error('boom')));
    await expect(work).rejects.toThrow('boom');
    expect(table.items.size).toBe(0);
  });

  test('a second writer waits, with a bounded jittered poll, until the first releases', async () => {
    const table = new FakeLeaseTable();
    const clock = { now: NOW };
    const order: string[] = [];
    let release!: () => void;
    const first = leases(table, clock, 'first').withRoleLease('agent', async () => {
      order.push('first starts');
      await new Promise<void>((resolve) => (release = resolve));
      order.push('first ends');
    });
    const slept: number[] = [];
    const second = leases(table, clock, 'second', slept).withRoleLease('agent', () => {
      order.push('second runs');
      return Promise.resolve();
    });
    // Let the second writer fail a few polls, then let the first finish.
    while (slept.length < 3) await new Promise((resolve) => setImmediate(resolve));
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first starts', 'first ends', 'second runs']);
    // Full jitter (random 0.5) under a ceiling that doubles from 200 ms.
    expect(slept.slice(0, 3)).toEqual([100, 200, 400]);
  });

  test('a lease held for the whole wait fails the role without running the work, after bounded waits', async () => {
    const table = new FakeLeaseTable();
    const clock = { now: NOW };
    table.items.set('role#agent', { pk: 'role#agent', owner: 'other', expiresAt: epoch(NOW) + LEASE_SECONDS });
    const slept: number[] = [];
    const work = jest.fn(() => Promise.resolve());
    await expect(leases(table, clock, 'me', slept).withRoleLease('agent', work)).rejects.toBeInstanceOf(
      LeaseUnavailable,
    );
    expect(work).not.toHaveBeenCalled();
    const waited = slept.reduce((a, b) => a + b, 0);
    expect(waited).toBeGreaterThanOrEqual(LEASE_WAIT_MS);
    expect(waited).toBeLessThan(LEASE_WAIT_MS + 2000);
    expect(Math.max(...slept)).toBeLessThanOrEqual(2000);
    expect(table.items.get('role#agent')?.owner).toBe('other');
  });

  test('a crashed holder’s lease is taken over once it has expired', async () => {
    const table = new FakeLeaseTable();
    const clock = { now: NOW };
    // A holder that crashed: it never released, and its lease ran out a second ago.
    table.items.set('role#agent', { pk: 'role#agent', owner: 'crashed', expiresAt: epoch(NOW) - 1 });
    const owners: unknown[] = [];
    await leases(table, clock, 'next').withRoleLease('agent', () => {
      owners.push(table.items.get('role#agent')?.owner);
      return Promise.resolve();
    });
    expect(owners).toEqual(['next']);
  });

  test('only the owner releases: a holder whose lease was taken over leaves the new lease alone', async () => {
    const table = new FakeLeaseTable();
    const clock = { now: NOW };
    const lost: string[] = [];
    const slow = new RoleLeases({
      ddb: table.client(),
      caller: new AwsCaller({ sleep: () => Promise.resolve() }),
      tableName: table.tableName,
      clock: () => clock.now,
      newOwner: () => 'slow',
      onLost: (role, why) => lost.push(`${role}: ${why}`),
    });
    await slow.withRoleLease('agent', async () => {
      // The slow holder outlives its lease, and another writer takes the role over.
      clock.now = new Date(NOW.getTime() + (LEASE_SECONDS + 1) * 1000);
      await leases(table, clock, 'fast').withRoleLease('agent', () => {
        expect(table.items.get('role#agent')?.owner).toBe('fast');
        return Promise.resolve();
      });
      table.items.set('role#agent', { pk: 'role#agent', owner: 'third', expiresAt: epoch(clock.now) + 50 });
    });
    expect(table.items.get('role#agent')?.owner).toBe('third');
    expect(lost).toEqual([
      'agent: the lease expired before its work ended',
      'agent: the lease was not released (ConditionalCheckFailedException)',
    ]);
  });

  test('leases of different roles do not wait for each other', async () => {
    const table = new FakeLeaseTable();
    const clock = { now: NOW };
    const slept: number[] = [];
    await leases(table, clock, 'a').withRoleLease('one', () =>
      leases(table, clock, 'b', slept).withRoleLease('two', () => Promise.resolve()),
    );
    expect(slept).toEqual([]);
  });
});
