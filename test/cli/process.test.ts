/**
 * The CLI as a user runs it: a real process, a real terminal (a pseudo-terminal from script(1)) or a
 * pipe, the real AWS SDK reading a profile from the shared config files, and esbuild's bundle.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleCli, CLI_ENTRY } from '../support/cli-bundle';
import { AGENT_ROLE_ARN, INSTANCE_ARN } from './cli-fixture';

const ROOT = join(__dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
// eslint-disable-next-line no-control-regex
const ESC = /\x1b\[/;

const dryRun = (duration = '30m') => [
  'approve',
  '--role',
  AGENT_ROLE_ARN,
  '--actions',
  'ec2:TerminateInstances',
  '--resources',
  INSTANCE_ARN,
  '--duration',
  duration,
  '--reason',
  'replace',
  '--dry-run',
];
const DRY_RUN = dryRun();

let scratch: string;
/** The CLI bundled by esbuild, as the package ships it: starts in a fraction of the time tsx takes. */
let bundled: string;
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'agent-guard-cli-'));
  bundled = await bundleCli(join(scratch, 'bundle'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** An environment without the caller's AWS and colour settings, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // Node's hasColors() reports 2 colours, so none, whenever CI is set (as CI sets it): not this test's subject.
    if (!/^(AWS_|AGENT_GUARD_|NO_COLOR$|FORCE_COLOR$|CLICOLOR|CI$)/.test(key)) env[key] = value;
  }
  return {
    ...env,
    AWS_CONFIG_FILE: join(scratch, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'none'),
    AWS_EC2_METADATA_DISABLED: 'true',
    TERM: 'xterm-256color',
    ...extra,
  };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bundled CLI (or, with `fromSource`, bin/agent-guard.ts through tsx) with piped stdout and stderr. */
function runPiped(args: readonly string[], env: NodeJS.ProcessEnv, fromSource = false): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const entry = fromSource ? ['--import', 'tsx', CLI_ENTRY] : [bundled];
    const child = spawn(process.execPath, [...entry, ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const hasScript = process.platform === 'linux' && spawnSync('script', ['--version']).status === 0;

/** Runs the CLI with stdin, stdout and stderr on a pseudo-terminal (util-linux script). */
function runOnTerminal(args: readonly string[], env: NodeJS.ProcessEnv): Ran {
  const command = [process.execPath, bundled, ...args].map(shellQuote).join(' ');
  const result = spawnSync('script', ['-qefc', command, '/dev/null'], { cwd: ROOT, env, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('--version', () => {
  test('from source: the version of package.json', async () => {
    const result = await runPiped(['--version'], cleanEnv(), true);
    expect(result).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  test('bundled with esbuild, the version is inlined: it works with no package.json beside it', () => {
    const outfile = bundled;
    const bundle = readFileSync(outfile, 'utf8');
    expect(bundle).not.toMatch(/require\(["'][./]*package\.json["']\)/);
    // Only the version is taken from package.json, not its other fields.
    expect(bundle).not.toContain('"devDependencies"');
    const result = spawnSync(process.execPath, [outfile, '--version'], {
      cwd: scratch,
      env: cleanEnv(),
      encoding: 'utf8',
    });
    expect({ code: result.status, stdout: result.stdout }).toEqual({ code: 0, stdout: `${VERSION}\n` });
  });
});

test('a reader that closes the pipe at once ends the output quietly, not with an EPIPE crash', () => {
  // `true` exits without reading, so every write of the help text meets a closed pipe.
  const cli = `"${process.execPath}" "${bundled}" --help`;
  const result = spawnSync('bash', ['-c', `set -o pipefail; ${cli} | true`], {
    cwd: scratch,
    env: cleanEnv(),
    encoding: 'utf8',
  });
  expect(result.stderr).not.toMatch(/EPIPE|Unhandled/);
  expect(result.status).toBe(0);
});

(hasScript ? describe : describe.skip)('on a terminal and in a pipe (script(1) gives the terminal)', () => {
  test('a terminal gets colour; a pipe gets none', async () => {
    const tty = runOnTerminal(DRY_RUN, cleanEnv());
    const pipe = await runPiped(DRY_RUN, cleanEnv());
    expect(tty.code).toBe(0);
    expect(pipe.code).toBe(0);
    expect(tty.stdout).toMatch(ESC);
    expect(tty.stdout).toContain('Dry run: nothing was sent');
    expect(pipe.stdout).toContain('Dry run: nothing was sent');
    expect(pipe.stdout).not.toMatch(ESC);
  });

  test('NO_COLOR=1 on a terminal: none; FORCE_COLOR=1 into a pipe: colour', async () => {
    expect(runOnTerminal(DRY_RUN, cleanEnv({ NO_COLOR: '1' })).stdout).not.toMatch(ESC);
    expect((await runPiped(DRY_RUN, cleanEnv({ FORCE_COLOR: '1' }))).stdout).toMatch(ESC);
  });

  test('TERM=dumb: no colour on a terminal', () => {
    expect(runOnTerminal(DRY_RUN, cleanEnv({ TERM: 'dumb' })).stdout).not.toMatch(ESC);
  });

  test('errors: red on a terminal, plain in a pipe', async () => {
    const args = dryRun('2h');
    const tty = runOnTerminal(args, cleanEnv());
    const pipe = await runPiped(args, cleanEnv());
    expect(tty.code).toBe(2);
    expect(pipe.code).toBe(2);
    // script(1) puts the terminal's stderr on its stdout.
    expect(tty.stdout).toContain('\x1b[31magent-guard: The duration 2h is over the maximum of 1h');
    expect(pipe.stderr).toMatch(/^agent-guard: The duration 2h is over the maximum of 1h/);
    expect(pipe.stderr).not.toMatch(ESC);
  });
});

describe('--profile and the region, with the real AWS SDK', () => {
  let server: Server;
  let url: string;
  const seen: { authorization: string | undefined; body: string }[] = [];

  beforeAll(async () => {
    writeFileSync(join(scratch, 'config'), '[profile oncall]\nregion = eu-north-1\n\n[profile bare]\n');
    writeFileSync(
      join(scratch, 'credentials'),
      '[oncall]\naws_access_key_id = AKIDONCALLPROFILE\naws_secret_access_key = secret\n' +
        '[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = secret\n',
    );
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ authorization: req.headers.authorization, body });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, message: '0 approval(s).', approvals: [] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const profileEnv = () =>
    cleanEnv({ AWS_CONFIG_FILE: join(scratch, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'credentials') });

  test("--profile signs with that profile's keys, for that profile's region", async () => {
    seen.length = 0;
    const result = await runPiped(['list', '--url', url, '--profile', 'oncall'], profileEnv());
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain('No approvals.');
    expect(seen).toHaveLength(1);
    expect(seen[0].authorization).toMatch(/Credential=AKIDONCALLPROFILE\/\d{8}\/eu-north-1\/lambda\/aws4_request/);
  });

  test('without --profile, the default profile signs; --region gives the region', async () => {
    seen.length = 0;
    const result = await runPiped(['list', '--url', url, '--region', 'ap-south-1'], profileEnv());
    expect(result.code).toBe(0);
    expect(seen[0].authorization).toMatch(/Credential=AKIDDEFAULT\/\d{8}\/ap-south-1\//);
  });

  test('no region anywhere: exit 2, naming --region, AWS_REGION and the profile, and nothing is sent', async () => {
    seen.length = 0;
    let result = await runPiped(['list', '--url', url, '--profile', 'bare'], profileEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Pass --region REGION (where AgentGuard is deployed) or set AWS_REGION');
    expect(result.stderr).toContain("or set region in profile 'bare' of ~/.aws/config");
    result = await runPiped(['status'], profileEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'agent-guard: No AWS region for the SSM parameter /agent-guard/status that holds the guard status. ' +
        'Pass --region REGION (where AgentGuard is deployed) or set AWS_REGION.',
    );
    expect(seen).toHaveLength(0);
  });
});
