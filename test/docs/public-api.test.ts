import * as fs from 'node:fs';
import * as path from 'node:path';
import * as api from '../../lib';
import { GuardContract } from '../../lib';

// jsii (npm run jsii, before jest in npm test) drops what it cannot represent without a word: an
// `export const` or a function exported from lib/index.ts exists in TypeScript only.
const ROOT = path.resolve(__dirname, '..', '..');

test('every value exported from lib/index.ts is a type of the jsii assembly', () => {
  const file = path.join(ROOT, '.jsii');
  if (!fs.existsSync(file)) throw new Error('.jsii is missing: run npm run jsii.');
  const assembly = JSON.parse(fs.readFileSync(file, 'utf-8')) as { name: string; types: Record<string, unknown> };
  const missing = Object.keys(api).filter((name) => !(`${assembly.name}.${name}` in assembly.types));
  expect(missing).toEqual([]);
});

test('GuardContract holds the published tag and naming contract (DESIGN.md)', () => {
  expect({ ...GuardContract }).toEqual({
    AGENT_TAG: 'agent-guard:agent',
    AGENT_TAG_VALUE: 'true',
    STATE_TAG: 'agent-guard:state',
    STATE_OPEN: 'open',
    APPROVAL_TAG: 'agent-guard:approval',
    COMPONENT_TAG: 'agent-guard:component',
    CONSTRAINED_TAG: 'agent-guard:constrained',
    CONSTRAINED_TAG_VALUE: 'true',
    GUARD_PATH: '/agent-guard/',
    BOUNDARY_POLICY_NAME: 'AgentGuardBoundary',
    DEFAULT_STATUS_PARAMETER: '/agent-guard/status',
  });
});

test("each GuardContract constant's summary in API.md names its value", () => {
  const assembly = JSON.parse(fs.readFileSync(path.join(ROOT, '.jsii'), 'utf-8')) as {
    types: Record<string, { properties: { name: string; docs: { summary: string } }[] }>;
  };
  const values = GuardContract as unknown as Record<string, string>;
  const properties = assembly.types['agent-guard.GuardContract'].properties;
  expect(properties.map((p) => p.name).sort()).toEqual(Object.keys(values).sort());
  const wrong = properties.filter((p) => !p.docs.summary.includes(`\`${values[p.name]}\``)).map((p) => p.name);
  expect(wrong).toEqual([]);
});
