/**
 * Atomic output (issue 16): the target appears complete or not at all. A job
 * that throws after writing, an abort, SIGINT and SIGTERM leave it exactly as
 * it was with the temporary removed; after a SIGKILL it is as it was, the
 * temporary remains under its recognizable name, and the next run to the same
 * target removes it. A full disk is ENOSPC with the temporary removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pagewise, tempDir, ROOT } from './helpers.js';
import { job } from './fixtures/reference.js';
import { linesBuffer, processExists, sleep, spawnCli, waitFor, waitForFile, withTimeout } from './fixtures/reliability/support.js';

const INTERNAL = Symbol.for('pagewise.internal');
const dir = tempDir('pagewise-atomic-');
const SLOW = job('write-slow.mjs');
const SLOW_COMMUTATIVE = job('write-slow-commutative.mjs');
const OLD = 'the old content\n';
const input = join(dir, 'input.txt');
const small = join(dir, 'small.txt');

beforeAll(() => {
  writeFileSync(input, linesBuffer(32 << 20));
  writeFileSync(small, linesBuffer(1 << 20));
});

afterAll(async () => {
  await pagewise.shutdown();
});

let serial = 0;
/** A target that holds OLD. */
function oldTarget(where = dir): string {
  const path = join(where, `target-${serial++}.txt`);
  writeFileSync(path, OLD);
  return path;
}
const temporaries = (path: string): string[] => readdirSync(dirname(path)).filter((n) => n.startsWith(`.${basename(path)}.pagewise-tmp-`));

describe('AtomicFile', () => {
  it('commit replaces the target; abort leaves it; neither leaves a temporary', async () => {
    const target = oldTarget();
    const file = pagewise.AtomicFile.open(target);
    expect(basename(file.tempPath)).toMatch(new RegExp(`^\\.${basename(target)}\\.pagewise-tmp-${process.pid}-[0-9a-f]{12}$`));
    file.write(Buffer.from('new\n'), 0);
    expect(readFileSync(target, 'utf8')).toBe(OLD);
    await file.commit();
    expect(readFileSync(target, 'utf8')).toBe('new\n');
    expect(temporaries(target)).toEqual([]);
    const other = pagewise.AtomicFile.open(target);
    other.write(Buffer.from('never\n'), 0);
    await other.abort();
    await other.abort();
    expect(readFileSync(target, 'utf8')).toBe('new\n');
    expect(temporaries(target)).toEqual([]);
    await expect(other.commit()).rejects.toMatchObject({ code: 'ERR_PAGEWISE_CLOSED' });
  });

  it('an abort signal before the rename removes the temporary', async () => {
    const target = oldTarget();
    const file = pagewise.AtomicFile.open(target);
    file.write(Buffer.from('new\n'), 0);
    const controller = new AbortController();
    controller.abort();
    await expect(file.commit(controller.signal)).rejects.toMatchObject({ code: 'ERR_PAGEWISE_ABORTED' });
    expect(readFileSync(target, 'utf8')).toBe(OLD);
    expect(temporaries(target)).toEqual([]);
  });

  it("removes the temporaries of dead processes, and keeps live processes' and other targets'", async () => {
    const target = oldTarget();
    // A pid that existed and is gone.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    try {
      const stale = `${pagewise.temporaryPrefix(target)}${dead}-0123456789ab`;
      const living = `${pagewise.temporaryPrefix(target)}${live.pid}-0123456789ab`;
      const mine = `${pagewise.temporaryPrefix(target)}${process.pid}-0123456789ab`;
      const unrelated = join(dir, `.${basename(target)}x.pagewise-tmp-${dead}-0123456789ab`);
      for (const p of [stale, living, mine, unrelated]) writeFileSync(p, 'partial');
      expect(pagewise.staleTemporaries(target)).toEqual([stale]);
      const file = pagewise.AtomicFile.open(target);
      await file.abort();
      expect(existsSync(stale)).toBe(false);
      for (const p of [living, mine, unrelated]) expect(existsSync(p), p).toBe(true);
    } finally {
      live.kill('SIGKILL');
    }
  });

  it('a process that exits with a temporary open leaves none behind', () => {
    const target = oldTarget();
    const script = `
      const { AtomicFile } = await import(${JSON.stringify(join(ROOT, 'dist/src/index.js'))});
      const f = AtomicFile.open(${JSON.stringify(target)});
      f.write(Buffer.from('partial'), 0);
      process.exit(3);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script]);
    expect(r.status).toBe(3);
    expect(readFileSync(target, 'utf8')).toBe(OLD);
    expect(temporaries(target)).toEqual([]);
  });

  it('names a very long target’s temporaries by a hash, within NAME_MAX', async () => {
    const target = join(dir, `${'n'.repeat(250)}.txt`);
    await pagewise.writeFileAtomic(target, 'long\n');
    expect(readFileSync(target, 'utf8')).toBe('long\n');
    expect(basename(pagewise.temporaryPrefix(target)).length).toBeLessThan(60);
  });
});

describe('a run that does not complete leaves the target as it was', () => {
  it.each([
    ['ordered', SLOW],
    ['commutative', SLOW_COMMUTATIVE],
  ])('a %s job that throws after writing', async (_kind, jobPath) => {
    for (const options of [{}, { mode: 'pread' }, { mode: 'read' }]) {
      const target = oldTarget();
      await expect(
        pagewise.runJob(small, jobPath, { ...options, chunkSize: 65536, threads: 2, params: { msPer64k: 0, throwAfter: 300_000 }, output: target } as never),
      ).rejects.toMatchObject({ code: 'ERR_PAGEWISE_JOB_FAILED' });
      expect(readFileSync(target, 'utf8')).toBe(OLD);
      expect(temporaries(target)).toEqual([]);
    }
  });

  it('a job whose finish throws, with every chunk written', async () => {
    const target = oldTarget();
    const finishing = join(dir, 'finish-throws.mjs');
    writeFileSync(finishing, `import base from ${JSON.stringify(SLOW)}; export default { ...base, finish() { throw new Error('late'); } };`);
    await expect(pagewise.runJob(small, finishing, { threads: 2, params: { msPer64k: 0 }, output: target })).rejects.toMatchObject({ code: 'ERR_PAGEWISE_JOB_FAILED' });
    expect(readFileSync(target, 'utf8')).toBe(OLD);
    expect(temporaries(target)).toEqual([]);
  });

  it.each([
    ['ordered', SLOW],
    ['commutative', SLOW_COMMUTATIVE],
  ])('an aborted %s run', async (_kind, jobPath) => {
    const target = oldTarget();
    const started = join(dir, `started-${serial++}`);
    const controller = new AbortController();
    const run = pagewise.runJob(input, jobPath, { chunkSize: '1MiB', threads: 2, params: { msPer64k: 3, started }, output: target, signal: controller.signal });
    await waitForFile(started);
    await sleep(200);
    controller.abort();
    await expect(withTimeout(run, 10_000, 'the aborted run')).rejects.toMatchObject({ code: 'ERR_PAGEWISE_ABORTED' });
    expect(readFileSync(target, 'utf8')).toBe(OLD);
    expect(temporaries(target)).toEqual([]);
  });

  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} to pagewise run --output: exit ${status}, the target as it was, no temporary`, async () => {
      const target = oldTarget();
      const started = join(dir, `started-${serial++}`);
      const params = JSON.stringify({ msPer64k: 3, started });
      const { child, exit } = spawnCli(['run', SLOW, input, '--chunk-size', '1MiB', '--threads', '2', '--params', params, '--output', target]);
      await waitForFile(started);
      await waitFor(() => temporaries(target).length === 1, 5000, 'the temporary');
      await sleep(200);
      child.kill(signal);
      const result = await withTimeout(exit, 10_000, `the CLI after ${signal}`);
      expect(result.code, result.stderr).toBe(status);
      expect(readFileSync(target, 'utf8')).toBe(OLD);
      expect(temporaries(target)).toEqual([]);
    });
  }

  it('SIGKILL mid-run: the target as it was, a stale temporary; the next run succeeds and removes it', async () => {
    const target = oldTarget();
    const started = join(dir, `started-${serial++}`);
    const params = JSON.stringify({ msPer64k: 3, started });
    const { child, exit } = spawnCli(['run', SLOW, input, '--chunk-size', '1MiB', '--threads', '2', '--params', params, '--output', target]);
    await waitForFile(started);
    await sleep(300);
    const [stale] = temporaries(target);
    expect(stale).toMatch(new RegExp(`\\.pagewise-tmp-${child.pid}-`));
    child.kill('SIGKILL');
    const result = await withTimeout(exit, 10_000, 'the killed CLI');
    expect(result.signal).toBe('SIGKILL');
    await waitFor(() => !processExists(child.pid!), 5000, 'the killed process to be gone');
    expect(readFileSync(target, 'utf8')).toBe(OLD);
    expect(temporaries(target)).toEqual([stale]);
    // The next run to the same target: complete output, no temporary left.
    const rerun = spawnCli(['run', SLOW, small, '--threads', '2', '--params', '{"msPer64k":0}', '--output', target]);
    const done = await withTimeout(rerun.exit, 30_000, 'the rerun');
    expect(done.code, done.stderr).toBe(0);
    expect(readFileSync(target).equals(readFileSync(small))).toBe(true);
    expect(temporaries(target)).toEqual([]);
  });
});

/** A 1 MiB tmpfs, mounted for the test (root only, as the machine's tests run). */
function mountTinyTmpfs(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const mnt = join(dir, 'tiny');
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
  } catch {
    return undefined;
  }
  return mnt;
}

describe('a full disk', () => {
  let mnt: string | undefined;
  beforeAll(() => {
    mnt = mountTinyTmpfs();
  });
  afterAll(() => {
    if (mnt === undefined) return;
    execFileSync('umount', [mnt]);
    rmdirSync(mnt);
  });

  it('is ENOSPC, with the temporary removed and the target as it was, on every path; gen too', async (t) => {
    // Mounting a tmpfs needs root; the suite runs as root here (docs: Development).
    if (mnt === undefined) return t.skip();
    const target = oldTarget(mnt);
    for (const options of [{ [INTERNAL]: { executor: 'ordered' } }, { [INTERNAL]: { executor: 'commutative' } }, { mode: 'read' }]) {
      const jobPath = (options as Record<symbol, { executor?: string }>)[INTERNAL]?.executor === 'commutative' ? SLOW_COMMUTATIVE : SLOW;
      // 4 MiB of output into a 1 MiB file system.
      const four = join(dir, 'four.txt');
      writeFileSync(four, linesBuffer(4 << 20));
      await expect(pagewise.runJob(four, jobPath, { ...options, chunkSize: '256KiB', threads: 2, params: { msPer64k: 0 }, output: target } as never)).rejects.toMatchObject({
        code: 'ENOSPC',
      });
      expect(readFileSync(target, 'utf8')).toBe(OLD);
      expect(temporaries(target)).toEqual([]);
    }
    // grep's plain lines: the kernel path, written by the main thread.
    const four = join(dir, 'four.txt');
    const lines = await pagewise.runJob(four, pagewise.builtinJobs.grep, { chunkSize: '256KiB', threads: 2, params: { pattern: 'lazy dog', write: true }, output: target }).then(
      () => 'succeeded',
      (error: { code?: string }) => error.code,
    );
    expect(lines).toBe('ENOSPC');
    expect(readFileSync(target, 'utf8')).toBe(OLD);
    expect(temporaries(target)).toEqual([]);
    const kernel = await pagewise.planJob(four, pagewise.builtinJobs.grep, { params: { pattern: 'lazy dog', write: true }, output: target });
    expect(kernel.executor).toBe('kernel');
    const cli = spawnCli(['gen', '1brc', target, '--rows', '200000']);
    const r = await withTimeout(cli.exit, 30_000, 'gen on a full disk');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\(ENOSPC\)\n$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(target, 'utf8')).toBe(OLD);
    expect(temporaries(target)).toEqual([]);
  });
});
