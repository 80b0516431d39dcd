/**
 * The adversarial sweep's findings on the engine (issue 12), each reproduced
 * as it was found: FIFOs that no signal could end, chunks over 4 GiB cut
 * mid-record, an edited job run as a mix of versions, concurrent runs that
 * broke each other, errors without a specific code, the thread count
 * unbounded, and boundary searches quadratic in record length.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { closeSync, constants, ftruncateSync, openSync, readdirSync, readlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, pagewise, tempDir, writeFile } from './helpers.js';
import { LINE, fixture, linesBuffer, sleep, spawnCli, withTimeout } from './fixtures/reliability/support.js';
import { job, orderedReference } from './fixtures/reference.js';

const dir = tempDir('pagewise-hardening-');

afterAll(async () => {
  await pagewise.shutdown();
});

/** Waits until process `pid` has `path` open (so its signal handlers are installed and it is reading). */
async function waitUntilOpen(pid: number, path: string): Promise<void> {
  const until = performance.now() + 20_000;
  for (;;) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`) === path) return;
        } catch {
          /* closed meanwhile */
        }
      }
    } catch {
      /* not started yet */
    }
    if (performance.now() > until) throw new Error(`process ${pid} never opened ${path}`);
    await sleep(20);
  }
}

describe('12.5 a FIFO with no writer, or an idle one, ends on a signal', () => {
  for (const [signal, status] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    it(`pagewise wc FIFO exits ${status} on ${signal} within 1.5 s, with no writer`, async () => {
      const fifo = join(dir, `no-writer-${signal}`);
      spawn('mkfifo', [fifo]).on('error', () => {});
      await sleep(100);
      const { child, exit } = spawnCli(['wc', fifo]);
      await waitUntilOpen(child.pid!, fifo);
      await sleep(100);
      const sentAt = performance.now();
      child.kill(signal);
      const result = await withTimeout(exit, 5000, 'wc on a FIFO with no writer');
      expect(result.code, result.stderr).toBe(status);
      expect(result.exitedAt - sentAt).toBeLessThan(1500);
    });
  }

  it('exits 143 on SIGTERM while a writer holds the FIFO open and writes nothing', async () => {
    const fifo = join(dir, 'idle-writer');
    spawn('mkfifo', [fifo]);
    await sleep(100);
    const { child, exit } = spawnCli(['wc', '--lines', fifo]);
    // Our writer end: O_RDWR never blocks on a FIFO (Linux), and keeps it open.
    const fd = openSync(fifo, constants.O_RDWR);
    try {
      writeSync(fd, 'one line\n');
      await waitUntilOpen(child.pid!, fifo);
      await sleep(100);
      const sentAt = performance.now();
      child.kill('SIGTERM');
      const result = await withTimeout(exit, 5000, 'wc on a FIFO with an idle writer');
      expect(result.code, result.stderr).toBe(143);
      expect(result.exitedAt - sentAt).toBeLessThan(1500);
    } finally {
      closeSync(fd);
    }
  });

  it('`timeout 3 pagewise wc FIFO` returns (timeout sends SIGTERM)', async () => {
    const fifo = join(dir, 'timeout');
    spawn('mkfifo', [fifo]);
    await sleep(100);
    const started = performance.now();
    const child = spawn('timeout', ['1', process.execPath, CLI, 'wc', fifo], { stdio: 'ignore' });
    const code = await withTimeout(new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c))), 6000, 'timeout 1 pagewise wc FIFO');
    expect(code).toBe(124);
    expect(performance.now() - started).toBeLessThan(4000);
  });

  it('still waits for a writer and counts what it writes', async () => {
    const fifo = join(dir, 'late-writer');
    spawn('mkfifo', [fifo]);
    await sleep(100);
    const { exit } = spawnCli(['wc', fifo]);
    await sleep(700);
    writeFileSync(fifo, 'alpha beta\ngamma\n');
    const result = await withTimeout(exit, 5000, 'wc on a FIFO written late');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split(/\s+/)).toEqual(['2', '3', '17', fifo]);
  });
});

describe('12.6 chunks and records past 4 GiB, on the runtime\'s view limit', () => {
  const GiB = 1024 ** 3;
  it('a chunk over 4 GiB is fed to map in record-aligned pieces (longest line is exact)', async () => {
    // Sparse: records end at 0.6 GiB and 4.2 GiB (a 3.6 GiB record), then a short tail.
    const file = join(dir, 'over-4gib-chunk.bin');
    const fd = openSync(file, 'w');
    const firstEnd = Math.floor(0.6 * GiB);
    const longEnd = Math.floor(4.2 * GiB);
    writeSync(fd, '\n', firstEnd - 1);
    writeSync(fd, '\n', longEnd - 1);
    writeSync(fd, 'tail\n', longEnd);
    closeSync(fd);
    const { result } = await pagewise.runJob(file, join(ROOT, 'examples', 'longest-line.ts'), { chunkSize: '1GiB', threads: 2, release: 'evict' });
    expect(result).toEqual({ length: longEnd - firstEnd - 1, offset: firstEnd });
  }, 120_000);

  it('the kernel path counts a first line longer than 4 GiB (no view is made there)', async () => {
    const file = join(dir, 'long-first-line.bin');
    const fd = openSync(file, 'w');
    writeSync(fd, '\n', Math.floor(4.3 * GiB));
    writeSync(fd, 'x\n', Math.floor(4.3 * GiB) + 1);
    closeSync(fd);
    const { result, stats } = await pagewise.runJob(file, pagewise.builtinJobs.wc, { params: { lines: true }, release: 'evict' });
    expect(stats.executor).toBe('kernel');
    expect(result).toMatchObject({ lines: 2, bytes: Math.floor(4.3 * GiB) + 3 });
  }, 120_000);
});

describe('12.8 a file truncated and re-extended during a run never passes as complete', () => {
  const SIZE = 64 << 20;
  const cases = [
    ['wc --lines on the kernel path', pagewise.builtinJobs.wc, { params: { lines: true } }],
    ['a commutative job in workers (drain)', fixture('slow-pages-commutative.mjs'), { params: { msPer64k: 1 } }],
    ['an ordered job', job('ordered-lines.mjs'), {}],
    ['positional reads', job('ordered-lines.mjs'), { mode: 'pread' }],
  ] as const;
  for (const [name, jobPath, extra] of cases) {
    it(`${name}: shrink then grow back to the same size mid-run is ERR_PAGEWISE_FILE_CHANGED or _TRUNCATED`, async () => {
      const file = writeFile(dir, `shrink-grow-${name.replace(/\W+/g, '-')}.txt`, linesBuffer(SIZE));
      let done = false;
      // onProgress runs on the main thread between chunks, mid-run: the file
      // shrinks to a tenth and grows back to its size (zeros) before the next chunk.
      const onProgress = (p: { bytesDone: number }): void => {
        if (done || p.bytesDone === 0 || p.bytesDone >= SIZE) return;
        done = true;
        const fd = openSync(file, 'r+');
        ftruncateSync(fd, Math.floor(SIZE / 10));
        ftruncateSync(fd, SIZE);
        closeSync(fd);
      };
      const error = await pagewise.runJob(file, jobPath, { threads: 2, chunkSize: '64KiB', onProgress, ...extra } as never).then(
        (report) => ({ code: 'completed', report }),
        (e: { code?: string }) => e,
      );
      expect(done, 'the file was changed mid-run').toBe(true);
      expect(['ERR_PAGEWISE_FILE_CHANGED', 'ERR_PAGEWISE_FILE_TRUNCATED']).toContain(error.code);
    });
  }

  it('a file rewritten in place to the same size (write(2) moves mtime) is ERR_PAGEWISE_FILE_CHANGED', async () => {
    const file = writeFile(dir, 'rewritten.txt', linesBuffer(SIZE));
    let done = false;
    const onProgress = (p: { bytesDone: number }): void => {
      if (done || p.bytesDone === 0 || p.bytesDone >= SIZE) return;
      done = true;
      const fd = openSync(file, 'r+');
      writeSync(fd, 'X', SIZE - 10);
      closeSync(fd);
    };
    await expect(pagewise.runJob(file, pagewise.builtinJobs.wc, { threads: 2, chunkSize: '64KiB', onProgress })).rejects.toMatchObject({
      code: 'ERR_PAGEWISE_FILE_CHANGED',
      path: file,
    });
  });
});

describe('12.9 one run uses one version of an edited job on every thread', () => {
  it('after a failing run, an edited module runs as the new version in init, map, merge and finish', async () => {
    const path = join(dir, 'versioned.mjs');
    const input = writeFile(dir, 'versioned-input.txt', linesBuffer(256 << 10));
    const version = (v: number, failAt: number): string => `
      export default {
        init: () => ({ tags: ['init${v}'] }),
        map(acc, bytes, info) {
          if (info.index === ${failAt}) throw new Error('v${v} fails on purpose');
          acc.tags.push('map${v}');
          return acc;
        },
        merge: (a, b) => ({ tags: [...a.tags, ...b.tags, 'merge${v}'] }),
        finish: (acc) => [...new Set([...acc.tags, 'finish${v}'])].sort(),
      };`;
    writeFileSync(path, version(1, 2));
    await expect(pagewise.runJob(input, path, { threads: 2, chunkSize: '64KiB' })).rejects.toMatchObject({ code: 'ERR_PAGEWISE_JOB_FAILED' });
    writeFileSync(path, version(2, -1));
    const { result } = await pagewise.runJob(input, path, { threads: 2, chunkSize: '64KiB' });
    expect(result).toEqual(['finish2', 'init2', 'map2', 'merge2']);
  });
});

describe('12.9b the job version cache never hides an edit', () => {
  it('a job hashed once it settled (its version then reused) runs as the new version after an edit of the same size', async () => {
    const path = join(dir, 'settled.mjs');
    const input = writeFile(dir, 'settled-input.txt', 'a\nb\n');
    const version = (tag: string): string => `export default { init: () => '', map: () => '${tag}', merge: (a, b) => a + b };\n`;
    writeFileSync(path, version('v1'));
    // Older than the 3 s the cache asks of a file's ctime before it trusts its identity.
    await new Promise((r) => setTimeout(r, 3200));
    expect(await pagewise.mapReduce(input, path, { threads: 1 })).toBe('v1');
    expect(await pagewise.mapReduce(input, path, { threads: 1 })).toBe('v1');
    writeFileSync(path, version('v2'));
    expect(await pagewise.mapReduce(input, path, { threads: 1 })).toBe('v2');
  }, 30_000);
});

describe('12.10 concurrent runs in one process each get their own answer', () => {
  it('50 concurrent mixed runs, some failing: every healthy run is exact, every failure is its own', async () => {
    const input = writeFile(dir, 'concurrent.txt', linesBuffer(1 << 20));
    const lines = (1 << 20) / LINE.length;
    const expectedOrdered = orderedReference([input], 'lines');
    type Case = { run: () => Promise<unknown>; check: (outcome: PromiseSettledResult<unknown>) => void };
    const ok = (value: unknown) => (o: PromiseSettledResult<unknown>) => {
      expect(o.status, o.status === 'rejected' ? String((o as PromiseRejectedResult).reason) : '').toBe('fulfilled');
      expect((o as PromiseFulfilledResult<unknown>).value).toEqual(value);
    };
    const fails = (code: string) => (o: PromiseSettledResult<unknown>) => {
      expect(o.status).toBe('rejected');
      expect((o as PromiseRejectedResult).reason.code).toBe(code);
    };
    const wc = { lines, words: lines * 11, bytes: 1 << 20 };
    const kinds: Case[] = [
      { run: () => pagewise.mapReduce(input, pagewise.builtinJobs.wc, { threads: 2 }), check: ok(wc) },
      { run: () => pagewise.mapReduce(input, pagewise.builtinJobs.wc, { threads: 2, nativeKernels: false, chunkSize: '64KiB' }), check: ok(wc) },
      { run: () => pagewise.mapReduce(input, job('ordered-lines.mjs'), { threads: 2, chunkSize: '64KiB' }), check: ok(expectedOrdered) },
      { run: () => pagewise.mapReduce(input, job('throws-map.mjs'), { threads: 2, chunkSize: '64KiB' }), check: fails('ERR_PAGEWISE_JOB_FAILED') },
      { run: () => pagewise.mapReduce(input, job('throws-map-commutative.mjs'), { threads: 2, chunkSize: '64KiB' }), check: fails('ERR_PAGEWISE_JOB_FAILED') },
    ];
    const cases = Array.from({ length: 50 }, (_, i) => kinds[i % kinds.length]);
    const outcomes = await Promise.allSettled(cases.map((c) => c.run()));
    outcomes.forEach((o, i) => cases[i].check(o));
  }, 120_000);

  it('200 concurrent worker-path wc runs all succeed', async () => {
    const input = writeFile(dir, 'concurrent-200.txt', linesBuffer(256 << 10));
    const results = await Promise.all(
      Array.from({ length: 200 }, () => pagewise.mapReduce<{ lines: number }>(input, pagewise.builtinJobs.wc, { threads: 2, nativeKernels: false, chunkSize: '64KiB' })),
    );
    for (const r of results) expect(r.lines).toBe((256 << 10) / LINE.length);
  }, 120_000);

  it('a failing run never fails a healthy stats run beside it', async () => {
    const input = writeFile(dir, 'beside.txt', 'Oslo;1.0\nRome;20.5\n'.repeat(50_000));
    const healthy = pagewise.mapReduce<{ name: string; count: number }[]>(input, pagewise.builtinJobs.stats, { threads: 2, chunkSize: '64KiB' });
    const failing = pagewise.mapReduce(input, job('throws-map.mjs'), { threads: 2, chunkSize: '64KiB', params: { failAt: 1 } });
    await expect(failing).rejects.toMatchObject({ code: 'ERR_PAGEWISE_JOB_FAILED' });
    expect((await healthy).map((r) => [r.name, r.count])).toEqual([
      ['Oslo', 50_000],
      ['Rome', 50_000],
    ]);
  });
});

describe('12.13 errors with a specific code', () => {
  const input = writeFile(dir, 'codes.txt', linesBuffer(256 << 10));
  for (const name of ['bad-accumulator.mjs', 'bad-accumulator-commutative.mjs']) {
    for (const kind of ['function', 'symbol', 'view']) {
      it(`${name}: an accumulator holding a ${kind} is ERR_PAGEWISE_NOT_CLONEABLE, naming the chunk or the worker`, async () => {
        const error = await pagewise.runJob(input, job(name), { threads: 2, chunkSize: '64KiB', params: { kind } }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'ERR_PAGEWISE_NOT_CLONEABLE' });
        expect(String((error as Error).message)).toMatch(/could not be copied between threads/);
      });
    }
    for (const kind of ['async', 'undefined']) {
      it(`${name}: map returning ${kind === 'async' ? 'a Promise' : 'undefined'} is ERR_PAGEWISE_BAD_ACCUMULATOR naming the chunk`, async () => {
        const error = await pagewise.runJob(input, job(name), { threads: 2, chunkSize: '64KiB', params: { kind } }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'ERR_PAGEWISE_BAD_ACCUMULATOR' });
        expect(String((error as Error).message)).toMatch(/on chunk \d+ of /);
      });
    }
  }

  it('the same accumulators through a stream fail the same way', async () => {
    for (const kind of ['function', 'symbol']) {
      await expect(pagewise.runJob(input, job('bad-accumulator.mjs'), { mode: 'read', params: { kind } })).rejects.toMatchObject({ code: 'ERR_PAGEWISE_NOT_CLONEABLE' });
    }
  });

  it('params that cannot be cloned are ERR_PAGEWISE_INVALID_OPTION naming options.params', async () => {
    await expect(pagewise.runJob(input, job('commutative.mjs'), { params: { f: () => 1 } })).rejects.toMatchObject({
      code: 'ERR_PAGEWISE_INVALID_OPTION',
      option: 'options.params',
    });
  });

  it('onProgress or onMerged throwing is ERR_PAGEWISE_CALLBACK_FAILED on every path', async () => {
    const boom = (): void => {
      throw new Error('callback exploded');
    };
    const paths = [{}, { nativeKernels: false }, { mode: 'read' as const }];
    for (const extra of paths) {
      for (const hook of ['onProgress', 'onMerged'] as const) {
        const error = await pagewise.runJob(input, pagewise.builtinJobs.wc, { ...extra, [hook]: boom }).catch((e: unknown) => e);
        expect(error, `${hook} ${JSON.stringify(extra)}`).toMatchObject({ code: 'ERR_PAGEWISE_CALLBACK_FAILED', option: `options.${hook}` });
      }
    }
  });

  it('an unknown option key is refused, naming it and the option it resembles', async () => {
    const error = await pagewise.runJob(input, pagewise.builtinJobs.wc, { thread: 2 } as never).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PAGEWISE_INVALID_OPTION', option: 'options.thread' });
    expect(String((error as Error).message)).toContain("did you mean 'threads'");
    await expect(pagewise.runJob(input, pagewise.builtinJobs.wc, { chunksize: '1MiB' } as never)).rejects.toMatchObject({ option: 'options.chunksize' });
  });

  it('a malformed 1BRC line is ERR_PAGEWISE_BAD_RECORD itself, with the chunk and its offset', async () => {
    const bad = writeFile(dir, 'bad.txt', `${'Oslo;1.0\n'.repeat(10_000)}Oslo;x.y\n${'Rome;2.0\n'.repeat(10_000)}`);
    for (const threads of [1, 2]) {
      const error = await pagewise.runJob(bad, pagewise.builtinJobs.stats, { threads, chunkSize: '64KiB' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_PAGEWISE_BAD_RECORD', offset: 90_000, path: bad });
    }
  });
});

describe('12.14 the thread count is bounded', () => {
  it('threads: 1000 runs on at most 4 threads per core, and says so', async () => {
    const input = writeFile(dir, 'threads.txt', linesBuffer(1 << 20));
    const { result, stats } = await pagewise.runJob(input, job('commutative.mjs'), { threads: 1000 });
    const cores = (await import('node:os')).availableParallelism();
    expect(stats.threads).toBe(4 * cores);
    expect(stats.plan.threadsReason).toMatch(/1000 asked for, capped at 4 per core/);
    expect(result).toBeDefined();
  });

  it("the pool the CLI starts before the library loads is the one the run then takes (threads as planned, no limits)", async () => {
    const input = writeFile(dir, 'prestart.txt', 'Oslo;1.0\n');
    const pools = await import(join(ROOT, 'dist/src/run/pool.js'));
    try {
      for (const threads of [undefined, 1, 1000]) {
        const { threads: planned } = await pagewise.planJob(input, pagewise.builtinJobs.stats, threads === undefined ? {} : { threads });
        // What the pipeline asks for (src/run/pipeline.ts): the plan's threads and the run's (absent) resource limits.
        expect(pools.workerPool(planned, undefined)).toBe(pools.prestartPool(threads));
      }
    } finally {
      await pagewise.shutdown();
    }
  });
});

describe('12.15 boundary searches are linear in record length', () => {
  const MB = 1_000_000;
  for (const mb of [40, 400]) {
    it(`one ${mb} MB line with 4 KiB chunks: wc --lines on both paths in seconds${mb === 40 ? ', and an ordered job exact' : ''}`, async () => {
      const file = join(dir, `line-${mb}mb.txt`);
      const fd = openSync(file, 'w');
      ftruncateSync(fd, mb * MB);
      writeSync(fd, 'head\n', 0);
      writeSync(fd, '\nshort line\n', mb * MB - 1);
      closeSync(fd);
      const expectedLines = 3;
      // Timed: wc does a few byte kernels' worth of work, so its time is the
      // boundary search's (quadratic before: 7.3 s at 40 MB on the kernel path).
      const budget = mb === 40 ? 8000 : 30_000;
      for (const extra of [{}, { nativeKernels: false }]) {
        const started = performance.now();
        const { result } = await pagewise.runJob(file, pagewise.builtinJobs.wc, { chunkSize: 4096, threads: 2, params: { lines: true }, ...extra });
        expect((result as { lines: number }).lines).toBe(expectedLines);
        expect(performance.now() - started, JSON.stringify(extra)).toBeLessThan(budget);
      }
      // Exact through the ordered path (whose job hashes every byte: not timed).
      if (mb === 40) {
        const { result } = await pagewise.runJob(file, job('ordered-lines.mjs'), { chunkSize: 4096, threads: 2 });
        expect(result).toEqual(orderedReference([file], 'lines'));
      }
    }, 120_000);
  }
});
