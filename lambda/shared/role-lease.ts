import { randomUUID } from 'node:crypto';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LOCK_DECISION_KEY, ROLE_LEASE_PREFIX } from '../../lib/core/contract';
import { AwsCaller, errorName } from './aws-caller';

/**
 * How long a lease holds, in seconds. Longer than one role's writes: the largest is an approval swap
 * of a full set (about 40 IAM calls of a fraction of a second each, `AwsCaller` backoff of at most 5 s
 * a retry, and the read-back polls), so a live holder is done well within it. Shorter than the
 * shortest guard schedule (1 minute), so a crashed holder's role is free again by the next sweep.
 */
export const LEASE_SECONDS = 50;
/**
 * How long to wait for a held lease, in milliseconds, in all. A live holder writes one role in a few
 * seconds; waiting out a crashed holder's lease is left to the next evaluation.
 */
export const LEASE_WAIT_MS = 15_000;
/** The first poll's ceiling; it doubles each poll, with full jitter, up to {@link LEASE_POLL_MAX_MS}. */
const LEASE_POLL_BASE_MS = 200;
const LEASE_POLL_MAX_MS = 2_000;

/** The lease item's key, one per role; the name of the lease table's partition key is `pk`. */
export function roleLeaseKey(roleName: string): string {
  return `${ROLE_LEASE_PREFIX}${roleName}`;
}

/** Another writer held the role's lease for the whole wait: nothing was written to the role. */
export class LeaseUnavailable extends Error {
  public override readonly name = 'LeaseUnavailable';
}

export interface RoleLeasesOptions {
  readonly ddb: DynamoDBDocumentClient;
  readonly caller: AwsCaller;
  readonly tableName: string;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
  /** Names each holding; @default a random UUID */
  readonly newOwner?: () => string;
  /** Told when a lease could not be released or had expired before its work ended. */
  readonly onLost?: (roleName: string, why: string) => void;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Per-role leases in a DynamoDB table: the guard and the approval function each write a role only
 * while they hold its lease, so two invocations never write one role at once. A lease is taken with
 * a conditional `PutItem` (no item, or an expired one) and released with a `DeleteItem` conditional on
 * its owner; `expiresAt` (epoch seconds) is also the table's TTL attribute, so stale leases vanish.
 */
export class RoleLeases {
  private readonly clock: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly newOwner: () => string;

  constructor(private readonly options: RoleLeasesOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.newOwner = options.newOwner ?? randomUUID;
  }

  /**
   * Runs `work` while holding `roleName`'s lease, and releases it after, whatever `work` did. Throws
   * {@link LeaseUnavailable}, without running `work`, when the lease stays held for the whole wait.
   */
  public async withRoleLease<T>(roleName: string, work: () => Promise<T>): Promise<T> {
    const owner = this.newOwner();
    const expiresAt = await this.acquire(roleName, owner);
    try {
      return await work();
    } finally {
      if (this.epochSeconds() >= expiresAt) this.options.onLost?.(roleName, 'the lease expired before its work ended');
      await this.release(roleName, owner);
    }
  }

  /**
   * Records that an evaluation decided, at `decidedAt`, to lock, unless a later lock decision is
   * recorded already. Opening a role is safe only while no later evaluation decided to lock.
   */
  public async recordLockDecision(decidedAt: Date): Promise<void> {
    try {
      await this.options.caller.call('dynamodb:PutItem', () =>
        this.options.ddb.send(
          new PutCommand({
            TableName: this.options.tableName,
            Item: { pk: LOCK_DECISION_KEY, decidedAt: decidedAt.getTime() },
            ConditionExpression: 'attribute_not_exists(pk) OR decidedAt < :at',
            ExpressionAttributeValues: { ':at': decidedAt.getTime() },
          }),
        ),
      );
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
    }
  }

  /** Whether an evaluation decided to lock after `decidedAt` (a consistent read). */
  public async lockDecidedSince(decidedAt: Date): Promise<boolean> {
    const { Item } = await this.options.caller.call('dynamodb:GetItem', () =>
      this.options.ddb.send(
        new GetCommand({ TableName: this.options.tableName, Key: { pk: LOCK_DECISION_KEY }, ConsistentRead: true }),
      ),
    );
    return typeof Item?.decidedAt === 'number' && Item.decidedAt > decidedAt.getTime();
  }

  private async acquire(roleName: string, owner: string): Promise<number> {
    let waitedMs = 0;
    for (let poll = 0; ; poll++) {
      const now = this.epochSeconds();
      const expiresAt = now + LEASE_SECONDS;
      try {
        await this.options.caller.call('dynamodb:PutItem', () =>
          this.options.ddb.send(
            new PutCommand({
              TableName: this.options.tableName,
              Item: { pk: roleLeaseKey(roleName), owner, expiresAt },
              ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
              ExpressionAttributeValues: { ':now': now },
            }),
          ),
        );
        return expiresAt;
      } catch (error) {
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      }
      if (waitedMs >= LEASE_WAIT_MS) {
        throw new LeaseUnavailable(
          `Another invocation held the lease of role ${roleName} for ${Math.round(waitedMs / 1000)} s; the role was not written.`,
        );
      }
      const ceiling = Math.min(LEASE_POLL_MAX_MS, LEASE_POLL_BASE_MS * 2 ** poll);
      const delay = Math.max(1, Math.floor(this.random() * ceiling));
      await this.sleep(delay);
      waitedMs += delay;
    }
  }

  /** Deletes the lease if this holding still owns it; a lease taken over meanwhile is left alone. */
  private async release(roleName: string, owner: string): Promise<void> {
    try {
      await this.options.caller.call('dynamodb:DeleteItem', () =>
        this.options.ddb.send(
          new DeleteCommand({
            TableName: this.options.tableName,
            Key: { pk: roleLeaseKey(roleName) },
            // OWNER is a DynamoDB reserved word.
            ConditionExpression: '#owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':owner': owner },
          }),
        ),
      );
    } catch (error) {
      // Not fatal: the lease expires by itself. Reported, since another writer may have overlapped.
      this.options.onLost?.(roleName, `the lease was not released (${errorName(error)})`);
    }
  }

  private epochSeconds(): number {
    return Math.floor(this.clock().getTime() / 1000);
  }
}
