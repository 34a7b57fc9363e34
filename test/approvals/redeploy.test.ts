import { guardPolicyName, parseApprovalPolicyArn } from '../../lib/core/contract';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { guardPolicyDigest } from '../../lib/core/policy/guard-digest';
import { compileGuardPolicies } from '../../lib/core/policy/guard-policies';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import {
  ADMIN_POLICY_ARN,
  AGENT,
  ApprovalsFixture,
  BOB,
  expectNoLockViolations,
  GUARD_POLICY_ARNS,
  GUARD_POLICY_DIGEST,
  instanceArn,
  newFixture,
  periodicEvent,
  sids,
} from '../support/approvals-fixture';

afterEach(expectNoLockViolations);

/** The digest of the standard policies of an earlier deploy, which protected one action more. */
const EARLIER_DIGEST = guardPolicyDigest(
  compileGuardPolicies({
    catalog: resolveCatalog({ customGroups: [{ name: 'earlier', actions: ['ec2:CreateTags'] }] }),
    policyName: guardPolicyName,
  }).map((p) => p.document),
);

/**
 * The account as an earlier deploy left it: the approval versions on the agent role carry that
 * deploy's digest. With `swept`, this deploy's guard has already put the standard policies back.
 */
function fromEarlierDeploy(fx: ApprovalsFixture, swept: boolean): string[] {
  const role = fx.iam.role(AGENT);
  const renamed = fx.approvalPoliciesOn().map((arn) => {
    const earlier = arn.replace(new RegExp(`-${GUARD_POLICY_DIGEST}$`), `-${EARLIER_DIGEST}`);
    fx.iam.addPolicy(earlier, fx.iam.policies.get(arn)!.document);
    fx.iam.policies.delete(arn);
    role.attached = role.attached.map((a) => (a === arn ? earlier : a));
    return earlier;
  });
  if (swept) role.attached.push(...GUARD_POLICY_ARNS.filter((arn) => !role.attached.includes(arn)));
  fx.settle();
  return renamed;
}

describe('an approval set compiled against the guard policies of an earlier deploy (issue 10: fail closed on redeploy)', () => {
  test('a new approval ends the approvals of that set instead of carrying them into the new one', async () => {
    // GIVEN an approval in force from before a redeploy that changed the guard policies
    const fx = newFixture();
    const before = await fx.approve({ resources: [instanceArn(1)] });
    const earlier = fromEarlierDeploy(fx, true);
    expect(earlier.map((arn) => parseApprovalPolicyArn(arn)!.digest)).toEqual(earlier.map(() => EARLIER_DIGEST));
    fx.resetCalls();

    // WHEN on-call approves something else for the same role
    const after = await fx.approve({ resources: [instanceArn(2)] }, BOB);

    // THEN the earlier approval is over, and said so; the new set holds the new approval only
    expect(fx.record(before.approvalId)).toMatchObject({ status: 'revoked', revokedBy: 'agent-guard' });
    expect(fx.record(before.approvalId).endReason).toContain('redeploy changed the guard policies');
    const notice = fx.sns.notices.find((n) => n.subject === `agent-guard: approval ${before.approvalId} revoked`);
    expect(notice?.message).toContain('Approve again');
    const versions = fx.approvalPoliciesOn();
    expect(versions.map((arn) => parseApprovalPolicyArn(arn)!.digest)).toEqual(versions.map(() => GUARD_POLICY_DIGEST));
    const statementIds = versions.flatMap((arn) =>
      sids(JSON.parse(fx.iam.policies.get(arn)!.document) as PolicyDocumentJson),
    );
    expect(statementIds.some((sid) => sid.includes(after.approvalId))).toBe(true);
    expect(statementIds.some((sid) => sid.includes(before.approvalId))).toBe(false);
    // and the earlier versions are off the role and deleted
    for (const arn of earlier) expect(fx.iam.policies.has(arn)).toBe(false);
    // the standard set came back before the new set went on
    const log = fx.iamWriteLog();
    expect(log.findIndex((w) => w.startsWith('DeletePolicy'))).toBeLessThan(
      log.findIndex((w) => w.startsWith('CreatePolicy')),
    );
  });

  test('the reconcile takes the set off, puts the standard policies back and ends its approvals', async () => {
    const fx = newFixture();
    const before = await fx.approve();
    const earlier = fromEarlierDeploy(fx, false);
    fx.resetCalls();

    const result = await fx.invoke(periodicEvent());

    expect(result).toMatchObject({ orphansRemoved: earlier.length });
    expect(fx.isStandard()).toBe(true);
    expect([...fx.role().attached].sort()).toEqual([ADMIN_POLICY_ARN, ...GUARD_POLICY_ARNS].sort());
    expect(fx.iam.approvalPolicies()).toEqual([]);
    expect(fx.record(before.approvalId)).toMatchObject({ status: 'revoked', revokedBy: 'agent-guard' });
    expect(fx.sns.notices.map((n) => n.subject)).toContain(`agent-guard: approval ${before.approvalId} revoked`);
    // a second run finds nothing left to do
    fx.resetCalls();
    await fx.invoke(periodicEvent());
    expect(fx.writes('iam')).toEqual([]);
  });

  test('revoking one approval of such a set ends the others too: none is compiled again under this deploy', async () => {
    const fx = newFixture();
    const first = await fx.approve({ resources: [instanceArn(1)] });
    const second = await fx.approve({ resources: [instanceArn(2)] }, BOB);
    fromEarlierDeploy(fx, true);
    fx.resetCalls();

    const reply = await fx.call({ op: 'revoke', approvalId: second.approvalId, reason: 'done' }, BOB);

    expect(reply.statusCode).toBe(200);
    expect(fx.record(second.approvalId)).toMatchObject({ status: 'revoked' });
    expect(fx.record(first.approvalId)).toMatchObject({ status: 'revoked', revokedBy: 'agent-guard' });
    expect(fx.isStandard()).toBe(true);
    expect(fx.writes('iam').filter((c) => c.command === 'CreatePolicy')).toEqual([]);
  });
});
