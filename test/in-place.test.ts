/**
 * In place (issue 16, section 3): `inPlace: true` maps the inputs writable,
 * gives `map` writable views and flushes each chunk (msync) before it counts
 * as done. Refused for inputs that are read, not mapped.
 *
 * Writable mappings come from the addon (`MappedFile.open(path, { write:
 * true })`). The tests that write run where the process has them
 * (`writableMappings`, a feature test: the JS fallback has none); where it
 * does not, the run must refuse with ERR_PAGEWISE_UNSUPPORTED, and that is
 * tested instead, so no build passes without one or the other being checked.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, pagewise, tempDir, writeFile } from './helpers.js';
import { job } from './fixtures/reference.js';
import { writableMappings } from '../dist/src/output/in-place.js';
import { processChunk, type ChunkSource } from '../dist/src/run/chunk.js';

const INTERNAL = Symbol.for('pagewise.internal');
const dir = tempDir('pagewise-in-place-');
const INCREMENT = job('increment-counters.mjs');
const INCREMENT_COMMUTATIVE = job('increment-counters-commutative.mjs');
/** Not a page multiple: the last chunk is partial. */
const RECORDS = 100_003;

/** RECORDS records of [u32 counter = start + i % 7][u32 id = i][8 bytes 'tag-....']. */
function counters(start: number): Buffer {
  const b = Buffer.alloc(RECORDS * 16);
  for (let i = 0; i < RECORDS; i++) {
    b.writeUInt32LE(start + (i % 7), i * 16);
    b.writeUInt32LE(i, i * 16 + 4);
    b.write(`tag-${String(i % 10000).padStart(4, '0')}`, i * 16 + 8, 'latin1');
  }
  return b;
}

/** Checks every record: the counter moved by exactly `by`, nothing else changed. */
function expectIncremented(path: string, start: number, by: number): void {
  const now = readFileSync(path);
  const before = counters(start);
  expect(now.length).toBe(before.length);
  let wrong = 0;
  for (let i = 0; i < RECORDS; i++) {
    if (now.readUInt32LE(i * 16) !== before.readUInt32LE(i * 16) + by) wrong++;
    if (!now.subarray(i * 16 + 4, i * 16 + 16).equals(before.subarray(i * 16 + 4, i * 16 + 16))) wrong++;
  }
  expect(wrong, `records not incremented by exactly ${by}`).toBe(0);
}

afterAll(async () => {
  await pagewise.shutdown();
});

describe('refused for inputs that are read, not mapped', () => {
  const file = writeFile(dir, 'refused.bin', counters(0));
  it.each([
    ['positional reads', { mode: 'pread' }],
    ['sequential reads', { mode: 'read' }],
  ])('%s: ERR_PAGEWISE_NOT_MAPPED, the file untouched', async (_what, options) => {
    await expect(pagewise.runJob(file, INCREMENT, { ...options, inPlace: true } as never)).rejects.toMatchObject({ code: 'ERR_PAGEWISE_NOT_MAPPED', path: file });
    expect(readFileSync(file).equals(counters(0))).toBe(true);
  });

  it('stdin, a FIFO or an empty file: ERR_PAGEWISE_NOT_MAPPED', async () => {
    const empty = writeFile(dir, 'empty.bin', '');
    await expect(pagewise.runJob(empty, INCREMENT, { inPlace: true })).rejects.toMatchObject({ code: 'ERR_PAGEWISE_NOT_MAPPED' });
    await expect(pagewise.runJob([file, '-'], INCREMENT, { inPlace: true })).rejects.toMatchObject({ code: 'ERR_PAGEWISE_NOT_MAPPED', path: '-' });
    expect(readFileSync(file).equals(counters(0))).toBe(true);
  });

  it('the kernel executor cannot run it; a job with a kernel plan runs its map instead', async () => {
    const text = writeFile(dir, 'text.txt', 'a b\nc\n');
    const forced = await pagewise.runJob(text, pagewise.builtinJobs.wc, { inPlace: true, [INTERNAL]: { executor: 'kernel' } } as never).catch((e: unknown) => e);
    expect(forced).toMatchObject({ code: 'ERR_PAGEWISE_INVALID_OPTION' });
    expect((forced as Error).message).toMatch(/inPlace/);
    const planned = pagewise.planJob(text, pagewise.builtinJobs.wc, { inPlace: true });
    if (!writableMappings) return void (await expect(planned).rejects.toMatchObject({ code: 'ERR_PAGEWISE_UNSUPPORTED' }));
    const plan = await planned;
    expect(plan.executor).not.toBe('kernel');
    expect(plan.executorReason).toMatch(/inPlace/);
  });

  it('the CLI says so with the code, exit 1', () => {
    const r = spawnSync(process.execPath, [CLI, 'run', INCREMENT, '-', '--in-place'], { encoding: 'utf8', input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\(ERR_PAGEWISE_NOT_MAPPED\)\n$/);
  });
});

describe('the chunk lifecycle flushes a chunk written in place before it is done', () => {
  /** A fake mapped source over a buffer that records what happens. */
  function source(events: string[], flushError?: Error): ChunkSource {
    const size = 8192;
    return {
      file: { fileIndex: 0, path: 'fake', source: 'map', mappingId: -1, size, firstChunk: 0, chunks: 2, identity: { size, ino: 1n }, writable: true },
      find: () => -1,
      findLast: () => -1,
      bytes: () => new Uint8Array(0),
      drop: () => {},
      checkIntact: () => void events.push('check'),
      prefetch: () => void events.push('prefetch'),
      flush: (range) => {
        events.push(`flush ${range.start}-${range.end}`);
        if (flushError) throw flushError;
      },
      release: () => void events.push('release'),
      close: () => {},
    } as ChunkSource;
  }
  const settings = { split: 'none', chunkSize: 4096, maxRecordLength: 1 << 30, checkRecordLength: false, release: 'keep', prefetch: 0, prefetchStep: 8 << 20, params: undefined } as const;

  it('read, then flush, then the checks and the release', () => {
    const events: string[] = [];
    const done = processChunk(source(events), settings, 1, (range) => {
      events.push(`read ${range.start}-${range.end}`);
      return 1;
    });
    expect(done?.value).toBe(1);
    expect(events).toEqual(['check', 'prefetch', 'read 4096-8192', 'flush 4096-8192', 'check', 'release']);
  });

  it('a flush error fails the chunk, and nothing is released', () => {
    const events: string[] = [];
    const eio = Object.assign(new Error('EIO: i/o error, msync'), { code: 'EIO' });
    expect(() => processChunk(source(events, eio), settings, 0, () => 1)).toThrow(eio);
    expect(events).toEqual(['check', 'prefetch', 'flush 0-4096']);
  });
});

describe.skipIf(writableMappings)('without writable mappings in the addon', () => {
  it('inPlace is refused with ERR_PAGEWISE_UNSUPPORTED and the file is untouched', async () => {
    const file = writeFile(dir, 'unsupported.bin', counters(0));
    await expect(pagewise.runJob(file, INCREMENT, { inPlace: true })).rejects.toMatchObject({ code: 'ERR_PAGEWISE_UNSUPPORTED' });
    expect(readFileSync(file).equals(counters(0))).toBe(true);
  });
});

describe.runIf(writableMappings)('with writable mappings', () => {
  it.each([
    ['ordered', INCREMENT],
    ['commutative', INCREMENT_COMMUTATIVE],
  ])('a %s job adds exactly 1 to every counter, for every thread count and chunk size', async (_kind, jobPath) => {
    const file = join(dir, `counters-${_kind}.bin`);
    writeFileSync(file, counters(1000));
    let runs = 0;
    for (const chunkSize of [4096, 65536, '1MiB', 'auto'] as const) {
      for (const threads of [1, 2]) {
        const { result, stats } = await pagewise.runJob(file, jobPath, { chunkSize, threads, inPlace: true });
        runs++;
        expect(result).toEqual({ records: RECORDS });
        expect(stats.plan.inPlace).toBe(true);
        // Read back through fs, not the mapping: the writes reached the file.
        expectIncremented(file, 1000, runs);
      }
    }
  }, 120_000);

  it('several files in one run, each updated', async () => {
    const a = join(dir, 'a.bin');
    const b = join(dir, 'b.bin');
    writeFileSync(a, counters(5));
    writeFileSync(b, counters(9));
    await pagewise.runJob([a, b], INCREMENT, { chunkSize: 4096, threads: 2, inPlace: true, maxOpenFiles: 1 });
    expectIncremented(a, 5, 1);
    expectIncremented(b, 9, 1);
  });

  it('pagewise run --in-place', () => {
    const file = join(dir, 'cli.bin');
    writeFileSync(file, counters(0));
    const r = spawnSync(process.execPath, [CLI, 'run', INCREMENT, file, '--in-place', '--threads', '2', '--chunk-size', '4096', '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ records: RECORDS });
    expectIncremented(file, 0, 1);
  });

  it('a job that throws leaves the chunks done before it updated (not atomic, as documented)', async () => {
    const file = join(dir, 'partial.bin');
    writeFileSync(file, counters(0));
    const throwing = join(dir, 'throw-late.mjs');
    writeFileSync(throwing, `import base from ${JSON.stringify(INCREMENT)}; export default { ...base, map(acc, bytes, info) { if (info.index === 5) throw new Error('late'); return base.map(acc, bytes, info); } };`);
    await expect(pagewise.runJob(file, throwing, { chunkSize: 4096, threads: 1, inPlace: true })).rejects.toMatchObject({ code: 'ERR_PAGEWISE_JOB_FAILED' });
    const now = readFileSync(file);
    // Chunk 0 (records 0-255) was updated and flushed; chunk 5 was not.
    expect(now.readUInt32LE(0)).toBe(1);
    expect(now.readUInt32LE(5 * 4096)).toBe(counters(0).readUInt32LE(5 * 4096));
  });
});
