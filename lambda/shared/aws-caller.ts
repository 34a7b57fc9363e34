/** Counts of the AWS calls one caller made; reads are Get, List and Describe calls. */
export interface CallCounts {
  reads: number;
  writes: number;
  retries: number;
  failures: number;
}

export interface RetryOptions {
  /** Attempts in all, the first included. @default 5 */
  readonly attempts?: number;
  /** Backoff before the first retry; it doubles each time, with full jitter. @default 100 ms */
  readonly baseDelayMs?: number;
  /** Longest single backoff. @default 5,000 ms */
  readonly maxDelayMs?: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ConcurrentModificationException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalError',
]);

/** True for errors worth retrying: throttling, and a service that was briefly unavailable. */
export function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (typeof e.name === 'string' && THROTTLING.has(e.name)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return status === 429 || (typeof status === 'number' && status >= 500);
}

/** The error's name, for logs and decisions; `Error` when it has none. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Every AWS call of the guard goes through one caller: it retries throttling with capped exponential
 * backoff and counts calls. The SDK clients are built with `maxAttempts: 1`, so retries happen here
 * only, where tests and the benchmark can see them.
 */
export class AwsCaller {
  public readonly counts: CallCounts = { reads: 0, writes: 0, retries: 0, failures: 0 };
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: RetryOptions = {}) {
    this.attempts = options.attempts ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 5000;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
  }

  /** Runs `operation` (named `service:Action`), retrying while it throttles. */
  public async call<T>(name: string, operation: () => Promise<T>): Promise<T> {
    const isRead = /^[a-z0-9-]+:(Get|List|Describe)/.test(name);
    for (let attempt = 1; ; attempt++) {
      if (isRead) this.counts.reads++;
      else this.counts.writes++;
      try {
        return await operation();
      } catch (error) {
        if (attempt >= this.attempts || !isRetryable(error)) {
          this.counts.failures++;
          throw error;
        }
        this.counts.retries++;
        const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
        await this.sleep(Math.floor(this.random() * ceiling));
      }
    }
  }

  /** Waits `ms`, with the sleep this caller was given, so tests that inject it never wait. */
  public async pause(ms: number): Promise<void> {
    await this.sleep(ms);
  }

  /** Counts since the last reset, and starts counting again. */
  public takeCounts(): CallCounts {
    const taken = { ...this.counts };
    Object.assign(this.counts, { reads: 0, writes: 0, retries: 0, failures: 0 });
    return taken;
  }
}

/** Runs `task` on every item with at most `limit` running at once; never rejects. */
export async function settleWithLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await task(items[index]) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
