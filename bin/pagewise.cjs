#!/usr/bin/env node
// The `pagewise` command: see src/cli.ts.
//
// CommonJS on purpose: this file runs before anything has used libuv's
// threadpool (an ES module entry is loaded through it), so it can still size
// the pool. Jobs with a native kernel (wc, grep --count) scan on that pool,
// one chunk per pool thread: give it a thread per core, or the --threads
// asked for, unless UV_THREADPOOL_SIZE is set already.
'use strict';

if (!process.env.UV_THREADPOOL_SIZE) {
  const at = process.argv.indexOf('--threads');
  const asked = at > 0 ? Number(process.argv[at + 1]) : NaN;
  const cores = require('node:os').availableParallelism();
  const size = Math.max(4, cores, Number.isInteger(asked) && asked <= 1024 ? asked : 0);
  process.env.UV_THREADPOOL_SIZE = String(size);
}

import('../dist/src/cli.js').then(
  async ({ main }) => {
    process.exitCode = await main(process.argv.slice(2));
  },
  (error) => {
    process.stderr.write(`pagewise: cannot load the library (run \`npm run build\`): ${error.message}\n`);
    process.exitCode = 1;
  },
);
