import { destructiveCatalog } from '../../lib/core/catalog/destructive-catalog';
import { exampleGuardedRole } from '../support/guarded-role';
import { actionsNot, allIamActions, CatalogAction, decideAll } from '../support/iam-data-actions';
import { Principal, Request, STATES } from '../support/simulate';

const role = exampleGuardedRole();
const agent: Principal = { identityPolicies: role.identityPolicies, boundary: role.boundary };
const CORE_VERB = /^(Delete|Terminate|Remove|Purge|Destroy|Deregister)/;

describe('catalog coverage through a real IAM evaluator', () => {
  let everything: CatalogAction[];
  beforeAll(async () => {
    everything = await allIamActions();
  });

  test('while locked, every core destructive action of iam-data is denied', async () => {
    const core = everything.filter((a) => CORE_VERB.test(a.action.split(':')[1]));
    const services = new Set(core.map((a) => a.action.split(':')[0]));
    expect(core.length).toBe(2699);
    expect(services.size).toBe(368);
    for (const state of [STATES.locked, STATES.lockedByOtherValue]) {
      const results = await decideAll(
        agent,
        core.map((a) => ({ action: a.action })),
        state,
      );
      expect(actionsNot(results, 'ExplicitlyDenied')).toEqual([]);
    }
  });

  const plainActions = [...new Set(Object.values(destructiveCatalog.groups).flatMap((g) => g.actions))];
  const conditionalRequests: Request[] = [
    { action: 'route53:ChangeResourceRecordSets', context: { 'route53:ChangeResourceRecordSetsActions': ['DELETE'] } },
    {
      action: 'sts:AssumeRole',
      resource: 'arn:aws:iam::111122223333:role/cdk-deploy',
      context: { 'iam:ResourceTag/aws-cdk:bootstrap-role': 'deploy' },
    },
  ];
  const catalogRequests = [...plainActions.map((action) => ({ action })), ...conditionalRequests];

  test('while locked, every action of every catalog group is denied', async () => {
    expect(plainActions.length).toBeGreaterThan(2699);
    expect(actionsNot(await decideAll(agent, catalogRequests, STATES.locked), 'ExplicitlyDenied')).toEqual([]);
  });

  test('once open, the catalog is allowed but for the anti-tamper denies of the boundary', async () => {
    const stillDenied = actionsNot(await decideAll(agent, catalogRequests, STATES.open), 'Allowed');
    // These stay denied in every state; each is an anti-tamper statement, reviewed in the snapshot.
    expect(stillDenied).toMatchSnapshot();
    expect(stillDenied.every((a) => /^(iam|cloudtrail|organizations):/.test(a))).toBe(true);
    expect(stillDenied.length).toBeLessThan(20);
  });
});
