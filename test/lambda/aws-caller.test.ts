import { ThrottlingException } from '@aws-sdk/client-ssm';
import { AwsCaller, errorName, isRetryable, settleWithLimit } from '../../lambda/shared/aws-caller';
import { accessDenied, throttling } from '../support/guard-fixture';

/** An operation that fails with `errors` in turn, then resolves `value`; counts its calls. */
function flaky<T>(errors: readonly unknown[], value: T): { op: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    op: () => {
      const error = errors[calls++];
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the SDK rejects with any value
      return error === undefined ? Promise.resolve(value) : Promise.reject(error);
    },
    calls: () => calls,
  };
}

function recordingCaller(options: ConstructorParameters<typeof AwsCaller>[0] = {}): {
  caller: AwsCaller;
  sleeps: number[];
} {
  const sleeps: number[] = [];
  const caller = new AwsCaller({
    random: () => 1,
    ...options,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  return { caller, sleeps };
}

describe('isRetryable', () => {
  it.each([
    'Throttling',
    'ThrottlingException',
    'TooManyRequestsException',
    'RequestLimitExceeded',
    'ConcurrentModificationException',
    'ServiceUnavailable',
    'InternalFailure',
  ])('retries %s', (name) => {
    expect(isRetryable(Object.assign(new Error('x'), { name }))).toBe(true);
  });

  it('retries an SDK ThrottlingException instance', () => {
    expect(isRetryable(new ThrottlingException({ message: 'slow down', Message: 'slow down', $metadata: {} }))).toBe(
      true,
    );
  });

  it('retries HTTP 429 and 5xx, and errors the SDK marks retryable', () => {
    expect(isRetryable(Object.assign(new Error('x'), { name: 'Odd', $metadata: { httpStatusCode: 429 } }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('x'), { name: 'Odd', $metadata: { httpStatusCode: 503 } }))).toBe(true);
    expect(isRetryable(Object.assign(new Error('x'), { name: 'Odd', $retryable: {} }))).toBe(true);
  });

  it.each<[string, unknown]>([
    ['AccessDenied (403)', accessDenied()],
    ['NoSuchEntity (404)', Object.assign(new Error('x'), { name: 'NoSuchEntity', $metadata: { httpStatusCode: 404 } })],
    ['a plain Error', new Error('boom')],
    ['a string', 'Throttling'],
    ['null', null],
    ['undefined', undefined],
  ])('does not retry %s', (_name, error) => {
    expect(isRetryable(error)).toBe(false);
  });
});

describe('errorName', () => {
  it('names Errors by name, anything else as Error', () => {
    expect(errorName(accessDenied())).toBe('AccessDenied');
    expect(errorName('Throttling')).toBe('Error');
    expect(errorName({ name: 'Throttling' })).toBe('Error');
  });
});

describe('AwsCaller.call', () => {
  it('retries throttling with exponential backoff, then returns the result', async () => {
    // GIVEN an operation that throttles three times, and a random() of 1 so sleeps hit the ceiling
    const { caller, sleeps } = recordingCaller();
    const op = flaky([throttling(), throttling(), throttling()], 'done');
    // WHEN it is called
    const result = await caller.call('iam:TagRole', op.op);
    // THEN it succeeds on the fourth attempt after sleeping 100, 200 and 400 ms
    expect(result).toBe('done');
    expect(op.calls()).toBe(4);
    expect(sleeps).toEqual([100, 200, 400]);
    expect(caller.counts).toEqual({ reads: 0, writes: 4, retries: 3, failures: 0 });
  });

  it('caps each backoff at maxDelayMs', async () => {
    // GIVEN a low cap and many throttles
    const { caller, sleeps } = recordingCaller({ attempts: 8, baseDelayMs: 100, maxDelayMs: 300 });
    const op = flaky(
      Array.from({ length: 6 }, () => throttling()),
      'ok',
    );
    // WHEN called
    await caller.call('iam:GetRole', op.op);
    // THEN the doubling stops at the cap
    expect(sleeps).toEqual([100, 200, 300, 300, 300, 300]);
  });

  it('applies full jitter: the sleep is random() times the ceiling, floored', async () => {
    const sleeps: number[] = [];
    const caller = new AwsCaller({
      random: () => 0.5,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    });
    await caller.call('iam:GetRole', flaky([throttling(), throttling(), throttling()], 1).op);
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it('does not retry a non-retryable error', async () => {
    // GIVEN an operation that is refused
    const { caller, sleeps } = recordingCaller();
    const denied = accessDenied();
    const op = flaky([denied], 'never');
    // WHEN called
    // THEN the same error surfaces after one attempt, without sleeping
    await expect(caller.call('iam:AttachRolePolicy', op.op)).rejects.toBe(denied);
    expect(op.calls()).toBe(1);
    expect(sleeps).toEqual([]);
    expect(caller.counts).toEqual({ reads: 0, writes: 1, retries: 0, failures: 1 });
  });

  it('gives up after `attempts` and rethrows the last error', async () => {
    // GIVEN an operation that always throttles, and 3 attempts
    const { caller, sleeps } = recordingCaller({ attempts: 3 });
    const errors = [throttling('one'), throttling('two'), throttling('three'), throttling('four')];
    const op = flaky(errors, 'never');
    // WHEN called
    // THEN it stops after 3 attempts with the third error
    await expect(caller.call('ssm:GetParameter', op.op)).rejects.toBe(errors[2]);
    expect(op.calls()).toBe(3);
    expect(sleeps).toHaveLength(2);
    expect(caller.counts).toEqual({ reads: 3, writes: 0, retries: 2, failures: 1 });
  });

  it('uses 5 attempts by default', async () => {
    const { caller } = recordingCaller();
    const op = flaky(
      Array.from({ length: 10 }, () => throttling()),
      'never',
    );
    await expect(caller.call('iam:TagRole', op.op)).rejects.toThrow('Rate exceeded');
    expect(op.calls()).toBe(5);
  });

  it('counts Get, List and Describe calls as reads and everything else as writes', async () => {
    // GIVEN a caller
    const { caller } = recordingCaller();
    const ok = () => Promise.resolve(true);
    // WHEN it makes reads and writes
    await caller.call('iam:GetRole', ok);
    await caller.call('iam:ListAttachedRolePolicies', ok);
    await caller.call('ec2:DescribeInstances', ok);
    await caller.call('organizations:ListTagsForResource', ok);
    await caller.call('iam:TagRole', ok);
    await caller.call('sns:Publish', ok);
    await caller.call('ssm:PutParameter', ok);
    // "Get" must start the action name: this one is a write
    await caller.call('iam:UpdateAssumeRolePolicy', ok);
    // THEN
    expect(caller.counts).toEqual({ reads: 4, writes: 4, retries: 0, failures: 0 });
  });

  it('takeCounts returns the counts and starts again from zero', async () => {
    const { caller } = recordingCaller();
    await caller.call('iam:GetRole', flaky([throttling()], 1).op);
    expect(caller.takeCounts()).toEqual({ reads: 2, writes: 0, retries: 1, failures: 0 });
    expect(caller.takeCounts()).toEqual({ reads: 0, writes: 0, retries: 0, failures: 0 });
    await caller.call('sns:Publish', () => Promise.resolve(1));
    expect(caller.takeCounts()).toEqual({ reads: 0, writes: 1, retries: 0, failures: 0 });
  });
});

describe('settleWithLimit', () => {
  /** A task that records how many run at once, and yields a few times before finishing. */
  function tracked(): { task: (n: number) => Promise<number>; peak: () => number; started: number[] } {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    return {
      task: async (n: number) => {
        started.push(n);
        running++;
        peak = Math.max(peak, running);
        for (let i = 0; i < (n % 5) + 1; i++) await new Promise<void>((resolve) => setImmediate(resolve));
        running--;
        if (n % 7 === 3) throw new Error(`task ${n} failed`);
        return n * 2;
      },
      peak: () => peak,
      started,
    };
  }

  it.each([1, 3, 8, 64])('never runs more than %i tasks at once, and runs every task once', async (limit) => {
    // GIVEN 100 tasks of varying length, some of which fail
    const items = Array.from({ length: 100 }, (_, i) => i);
    const t = tracked();
    // WHEN settled with a limit
    const results = await settleWithLimit(items, limit, t.task);
    // THEN concurrency stayed at the limit, and reached it
    expect(t.peak()).toBe(Math.min(limit, items.length));
    expect([...t.started].sort((a, b) => a - b)).toEqual(items);
    // AND the results line up with the items, failures as rejections
    expect(results).toHaveLength(100);
    results.forEach((result, i) => {
      if (i % 7 === 3) {
        expect(result).toEqual({ status: 'rejected', reason: new Error(`task ${i} failed`) });
      } else {
        expect(result).toEqual({ status: 'fulfilled', value: i * 2 });
      }
    });
  });

  it('resolves to an empty list for no items without calling the task', async () => {
    const task = jest.fn((n: number) => Promise.resolve(n));
    await expect(settleWithLimit([], 8, task)).resolves.toEqual([]);
    expect(task).not.toHaveBeenCalled();
  });

  it('never rejects, even when a task throws synchronously', async () => {
    const results = await settleWithLimit([1, 2], 2, (n) => {
      if (n === 1) throw new Error('sync');
      return Promise.resolve(n);
    });
    expect(results).toEqual([
      { status: 'rejected', reason: new Error('sync') },
      { status: 'fulfilled', value: 2 },
    ]);
  });
});
