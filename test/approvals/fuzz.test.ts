import * as fc from 'fast-check';
import { approvalPolicySet } from '../../lib/core/approval/approval-policies';
import { ApprovalRecord, apiRequestSchema, roleNameOf } from '../../lib/core/approval-api';
import { HttpResult } from '../../lambda/approvals/handler';
import {
  AGENT,
  AGENT_ARN,
  AGENT_SESSION,
  ALICE,
  ApprovalsFixture,
  approveBody,
  BOB,
  CATALOG,
  CROSS_ACCOUNT_ONCALL,
  DEVELOPER,
  expectNoLockViolations,
  GUARD_POLICY_ARNS,
  GUARD_POLICY_DIGEST,
  INSTANCE_ARN,
  iso,
  newFixture,
  NOW,
  OTHER_AGENT,
  OTHER_AGENT_ARN,
  plus,
  roleArn,
  USER_ALICE,
  USER_MALLORY,
} from '../support/approvals-fixture';
import { pendingRequestFields } from '../support/approval-records';

afterEach(expectNoLockViolations);

const APPROVERS = [ALICE, BOB, USER_ALICE];
const ANY_CALLER: (string | null)[] = [
  ...APPROVERS,
  AGENT_SESSION,
  DEVELOPER,
  USER_MALLORY,
  CROSS_ACCOUNT_ONCALL,
  null,
  'not-an-arn',
];
/** Approvers half the time, so that valid approvals are common. */
const caller: fc.Arbitrary<string | null> = fc.oneof(fc.constantFrom(...APPROVERS), fc.constantFrom(...ANY_CALLER));

/** Role ARNs worth trying: both agents, roles that are no agent, one that does not exist, and paths with no name. */
const ROLE_ARNS = [
  AGENT_ARN,
  OTHER_AGENT_ARN,
  roleArn('OnCallAlice'),
  roleArn('Developer'),
  roleArn('ghost'),
  'arn:aws:iam::111122223333:role/',
  'arn:aws:iam::111122223333:role/team/',
];

/** Values worth trying in any field, next to arbitrary ones. */
const INTERESTING: unknown[] = [
  'approve',
  'request',
  'approve-pending',
  'revoke',
  'list',
  'expire',
  'reconcile',
  '',
  ' ',
  '*',
  ['*'],
  ['ec2:*'],
  ['ec2:Terminate*'],
  ['dns-delete'],
  ['protection-off'],
  ['s3:DeleteBucket', 'rds:DeleteDBInstance'],
  ['ec2:DescribeInstances'],
  [INSTANCE_ARN],
  ['arn:aws:s3:::*'],
  [INSTANCE_ARN, '*'],
  ...ROLE_ARNS,
  `arn:aws:iam::111122223333:role/${'a'.repeat(65)}`,
  'arn:aws:iam::444455556666:role/agent',
  0,
  -1,
  1,
  2,
  59,
  60,
  900,
  901,
  3600,
  3601,
  31 * 86400,
  31 * 86400 + 1,
  1.5,
  true,
  false,
  null,
  'seedactive1',
  'seedpending1',
  'id000001',
  {},
  [],
];

const KEYS = [
  'op',
  'roleArn',
  'actions',
  'resources',
  'durationSeconds',
  'reason',
  'ticket',
  'uses',
  'breakGlass',
  'approvalId',
  'includeEnded',
  'extra',
];

const VALID_BODIES: Record<string, unknown>[] = [
  approveBody(),
  approveBody({ breakGlass: true, durationSeconds: 600 }),
  approveBody({ uses: 1, actions: ['ec2:Terminate*'] }),
  { ...approveBody(), op: 'request' },
  { op: 'approve-pending', approvalId: 'seedpending1' },
  { op: 'revoke', approvalId: 'seedactive1', reason: 'done' },
  { op: 'list', includeEnded: true },
];

type Mutation = { kind: 'set'; key: string; value: unknown } | { kind: 'delete'; key: string };

/** Values that are nearly right for one field: where the rules are. */
const NEAR: Record<string, unknown[]> = {
  op: ['approve', 'request', 'approve-pending', 'revoke', 'list', 'expire', 'reconcile', 'Approve'],
  roleArn: [
    ...ROLE_ARNS,
    'arn:aws:iam::111122223333:role//agent',
    'arn:aws:iam::111122223333:role/team/agent',
    `arn:aws:iam::111122223333:role/${'a'.repeat(64)}`,
    `arn:aws:iam::111122223333:role/${'a'.repeat(65)}`,
    'arn:aws:iam::444455556666:role/agent',
    'arn:aws-cn:iam::111122223333:role/agent',
    USER_ALICE,
  ],
  actions: [
    ['*'],
    ['ec2:*'],
    ['ec2:Terminate*'],
    ['ec2:terminateinstances'],
    ['dns-delete'],
    ['protection-off'],
    ['s3:DeleteBucket', 'rds:DeleteDBInstance'],
    ['ec2:DescribeInstances'],
    ['sts:AssumeRole'],
    ['iam:*'],
    [],
  ],
  resources: [
    ['*'],
    [INSTANCE_ARN],
    ['arn:aws:s3:::*'],
    [INSTANCE_ARN, '*'],
    ['arn:aws:ec2:*:*:instance/*'],
    ['arn:*:*:*:*:*'],
    ['arn:aws:ec2:us-east-1:111122223333:instance/i 1'],
    [INSTANCE_ARN, INSTANCE_ARN],
    [],
  ],
  durationSeconds: [0, -1, 1, 59, 60, 600, 900, 901, 3600, 3601, 31 * 86400, 31 * 86400 + 1, 1.5, '1800'],
  reason: ['', ' ', '\n', 'x', 'x'.repeat(1000), 'x'.repeat(1001)],
  ticket: ['', 'OPS-1', 'x'.repeat(128), 'x'.repeat(129)],
  uses: [0, 1, 2, '1'],
  breakGlass: [true, false, 'true', 1],
  approvalId: ['seedactive1', 'seedpending1', 'id000001', 'short', 'SEEDACTIVE1', 'x'.repeat(33)],
  includeEnded: [true, false, 'yes'],
  extra: [1, 'x', { op: 'approve' }],
};

const mutation: fc.Arbitrary<Mutation> = fc.constantFrom(...KEYS).chain((key) =>
  fc.oneof(
    {
      arbitrary: fc
        .oneof(
          { arbitrary: fc.constantFrom(...NEAR[key]), weight: 4 },
          { arbitrary: fc.constantFrom(...INTERESTING), weight: 1 },
          { arbitrary: fc.anything(), weight: 1 },
        )
        .map((value): Mutation => ({ kind: 'set', key, value })),
      weight: 4,
    },
    { arbitrary: fc.constant<Mutation>({ kind: 'delete', key }), weight: 1 },
  ),
);

function mutate(body: Record<string, unknown>, mutations: readonly Mutation[]): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...body };
  for (const m of mutations) {
    if (m.kind === 'set') copy[m.key] = m.value;
    else delete copy[m.key];
  }
  return copy;
}

/** A body as the function URL would deliver it: JSON text, or any text at all. */
const rawBody: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc.anything().map((v) => {
      try {
        return JSON.stringify(v) ?? '';
      } catch {
        return '';
      }
    }),
    weight: 1,
  },
  { arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)), weight: 1 },
  { arbitrary: fc.string(), weight: 1 },
  {
    arbitrary: fc
      .tuple(fc.constantFrom(...VALID_BODIES), fc.array(mutation, { minLength: 0, maxLength: 3 }))
      .map(([body, mutations]) => JSON.stringify(mutate(body, mutations))),
    weight: 4,
  },
);

/** The approval in force and the pending request the populated account starts with. */
const ACTIVE: ApprovalRecord = {
  approvalId: 'seedactive1',
  kind: 'approval',
  status: 'active',
  roleArn: AGENT_ARN,
  requestedActions: ['ec2:TerminateInstances'],
  actions: ['ec2:TerminateInstances'],
  resources: [INSTANCE_ARN],
  durationSeconds: 1800,
  reason: 'seeded',
  requestedBy: ALICE,
  approvers: [ALICE],
  requiredApprovals: 1,
  createdAt: iso(NOW),
  activatedAt: iso(NOW),
  expiresAt: iso(plus(NOW, 1800)),
  policySetId: 'seedset1',
  sortAt: iso(plus(NOW, 1800)),
  ttl: 2000000000,
  history: [{ at: iso(NOW), by: ALICE, what: 'in force' }],
};
const PENDING: ApprovalRecord = {
  ...ACTIVE,
  approvalId: 'seedpending1',
  ...pendingRequestFields(AGENT_SESSION, iso(plus(NOW, 3600))),
  history: [{ at: iso(NOW), by: AGENT_SESSION, what: 'requested' }],
};
const SEED_POLICIES = approvalPolicySet(
  CATALOG,
  'seedset1',
  [
    {
      id: ACTIVE.approvalId,
      actions: ACTIVE.actions,
      resources: ACTIVE.resources,
      expiresAt: new Date(ACTIVE.expiresAt!),
    },
  ],
  GUARD_POLICY_DIGEST,
);

function populated(): ApprovalsFixture {
  const fx = newFixture();
  fx.seedApprovalSet(AGENT, SEED_POLICIES, { tag: 'seedset1', detach: GUARD_POLICY_ARNS });
  fx.seedRecord(ACTIVE);
  fx.seedRecord(PENDING);
  return fx;
}

/**
 * Sends `body` as `caller`; checks the reply is a well-formed 200, 400 or 403, that a refusal wrote
 * nothing, and returns whether IAM changed and what the body parsed to.
 */
async function send(
  fx: ApprovalsFixture,
  body: string,
  caller: string | null,
): Promise<{ statusCode: number; iamChanged: boolean; op: string | undefined }> {
  const result = (await fx.invoke(fx.urlEvent(body, caller, { raw: true }))) as HttpResult;
  expect([200, 400, 403]).toContain(result.statusCode);
  const reply = JSON.parse(result.body) as { ok: boolean; message: string };
  expect(reply.ok).toBe(result.statusCode === 200);
  expect(typeof reply.message).toBe('string');
  if (result.statusCode !== 200) {
    // refusals and bad input write nothing (a request that lapses on approval is the one exception)
    const writes = fx
      .writes()
      .filter((c) => !(c.command === 'Put' && c.input.Item && (c.input.Item as ApprovalRecord).status === 'lapsed'));
    expect(writes.filter((c) => c.command !== 'Publish')).toEqual([]);
  }
  const iamChanged = fx.writes('iam').some((c) => !c.error);
  let op: string | undefined;
  try {
    const parsed = apiRequestSchema.safeParse(JSON.parse(body));
    op = parsed.success ? parsed.data.op : undefined;
  } catch {
    op = undefined;
  }
  return { statusCode: result.statusCode, iamChanged, op };
}

/** Every agent role of the fixture account. */
const AGENT_ROLES = [AGENT, OTHER_AGENT];

describe('random bodies and callers', () => {
  test('on a fresh account: IAM changes only for a valid approve from an approver, and nothing throws', async () => {
    let approved = 0;
    await fc.assert(
      fc.asyncProperty(rawBody, caller, async (body, signer) => {
        const fx = newFixture();
        const { statusCode, iamChanged, op } = await send(fx, body, signer);
        if (iamChanged) {
          approved++;
          expect(statusCode).toBe(200);
          expect(op).toBe('approve');
          expect(APPROVERS).toContain(signer);
          const active = [...fx.table.items.values()].filter((r) => r.status === 'active');
          expect(active).toHaveLength(1);
          // The approved role holds the new set; every other agent role keeps the standard policies.
          const approvedRole = roleNameOf(active[0].roleArn);
          expect(fx.setsOn(approvedRole)).toEqual([active[0].policySetId]);
          for (const other of AGENT_ROLES.filter((name) => name !== approvedRole)) {
            expect(fx.isStandard(other)).toBe(true);
          }
        } else {
          for (const name of AGENT_ROLES) expect(fx.isStandard(name)).toBe(true);
        }
        expect(fx.violations).toEqual([]);
      }),
      { numRuns: 300 },
    );
    console.log(`fuzz (fresh account): ${approved} of 300 random calls approved`);
  });

  test('on an account with an approval in force and a request pending: IAM changes only for an approver', async () => {
    await fc.assert(
      fc.asyncProperty(rawBody, caller, async (body, signer) => {
        const fx = populated();
        const { statusCode, iamChanged, op } = await send(fx, body, signer);
        if (iamChanged) {
          expect(statusCode).toBe(200);
          expect(['approve', 'approve-pending', 'revoke']).toContain(op);
          expect(APPROVERS).toContain(signer);
        } else {
          expect(fx.setsOn()).toEqual(['seedset1']);
          expect(fx.record('seedactive1').status).toBe('active');
        }
        // whatever happened, each agent role holds the one set its active records name, or the standard ones
        for (const role of [AGENT_ARN, OTHER_AGENT_ARN]) {
          const name = role.split('/').pop();
          const active = [...fx.table.items.values()].filter((r) => r.status === 'active' && r.roleArn === role);
          if (active.length === 0) expect(fx.isStandard(name)).toBe(true);
          else for (const r of active) expect(fx.setsOn(name)).toEqual([r.policySetId]);
        }
        expect(fx.violations).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  test('an agent never changes IAM, whatever it sends', async () => {
    await fc.assert(
      fc.asyncProperty(rawBody, async (body) => {
        const fx = populated();
        const { iamChanged } = await send(fx, body, AGENT_SESSION);
        expect(iamChanged).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
});

type Step =
  | { kind: 'approve'; resource: number; action: number; duration: number; uses: boolean; by: number }
  | { kind: 'request'; resource: number; duration: number }
  | { kind: 'approve-pending'; pick: number; by: number }
  | { kind: 'revoke'; pick: number; by: number }
  | { kind: 'advance'; seconds: number }
  | { kind: 'fire' }
  | { kind: 'use' }
  | { kind: 'reconcile' };

const STEP_ACTIONS = ['ec2:TerminateInstances', 'rds:DeleteDBInstance', 'ec2:Terminate*'];
const STEP_RESOURCES = [INSTANCE_ARN, 'arn:aws:rds:us-east-1:111122223333:db:orders', 'arn:aws:ec2:*:*:instance/*'];

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('approve' as const),
      resource: fc.nat(2),
      action: fc.nat(2),
      duration: fc.constantFrom(120, 600, 1800),
      uses: fc.boolean(),
      by: fc.nat(2),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('request' as const),
      resource: fc.nat(2),
      duration: fc.constantFrom(120, 600),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('approve-pending' as const), pick: fc.nat(9), by: fc.nat(2) }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant('revoke' as const), pick: fc.nat(9), by: fc.nat(2) }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant('advance' as const), seconds: fc.constantFrom(30, 300, 900, 2000, 4000) }),
    weight: 2,
  },
  { arbitrary: fc.constant<Step>({ kind: 'fire' }), weight: 2 },
  { arbitrary: fc.constant<Step>({ kind: 'use' }), weight: 1 },
  { arbitrary: fc.constant<Step>({ kind: 'reconcile' }), weight: 1 },
);

async function run(fx: ApprovalsFixture, s: Step, ids: string[]): Promise<void> {
  const pick = (n: number) => ids[n % Math.max(ids.length, 1)] ?? 'nosuchid1';
  const remember = (reply: { body: { ok: boolean; approvals?: ApprovalRecord[] } }) => {
    if (reply.body.ok)
      for (const a of reply.body.approvals ?? []) if (!ids.includes(a.approvalId)) ids.push(a.approvalId);
  };
  switch (s.kind) {
    case 'approve':
      remember(
        await fx.call(
          approveBody({
            actions: [STEP_ACTIONS[s.action]],
            resources: [STEP_RESOURCES[s.resource]],
            durationSeconds: s.duration,
            ...(s.uses ? { uses: 1 } : {}),
          }),
          APPROVERS[s.by],
        ),
      );
      return;
    case 'request':
      remember(
        await fx.call(
          { ...approveBody({ resources: [STEP_RESOURCES[s.resource]], durationSeconds: s.duration }), op: 'request' },
          AGENT_SESSION,
        ),
      );
      return;
    case 'approve-pending':
      await fx.call({ op: 'approve-pending', approvalId: pick(s.pick) }, APPROVERS[s.by]);
      return;
    case 'revoke':
      await fx.call({ op: 'revoke', approvalId: pick(s.pick) }, APPROVERS[s.by]);
      return;
    case 'advance':
      fx.advance(s.seconds);
      return;
    case 'fire':
      // Scheduler runs every one-shot schedule that is due
      for (const [key, schedule] of [...fx.scheduler.schedules]) {
        const at = /^at\((.*)\)$/.exec(schedule.ScheduleExpression ?? '')![1];
        if (new Date(`${at}Z`) <= fx.now) await fx.fireSchedule(key.split('/')[1].replace('AgentGuardExpire-', ''));
      }
      return;
    case 'use':
      await fx.cloudTrail(AGENT, 'TerminateInstances');
      return;
    case 'reconcile':
      await fx.invoke({ op: 'reconcile' });
      return;
  }
}

/** What must hold between any two steps, whatever came before. */
function expectConsistent(fx: ApprovalsFixture): void {
  expect(fx.violations).toEqual([]);
  const now = iso(fx.now);
  const active = [...fx.table.items.values()].filter((r) => r.status === 'active');
  const live = active.filter((r) => (r.expiresAt ?? '') > now);
  if (active.length === 0) expect(fx.isStandard()).toBe(true);
  if (live.length > 0) {
    // every live approval is carried by the one complete set on the role, which the tag names
    const sets = [...new Set(live.map((r) => r.policySetId))];
    expect(sets).toHaveLength(1);
    expect(fx.setsOn()).toEqual(sets);
    expect(fx.role().tags['agent-guard:approval']).toBe(sets[0]);
    // ... in place of the standard policies it is named after; the others stay
    const replaced = fx.replacedStandard();
    expect(replaced.length).toBeGreaterThan(0);
    expect(GUARD_POLICY_ARNS.filter((a) => fx.role().attached.includes(a))).toEqual(
      GUARD_POLICY_ARNS.filter((a) => !replaced.includes(a)),
    );
    const sids = fx.approvalPoliciesOn().flatMap((arn) => fx.iam.document(arn).Statement.map((st) => st.Sid));
    for (const r of live) expect(sids).toContain(`Approval${r.approvalId}Expiry1`);
  }
  // no approval policy leaks: each one that exists is on the role
  expect(fx.iam.approvalPolicyArns()).toEqual(fx.approvalPoliciesOn().sort());
  // one schedule per active approval, one first-use rule per active single-use approval
  expect([...fx.scheduler.schedules.keys()].sort()).toEqual(
    active.map((r) => `agent-guard/AgentGuardExpire-${r.approvalId}`).sort(),
  );
  expect([...fx.events.rules.keys()].sort()).toEqual(
    active
      .filter((r) => r.uses === 1)
      .map((r) => `AgentGuardUse-${r.approvalId}`)
      .sort(),
  );
}

describe('random sequences of approvals, revokes, expiries, uses and reconciles', () => {
  test('keep IAM, the audit table, the schedules and the rules consistent, and the role locked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const fx = newFixture();
        const ids: string[] = [];
        for (const s of steps) {
          await run(fx, s, ids);
          expectConsistent(fx);
        }
        // and in the end, once everything is due, the role is back to standard
        fx.advance(2 * 3600);
        await fx.invoke({ op: 'reconcile' });
        expectConsistent(fx);
        expect(fx.isStandard()).toBe(true);
        expect(fx.scheduler.schedules.size).toBe(0);
        expect(fx.events.rules.size).toBe(0);
        expect(fx.iam.approvalPolicies()).toEqual([]);
        expect([...fx.table.items.values()].filter((r) => r.status === 'active' || r.status === 'pending')).toEqual([]);
      }),
      { numRuns: 80 },
    );
  });
});
