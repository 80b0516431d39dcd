/**
 * Many runs in one long-lived process (a server, a watch loop) must not leak:
 * file descriptors, mappings of the input and resident memory come back to
 * where they started while the worker pool stays up, and workers are not
 * started per run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, pagewise, tempDir, writeFile } from './helpers.js';
import { native } from '../dist/src/native.js';
import { LINE, fixture, linesBuffer, sleep } from './fixtures/reliability/support.js';

const dir = tempDir('pagewise-endurance-');
const SIZE = 256 << 10;
const file = writeFile(dir, 'small.txt', linesBuffer(SIZE));
const LINES = SIZE / LINE.length;
// 4 chunks on 2 threads: both workers take part in every run.
const OPTIONS = { threads: 2, chunkSize: '64KiB' } as const;

/** Entries in /proc/self/fd. */
function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Threads of this process (workers included). */
function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

/** Descriptors open on the input file. */
function fdsOnFile(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      /* closed meanwhile (readdir's own descriptor) */
    }
  }
  return n;
}

/** Lines of /proc/self/maps that map the input file. */
function mapsOfFile(): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.endsWith(file)).length;
}

/**
 * Views are detached after every chunk but finalized on their worker's event
 * loop, and a mapping goes away with its last view: give that a moment (far
 * less than the pool's 1 s idle timeout, so the workers are still up).
 */
async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 50; i++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
    if (native.stats().mappings === 0 && mapsOfFile() === 0) return;
    await sleep(10);
  }
}

afterAll(async () => {
  await pagewise.shutdown();
});

describe('endurance', () => {
  it.each([
    ['in workers (drain mode)', false],
    ['as a native kernel', true],
  ])('1000 wc runs (threads 2) %s: descriptors, mappings and RSS come back; no per-run worker start', async (_, nativeKernels) => {
    const OPTIONS = { threads: 2, chunkSize: '64KiB', nativeKernels } as const;
    // Warm up: start the pool's workers, load the job, let V8 settle its heaps.
    for (let i = 0; i < 30; i++) await pagewise.mapReduce(file, pagewise.builtinJobs.wc, OPTIONS);
    await settle();
    const fds0 = fdCount();
    const rss0 = process.memoryUsage().rss;
    expect(fdsOnFile()).toBe(0);
    expect(mapsOfFile()).toBe(0);
    expect(native.stats()).toEqual({ mappings: 0, views: 0 });

    const startedAt = performance.now();
    let mostMaps = 0;
    let mostMappings = 0;
    for (let i = 0; i < 1000; i++) {
      const result = await pagewise.mapReduce<{ lines: number; words: number; bytes: number }>(file, pagewise.builtinJobs.wc, OPTIONS);
      if (result.lines !== LINES || result.bytes !== SIZE) throw new Error(`run ${i}: wrong result ${JSON.stringify(result)}`);
      if (i % 25 === 0) {
        mostMaps = Math.max(mostMaps, mapsOfFile());
        mostMappings = Math.max(mostMappings, native.stats().mappings);
      }
    }
    const seconds = (performance.now() - startedAt) / 1000;
    // Mappings of earlier runs must not pile up while runs follow each other
    // (a worker that never returns to its event loop never finalizes views).
    expect(mostMappings, 'mappings alive at once during the loop').toBeLessThanOrEqual(3);
    expect(mostMaps, 'maps of the file at once during the loop').toBeLessThanOrEqual(3);

    await settle();
    expect(native.stats()).toEqual({ mappings: 0, views: 0 });
    expect(fdsOnFile()).toBe(0);
    expect(mapsOfFile()).toBe(0);
    // Same number of descriptors with the same (still running) workers.
    expect(fdCount()).toBe(fds0);
    const growth = process.memoryUsage().rss - rss0;
    expect(growth, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(64 << 20);
    // About 3 ms a run here; starting workers per run would cost tens of ms.
    expect(seconds, `1000 runs took ${seconds.toFixed(1)} s`).toBeLessThan(60);
  });

  it('300 runs of an ordered job: the same, through the one-task-per-chunk path', async () => {
    const job = fixture('slow-pages.mjs');
    const params = { msPer64k: 0 };
    for (let i = 0; i < 10; i++) await pagewise.mapReduce(file, job, { ...OPTIONS, params });
    await settle();
    const fds0 = fdCount();
    for (let i = 0; i < 300; i++) {
      const result = await pagewise.mapReduce<{ bytes: number }>(file, job, { ...OPTIONS, params });
      if (result.bytes !== SIZE) throw new Error(`run ${i}: wrong result ${JSON.stringify(result)}`);
    }
    await settle();
    expect(native.stats()).toEqual({ mappings: 0, views: 0 });
    expect(fdsOnFile()).toBe(0);
    expect(mapsOfFile()).toBe(0);
    expect(fdCount()).toBe(fds0);
  });

  it.each([
    ['an ordered job throwing in map', 'throws-map.mjs', {}],
    ['a commutative job throwing in map', 'throws-map-commutative.mjs', {}],
    ['an accumulator that cannot be copied', 'bad-accumulator.mjs', { kind: 'function' }],
  ])('300 failing runs (%s) are as clean as successful ones: descriptors, mappings, RSS, no worker restart', async (_, name, params) => {
    const failing = join(ROOT, 'test', 'fixtures', 'jobs', name);
    const o = { ...OPTIONS, params: { failAt: 1, ...params } };
    const fail = (): Promise<unknown> => pagewise.mapReduce(file, failing, o).then(
      () => {
        throw new Error('the run should have failed');
      },
      (error: { code?: string }) => error.code,
    );
    for (let i = 0; i < 20; i++) await fail();
    await settle();
    const fds0 = fdCount();
    const rss0 = process.memoryUsage().rss;
    const threads0 = threadCount();
    for (let i = 0; i < 300; i++) {
      const code = await fail();
      if (code !== 'ERR_PAGEWISE_JOB_FAILED' && code !== 'ERR_PAGEWISE_NOT_CLONEABLE') throw new Error(`run ${i}: failed with ${code}`);
    }
    await settle();
    expect(native.stats()).toEqual({ mappings: 0, views: 0 });
    expect(fdsOnFile()).toBe(0);
    expect(mapsOfFile()).toBe(0);
    expect(fdCount()).toBe(fds0);
    // A failed run stops its own tasks between chunks; it does not terminate workers.
    expect(threadCount()).toBe(threads0);
    const growth = process.memoryUsage().rss - rss0;
    expect(growth, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(32 << 20);
  });

  it('shutdown() stops the workers: descriptors fall back to what they were before any pool', async () => {
    await pagewise.shutdown();
    const before = fdCount();
    await pagewise.mapReduce(file, pagewise.builtinJobs.wc, { ...OPTIONS, nativeKernels: false });
    expect(fdCount()).toBeGreaterThan(before);
    await pagewise.shutdown();
    await settle();
    expect(fdCount()).toBe(before);
    expect(native.stats()).toEqual({ mappings: 0, views: 0 });
  });
});
