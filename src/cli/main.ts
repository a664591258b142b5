#!/usr/bin/env node
/**
 * The `mqttwire` command line: pub, sub, test and bench, thin over the public client API.
 * Exit status: 0 success, 1 connection or protocol failure, 2 usage error, 130 interrupted.
 */
import { Output } from './io.js';
import { main } from './run.js';

const stdout = new Output(process.stdout);

main(process.argv.slice(2), { stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }).then(
  async (code) => {
    // Exit explicitly (stdin readers, sockets of an embedded broker...), but only once stdout is flushed.
    await stdout.flush();
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`mqttwire: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
