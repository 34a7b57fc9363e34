import { exampleGuardedRole } from '../support/guarded-role';
import { actionsNot, allIamActions, decideAll } from '../support/iam-data-actions';
import { Principal, STATES } from '../support/simulate';

const role = exampleGuardedRole();
const agent: Principal = { identityPolicies: role.identityPolicies, boundary: role.boundary };

test.each([
  ['locked', STATES.locked],
  ['open', STATES.open],
])('while %s, every Read and List action of every service is allowed', async (_state, context) => {
  const reads = (await allIamActions()).filter((a) => a.accessLevel === 'Read' || a.accessLevel === 'List');
  expect(reads.length).toBeGreaterThan(9000);
  const results = await decideAll(
    agent,
    reads.map((a) => ({ action: a.action })),
    context,
  );
  expect(actionsNot(results, 'Allowed')).toEqual([]);
});
