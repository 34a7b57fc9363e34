import { join } from 'node:path';
import { bundleCli as buildCli, CliBundle } from '../../scripts/build';

/** The CLI's entry point, from source. */
export const CLI_ENTRY = join(__dirname, '../../bin/agent-guard.ts');

/**
 * Bundles the CLI into `directory` exactly as the package ships it (agent-guard.js, and the MCP server
 * beside it), for tests that run it as a process. Returns the CLI's path.
 */
export async function bundleCli(directory: string): Promise<string> {
  return (await buildCli(directory)).file;
}

/** The same, with the modules bundled (from esbuild's metafile, since the bundle is minified). */
export function bundleCliWithInputs(directory: string): Promise<CliBundle> {
  return buildCli(directory);
}
