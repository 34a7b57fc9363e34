import { APPROVAL_TAG, COMPONENT_TAG, guardPolicyName, parseApprovalPolicyArn } from '../../lib/core/contract';
import { compileGuardPolicies } from '../../lib/core/policy/guard-policies';
import { actionMatches } from '../../lib/core/iam/action-pattern';
import { resolveApprovalActions } from '../../lib/core/approval/approval-scope';
import { asList, PolicyDocumentJson, PolicyStatementJson, policySize } from '../../lib/core/iam/policy-document';
import { ApprovalRecord } from '../../lib/core/approval-api';
import { arnFor } from '../support/arn-examples';
import {
  ADMIN_POLICY_ARN,
  AGENT,
  AGENT_ARN,
  ALICE,
  ApprovalsFixture,
  approveBody,
  BOB,
  CATALOG,
  expectNoLockViolations,
  expectNothingWritten,
  FUNCTION_ARN,
  GUARD_POLICY_ARNS,
  INSTANCE_ARN,
  instanceArn,
  iso,
  newFixture,
  NOW,
  plus,
  SCHEDULER_ROLE_ARN,
  sids,
} from '../support/approvals-fixture';

afterEach(expectNoLockViolations);

/** Every protected action of the catalog, exact. */
const PROTECTED = [...new Set([...CATALOG.plain.keys(), ...CATALOG.conditional.flatMap((r) => r.actions)])];

/** The documents of the approval policies attached to the agent role, in index order. */
function attachedDocuments(fx: ApprovalsFixture, roleName = AGENT): PolicyDocumentJson[] {
  return fx
    .approvalPoliciesOn(roleName)
    .sort((a, b) => parseApprovalPolicyArn(a)!.index - parseApprovalPolicyArn(b)!.index)
    .map((arn) => fx.iam.document(arn));
}

/** Issue 10, "Fit": every approval version within 90% of IAM's 6,144 characters (IAM-1). */
const BOUND = 5530;

const STANDARD_DOCUMENTS = new Map(
  compileGuardPolicies({ catalog: CATALOG, policyName: guardPolicyName }).map((p) => [p.name, p.document]),
);

/** Every guard document on the role: the standard ones it still holds and its approval versions. */
function guardDocuments(fx: ApprovalsFixture, roleName = AGENT): PolicyDocumentJson[] {
  const standard = fx.role(roleName).attached.flatMap((arn) => {
    const document = STANDARD_DOCUMENTS.get(arn.split('/').pop()!);
    return document ? [document] : [];
  });
  return [...standard, ...attachedDocuments(fx, roleName)];
}

/** The standard policy names an approval version's name says it stands in for. */
function replacedBy(arnsOrNames: readonly string[]): string[] {
  return [...new Set(arnsOrNames.map((a) => guardPolicyName(Number(/-Deny(\d+)-[0-9a-f]+$/.exec(a)![1]))))].sort();
}

function statements(documents: PolicyDocumentJson[]): PolicyStatementJson[] {
  return documents.flatMap((d) => d.Statement);
}

/** True if a statement denies `action` on every resource, whatever the expiry. */
function deniedEverywhere(documents: PolicyDocumentJson[], action: string): boolean {
  return statements(documents).some(
    (s) =>
      s.Effect === 'Deny' &&
      s.Resource === '*' &&
      !s.Condition?.DateGreaterThan &&
      asList(s.Action).some((pattern) => actionMatches(pattern, action)),
  );
}

function expiryStatements(documents: PolicyDocumentJson[], approvalId: string): PolicyStatementJson[] {
  return statements(documents).filter((s) => s.Sid?.startsWith(`Approval${approvalId}Expiry`));
}

describe('approve', () => {
  test('swaps in approval versions, tags the role, records, schedules the expiry and tells on-call', async () => {
    // GIVEN a clock part-way through a second
    const fx = newFixture({ now: new Date('2026-05-01T12:00:00.750Z') });

    // WHEN an on-call engineer approves 30 minutes of TerminateInstances on one instance
    const reply = await fx.call({
      op: 'approve',
      roleArn: AGENT_ARN,
      actions: ['ec2:TerminateInstances'],
      resources: [INSTANCE_ARN],
      durationSeconds: 1800,
      reason: 'replace the broken web node',
    });

    // THEN it is in force until now + 30 minutes, to the second
    expect(reply.statusCode).toBe(200);
    const [approval] = reply.body.ok ? (reply.body.approvals ?? []) : [];
    expect(approval).toBeDefined();
    const { approvalId, policySetId } = approval;
    expect(reply.body.message).toBe(`Approval ${approvalId} is in force until 2026-05-01T12:30:00Z.`);
    expect(policySetId).toMatch(/^[a-z0-9]+$/);
    expect(policySetId).not.toBe(approvalId);

    // The approval versions are created under /agent-guard/, named <set>-<i>of<n>-Deny<k>, and tagged
    const created = fx.calls.filter((c) => c.command === 'CreatePolicy');
    const n = created.length;
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(3);
    created.forEach((c, i) => {
      expect(c.input.Path).toBe('/agent-guard/');
      expect(c.input.PolicyName).toMatch(
        new RegExp(`^AgentGuardApproval-${policySetId}-${i + 1}of${n}-Deny\\d-[0-9a-f]+$`),
      );
      expect(c.input.Tags).toEqual([
        { Key: COMPONENT_TAG, Value: 'true' },
        { Key: APPROVAL_TAG, Value: policySetId },
      ]);
    });
    const names = created.map((c) => String(c.input.PolicyName));

    // ... attached before the tag moves and before the one standard policy they replace comes off: the
    // one that holds ec2's denies
    const replaced = replacedBy(names);
    expect(replaced).toHaveLength(1);
    expect(fx.iamWriteLog()).toEqual([
      ...names.map((name) => `CreatePolicy ${name}`),
      ...names.map((name) => `AttachRolePolicy agent ${name}`),
      'TagRole agent',
      `DetachRolePolicy agent ${replaced[0]}`,
    ]);
    expect(fx.calls.find((c) => c.command === 'TagRole')?.input.Tags).toEqual([
      { Key: APPROVAL_TAG, Value: policySetId },
    ]);

    // The role now holds AdministratorAccess, the other standard policies, the complete approval set,
    // and the marker tag
    const role = fx.role();
    expect(role.attached).toEqual([
      ADMIN_POLICY_ARN,
      ...GUARD_POLICY_ARNS.filter((arn) => !arn.endsWith(`/${replaced[0]}`)),
      ...names.map((name) => `arn:aws:iam::111122223333:policy/agent-guard/${name}`),
    ]);
    expect(role.tags[APPROVAL_TAG]).toBe(policySetId);
    for (const arn of GUARD_POLICY_ARNS) expect(fx.iam.policies.has(arn)).toBe(true);

    // The carve-out is real: TerminateInstances is denied outside the instance and after the expiry;
    // its sibling under ec2:Terminate* stays denied everywhere
    const documents = attachedDocuments(fx);
    for (const document of documents) expect(policySize(document)).toBeLessThanOrEqual(BOUND);
    const all = guardDocuments(fx);
    expect(deniedEverywhere(all, 'ec2:TerminateInstances')).toBe(false);
    expect(deniedEverywhere(all, 'ec2:TerminateClientVpnConnections')).toBe(true);
    expect(deniedEverywhere(all, 'rds:DeleteDBInstance')).toBe(true);
    expect(expiryStatements(documents, approvalId)).toEqual([
      {
        Sid: `Approval${approvalId}Expiry1`,
        Effect: 'Deny',
        Action: ['ec2:TerminateInstances'],
        Resource: [INSTANCE_ARN],
        Condition: {
          StringNotEquals: { 'aws:PrincipalTag/agent-guard:state': 'open' },
          DateGreaterThan: { 'aws:CurrentTime': '2026-05-01T12:30:00Z' },
        },
      },
    ]);
    const outside = statements(documents).filter((s) => s.Sid?.startsWith('ApprovalOutside'));
    expect(outside).toEqual([
      expect.objectContaining({ Action: ['ec2:TerminateInstances'], NotResource: [INSTANCE_ARN] }),
    ]);

    // The audit record is active, with the literal expiry
    const record = fx.record(approvalId);
    expect(record).toMatchObject({
      status: 'active',
      kind: 'approval',
      roleArn: AGENT_ARN,
      actions: ['ec2:TerminateInstances'],
      requestedActions: ['ec2:TerminateInstances'],
      resources: [INSTANCE_ARN],
      approvers: [ALICE],
      requestedBy: ALICE,
      requiredApprovals: 1,
      createdAt: '2026-05-01T12:00:00Z',
      activatedAt: '2026-05-01T12:00:00Z',
      expiresAt: '2026-05-01T12:30:00Z',
      sortAt: '2026-05-01T12:30:00Z',
      policySetId,
    });
    expect(fx.writes('dynamodb')).toHaveLength(1);

    // One expiry schedule, at the expiry (UTC, no Z), invoking this function with op expire
    expect([...fx.scheduler.schedules.values()]).toEqual([
      {
        Name: `AgentGuardExpire-${approvalId}`,
        GroupName: 'agent-guard',
        ScheduleExpression: 'at(2026-05-01T12:30:00)',
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: {
          Arn: FUNCTION_ARN,
          RoleArn: SCHEDULER_ROLE_ARN,
          Input: JSON.stringify({ op: 'expire', approvalId }),
        },
      },
    ]);
    expect(fx.events.rules.size).toBe(0);

    // One notice, naming the role, the actions and the revoke command
    expect(fx.sns.notices).toHaveLength(1);
    const [notice] = fx.sns.notices;
    expect(notice.subject).toBe('agent-guard: approval in force for agent');
    expect(notice.message).toContain(`Role:     ${AGENT_ARN}`);
    expect(notice.message).toContain('Actions:  ec2:TerminateInstances');
    expect(notice.message).toContain(`On:       ${INSTANCE_ARN}`);
    expect(notice.message).toContain('For:      30m');
    expect(notice.message).toContain('Reason:   replace the broken web node');
    expect(notice.message).toContain(`Approved by: ${ALICE}`);
    expect(notice.message).toContain(`Revoke it with: agent-guard revoke --id ${approvalId}`);
  });

  test('a wildcard pattern is expanded to the exact protected actions it matches that act on the resources', async () => {
    const fx = newFixture();
    const record = await fx.approve({ actions: ['ec2:Terminate*'] });
    const matched = PROTECTED.filter((a) => actionMatches('ec2:Terminate*', a)).sort();
    expect(matched).toEqual(expect.arrayContaining(['ec2:TerminateInstances', 'ec2:TerminateClientVpnConnections']));
    // The approved resource is an instance: TerminateClientVpnConnections acts on a client VPN endpoint
    // (Service Authorization Reference), so lifting it on the instance would lift nothing.
    const expected = ['ec2:TerminateInstances'];
    expect(record.requestedActions).toEqual(['ec2:Terminate*']);
    expect(record.actions).toEqual(expected);
    expect(fx.record(record.approvalId).actions).toEqual(expected);
    const documents = attachedDocuments(fx);
    for (const action of expected) expect(deniedEverywhere(documents, action)).toBe(false);
    expect(deniedEverywhere(documents, 'ec2:DeleteVpc')).toBe(true);
  });

  test('a ? pattern matches one character', async () => {
    const fx = newFixture();
    const record = await fx.approve({
      actions: ['rds:DeleteDBInstanc?'],
      resources: ['arn:aws:rds:us-east-1:111122223333:db:prod-db'],
    });
    expect(record.actions).toEqual(['rds:DeleteDBInstance']);
  });

  test('a group name is expanded to its protected actions, with their extra condition kept', async () => {
    const fx = newFixture();
    const record = await fx.approve({
      actions: ['dns-delete'],
      resources: ['arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ'],
    });
    expect(record.requestedActions).toEqual(['dns-delete']);
    // The group's hosted-zone actions; its route53domains actions name no resource type, so they need
    // an approval of their own with --all-resources.
    expect(record.actions).toEqual([
      'route53:ChangeResourceRecordSets',
      'route53:DeactivateKeySigningKey',
      'route53:DisableHostedZoneDNSSEC',
    ]);
    const [expiry] = expiryStatements(attachedDocuments(fx), record.approvalId);
    expect(expiry.Condition).toEqual({
      StringNotEquals: { 'aws:PrincipalTag/agent-guard:state': 'open' },
      'ForAnyValue:StringEquals': { 'route53:ChangeResourceRecordSetsActions': 'DELETE' },
      DateGreaterThan: { 'aws:CurrentTime': record.expiresAt },
    });
  });

  test('a group keeps the actions that act on the named resources, and one that spans every guard policy is refused', async () => {
    const expected = [...CATALOG.plain].filter(([, g]) => g === 'protection-off').map(([a]) => a);
    expect(resolveApprovalActions(['protection-off'], CATALOG)).toEqual(expected.sort());
    expect(expected).toContain('rds:ModifyDBInstance');
    // On an instance, the group keeps its actions that act on instances.
    const fx = newFixture();
    const record = await fx.approve({ actions: ['protection-off'] });
    expect(record.actions).toContain('ec2:ModifyInstanceAttribute');
    expect(record.actions.every((a) => a.startsWith('ec2:'))).toBe(true);
    // Its 27 actions live in every guard policy: on resources of every kind, the versions would need
    // more swap room than a role keeps.
    const everywhere = await fx.call(
      approveBody({
        actions: ['protection-off'],
        resources: [
          INSTANCE_ARN,
          'arn:aws:rds:us-east-1:111122223333:db:orders',
          'arn:aws:s3:::orders-archive',
          'arn:aws:dynamodb:us-east-1:111122223333:table/orders',
          'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          'arn:aws:cloudformation:us-east-1:111122223333:stack/orders/1a2b',
          'arn:aws:redshift:us-east-1:111122223333:cluster:orders',
        ],
      }),
      BOB,
    );
    expect(everywhere.statusCode).toBe(403);
    expect(everywhere.body.message).toMatch(
      /do not fit 3 policies .*Revoke one, or approve fewer actions or resources/,
    );
  });

  test('duplicate resources are stored once, sorted', async () => {
    const fx = newFixture();
    const record = await fx.approve({ resources: [instanceArn(2), instanceArn(1), instanceArn(2)] });
    expect(record.resources).toEqual([instanceArn(1), instanceArn(2)]);
  });

  test('another agent role is untouched', async () => {
    const fx = newFixture();
    const before = fx.role('agent2');
    await fx.approve();
    expect(fx.role('agent2')).toEqual(before);
    expect(fx.isStandard('agent2')).toBe(true);
  });
});

describe('concurrent approvals on one role', () => {
  const DB_ARN = 'arn:aws:rds:us-east-1:111122223333:db:orders-replica';

  test('compose into one set, and come apart again on revoke', async () => {
    const fx = newFixture();
    const first = await fx.approve({ durationSeconds: 3600 });
    const setOne = first.policySetId!;
    const setOneArns = fx.approvalPoliciesOn();
    fx.advance(300);

    // WHEN a second approval arrives for the same role
    fx.resetCalls();
    const second = await fx.approve({ actions: ['rds:DeleteDBInstance'], resources: [DB_ARN] }, BOB);
    const setTwo = second.policySetId!;

    // THEN a new set holds both carve-outs, each with its own expiry
    expect(setTwo).not.toBe(setOne);
    expect(fx.setsOn()).toEqual([setTwo]);
    const documents = attachedDocuments(fx);
    expect(statements(documents).map((s) => s.Sid)).toEqual(
      expect.arrayContaining([`Approval${first.approvalId}Expiry1`, `Approval${second.approvalId}Expiry1`]),
    );
    expect(expiryStatements(documents, first.approvalId)[0].Condition?.DateGreaterThan).toEqual({
      'aws:CurrentTime': first.expiresAt,
    });
    expect(expiryStatements(documents, second.approvalId)[0].Condition?.DateGreaterThan).toEqual({
      'aws:CurrentTime': iso(plus(NOW, 300 + 1800)),
    });
    expect(deniedEverywhere(guardDocuments(fx), 'ec2:TerminateInstances')).toBe(false);
    expect(deniedEverywhere(guardDocuments(fx), 'rds:DeleteDBInstance')).toBe(false);

    // ... attached in full before the first set came off, which is then deleted
    const log = fx.iamWriteLog();
    const lastAttach = log.map((l) => l.startsWith('AttachRolePolicy')).lastIndexOf(true);
    const firstDetach = log.findIndex((l) => l.startsWith('DetachRolePolicy'));
    expect(lastAttach).toBeLessThan(firstDetach);
    // Off come the first set and the standard policies the new set replaces beyond the first (rds's,
    // when another policy holds it); no standard policy goes on
    const newlyReplaced = replacedBy(fx.approvalPoliciesOn()).filter((n) => !replacedBy(setOneArns).includes(n));
    expect(log.filter((l) => l.startsWith('DetachRolePolicy')).sort()).toEqual(
      [...setOneArns.map((arn) => arn.split('/').pop()!), ...newlyReplaced]
        .map((name) => `DetachRolePolicy agent ${name}`)
        .sort(),
    );
    for (const arn of setOneArns) expect(fx.iam.policies.has(arn)).toBe(false);
    expect(log.filter((l) => l.startsWith('AttachRolePolicy') && l.includes('AgentGuardDeny'))).toEqual([]);

    // Both records point at the new set; the tag names it
    expect(fx.record(first.approvalId).policySetId).toBe(setTwo);
    expect(fx.record(second.approvalId).policySetId).toBe(setTwo);
    expect(fx.role().tags[APPROVAL_TAG]).toBe(setTwo);

    // WHEN the first is revoked, a set with the second alone replaces it
    const revokeFirst = await fx.call({ op: 'revoke', approvalId: first.approvalId });
    expect(revokeFirst.statusCode).toBe(200);
    const setThree = fx.record(second.approvalId).policySetId!;
    expect(setThree).not.toBe(setTwo);
    expect(fx.setsOn()).toEqual([setThree]);
    const remaining = statements(attachedDocuments(fx)).map((s) => s.Sid);
    expect(remaining).toContain(`Approval${second.approvalId}Expiry1`);
    expect(remaining.filter((s) => s?.includes(first.approvalId))).toEqual([]);
    expect(deniedEverywhere(guardDocuments(fx), 'ec2:TerminateInstances')).toBe(true);
    expect(fx.role().tags[APPROVAL_TAG]).toBe(setThree);
    expect(fx.record(first.approvalId).status).toBe('revoked');
    expect(fx.iam.approvalPolicies().map((p) => parseApprovalPolicyArn(p.arn)!.setId)).toEqual(
      fx.approvalPoliciesOn().map(() => setThree),
    );
    expect(fx.isStandard()).toBe(false);

    // WHEN the last is revoked, the standard policies are back and the tag is gone
    const revokeSecond = await fx.call({ op: 'revoke', approvalId: second.approvalId });
    expect(revokeSecond.statusCode).toBe(200);
    expect(fx.isStandard()).toBe(true);
    // (a replaced standard policy is attached again at the end of the list, as IAM keeps attach order)
    expect([...fx.role().attached].sort()).toEqual([ADMIN_POLICY_ARN, ...GUARD_POLICY_ARNS].sort());
    expect(fx.iam.approvalPolicies()).toEqual([]);
    expect(fx.scheduler.schedules.size).toBe(0);
  });

  test('an approval that overlaps another on the same action keeps both resources lifted', async () => {
    const fx = newFixture();
    const first = await fx.approve({ resources: [instanceArn(1)] });
    const second = await fx.approve({ resources: [instanceArn(2)] });
    const documents = attachedDocuments(fx);
    const outside = statements(documents).filter((s) => s.Sid?.startsWith('ApprovalOutside'));
    expect(outside).toEqual([
      expect.objectContaining({ Action: ['ec2:TerminateInstances'], NotResource: [instanceArn(1), instanceArn(2)] }),
    ]);
    expect(expiryStatements(documents, first.approvalId)[0].Resource).toEqual([instanceArn(1)]);
    expect(expiryStatements(documents, second.approvalId)[0].Resource).toEqual([instanceArn(2)]);
  });

  test('an approval past its expiry but not yet ended is left out of a new set', async () => {
    const fx = newFixture();
    const first = await fx.approve({ durationSeconds: 600 });
    fx.scheduler.schedules.clear(); // the expiry schedule was lost
    fx.advance(601);
    const second = await fx.approve({ resources: [instanceArn(2)] });
    const sidsNow = statements(attachedDocuments(fx)).map((s) => s.Sid);
    expect(sidsNow).toContain(`Approval${second.approvalId}Expiry1`);
    expect(sidsNow.filter((s) => s?.includes(first.approvalId))).toEqual([]);
    // the stale record keeps its old set id until the reconcile ends it
    expect(fx.record(first.approvalId)).toMatchObject({ status: 'active', policySetId: first.policySetId });
    const result = await fx.invoke({ op: 'reconcile' });
    expect(result).toEqual({ expired: 1, lapsed: 0, orphansRemoved: 0 });
    expect(fx.record(first.approvalId).status).toBe('expired');
    expect(fx.record(second.approvalId).status).toBe('active');
    expect(fx.setsOn()).toEqual([fx.record(second.approvalId).policySetId]);
  });
});

describe('how many approvals fit on one role', () => {
  /** Approves `scope(i)` for i = 1, 2, ... until refused; returns the approvals and the refusal. */
  async function fill(
    fx: ApprovalsFixture,
    scope: (i: number) => Record<string, unknown>,
  ): Promise<{ approvals: ApprovalRecord[]; refusal: string }> {
    const approvals: ApprovalRecord[] = [];
    for (let i = 1; i <= 60; i++) {
      fx.resetCalls();
      const reply = await fx.call({
        op: 'approve',
        roleArn: AGENT_ARN,
        durationSeconds: 3600,
        reason: `approval ${i}`,
        ...scope(i),
      });
      if (reply.statusCode !== 200) {
        expect(reply.statusCode).toBe(403);
        // nothing was written for the refused one
        expect(fx.writes()).toEqual([]);
        return { approvals, refusal: reply.body.message };
      }
      if (reply.body.ok) approvals.push(...(reply.body.approvals ?? []));
    }
    throw new Error('60 approvals fit; the limit is not where it was expected');
  }

  function sizes(fx: ApprovalsFixture): number[] {
    return attachedDocuments(fx).map(policySize);
  }

  test('distinct resources, one action: approvals compose until three policies are full, then a clear refusal', async () => {
    const fx = newFixture();
    const { approvals, refusal } = await fill(fx, (i) => ({
      actions: ['ec2:TerminateInstances'],
      resources: [instanceArn(i)],
    }));
    const fitted = approvals.length;
    console.log(`Concurrent approvals that fit one role (one action, distinct instances): ${fitted}`);
    expect(fitted).toBeGreaterThanOrEqual(3);
    expect(refusal).toMatch(
      new RegExp(`^The ${fitted + 1} approval\\(s\\) in force on this role do not fit 3 policies \\(`),
    );
    expect(refusal).toMatch(/Revoke one, or approve fewer actions or resources\.$/);

    // The role still holds the last complete set, holding every approval that fit
    const last = fx.record(approvals[fitted - 1].approvalId).policySetId!;
    expect(fx.setsOn()).toEqual([last]);
    for (const a of approvals) expect(fx.record(a.approvalId)).toMatchObject({ status: 'active', policySetId: last });
    const set = sizes(fx);
    expect(set).toHaveLength(3);
    for (const size of set) expect(size).toBeLessThanOrEqual(BOUND);
  });

  test('distinct actions and resources', async () => {
    // Each action on a resource of its own type (approvals are concrete); actions without one need '*'.
    const scopes: { actions: string[]; resources: string[] }[] = [];
    for (const action of PROTECTED.filter((a) => a.startsWith('ec2:Delete')).sort()) {
      const arn = await arnFor(action, `r-${scopes.length + 1}`);
      if (arn) scopes.push({ actions: [action], resources: [arn] });
    }
    const fx = newFixture();
    const { approvals, refusal } = await fill(fx, (i) => scopes[i - 1]);
    console.log(`Concurrent approvals that fit one role (distinct actions and resources): ${approvals.length}`);
    expect(approvals.length).toBeGreaterThanOrEqual(3);
    expect(refusal).toMatch(/do not fit 3 policies/);
    expect(fx.setsOn()).toHaveLength(1);
    expect(fx.approvalPoliciesOn()).toHaveLength(3);
  });

  test('policy sizes against 5,530 for one approval and for the most that fit', async () => {
    const one = newFixture();
    await one.approve({ durationSeconds: 3600 });
    const oneSizes = sizes(one);

    const full = newFixture();
    const { approvals } = await fill(full, (i) => ({
      actions: ['ec2:TerminateInstances'],
      resources: [instanceArn(i)],
    }));
    const fullSizes = sizes(full);
    console.log(
      [
        `Approval policy sizes (non-whitespace characters, bound ${BOUND}):`,
        `  1 approval: ${oneSizes.length} policies, ${oneSizes.join(' + ')}`,
        `  ${approvals.length} approvals: ${fullSizes.length} policies, ${fullSizes.join(' + ')}`,
      ].join('\n'),
    );
    for (const size of [...oneSizes, ...fullSizes]) expect(size).toBeLessThanOrEqual(BOUND);
    expect(oneSizes.length).toBeLessThanOrEqual(fullSizes.length);
    // every document IAM stored is the one the sizes were measured on
    for (const arn of full.approvalPoliciesOn()) {
      expect(sids(full.iam.document(arn)).every((s) => /^[A-Za-z0-9]+$/.test(s))).toBe(true);
    }
  });
});

describe('racing approvals on one role', () => {
  test('two approvals at once take the role one after the other (its lease): the second composes both', async () => {
    // Before role leases, neither saw the other as active when it built its set, so two sets each
    // denied the other's approval. Now the second waits for the role's lease and reads the first.
    const fx = newFixture();
    const [a, b] = await Promise.all([
      fx.call(approveBody({ resources: [instanceArn(1)] })),
      fx.call(approveBody({ resources: [instanceArn(2)] }), BOB),
    ]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    const idOf = (reply: typeof a) => (reply.body.ok ? reply.body.approvals![0].approvalId : '');
    const first = fx.record(idOf(a));
    const second = fx.record(idOf(b));
    expect(fx.setsOn()).toHaveLength(1);
    expect([first.policySetId, second.policySetId]).toEqual([fx.setsOn()[0], fx.setsOn()[0]]);
    const outside = statements(attachedDocuments(fx)).filter((s) => s.Sid?.startsWith('ApprovalOutside'));
    expect(outside.flatMap((s) => s.NotResource)).toEqual(expect.arrayContaining([instanceArn(1), instanceArn(2)]));
    expect(fx.leaseTable.items.size).toBe(0);

    // revoking one composes the other alone again
    await fx.call({ op: 'revoke', approvalId: first.approvalId });
    const kept = fx.record(second.approvalId);
    expect(fx.setsOn()).toEqual([kept.policySetId]);
    expect(deniedEverywhere(attachedDocuments(fx), 'ec2:TerminateInstances')).toBe(false);
  });
});

describe('a role whose lease another writer keeps', () => {
  test('refuses the approval with nothing written: the guard or another approval is writing the role', async () => {
    const fx = newFixture();
    const epoch = Math.floor(fx.now.getTime() / 1000);
    fx.leaseTable.items.set('role#agent', { pk: 'role#agent', owner: 'the guard', expiresAt: epoch + 30 });
    const reply = await fx.call(approveBody());
    expect(reply).toMatchObject({ statusCode: 403, body: { ok: false, refused: true } });
    expect(reply.body.message).toMatch(/being changed by the guard or another approval; try again/);
    fx.leaseTable.items.clear();
    expectNothingWritten(fx);
  });
});
