/**
 * Builds the package into dist/:
 * - dist/lib: the construct library, compiled by tsc (tsconfig.build.json) with its declarations;
 * - dist/handlers/<name>/index.js: each Lambda handler (every folder of lambda/ but shared/), bundled
 *   by esbuild with the AWS SDK inside, so a consumer's synth needs neither esbuild nor Docker;
 * - dist/bin/agent-guard.js: the CLI as one executable file, so the package has no runtime dependencies.
 *
 * Run with `npm run build` (tsx). `--handlers` rebuilds the handler bundles only. The esbuild metafile of each
 * handler goes to dist/metafiles/<name>.json (not packed): read it with https://esbuild.github.io/analyze/.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import * as esbuild from 'esbuild';

const ROOT = join(__dirname, '..');
const DIST = join(ROOT, 'dist');

/** Every folder of lambda/ except shared/ holds a handler, with its entry point in index.ts. */
export function handlerNames(): string[] {
  return readdirSync(join(ROOT, 'lambda'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'shared')
    .map((entry) => entry.name)
    .sort();
}

/**
 * Lambda hands a function its credentials in environment variables, so the SDK's default chain
 * stops at its first link there. The chain's profile-file, SSO, process and web-identity links
 * (with the SSO, sign-in and STS clients they pull in) can never run in a handler; they are left out
 * of the bundles, and a stub says so loudly should one ever be reached. The container and instance
 * metadata links stay.
 */
const NEVER_IN_LAMBDA = /^@aws-sdk\/credential-provider-(ini|process|sso|web-identity)$/;
export const lambdaCredentialsOnly: esbuild.Plugin = {
  name: 'lambda-credentials-only',
  setup(build) {
    build.onResolve({ filter: NEVER_IN_LAMBDA }, (args) => ({ path: args.path, namespace: 'not-in-lambda' }));
    build.onLoad({ filter: /.*/, namespace: 'not-in-lambda' }, (args) => ({
      loader: 'js',
      contents: [
        `const unavailable = () => async () => {`,
        `  throw new Error(${JSON.stringify(`${args.path} is not bundled into agent-guard's handlers: Lambda provides credentials in environment variables.`)});`,
        `};`,
        `export { unavailable as fromIni, unavailable as fromProcess, unavailable as fromSSO, unavailable as fromTokenFile, unavailable as fromWebToken };`,
      ].join('\n'),
    }));
  },
};

/** Options shared by the handler and CLI bundles: Node 22 syntax, CommonJS, ES-module builds of the SDK. */
export const NODE_BUNDLE: esbuild.BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  // The SDK's ES-module builds tree-shake; their CommonJS builds do not.
  mainFields: ['module', 'main'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
};

export interface BundleReport {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  /** The esbuild metafile: which input contributed how many bytes. */
  readonly metafile: esbuild.Metafile;
}

/** Bundles one handler into dist/handlers/<name>/index.js, the AWS SDK included so its behaviour is pinned. */
export async function bundleHandler(name: string, outDir = join(DIST, 'handlers')): Promise<BundleReport> {
  const file = join(outDir, name, 'index.js');
  const result = await esbuild.build({
    ...NODE_BUNDLE,
    entryPoints: [join(ROOT, 'lambda', name, 'index.ts')],
    outfile: file,
    metafile: true,
    plugins: [lambdaCredentialsOnly],
  });
  return { name, file, bytes: statSync(file).size, metafile: result.metafile };
}

/**
 * The MCP server (bin/cli/mcp-server.ts, with the MCP SDK) is a file of its own beside the CLI, which
 * loads it only for `agent-guard mcp`: every other command, and the hook an agent runs before each shell
 * command, start without reading it.
 */
const MCP_SERVER = 'mcp-server';
export const mcpServerApart: esbuild.Plugin = {
  name: 'mcp-server-apart',
  setup(build) {
    build.onResolve({ filter: new RegExp(`^\\./${MCP_SERVER}$`) }, () => ({
      path: `./${MCP_SERVER}.js`,
      external: true,
    }));
  },
};

/** A bundled CLI: its path, and every source file and package module bundled into it or its MCP server. */
export interface CliBundle {
  readonly file: string;
  readonly inputs: readonly string[];
}

/** Bundles the CLI into `outDir`: agent-guard.js, and mcp-server.js beside it. */
export async function bundleCli(outDir = join(DIST, 'bin')): Promise<CliBundle> {
  const file = join(outDir, 'agent-guard.js');
  // The source keeps its `#!/usr/bin/env node` line, and esbuild keeps it at the top.
  const cli = await esbuild.build({
    ...NODE_BUNDLE,
    entryPoints: [join(ROOT, 'bin', 'agent-guard.ts')],
    outfile: file,
    metafile: true,
    plugins: [mcpServerApart],
  });
  const server = await esbuild.build({
    ...NODE_BUNDLE,
    entryPoints: [join(ROOT, 'bin', 'cli', `${MCP_SERVER}.ts`)],
    outfile: join(outDir, `${MCP_SERVER}.js`),
    metafile: true,
  });
  chmodSync(file, 0o755);
  return { file, inputs: [...Object.keys(cli.metafile.inputs), ...Object.keys(server.metafile.inputs)] };
}

function compileLibrary(): void {
  rmSync(join(DIST, 'lib'), { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
}

/** The largest inputs of a bundle, by bytes in its output, grouped by package. */
export function largestInputs(metafile: esbuild.Metafile, top = 5): [string, number][] {
  const byPackage = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const parts = input.split('node_modules/').pop()!.split('/');
      const key = input.includes('node_modules/') ? parts.slice(0, parts[0].startsWith('@') ? 2 : 1).join('/') : input;
      byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
    }
  }
  return [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top);
}

const kb = (bytes: number): string => `${(bytes / 1000).toFixed(1)} kB`;

async function main(): Promise<void> {
  const handlersOnly = process.argv.includes('--handlers');
  if (!handlersOnly) compileLibrary();

  rmSync(join(DIST, 'handlers'), { recursive: true, force: true });
  for (const name of handlerNames()) {
    const report = await bundleHandler(name);
    // Kept beside, not inside, the asset folder, which Lambda receives whole.
    mkdirSync(join(DIST, 'metafiles'), { recursive: true });
    writeFileSync(join(DIST, 'metafiles', `${name}.json`), JSON.stringify(report.metafile));
    const top = largestInputs(report.metafile)
      .map(([input, bytes]) => `${input} ${kb(bytes)}`)
      .join(', ');
    console.log(`${relative(ROOT, report.file)}: ${kb(report.bytes)} (largest: ${top})`);
  }

  if (!handlersOnly) {
    const { file: cli } = await bundleCli();
    const server = join(dirname(cli), `${MCP_SERVER}.js`);
    console.log(
      `${relative(ROOT, cli)}: ${kb(statSync(cli).size)}; ${relative(ROOT, server)}: ${kb(statSync(server).size)}`,
    );
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
