#!/usr/bin/env node
// A reader that stops early (`agent-guard --help | head`) closes the pipe: that ends the output, not the run.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}
// `hook` runs before every shell command of a coding agent: it starts without the rest of the CLI,
// whose modules load the AWS SDK (the hook loads it only for a destructive command).
const main =
  process.argv[2] === 'hook'
    ? import('./cli/hook').then(({ runHookCli }) => runHookCli(process.argv))
    : import('./cli/cli').then(({ run }) => run(process.argv));
// Neither runner throws; should loading one fail, exit code 2 still blocks a hook call (stderr says why).
void main.then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`agent-guard: could not start: ${String(error)}\n`);
    process.exitCode = 2;
  },
);
