import { join } from 'node:path';
import { buildSync } from 'esbuild';

/** The CLI's entry point, from source. */
export const CLI_ENTRY = join(__dirname, '../../bin/agent-guard.ts');

/** Bundles the CLI into one file, as it ships, for tests that run it as a process. */
export function bundleCli(outfile: string): void {
  buildSync({
    entryPoints: [CLI_ENTRY],
    bundle: true,
    platform: 'node',
    target: 'node20',
    outfile,
    logLevel: 'silent',
  });
}
