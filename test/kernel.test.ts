/**
 * The native-kernel path: jobs that declare `kernel` run their byte kernels on
 * libuv's threadpool with no JS worker. Its results must equal the worker
 * path's and the references (wc, grep, a JS reader); it honours file order,
 * truncation, abort, and reports a bad plan as the job's failure.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { mappedRss, pagewise, tempDir, writeFile } from './helpers.js';
import { grepCount, grepLines, job, posixWords, rng, wcBinary } from './fixtures/reference.js';
import type { GrepAcc } from '../dist/src/jobs/grep.js';
import { native, ScanOps } from '../dist/src/native.js';
import { threadpoolSize } from '../dist/src/plan/plan.js';

const dir = tempDir();

interface Err {
  code?: string;
  message: string;
  path?: string;
  cause?: unknown;
}

async function rejection(promise: Promise<unknown>): Promise<Err> {
  try {
    await promise;
  } catch (error) {
    return error as Err;
  }
  throw new Error('expected a rejection');
}

function jsCount(bytes: Uint8Array, value: number): number {
  let n = 0;
  for (const b of bytes) if (b === value) n++;
  return n;
}

function jsRecordsContaining(bytes: Uint8Array, needle: string): number {
  if (bytes.length === 0) return 0;
  const records = Buffer.from(bytes).toString('latin1').split('\n');
  if (records[records.length - 1] === '') records.pop();
  return records.filter((r) => r.includes(needle)).length;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 200 && native.stats().mappings !== 0; i++) await new Promise((r) => setTimeout(r, 10));
}

function text(seed: number, bytes: number, { crlf = false, tail = '' } = {}): string {
  const next = rng(seed);
  const words = ['Hamburg', 'Ham', 'burg', 'x', '\t', 'lorem ipsum', '  ', 'Hamburg;12.5', 'ab'];
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = Math.floor(next() * 9);
    const line: string[] = [];
    for (let i = 0; i < n; i++) line.push(words[Math.floor(next() * words.length)]);
    const l = line.join(next() < 0.5 ? ' ' : '') + (crlf ? '\r\n' : '\n');
    parts.push(l);
    size += l.length;
  }
  return parts.join('') + tail;
}

const files = {
  plain: writeFile(dir, 'plain.txt', text(1, 300_000)),
  crlf: writeFile(dir, 'crlf.txt', text(2, 100_000, { crlf: true })),
  noTrailingNewline: writeFile(dir, 'no-trailing.txt', text(3, 50_000, { tail: 'last Hamburg line' })),
  // One record far longer than a 4 KiB chunk.
  longLine: writeFile(dir, 'long.txt', `a\n${'Hamburg '.repeat(20_000)}\n${text(4, 20_000)}`),
  empty: writeFile(dir, 'empty.txt', ''),
  oneByte: writeFile(dir, 'one.txt', 'H'),
};

afterAll(async () => {
  await pagewise.shutdown();
});

describe('native.scan', () => {
  const data = readFileSync(files.plain);
  const needle = new TextEncoder().encode('Hamburg');

  it('counts what the synchronous kernels count over a view, for any range', async () => {
    const m = native.open(files.plain);
    try {
      const next = rng(9);
      const ranges = [
        [0, data.length],
        [0, 0],
        [data.length, 0],
        [1, 1],
        [4095, 2],
        [data.length - 1, 1],
      ];
      for (let i = 0; i < 40; i++) {
        const a = Math.floor(next() * data.length);
        ranges.push([a, Math.floor(next() * (data.length - a))]);
      }
      // Every other scan drops its pages from the mapping afterwards (any
      // offset: the drop starts at the page holding the first byte); the
      // next scans read them back from the page cache.
      const mapped = native.view(m.id, 0, data.length);
      for (const [i, [offset, length]] of ranges.entries()) {
        const view = data.subarray(offset, offset + length);
        const counts = await native.scan(m.id, offset, length, [{ op: 0, byte: 0x0a }, { op: 1, byte: 0x0a, needle }, { op: 2 }, { op: 0, byte: 0x48 }], undefined, i % 2 === 1);
        // Plain JavaScript references, not the addon's own functions.
        expect(counts, `${offset}+${length}`).toEqual([jsCount(view, 0x0a), jsRecordsContaining(view, 'Hamburg'), posixWords(view), jsCount(view, 0x48)]);
      }
      expect(Buffer.from(mapped.buffer, mapped.byteOffset, mapped.byteLength).equals(data)).toBe(true);
      native.detach(mapped);
    } finally {
      native.close(m.id);
    }
  });

  it('scans behind a gate: many in flight, at most n reading at once, all resolve right', async () => {
    expect(() => native.gate(0)).toThrow(RangeError);
    const m = native.open(files.plain);
    try {
      const expected = jsCount(data, 0x0a);
      for (const n of [1, 2, 3]) {
        const gate = native.gate(n);
        const all = await Promise.all(Array.from({ length: 12 }, () => native.scan(m.id, 0, data.length, [{ op: 0, byte: 0x0a }], gate)));
        expect(all.map((c) => c[0])).toEqual(Array(12).fill(expected));
        const most = native.testing!.gateMostActive(gate);
        expect(most).toBeGreaterThanOrEqual(1);
        expect(most).toBeLessThanOrEqual(n);
      }
      // Only a gate from gate(n) is taken for one.
      expect(() => native.scan(m.id, 0, 1, [], {} as never)).toThrow(TypeError);
      expect(() => native.testing!.gateMostActive({} as never)).toThrow(TypeError);
    } finally {
      native.close(m.id);
    }
  });

  it('threadpoolConcurrency sees the pool this process has (UV_THREADPOOL_SIZE unset: 4)', async () => {
    const pool = threadpoolSize();
    expect(await native.threadpoolConcurrency(pool, 5000)).toBe(pool);
    expect(await native.threadpoolConcurrency(pool + 2, 100)).toBe(pool);
    expect(await native.threadpoolConcurrency(1, 100)).toBe(1);
  });

  it('threadpoolSize reads UV_THREADPOOL_SIZE as libuv does', () => {
    const cases: [string | undefined, number][] = [
      [undefined, 4],
      ['', 4],
      ['8', 8],
      [' 12abc', 12],
      ['0', 1],
      ['abc', 1],
      ['2000', 1024],
      ['-3', 1024],
    ];
    for (const [value, size] of cases) expect(threadpoolSize({ UV_THREADPOOL_SIZE: value }), String(value)).toBe(size);
  });

  it('copyRecordsContaining copies what a plain reader selects, over any range, and nothing when none is selected', async () => {
    const next = rng(11);
    const alphabet = ['ab', 'a', 'b', '\n', '\n', 'x', 'aba'];
    let t = '';
    while (t.length < 20_000) t += alphabet[Math.floor(next() * alphabet.length)];
    const path = writeFile(dir, 'copy-random.bin', t);
    const bytes = readFileSync(path);
    const reference = (start: number, end: number, needle: string): { count: number; copied: string } => {
      const records = bytes.subarray(start, end).toString('latin1').split('\n');
      if (records[records.length - 1] === '') records.pop();
      const selected = records.filter((r) => r.includes(needle));
      return { count: selected.length, copied: selected.map((r) => `${r}\n`).join('') };
    };
    const m = native.open(path);
    try {
      for (const needle of ['ab', 'aba', 'x', 'zz']) {
        for (const [start, end] of [[0, bytes.length], [0, 1], [5, 977], [bytes.length - 300, bytes.length]]) {
          const r = await native.scan(m.id, start, end - start, [{ op: ScanOps.copyRecordsContaining, byte: 0x0a, needle: Buffer.from(needle) }, { op: ScanOps.countByte, byte: 0x0a }]);
          const want = reference(start, end, needle);
          const label = `${needle} [${start}, ${end})`;
          expect(r[0], label).toBe(want.count);
          expect(r[1], label).toBe(jsCount(bytes.subarray(start, end), 0x0a));
          expect(r.bytes === undefined ? '' : Buffer.from(r.bytes).toString('latin1'), label).toBe(want.copied);
          if (want.count === 0) expect(r.bytes, label).toBeUndefined();
        }
      }
      expect(() => native.scan(m.id, 0, 1, [{ op: ScanOps.copyRecordsContaining, byte: 10, needle: Buffer.from('a') }, { op: ScanOps.copyRecordsContaining, byte: 10, needle: Buffer.from('b') }])).toThrow(/at most one/);
    } finally {
      native.close(m.id);
    }
  });

  it('rejects a range outside the mapping and a closed mapping, synchronously', () => {
    const m = native.open(files.plain);
    native.close(m.id);
    expect(() => native.scan(m.id, 0, 1, [])).toThrow(/closed/);
    const n = native.open(files.plain);
    try {
      expect(() => native.scan(n.id, 0, data.length + 1, [{ op: 0, byte: 10 }])).toThrow(RangeError);
      expect(() => native.scan(n.id, data.length + 1, 0, [{ op: 0, byte: 10 }])).toThrow(RangeError);
      expect(() => native.scan(n.id, 0, 1, [{ op: 7 } as never])).toThrow(/unknown scan op/);
    } finally {
      native.close(n.id);
    }
  });

  it('keeps the mapping while a scan is in flight, even if its handle is closed, then releases it', async () => {
    const m = native.open(files.plain);
    const pending = native.scan(m.id, 0, data.length, [{ op: 0, byte: 0x0a }]);
    native.close(m.id);
    expect(await pending).toEqual([native.countByte(data, 0x0a)]);
    await settle();
    expect(native.stats()).toEqual({ mappings: 0, views: 0 });
  });
});

describe('built-in jobs on the kernel path', () => {
  it.each(Object.keys(files))('%s: wc and grep --count equal the binaries and the worker path', async (name) => {
    const path = files[name as keyof typeof files];
    const wc = wcBinary(path);
    const count = grepCount('Hamburg', path);
    for (const o of [{ threads: 1, chunkSize: 4096 }, { threads: 2, chunkSize: 4096 }, { threads: 4, chunkSize: 65536 }, { threads: 2 }]) {
      const label = JSON.stringify(o);
      const k = await pagewise.runJob<{ lines: number; words: number; bytes: number }>(path, pagewise.builtinJobs.wc, o);
      const w = await pagewise.runJob(path, pagewise.builtinJobs.wc, { ...o, nativeKernels: false });
      expect(k.result, label).toEqual(wc);
      expect(w.result, label).toEqual(wc);
      expect(k.stats.executor, label).toBe(wc.bytes === 0 ? 'none' : 'kernel');
      expect(w.stats.executor, label).toBe(wc.bytes === 0 ? 'none' : 'workers');
      expect(k.stats.bytes).toBe(wc.bytes);
      const lines = await pagewise.mapReduce(path, pagewise.builtinJobs.wc, { ...o, params: { lines: true } });
      expect(lines, label).toEqual({ lines: wc.lines, words: 0, bytes: wc.bytes });
      const g = await pagewise.runJob<{ count: number }>(path, pagewise.builtinJobs.grep, { ...o, params: { pattern: 'Hamburg', count: true } });
      expect(g.result.count, label).toBe(count);
      expect(g.stats.executor).toBe(wc.bytes === 0 ? 'none' : 'kernel');
    }
  });

  it.each(Object.keys(files))('%s: grep\'s plain lines are copied natively, as GNU grep prints them and as the worker path keeps them', async (name) => {
    const path = files[name as keyof typeof files];
    const expected = grepLines('Hamburg', path);
    const count = grepCount('Hamburg', path);
    const joined = (parts: Uint8Array[]): Buffer => Buffer.concat(parts);
    for (const o of [{ threads: 1, chunkSize: 4096 }, { threads: 2, chunkSize: 4096 }, { threads: 3, chunkSize: 8192 }, { threads: 2 }]) {
      const label = JSON.stringify(o);
      const params = { pattern: 'Hamburg' };
      const k = await pagewise.runJob<GrepAcc>(path, pagewise.builtinJobs.grep, { ...o, params });
      const w = await pagewise.runJob<GrepAcc>(path, pagewise.builtinJobs.grep, { ...o, params, nativeKernels: false });
      expect(k.stats.executor, label).toBe(expected.length === 0 && readFileSync(path).length === 0 ? 'none' : 'kernel');
      expect(w.stats.executor, label).toBe(readFileSync(path).length === 0 ? 'none' : 'workers');
      expect(joined(k.result.parts).equals(expected), label).toBe(true);
      expect(joined(w.result.parts).equals(expected), label).toBe(true);
      expect(k.result.count, label).toBe(count);
      // onMerged sees each chunk's lines as they are merged, and may drain them.
      const drained: Uint8Array[] = [];
      let merges = 0;
      const d = await pagewise.runJob<GrepAcc>(path, pagewise.builtinJobs.grep, {
        ...o,
        params,
        onMerged: (acc) => {
          merges++;
          const a = acc as GrepAcc;
          drained.push(...a.parts);
          a.parts.length = 0;
        },
      });
      drained.push(...d.result.parts);
      expect(joined(drained).equals(expected), label).toBe(true);
      // One merge per chunk read (a chunk inside a long line reads nothing), not one at the end.
      if (k.stats.chunks > 1) expect(merges, label).toBeGreaterThan(name === 'longLine' ? 1 : k.stats.chunks / 2);
      // Into an output file, with and without each line's file name.
      const out = join(dir, `copy-${name}.out`);
      const f = await pagewise.runJob<GrepAcc>(path, pagewise.builtinJobs.grep, { ...o, params: { ...params, write: true }, output: out });
      expect(f.stats.executor, label).toBe(expected.length === 0 && readFileSync(path).length === 0 ? 'none' : 'kernel');
      expect(readFileSync(out).equals(expected), label).toBe(true);
      expect(f.result.count, label).toBe(count);
      // A name before each line is a loop per line: the workers run it, in parallel.
      const named = await pagewise.runJob(path, pagewise.builtinJobs.grep, { ...o, params: { ...params, write: true, withFilename: true }, output: out });
      expect(named.stats.executor, label).toBe(readFileSync(path).length === 0 ? 'none' : 'workers');
      const prefixed = spawnSync('grep', ['-H', '-F', '-a', 'Hamburg', path], { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 1 << 30 }).stdout;
      expect(readFileSync(out).equals(prefixed), label).toBe(true);
    }
  });

  it('a copying plan writes to a slow stream in order, held back by its backpressure', async () => {
    const path = writeFile(dir, 'many-lines.txt', 'Hamburg;1.0\nBerlin;2.0\n'.repeat(200_000));
    const expected = grepLines('Hamburg', path);
    const got: Buffer[] = [];
    let waiting = 0;
    const sink = new Writable({
      highWaterMark: 1 << 16,
      write(chunk: Buffer, _encoding, done) {
        got.push(chunk);
        waiting++;
        setTimeout(done, 1);
      },
    });
    const { result, stats } = await pagewise.runJob<GrepAcc>(path, pagewise.builtinJobs.grep, { threads: 2, chunkSize: 65536, params: { pattern: 'Hamburg', write: true }, output: sink });
    expect(stats.executor).toBe('kernel');
    expect(result.count).toBe(200_000);
    expect(Buffer.concat(got).equals(expected)).toBe(true);
    expect(waiting).toBeGreaterThan(10);
  });

  it('uses workers when asked and with an explicit maxRecordLength; nothing mapped for streams', async () => {
    const path = files.plain;
    const wc = wcBinary(path);
    const runs = [
      [{ threads: 2, nativeKernels: false }, 'workers'],
      [{ threads: 2, maxRecordLength: 1 << 20 }, 'workers'],
      [{ threads: 2, mode: 'read' }, 'none'],
      [{ threads: 4 }, 'kernel'],
    ] as const;
    for (const [o, executor] of runs) {
      const { result, stats } = await pagewise.runJob(path, pagewise.builtinJobs.wc, o);
      expect(result, JSON.stringify(o)).toEqual(wc);
      expect(stats.executor, JSON.stringify(o)).toBe(executor);
    }
    // grep that prints lines with a flag, or matches a RegExp, has no kernel.
    const printed = await pagewise.runJob(path, pagewise.builtinJobs.grep, { threads: 2, params: { pattern: 'Hamburg', ignoreCase: true } });
    expect(printed.stats.executor).toBe('workers');
    const numbered = await pagewise.runJob(path, pagewise.builtinJobs.grep, { threads: 2, params: { pattern: 'Hamburg', lineNumbers: true } });
    expect(numbered.stats.executor).toBe('workers');
    const regex = await pagewise.runJob(path, pagewise.builtinJobs.grep, { threads: 2, params: { pattern: 'Ham+burg', count: true, regex: true } });
    expect(regex.stats.executor).toBe('workers');
  });

  it('runs at most one chunk per libuv threadpool thread, and says so in stats.threads', async () => {
    const path = files.plain;
    const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    const { result, stats } = await pagewise.runJob(path, pagewise.builtinJobs.wc, { threads: pool + 3, chunkSize: 4096 });
    expect(result).toEqual(wcBinary(path));
    expect(stats.executor).toBe('kernel');
    expect(stats.threads).toBe(pool);
    const two = await pagewise.runJob(path, pagewise.builtinJobs.wc, { threads: 2, chunkSize: 4096 });
    expect(two.stats.threads).toBe(Math.min(2, pool));
  });

  it('evicts behind on the kernel path too, and gives every mapping back', async () => {
    const path = writeFile(dir, 'evict.txt', text(7, 4 << 20));
    const reference = wcBinary(path);
    // Dirty pages cannot be dropped: write them back first.
    const fd = openSync(path, 'r');
    fsyncSync(fd);
    closeSync(fd);
    const { result, stats } = await pagewise.runJob(path, pagewise.builtinJobs.wc, { threads: 2, chunkSize: 65536, release: 'evict' });
    expect(stats.executor).toBe('kernel');
    expect(stats.release).toBe('evict');
    expect(result).toEqual(reference);
    const m = native.open(path);
    try {
      const r = native.residency(m.id, 0, m.size);
      expect(r.resident, `${r.resident} of ${r.pages} pages resident`).toBeLessThan(r.pages / 2);
    } finally {
      native.close(m.id);
    }
    await settle();
    expect(native.stats()).toEqual({ mappings: 0, views: 0 });
  });

  it('drops the page-table entries behind each chunk but leaves the pages cached; a view held elsewhere reads the same bytes', async () => {
    // Written a page at a time, so that the page cache holds small folios: a
    // file written in large writes gets 2 MiB folios, which the kernel maps
    // (and a boundary read maps back) 2 MiB at a time.
    const bytes = Buffer.from(text(8, 16 << 20));
    const path = join(dir, 'drop.txt');
    const out = openSync(path, 'w');
    for (let at = 0; at < bytes.length; at += 4096) writeSync(out, bytes, at, Math.min(4096, bytes.length - at));
    closeSync(out);
    // This process's own mapping of the file, fully faulted in by a scan that
    // keeps its page-table entries: the run shares it (one mapping per file
    // per process). The view is a mapping of its own, read only at the end.
    const m = native.open(path);
    try {
      const view = native.view(m.id, 0, m.size);
      expect(await native.scan(m.id, 0, m.size, [{ op: 0, byte: 0x0a }], undefined, false)).toEqual([wcBinary(path).lines]);
      expect(mappedRss(path)).toBeGreaterThan(m.size * 0.9);
      const { result, stats } = await pagewise.runJob(path, pagewise.builtinJobs.wc, { threads: 2, chunkSize: 1 << 20, release: 'keep' });
      expect(stats.executor).toBe('kernel');
      expect(result).toEqual(wcBinary(path));
      // Without the drop every page would still be mapped here. What stays
      // mapped: pages that the main thread's cuts between chunks read back
      // after a neighbour dropped them (one fault-around, 64 KiB, per cut).
      expect(mappedRss(path)).toBeLessThan(m.size * 0.25);
      const r = native.residency(m.id, 0, m.size);
      expect(r.resident).toBe(r.pages);
      expect(Buffer.from(view.buffer, view.byteOffset, view.byteLength).equals(bytes)).toBe(true);
      native.detach(view);
    } finally {
      native.close(m.id);
    }
    await settle();
    expect(native.stats()).toEqual({ mappings: 0, views: 0 });
  });
});

describe('a job with its own kernel plan', () => {
  const list = [files.plain, files.empty, files.crlf, files.longLine, files.noTrailingNewline];

  it('gives what its map gives, folding chunks in file order, for every chunk size and thread count', async () => {
    const reference = await pagewise.mapReduce(list, job('kernel-trace.mjs'), { threads: 2, chunkSize: 4096, nativeKernels: false, params: { needle: 'Hamburg' } });
    const perFile = list.map((path) => ({ bytes: readFileSync(path).length, lines: wcBinary(path).lines, containing: grepCount('Hamburg', path) }));
    type Trace = { files: { fileIndex: number; bytes: number; counts: number[]; order: number[] }[]; fileOrder: number[] };
    const ref = reference as Trace;
    // The JS map agrees with wc and grep.
    expect(ref.files.map((f) => f.bytes)).toEqual(perFile.filter((f) => f.bytes > 0).map((f) => f.bytes));
    expect(ref.files.map((f) => [f.counts[0], f.counts[1]])).toEqual(perFile.filter((f) => f.bytes > 0).map((f) => [f.lines, f.containing]));
    for (const o of [
      { threads: 1, chunkSize: 4096 },
      { threads: 2, chunkSize: 4096 },
      { threads: 4, chunkSize: 8192 },
      { threads: 2, chunkSize: 'auto' },
      { threads: 3, chunkSize: 4096, maxOpenFiles: 2 },
    ]) {
      const { result, stats } = await pagewise.runJob<Trace>(list, job('kernel-trace.mjs'), { ...o, params: { needle: 'Hamburg' } });
      expect(stats.executor).toBe('kernel');
      const label = JSON.stringify(o);
      expect(result.files.map((f) => [f.fileIndex, f.bytes, f.counts]), label).toEqual(ref.files.map((f) => [f.fileIndex, f.bytes, f.counts]));
      // Folded in file order: file indexes never go back, starts only grow.
      expect([...result.fileOrder].sort((a, b) => a - b), label).toEqual(result.fileOrder);
      for (const f of result.files) expect([...f.order].sort((a, b) => a - b), label).toEqual(f.order);
    }
  });

  it.each([
    ['throws', /kernel\(\) failed: kernel exploded/],
    ['not-object', /bad plan/],
    ['bad-op', /countVowels/],
    ['bad-byte', /malformed op/],
    ['needle-has-terminator', /without the terminator/],
    ['no-fold', /bad plan/],
    ['copy-twice', /at most one copyRecordsContaining/],
    ['copy-empty-needle', /not empty for copyRecordsContaining/],
    ['fold-throws', /fold failed on chunk 2 .*fold exploded/],
  ])('a plan that %s: ERR_PAGEWISE_JOB_FAILED, and the worker path still works', async (fail, message) => {
    const error = await rejection(pagewise.mapReduce(files.plain, job('kernel-bad.mjs'), { threads: 2, chunkSize: 4096, params: { fail } }));
    expect(error.code).toBe('ERR_PAGEWISE_JOB_FAILED');
    expect(error.message).toMatch(message);
    const lines = await pagewise.mapReduce(files.plain, job('kernel-bad.mjs'), { threads: 2, chunkSize: 4096, params: { fail }, nativeKernels: false });
    expect(lines).toBe(wcBinary(files.plain).lines);
    await settle();
    expect(native.stats()).toEqual({ mappings: 0, views: 0 });
  });

  it('kernel() returning undefined means the worker path', async () => {
    const { result, stats } = await pagewise.runJob(files.plain, job('kernel-bad.mjs'), { threads: 2, params: { fail: 'none' } });
    expect(result).toBe(wcBinary(files.plain).lines);
    expect(stats.executor).toBe('workers');
  });

  it('a file truncated during the run: ERR_PAGEWISE_FILE_TRUNCATED, never zeros counted as data', async () => {
    const path = writeFile(dir, 'shrinks.txt', 'line\n'.repeat((16 * 4096) / 5) + 'x'.repeat((16 * 4096) % 5));
    const error = await rejection(pagewise.mapReduce(path, job('kernel-bad.mjs'), { threads: 1, chunkSize: 4096, params: { fail: 'truncate', to: 4096 } }));
    expect(error.code).toBe('ERR_PAGEWISE_FILE_TRUNCATED');
    expect(error.path).toBe(path);
    await settle();
    expect(native.stats()).toEqual({ mappings: 0, views: 0 });
  });

  it('a file truncated while a chunk is scanned: that chunk is never folded', async () => {
    const path = writeFile(dir, 'shrinks-mid-scan.txt', 'line\n'.repeat((16 * 4096) / 5) + 'x'.repeat((16 * 4096) % 5));
    const g = globalThis as { __kernelFolds?: number };
    g.__kernelFolds = 0;
    const error = await rejection(
      // release: 'unmap' keeps one chunk in flight per lane (no queued chunk
      // that could finish before the truncation), so the order is fixed.
      pagewise.mapReduce(path, job('kernel-bad.mjs'), {
        threads: 1,
        chunkSize: 4096,
        release: 'unmap',
        params: { fail: 'truncate-during-scan', to: 4096 },
      }),
    );
    expect(error.code).toBe('ERR_PAGEWISE_FILE_TRUNCATED');
    expect(g.__kernelFolds).toBe(1);
  });

  it('aborting mid-run rejects with ERR_PAGEWISE_ABORTED at once and releases the mapping', async () => {
    const path = writeFile(dir, 'abort.txt', 'abcdefg\n'.repeat((400 * 4096) / 8));
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(new Error('enough')), 100);
    const error = await rejection(
      pagewise.mapReduce(path, job('kernel-bad.mjs'), { threads: 2, chunkSize: 4096, params: { fail: 'slow' }, signal: controller.signal }),
    );
    expect(error.code).toBe('ERR_PAGEWISE_ABORTED');
    // 400 chunks x 5 ms would take 2 s; the abort lands within a fold or two.
    expect(performance.now() - started).toBeLessThan(1000);
    await settle();
    expect(native.stats()).toEqual({ mappings: 0, views: 0 });
  });
});

describe('the CLI', () => {
  it('--no-native-kernels gives the same answer through workers; --stats says which ran (wc -l: GNU words have no kernel yet)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { CLI } = await import('./helpers.js');
    const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    const k = run(['wc', '-l', '--json', '--stats', files.plain]);
    const w = run(['wc', '-l', '--json', '--stats', '--no-native-kernels', files.plain]);
    expect(k.status, k.stderr).toBe(0);
    expect(w.status, w.stderr).toBe(0);
    expect(JSON.parse(k.stdout)).toEqual(JSON.parse(w.stdout));
    expect(JSON.parse(k.stderr.trim()).executor).toBe('kernel');
    expect(JSON.parse(w.stderr.trim()).executor).toBe('workers');
    // The command sizes libuv's threadpool for the threads asked for.
    const env = { ...process.env };
    delete env.UV_THREADPOOL_SIZE;
    const six = spawnSync(process.execPath, [CLI, 'wc', '-l', '--json', '--stats', '--threads', '6', files.plain], { encoding: 'utf8', env });
    expect(six.status, six.stderr).toBe(0);
    expect(JSON.parse(six.stdout)).toEqual(JSON.parse(k.stdout));
    expect(JSON.parse(six.stderr.trim())).toMatchObject({ executor: 'kernel', threads: 6 });
    // ... and the pool really has those threads (measured, not read back from
    // the variable): it was sized before anything used it.
    for (const [args, size] of [
      [['--threads', '6'], 6],
      [['--threads=7'], 7],
      [[], Math.max(4, availableParallelism())],
    ] as const) {
      const info = spawnSync(process.execPath, [CLI, 'info', '--json', ...args], { encoding: 'utf8', env });
      expect(info.status, info.stderr).toBe(0);
      expect(JSON.parse(info.stdout).threadpool, JSON.stringify(args)).toEqual({ configured: size, running: size });
    }
    const human = run(['grep', '--count', '--stats', 'Hamburg', files.plain]);
    expect(human.stdout.trim()).toBe(String(grepCount('Hamburg', files.plain)));
    expect(human.stderr).toMatch(/native kernel on libuv's threadpool/);
  });
});
