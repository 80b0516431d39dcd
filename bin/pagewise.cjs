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

// A failed write to stderr (2>/dev/full, a closed pipe) has nowhere to be
// reported: ignore it, as coreutils do, rather than die of an unhandled
// 'error' event with exit status 1 whatever the run's own status.
process.stderr.on('error', () => {});

if (!process.env.UV_THREADPOOL_SIZE) {
  const asked = threadsAsked(process.argv.slice(2));
  const cores = require('node:os').availableParallelism();
  const size = Math.max(4, cores, Number.isInteger(asked) && asked > 0 ? Math.min(asked, 1024) : 0);
  process.env.UV_THREADPOOL_SIZE = String(size);
}

// V8's compile cache (Node 22.1+; Node 20 has none) saves ~5 ms of each
// start. It lives in this user's own cache directory, never where another
// user could plant code (the rule of the job transpile cache, src/ts-cache.ts):
// every directory on the way must be a real directory owned by root or us and
// not writable by others (unless sticky), else there is no cache. A sibling of
// the transpile cache's directory, which bounds its own entries.
// NODE_COMPILE_CACHE, when set, is Node's to handle.
function enableCompileCache() {
  const mod = require('node:module');
  if (typeof mod.enableCompileCache !== 'function' || process.env.NODE_COMPILE_CACHE || process.env.PAGEWISE_COMPILE_CACHE === '0') return;
  try {
    const fs = require('node:fs');
    const path = require('node:path');
    const uid = process.getuid();
    // As XDG says: XDG_CACHE_HOME may be created, and ~/.cache in an existing home; never a home itself.
    const xdg = process.env.XDG_CACHE_HOME;
    const home = process.env.HOME || require('node:os').homedir();
    const base = xdg && path.isAbsolute(xdg) ? xdg : home && path.isAbsolute(home) ? path.join(home, '.cache') : undefined;
    if (base === undefined || !fs.existsSync(path.dirname(base))) return;
    const dir = path.join(base, 'pagewise-v8');
    for (const d of [base, dir]) if (!fs.existsSync(d)) fs.mkdirSync(d, { mode: 0o700 });
    for (let at = dir; ; at = path.dirname(at)) {
      const st = fs.lstatSync(at);
      const own = at === dir ? st.uid === uid : st.uid === 0 || st.uid === uid;
      if (!st.isDirectory() || !own || ((st.mode & 0o022) !== 0 && (at === dir || (st.mode & 0o1000) === 0))) return;
      if (at === path.dirname(at)) break;
    }
    mod.enableCompileCache(dir);
  } catch {
    // No cache (a read-only or missing home): start-up is a little slower, nothing else.
  }
}
enableCompileCache();

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
