#!/usr/bin/env node
// The `pagewise` command: see src/cli/main.ts.
//
// CommonJS on purpose: this file runs before anything has used libuv's
// threadpool (an ES module entry is loaded through it), so it can still size
// the pool. Jobs with a native kernel (wc, grep --count) scan on that pool,
// one chunk per pool thread: give it a thread per core, or the --threads
// asked for, unless UV_THREADPOOL_SIZE is set already. `pagewise info` shows
// the pool the process really got.
'use strict';

/** The value of --threads (`--threads N` or `--threads=N`) before any `--`, or NaN. */
function threadsAsked(args) {
  let asked = NaN;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    if (a === '--threads') asked = Number(args[++i]);
    else if (a.startsWith('--threads=')) asked = Number(a.slice('--threads='.length));
  }
  return asked;
}

if (!process.env.UV_THREADPOOL_SIZE) {
  const asked = threadsAsked(process.argv.slice(2));
  const cores = require('node:os').availableParallelism();
  const size = Math.max(4, cores, Number.isInteger(asked) && asked > 0 ? Math.min(asked, 1024) : 0);
  process.env.UV_THREADPOOL_SIZE = String(size);
}

import('../dist/src/cli/main.js').then(
  async ({ main }) => {
    process.exitCode = await main(process.argv.slice(2));
  },
  (error) => {
    const hint = error && error.code === 'ERR_MODULE_NOT_FOUND' ? ' (is it built? run `npm run build`)' : '';
    process.stderr.write(`pagewise: cannot load the library${hint}: ${error && error.message}\n`);
    process.exitCode = 1;
  },
);
