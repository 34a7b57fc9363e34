/**
 * The package as a consumer gets it: `npm pack`, installed into a scratch CDK app that depends on
 * aws-cdk-lib and constructs only, synthesizes the README's usage snippet with no esbuild and no
 * Docker, and its CLI runs offline. Needs `npm run build` first (the test script runs it).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import * as ts from 'typescript';

const ROOT = join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const installedVersion = (pkg: string): string =>
  (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

/** The README's usage snippet, between its markers. */
function usageSnippet(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const region = /<!-- usage:start[^>]*-->\s*```ts\n([\s\S]*?)```\s*<!-- usage:end -->/.exec(readme);
  if (!region) throw new Error('README.md has no ```ts block between <!-- usage:start --> and <!-- usage:end -->.');
  return region[1];
}

/** No esbuild on the PATH (npm puts the repo's node_modules/.bin there), and Docker fails at once. */
function consumerEnv(app: string): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.includes('node_modules'))
    .join(delimiter);
  return { ...process.env, PATH: path, CDK_DOCKER: 'false', CDK_OUTDIR: join(app, 'cdk.out'), AWS_REGION: 'us-east-1' };
}

interface Run {
  status: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end, resolving with its exit code and output (never rejecting). */
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  const start = Date.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, encoding: 'utf8', timeout: 120_000 }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ status, stdout, stderr, ms: Date.now() - start });
    });
  });
}

const ROLE = 'arn:aws:iam::111111111111:role/agent';
const STACK = 'arn:aws:cloudformation:us-east-1:111111111111:stack/prod/*';
const DRY_RUN = ['approve', '--dry-run', '--json', '--role', ROLE, '--actions', 'cloudformation:DeleteStack'].concat([
  '--resources',
  STACK,
  '--duration',
  '15m',
  '--reason',
  'test',
]);

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

describe('consumer install of the packed package', () => {
  let work: string;
  let app: string;
  let packed: PackResult;
  let synth: Run, help: Run, version: Run, dryRun: Run;
  let dryRunStart: number;
  const timings: Record<string, number> = {};
  const timed = <T>(label: string, fn: () => T): T => {
    const start = Date.now();
    try {
      return fn();
    } finally {
      timings[label] = Date.now() - start;
    }
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'agent-guard-consumer-'));
    app = join(work, 'app');
    mkdirSync(app);
    // The test script has just built dist/; --ignore-scripts keeps pack from rebuilding it under other tests' feet.
    const out = timed('pack', () =>
      execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
        cwd: ROOT,
        encoding: 'utf8',
      }),
    );
    packed = (JSON.parse(out) as PackResult[])[0];

    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'consumer-app',
        private: true,
        dependencies: { 'aws-cdk-lib': installedVersion('aws-cdk-lib'), constructs: installedVersion('constructs') },
      }),
    );
    timed('install', () =>
      execFileSync(
        'npm',
        ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(work, packed.filename)],
        { cwd: app, encoding: 'utf8', stdio: 'pipe' },
      ),
    );

    // The README snippet, transpiled by the repo's TypeScript, and the installed CLI, side by side.
    const js = ts.transpileModule(usageSnippet(), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    writeFileSync(join(app, 'usage.js'), js);
    const env = consumerEnv(app);
    const offline = {
      ...env,
      AWS_PROFILE: '',
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    };
    dryRunStart = Date.now();
    [synth, help, version, dryRun] = await Promise.all([
      run(process.execPath, ['usage.js'], app, env),
      run('npx', ['--no-install', 'agent-guard', '--help'], app, env),
      run('npx', ['--no-install', 'agent-guard', '--version'], app, env),
      run('npx', ['--no-install', 'agent-guard', ...DRY_RUN], app, offline),
    ]);
    timings.synth = synth.ms;
  }, 300_000);

  afterAll(() => {
    console.log(
      `consumer install: tarball ${packed?.size} bytes, ${packed?.files.length} files; ` +
        Object.entries(timings)
          .map(([label, ms]) => `${label} ${(ms / 1000).toFixed(1)} s`)
          .join(', '),
    );
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the tarball holds the compiled library, the handler bundles and the CLI, and no sources or tests', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        'dist/lib/core/catalog/iam-reference.json',
        'dist/lib/core/catalog/destructive-actions.json',
        'dist/handlers/guard/index.js',
        'dist/handlers/approvals/index.js',
        'dist/bin/agent-guard.js',
        'dist/bin/mcp-server.js',
        '.jsii',
        'LICENSE',
      ]),
    );
    expect(
      paths.filter((p) => !/^(dist\/(lib|handlers|bin)\/|package\.json$|README\.md$|LICENSE$|\.jsii$)/.test(p)),
    ).toEqual([]);
    expect(paths.filter((p) => /\.ts$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
  });

  test('the installed package has no runtime dependencies: no esbuild, no CLI packages', () => {
    const installed = JSON.parse(readFileSync(join(app, 'node_modules', manifest.name, 'package.json'), 'utf8')) as {
      dependencies?: object;
    };
    expect(installed.dependencies ?? {}).toEqual({});
    for (const pkg of ['esbuild', 'commander', 'zod', '@aws-sdk/client-iam']) {
      expect(existsSync(join(app, 'node_modules', pkg))).toBe(false);
    }
  });

  test("the README's usage snippet synthesizes offline, with the prebuilt handler bundles as assets", () => {
    const result = synth;
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);

    const outdir = join(app, 'cdk.out');
    const template = JSON.parse(readFileSync(join(outdir, 'Platform.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const functions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.FunctionName).startsWith('AgentGuard'),
    );
    const bundleOf: Record<string, string> = {
      AgentGuardEvaluator: 'guard',
      AgentGuardApprovals: 'approvals',
      AgentGuardUninstall: 'uninstall',
    };
    // The clean-up's custom resource framework is aws-cdk-lib's own handler, which it ships prebuilt.
    const framework = 'AgentGuardUninstallProvider';
    expect(functions.map((f) => f.Properties.FunctionName).sort()).toEqual(
      [...Object.keys(bundleOf), framework].sort(),
    );
    const frameworkKey = functions.find((f) => f.Properties.FunctionName === framework)!.Properties.Code as {
      S3Key: string;
    };
    expect(existsSync(join(outdir, `asset.${frameworkKey.S3Key.replace(/\.zip$/, '')}`))).toBe(true);

    for (const fn of functions.filter((f) => String(f.Properties.FunctionName) in bundleOf)) {
      expect(fn.Properties).toMatchObject({ Handler: 'index.handler', Architectures: ['arm64'] });
      expect(fn.Properties.Runtime).toMatch(/^nodejs(22|24)\.x$/);
      // The asset CDK staged for this function is the package's prebuilt bundle, byte for byte.
      const key = (fn.Properties.Code as { S3Key: string }).S3Key;
      const staged = join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.js');
      const bundle = join(
        app,
        'node_modules',
        manifest.name,
        'dist',
        'handlers',
        bundleOf[String(fn.Properties.FunctionName)],
        'index.js',
      );
      expect(readFileSync(staged).equals(readFileSync(bundle))).toBe(true);
    }
  });

  test('the installed CLI runs: --help and --version', () => {
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: agent-guard /m);
    expect(help.stdout).toMatch(/^\s+approve\b/m);

    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(manifest.version);
  });

  test('the installed CLI dry-runs an approval offline and prints the documents it would write', () => {
    const result = dryRun;
    const [role, stack, before] = [ROLE, STACK, dryRunStart];
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);

    type Statement = {
      Effect: string;
      Action: string[];
      Resource?: string[];
      NotResource?: string[];
      Condition?: Record<string, Record<string, string>>;
    };
    const plan = JSON.parse(result.stdout) as {
      roleArn: string;
      expiresAt: string;
      tags: Record<string, string>;
      policies: { name: string; document: { Statement: Statement[] } }[];
    };
    expect(plan.roleArn).toBe(role);
    const expiresIn = Date.parse(plan.expiresAt) - before;
    expect(expiresIn).toBeGreaterThan(14 * 60_000);
    expect(expiresIn).toBeLessThan(16 * 60_000);
    expect(plan.tags['agent-guard:approval']).toMatch(/^[a-z0-9]+$/);
    expect(plan.policies.length).toBeGreaterThan(0);
    for (const policy of plan.policies) expect(policy.name).toMatch(/^AgentGuardApproval-/);

    // DeleteStack stays denied everywhere but the approved stacks, and on them after the expiry.
    const onDeleteStack = plan.policies
      .flatMap((p) => p.document.Statement)
      .filter((s) => s.Effect === 'Deny' && s.Action.includes('cloudformation:DeleteStack'));
    expect(onDeleteStack).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NotResource: [stack] }),
        expect.objectContaining({
          Resource: [stack],
          Condition: expect.objectContaining({ DateGreaterThan: { 'aws:CurrentTime': plan.expiresAt } }) as unknown,
        }),
      ]),
    );
  });
});
