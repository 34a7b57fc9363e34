/**
 * Two invocations that write one role: the guard's and the approval function's run concurrently now
 * that neither reserves a concurrency of 1. Each writes a role only under its lease
 * (lambda/shared/role-lease.ts); the oracle is the shared IAM account's overlap detector, which knows
 * nothing of leases: it fails whenever two writers' writes to one role overlap in time.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  AGENT_TAG,
  APPROVAL_TAG,
  parseApprovalPolicyArn,
  STATE_LOCKED,
  STATE_OPEN,
  STATE_TAG,
} from '../../lib/core/contract';
import { FunctionUrlEvent, HttpResult, route } from '../../lambda/approvals/handler';
import { ApprovalService } from '../../lambda/approvals/service';
import { AwsCaller } from '../../lambda/shared/aws-caller';
import { RoleLeases } from '../../lambda/shared/role-lease';
import {
  ADMIN_POLICY_ARN,
  ALICE,
  approvalsConfig,
  approveBody,
  CATALOG,
  FakeEvents,
  FakeScheduler,
  FakeSns,
  FakeTable,
  FUNCTION_ARN,
  GUARD_POLICY_ARNS,
  GUARD_POLICY_DIGEST,
} from '../support/approvals-fixture';
import { FakeIam } from '../support/fake-iam';
import { FakeLeaseTable } from '../support/fake-lease-table';
import {
  BOUNDARY_ARN,
  newGuard,
  NOW,
  roleChangedEvent,
  scheduledEvent,
  TOPIC_ARN,
  trustPolicy,
} from '../support/guard-fixture';
import { SharedIamAccount } from '../support/shared-iam-account';

const LIVE = [120, 140, 130];
const NONE = [0, 0, 0];
/** Lease waits in real time, 100 times shorter: the budget of 15 s is 150 ms. */
const scaledSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms / 100));

function guardOn(account: SharedIamAccount, leaseTable: FakeLeaseTable, writer: string, traffic: number[]) {
  // The guard attaches the standard policies the approval function swaps (the compiled set), and the
  // construct gives both functions the same digest of them.
  const config = { guardPolicyArns: [...GUARD_POLICY_ARNS], guardPolicyDigest: GUARD_POLICY_DIGEST };
  return newGuard({ iamClient: account.client(writer), leaseTable, traffic, leaseSleep: scaledSleep, config });
}

/** An account with the guard's boundary and policies, which the guard puts on agent roles. */
function newAccount(): SharedIamAccount {
  const account = new SharedIamAccount();
  for (const arn of [...GUARD_POLICY_ARNS, BOUNDARY_ARN]) account.iam.addPolicy(arn);
  return account;
}

/** A role that the account may assume, as a role is before the guard touches its trust policy. */
function addRole(account: SharedIamAccount, name: string, options: Parameters<FakeIam['addRole']>[1] = {}) {
  return account.iam.addRole(name, { trustPolicy: trustPolicy(false), ...options });
}

/** Holds the first call it is shown until `release()`; later calls pass. */
function gate() {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  const state = {
    holding: false,
    release: () => release(),
    pass: async (hold: boolean) => {
      if (!hold || state.holding) return;
      state.holding = true;
      await opened;
    },
  };
  return state;
}

/** Two evaluations on one constrained, locked agent role: `first` sees no traffic, `later` sees live traffic a second later. */
function lockedRoleAndTwoGuards(first: string, later: string) {
  const account = newAccount();
  addRole(account, 'agent', { tags: { [AGENT_TAG]: 'true', [STATE_TAG]: STATE_LOCKED }, ...constrained });
  const leaseTable = new FakeLeaseTable();
  const opener = guardOn(account, leaseTable, first, NONE);
  const locker = guardOn(account, leaseTable, later, LIVE);
  locker.now.value = new Date(NOW.getTime() + 1000);
  return { account, leaseTable, opener, locker };
}

async function until(condition: () => boolean): Promise<void> {
  for (let turn = 0; !condition(); turn++) {
    if (turn > 10_000) throw new Error('the condition never held');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const constrained = { boundary: BOUNDARY_ARN, policies: [...GUARD_POLICY_ARNS], trustPolicy: trustPolicy(true) };

describe('two guard evaluations never write one role at once', () => {
  test('a sweep that decides to open and a later role event that decides to lock: no overlap, the role ends locked', async () => {
    // GIVEN a new agent role: both evaluations have writes to make (boundary, policies, trust, state)
    const account = newAccount();
    addRole(account, 'agent', { tags: { [AGENT_TAG]: 'true' } });
    const leaseTable = new FakeLeaseTable();
    const sweep = guardOn(account, leaseTable, 'sweep', NONE);
    const event = guardOn(account, leaseTable, 'event', LIVE);
    event.now.value = new Date(NOW.getTime() + 1000);

    // WHEN the sweep has started writing the role, traffic starts and a role event is evaluated
    const sweeping = sweep.guard.handle(scheduledEvent());
    await until(() => account.writes.some((w) => w.writer === 'sweep'));
    const reacting = event.guard.handle(roleChangedEvent('TagRole', 'agent'));
    const [swept, reacted] = await Promise.all([sweeping, reacting]);

    // THEN their writes to the role never overlap, nothing failed, and the later decision (lock) stands
    expect(account.overlaps()).toEqual([]);
    expect([swept.rolesFailed, reacted.rolesFailed]).toEqual([0, 0]);
    const role = account.iam.role('agent');
    expect(role.tags.get(STATE_TAG)).toBe(STATE_LOCKED);
    expect(role.boundary).toBe(BOUNDARY_ARN);
    expect(role.attached).toEqual([...GUARD_POLICY_ARNS]);
    expect(leaseTable.items.has('role#agent')).toBe(false);
  });

  test('an evaluation that decided to open before another decided to lock does not open the role after it', async () => {
    // GIVEN a constrained, locked agent role, and the sweep's first lease request held until the event is done
    const { account, leaseTable, opener: sweep, locker: event } = lockedRoleAndTwoGuards('sweep', 'event');
    const held = gate();
    leaseTable.delay = (command, pk) => held.pass(command === 'Put' && pk === 'role#agent');

    // WHEN the sweep decides to open (no traffic), then traffic starts and a role event decides to lock
    const sweeping = sweep.guard.handle(scheduledEvent());
    await until(() => held.holding);
    await event.guard.handle(roleChangedEvent('TagRole', 'agent'));
    held.release();
    await sweeping;

    // THEN the sweep, overtaken by a later lock decision, leaves the role locked
    expect(account.iam.role('agent').tags.get(STATE_TAG)).toBe(STATE_LOCKED);
    expect(account.writes.filter((w) => w.command === 'TagRole' && w.writer === 'sweep')).toEqual([]);
    expect(account.overlaps()).toEqual([]);
  });

  test('an evaluation that opened a role just as a later one decided to lock (and skipped it) locks it again', async () => {
    // GIVEN a constrained, locked agent role, and the opener's TagRole (open) held until the later sweep is done
    const { account, opener, locker } = lockedRoleAndTwoGuards('opener', 'locker');
    const held = gate();
    account.hold = (writer, command) => held.pass(writer === 'opener' && command === 'TagRole');

    // WHEN the opener has checked for later lock decisions and is writing "open", a later sweep decides to
    // lock, reads the role (still locked) and so leaves it alone
    const opening = opener.guard.handle(scheduledEvent());
    await until(() => held.holding);
    const locked = await locker.guard.handle(scheduledEvent());
    expect(locked.rolesChanged).toBe(0);
    held.release();
    await opening;

    // THEN the opener, seeing the later lock decision after its write, locks the role again
    expect(account.iam.role('agent').tags.get(STATE_TAG)).toBe(STATE_LOCKED);
    expect(account.overlaps()).toEqual([]);
  });

  test('a role whose lease another writer keeps is reported failed and not written', async () => {
    const account = newAccount();
    addRole(account, 'agent', { tags: { [AGENT_TAG]: 'true' } });
    const leaseTable = new FakeLeaseTable();
    const epoch = Math.floor(NOW.getTime() / 1000);
    leaseTable.items.set('role#agent', { pk: 'role#agent', owner: 'someone', expiresAt: epoch + 30 });
    const sweep = guardOn(account, leaseTable, 'sweep', LIVE);

    const summary = await sweep.guard.handle(scheduledEvent());

    expect(summary.rolesFailed).toBe(1);
    expect(account.writes).toEqual([]);
  });

  test('a crashed holder’s expired lease is taken over and the role written', async () => {
    const account = newAccount();
    addRole(account, 'agent', { tags: { [AGENT_TAG]: 'true' } });
    const leaseTable = new FakeLeaseTable();
    const epoch = Math.floor(NOW.getTime() / 1000);
    leaseTable.items.set('role#agent', { pk: 'role#agent', owner: 'crashed', expiresAt: epoch - 1 });
    const sweep = guardOn(account, leaseTable, 'sweep', LIVE);

    const summary = await sweep.guard.handle(scheduledEvent());

    expect(sweep.logger.entries.filter((e) => e.level === 'error')).toEqual([]);
    expect(summary.rolesFailed).toBe(0);
    expect(account.iam.role('agent').tags.get(STATE_TAG)).toBe(STATE_LOCKED);
    expect(leaseTable.items.has('role#agent')).toBe(false);
  });
});

describe('an approval swap and a guard sweep never write one role at once', () => {
  test('the sweep locks the role after the swap, and the approval stays in force', async () => {
    // GIVEN a constrained agent role, open, and on-call Alice
    const account = newAccount();
    addRole(account, 'agent', {
      tags: { [AGENT_TAG]: 'true', [STATE_TAG]: STATE_OPEN },
      ...constrained,
      policies: [ADMIN_POLICY_ARN, ...GUARD_POLICY_ARNS],
    });
    addRole(account, 'OnCallAlice', { policies: [ADMIN_POLICY_ARN] });
    const leaseTable = new FakeLeaseTable();
    const config = approvalsConfig();
    const caller = new AwsCaller({ sleep: () => Promise.resolve() });
    const table = new FakeTable(config.tableName);
    const fake = (target: { send(command: unknown): unknown }) => ({
      send: (command: unknown) => Promise.resolve({ $metadata: {}, ...(target.send(command) as object) }),
    });
    const service = new ApprovalService({
      config,
      catalog: CATALOG,
      iam: account.client('approvals'),
      ddb: fake(table) as unknown as DynamoDBDocumentClient,
      scheduler: fake(new FakeScheduler()) as never,
      events: fake(new FakeEvents()) as never,
      sns: fake(new FakeSns(TOPIC_ARN)) as never,
      caller,
      leases: new RoleLeases({
        ddb: leaseTable.client(),
        caller,
        tableName: config.leaseTableName,
        clock: () => NOW,
        sleep: scaledSleep,
      }),
      functionArn: FUNCTION_ARN,
      clock: () => NOW,
    });
    const sweep = guardOn(account, leaseTable, 'sweep', LIVE);
    const approve: FunctionUrlEvent = {
      body: JSON.stringify(approveBody()),
      requestContext: { http: { method: 'POST' }, authorizer: { iam: { userArn: ALICE } } },
    };

    // WHEN on-call approves, and the guard sweeps (live traffic: lock) once the swap has begun
    const approving = route(service, approve) as Promise<HttpResult>;
    await until(() => account.writes.some((w) => w.writer === 'approvals'));
    const [reply, swept] = await Promise.all([approving, sweep.guard.handle(scheduledEvent())]);

    // THEN no writes overlap, the approval is in force on a locked role, and nothing failed
    expect(account.overlaps()).toEqual([]);
    expect(reply.statusCode).toBe(200);
    expect(swept.rolesFailed).toBe(0);
    const role = account.iam.role('agent');
    expect(role.tags.get(STATE_TAG)).toBe(STATE_LOCKED);
    const setId = role.tags.get(APPROVAL_TAG);
    expect(setId).toBeDefined();
    // Its versions stand in for the standard policies they name; the rest of the standard set stays.
    const versions = role.attached.filter((a) => parseApprovalPolicyArn(a)?.setId === setId);
    expect(versions.length).toBeGreaterThan(0);
    const replaced = versions.map((a) => `/AgentGuardDeny${parseApprovalPolicyArn(a)!.replaces}`);
    expect(role.attached.filter((a) => GUARD_POLICY_ARNS.includes(a))).toEqual(
      GUARD_POLICY_ARNS.filter((a) => !replaced.some((end) => a.endsWith(end))),
    );
  });
});
