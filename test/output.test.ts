/**
 * Jobs that write output (issue 16, section 2): the run's output is every
 * chunk's `info.write` bytes in file order, each chunk's in call order, and
 * equals a single-threaded reference through every executor (ordered,
 * commutative, positional reads, a stream), every chunk size from one page
 * up, 1 and 2 threads, and every kind of target (a file written at offsets,
 * a Writable, runJobStream).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pagewise, tempDir, writeFile } from './helpers.js';
import { grepLines, job, records, rng } from './fixtures/reference.js';

const INTERNAL = Symbol.for('pagewise.internal');
const dir = tempDir('pagewise-output-');
const WRITE = job('write-lines.mjs');
const WRITE_COMMUTATIVE = job('write-lines-commutative.mjs');

/** Lines of words, some holding 'hit', CRLF now and then, a line longer than most chunks, no final newline. */
function text(seed: number, bytes: number): string {
  const next = rng(seed);
  const words = ['alpha', 'hit', 'Zürich', 'x', 'lorem', '0123456789', 'zz'];
  const out: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = Math.floor(next() * 10);
    const line = Array.from({ length: n }, () => words[Math.floor(next() * words.length)]).join(' ') + (next() < 0.1 ? '\r\n' : '\n');
    out.push(line);
    size += line.length;
  }
  return `${out.join('')}${'long '.repeat(20_000)}hit\nlast line without newline hit`;
}

const file = writeFile(dir, 'text.txt', text(1, 300_000));
const second = writeFile(dir, 'second.txt', text(2, 50_000));
const empty = writeFile(dir, 'empty.txt', '');

/** What write-lines.mjs writes for these files, by a plain reader (offsets restart at 0 in each file). */
function reference(paths: string[], mode: 'filter' | 'tag' | 'mixed', needle?: string): Buffer {
  const out: Buffer[] = [];
  for (const path of paths) {
    const data = readFileSync(path);
    for (const [s, e] of records(data, 'lines')) {
      const line = data.subarray(s, e);
      if (mode === 'tag') out.push(Buffer.from(`${s}:${line.toString('utf8')}`));
      else if (mode === 'mixed') out.push(Buffer.from('<'), line.subarray(0, 3), Buffer.from(`|${line.length}|`), line, Buffer.from('>\n'));
      else if (needle === undefined || line.includes(needle)) out.push(line);
    }
  }
  return Buffer.concat(out);
}

type PathName = 'ordered' | 'commutative' | 'pread' | 'stream';
const PATHS: Record<PathName, { job: string; options: Record<string | symbol, unknown> }> = {
  ordered: { job: WRITE, options: { [INTERNAL]: { executor: 'ordered' } } },
  commutative: { job: WRITE_COMMUTATIVE, options: { [INTERNAL]: { executor: 'commutative' } } },
  pread: { job: WRITE, options: { mode: 'pread' } },
  stream: { job: WRITE, options: { mode: 'read' } },
};
const CHUNKS = [4096, 65536, '1MiB', 'auto'] as const;
const THREADS = [1, 2] as const;

let serial = 0;
const outPath = (): string => join(dir, `out-${serial++}.bin`);

/** Collects what a Writable is given; `delay` ms per write makes it slow (backpressure). */
function collector(delay = 0, highWaterMark = 16 << 10): { stream: Writable; bytes: () => Buffer; writes: () => number } {
  const parts: Buffer[] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, done) {
      parts.push(Buffer.from(chunk));
      if (delay > 0) setTimeout(done, delay);
      else done();
    },
  });
  return { stream, bytes: () => Buffer.concat(parts), writes: () => parts.length };
}

afterAll(async () => {
  await pagewise.shutdown();
});

describe.each(Object.keys(PATHS) as PathName[])('through the %s path', (path) => {
  const { job: jobPath, options } = PATHS[path];
  it.each(['filter', 'tag', 'mixed'] as const)('a %s job writes the reference bytes to a file, for every chunk size and thread count', async (mode) => {
    const expected = reference([file], mode, 'hit');
    for (const chunkSize of path === 'stream' ? (['auto'] as const) : CHUNKS) {
      for (const threads of THREADS) {
        const out = outPath();
        const { result, stats } = await pagewise.runJob(file, jobPath, { ...options, chunkSize, threads, params: { mode, needle: 'hit' }, output: out } as never);
        const label = `${path} ${mode} chunk ${chunkSize} threads ${threads}`;
        expect(readFileSync(out).equals(expected), label).toBe(true);
        expect(stats.output, label).toEqual({ target: out, kind: 'file', bytes: expected.length });
        expect((result as { records: number }).records, label).toBe(records(readFileSync(file), 'lines').length);
      }
    }
  }, 120_000);

  it('gives a Writable and runJobStream the same bytes, in order', async () => {
    const expected = reference([file], 'mixed');
    for (const chunkSize of path === 'stream' ? (['auto'] as const) : ([4096, '1MiB'] as const)) {
      for (const threads of THREADS) {
        const label = `${path} chunk ${chunkSize} threads ${threads}`;
        const sink = collector();
        await pagewise.runJob(file, jobPath, { ...options, chunkSize, threads, params: { mode: 'mixed' }, output: sink.stream } as never);
        expect(sink.bytes().equals(expected), label).toBe(true);
        expect(sink.stream.writableEnded, label).toBe(true);
        const run = pagewise.runJobStream(file, jobPath, { ...options, chunkSize, threads, params: { mode: 'mixed' } } as never);
        const parts: Uint8Array[] = [];
        for await (const bytes of run) parts.push(bytes);
        expect(Buffer.concat(parts).equals(expected), label).toBe(true);
        expect((await run.report).stats.output?.bytes, label).toBe(expected.length);
      }
    }
  }, 120_000);
});

describe('output of several inputs', () => {
  it('is the inputs’ outputs in the order given, across mapped files, an empty file and a stream', async () => {
    const paths = [second, file, empty, second];
    const expected = reference(paths, 'tag');
    for (const executor of ['ordered', 'commutative'] as const) {
      for (const maxOpenFiles of [1, 16]) {
        const out = outPath();
        const jobPath = executor === 'commutative' ? WRITE_COMMUTATIVE : WRITE;
        await pagewise.runJob(paths, jobPath, { chunkSize: 4096, threads: 2, maxOpenFiles, params: { mode: 'tag' }, output: out, [INTERNAL]: { executor } } as never);
        expect(readFileSync(out).equals(expected), `${executor} maxOpenFiles ${maxOpenFiles}`).toBe(true);
      }
    }
    // A stream between mapped files: its output comes in its place.
    const viaStdinLike = outPath();
    process.env.PAGEWISE_TEST_REFUSE_MMAP = 'second.txt';
    try {
      const { stats } = await pagewise.runJob([file, second, file], WRITE, { chunkSize: 65536, threads: 2, params: { mode: 'tag' }, output: viaStdinLike });
      expect(stats.inputs.map((i) => i.kind)).toEqual(['map', 'stream', 'map']);
    } finally {
      delete process.env.PAGEWISE_TEST_REFUSE_MMAP;
    }
    expect(readFileSync(viaStdinLike).equals(reference([file, second, file], 'tag'))).toBe(true);
  }, 120_000);
});

describe('the built-in grep job with an output', () => {
  it("writes grep -F -a's lines, with file: prefixes for several files, through every executor", async () => {
    const params = { pattern: 'hit', write: true };
    const expected = grepLines('hit', file);
    for (const options of [{ [INTERNAL]: { executor: 'ordered' } }, { mode: 'pread' }, { mode: 'read' }]) {
      for (const chunkSize of [4096, '1MiB'] as const) {
        const out = outPath();
        await pagewise.runJob(file, pagewise.builtinJobs.grep, { ...options, chunkSize, threads: 2, params, output: out } as never);
        expect(readFileSync(out).equals(expected)).toBe(true);
      }
    }
    const out = outPath();
    await pagewise.runJob([file, second], pagewise.builtinJobs.grep, { chunkSize: 4096, threads: 2, params: { ...params, withFilename: true }, output: out });
    const prefixed = (path: string): string =>
      grepLines('hit', path)
        .toString('utf8')
        .split(/(?<=\n)/)
        .map((l) => `${path}:${l}`)
        .join('');
    expect(readFileSync(out, 'utf8')).toBe(prefixed(file) + prefixed(second));
  });
});

describe('what is held and what is refused', () => {
  it('a slow Writable gets every byte in order, and the run holds a bounded window (backpressure)', async () => {
    // 2.6 MB of output in ~600 chunk writes; the consumer takes 1 ms per write.
    const big = writeFile(dir, 'big.txt', text(3, 2_000_000));
    const expected = reference([big], 'mixed');
    for (const executor of ['ordered', 'commutative'] as const) {
      const sink = collector(1);
      let maxBuffered = 0;
      const original = sink.stream.write.bind(sink.stream);
      sink.stream.write = ((chunk: Buffer, ...rest: never[]) => {
        maxBuffered = Math.max(maxBuffered, sink.stream.writableLength + chunk.length);
        return original(chunk, ...rest);
      }) as never;
      const jobPath = executor === 'commutative' ? WRITE_COMMUTATIVE : WRITE;
      await pagewise.runJob(big, jobPath, { chunkSize: 4096, threads: 2, params: { mode: 'mixed' }, output: sink.stream, [INTERNAL]: { executor } } as never);
      expect(sink.bytes().equals(expected), executor).toBe(true);
      // Never more than the window of chunks (4 x threads, ~8 KiB of output each) waited in the stream.
      expect(maxBuffered, executor).toBeLessThan(expected.length / 4);
    }
  }, 60_000);

  it('runs writing at the same time on the shared pool each get their own bytes; a failing one does not stop the others', async () => {
    const expected = reference([file], 'tag');
    const outs = [outPath(), outPath(), outPath()];
    const failing = outPath();
    writeFileSync(failing, 'old');
    const runs = [
      ...outs.map((out, n) =>
        pagewise.runJob(file, n === 1 ? WRITE_COMMUTATIVE : WRITE, { chunkSize: 4096, threads: 2, params: { mode: 'tag' }, output: out }),
      ),
      pagewise.runJob(file, job('write-slow.mjs'), { chunkSize: 4096, threads: 2, params: { msPer64k: 0, throwAfter: 100_000 }, output: failing }),
    ];
    const settled = await Promise.allSettled(runs);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    for (const out of outs) expect(readFileSync(out).equals(expected), out).toBe(true);
    expect(readFileSync(failing, 'utf8')).toBe('old');
  }, 60_000);

  it('info.write without an output fails with ERR_PAGEWISE_NO_OUTPUT, on every path', async () => {
    for (const { job: jobPath, options } of Object.values(PATHS)) {
      await expect(pagewise.runJob(file, jobPath, { ...options, threads: 2, params: { mode: 'tag' } } as never)).rejects.toMatchObject({ code: 'ERR_PAGEWISE_NO_OUTPUT' });
    }
  });

  it('a job that writes nothing makes an empty file; a kernel job writes nothing', async () => {
    const out = outPath();
    const { stats } = await pagewise.runJob(file, WRITE, { threads: 2, params: { mode: 'filter', needle: 'no such text' }, output: out });
    expect(statSync(out).size).toBe(0);
    expect(stats.output?.bytes).toBe(0);
    const counted = outPath();
    const wc = await pagewise.runJob(file, pagewise.builtinJobs.wc, { output: counted });
    expect(wc.stats.executor).toBe('kernel');
    expect(statSync(counted).size).toBe(0);
  });

  it('checks options.output up front', async () => {
    for (const bad of ['', 'a\0b', 42, {}, { write() {} }, null]) {
      await expect(pagewise.runJob(file, WRITE, { output: bad as never })).rejects.toMatchObject({ code: 'ERR_PAGEWISE_INVALID_OPTION', option: 'options.output' });
    }
    await expect(pagewise.runJob(file, WRITE, { inPlace: 'yes' as never })).rejects.toMatchObject({ code: 'ERR_PAGEWISE_INVALID_OPTION', option: 'options.inPlace' });
    const stream = pagewise.runJobStream(file, WRITE, { output: outPath() });
    await expect(stream.report).rejects.toMatchObject({ code: 'ERR_PAGEWISE_INVALID_OPTION', option: 'options.output' });
  });

  it('a target that cannot be written fails before anything is read', async () => {
    const progress: unknown[] = [];
    await expect(pagewise.runJob(file, WRITE, { output: join(dir, 'no-such-dir', 'out'), onProgress: (p) => progress.push(p) })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(pagewise.runJob(file, WRITE, { output: dir })).rejects.toMatchObject({ code: 'EISDIR' });
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    try {
      // root may write anywhere: only a non-root run sees EACCES.
      if (process.getuid?.() !== 0) await expect(pagewise.runJob(file, WRITE, { output: join(locked, 'out') })).rejects.toMatchObject({ code: 'EACCES' });
    } finally {
      chmodSync(locked, 0o700);
    }
    expect(progress).toEqual([]);
  });

  it('an existing target keeps its mode; a symbolic link keeps pointing at the new content', async () => {
    const target = writeFile(dir, 'kept-mode.txt', 'old\n');
    chmodSync(target, 0o640);
    await pagewise.runJob(file, WRITE, { params: { mode: 'filter', needle: 'hit' }, output: target });
    expect(statSync(target).mode & 0o777).toBe(0o640);
    expect(readFileSync(target).equals(reference([file], 'filter', 'hit'))).toBe(true);
    const real = writeFile(dir, 'real.txt', 'old\n');
    const link = join(dir, 'link.txt');
    symlinkSync(real, link);
    await pagewise.runJob(file, WRITE, { params: { mode: 'filter', needle: 'hit' }, output: link });
    expect(readFileSync(real).equals(reference([file], 'filter', 'hit'))).toBe(true);
    expect(readFileSync(link).equals(readFileSync(real))).toBe(true);
    // Nothing but the outputs is left in the directory.
    expect(readdirSync(dir).filter((n) => n.includes('.pagewise-tmp-'))).toEqual([]);
  });

  it('the input itself can be the output: it is replaced once the run is done', async () => {
    const self = writeFile(dir, 'self.txt', readFileSync(file));
    const expected = reference([self], 'filter', 'hit');
    await pagewise.runJob(self, WRITE, { chunkSize: 4096, threads: 2, params: { mode: 'filter', needle: 'hit' }, output: self });
    expect(readFileSync(self).equals(expected)).toBe(true);
  });

  it('writes nothing to a path when the run has no output', async () => {
    const out = join(dir, 'never.txt');
    await pagewise.runJob(file, pagewise.builtinJobs.wc, {});
    expect(existsSync(out)).toBe(false);
    writeFileSync(out, 'x');
  });
});
