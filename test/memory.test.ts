/**
 * Larger than RAM: a scan of a cold file bigger than the memory cgroup it runs
 * in stays well under the cgroup's limit (pages are evicted behind), a file
 * that fits stays cached for the next run, and the memory budget is read from
 * the tightest cgroup (v1 or v2) above the process.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { CLI, pagewise, tempDir, writeFile } from './helpers.js';
import { linesBuffer, writeLinesFile } from './fixtures/reliability/support.js';
import { native, Fadvise, Madvise } from '../dist/src/native.js';
import { prefetchAhead, releaseBehind } from '../dist/src/run/pages.js';
import type { ChunkSettings as RunSettings } from '../dist/src/run/messages.js';

const dir = tempDir('pagewise-memory-');
const MiB = 1 << 20;

afterAll(async () => {
  await pagewise.shutdown();
});

/** Drops a file's pages from the page cache (it must be clean: written and fsynced). */
function makeCold(path: string): { resident: number; pages: number } {
  const f = pagewise.MappedFile.open(path);
  try {
    f.fadvise('dontneed');
    return f.residency();
  } finally {
    f.close();
  }
}

function residency(path: string): { resident: number; pages: number } {
  const f = pagewise.MappedFile.open(path);
  try {
    return f.residency();
  } finally {
    f.close();
  }
}

// ------------------------------------------------------------------ cgroup --

interface ChildCgroup {
  version: 1 | 2;
  dir: string;
  limit: number;
  peak(): number;
  remove(): void;
}

/**
 * Makes a child memory cgroup under this process's own, limited to `limit`
 * bytes, or says why it cannot.
 */
function makeChildCgroup(limit: number, name: string): ChildCgroup | string {
  let lines: string[];
  try {
    lines = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  } catch (error) {
    return `cannot read /proc/self/cgroup (${(error as Error).message})`;
  }
  const reasons: string[] = [];
  const v1 = lines.map((l) => l.split(':')).find(([, controllers]) => controllers?.split(',').includes('memory'));
  if (v1) {
    const base = join('/sys/fs/cgroup/memory', v1[2]);
    const child = join(base, name);
    try {
      mkdirSync(child);
      try {
        writeFileSync(join(child, 'memory.limit_in_bytes'), String(limit));
      } catch (error) {
        rmdirSync(child);
        throw error;
      }
      return {
        version: 1,
        dir: child,
        limit,
        peak: () => Number(readFileSync(join(child, 'memory.max_usage_in_bytes'), 'utf8')),
        remove: () => removeCgroup(child),
      };
    } catch (error) {
      reasons.push(`cgroup v1: cannot make ${child} (${(error as Error).message})`);
    }
  }
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (v2 && existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    const base = join('/sys/fs/cgroup', v2.slice(3));
    const child = join(base, name);
    try {
      const enabled = readFileSync(join(base, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
      if (!enabled.includes('memory')) writeFileSync(join(base, 'cgroup.subtree_control'), '+memory');
      mkdirSync(child);
      try {
        writeFileSync(join(child, 'memory.max'), String(limit));
        if (!existsSync(join(child, 'memory.peak'))) throw new Error('no memory.peak (kernel older than 5.19)');
      } catch (error) {
        rmdirSync(child);
        throw error;
      }
      return {
        version: 2,
        dir: child,
        limit,
        peak: () => Number(readFileSync(join(child, 'memory.peak'), 'utf8')),
        remove: () => removeCgroup(child),
      };
    } catch (error) {
      reasons.push(`cgroup v2: cannot make ${child} with a memory limit (${(error as Error).message})`);
    }
  }
  if (reasons.length === 0) reasons.push('this process is in no memory cgroup');
  return reasons.join('; ');
}

function removeCgroup(path: string): void {
  // The cgroup can be removed once its last process has been reaped.
  for (let i = 0; i < 100; i++) {
    try {
      rmdirSync(path);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      spawnSync('sleep', ['0.02']);
    }
  }
  rmdirSync(path);
}

/** Runs the CLI inside the cgroup from its first instruction (sh joins it, then execs node). */
function runInCgroup(cg: ChildCgroup, args: string[]): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const procs = join(cg.dir, 'cgroup.procs');
  const child = spawn('sh', ['-c', 'echo $$ > "$0" && exec "$@"', procs, process.execPath, CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const LIMIT = 96 * MiB;
let cgSerial = 0;
const cgName = (): string => `pagewise-memtest-${process.pid}-${cgSerial++}`;

describe('a cold file three times larger than its memory cgroup', () => {
  const probe = makeChildCgroup(LIMIT, cgName());
  const unavailable = typeof probe === 'string' ? probe : undefined;
  if (typeof probe !== 'string') probe.remove();

  it('pagewise wc --lines counts right and the cgroup peak stays under 60% of the limit; --release keep fills it', async (ctx) => {
    if (unavailable) ctx.skip(`no child memory cgroup can be made here: ${unavailable}`);
    const file = join(dir, 'cold-300MiB.txt');
    const { size, lines } = writeLinesFile(file, 300 * MiB);
    const cold = makeCold(file);
    if (cold.resident > cold.pages / 100) ctx.skip(`fadvise(DONTNEED) does not evict this file system's pages (${cold.resident} of ${cold.pages} stay)`);

    const cg = makeChildCgroup(LIMIT, cgName()) as ChildCgroup;
    let peak: number;
    let out: Awaited<ReturnType<typeof runInCgroup>>;
    try {
      out = await runInCgroup(cg, ['wc', '--lines', '--json', '--stats', file]);
      peak = cg.peak();
    } finally {
      cg.remove();
    }
    expect(out.signal, out.stderr).toBeNull();
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ lines });
    const wcL = spawnSync('wc', ['-l', file], { encoding: 'utf8' });
    expect(Number(wcL.stdout.trim().split(/\s+/)[0])).toBe(lines);
    // The child saw the cgroup's limit as its budget and evicted behind.
    const stats = JSON.parse(out.stderr.trim().split('\n').pop()!) as {
      release: string;
      bytes: number;
      memoryBudget: { bytes: number; source: string; cgroup?: string };
    };
    expect(stats.bytes).toBe(size);
    expect(stats.release).toBe('evict');
    expect(stats.memoryBudget.bytes).toBe(LIMIT);
    expect(stats.memoryBudget.source).toBe(cg.version === 1 ? 'cgroup v1 memory.limit_in_bytes' : 'cgroup v2 memory.max');
    expect(stats.memoryBudget.cgroup).toBe(cg.dir);
    // The child really ran in the cgroup (Node alone is charged > 4 MiB) ...
    expect(peak).toBeGreaterThan(4 * MiB);
    // ... and the scan of 300 MiB kept its charge bounded.
    expect(peak, `peak charge ${(peak / MiB).toFixed(1)} MiB of a ${LIMIT / MiB} MiB limit`).toBeLessThan(0.6 * LIMIT);

    // Control: the same scan keeping its pages fills the cgroup, so the
    // measurement above does see the file's pages.
    makeCold(file);
    const keep = makeChildCgroup(LIMIT, cgName()) as ChildCgroup;
    let keepPeak: number;
    try {
      const kept = await runInCgroup(keep, ['wc', '--lines', '--json', '--release', 'keep', file]);
      expect(kept.code, kept.stderr).toBe(0);
      expect(JSON.parse(kept.stdout)).toEqual({ lines });
      keepPeak = keep.peak();
    } finally {
      keep.remove();
    }
    expect(keepPeak, `--release keep peak ${(keepPeak / MiB).toFixed(1)} MiB`).toBeGreaterThan(0.9 * LIMIT);
    await ctx.annotate(
      `cgroup v${cg.version}, limit ${LIMIT / MiB} MiB: peak ${(peak / MiB).toFixed(1)} MiB evicting behind, ${(keepPeak / MiB).toFixed(1)} MiB keeping`,
    );
  }, 120_000);
});

describe('release policy and residency', () => {
  it("a file that fits stays fully resident after two runs with default options ('auto' -> keep)", async () => {
    const file = join(dir, 'fits-48MiB.txt');
    writeLinesFile(file, 48 * MiB);
    const cold = makeCold(file);
    expect(cold.resident).toBeLessThan(cold.pages / 10);
    let stats;
    for (let run = 0; run < 2; run++) {
      const report = await pagewise.runJob<{ lines: number }>(file, pagewise.builtinJobs.wc);
      expect(report.result.lines).toBe((48 * MiB) / 64);
      stats = report.stats;
    }
    expect(stats!.release).toBe('keep');
    expect(stats!.releaseReason).toMatch(/fits in the memory budget/);
    const after = residency(file);
    expect(after.resident).toBe(after.pages);
  });

  it("a small memoryBudget makes 'auto' evict behind: the file is mostly gone from the cache afterwards", async () => {
    const file = join(dir, 'evict-64MiB.txt');
    writeLinesFile(file, 64 * MiB);
    // Start warm, so that what is missing afterwards was evicted by the run.
    await pagewise.runJob(file, pagewise.builtinJobs.wc, { release: 'keep', threads: 2 });
    const warm = residency(file);
    expect(warm.resident).toBe(warm.pages);

    const report = await pagewise.runJob<{ lines: number }>(file, pagewise.builtinJobs.wc, { memoryBudget: 16 * MiB, threads: 2 });
    expect(report.result.lines).toBe((64 * MiB) / 64);
    expect(report.stats.release).toBe('evict');
    expect(report.stats.releaseReason).toMatch(/larger than the memory budget/);
    expect(report.stats.memoryBudget).toEqual({ bytes: 16 * MiB, source: 'options.memoryBudget' });
    // Threads x (1 + prefetch) chunks stay under a quarter of the budget.
    expect(report.stats.chunkSize * 2 * 2).toBeLessThanOrEqual(4 * MiB);
    const after = residency(file);
    expect(after.resident, `${after.resident} of ${after.pages} pages still resident`).toBeLessThan(after.pages / 2);
  });

  it("release: 'keep' with the same small budget leaves the file resident", async () => {
    const file = join(dir, 'keep-64MiB.txt');
    writeLinesFile(file, 64 * MiB);
    makeCold(file);
    const report = await pagewise.runJob(file, pagewise.builtinJobs.wc, { memoryBudget: 16 * MiB, release: 'keep', threads: 2 });
    expect(report.stats.release).toBe('keep');
    expect(report.stats.releaseReason).toMatch(/'keep' was asked for/);
    const after = residency(file);
    expect(after.resident).toBe(after.pages);
  });

  it('prefetch reads ahead only the readahead windows that are not cached, and they come in', async () => {
    const file = join(dir, 'prefetch-24MiB.txt');
    writeLinesFile(file, 24 * MiB);
    const m = native.open(file);
    const calls: number[][] = [];
    const advise = native.advise;
    try {
      // Warm, but for two stretches: [10, 12) MiB and [18, 20) MiB (2 MiB
      // aligned: the page cache may hold 2 MiB folios, dropped whole or not at all).
      native.advise(m.id, 0, m.size, Madvise.willneed, 8 * MiB);
      expect(native.residency(m.id, 0, m.size).resident).toBe(m.size / 4096);
      native.fadvise(m.id, 10 * MiB, 2 * MiB, Fadvise.dontneed);
      native.fadvise(m.id, 18 * MiB, 2 * MiB, Fadvise.dontneed);
      expect(native.residency(m.id, 10 * MiB, 2 * MiB).resident).toBe(0);
      expect(native.residency(m.id, 18 * MiB, 2 * MiB).resident).toBe(0);
      native.advise = (...args: Parameters<typeof advise>) => {
        calls.push(args.slice(1, 4));
        return advise.apply(native, args);
      };
      // Chunk 0 of 8 MiB chunks, 2 chunks of prefetch: [8, 24) MiB in 1 MiB windows.
      const settings = { chunkSize: 8 * MiB, prefetch: 2, prefetchStep: MiB } as RunSettings;
      const ref = { fileIndex: 0, path: file, mappingId: m.id, size: m.size, chunks: 3 };
      prefetchAhead(settings, ref, 0);
      expect(calls).toEqual([
        [10 * MiB, 2 * MiB, Madvise.willneed],
        [18 * MiB, 2 * MiB, Madvise.willneed],
      ]);
      for (let i = 0; i < 200 && native.residency(m.id, 0, m.size).resident < m.size / 4096; i++) await new Promise((r) => setTimeout(r, 10));
      expect(native.residency(m.id, 0, m.size).resident).toBe(m.size / 4096);
      // All cached now: nothing to ask for. Past the file's end: nothing either.
      calls.length = 0;
      prefetchAhead(settings, ref, 0);
      prefetchAhead(settings, ref, 2);
      expect(calls).toEqual([]);
    } finally {
      native.advise = advise;
      native.close(m.id);
    }
  });

  it("evict never drops pages a chunk running or still to come can read, and drops every page once all are done", () => {
    // Chunks are handed out in order and finish in any order. Simulated with
    // recorders in place of madvise/fadvise, over records of random length
    // (some longer than a chunk, so some chunks are empty): for each finished
    // chunk, the evicted ranges must miss every chunk still running (to the
    // end of its last record and a readahead window past it), and every
    // chunk not handed out yet (from its nominal start: its boundary search
    // reads there); and at the end the evictions must cover the whole file.
    const fadvise = native.fadvise;
    const advise = native.advise;
    const evicted: Array<[number, number]> = [];
    native.fadvise = ((_id: number, at: number, len: number) => {
      evicted.push([at, at + len]);
    }) as typeof fadvise;
    native.advise = (() => undefined) as unknown as typeof advise;
    const HEAD = 16 * MiB;
    try {
      for (const chunkSize of [64 * 1024, 4 * MiB, 12 * MiB, 16 * MiB, 20 * MiB, 32 * MiB]) {
        for (let seed = 1; seed <= 25; seed++) {
          let x = seed * 7919 + chunkSize;
          const rand = (): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
          const chunks = 3 + Math.floor(rand() * 12);
          const size = (chunks - 1) * chunkSize + 1 + Math.floor(rand() * (chunkSize - 1));
          // Record starts: lengths up to 2 chunks, at most 4 MiB (a tail plus
          // one 8 MiB readahead window stays inside the 16 MiB guard).
          const starts = [0];
          while (starts[starts.length - 1] < size) starts.push(starts[starts.length - 1] + 1 + Math.floor(rand() * Math.min(4 * MiB, 2 * chunkSize)));
          starts[starts.length - 1] = size;
          const firstStartFrom = (at: number): number => starts.find((b) => b >= at) ?? size;
          const rangeOf = (k: number) => ({ start: firstStartFrom(k * chunkSize), end: k + 1 < chunks ? firstStartFrom((k + 1) * chunkSize) : size });
          const settings = { release: 'evict', chunkSize, prefetch: 0 } as RunSettings;
          const ref = { fileIndex: 0, path: 'sim', mappingId: 1, size, firstChunk: 0, chunks, releaseState: new Int32Array(new SharedArrayBuffer(4 * chunks)) };
          const threads = 2 + Math.floor(rand() * 3);
          // Each thread runs one chunk at a time, taking the next in order.
          const running = new Map<number, number>(); // chunk -> finish time
          let next = 0;
          let now = 0;
          evicted.length = 0;
          while (running.size > 0 || next < chunks) {
            while (running.size < threads && next < chunks) running.set(next++, now + rand());
            const [done] = [...running].sort((a, b) => a[1] - b[1])[0];
            now = running.get(done)!;
            running.delete(done);
            const before = evicted.length;
            releaseBehind(settings, ref, done, rangeOf(done));
            const guards: Array<[number, number, string]> = [];
            // A running chunk reads to the end of its last record and the
            // kernel reads one window (8 MiB) ahead of its faults.
            for (const j of running.keys()) guards.push([j * chunkSize, Math.min(size, Math.max((j + 1) * chunkSize + HEAD, rangeOf(j).end + 8 * MiB)), `chunk ${j} runs`]);
            for (let j = next; j < chunks; j++) guards.push([j * chunkSize, Math.max(Math.min(size, (j + 1) * chunkSize), rangeOf(j).end), `chunk ${j} is still to come`]);
            for (const [from, to] of evicted.slice(before)) {
              for (const [gFrom, gTo, why] of guards) {
                expect(from >= gTo || to <= gFrom, `chunk ${done} evicted [${from}, ${to}) while ${why} (chunk size ${chunkSize}, seed ${seed})`).toBe(true);
              }
            }
          }
          // Every page evicted at least once.
          const spans = [...evicted].sort((a, b) => a[0] - b[0]);
          let covered = 0;
          for (const [from, to] of spans) if (from <= covered) covered = Math.max(covered, to);
          expect(covered, `chunk size ${chunkSize}, seed ${seed}`).toBeGreaterThanOrEqual(size);
        }
      }
    } finally {
      native.fadvise = fadvise;
      native.advise = advise;
    }
  });

  it('stats carry release, releaseReason and the budget on every run', async () => {
    const file = writeFile(dir, 'tiny.txt', linesBuffer(64 * 1024));
    const { stats } = await pagewise.runJob(file, pagewise.builtinJobs.wc, { threads: 1 });
    expect(['keep', 'evict', 'unmap']).toContain(stats.release);
    expect(typeof stats.releaseReason).toBe('string');
    expect(stats.releaseReason.length).toBeGreaterThan(0);
    expect(stats.memoryBudget.bytes).toBeGreaterThan(0);
  });
});

// -------------------------------------------------- budget from fake cgroups --

describe('cgroupMemoryLimit / memoryBudget with fake cgroup trees', () => {
  let fakeSerial = 0;
  /** A fake /proc/self/cgroup and cgroup root: files maps relative paths to contents. */
  function fake(procCgroup: string, files: Record<string, string>): { proc: string; root: string } {
    const base = join(dir, `fake-${fakeSerial++}`);
    const root = join(base, 'sys-fs-cgroup');
    mkdirSync(root, { recursive: true });
    for (const [rel, content] of Object.entries(files)) {
      const path = join(root, rel);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, content);
    }
    const proc = join(base, 'proc-self-cgroup');
    writeFileSync(proc, procCgroup);
    return { proc, root };
  }
  const NO_LIMIT_V1 = '9223372036854771712\n';

  it('v1: reads memory.limit_in_bytes of the memory controller line', () => {
    const { proc, root } = fake('12:pids:/x\n4:memory:/job/task\n1:name=systemd:/x\n', {
      'memory/memory.limit_in_bytes': NO_LIMIT_V1,
      'memory/job/memory.limit_in_bytes': NO_LIMIT_V1,
      'memory/job/task/memory.limit_in_bytes': `${300 * MiB}\n`,
    });
    expect(pagewise.cgroupMemoryLimit(proc, root)).toEqual({ bytes: 300 * MiB, version: 1, dir: join(root, 'memory/job/task') });
  });

  it("v1: the 'no limit' value (near 2^63) is no limit", () => {
    const { proc, root } = fake('4:memory:/a\n', {
      'memory/memory.limit_in_bytes': NO_LIMIT_V1,
      'memory/a/memory.limit_in_bytes': NO_LIMIT_V1,
    });
    expect(pagewise.cgroupMemoryLimit(proc, root)).toBeUndefined();
  });

  it('v1: nested limits pick the smaller (a parent binds its children)', () => {
    const { proc, root } = fake('7:cpu,memory:/outer/inner/leaf\n', {
      'memory/outer/memory.limit_in_bytes': `${200 * MiB}\n`,
      'memory/outer/inner/memory.limit_in_bytes': `${500 * MiB}\n`,
      'memory/outer/inner/leaf/memory.limit_in_bytes': NO_LIMIT_V1,
    });
    expect(pagewise.cgroupMemoryLimit(proc, root)).toEqual({ bytes: 200 * MiB, version: 1, dir: join(root, 'memory/outer') });
  });

  it('v2: reads memory.max; "max" is no limit; the smaller of nested limits wins', () => {
    const one = fake('0::/user.slice/app.scope\n', {
      'user.slice/memory.max': 'max\n',
      'user.slice/app.scope/memory.max': `${64 * MiB}\n`,
    });
    expect(pagewise.cgroupMemoryLimit(one.proc, one.root)).toEqual({ bytes: 64 * MiB, version: 2, dir: join(one.root, 'user.slice/app.scope') });

    const unlimited = fake('0::/a/b\n', { 'a/memory.max': 'max\n', 'a/b/memory.max': 'max\n' });
    expect(pagewise.cgroupMemoryLimit(unlimited.proc, unlimited.root)).toBeUndefined();

    const nested = fake('0::/a/b/c\n', {
      'a/memory.max': `${1024 * MiB}\n`,
      'a/b/memory.max': `${128 * MiB}\n`,
      'a/b/c/memory.max': `${512 * MiB}\n`,
    });
    expect(pagewise.cgroupMemoryLimit(nested.proc, nested.root)).toEqual({ bytes: 128 * MiB, version: 2, dir: join(nested.root, 'a/b') });
  });

  it('hybrid (v1 memory line and a v2 line): the tighter limit wins', () => {
    const { proc, root } = fake('4:memory:/svc\n0::/svc\n', {
      'memory/svc/memory.limit_in_bytes': `${80 * MiB}\n`,
      'svc/memory.max': `${60 * MiB}\n`,
    });
    expect(pagewise.cgroupMemoryLimit(proc, root)).toEqual({ bytes: 60 * MiB, version: 2, dir: join(root, 'svc') });
  });

  it('a missing /proc/self/cgroup, or cgroup files that are missing or garbage, mean no limit', () => {
    expect(pagewise.cgroupMemoryLimit(join(dir, 'no-such-file'), join(dir, 'no-such-root'))).toBeUndefined();
    const garbage = fake('4:memory:/g\n0::/g\n', { 'memory/g/memory.limit_in_bytes': 'lots\n', 'g/memory.max': '\n' });
    expect(pagewise.cgroupMemoryLimit(garbage.proc, garbage.root)).toBeUndefined();
    const empty = fake('', {});
    expect(pagewise.cgroupMemoryLimit(empty.proc, empty.root)).toBeUndefined();
  });

  it('memoryBudget: an override wins; otherwise min(physical memory, this process cgroup limit)', () => {
    expect(pagewise.memoryBudget(16 * MiB)).toEqual({ bytes: 16 * MiB, source: 'options.memoryBudget' });
    const budget = pagewise.memoryBudget();
    const cgroup = pagewise.cgroupMemoryLimit();
    if (cgroup && cgroup.bytes < totalmem()) {
      expect(budget).toEqual({
        bytes: cgroup.bytes,
        source: cgroup.version === 1 ? 'cgroup v1 memory.limit_in_bytes' : 'cgroup v2 memory.max',
        cgroup: cgroup.dir,
      });
    } else {
      expect(budget).toEqual({ bytes: totalmem(), source: 'physical memory' });
    }
  });
});
