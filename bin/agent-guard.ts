#!/usr/bin/env node
import { run } from './cli/cli';

// A reader that stops early (`agent-guard --help | head`) closes the pipe: that ends the output, not the run.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}
void run(process.argv).then((code) => (process.exitCode = code));
