import { IAMClient } from '@aws-sdk/client-iam';
import { FakeIam } from './fake-iam';

/** One IAM write: when it started and ended (sequence numbers), by whom, to which role. */
interface WriteSpan {
  readonly writer: string;
  readonly role: string;
  readonly command: string;
  readonly start: number;
  end: number;
}

/** Role writes, by command name: the calls whose spans the overlap detector compares. */
const ROLE_WRITE = /^(Tag|Untag|Attach|Detach|PutRole|Update)/;

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * One IAM account (a `FakeIam`, which holds the state, answers every call and enforces IAM's documented
 * limits) that several invocations (the guard's and the approval function's) reach through their own
 * clients, each named as a writer. Every call takes a turn of the event loop before and after it
 * applies, so calls of concurrent invocations interleave as they would against IAM.
 *
 * Its overlap detector is the test's oracle for "two invocations never write one role at once": for
 * each role, each writer's writes span from the start of its first to the end of its last; two
 * writers' spans on one role must not intersect.
 */
export class SharedIamAccount {
  public readonly iam = new FakeIam();
  public readonly writes: WriteSpan[] = [];
  /** Awaited before each call applies; replace to hold one writer's call while others run. */
  public hold: (writer: string, command: string, input: Record<string, unknown>) => Promise<void> = () =>
    Promise.resolve();
  private seq = 0;

  /** An IAM client whose writes are recorded as `writer`'s. */
  public client(writer: string): IAMClient {
    return { send: (command: unknown) => this.send(writer, command) } as unknown as IAMClient;
  }

  /** Pairs of writers whose writes to one role overlapped in time, as `role: a [s-e] / b [s-e]`. */
  public overlaps(): string[] {
    const spans = new Map<string, { writer: string; start: number; end: number }>();
    for (const w of this.writes) {
      const key = `${w.role}\u0000${w.writer}`;
      const span = spans.get(key);
      spans.set(
        key,
        span ? { ...span, end: Math.max(span.end, w.end) } : { writer: w.writer, start: w.start, end: w.end },
      );
    }
    const found: string[] = [];
    const list = [...spans].map(([key, span]) => ({ role: key.split('\u0000')[0], ...span }));
    for (const [i, a] of list.entries()) {
      for (const b of list.slice(i + 1)) {
        if (a.role === b.role && a.start < b.end && b.start < a.end) {
          found.push(`${a.role}: ${a.writer} [${a.start}-${a.end}] / ${b.writer} [${b.start}-${b.end}]`);
        }
      }
    }
    return found;
  }

  private async send(writer: string, command: unknown): Promise<unknown> {
    const name = (command as object).constructor.name.replace(/Command$/, '');
    const input = (command as { input: { RoleName?: string } }).input;
    const span: WriteSpan | undefined =
      ROLE_WRITE.test(name) && input.RoleName !== undefined
        ? { writer, role: input.RoleName, command: name, start: ++this.seq, end: 0 }
        : undefined;
    await tick();
    await this.hold(writer, name, input);
    try {
      return { $metadata: { httpStatusCode: 200 }, ...(this.iam.send(command) as object) };
    } finally {
      await tick();
      if (span) {
        span.end = ++this.seq;
        this.writes.push(span);
      }
    }
  }
}
