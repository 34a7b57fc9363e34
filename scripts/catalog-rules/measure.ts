/**
 * Prints what the committed catalog costs in guard policies with the current compressor: the size of
 * each policy, and the sum. Run it after `npm run catalog`: `npx tsx scripts/catalog-rules/measure.ts`.
 */
import { policySize } from '../../lib/core/iam/policy-document';
import { compileGuardPolicies } from '../../lib/core/policy/guard-policies';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';

const policies = compileGuardPolicies({ catalog: resolveCatalog(), policyName: (i) => `Guard${i}`, maxPolicies: 10 });
const sizes = policies.map((p) => policySize(p.document));
console.log(`${policies.length} guard policies: ${sizes.join(' + ')} = ${sizes.reduce((a, b) => a + b, 0)} characters`);
