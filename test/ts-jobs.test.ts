/**
 * TypeScript jobs without the typescript package: Node's own stripper or
 * amaro, syntax errors that fail the load naming file:line (main thread and
 * worker), enums, `.cts` as CommonJS, `.ts` under node_modules/, the
 * version query on a job's URL, and the per-user cache (where it lives, its
 * checks, its bound). The attack on the cache by another uid is in
 * ts-cache-attack.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { evict, openCacheDir } from '../dist/src/ts-cache.js';
import { CLI, ROOT, tempDir, writeFile } from './helpers.js';

const dir = tempDir('pagewise-ts-');
const lines = Array.from({ length: 3000 }, (_, i) => `row ${i} ${'x'.repeat(i % 50)}`).join('\n') + '\n';
const data = writeFile(dir, 'data.txt', lines);

/** The CLI with a private cache location and temp dir, unless `env` says otherwise. */
function pagewise(args: string[], env: NodeJS.ProcessEnv = {}) {
  const cache = join(dir, 'xdg-default');
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: cache, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs an ES module script in a fresh Node (hooks registered there stay there). */
function node(script: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: join(dir, 'xdg-default'), ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const COUNT_JOB = (extra = '') => `${extra}
interface Acc { n: number }
export default {
  split: 'lines' as const,
  init: (): Acc => ({ n: 0 }),
  map(acc: Acc, bytes: Uint8Array): Acc { for (const b of bytes) if (b === 0x0a) acc.n++; return acc; },
  merge: (a: Acc, b: Acc): Acc => ({ n: a.n + b.n }),
};
`;

describe('a TypeScript job with a syntax error', () => {
  // The case from issue 12.7: `acc.n += 10 0;` ran as `acc.n += 10` and exited 0.
  const bad = writeFile(
    dir,
    'bad.ts',
    ['interface Acc { n: number }', 'export default {', '  init: (): Acc => ({ n: 0 }),', '  map(acc: Acc): Acc { acc.n += 10 0; return acc; },', '  merge: (a: Acc, b: Acc): Acc => ({ n: a.n + b.n }),', '};', ''].join('\n'),
  );

  it('fails to load on the main thread with ERR_PAGEWISE_JOB_LOAD naming file:line', () => {
    const r = node(
      `const { loadJob } = await import('./dist/src/job.js');
       try { await loadJob(${JSON.stringify(bad)}); console.log('loaded'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`,
    );
    const out = JSON.parse(r.stdout) as { code: string; message: string };
    expect(out.code).toBe('ERR_PAGEWISE_JOB_LOAD');
    expect(out.message).toContain(`${bad}:4`);
  });

  it('fails to load in a worker thread the same way', async () => {
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       import(workerData.job).then(({ loadJob }) => loadJob(workerData.path)).then(
         () => parentPort.postMessage({ loaded: true }),
         (e) => parentPort.postMessage({ code: e.code, message: e.message }));`,
      { eval: true, workerData: { job: join(ROOT, 'dist/src/job.js'), path: bad }, env: { ...process.env, XDG_CACHE_HOME: join(dir, 'xdg-worker') } },
    );
    const out = await new Promise<{ code?: string; message?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(out.code).toBe('ERR_PAGEWISE_JOB_LOAD');
    expect(out.message).toContain(`${bad}:4`);
  });

  it('through the CLI: exit 1 with ERR_PAGEWISE_JOB_LOAD and the line, never an answer', () => {
    const r = pagewise(['run', bad, data, '--json', '--threads', '2']);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\(ERR_PAGEWISE_JOB_LOAD\)\n$/);
    expect(r.stderr).toContain(`${bad}:4`);
  });

  it('and a JavaScript job with a syntax error names its line too', () => {
    const js = writeFile(dir, 'bad.mjs', 'export default {\n  init: () => ({ n: 0 }),\n  map(acc) { acc.n += 10 0; return acc; },\n  merge: (a) => a,\n};\n');
    const r = pagewise(['run', js, data]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\(ERR_PAGEWISE_JOB_LOAD\)\n$/);
    expect(r.stderr).toContain(`${js}:3`);
  });
});

describe('TypeScript jobs that load', () => {
  it('keep their line numbers: an error thrown in map points at the job line', () => {
    const path = writeFile(dir, 'throws.ts', ['type T = { n: number };', 'export default {', '  init: (): T => ({ n: 0 }),', '  map(acc: T): T {', '    throw new Error("here");', '  },', '  merge: (a: T) => a,', '};', ''].join('\n'));
    const r = node(
      `const { loadJob } = await import('./dist/src/job.js');
       const job = await loadJob(${JSON.stringify(path)});
       try { job.map(job.init()); } catch (e) { console.log(e.stack.split('\\n')[1]); }`,
    );
    // Imported for a run, the module's URL carries its version as a query.
    expect(r.stdout).toMatch(/throws\.ts(\?pagewise-version=[0-9a-f]+)?:5:/);
  });

  it("keep their line numbers in a run's error, which names the file without the version query", async () => {
    const path = writeFile(dir, 'throws-run.ts', ['type T = { n: number };', 'export default {', '  init: (): T => ({ n: 0 }),', '  map(acc: T): T {', '    throw new Error("here");', '  },', '  merge: (a: T) => a,', '};', ''].join('\n'));
    const input = writeFile(dir, 'throws-run.txt', 'a\nb\n');
    const r = node(
      `const { runJob } = await import('./dist/src/index.js');
       try { await runJob(${JSON.stringify(input)}, ${JSON.stringify(path)}, { threads: 1 }); } catch (e) { console.log(e.code, e.cause.stack.split('\\n')[1]); }`,
    );
    expect(r.stdout).toContain('ERR_PAGEWISE_JOB_FAILED');
    expect(r.stdout).toContain('throws-run.ts:5:');
    expect(r.stdout).not.toContain('pagewise-version');
  });

  it('with an enum (transformed, not only stripped) give the right answer', () => {
    const path = writeFile(dir, 'enum.ts', COUNT_JOB('enum Unit { One = 1, Two }\nexport const two = Unit.Two;').replace('acc.n++', 'acc.n += Unit.One'));
    const r = pagewise(['run', path, data, '--json', '--chunk-size', '4KiB', '--threads', '2']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ n: 3000 });
  });

  it('.cts jobs load as CommonJS (require, module.exports), on the main thread and in workers', () => {
    const path = writeFile(
      dir,
      'count.cts',
      `const { sep } = require('node:path');\nconst newline: number = 0x0a;\nmodule.exports = {\n  init: () => ({ n: 0, sep }),\n  map(acc: { n: number }, bytes: Uint8Array) { for (const b of bytes) if (b === newline) acc.n++; return acc; },\n  merge: (a: { n: number; sep: string }, b: { n: number }) => ({ n: a.n + b.n, sep: a.sep }),\n};\n`,
    );
    const r = pagewise(['run', path, data, '--json', '--chunk-size', '4KiB', '--threads', '2', '--no-native-kernels']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ n: 3000, sep: '/' });
  });

  it('.ts jobs under node_modules/ load', () => {
    const pkg = join(dir, 'project', 'node_modules', 'shared-jobs');
    mkdirSync(pkg, { recursive: true });
    const path = writeFile(pkg, 'count.ts', COUNT_JOB());
    const r = pagewise(['run', path, data, '--json', '--chunk-size', '4KiB', '--threads', '2']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ n: 3000 });
  });

  it('the example job runs from a copy outside the repository (it imports only types from pagewise)', () => {
    const outside = join(dir, 'elsewhere');
    mkdirSync(outside, { recursive: true });
    const copy = join(outside, 'longest-line.ts');
    writeFileSync(copy, spawnSync('cat', [join(ROOT, 'examples/longest-line.ts')], { encoding: 'utf8' }).stdout);
    const r = pagewise(['run', copy, data, '--json']);
    expect(r.status, r.stderr).toBe(0);
    let longest = { length: -1, offset: -1 };
    let offset = 0;
    for (const line of lines.split('\n').slice(0, -1)) {
      if (line.length > longest.length) longest = { length: line.length, offset };
      offset += line.length + 1;
    }
    expect(JSON.parse(r.stdout)).toEqual(longest);
  });

  it('a version query on the URL makes a different module; the file is read without it', () => {
    const path = join(dir, 'versioned.ts');
    const version = (n: number) => `export default { init: () => ({ v: ${n} as number }), map: (a: unknown) => a, merge: (a: unknown) => a };\n`;
    writeFileSync(path, version(1));
    const r = node(
      `import { writeFileSync } from 'node:fs';
       const { loadJobForRun } = await import('./dist/src/job.js');
       const a = await loadJobForRun(${JSON.stringify(path)});
       writeFileSync(${JSON.stringify(path)}, ${JSON.stringify(version(2))});
       const b = await loadJobForRun(${JSON.stringify(path)});
       const again = (await import(a.handle.url)).default;
       console.log(JSON.stringify([a.job.init(), b.job.init(), again.init(), a.job === again, a.handle.url !== b.handle.url]));`,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ v: 1 }, { v: 2 }, { v: 1 }, true, true]);
  });

  it('use Node’s own stripper where it has one, amaro elsewhere', () => {
    const r = node(`const { stripperId } = await import('./dist/src/ts-strip.js'); console.log(stripperId());`);
    const [major, minor] = process.versions.node.split('.').map(Number);
    const builtin = major > 22 || (major === 22 && minor >= 13);
    expect(r.stdout.trim()).toMatch(builtin ? /^node@v[\d.]+\/amaro@[\d.]+$/ : /^amaro@[\d.]+$/);
    // Node 22/24's "stripTypeScriptTypes is experimental" warning is not the user's business.
    const path = writeFile(dir, 'quiet.ts', COUNT_JOB());
    const run = pagewise(['run', path, data, '--json'], { XDG_CACHE_HOME: join(dir, 'xdg-quiet') });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
  });
});

describe('the TypeScript cache', () => {
  it('lives in $XDG_CACHE_HOME/pagewise, 0700, and later runs use it', () => {
    const xdg = join(dir, 'xdg-use');
    const path = writeFile(dir, 'cached.ts', COUNT_JOB());
    const first = pagewise(['run', path, data, '--json', '--threads', '2', '--chunk-size', '4KiB', '--no-native-kernels'], { XDG_CACHE_HOME: xdg });
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ n: 3000 });
    const cache = join(xdg, 'pagewise');
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    const entries = readdirSync(cache);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/^[0-9a-f]{64}\.js$/);
    // Overwritten (as its owner may), the entry is what later runs execute:
    // proof that they read it rather than strip the job again.
    writeFileSync(join(cache, entries[0]), 'export default { init: () => ({ n: -1 }), map: (a) => a, merge: (a) => a };\n', { mode: 0o600 });
    const second = pagewise(['run', path, data, '--json', '--threads', '2', '--chunk-size', '4KiB', '--no-native-kernels'], { XDG_CACHE_HOME: xdg });
    expect(JSON.parse(second.stdout)).toEqual({ n: -1 });
    // A changed job is a different key.
    writeFileSync(path, COUNT_JOB('// edited'));
    const third = pagewise(['run', path, data, '--json'], { XDG_CACHE_HOME: xdg });
    expect(JSON.parse(third.stdout)).toEqual({ n: 3000 });
  });

  it('falls back to <tmpdir>/pagewise-cache-<uid> when there is no usable home', () => {
    const tmp = join(dir, 'tmp-fallback');
    mkdirSync(tmp, { mode: 0o1777 });
    chmodSync(tmp, 0o1777);
    const path = writeFile(dir, 'tmpjob.ts', COUNT_JOB('// tmp'));
    const r = pagewise(['run', path, data, '--json'], { XDG_CACHE_HOME: '', HOME: '/nonexistent/home', TMPDIR: tmp });
    expect(r.status, r.stderr).toBe(0);
    const cache = join(tmp, `pagewise-cache-${process.getuid!()}`);
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    expect(readdirSync(cache)).toHaveLength(1);
  });

  it('is not used through a symlink, and nothing is written where the link points', () => {
    const xdg = join(dir, 'xdg-link');
    const target = join(dir, 'link-target');
    mkdirSync(xdg);
    mkdirSync(target, { mode: 0o700 });
    symlinkSync(target, join(xdg, 'pagewise'));
    const tmp = join(dir, 'tmp-link');
    mkdirSync(tmp);
    chmodSync(tmp, 0o1777);
    const path = writeFile(dir, 'linkjob.ts', COUNT_JOB('// link'));
    const r = pagewise(['run', path, data, '--json', '--threads', '2', '--chunk-size', '4KiB', '--no-native-kernels'], { XDG_CACHE_HOME: xdg, TMPDIR: tmp });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ n: 3000 });
    expect(readdirSync(target)).toEqual([]);
    expect(openCacheDir(xdg, ['pagewise'])).toBeUndefined();
  });

  it('refuses a directory of another user, and ancestors others may write to', () => {
    const other = join(dir, 'others');
    mkdirSync(other, { mode: 0o700 });
    if (process.getuid!() === 0) {
      chownSync(other, 65534, 65534);
      expect(openCacheDir(dir, ['others'])).toBeUndefined();
    }
    const open = join(dir, 'world-writable');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(openCacheDir(open, ['pagewise'])).toBeUndefined();
    // Nothing above the base is ever made.
    expect(openCacheDir(join(dir, 'missing-home'), ['.cache', 'pagewise'])).toBeUndefined();
    expect(existsSync(join(dir, 'missing-home'))).toBe(false);
    expect(existsSync(join(open, 'pagewise'))).toBe(false);
    const sticky = join(dir, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const fd = openCacheDir(sticky, ['pagewise']);
    expect(fd).toBeTypeOf('number');
    closeSync(fd!);
    // Ours but too open: made private.
    const loose = join(dir, 'loose');
    mkdirSync(loose);
    chmodSync(loose, 0o755);
    const fd2 = openCacheDir(dir, ['loose']);
    expect(fd2).toBeTypeOf('number');
    closeSync(fd2!);
    expect(lstatSync(loose).mode & 0o777).toBe(0o700);
  });

  it('keeps the most recently used entries within its bounds and removes only its own names', () => {
    const cache = join(dir, 'evict');
    mkdirSync(cache, { mode: 0o700 });
    const now = Date.now() / 1000;
    const names = Array.from({ length: 10 }, (_, i) => `${i.toString(16).padStart(64, '0')}.js`);
    names.forEach((name, i) => {
      writeFileSync(join(cache, name), 'x'.repeat(100));
      utimesSync(join(cache, name), now - 1000 + i, now - 1000 + i);
    });
    writeFileSync(join(cache, 'notes.txt'), 'not ours');
    const staleTemp = `${'a'.repeat(64)}.123.abc.tmp`;
    writeFileSync(join(cache, staleTemp), 'half written');
    utimesSync(join(cache, staleTemp), now - 3600, now - 3600);
    const fd = openCacheDir(dir, ['evict'])!;
    try {
      evict(fd, 4, 1 << 20);
      expect(readdirSync(cache).sort()).toEqual([...names.slice(6), 'notes.txt'].sort());
      evict(fd, 100, 250);
      expect(readdirSync(cache).sort()).toEqual([...names.slice(8), 'notes.txt'].sort());
    } finally {
      closeSync(fd);
    }
  });
});
