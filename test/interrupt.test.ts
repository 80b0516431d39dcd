/**
 * Runs that are stopped from outside (SIGINT/SIGTERM to the CLI, an
 * AbortSignal) or fail from inside (a worker that exits or runs out of heap,
 * a job that throws): each ends promptly with its stable code, leaves nothing
 * running, and the next run works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, pagewise, tempDir } from './helpers.js';
import { native } from '../dist/src/native.js';
import { LINE, fixture, linesBuffer, processExists, sleep, spawnCli, waitFor, waitForFile, withTimeout } from './fixtures/reliability/support.js';

const dir = tempDir('pagewise-interrupt-');
const SIZE = 64 << 20;
let big = '';
let small = '';
const SMALL_SIZE = 2 << 20;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
  big = join(dir, 'big.txt');
  writeFileSync(big, linesBuffer(SIZE));
  small = join(dir, 'small.txt');
  writeFileSync(small, linesBuffer(SMALL_SIZE));
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await pagewise.shutdown();
});

const JOBS = [
  ['an ordered', fixture('slow-pages.mjs')],
  ['a commutative', fixture('slow-pages-commutative.mjs')],
] as const;

let serial = 0;
const marker = (): string => join(dir, `started-${serial++}`);

/** The run must reject; returns the error (fails the test if it resolved). */
async function rejection(promise: Promise<unknown>, ms: number, what: string): Promise<Record<string, unknown>> {
  const outcome = await withTimeout(
    promise.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
    ms,
    what,
  );
  if (outcome.ok) throw new Error(`${what}: expected a rejection, got ${JSON.stringify(outcome.value)}`);
  return outcome.error as Record<string, unknown>;
}

/** wc over the small file gives the right counts: the engine is usable again. */
async function expectWorkingRun(): Promise<void> {
  const result = await withTimeout(
    pagewise.mapReduce<{ lines: number; bytes: number }>(small, pagewise.builtinJobs.wc, { threads: 2, chunkSize: '256KiB' }),
    20_000,
    'the run after',
  );
  expect(result).toMatchObject({ lines: SMALL_SIZE / LINE.length, bytes: SMALL_SIZE });
}

describe('CLI signals', () => {
  const cases = [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const;
  for (const [signal, status] of cases) {
    it.each(JOBS)(`${signal} during %s job: exits ${status} within 2 s, and nothing of it is left running`, async (_kind, job) => {
      const started = marker();
      // 64 chunks of 1 MiB at ~80 ms each: ~2.5 s of work on 2 threads.
      const params = JSON.stringify({ msPer64k: 5, started });
      const { child, exit } = spawnCli(['run', job, big, '--chunk-size', '1MiB', '--threads', '2', '--params', params]);
      await waitForFile(started);
      await sleep(300);
      const sentAt = performance.now();
      expect(child.kill(signal)).toBe(true);
      const result = await withTimeout(exit, 10_000, `the CLI after ${signal}`);
      const took = result.exitedAt - sentAt;
      expect(result.signal, `the child died of ${result.signal}: it should catch ${signal} and exit`).toBeNull();
      expect(result.code, result.stderr).toBe(status);
      expect(took, `exit took ${took.toFixed(0)} ms after ${signal}`).toBeLessThan(2000);
      // Interrupted: no partial result is printed, and no error: the status says it.
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe('');
      // The process (and with it every worker thread) is gone.
      expect(processExists(child.pid!)).toBe(false);
      expect(existsSync(`/proc/${child.pid}`)).toBe(false);
    });
  }
});

describe('CLI signals to the built-in commands', () => {
  // grep over 20 copies of big (every line matches 'o'), signalled once its output flows: it
  // ends silently with the signal's status, as a coreutils program killed by it does. grep
  // said "the run was aborted" on stderr; the other commands said nothing.
  for (const [signal, status] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    it(`${signal} to grep mid-output: exit ${status}, nothing on stderr`, async () => {
      const files = Array.from({ length: 20 }, () => big);
      for (const args of [['grep', 'o', ...files], ['grep', '-n', 'o', ...files], ['grep', '--json', 'o', ...files]]) {
        const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        let out = 0;
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.stdout!.on('data', (d: Buffer) => (out += d.length));
        const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        await waitFor(() => out > 0, 15_000, 'the first output');
        child.kill(signal);
        const code = await withTimeout(exit, 10_000, `grep after ${signal}`);
        expect(out, 'the run was still going').toBeLessThan(20 * SIZE);
        expect(code, `${args.slice(0, 3).join(' ')}: ${stderr}`).toBe(status);
        expect(stderr, args.slice(0, 3).join(' ')).toBe('');
      }
    });
  }
});

describe('CLI signals to grep -c --json', () => {
  it('SIGINT while it waits on standard input: exit 130 and no partial {"files":[...]}', async () => {
    const child = spawn(process.execPath, [CLI, 'grep', '-c', '--json', 'x', '-', big], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Standard input stays open and empty: the run waits on it.
    await sleep(1500);
    child.kill('SIGINT');
    const code = await withTimeout(exit, 10_000, 'grep -c --json after SIGINT');
    expect(code).toBe(130);
    expect(stdout).toBe('');
  });
});

describe('CLI signals while a job holds the main thread', () => {
  // Standard input runs map on the main thread: a map that never returns keeps the CLI's
  // handlers from running. native/signals.cc ends the process two seconds after a signal
  // its handler has not seen, or at once at another one a second after the first.
  function spinning(): { child: ReturnType<typeof spawn>; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>; started: string } {
    const started = marker();
    const child = spawn(process.execPath, [CLI, 'run', fixture('spin-map.mjs'), '-', '--params', JSON.stringify({ started })], { stdio: ['pipe', 'pipe', 'pipe'] });
    // Read, so that nothing ever waits on a full pipe (a spawned 'ignore' is a /dev/null the CLI cannot write).
    child.stdout!.resume();
    child.stderr!.resume();
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      child.on('exit', (code, sig) => resolve({ code, signal: sig, at: performance.now() })),
    );
    child.stdin!.write('a line\n');
    return { child, exit, started };
  }

  const cases = [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const;
  for (const [signal, status] of cases) {
    it(`one ${signal}: exits ${status} about two seconds later, as the CLI promises`, async () => {
      const { child, exit, started } = spinning();
      try {
        await waitForFile(started);
        const sentAt = performance.now();
        child.kill(signal);
        await sleep(1000);
        expect(processExists(child.pid!), 'cut in before the two seconds').toBe(true);
        const result = await withTimeout(exit, 10_000, `the CLI after ${signal}`);
        expect([result.code, result.signal]).toEqual([status, null]);
        expect(result.at - sentAt).toBeGreaterThan(1800);
        expect(result.at - sentAt).toBeLessThan(4000);
      } finally {
        child.kill('SIGKILL');
      }
    });
  }

  it('a second SIGINT a second after the first: exits 130 at once', async () => {
    const { child, exit, started } = spinning();
    try {
      await waitForFile(started);
      child.kill('SIGINT');
      await sleep(1100);
      const sentAt = performance.now();
      child.kill('SIGINT');
      const result = await withTimeout(exit, 10_000, 'the CLI after the second SIGINT');
      expect([result.code, result.signal]).toEqual([130, null]);
      expect(result.at - sentAt).toBeLessThan(500);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('AbortSignal', () => {
  it.each(JOBS)('aborting %s job mid-run rejects with ERR_PAGEWISE_ABORTED within 2 s; the next run works', async (_kind, job) => {
    const started = marker();
    const controller = new AbortController();
    const run = pagewise.runJob(big, job, {
      chunkSize: '1MiB',
      threads: 2,
      params: { msPer64k: 5, started },
      signal: controller.signal,
    });
    await waitForFile(started);
    await sleep(300);
    const abortedAt = performance.now();
    controller.abort(new Error('test abort'));
    const error = await rejection(run, 10_000, 'the aborted run');
    const took = performance.now() - abortedAt;
    expect(error.code).toBe('ERR_PAGEWISE_ABORTED');
    expect((error.cause as Error | undefined)?.message).toBe('test abort');
    expect(took).toBeLessThan(2000);
    await expectWorkingRun();
    // Nothing from the aborted run keeps its file mapped.
    await waitFor(() => native.stats().mappings === 0, 5000, 'every mapping to be released');
  });

  it('an already aborted signal rejects at once, before any file is opened', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(pagewise.runJob(join(dir, 'does-not-exist'), pagewise.builtinJobs.wc, { signal: controller.signal }), 5000, 'pre-aborted');
    expect(error.code).toBe('ERR_PAGEWISE_ABORTED');
  });
});

describe('workers that die', () => {
  it('a job calling process.exit in map: ERR_PAGEWISE_WORKER_DIED, then the next run works', async () => {
    const error = await rejection(
      pagewise.runJob(small, fixture('exit-in-map.mjs'), { threads: 2, chunkSize: '256KiB', params: { at: 3 } }),
      20_000,
      'process.exit in map',
    );
    expect(error.code).toBe('ERR_PAGEWISE_WORKER_DIED');
    expect(String(error.message)).toMatch(/exited with code: 7/);
    await expectWorkingRun();
  });

  it('a job that allocates without bound under maxOldGenerationSizeMb 32: ERR_PAGEWISE_WORKER_DIED, no hang', async () => {
    const error = await rejection(
      pagewise.runJob(small, fixture('unbounded-alloc.mjs'), {
        threads: 2,
        chunkSize: '1MiB',
        resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
      }),
      30_000,
      'unbounded allocation',
    );
    expect(error.code).toBe('ERR_PAGEWISE_WORKER_DIED');
    expect(String(error.message)).toMatch(/memory/i);
    await expectWorkingRun();
  });

  it('a job whose stray timer throws after its task: the run succeeds, the process lives, the next run works', async () => {
    const result = await withTimeout(
      pagewise.mapReduce<number>(small, fixture('late-throw.mjs'), { threads: 2, chunkSize: '256KiB' }),
      20_000,
      'late throw',
    );
    expect(result).toBe(SMALL_SIZE);
    // The timers fire 300 ms later and end their (idle) workers; the pool
    // replaces them, and the failure belongs to no run: later runs, ordered
    // (a task per chunk) or commutative, must not inherit it.
    await sleep(700);
    for (let i = 0; i < 3; i++) {
      const ordered = await withTimeout(
        pagewise.mapReduce<{ bytes: number }>(small, fixture('slow-pages.mjs'), { threads: 2, chunkSize: '256KiB', params: { msPer64k: 0 } }),
        20_000,
        'ordered run after the late throw',
      );
      expect(ordered.bytes).toBe(SMALL_SIZE);
      await expectWorkingRun();
    }
  });
});

describe('jobs that throw', () => {
  it('ERR_PAGEWISE_JOB_FAILED with the original error as cause, and the chunk index, start and end', async () => {
    const error = await rejection(
      pagewise.runJob(small, fixture('throw-at.mjs'), { threads: 2, chunkSize: '256KiB', params: { at: 2 } }),
      20_000,
      'throwing job',
    );
    expect(error).toBeInstanceOf(pagewise.JobFailedError);
    expect(error.code).toBe('ERR_PAGEWISE_JOB_FAILED');
    expect(error.index).toBe(2);
    expect(error.path).toBe(small);
    const start = error.start as number;
    const end = error.end as number;
    expect(Number.isInteger(start) && Number.isInteger(end)).toBe(true);
    // Chunk 2 of 256 KiB chunks: its records start at or after 512 KiB.
    expect(start).toBeGreaterThanOrEqual(2 * (256 << 10));
    expect(start).toBeLessThan(3 * (256 << 10));
    expect(end).toBeGreaterThan(start);
    const cause = error.cause as Error & { code?: unknown };
    expect(cause).toBeInstanceOf(Error);
    expect(cause.message).toBe('reliability boom at chunk 2');
    expect(cause.name).toBe('ReliabilityBoom');
    expect(cause.code).toBe('E_RELIABILITY_BOOM');
    expect(cause.stack).toContain('throw-at.mjs');
    await expectWorkingRun();
  });

  it('CLI: shows the original message and exits 1', async () => {
    const { exit } = spawnCli(['run', fixture('throw-at.mjs'), small, '--chunk-size', '256KiB', '--threads', '2', '--params', '{"at":1}']);
    const result = await withTimeout(exit, 20_000, 'CLI with a throwing job');
    expect(result.signal).toBeNull();
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('reliability boom at chunk 1');
    expect(result.stderr).toContain('(ERR_PAGEWISE_JOB_FAILED)');
    expect(result.stdout).toBe('');
  });
});

describe('bookkeeping', () => {
  it('no unhandled rejections were raised by any of the above', async () => {
    // Give late rejections a chance to surface.
    await sleep(50);
    expect(unhandled).toEqual([]);
  });
});
