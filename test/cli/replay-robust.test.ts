import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { run } from '../../bin/cli/cli';
import { defaultPolicies } from '../../bin/cli/check';
import { resolveCatalog } from '../../lib/core/policy/resolve-catalog';
import { readLogFile } from '../../lib/core/replay/log-files';
import { agentRolePattern } from '../../lib/core/replay/principal';
import { Replayer } from '../../lib/core/replay/replay';
import { bundleCliWithInputs } from '../support/cli-bundle';

/*
 * replay never crashes: random bytes, random JSON, random records and logs cut anywhere are reported and
 * skipped (exit 3) or replayed (exit 0), never an unexpected error. And the CLI as it ships (one bundle)
 * holds no aws-cdk-lib and replays the fixtures as a process.
 */

const FIXTURES = join(__dirname, '../fixtures/cloudtrail');
const RUNS = 60;
let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'replay-robust-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function replayFile(contents: Buffer | string): Promise<{ code: number; err: string }> {
  const file = join(dir, 'input.json');
  writeFileSync(file, contents);
  let err = '';
  const code = await run(['node', 'agent-guard', 'replay', file, '--agent-role', '*', '--json'], {
    stdout: () => undefined,
    stderr: (text) => void (err += text),
    terminal: { stdout: false, stderr: false },
    env: {},
  });
  return { code, err };
}

function expectHandled({ code, err }: { code: number; err: string }): void {
  expect([0, 3]).toContain(code);
  expect(err).not.toContain('unexpected error');
}

const catalog = resolveCatalog();
const replayer = new Replayer({
  agentRoles: [agentRolePattern('*')!],
  locked: true,
  policiesFor: (p) => defaultPolicies(catalog, p.partition, p.account),
  policySource: 'default',
  catalog,
});

/** Records shaped like CloudTrail's, with any field possibly missing or of the wrong type. */
const recordArb = fc.record(
  {
    eventTime: fc.oneof(fc.constant('2026-11-02T01:00:00Z'), fc.string(), fc.integer()),
    eventSource: fc.oneof(
      fc.constantFrom('ec2.amazonaws.com', 'lambda.amazonaws.com', 'monitoring.amazonaws.com'),
      fc.string(),
    ),
    eventName: fc.oneof(fc.constantFrom('TerminateInstances', 'DeleteFunction20150331'), fc.string()),
    awsRegion: fc.oneof(fc.constant('us-east-1'), fc.string(), fc.constant(null)),
    eventID: fc.oneof(fc.uuid(), fc.integer()),
    userIdentity: fc.oneof(
      fc.record(
        {
          type: fc.constantFrom('AssumedRole', 'IAMUser', 'Root', 'AWSService', 'FederatedUser'),
          arn: fc.oneof(fc.constant('arn:aws:sts::111122223333:assumed-role/agent/s'), fc.string()),
          sessionContext: fc.anything(),
        },
        { requiredKeys: [] },
      ),
      fc.anything(),
    ),
    resources: fc.oneof(
      fc.array(
        fc.record({ ARN: fc.oneof(fc.string(), fc.constant('arn:aws:ec2:us-east-1:111122223333:instance/i-1')) }),
      ),
      fc.anything(),
    ),
    errorCode: fc.oneof(fc.constant('AccessDenied'), fc.anything()),
  },
  { requiredKeys: [] },
);

describe('replay never crashes', () => {
  test('the reader and the decision take random bytes, gzipped or not, without throwing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.boolean(), async (bytes, gzip) => {
        const file = join(dir, 'bytes');
        writeFileSync(file, gzip ? gzipSync(bytes) : bytes);
        const result = await readLogFile(file, (record) => replayer.decide(record));
        expect(result.records).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: RUNS },
    );
  });

  test('random JSON, and Records of random values, are replayed or skipped, never an unexpected error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.json(),
          fc.array(fc.oneof(recordArb, fc.anything())).map((Records) => JSON.stringify({ Records })),
        ),
        async (text) => {
          expectHandled(await replayFile(text));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('a log cut at any byte, plain or gzipped, is reported and skipped (exit 3), never a crash', async () => {
    const log = readFileSync(
      join(
        FIXTURES,
        'AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/111122223333_CloudTrail_us-east-1_20261102T0105Z_aaaaaaaaaaaaaaaa.json',
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: log.length - 2 }), fc.boolean(), async (cut, gzip) => {
        const bytes = gzip ? gzipSync(log).subarray(0, Math.min(cut, gzipSync(log).length - 1)) : log.subarray(0, cut);
        const result = await replayFile(bytes);
        expect(result.code).toBe(3);
        expectHandled(result);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('the bundled CLI', () => {
  let bundle: string;
  let inputs: readonly string[];
  beforeAll(async () => {
    ({ file: bundle, inputs } = await bundleCliWithInputs(dir));
  });

  test('holds stream-json and no aws-cdk-lib (esbuild metafile of the bundles as shipped)', () => {
    expect(inputs.some((input) => input.includes('node_modules/stream-json/'))).toBe(true);
    expect(inputs.filter((input) => input.includes('node_modules/aws-cdk-lib/'))).toEqual([]);
  });

  test('replays the fixture trail as a process', () => {
    const out = execFileSync(
      process.execPath,
      [bundle, 'replay', join(FIXTURES, 'AWSLogs'), '--agent-role', 'ExampleAgentRole', '--json'],
      { encoding: 'utf8' },
    );
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { verdict: string });
    expect(lines).toHaveLength(15);
    expect(lines.filter((l) => l.verdict === 'would-block').length).toBeGreaterThan(0);
    const broken = spawnSync(process.execPath, [bundle, 'replay', join(FIXTURES, 'broken'), '--agent-role', 'x'], {
      encoding: 'utf8',
    });
    expect(broken.status).toBe(3);
  });
});
