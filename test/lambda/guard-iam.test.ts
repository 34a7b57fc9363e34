import { AttachRolePolicyCommand, TagRoleCommand, UntagRoleCommand } from '@aws-sdk/client-iam';
import { approvalPolicySet } from '../../lib/core/approval/approval-policies';
import {
  AGENT_TAG,
  APPROVAL_TAG,
  CONSTRAINED_TAG,
  guardPolicyName,
  parseApprovalPolicyArn,
  STATE_TAG,
  TRUST_DENY_SID,
} from '../../lib/core/contract';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { guardPolicyDigest } from '../../lib/core/policy/guard-digest';
import { compileGuardPolicies } from '../../lib/core/policy/guard-policies';
import { resolveCatalog, ResolvedCatalog } from '../../lib/core/policy/resolve-catalog';
import { FakeIam, FakeRole } from '../support/fake-iam';
import { decide, Decision } from '../support/simulate';
import {
  approvalPolicyArn,
  BOUNDARY_ARN,
  GUARD_POLICY_ARNS,
  newGuard,
  published,
  roleChangedEvent,
  scheduledEvent,
  trustPolicy,
} from '../support/guard-fixture';

/** An account with the guard's policies, in the stateful IAM fake. */
function account(): FakeIam {
  const iam = new FakeIam();
  for (const arn of [...GUARD_POLICY_ARNS, BOUNDARY_ARN]) iam.addPolicy(arn);
  return iam;
}

/** Managed policies of the role's own, beyond the guard's. */
function own(iam: FakeIam, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const arn = `arn:aws:iam::${iam.account}:policy/Own${i + 1}`;
    if (!iam.policies.has(arn)) iam.addPolicy(arn);
    return arn;
  });
}

/** A role the guard had set up (constrained, locked), which has since lost `lost` of its guard parts. */
function guardedRole(
  iam: FakeIam,
  options: { policies?: readonly string[]; boundary?: string; constrained?: boolean } = {},
): FakeRole {
  return iam.addRole('agent-x', {
    tags: {
      [AGENT_TAG]: 'true',
      [STATE_TAG]: 'locked',
      ...(options.constrained === false ? {} : { [CONSTRAINED_TAG]: 'true' }),
    },
    policies: options.policies ?? GUARD_POLICY_ARNS,
    boundary: 'boundary' in options ? options.boundary : BOUNDARY_ARN,
    trustPolicy: trustPolicy(true),
  });
}

/** What IAM had in force each time the guard wrote the constrained tag. */
function watchConstrainedTag(iam: FakeIam, role: FakeRole): { attached: string[]; boundary?: string }[] {
  const seen: { attached: string[]; boundary?: string }[] = [];
  const send = iam.send.bind(iam);
  iam.send = (command: unknown) => {
    if (command instanceof TagRoleCommand && command.input.Tags?.some((t) => t.Key === CONSTRAINED_TAG)) {
      seen.push({ attached: iam.inForce(role), boundary: iam.visible(role).boundary });
    }
    return send(command);
  };
  return seen;
}

const NOT_CONSTRAINED = 'not constrained: it can do nothing until the guard can verify its guard policies';

describe('the constrained tag follows a read-back of the guard parts (issue 9, items 3 and 6)', () => {
  test('a repaired role is tagged constrained again only once IAM reads the repairs back', async () => {
    // GIVEN a constrained role that lost a guard policy and its boundary, in an IAM whose writes show late
    const iam = account();
    const role = guardedRole(iam, { policies: [GUARD_POLICY_ARNS[0]], boundary: undefined });
    iam.visibilityDelayReads = 3;
    const seen = watchConstrainedTag(iam, role);
    const fx = newGuard({ iamClient: iam.client() });
    // WHEN the sweep runs
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN the tag went back on only when both guard policies and the boundary were in force
    expect(seen).toEqual([{ attached: [...GUARD_POLICY_ARNS], boundary: BOUNDARY_ARN }]);
    expect(role.tags.get(CONSTRAINED_TAG)).toBe('true');
    expect(summary).toMatchObject({ rolesRepaired: 1, rolesFailed: 0 });
  });

  test('the constrained tag comes off before any repair', async () => {
    const iam = account();
    const role = guardedRole(iam, { policies: [GUARD_POLICY_ARNS[0]] });
    const order: string[] = [];
    const send = iam.send.bind(iam);
    iam.send = (command: unknown) => {
      if (command instanceof UntagRoleCommand) order.push(`untag ${command.input.TagKeys?.join()}`);
      if (command instanceof AttachRolePolicyCommand) order.push('attach');
      if (command instanceof TagRoleCommand) order.push(`tag ${command.input.Tags?.map((t) => t.Key).join()}`);
      return send(command);
    };
    await newGuard({ iamClient: iam.client() }).guard.handle(scheduledEvent());
    expect(order).toEqual([`untag ${CONSTRAINED_TAG}`, 'attach', `tag ${CONSTRAINED_TAG}`]);
    expect(role.tags.get(CONSTRAINED_TAG)).toBe('true');
  });

  test('a repair that never reads back leaves the role untagged, and on-call is told it can do nothing', async () => {
    const iam = account();
    const role = guardedRole(iam, { policies: [GUARD_POLICY_ARNS[0]] });
    iam.visibilityDelayReads = 1_000;
    const fx = newGuard({ iamClient: iam.client() });
    const summary = await fx.guard.handle(scheduledEvent());
    expect(role.tags.has(CONSTRAINED_TAG)).toBe(false);
    expect(role.tags.get(STATE_TAG)).toBe('locked');
    expect(summary).toMatchObject({ rolesFailed: 1 });
    expect(published(fx.sns)).toContainEqual({
      subject: 'agent-guard: 1 agent role(s) could not be reconciled',
      message: `agent-x: NotVisibleError; ${NOT_CONSTRAINED}`,
    });
  });
});

describe('an approval that replaces some guard policies (issue 10, "Fit")', () => {
  test('the guard keeps the standard policies the approval leaves in place, and repairs them if they go', async () => {
    // GIVEN a role whose approval version stands in for AgentGuardDeny2 only, and which lost AgentGuardDeny1
    const iam = account();
    const version = approvalPolicyArn('set1', 1, 1, 2);
    iam.addPolicy(version);
    const role = guardedRole(iam, { policies: [version] });
    role.tags.set(APPROVAL_TAG, 'set1');
    // WHEN the sweep runs
    const summary = await newGuard({ iamClient: iam.client() }).guard.handle(scheduledEvent());
    // THEN AgentGuardDeny1 is back, AgentGuardDeny2 stays off, the version stays on
    expect(role.attached).toEqual([version, GUARD_POLICY_ARNS[0]]);
    expect(role.tags.get(CONSTRAINED_TAG)).toBe('true');
    expect(summary).toMatchObject({ rolesRepaired: 1, rolesFailed: 0 });
  });

  test('a version whose set is not complete: the whole standard set goes back on', async () => {
    const iam = account();
    const version = approvalPolicyArn('set1', 1, 2, 2);
    iam.addPolicy(version);
    const role = guardedRole(iam, { policies: [GUARD_POLICY_ARNS[0], version] });
    role.tags.set(APPROVAL_TAG, 'set1');
    await newGuard({ iamClient: iam.client() }).guard.handle(scheduledEvent());
    expect(role.attached).toEqual([GUARD_POLICY_ARNS[0], version, GUARD_POLICY_ARNS[1]]);
  });
});

describe('the managed-policy quota (IAM-1: 10 per role by default)', () => {
  test('a role with no room for a guard policy is left untagged, not reported locked', async () => {
    // GIVEN a constrained role that now holds 9 policies of its own and one guard policy: 10 in all
    const iam = account();
    const role = guardedRole(iam, { policies: [...own(iam, 9), GUARD_POLICY_ARNS[0]] });
    const fx = newGuard({ iamClient: iam.client() });
    // WHEN the sweep runs
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN the role keeps no constrained tag, so the boundary allows it nothing, and it is locked
    expect(role.tags.has(CONSTRAINED_TAG)).toBe(false);
    expect(role.tags.get(STATE_TAG)).toBe('locked');
    expect(role.attached).toHaveLength(10);
    // AND the failure is counted and on-call is told the role can do nothing, not that it is locked
    expect(summary).toMatchObject({ rolesFailed: 1 });
    expect(published(fx.sns)).toContainEqual({
      subject: 'agent-guard: 1 agent role(s) could not be reconciled',
      message:
        'agent-x: no room for 1 guard policies: 10 of the 10 managed policies a role may hold are attached; ' +
        NOT_CONSTRAINED,
    });
  });

  test('a new agent role with no room gets the boundary, which alone allows it nothing, and no tag', async () => {
    const iam = account();
    const role = iam.addRole('agent-new', {
      tags: { [AGENT_TAG]: 'true' },
      policies: own(iam, 10),
      trustPolicy: trustPolicy(false),
    });
    const fx = newGuard({ iamClient: iam.client() });
    const summary = await fx.guard.handle(scheduledEvent());
    expect(role.boundary).toBe(BOUNDARY_ARN);
    expect(role.tags.has(CONSTRAINED_TAG)).toBe(false);
    expect(summary).toMatchObject({ rolesFailed: 1 });
    const failure = published(fx.sns).find((p) => p.subject.includes('could not be reconciled'));
    expect(failure?.message).toMatch(/^agent-new: no room for 2 guard policies: 10 of the 10 /);
    expect(failure?.message).toContain(NOT_CONSTRAINED);
  });
});

describe('a role made with the guard boundary is an agent, whoever made it (issue 10, escape 1)', () => {
  /** A role someone created with the guard boundary and a trust policy without the guard's deny. */
  function madeWithBoundary(iam: FakeIam): FakeRole {
    return iam.addRole('made-by-hand', {
      boundary: BOUNDARY_ARN,
      policies: own(iam, 1),
      trustPolicy: trustPolicy(false),
    });
  }

  test.each([
    ['its CreateRole event', () => roleChangedEvent('CreateRole', 'made-by-hand')],
    ['the next sweep', scheduledEvent],
  ])('%s makes the guard constrain it like any agent role', async (_when, event) => {
    const iam = account();
    const role = madeWithBoundary(iam);
    const tagCalls: Record<string, string>[] = [];
    const send = iam.send.bind(iam);
    iam.send = (command: unknown) => {
      if (command instanceof TagRoleCommand) {
        tagCalls.push(Object.fromEntries((command.input.Tags ?? []).map((t) => [t.Key!, t.Value!])));
      }
      return send(command);
    };
    const fx = newGuard({ iamClient: iam.client() });
    await fx.guard.handle(event());
    // The first write makes it an agent and locked at once; the constrained tag comes last.
    expect(tagCalls[0]).toEqual({ [AGENT_TAG]: 'true', [STATE_TAG]: 'locked' });
    expect(tagCalls.at(-1)).toEqual({ [CONSTRAINED_TAG]: 'true' });
    expect(iam.inForce(role)).toEqual(expect.arrayContaining([...GUARD_POLICY_ARNS]));
    expect((JSON.parse(role.trustPolicy!) as PolicyDocumentJson).Statement).toContainEqual(
      expect.objectContaining({ Sid: TRUST_DENY_SID }),
    );
    expect(role.tags.get(CONSTRAINED_TAG)).toBe('true');
  });

  test('a role with another boundary and no agent tag is left alone', async () => {
    const iam = account();
    const other = `arn:aws:iam::${iam.account}:policy/SomeoneElsesBoundary`;
    iam.addPolicy(other);
    const role = iam.addRole('workload', { boundary: other, policies: own(iam, 1), trustPolicy: trustPolicy(false) });
    const fx = newGuard({ iamClient: iam.client() });
    await fx.guard.handle(roleChangedEvent('CreateRole', 'workload'));
    expect([...role.tags.keys()]).toEqual([]);
    expect(role.attached).toEqual(own(iam, 1));
  });
});

describe('an approval set compiled against the guard policies of an earlier deploy (issue 10: fail closed on redeploy)', () => {
  // The earlier deploy protected the built-in catalog; this one exempts a group, so services move
  // between the standard policies while AgentGuardDeny<k> keeps its name.
  const EXEMPTED = 'protection-off';
  const earlier = resolveCatalog();
  const current = resolveCatalog({ exemptGroups: [EXEMPTED] });
  const standardOf = (catalog: ResolvedCatalog) => compileGuardPolicies({ catalog, policyName: guardPolicyName });
  const arnOf = (name: string) => `arn:aws:iam::111122223333:policy/agent-guard/${name}`;
  const INSTANCE = 'arn:aws:ec2:us-east-1:111122223333:instance/i-0abc';
  const EXPIRY = new Date('2026-05-01T13:00:00Z');
  const BEFORE_EXPIRY = '2026-05-01T12:30:00Z';
  const ADMINISTRATOR_ACCESS: PolicyDocumentJson = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
  };
  const carved = { id: 'a1', actions: ['ec2:TerminateInstances'], resources: [INSTANCE], expiresAt: EXPIRY };

  /** The role as IAM evaluates it, locked (no state tag) and before the approval's expiry. */
  function decideFor(iam: FakeIam, role: FakeRole, action: string, resource?: string): Promise<Decision> {
    const policies = role.attached.map((arn) => ({
      name: arn.split('/').pop()!,
      policy: JSON.parse(iam.policies.get(arn)!.document) as PolicyDocumentJson,
    }));
    return decide(
      { identityPolicies: [{ name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS }, ...policies] },
      { action, resource, context: { 'aws:CurrentTime': BEFORE_EXPIRY } },
    );
  }

  test('the sweep puts the replaced standard policy back: the carved action and the moved services are denied again', async () => {
    // GIVEN this deploy's standard policies, and a role that holds the approval versions made against the earlier ones
    const standard = standardOf(current);
    const digest = guardPolicyDigest(standard.map((p) => p.document));
    const earlierDigest = guardPolicyDigest(standardOf(earlier).map((p) => p.document));
    expect(digest).not.toBe(earlierDigest);
    const versions = approvalPolicySet(earlier, 'set1', [carved], earlierDigest);
    const replaced = versions.map((v) => guardPolicyName(parseApprovalPolicyArn(arnOf(v.name))!.replaces!));
    const iam = new FakeIam();
    iam.addPolicy(BOUNDARY_ARN);
    for (const p of [...standard, ...versions]) iam.addPolicy(arnOf(p.name), p.document);
    const role = guardedRole(iam, {
      policies: [...standard.filter((p) => !replaced.includes(p.name)), ...versions].map((p) => arnOf(p.name)),
    });
    role.tags.set(APPROVAL_TAG, 'set1');

    // A protected action of this deploy's catalog whose service moved into a replaced standard policy:
    // the earlier versions of that policy do not name the service, so nothing denies it (the hole).
    const inReplaced = standard.filter((p) => replaced.includes(p.name)).map((p) => JSON.stringify(p.document));
    const inVersions = versions.map((v) => JSON.stringify(v.document)).join();
    const moved = [...current.plain.keys()].find((action) => {
      const service = `"${action.split(':')[0]}:`;
      return inReplaced.some((doc) => doc.includes(service)) && !inVersions.includes(service);
    });
    expect(moved).toBeDefined();
    expect(await decideFor(iam, role, moved!)).toBe('Allowed');
    expect(await decideFor(iam, role, 'ec2:TerminateInstances', INSTANCE)).toBe('Allowed');

    // WHEN the sweep of this deploy's guard runs
    const fx = newGuard({
      iamClient: iam.client(),
      config: { guardPolicyArns: standard.map((p) => arnOf(p.name)), guardPolicyDigest: digest },
    });
    const summary = await fx.guard.handle(scheduledEvent());

    // THEN the replaced standard policies are back, the role is constrained again, and IAM denies both
    expect(role.attached).toEqual(expect.arrayContaining(standard.map((p) => arnOf(p.name))));
    expect(role.tags.get(CONSTRAINED_TAG)).toBe('true');
    expect(summary).toMatchObject({ rolesRepaired: 1, rolesFailed: 0 });
    expect(await decideFor(iam, role, moved!)).toBe('ExplicitlyDenied');
    expect(await decideFor(iam, role, 'ec2:TerminateInstances', INSTANCE)).toBe('ExplicitlyDenied');
    // and on-call is told the approval no longer applies
    const [notice] = published(fx.sns);
    expect(notice.subject).toBe('agent-guard: restored the guard on an agent role');
    expect(notice.message).toContain('approval set set1 was compiled against the guard policies of an earlier deploy');
    expect(notice.message).toContain('approve again');
  });
});
