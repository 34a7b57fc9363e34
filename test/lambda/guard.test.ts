import 'aws-sdk-client-mock-jest';
import { CloudWatchClient, GetMetricDataCommand, GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import {
  AttachRolePolicyCommand,
  DetachRolePolicyCommand,
  GetAccountAuthorizationDetailsCommand,
  GetRoleCommand,
  PutRolePermissionsBoundaryCommand,
  TagRoleCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  AccessDeniedException as OrganizationsAccessDenied,
  ListTagsForResourceCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-organizations';
import { PublishCommand } from '@aws-sdk/client-sns';
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { MAX_PARALLEL_QUERIES } from '../../lambda/guard/traffic-signal';
import { APPROVAL_TAG, CONSTRAINED_TAG, STATE_TAG } from '../../lib/core/contract';
import { PolicyDocumentJson } from '../../lib/core/iam/policy-document';
import { TRUST_DENY_STATEMENT } from '../../lib/core/policy/trust-deny';
import { GuardStatus } from '../../lib/core/status';
import {
  ACCOUNT_ID,
  accessDenied,
  accessDeniedEvent,
  ADMIN_ACTOR,
  alarmEvent,
  approvalPolicyArn,
  ASSUME_STATEMENT,
  BOUNDARY_ARN,
  constrainedRole,
  GUARD_POLICY_ARNS,
  GuardFixture,
  GuardFixtureOptions,
  iamWrites,
  enforceCloudWatchLimits,
  metricResults,
  newAgentRole,
  newGuard,
  NOW,
  published,
  roleArn,
  roleChangedEvent,
  roleDetail,
  rolePager,
  RoleSpec,
  scheduledEvent,
  sent,
  stateTagsWritten,
  STATUS_PARAMETER,
  throttling,
  TOPIC_ARN,
  trafficConfig,
  trustPolicy,
} from '../support/guard-fixture';

const NOT_PRODUCTION = [{ Key: 'environment', Value: 'staging' }];
const NO_TRAFFIC: number[] = [];
/** Two traffic queries in one region. */
const ALB_AND_API = [
  { id: 'alb', label: 'ALB', expression: 'SELECT SUM(RequestCount) FROM x', regions: ['us-east-1'] },
  { id: 'api', label: 'API', expression: 'SELECT SUM(Count) FROM y', regions: ['us-east-1'] },
];

/**
 * The full sequence that constrains a new role, as command names: the guard parts, a read-back of them,
 * then the constrained tag.
 */
const CONSTRAIN = [
  'PutRolePermissionsBoundaryCommand',
  'AttachRolePolicyCommand',
  'AttachRolePolicyCommand',
  'UpdateAssumeRolePolicyCommand',
  'GetRoleCommand',
  'ListAttachedRolePoliciesCommand',
  'TagRoleCommand',
];
/** A role with writes to make is read again once the guard holds its lease (lambda/shared/role-lease.ts). */
const REREAD = ['GetRoleCommand', 'ListAttachedRolePoliciesCommand'];
/** Writes of the lease table per role written: the lease taken, then released. */
const LEASE_WRITES = 2;

function statusWritten(fx: GuardFixture, index = -1): GuardStatus {
  const calls = fx.ssm.commandCalls(PutParameterCommand);
  const call = calls.at(index);
  if (!call) throw new Error('no status was written');
  return JSON.parse(call.args[0].input.Value ?? '') as GuardStatus;
}

/** The status parameter value a first evaluation with these options writes. */
async function settledStatus(options: GuardFixtureOptions): Promise<string> {
  const first = newGuard({ ...options, roles: [] });
  await first.guard.handle(scheduledEvent());
  const value = first.ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Value;
  if (!value) throw new Error('no status was written');
  return value;
}

function commands(fx: GuardFixture, roleName: string): string[] {
  return sent(fx.iam, roleName).map((c) => c.command);
}

/** Every write but the one status write (the heartbeat) that each evaluation makes. */
function writesBeyondHeartbeat(fx: GuardFixture): number {
  return totalWrites(fx) - Math.min(1, fx.ssm.commandCalls(PutParameterCommand).length);
}

function totalWrites(fx: GuardFixture): number {
  return (
    iamWrites(fx.iam).length +
    fx.ssm.commandCalls(PutParameterCommand).length +
    fx.sns.commandCalls(PublishCommand).length
  );
}

describe('Guard: scheduled sweep', () => {
  it('production with traffic: locks every agent role, and only agent roles', async () => {
    // GIVEN a production account (Organizations tag) with traffic above the threshold
    // AND a new agent role, an open constrained agent role, a role with a foreign state value, and a non-agent role
    const fx = newGuard({
      roles: [
        newAgentRole('agent-new'),
        constrainedRole('agent-open', 'open'),
        constrainedRole('agent-odd', 'OPEN'),
        { name: 'app-role', agent: false },
      ],
    });
    // WHEN the scheduled event arrives
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN every agent role is tagged locked, none is tagged open, and the non-agent role is untouched
    expect(stateTagsWritten(fx.iam)).toEqual(
      expect.arrayContaining([
        { roleName: 'agent-new', value: 'locked' },
        { roleName: 'agent-open', value: 'locked' },
        { roleName: 'agent-odd', value: 'locked' },
      ]),
    );
    expect(stateTagsWritten(fx.iam)).toHaveLength(3);
    expect(sent(fx.iam, 'app-role')).toEqual([]);
    expect(summary).toMatchObject({
      event: 'sweep',
      trigger: 'schedule',
      locked: true,
      protected: true,
      agentRoles: 3,
      rolesChanged: 3,
      rolesFailed: 0,
    });
    // AND the new role is locked before it is constrained
    expect(commands(fx, 'agent-new')).toEqual([...REREAD, 'TagRoleCommand', ...CONSTRAIN]);
    // AND the signals were read as configured
    expect(fx.organizations).toHaveReceivedCommandWith(ListTagsForResourceCommand, { ResourceId: ACCOUNT_ID });
    expect(fx.cloudwatchRegions).toEqual(['us-east-1']);
  });

  it('production without traffic (no datapoints): opens roles, constraining a new one first', async () => {
    // GIVEN production, GetMetricData with no datapoints, and a new unconstrained agent role
    const fx = newGuard({
      traffic: NO_TRAFFIC,
      roles: [newAgentRole('agent-new'), constrainedRole('agent-x', 'locked')],
    });
    // WHEN the sweep runs
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN both roles are tagged open
    expect(stateTagsWritten(fx.iam)).toEqual(
      expect.arrayContaining([
        { roleName: 'agent-new', value: 'open' },
        { roleName: 'agent-x', value: 'open' },
      ]),
    );
    expect(summary).toMatchObject({ locked: false, protected: false });
    // AND the new role gets boundary, both guard policies and the trust deny BEFORE the open tag
    expect(commands(fx, 'agent-new')).toEqual([...REREAD, ...CONSTRAIN, 'TagRoleCommand']);
    const writes = iamWrites(fx.iam, 'agent-new');
    expect(writes[0].input).toEqual({ RoleName: 'agent-new', PermissionsBoundary: BOUNDARY_ARN });
    expect(writes.slice(1, 3).map((w) => w.input.PolicyArn)).toEqual([...GUARD_POLICY_ARNS]);
    expect(writes[4].input).toEqual({ RoleName: 'agent-new', Tags: [{ Key: CONSTRAINED_TAG, Value: 'true' }] });
    expect(writes[5].input).toEqual({ RoleName: 'agent-new', Tags: [{ Key: STATE_TAG, Value: 'open' }] });
    // AND the trust policy keeps its statement and gains the session-tag deny
    const trust = JSON.parse(writes[3].input.PolicyDocument as string) as PolicyDocumentJson;
    expect(trust).toEqual({ Version: '2012-10-17', Statement: [ASSUME_STATEMENT, TRUST_DENY_STATEMENT] });
    // AND the constrained role only needed its tag
    expect(commands(fx, 'agent-x')).toEqual([...REREAD, 'TagRoleCommand']);
  });

  it.each([
    ['another environment tag', NOT_PRODUCTION],
    ['no environment tag', [{ Key: 'team', Value: 'payments' }]],
    ['the key in other letters (tags compare as written)', [{ Key: 'Environment', Value: 'production' }]],
    ['the value in other letters', [{ Key: 'environment', Value: 'Production' }]],
  ])('not production (%s), even with traffic: roles open', async (_name, tags) => {
    // GIVEN an account that is not tagged production, with live traffic
    const fx = newGuard({ accountTags: tags, roles: [constrainedRole('agent-a', 'locked')] });
    // WHEN the sweep runs
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN the role is opened
    expect(stateTagsWritten(fx.iam)).toEqual([{ roleName: 'agent-a', value: 'open' }]);
    expect(summary).toMatchObject({ locked: false, protected: false });
    expect(statusWritten(fx).production.value).toBe(false);
  });

  it('accepts every configured production value ("prod")', async () => {
    const fx = newGuard({
      accountTags: [{ Key: 'environment', Value: 'prod' }],
      roles: [constrainedRole('agent-a', 'open')],
    });
    const summary = await fx.guard.handle(scheduledEvent());
    expect(summary.locked).toBe(true);
    expect(stateTagsWritten(fx.iam)).toEqual([{ roleName: 'agent-a', value: 'locked' }]);
  });

  it('reads every page of account tags', async () => {
    // GIVEN the production tag on the second page of ListTagsForResource
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'open')] });
    fx.organizations
      .on(ListTagsForResourceCommand)
      .resolvesOnce({ Tags: [{ Key: 'team', Value: 'payments' }], NextToken: 'next' })
      .resolves({ Tags: [{ Key: 'environment', Value: 'production' }] });
    // WHEN the sweep runs
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN the account counts as production
    expect(summary.locked).toBe(true);
    expect(fx.organizations).toHaveReceivedCommandTimes(ListTagsForResourceCommand, 2);
    expect(fx.organizations).toHaveReceivedNthCommandWith(2, ListTagsForResourceCommand, { NextToken: 'next' });
  });

  it('Organizations error: the account counts as production, and with traffic it locks', async () => {
    // GIVEN Organizations refuses the lookup, and there is traffic
    const fx = newGuard({
      accountTags: new OrganizationsAccessDenied({ message: 'not in the org', $metadata: { httpStatusCode: 400 } }),
      roles: [constrainedRole('agent-a', 'open')],
    });
    // WHEN the sweep runs
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN the role is locked, and the status says why
    expect(summary).toMatchObject({ locked: true, protected: true });
    expect(stateTagsWritten(fx.iam)).toEqual([{ roleName: 'agent-a', value: 'locked' }]);
    const status = statusWritten(fx);
    expect(status.production).toEqual({
      value: true,
      reason: 'the Organizations lookup failed (AccessDeniedException), so the account counts as production',
    });
    // AND the failure was not retried (it is not throttling), so it was one call
    expect(fx.organizations).toHaveReceivedCommandTimes(ListTagsForResourceCommand, 1);
  });

  it('Organizations error without traffic: production, but no traffic, so roles open', async () => {
    const fx = newGuard({
      accountTags: accessDenied(),
      traffic: NO_TRAFFIC,
      roles: [constrainedRole('agent-a', 'locked')],
    });
    const summary = await fx.guard.handle(scheduledEvent());
    expect(summary).toMatchObject({ locked: false, protected: false });
    expect(statusWritten(fx).production.value).toBe(true);
  });

  it('does not cache an Organizations error: the next evaluation asks again', async () => {
    // GIVEN Organizations fails once, then answers "staging"
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'open')] });
    fx.organizations.on(ListTagsForResourceCommand).rejectsOnce(accessDenied()).resolves({ Tags: NOT_PRODUCTION });
    // WHEN two sweeps run a minute apart
    const first = await fx.guard.handle(scheduledEvent());
    fx.now.value = new Date(NOW.getTime() + 60000);
    const second = await fx.guard.handle(scheduledEvent());
    // THEN the first locks (error counts as production) and the second opens
    expect(first.locked).toBe(true);
    expect(second.locked).toBe(false);
    expect(fx.organizations).toHaveReceivedCommandTimes(ListTagsForResourceCommand, 2);
  });

  describe('CloudWatch errors count as traffic', () => {
    it('GetMetricData rejects: locked, requests unknown', async () => {
      // GIVEN production, and CloudWatch refuses
      const fx = newGuard({ traffic: accessDenied('no metrics for you'), roles: [constrainedRole('agent-a', 'open')] });
      // WHEN the sweep runs
      const summary = await fx.guard.handle(scheduledEvent());
      // THEN the role is locked
      expect(summary.locked).toBe(true);
      expect(stateTagsWritten(fx.iam)).toEqual([{ roleName: 'agent-a', value: 'locked' }]);
      expect(statusWritten(fx).traffic).toMatchObject({
        active: true,
        requestsPerMinute: null,
        reason: 'the CloudWatch read failed (AccessDenied), so traffic counts as live',
      });
    });

    it('GetMetricData keeps throttling: retried up to the attempt limit, then locked', async () => {
      const fx = newGuard({ traffic: throttling(), roles: [constrainedRole('agent-a', 'open')] });
      const summary = await fx.guard.handle(scheduledEvent());
      expect(summary.locked).toBe(true);
      expect(fx.cloudwatch).toHaveReceivedCommandTimes(GetMetricDataCommand, 5);
      expect(summary.calls.retries).toBe(4);
    });

    it.each(['InternalError', 'Forbidden', 'PartialData'] as const)(
      'a query result with StatusCode %s: locked, even when another query has no traffic',
      async (statusCode) => {
        // GIVEN two queries, one fine without traffic and one CloudWatch could not complete
        const fx = newGuard({
          config: trafficConfig(ALB_AND_API),
          roles: [constrainedRole('agent-a', 'open')],
        });
        fx.cloudwatch.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({
          MetricDataResults: (input.MetricDataQueries ?? []).map((q) => ({
            Id: q.Id,
            StatusCode: q.Id === 'api' ? statusCode : 'Complete',
            Timestamps: [],
            Values: [],
          })),
        }));
        // WHEN the sweep runs
        const summary = await fx.guard.handle(scheduledEvent());
        // THEN traffic counts as live and the role is locked
        expect(summary.locked).toBe(true);
        expect(stateTagsWritten(fx.iam)).toEqual([{ roleName: 'agent-a', value: 'locked' }]);
        expect(statusWritten(fx).traffic.requestsPerMinute).toBeNull();
      },
    );
  });

  describe('traffic signal', () => {
    it('asks CloudWatch for the configured queries over the lookback, per minute, grouped by source', async () => {
      const fx = newGuard({ roles: [] });
      await fx.guard.handle(scheduledEvent());
      expect(fx.cloudwatch).toHaveReceivedCommandTimes(GetMetricDataCommand, 1);
      // Ranked by each load balancer's peak, as many as one query returns (CW-21, CW-3); no Label, so
      // each series is labelled with its load balancer (CW-23).
      expect(fx.cloudwatch).toHaveReceivedCommandWith(GetMetricDataCommand, {
        StartTime: new Date(NOW.getTime() - 15 * 60000),
        EndTime: NOW,
        MetricDataQueries: [
          {
            Id: 'traffic0',
            Label: undefined,
            Expression:
              'SELECT SUM(RequestCount) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer) ' +
              'GROUP BY LoadBalancer ORDER BY MAX() DESC LIMIT 500',
            Period: 60,
          },
        ],
      });
    });

    it.each([
      ['at the threshold', [5, 5, 5], false],
      ['just above it', [0, 6, 0], true],
      ['below it', [1, 2, 3], false],
    ])('peak requests per minute %s', async (_name, values, locked) => {
      const fx = newGuard({ traffic: values, roles: [] });
      const summary = await fx.guard.handle(scheduledEvent());
      expect(summary.locked).toBe(locked);
      expect(statusWritten(fx).traffic.requestsPerMinute).toBe(Math.max(...values));
    });

    it('adds up queries per minute: two queries of 3/min each make 6/min, above 5', async () => {
      // GIVEN two queries, one region, each 3 requests per minute
      const fx = newGuard({
        config: trafficConfig(ALB_AND_API),
        traffic: [3, 3],
        roles: [],
      });
      // WHEN the sweep runs
      const summary = await fx.guard.handle(scheduledEvent());
      // THEN each query has its own call (CW-1), and their sum counts
      expect(fx.cloudwatch).toHaveReceivedCommandTimes(GetMetricDataCommand, 2);
      for (const call of fx.cloudwatch.commandCalls(GetMetricDataCommand)) {
        expect(call.args[0].input.MetricDataQueries).toHaveLength(1);
      }
      expect(summary.locked).toBe(true);
      expect(statusWritten(fx).traffic.requestsPerMinute).toBe(6);
    });

    it('CloudWatch refuses two Metrics Insights queries in one call; the guard sends one per query and opens', async () => {
      // GIVEN production, two queries in one region, no traffic
      const fx = newGuard({ config: trafficConfig(ALB_AND_API), traffic: NO_TRAFFIC, roles: [] });
      // THEN the fake refuses both queries in one call, as CloudWatch does (CW-1)
      const client = enforceCloudWatchLimits(new CloudWatchClient({ region: 'us-east-1' }));
      const both = new GetMetricDataCommand({
        StartTime: NOW,
        EndTime: NOW,
        MetricDataQueries: ALB_AND_API.map((q) => ({ Id: q.id, Expression: q.expression, Period: 60 })),
      });
      await expect(client.send(both)).rejects.toMatchObject({ name: 'ValidationException' });
      // WHEN the sweep runs
      const summary = await fx.guard.handle(scheduledEvent());
      // THEN the read succeeded: no traffic, so the roles open
      expect(summary.locked).toBe(false);
      expect(statusWritten(fx).traffic.requestsPerMinute).toBe(0);
    });

    it(`reads at most ${MAX_PARALLEL_QUERIES} queries at once, and every query once`, async () => {
      // GIVEN more queries than run at once
      const queries = Array.from({ length: MAX_PARALLEL_QUERIES * 2 + 1 }, (_, i) => ({
        id: `q${i}`,
        label: `Q${i}`,
        expression: 'SELECT SUM(RequestCount) FROM x',
        regions: [i % 2 === 0 ? 'us-east-1' : 'eu-west-1'],
      }));
      const fx = newGuard({ config: trafficConfig(queries), roles: [] });
      let inFlight = 0;
      let peak = 0;
      fx.cloudwatch.on(GetMetricDataCommand).callsFake(async (input: GetMetricDataCommandInput) => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        return { MetricDataResults: metricResults(input, [1]) };
      });
      // WHEN the sweep runs
      const summary = await fx.guard.handle(scheduledEvent());
      // THEN calls overlap up to the bound, each query is read once, and their sum counts
      expect(peak).toBe(MAX_PARALLEL_QUERIES);
      const ids = fx.cloudwatch
        .commandCalls(GetMetricDataCommand)
        .map((c) => c.args[0].input.MetricDataQueries?.[0].Id);
      expect(ids.sort()).toEqual(queries.map((q) => q.id).sort());
      expect(statusWritten(fx).traffic.requestsPerMinute).toBe(queries.length);
      expect(summary.locked).toBe(true);
    });

    it('makes one GetMetricData call per query, in its region, and follows NextToken', async () => {
      // GIVEN queries in two regions, and a first page that continues
      const fx = newGuard({
        config: trafficConfig([
          { id: 'east', label: 'East', expression: 'SELECT SUM(RequestCount) FROM x', regions: ['us-east-1'] },
          { id: 'west', label: 'West', expression: 'SELECT SUM(RequestCount) FROM x', regions: ['eu-west-1'] },
        ]),
        traffic: NO_TRAFFIC,
        roles: [],
      });
      fx.cloudwatch
        .on(GetMetricDataCommand)
        .callsFakeOnce((input: GetMetricDataCommandInput) => ({
          MetricDataResults: metricResults(input, []),
          NextToken: 'more',
        }))
        .callsFake((input: GetMetricDataCommandInput) => ({ MetricDataResults: metricResults(input, []) }));
      // WHEN the sweep runs
      const summary = await fx.guard.handle(scheduledEvent());
      // THEN each query is asked in its own region, the first twice (two pages)
      expect(fx.cloudwatchRegions).toEqual(['us-east-1', 'eu-west-1']);
      expect(fx.cloudwatch).toHaveReceivedCommandTimes(GetMetricDataCommand, 3);
      expect(fx.cloudwatch).toHaveReceivedCommandWith(GetMetricDataCommand, {
        NextToken: 'more',
        MetricDataQueries: [expect.objectContaining({ Id: 'east' })],
      });
      expect(summary.locked).toBe(false);
    });
  });

  it('an alarm state change runs the same sweep', async () => {
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'open')] });
    const summary = await fx.guard.handle(alarmEvent());
    expect(summary).toMatchObject({ event: 'sweep', trigger: 'alarm', locked: true });
    expect(stateTagsWritten(fx.iam)).toEqual([{ roleName: 'agent-a', value: 'locked' }]);
  });

  it('an unrecognised event is logged, counted, and runs a full sweep', async () => {
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'open')] });
    const summary = await fx.guard.handle({ hello: 'world' });
    expect(summary).toMatchObject({ event: 'sweep', trigger: 'unrecognised', locked: true });
    expect(fx.logger.entries).toContainEqual({
      level: 'warn',
      message: 'Unrecognised event; running a full sweep instead',
      attributes: [{ event: '{"hello":"world"}' }],
    });
    expect(fx.metrics.total('UnrecognisedEvents')).toBe(1);
    expect(fx.iam).toHaveReceivedCommand(GetAccountAuthorizationDetailsCommand);
    expect(stateTagsWritten(fx.iam)).toEqual([{ roleName: 'agent-a', value: 'locked' }]);
  });
});

describe('Guard: retries', () => {
  it('throttling then success: the sweep completes correctly and counts the retries', async () => {
    // GIVEN the first call of role listing, of the Organizations lookup, and of TagRole throttle once
    const roles: RoleSpec[] = [constrainedRole('agent-a', 'open'), constrainedRole('agent-b', 'open')];
    const fx = newGuard({ roles, statusParameter: await settledStatus({}) });
    fx.iam
      .on(GetAccountAuthorizationDetailsCommand)
      .rejectsOnce(throttling())
      .callsFake(rolePager(roles.map(roleDetail)));
    fx.organizations
      .on(ListTagsForResourceCommand)
      .rejectsOnce(new TooManyRequestsException({ message: 'slow down', $metadata: { httpStatusCode: 400 } }))
      .resolves({ Tags: [{ Key: 'environment', Value: 'production' }] });
    fx.iam.on(TagRoleCommand).rejectsOnce(throttling()).resolves({});
    // WHEN the sweep runs
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN the outcome is the one without throttling: production from the tag, both roles locked
    expect(summary).toMatchObject({ locked: true, agentRoles: 2, rolesChanged: 2, rolesFailed: 0 });
    expect(fx.logger.entries.find((e) => e.message === 'Invocation done')?.attributes[0]).toMatchObject({
      locked: true,
    });
    expect(fx.ssm).toHaveReceivedCommandTimes(PutParameterCommand, 1); // the heartbeat only
    expect(stateTagsWritten(fx.iam)).toEqual(
      expect.arrayContaining([
        { roleName: 'agent-a', value: 'locked' },
        { roleName: 'agent-b', value: 'locked' },
      ]),
    );
    // AND each throttled call was made twice, and the retries are counted
    expect(fx.iam).toHaveReceivedCommandTimes(GetAccountAuthorizationDetailsCommand, 2);
    expect(fx.organizations).toHaveReceivedCommandTimes(ListTagsForResourceCommand, 2);
    expect(fx.iam).toHaveReceivedCommandTimes(TagRoleCommand, 3);
    expect(summary.calls.retries).toBe(3);
    expect(summary.calls.failures).toBe(0);
    expect(fx.metrics.total('ApiRetries')).toBe(3);
    // AND nothing fell back to the untag path
    expect(fx.iam).not.toHaveReceivedCommand(UntagRoleCommand);
  });

  it('role listing fails for good: the invocation rejects, no role is written, and the error is counted', async () => {
    // GIVEN role listing is refused (and a status parameter exists, so its read does not fail)
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'open')], statusParameter: await settledStatus({}) });
    fx.iam.on(GetAccountAuthorizationDetailsCommand).rejects(accessDenied());
    // WHEN the sweep runs THEN it fails (EventBridge retries the invocation), having written no role
    await expect(fx.guard.handle(scheduledEvent())).rejects.toThrow('User is not authorized');
    expect(iamWrites(fx.iam)).toEqual([]);
    expect(fx.metrics.total('Errors')).toBe(1);
    expect(fx.metrics.total('ApiFailures')).toBe(1);
  });
});

describe('Guard: scale', () => {
  it('reconciles 2,000 agent roles over 4 pages, never touches non-agent roles, and keeps to the concurrency', async () => {
    // GIVEN 4 pages, each of 500 open agent roles and 25 other roles, in a protected account
    const roles: RoleSpec[] = [];
    for (let page = 0; page < 4; page++) {
      for (let i = 0; i < 500; i++) roles.push(constrainedRole(`agent-${page}-${i}`, 'open'));
      for (let i = 0; i < 25; i++) roles.push({ name: `app-${page}-${i}`, agent: false, boundaryArn: undefined });
    }
    const fx = newGuard({ roles, pageSize: 525 });
    // AND TagRole takes a moment, so that calls overlap
    let inFlight = 0;
    let peak = 0;
    fx.iam.on(TagRoleCommand).callsFake(async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise<void>((resolve) => setImmediate(resolve));
      inFlight--;
      return {};
    });
    // WHEN the sweep runs
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN all four pages were read, following the markers
    expect(fx.iam).toHaveReceivedCommandTimes(GetAccountAuthorizationDetailsCommand, 4);
    expect(fx.iam).toHaveReceivedNthSpecificCommandWith(1, GetAccountAuthorizationDetailsCommand, {
      Filter: ['Role'],
      MaxItems: 1000,
      Marker: undefined,
    });
    expect(fx.iam).toHaveReceivedNthSpecificCommandWith(4, GetAccountAuthorizationDetailsCommand, { Marker: 'page-3' });
    // AND every agent role was locked exactly once
    const tagged = stateTagsWritten(fx.iam);
    expect(tagged).toHaveLength(2000);
    expect(new Set(tagged.map((t) => t.roleName)).size).toBe(2000);
    expect(tagged.every((t) => t.roleName.startsWith('agent-') && t.value === 'locked')).toBe(true);
    // AND no non-agent role was named in any call
    expect(fx.iam.calls().some((c) => JSON.stringify(c.args[0].input).includes('"app-'))).toBe(false);
    expect(summary).toMatchObject({ agentRoles: 2000, rolesChanged: 2000, rolesFailed: 0 });
    // AND at most `concurrency` roles were in flight at once
    expect(peak).toBeLessThanOrEqual(8);
    expect(peak).toBeGreaterThan(1);
    // AND the reads were: 4 pages, 1 Organizations, 1 CloudWatch, 1 status (a plan that only locks
    // needs no second read of the role under its lease)
    expect(summary.calls.reads).toBe(7);
    // TagRole and the lease per role, the lock decision, status parameter, status notice
    expect(summary.calls.writes).toBe(2000 * (1 + LEASE_WRITES) + 1 + 1 + 1);
  });
});

describe('Guard: steady state', () => {
  it('protected account, all roles constrained and locked, status current: only the heartbeat and the lock decision are written', async () => {
    // GIVEN the status parameter as a previous evaluation wrote it, and roles already in shape
    const statusParameter = await settledStatus({});
    const fx = newGuard({
      statusParameter,
      roles: [
        constrainedRole('agent-a', 'locked'),
        constrainedRole('agent-b', 'locked'),
        { name: 'app', agent: false },
      ],
    });
    // AND the traffic figure differs from last time (not a material change)
    fx.cloudwatch
      .on(GetMetricDataCommand)
      .callsFake((input: GetMetricDataCommandInput) => ({ MetricDataResults: metricResults(input, [999]) }));
    // WHEN the sweep runs
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN nothing is written anywhere
    expect(summary).toMatchObject({ locked: true, agentRoles: 2, rolesChanged: 0, rolesRepaired: 0 });
    expect(writesBeyondHeartbeat(fx)).toBe(0);
    expect(fx.iam).not.toHaveReceivedCommand(TagRoleCommand);
    expect(fx.iam).not.toHaveReceivedCommand(UntagRoleCommand);
    expect(fx.iam).not.toHaveReceivedCommand(AttachRolePolicyCommand);
    expect(fx.iam).not.toHaveReceivedCommand(PutRolePermissionsBoundaryCommand);
    expect(fx.iam).not.toHaveReceivedCommand(UpdateAssumeRolePolicyCommand);
    expect(fx.ssm).toHaveReceivedCommandTimes(PutParameterCommand, 1); // the heartbeat
    expect(fx.sns).not.toHaveReceivedCommand(PublishCommand);
    // AND no role's lease is taken; the only write is the lock decision, for evaluations under way
    expect(fx.leaseTable.log.map((c) => `${c.command} ${c.pk}`)).toEqual(['Put decision#lock']);
    // AND the other write is the status heartbeat
    expect(summary.calls.writes).toBe(2);
    expect(fx.metrics.total('StateChanges')).toBe(0);
  });

  it('open account, all roles constrained and open, status current: only the heartbeat and the lock decision are written', async () => {
    const statusParameter = await settledStatus({ accountTags: NOT_PRODUCTION });
    const fx = newGuard({
      statusParameter,
      accountTags: NOT_PRODUCTION,
      roles: [constrainedRole('agent-a', 'open'), constrainedRole('agent-b', 'open')],
    });
    const summary = await fx.guard.handle(scheduledEvent());
    expect(summary).toMatchObject({ locked: false, rolesChanged: 0 });
    expect(writesBeyondHeartbeat(fx)).toBe(0);
    expect(summary.calls.writes).toBe(1);
  });

  it('accepts the trust deny as IAM returns it (single values, lists of one)', async () => {
    // GIVEN a trust statement written with lists where the guard writes strings, and vice versa
    const trust: PolicyDocumentJson = {
      Version: '2012-10-17',
      Statement: [
        ASSUME_STATEMENT,
        {
          Sid: 'AgentGuardNoGuardSessionTags',
          Effect: 'Deny',
          Principal: { AWS: ['*'] },
          Action: ['sts:TagSession'],
          Condition: { 'ForAnyValue:StringLike': { 'aws:TagKeys': '?????-?????:*' } },
        },
      ],
    };
    const statusParameter = await settledStatus({});
    const fx = newGuard({ statusParameter, roles: [constrainedRole('agent-a', 'locked', { trust })] });
    // WHEN the sweep runs THEN the trust policy is left alone
    await fx.guard.handle(scheduledEvent());
    expect(fx.iam).not.toHaveReceivedCommand(UpdateAssumeRolePolicyCommand);
    expect(writesBeyondHeartbeat(fx)).toBe(0);
  });
});

describe('Guard: monitor mode', () => {
  it('protected account: roles end open, the status says protected and not locked', async () => {
    // GIVEN MONITOR mode, production with traffic, a new role and a locked role
    const fx = newGuard({
      config: { mode: 'MONITOR' },
      roles: [newAgentRole('agent-new'), constrainedRole('agent-x', 'locked')],
    });
    // WHEN the sweep runs
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN both roles are open, the new one constrained first
    expect(summary).toMatchObject({ locked: false, protected: true });
    expect(stateTagsWritten(fx.iam)).toEqual(
      expect.arrayContaining([
        { roleName: 'agent-new', value: 'open' },
        { roleName: 'agent-x', value: 'open' },
      ]),
    );
    expect(stateTagsWritten(fx.iam).some((t) => t.value === 'locked')).toBe(false);
    expect(commands(fx, 'agent-new')).toEqual([...REREAD, ...CONSTRAIN, 'TagRoleCommand']);
    // AND the status tells agents what would happen
    const status = statusWritten(fx);
    expect(status).toMatchObject({ mode: 'MONITOR', locked: false, protected: true });
    expect(status.reason).toContain('would lock');
    // AND the notice says "would lock"
    const notice = published(fx.sns).find((p) => p.subject.startsWith('agent-guard: account'));
    expect(notice?.subject).toBe(`agent-guard: account ${ACCOUNT_ID} would lock (monitor mode)`);
    expect(notice?.message).toContain('Why: monitor mode, roles stay open; would lock');
  });
});

describe('Guard: partial failure', () => {
  const roles = [newAgentRole('agent-a'), newAgentRole('agent-b'), newAgentRole('agent-c')];

  function failingAttach(): GuardFixture {
    // GIVEN an open decision (not production) and three new roles, where attaching to agent-b is refused
    const fx = newGuard({ accountTags: NOT_PRODUCTION, roles });
    fx.iam.on(AttachRolePolicyCommand, { RoleName: 'agent-b' }).rejects(accessDenied('not authorized to attach'));
    return fx;
  }

  it('a role that cannot be constrained is locked, not opened; the others proceed', async () => {
    const fx = failingAttach();
    // WHEN the sweep runs
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN agent-b stopped at the failed attach, was left without the constrained tag and tagged locked, never open
    expect(commands(fx, 'agent-b')).toEqual([
      ...REREAD,
      'PutRolePermissionsBoundaryCommand',
      'AttachRolePolicyCommand',
      'UntagRoleCommand',
      'TagRoleCommand',
    ]);
    expect(fx.iam).toHaveReceivedCommandWith(UntagRoleCommand, { RoleName: 'agent-b', TagKeys: [CONSTRAINED_TAG] });
    expect(fx.iam).toHaveReceivedCommandWith(TagRoleCommand, {
      RoleName: 'agent-b',
      Tags: [{ Key: STATE_TAG, Value: 'locked' }],
    });
    expect(fx.iam).not.toHaveReceivedCommandWith(TagRoleCommand, {
      RoleName: 'agent-b',
      Tags: [{ Key: STATE_TAG, Value: 'open' }],
    });
    // AND the refused call was not retried
    expect(fx.iam.commandCalls(AttachRolePolicyCommand, { RoleName: 'agent-b' })).toHaveLength(1);
    // AND the other roles were constrained and opened
    for (const name of ['agent-a', 'agent-c'])
      expect(commands(fx, name)).toEqual([...REREAD, ...CONSTRAIN, 'TagRoleCommand']);
    expect(stateTagsWritten(fx.iam)).toEqual(
      expect.arrayContaining([
        { roleName: 'agent-a', value: 'open' },
        { roleName: 'agent-c', value: 'open' },
      ]),
    );
    // AND a failure notice names the role and says it can do nothing
    expect(published(fx.sns)).toContainEqual({
      subject: 'agent-guard: 1 agent role(s) could not be reconciled',
      message:
        'agent-b: AccessDenied; not constrained: it can do nothing until the guard can verify its guard policies',
    });
    expect(fx.sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: TOPIC_ARN });
    expect(summary).toMatchObject({ locked: false, agentRoles: 3, rolesFailed: 1 });
    expect(fx.metrics.total('RoleFailures')).toBe(1);
    expect(fx.logger.entries).toContainEqual({
      level: 'error',
      message: 'Could not reconcile an agent role; locking it',
      attributes: [{ role: roleArn('agent-b'), error: 'AccessDenied' }],
    });
  });

  it('falls back to removing the state tag when TagRole fails too', async () => {
    const fx = failingAttach();
    fx.iam.on(TagRoleCommand, { RoleName: 'agent-b' }).rejects(accessDenied('no tagging'));
    await fx.guard.handle(scheduledEvent());
    expect(commands(fx, 'agent-b')).toEqual([
      ...REREAD,
      'PutRolePermissionsBoundaryCommand',
      'AttachRolePolicyCommand',
      'UntagRoleCommand',
      'TagRoleCommand',
      'UntagRoleCommand',
    ]);
    expect(fx.iam).toHaveReceivedCommandWith(UntagRoleCommand, { RoleName: 'agent-b', TagKeys: [STATE_TAG] });
    expect(published(fx.sns)).toContainEqual({
      subject: 'agent-guard: 1 agent role(s) could not be reconciled',
      message:
        'agent-b: AccessDenied; not constrained: it can do nothing until the guard can verify its guard policies',
    });
  });

  it('says so loudly when the role cannot be locked either', async () => {
    const fx = failingAttach();
    fx.iam.on(TagRoleCommand, { RoleName: 'agent-b' }).rejects(accessDenied('no tagging'));
    fx.iam.on(UntagRoleCommand, { RoleName: 'agent-b' }).rejects(accessDenied('no untagging'));
    const summary = await fx.guard.handle(scheduledEvent());
    expect(published(fx.sns)).toContainEqual({
      subject: 'agent-guard: 1 agent role(s) could not be reconciled',
      message: 'agent-b: AccessDenied; COULD NOT LOCK, check it by hand',
    });
    expect(summary.rolesFailed).toBe(1);
    // AND the other roles still completed
    expect(
      stateTagsWritten(fx.iam)
        .filter((t) => t.value === 'open')
        .map((t) => t.roleName)
        .sort(),
    ).toEqual(['agent-a', 'agent-c']);
  });

  it('a failed notice does not fail the invocation', async () => {
    const fx = failingAttach();
    fx.sns.on(PublishCommand).rejects(accessDenied('no publish'));
    const summary = await fx.guard.handle(scheduledEvent());
    expect(summary.rolesFailed).toBe(1);
    expect(fx.logger.messages('error')).toContain('Could not publish a notice');
  });
});

describe('Guard: role-changed events', () => {
  it.each(['TagRole', 'CreateRole'])(
    'auto-constrains a new agent role on %s, in that one invocation (locked account)',
    async (eventName) => {
      // GIVEN a role just tagged as an agent, without boundary or guard policies, in a protected account
      const fx = newGuard({ roles: [newAgentRole('agent-new')] });
      // WHEN the CloudTrail event arrives
      const summary = await fx.guard.handle(roleChangedEvent(eventName, 'agent-new'));
      // THEN the role is read fresh, then locked and constrained
      expect(commands(fx, 'agent-new')).toEqual([
        'GetRoleCommand',
        'ListAttachedRolePoliciesCommand',
        ...REREAD,
        'TagRoleCommand',
        ...CONSTRAIN,
      ]);
      expect(fx.iam).toHaveReceivedNthSpecificCommandWith(1, TagRoleCommand, {
        RoleName: 'agent-new',
        Tags: [{ Key: STATE_TAG, Value: 'locked' }],
      });
      expect(fx.iam).toHaveReceivedCommandWith(PutRolePermissionsBoundaryCommand, {
        RoleName: 'agent-new',
        PermissionsBoundary: BOUNDARY_ARN,
      });
      for (const policyArn of GUARD_POLICY_ARNS) {
        expect(fx.iam).toHaveReceivedCommandWith(AttachRolePolicyCommand, {
          RoleName: 'agent-new',
          PolicyArn: policyArn,
        });
      }
      // AND no full listing was needed
      expect(fx.iam).not.toHaveReceivedCommand(GetAccountAuthorizationDetailsCommand);
      expect(summary).toMatchObject({
        event: 'role-changed',
        trigger: 'agent-new',
        locked: true,
        agentRoles: 1,
        rolesChanged: 1,
        rolesRepaired: 0,
      });
      // AND a new role is no repair, so there is no repair notice
      expect(published(fx.sns).map((p) => p.subject)).not.toContain('agent-guard: restored the guard on an agent role');
    },
  );

  it('auto-constrains and opens a new agent role in an open account, open last', async () => {
    const fx = newGuard({ accountTags: NOT_PRODUCTION, roles: [newAgentRole('agent-new')] });
    await fx.guard.handle(roleChangedEvent('CreateRole', 'agent-new'));
    expect(commands(fx, 'agent-new')).toEqual([
      'GetRoleCommand',
      'ListAttachedRolePoliciesCommand',
      ...REREAD,
      ...CONSTRAIN,
      'TagRoleCommand',
    ]);
    expect(stateTagsWritten(fx.iam)).toEqual([{ roleName: 'agent-new', value: 'open' }]);
  });

  it('ignores a role that is not an agent role: no evaluation, no writes', async () => {
    const fx = newGuard({ roles: [{ name: 'app-role', agent: false }] });
    const summary = await fx.guard.handle(roleChangedEvent('TagRole', 'app-role'));
    expect(commands(fx, 'app-role')).toEqual(['GetRoleCommand', 'ListAttachedRolePoliciesCommand']);
    expect(fx.organizations).not.toHaveReceivedAnyCommand();
    expect(fx.cloudwatch).not.toHaveReceivedAnyCommand();
    expect(totalWrites(fx)).toBe(0);
    expect(summary).toMatchObject({ event: 'role-changed', agentRoles: 0, locked: undefined });
  });

  it('treats the agent tag key without regard to case, as IAM does', async () => {
    const fx = newGuard({ roles: [{ name: 'agent-caps', agent: false, tags: { 'Agent-Guard:Agent': 'true' } }] });
    await fx.guard.handle(roleChangedEvent('TagRole', 'agent-caps'));
    expect(stateTagsWritten(fx.iam)).toEqual([{ roleName: 'agent-caps', value: 'locked' }]);
  });

  it('ignores a role deleted since the event', async () => {
    const fx = newGuard({ roles: [] });
    const summary = await fx.guard.handle(roleChangedEvent('TagRole', 'gone'));
    expect(commands(fx, 'gone')).toEqual(['GetRoleCommand']);
    expect(summary.agentRoles).toBe(0);
    expect(totalWrites(fx)).toBe(0);
  });

  it('restores a removed boundary and sends a repair notice naming the role and the actor', async () => {
    // GIVEN a constrained, locked role whose boundary was deleted
    const fx = newGuard({ roles: [constrainedRole('agent-x', 'locked', { boundaryArn: undefined })] });
    // WHEN the DeleteRolePermissionsBoundary event arrives
    const summary = await fx.guard.handle(roleChangedEvent('DeleteRolePermissionsBoundary', 'agent-x'));
    // THEN the constrained tag comes off, the guard boundary is put back, read back, and the tag goes on again
    expect(iamWrites(fx.iam)).toEqual([
      { command: 'UntagRoleCommand', input: { RoleName: 'agent-x', TagKeys: [CONSTRAINED_TAG] } },
      {
        command: 'PutRolePermissionsBoundaryCommand',
        input: { RoleName: 'agent-x', PermissionsBoundary: BOUNDARY_ARN },
      },
      { command: 'TagRoleCommand', input: { RoleName: 'agent-x', Tags: [{ Key: CONSTRAINED_TAG, Value: 'true' }] } },
    ]);
    // AND the repair is announced
    const repair = published(fx.sns).find((p) => p.subject === 'agent-guard: restored the guard on an agent role');
    expect(repair?.message).toContain(`Role:  ${roleArn('agent-x')}`);
    expect(repair?.message).toContain('Found: boundary removed');
    expect(repair?.message).toContain(`Changed by: ${ADMIN_ACTOR}`);
    expect(summary).toMatchObject({ rolesRepaired: 1, rolesChanged: 1 });
  });

  it('replaces a swapped boundary and names the one it found', async () => {
    const other = `arn:aws:iam::${ACCOUNT_ID}:policy/Permissive`;
    const fx = newGuard({ roles: [constrainedRole('agent-x', 'locked', { boundaryArn: other })] });
    await fx.guard.handle(roleChangedEvent('PutRolePermissionsBoundary', 'agent-x'));
    expect(fx.iam).toHaveReceivedCommandWith(PutRolePermissionsBoundaryCommand, {
      RoleName: 'agent-x',
      PermissionsBoundary: BOUNDARY_ARN,
    });
    expect(
      published(fx.sns)
        .map((p) => p.message)
        .join('\n'),
    ).toContain(`boundary replaced by ${other}`);
  });

  it('re-attaches a detached guard policy and restores a stripped trust deny, found by the sweep', async () => {
    // GIVEN a role that lost one guard policy and the trust-policy deny
    const fx = newGuard({
      roles: [constrainedRole('agent-x', 'locked', { policyArns: [GUARD_POLICY_ARNS[0]], trust: false })],
    });
    // WHEN the sweep runs
    await fx.guard.handle(scheduledEvent());
    // THEN both are put back
    expect(iamWrites(fx.iam).map((w) => w.command)).toEqual([
      'UntagRoleCommand',
      'AttachRolePolicyCommand',
      'UpdateAssumeRolePolicyCommand',
      'TagRoleCommand',
    ]);
    expect(fx.iam).toHaveReceivedCommandWith(AttachRolePolicyCommand, { PolicyArn: GUARD_POLICY_ARNS[1] });
    // AND the notice lists both, found by the sweep
    const repair = published(fx.sns).find((p) => p.subject === 'agent-guard: restored the guard on an agent role');
    expect(repair?.message).toContain(`guard policy ${GUARD_POLICY_ARNS[1]} detached`);
    expect(repair?.message).toContain('trust-policy deny of agent-guard session tags removed');
    expect(repair?.message).toContain('Changed by: unknown (found by the scheduled sweep)');
  });

  it('leaves a role whose trust policy cannot be read unconstrained and locked, even in an open account', async () => {
    // GIVEN an open account and a role whose trust policy is not JSON
    const fx = newGuard({
      accountTags: NOT_PRODUCTION,
      roles: [constrainedRole('agent-x', 'open', { trust: { raw: encodeURIComponent('{not json') } })],
    });
    // WHEN the sweep runs
    await fx.guard.handle(scheduledEvent());
    // THEN it is locked and never opened, and the problem is logged
    expect(stateTagsWritten(fx.iam)).toEqual([{ roleName: 'agent-x', value: 'locked' }]);
    expect(fx.iam).not.toHaveReceivedCommand(UpdateAssumeRolePolicyCommand);
    expect(fx.iam).toHaveReceivedCommandWith(UntagRoleCommand, { RoleName: 'agent-x', TagKeys: [CONSTRAINED_TAG] });
    expect(fx.logger.messages('error')).toContain('Agent role left unconstrained and locked');
  });
});

describe('Guard: approval seam', () => {
  const approvalTags = { [APPROVAL_TAG]: 'abc123' };

  it('both approval versions attached: the standard guard policies are not attached', async () => {
    // GIVEN a locked role with an approval in force: both approval versions, no standard policies
    const statusParameter = await settledStatus({});
    const fx = newGuard({
      statusParameter,
      roles: [
        constrainedRole('agent-approved', 'locked', {
          tags: approvalTags,
          policyArns: [approvalPolicyArn('abc123', 1), approvalPolicyArn('abc123', 2)],
        }),
      ],
    });
    // WHEN the sweep runs
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN nothing is attached (or detached)
    expect(fx.iam).not.toHaveReceivedCommand(AttachRolePolicyCommand);
    expect(fx.iam).not.toHaveReceivedCommand(DetachRolePolicyCommand);
    expect(writesBeyondHeartbeat(fx)).toBe(0);
    expect(summary.rolesRepaired).toBe(0);
    // AND the dashboard's metric counts it as an approval in force
    expect(fx.metrics.total('ApprovalsInForce')).toBe(1);
  });

  it('only one approval version attached (half-done swap): both standard policies come back', async () => {
    const fx = newGuard({
      roles: [
        constrainedRole('agent-approved', 'locked', {
          tags: approvalTags,
          policyArns: [approvalPolicyArn('abc123', 1)],
        }),
      ],
    });
    await fx.guard.handle(scheduledEvent());
    expect(fx.iam.commandCalls(AttachRolePolicyCommand).map((c) => c.args[0].input.PolicyArn)).toEqual([
      ...GUARD_POLICY_ARNS,
    ]);
    expect(fx.iam).not.toHaveReceivedCommand(DetachRolePolicyCommand);
    expect(fx.metrics.total('ApprovalsInForce')).toBe(0);
  });

  it("another approval's versions do not count for this role's approval", async () => {
    const fx = newGuard({
      roles: [
        constrainedRole('agent-approved', 'locked', {
          tags: approvalTags,
          policyArns: [approvalPolicyArn('zzz999', 1), approvalPolicyArn('zzz999', 2)],
        }),
      ],
    });
    await fx.guard.handle(scheduledEvent());
    expect(fx.iam).toHaveReceivedCommandTimes(AttachRolePolicyCommand, 2);
    expect(fx.metrics.total('ApprovalsInForce')).toBe(0);
  });

  it('the sweep counts approvals in force among every agent role, once per sweep', async () => {
    const fx = newGuard({
      roles: [
        constrainedRole('agent-approved', 'locked', {
          tags: approvalTags,
          policyArns: [approvalPolicyArn('abc123', 1), approvalPolicyArn('abc123', 2)],
        }),
        constrainedRole('agent-plain', 'locked'),
      ],
    });
    await fx.guard.handle(scheduledEvent());
    expect(fx.metrics.counts.filter((c) => c.name === 'ApprovalsInForce')).toEqual([
      { name: 'ApprovalsInForce', value: 1 },
    ]);
  });
});

describe('Guard: access-denied events', () => {
  /** A call CloudTrail records as refused: its source, its name and the error code. */
  interface RefusedCall {
    readonly eventSource: string;
    readonly eventName: string;
    readonly errorCode: string;
  }
  const PUT_OBJECT: RefusedCall = {
    eventSource: 's3.amazonaws.com',
    eventName: 'PutObject',
    errorCode: 'AccessDenied',
  };
  /** Lambda names the call DeleteFunction20150331 (CT-1), and refuses with AccessDeniedException. */
  const DELETE_FUNCTION: RefusedCall = {
    eventSource: 'lambda.amazonaws.com',
    eventName: 'DeleteFunction20150331',
    errorCode: 'AccessDeniedException',
  };

  /** agent-a refused `call`, with `errorMessage` as CloudTrail records it. */
  function denied(call: RefusedCall, errorMessage: string): Record<string, unknown> {
    return accessDeniedEvent({ roleName: 'agent-a', ...call, errorMessage });
  }

  const instanceArn = `arn:aws:ec2:us-east-1:${ACCOUNT_ID}:instance/i-0123456789abcdef0`;

  it('a protected action denied to an agent role: a notice with the approve command', async () => {
    // GIVEN an agent role denied ec2:TerminateInstances
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'locked')] });
    const event = accessDeniedEvent({
      roleName: 'agent-a',
      errorCode: 'AccessDenied',
      eventSource: 'ec2.amazonaws.com',
      eventName: 'TerminateInstances',
      resourceArn: instanceArn,
    });
    // WHEN the event arrives
    const summary = await fx.guard.handle(event);
    // THEN one notice is published, naming the role, the action and the approve command
    expect(fx.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const [notice] = published(fx.sns);
    expect(notice.subject).toBe('agent-guard: denied ec2:TerminateInstances to an agent role');
    expect(notice.message).toContain(roleArn('agent-a'));
    expect(notice.message).toContain('ec2:TerminateInstances');
    expect(notice.message).toContain(
      `agent-guard approve --role '${roleArn('agent-a')}' --actions 'ec2:TerminateInstances' --resources '${instanceArn}'`,
    );
    // AND no role was written and no signal read
    expect(iamWrites(fx.iam)).toEqual([]);
    expect(fx.organizations).not.toHaveReceivedAnyCommand();
    expect(fx.cloudwatch).not.toHaveReceivedAnyCommand();
    expect(summary).toMatchObject({ event: 'access-denied', trigger: 'ec2:TerminateInstances', agentRoles: 0 });
    expect(fx.metrics.total('DenialNotices')).toBe(1);
  });

  it('quotes the published status as the reason when there is one', async () => {
    const statusParameter = await settledStatus({});
    const fx = newGuard({ statusParameter, roles: [constrainedRole('agent-a', 'locked')] });
    await fx.guard.handle(accessDeniedEvent({ roleName: 'agent-a' }));
    const [notice] = published(fx.sns);
    expect(notice.message).toMatch(
      /Reason: {3}the account is locked: production \(account tag environment=production\)/,
    );
  });

  it('a non-protected action without a guard policy in the message: no notice, no lookups', async () => {
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'locked')] });
    await fx.guard.handle(denied(PUT_OBJECT, 'Access Denied'));
    expect(fx.sns).not.toHaveReceivedCommand(PublishCommand);
    expect(fx.iam).not.toHaveReceivedCommand(GetRoleCommand);
  });

  it('any action denied by a guard policy named in the message: a notice', async () => {
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'locked')] });
    await fx.guard.handle(
      denied(
        PUT_OBJECT,
        `User: x is not authorized to perform: s3:PutObject with an explicit deny in an identity-based policy: ${GUARD_POLICY_ARNS[0]}`,
      ),
    );
    expect(fx.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(published(fx.sns)[0].message).toContain('s3:PutObject');
  });

  it('a protected action denied to a role that is not an agent role: no notice', async () => {
    const fx = newGuard({ roles: [{ name: 'app-role', agent: false }] });
    await fx.guard.handle(accessDeniedEvent({ roleName: 'app-role', errorCode: 'AccessDenied' }));
    expect(fx.iam).toHaveReceivedCommandWith(GetRoleCommand, { RoleName: 'app-role' });
    expect(fx.sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('a Lambda call denied by a guard policy: the notice names the IAM action, not the CloudTrail name', async () => {
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'locked')] });
    await fx.guard.handle(
      denied(
        DELETE_FUNCTION,
        `User: arn:aws:sts::${ACCOUNT_ID}:assumed-role/agent-a/agent is not authorized to perform: ` +
          `lambda:DeleteFunction on resource: arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:orders ` +
          `with an explicit deny in an identity-based policy: ${GUARD_POLICY_ARNS[0]}`,
      ),
    );
    const [notice] = published(fx.sns);
    expect(notice.subject).toBe('agent-guard: denied lambda:DeleteFunction to an agent role');
    expect(notice.message).toContain("--actions 'lambda:DeleteFunction'");
    expect(notice.message).not.toContain('20150331');
  });

  it('a Lambda call denied without a policy ARN in the message: recognised as protected through the catalog', async () => {
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'locked')] });
    await fx.guard.handle(denied(DELETE_FUNCTION, 'User: x is not authorized to perform: lambda:DeleteFunction'));
    expect(fx.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(published(fx.sns)[0].message).toContain("--actions 'lambda:DeleteFunction'");
  });

  it('an exempt action is not protected', async () => {
    const fx = newGuard({
      config: { exemptActions: ['ec2:Terminate*'] },
      roles: [constrainedRole('agent-a', 'locked')],
    });
    await fx.guard.handle(accessDeniedEvent({ roleName: 'agent-a', errorMessage: 'denied' }));
    expect(fx.sns).not.toHaveReceivedCommand(PublishCommand);
  });
});

describe('Guard: status parameter', () => {
  it('writes the status at every evaluation (the heartbeat), and notifies only when it changes', async () => {
    // GIVEN no status parameter yet, production with traffic
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'locked')] });
    // WHEN the first sweep runs
    await fx.guard.handle(scheduledEvent());
    // THEN the parameter is written with the decision, the signals and how to get an approval
    expect(fx.ssm).toHaveReceivedCommandTimes(PutParameterCommand, 1);
    expect(fx.ssm).toHaveReceivedCommandWith(PutParameterCommand, {
      Name: STATUS_PARAMETER,
      Type: 'String',
      Overwrite: true,
    });
    const status = statusWritten(fx);
    expect(status).toMatchObject({
      schemaVersion: 1,
      account: ACCOUNT_ID,
      mode: 'ENFORCE',
      locked: true,
      protected: true,
      since: NOW.toISOString(),
      production: { value: true, reason: 'account tag environment=production' },
      traffic: { active: true, requestsPerMinute: 140, thresholdPerMinute: 5, lookbackMinutes: 15 },
    });
    expect(status.howToGetApproval).toContain('agent-guard request --role');
    // AND a state notice says the account is locked
    expect(published(fx.sns)).toEqual([
      {
        subject: `agent-guard: account ${ACCOUNT_ID} locked`,
        message: `Agent roles in account ${ACCOUNT_ID}: locked.\nWhy: ${status.reason}`,
      },
    ]);

    // WHEN a second sweep five minutes later sees the same outcome (a different traffic figure)
    fx.now.value = new Date(NOW.getTime() + 5 * 60000);
    fx.cloudwatch
      .on(GetMetricDataCommand)
      .callsFake((input: GetMetricDataCommandInput) => ({ MetricDataResults: metricResults(input, [80]) }));
    const second = await fx.guard.handle(scheduledEvent());
    // THEN the status is written again with the new heartbeat, and nothing is published
    expect(fx.ssm).toHaveReceivedCommandTimes(PutParameterCommand, 2);
    expect(statusWritten(fx)).toMatchObject({ evaluatedAt: fx.now.value.toISOString(), since: NOW.toISOString() });
    expect(fx.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    // AND Organizations is not read again (cached), but the status is (another invocation may have written it)
    expect(fx.organizations).toHaveReceivedCommandTimes(ListTagsForResourceCommand, 1);
    expect(fx.ssm).toHaveReceivedCommandTimes(GetParameterCommand, 2);
    expect(second.calls.writes).toBe(2); // the heartbeat and the lock decision
  });

  it('rewrites the status, with a new "since", when the outcome changes', async () => {
    // GIVEN a locked account
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'locked')] });
    await fx.guard.handle(scheduledEvent());
    // WHEN traffic declines below the threshold ten minutes later (a decline, not a drop to none)
    const later = new Date(NOW.getTime() + 10 * 60000);
    fx.now.value = later;
    fx.cloudwatch
      .on(GetMetricDataCommand)
      .callsFake((input: GetMetricDataCommandInput) => ({ MetricDataResults: metricResults(input, [2]) }));
    await fx.guard.handle(scheduledEvent());
    // THEN the role opens, the status is rewritten, and an "open" notice goes out
    expect(stateTagsWritten(fx.iam)).toEqual([{ roleName: 'agent-a', value: 'open' }]);
    expect(fx.ssm).toHaveReceivedCommandTimes(PutParameterCommand, 2);
    expect(statusWritten(fx)).toMatchObject({
      locked: false,
      since: later.toISOString(),
      traffic: { active: false, requestsPerMinute: 2, liveAt: null, holdUntil: null },
    });
    expect(published(fx.sns).map((p) => p.subject)).toEqual([
      `agent-guard: account ${ACCOUNT_ID} locked`,
      `agent-guard: account ${ACCOUNT_ID} open`,
    ]);
  });

  it('keeps "since" from the parameter written before a cold start while the lock state holds', async () => {
    // GIVEN a status written an hour ago: production without traffic, open
    const statusParameter = await settledStatus({ traffic: NO_TRAFFIC });
    const later = new Date(NOW.getTime() + 3600000);
    // AND, after a cold start, the account is no longer tagged production (still open)
    const fx = newGuard({ statusParameter, traffic: NO_TRAFFIC, accountTags: NOT_PRODUCTION, roles: [] });
    fx.now.value = later;
    // WHEN the sweep runs
    await fx.guard.handle(scheduledEvent());
    // THEN the material change is written, but "since" stays, because locked and protected did not change
    expect(fx.ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    expect(fx.ssm).toHaveReceivedCommandTimes(PutParameterCommand, 1);
    expect(statusWritten(fx)).toMatchObject({
      locked: false,
      protected: false,
      since: NOW.toISOString(),
      evaluatedAt: later.toISOString(),
      production: { value: false },
    });
  });

  it('a cold start with a current status and a changed traffic figure writes the heartbeat only', async () => {
    const statusParameter = await settledStatus({});
    const fx = newGuard({ statusParameter, traffic: [7], roles: [] });
    fx.now.value = new Date(NOW.getTime() + 3600000);
    await fx.guard.handle(scheduledEvent());
    expect(fx.ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    expect(fx.ssm).toHaveReceivedCommandTimes(PutParameterCommand, 1);
    expect(statusWritten(fx)).toMatchObject({ since: NOW.toISOString(), evaluatedAt: fx.now.value.toISOString() });
    expect(fx.sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('every evaluation writes the heartbeat, role events included; an event that evaluates nothing writes none', async () => {
    // GIVEN a settled status, an agent role in shape and a role that is not an agent's
    const statusParameter = await settledStatus({});
    const fx = newGuard({
      statusParameter,
      roles: [constrainedRole('agent-a', 'locked'), { name: 'app', agent: false }],
    });
    // WHEN a sweep, an event for the agent role and an event for the other role run, a minute apart
    const heartbeats: (string | undefined)[] = [];
    for (const [minute, event] of [
      [1, scheduledEvent()],
      [2, roleChangedEvent('TagRole', 'agent-a')],
      [3, roleChangedEvent('TagRole', 'app')],
    ] as const) {
      fx.now.value = new Date(NOW.getTime() + minute * 60000);
      await fx.guard.handle(event);
      heartbeats.push(fx.parameter.value && (JSON.parse(fx.parameter.value) as GuardStatus).evaluatedAt);
    }
    // THEN the two evaluations each wrote their time; the third event evaluated nothing
    const at = (minute: number) => new Date(NOW.getTime() + minute * 60000).toISOString();
    expect(heartbeats).toEqual([at(1), at(2), at(2)]);
    expect(fx.metrics.total('Evaluations')).toBe(2);
  });

  it('caches the Organizations answer for productionCacheSeconds', async () => {
    const fx = newGuard({ roles: [] });
    await fx.guard.handle(scheduledEvent());
    fx.now.value = new Date(NOW.getTime() + 899 * 1000);
    await fx.guard.handle(scheduledEvent());
    expect(fx.organizations).toHaveReceivedCommandTimes(ListTagsForResourceCommand, 1);
    fx.now.value = new Date(NOW.getTime() + 900 * 1000);
    await fx.guard.handle(scheduledEvent());
    expect(fx.organizations).toHaveReceivedCommandTimes(ListTagsForResourceCommand, 2);
  });

  it('a status that cannot be read or written does not stop the roles from being reconciled', async () => {
    // GIVEN SSM refuses reads and writes
    const fx = newGuard({ roles: [constrainedRole('agent-a', 'open')] });
    fx.ssm.on(GetParameterCommand).rejects(accessDenied('no ssm'));
    fx.ssm.on(PutParameterCommand).rejects(accessDenied('no ssm'));
    // WHEN the sweep runs
    const summary = await fx.guard.handle(scheduledEvent());
    // THEN the role is still locked, and the failure is logged and counted
    expect(summary.locked).toBe(true);
    expect(stateTagsWritten(fx.iam)).toEqual([{ roleName: 'agent-a', value: 'locked' }]);
    expect(fx.logger.messages('error')).toContain('Could not publish the account status');
    expect(fx.metrics.total('Errors')).toBe(1);
  });
});

describe('Guard: API call budget', () => {
  it('a sweep reads the signals and the status in one round trip, then lists the roles', async () => {
    // GIVEN reads that each take a moment, recording when they start and end
    const statusParameter = await settledStatus({});
    const roles = [constrainedRole('agent-a', 'locked')];
    const fx = newGuard({ statusParameter, roles });
    const timeline: string[] = [];
    function slow<T>(name: string, answer: () => T): () => Promise<T> {
      return async () => {
        timeline.push(`start ${name}`);
        await new Promise<void>((resolve) => setImmediate(resolve));
        timeline.push(`end ${name}`);
        return answer();
      };
    }
    fx.iam
      .on(GetAccountAuthorizationDetailsCommand)
      .callsFake(slow('roles', () => rolePager(roles.map(roleDetail))({})));
    fx.organizations
      .on(ListTagsForResourceCommand)
      .callsFake(slow('organizations', () => ({ Tags: [{ Key: 'environment', Value: 'production' }] })));
    fx.ssm
      .on(GetParameterCommand)
      .callsFake(slow('status', () => ({ Parameter: { Name: STATUS_PARAMETER, Value: statusParameter } })));
    // WHEN the sweep runs
    await fx.guard.handle(scheduledEvent());
    // THEN the signals and the status are read together first, since a lock decision is recorded
    // before any role is read; the role listing starts only once they are in
    const firstEnd = timeline.findIndex((t) => t.startsWith('end'));
    expect(timeline.slice(0, firstEnd).sort()).toEqual(['start organizations', 'start status']);
    const rolesStart = timeline.indexOf('start roles');
    expect(timeline.indexOf('end organizations')).toBeLessThan(rolesStart);
    expect(timeline.indexOf('end status')).toBeLessThan(rolesStart);
    // AND the status was read once, not again when it was published
    expect(fx.ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
  });

  it('a steady sweep reads at most 3 times plus one per role page, and writes the heartbeat and the lock decision only', async () => {
    // GIVEN 3 pages of constrained, locked roles and a current status
    const statusParameter = await settledStatus({});
    const roles = Array.from({ length: 30 }, (_, i) => constrainedRole(`agent-${i}`, 'locked'));
    const fx = newGuard({ statusParameter, roles, pageSize: 10 });
    // WHEN the sweep runs (cold start)
    const first = await fx.guard.handle(scheduledEvent());
    // THEN: Organizations, CloudWatch and SSM once each, plus 3 pages
    expect(fx.iam).toHaveReceivedCommandTimes(GetAccountAuthorizationDetailsCommand, 3);
    expect(first.calls).toEqual({ reads: 3 + 3, writes: 2, retries: 0, failures: 0 });
    // AND a warm sweep costs the CloudWatch and status reads plus the pages; it writes the heartbeat and the lock decision
    fx.now.value = new Date(NOW.getTime() + 5 * 60000);
    const second = await fx.guard.handle(scheduledEvent());
    expect(second.calls).toEqual({ reads: 2 + 3, writes: 2, retries: 0, failures: 0 });
    // AND the metrics report the same figures
    expect(fx.metrics.total('ApiReads')).toBe(6 + 5);
    expect(fx.metrics.total('ApiWrites')).toBe(2 + 2);
  });

  it('counts what a role-changed event costs: 2 role reads, the signals, the role again under its lease, and the writes', async () => {
    const fx = newGuard({ roles: [newAgentRole('agent-new')] });
    const summary = await fx.guard.handle(roleChangedEvent('CreateRole', 'agent-new'));
    // GetRole, ListAttachedRolePolicies (twice: the event, and the read-back), Organizations, CloudWatch, GetParameter,
    // and the re-read under the lease
    expect(summary.calls.reads).toBe(7 + REREAD.length);
    // TagRole, boundary, 2 attaches, trust, constrained tag, status parameter, status notice; the lock decision and the lease
    expect(summary.calls.writes).toBe(8 + 1 + LEASE_WRITES);
  });
});

describe('fixture sanity', () => {
  it('encodes trust policies as IAM does, and the guard decodes them', () => {
    const detail = roleDetail(constrainedRole('agent-a', 'locked'));
    expect(detail.AssumeRolePolicyDocument).toMatch(/^%7B%22Version%22/);
    expect(JSON.parse(decodeURIComponent(detail.AssumeRolePolicyDocument ?? ''))).toEqual(trustPolicy(true));
  });
});
