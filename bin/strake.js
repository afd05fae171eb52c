#!/usr/bin/env node
// Entry point of the `strake` command; the implementation is compiled from cli/.
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`strake: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
