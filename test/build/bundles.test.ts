import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { handlerBundleDir } from '../../lib/guard-nodejs-function';
import { handlerNames, lambdaCredentialsOnly } from '../../scripts/build';

// The budget for each prebuilt handler: the whole asset folder Lambda receives, in bytes.
const HANDLER_BUDGET = 1_000_000;
const HANDLERS = join(__dirname, '..', '..', 'dist', 'handlers');

function folderBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (sum, entry) =>
      sum + (entry.isDirectory() ? folderBytes(join(dir, entry.name)) : statSync(join(dir, entry.name)).size),
    0,
  );
}

describe('prebuilt handler bundles (npm run build)', () => {
  test('every handler folder of lambda/ has a bundle, and nothing else is in dist/handlers', () => {
    expect(existsSync(HANDLERS)).toBe(true);
    expect(readdirSync(HANDLERS).sort()).toEqual(handlerNames());
    for (const name of handlerNames()) expect(readdirSync(join(HANDLERS, name))).toEqual(['index.js']);
  });

  test('the construct finds each bundle from its sources, and names the fix when one is missing', () => {
    for (const name of handlerNames()) expect(handlerBundleDir(name)).toBe(join(HANDLERS, name));
    expect(() => handlerBundleDir('no-such-handler')).toThrow(
      /bundle of the no-such-handler handler is missing.*npm run build/,
    );
  });

  test.each(handlerNames())(`the %s bundle is at most ${HANDLER_BUDGET.toLocaleString('en')} bytes`, (name) => {
    expect(folderBytes(join(HANDLERS, name))).toBeLessThanOrEqual(HANDLER_BUDGET);
  });
});

describe('the CLI bundle (npm run build)', () => {
  const BIN = join(__dirname, '..', '..', 'dist', 'bin');
  // A method name of the MCP protocol, which only the MCP SDK's code spells out.
  const MCP_METHOD = 'notifications/initialized';

  test('the MCP server is a file of its own, so commands and the hook never load the MCP SDK', () => {
    expect(readdirSync(BIN).sort()).toEqual(['agent-guard.js', 'mcp-server.js']);
    expect(readFileSync(join(BIN, 'mcp-server.js'), 'utf8')).toContain(MCP_METHOD);
    const cli = readFileSync(join(BIN, 'agent-guard.js'), 'utf8');
    expect(cli).not.toContain(MCP_METHOD);
    expect(cli).toContain('import("./mcp-server.js")');
  });
});

describe('the credential chain inside the handler bundles', () => {
  // The SDK's default chain as the handlers bundle it: esbuild with the build's plugin.
  async function bundledDefaultProvider(): Promise<(init?: object) => () => Promise<{ accessKeyId: string }>> {
    const dir = mkdtempSync(join(tmpdir(), 'agent-guard-creds-'));
    try {
      const file = join(dir, 'chain.js');
      await esbuild.build({
        stdin: {
          contents: "export { defaultProvider } from '@aws-sdk/credential-provider-node';",
          resolveDir: __dirname,
        },
        bundle: true,
        platform: 'node',
        format: 'cjs',
        mainFields: ['module', 'main'],
        outfile: file,
        logLevel: 'silent',
        plugins: [lambdaCredentialsOnly],
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return (require(file) as { defaultProvider: () => () => Promise<{ accessKeyId: string }> }).defaultProvider;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  test('environment credentials, as Lambda gives them, are found', async () => {
    const defaultProvider = await bundledDefaultProvider();
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDLAMBDA', AWS_SECRET_ACCESS_KEY: 'secret' });
    delete process.env.AWS_PROFILE;
    await expect(defaultProvider()()).resolves.toMatchObject({ accessKeyId: 'AKIDLAMBDA' });
  });

  test('the profile-file link, which never runs in Lambda, is left out and says so', async () => {
    const defaultProvider = await bundledDefaultProvider();
    process.env.AWS_PROFILE = 'someone';
    await expect(defaultProvider()()).rejects.toThrow(
      /@aws-sdk\/credential-provider-ini is not bundled into agent-guard's handlers/,
    );
  });
});
