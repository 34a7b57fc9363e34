#!/usr/bin/env node
import { run } from './cli/cli';
void run(process.argv).then((code) => (process.exitCode = code));
