import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// API.md and README.md's props table are generated from the jsii assembly (.jsii) by scripts/docs.ts.
// Here it writes both to a scratch folder, and the committed files must match them. `npm test` compiles
// .jsii (npm run jsii) before jest; scripts/docs.ts refuses an assembly older than lib/.
const ROOT = path.resolve(__dirname, '..', '..');
const FIX = 'run npm run docs, and commit API.md and README.md';

let out: string;

beforeAll(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-guard-docs-'));
  const run = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/docs.ts', '--out', out], {
    cwd: ROOT,
    encoding: 'utf-8',
  });
  if (run.status !== 0) throw new Error(`scripts/docs.ts failed (${FIX}):\n${run.stderr}${run.stdout}`);
});

afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

/** Fails with the first line that differs, and what to run. */
function expectFresh(file: string): void {
  const committed = fs.readFileSync(path.join(ROOT, file), 'utf-8');
  const generated = fs.readFileSync(path.join(out, file), 'utf-8');
  if (committed === generated) return;
  const a = committed.split('\n');
  const b = generated.split('\n');
  const line = a.findIndex((l, i) => l !== b[i]);
  const at = line < 0 ? a.length : line;
  throw new Error(
    `${file} is stale: ${FIX}.\n` +
      `First difference at line ${at + 1}:\n  committed: ${a[at] ?? '(end of file)'}\n  generated: ${b[at] ?? '(end of file)'}`,
  );
}

test('API.md is what jsii-docgen writes for the current assembly', () => {
  expectFresh('API.md');
});

test("README.md's props table is the one generated from the TSDoc of AgentGuardProps", () => {
  expectFresh('README.md');
});

test('the generated props table has a row for every property of AgentGuardProps, in source order', () => {
  const assembly = JSON.parse(fs.readFileSync(path.join(ROOT, '.jsii'), 'utf-8')) as {
    types: Record<string, { properties: { name: string; locationInModule: { line: number } }[] }>;
  };
  const expected = assembly.types['agent-guard.AgentGuardProps'].properties
    .sort((x, y) => x.locationInModule.line - y.locationInModule.line)
    .map((p) => p.name);
  const readme = fs.readFileSync(path.join(out, 'README.md'), 'utf-8');
  const table = readme.slice(readme.indexOf('<!-- props:start'), readme.indexOf('<!-- props:end -->'));
  const rows = [...table.matchAll(/^\| \[`(\w+)`\]\(API\.md#agent-guard\.AgentGuardProps\.property\.\1\)/gm)];
  expect(rows.map((m) => m[1])).toEqual(expected);
  expect(expected.length).toBeGreaterThan(10);
});
