/**
 * The chunk planner, pure: unit tests and property tests against an
 * independent reference (record starts computed by a plain loop).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pagewise } from './helpers.js';

const { planChunks, resolveChunk, resolveCut, bufferFinder, autoChunkSize, chunkCount, ErrorCodes } = pagewise;
type Split = Parameters<typeof planChunks>[2];

// Report the first counterexample as found: shrinking contents of thousands
// of bytes can take minutes, and a failure must fail fast.
fc.configureGlobal({ endOnFailure: true });

const PAGE = 4096;
const MiB = 1 << 20;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Every offset at which a record starts (plain loop, the reference). */
function recordStarts(bytes: Uint8Array, split: Split): number[] {
  const size = bytes.length;
  if (size === 0) return [];
  const starts = [0];
  if (split === 'none') {
    for (let i = 1; i < size; i++) starts.push(i);
  } else if (typeof split === 'object' && 'recordSize' in split) {
    for (let i = split.recordSize; i < size; i += split.recordSize) starts.push(i);
  } else {
    const term = split === 'lines' ? 0x0a : split.delimiter;
    for (let i = 0; i < size - 1; i++) if (bytes[i] === term) starts.push(i + 1);
  }
  return starts;
}

/** The ownership rule: chunk i starts at the first record start at or after i * chunkSize. */
function expectedChunks(bytes: Uint8Array, chunkSize: number, split: Split): { index: number; start: number; end: number }[] {
  const size = bytes.length;
  const starts = recordStarts(bytes, split);
  const n = size === 0 ? 0 : Math.ceil(size / chunkSize);
  const firstStarts: number[] = [];
  let k = 0;
  for (let i = 0; i <= n; i++) {
    const nominal = i * chunkSize;
    while (k < starts.length && starts[k] < nominal) k++;
    firstStarts.push(i === n || k === starts.length ? size : starts[k]);
  }
  return Array.from({ length: n }, (_, i) => ({ index: i, start: firstStarts[i], end: firstStarts[i + 1] }));
}

/** Structural invariants every plan must satisfy (collected, then asserted once: fast). */
function checkPlan(bytes: Uint8Array, chunkSize: number, split: Split, chunks: { index: number; start: number; end: number }[]): void {
  const size = bytes.length;
  expect(chunks.length).toBe(chunkCount(size, chunkSize));
  if (size === 0) return;
  const problems: string[] = [];
  if (chunks[0].start !== 0) problems.push(`first chunk starts at ${chunks[0].start}`);
  if (chunks[chunks.length - 1].end !== size) problems.push(`last chunk ends at ${chunks[chunks.length - 1].end}`);
  const starts = new Set(recordStarts(bytes, split));
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i];
    if (c.index !== i) problems.push(`chunk ${i} has index ${c.index}`);
    if (c.start > c.end) problems.push(`chunk ${i} is reversed`);
    if (i > 0 && c.start !== chunks[i - 1].end) problems.push(`gap or overlap before chunk ${i}`);
    // No record is split: every chunk starts where a record starts (or at the end).
    if (c.start !== size && !starts.has(c.start)) problems.push(`chunk ${i} starts inside a record (${c.start})`);
  }
  expect(problems).toEqual([]);
  // Concatenated, the chunks are the file.
  const joined = Buffer.concat(chunks.map((c) => bytes.subarray(c.start, c.end)));
  expect(Buffer.compare(joined, Buffer.from(bytes))).toBe(0);
}

/** Chunk sizes: mostly small against the contents (many chunks), sometimes larger than the file. */
const chunkSizes = (max: number) => fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max }));

/** Random bytes (lengths spread over the whole range) in which about one byte in `density` is the terminator. */
const contents = (term: fc.Arbitrary<number>, maxLength: number) =>
  fc
    .record({
      bytes: fc.uint8Array({ minLength: 0, maxLength, size: 'max' }),
      density: fc.integer({ min: 1, max: 120 }),
      term,
      seed: fc.integer({ min: 0, max: 1_000_000 }),
    })
    .map(({ bytes, density, term, seed }) => {
      const out = Uint8Array.from(bytes);
      for (let i = 0; i < out.length; i++) {
        // Remove accidental terminators, then place them at pseudo-random spots.
        if (out[i] === term) out[i] = term ^ 1;
        if ((i * 2654435761 + seed) % density === 0) out[i] = term;
      }
      return { bytes: out, term };
    });

describe('chunkCount', () => {
  it('is 0 for an empty file and ceil(size / chunkSize) otherwise', () => {
    expect(chunkCount(0, PAGE)).toBe(0);
    expect(chunkCount(1, PAGE)).toBe(1);
    expect(chunkCount(PAGE, PAGE)).toBe(1);
    expect(chunkCount(PAGE + 1, PAGE)).toBe(2);
    expect(chunkCount(10 * PAGE, PAGE)).toBe(10);
    expect(chunkCount(5 * 2 ** 30, 64 * MiB)).toBe(80);
  });
});

describe('bufferFinder', () => {
  const bytes = enc('ab\ncd\nef');
  const find = bufferFinder(bytes);
  it('finds the first byte in [from, limit)', () => {
    expect(find(0x0a, 0, bytes.length)).toBe(2);
    expect(find(0x0a, 2, bytes.length)).toBe(2);
    expect(find(0x0a, 3, bytes.length)).toBe(5);
    expect(find(0x61, 0, bytes.length)).toBe(0);
  });
  it('returns -1 when the byte is not in the range, and never looks at or past limit', () => {
    expect(find(0x0a, 6, bytes.length)).toBe(-1);
    expect(find(0x0a, 0, 2)).toBe(-1);
    expect(find(0x0a, 3, 5)).toBe(-1);
    expect(find(0x7a, 0, bytes.length)).toBe(-1);
  });
});

describe('resolveCut / resolveChunk', () => {
  it('moves a cut forward to the next record start', () => {
    const bytes = enc('aaaa\nbbbb\ncccc\n');
    const find = bufferFinder(bytes);
    expect(resolveCut(0, bytes.length, 'lines', find, Infinity)).toBe(0);
    expect(resolveCut(5, bytes.length, 'lines', find, Infinity)).toBe(5); // byte 4 is \n
    expect(resolveCut(4, bytes.length, 'lines', find, Infinity)).toBe(5);
    expect(resolveCut(6, bytes.length, 'lines', find, Infinity)).toBe(10);
    expect(resolveCut(14, bytes.length, 'lines', find, Infinity)).toBe(15);
    expect(resolveCut(99, bytes.length, 'lines', find, Infinity)).toBe(15);
    expect(resolveCut(7, bytes.length, 'none', find, Infinity)).toBe(7);
    expect(resolveCut(7, 16, { recordSize: 4 }, find, Infinity)).toBe(8);
    expect(resolveCut(8, 16, { recordSize: 4 }, find, Infinity)).toBe(8);
  });

  it('gives a record longer than a chunk to the chunk holding its start; the chunks it covers are empty', () => {
    // A 40-byte line, then short lines, with 8-byte chunks.
    const bytes = enc(`${'x'.repeat(39)}\nab\ncd\n`);
    const find = bufferFinder(bytes);
    const chunks = planChunks(bytes.length, 8, 'lines', find);
    expect(chunks.map((c) => [c.start, c.end])).toEqual([
      [0, 40],
      [40, 40],
      [40, 40],
      [40, 40],
      [40, 40],
      [40, 46],
    ]);
    expect(resolveChunk(0, bytes.length, 8, 'lines', find, Infinity)).toEqual({ index: 0, start: 0, end: 40 });
    expect(resolveChunk(2, bytes.length, 8, 'lines', find, Infinity)).toEqual({ index: 2, start: 40, end: 40 });
  });

  it('keeps a last line without a terminator whole', () => {
    const bytes = enc('a\nbbbbbbbbbbbbbbbbbbbb');
    const chunks = planChunks(bytes.length, 4, 'lines', bufferFinder(bytes));
    expect(chunks[0]).toEqual({ index: 0, start: 0, end: bytes.length });
    for (const c of chunks.slice(1)) expect([c.start, c.end]).toEqual([bytes.length, bytes.length]);
  });

  it('cuts a file of only newlines at the nominal cuts', () => {
    const bytes = new Uint8Array(3 * PAGE).fill(0x0a);
    const chunks = planChunks(bytes.length, PAGE, 'lines', bufferFinder(bytes));
    expect(chunks.map((c) => [c.start, c.end])).toEqual([
      [0, PAGE],
      [PAGE, 2 * PAGE],
      [2 * PAGE, 3 * PAGE],
    ]);
  });

  it('plans nothing for an empty file', () => {
    expect(planChunks(0, PAGE, 'lines', bufferFinder(new Uint8Array(0)))).toEqual([]);
  });
});

describe('planChunks: fixed-size records', () => {
  it('cuts at record multiples', () => {
    const bytes = new Uint8Array(16 * 100);
    const chunks = planChunks(bytes.length, 100, { recordSize: 16 }, bufferFinder(bytes));
    checkPlan(bytes, 100, { recordSize: 16 }, chunks);
    for (const c of chunks) {
      expect(c.start % 16).toBe(0);
      expect(c.end % 16).toBe(0);
    }
    expect(chunks[1]).toEqual({ index: 1, start: 112, end: 208 });
  });

  it('rejects a trailing partial record with ERR_PAGEWISE_PARTIAL_RECORD', () => {
    const bytes = new Uint8Array(16 * 10 + 5);
    let error: unknown;
    try {
      planChunks(bytes.length, PAGE, { recordSize: 16 }, bufferFinder(bytes));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(pagewise.PagewiseError);
    expect((error as { code: string }).code).toBe(ErrorCodes.PARTIAL_RECORD);
    expect((error as { offset: number }).offset).toBe(160);
  });

  it('property: cuts are record multiples and cover the file', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 200 }), chunkSizes(3000), (recordSize, records, chunkSize) => {
        const bytes = new Uint8Array(recordSize * records);
        for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
        const split = { recordSize };
        const chunks = planChunks(bytes.length, chunkSize, split, bufferFinder(bytes));
        checkPlan(bytes, chunkSize, split, chunks);
        expect(chunks).toEqual(expectedChunks(bytes, chunkSize, split));
      }),
      { numRuns: 300 },
    );
  });

  it('property: any size that is not a record multiple is rejected', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 64 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 63 }), (recordSize, records, extra) => {
        fc.pre(extra % recordSize !== 0);
        const size = recordSize * records + (extra % recordSize);
        expect(() => planChunks(size, PAGE, { recordSize }, bufferFinder(new Uint8Array(size)))).toThrow(
          expect.objectContaining({ code: ErrorCodes.PARTIAL_RECORD }),
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe('planChunks: property tests over random contents', () => {
  it('lines, tiny fake chunk sizes: exact ownership rule, whole records, covers [0, size)', () => {
    fc.assert(
      fc.property(contents(fc.constant(0x0a), 3000), chunkSizes(4000), ({ bytes }, chunkSize) => {
        const chunks = planChunks(bytes.length, chunkSize, 'lines', bufferFinder(bytes));
        checkPlan(bytes, chunkSize, 'lines', chunks);
        expect(chunks).toEqual(expectedChunks(bytes, chunkSize, 'lines'));
      }),
      { numRuns: 400 },
    );
  });

  it('lines, page-sized chunks (1 to 8 pages) over files of up to ~40 KiB', () => {
    fc.assert(
      fc.property(contents(fc.constant(0x0a), 40_000), fc.integer({ min: 1, max: 8 }), ({ bytes }, pages) => {
        const chunkSize = pages * PAGE;
        const chunks = planChunks(bytes.length, chunkSize, 'lines', bufferFinder(bytes));
        checkPlan(bytes, chunkSize, 'lines', chunks);
        expect(chunks).toEqual(expectedChunks(bytes, chunkSize, 'lines'));
      }),
      { numRuns: 150 },
    );
  });

  it('a custom delimiter byte (any of 0-255)', () => {
    fc.assert(
      fc.property(contents(fc.integer({ min: 0, max: 255 }), 3000), chunkSizes(4000), ({ bytes, term }, chunkSize) => {
        const split = { delimiter: term };
        const chunks = planChunks(bytes.length, chunkSize, split, bufferFinder(bytes));
        checkPlan(bytes, chunkSize, split, chunks);
        expect(chunks).toEqual(expectedChunks(bytes, chunkSize, split));
        // Under another delimiter a newline is data: every inner cut follows the delimiter itself.
        const notAfterDelimiter = chunks.filter((c) => c.start > 0 && c.start < bytes.length && bytes[c.start - 1] !== term);
        expect(notAfterDelimiter).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  it("'none' cuts at exact chunk multiples", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000, size: 'max' }), chunkSizes(4000), (bytes, chunkSize) => {
        const chunks = planChunks(bytes.length, chunkSize, 'none', bufferFinder(bytes));
        checkPlan(bytes, chunkSize, 'none', chunks);
        const expected = chunks.map((_, i) => ({ index: i, start: i * chunkSize, end: Math.min(bytes.length, (i + 1) * chunkSize) }));
        expect(chunks).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('resolveChunk alone agrees with planChunks (each worker resolves its own chunk)', () => {
    fc.assert(
      fc.property(contents(fc.constant(0x0a), 2000), chunkSizes(500), ({ bytes }, chunkSize) => {
        const find = bufferFinder(bytes);
        const plan = planChunks(bytes.length, chunkSize, 'lines', find);
        for (let i = plan.length - 1; i >= 0; i--) expect(resolveChunk(i, bytes.length, chunkSize, 'lines', find, Infinity)).toEqual(plan[i]);
      }),
      { numRuns: 150 },
    );
  });
});

describe('planChunks: maxRecordLength', () => {
  it('rejects a record longer than maxRecordLength that spans a cut, with the offset of a byte inside it', () => {
    const bytes = enc(`${'a'.repeat(100)}\n${'b'.repeat(10)}\n`);
    let error: unknown;
    try {
      planChunks(bytes.length, 16, 'lines', bufferFinder(bytes), 20);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(pagewise.PagewiseError);
    expect((error as { code: string }).code).toBe(ErrorCodes.RECORD_TOO_LONG);
    const offset = (error as { offset: number }).offset;
    expect(typeof offset).toBe('number');
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThan(101);
  });

  it('accepts records exactly maxRecordLength long', () => {
    const bytes = enc(`${'a'.repeat(19)}\n`.repeat(10));
    const chunks = planChunks(bytes.length, 7, 'lines', bufferFinder(bytes), 20);
    checkPlan(bytes, 7, 'lines', chunks);
  });

  it('property: throws exactly when a too-long record spans a cut, and the offset lies in such a record', () => {
    fc.assert(
      fc.property(contents(fc.constant(0x0a), 2000), chunkSizes(300), fc.integer({ min: 1, max: 200 }), ({ bytes }, chunkSize, max) => {
        const starts = recordStarts(bytes, 'lines');
        const records = starts.map((s, i) => ({ start: s, end: i + 1 < starts.length ? starts[i + 1] : bytes.length }));
        const tooLong = records.filter((r) => r.end - r.start > max);
        let error: { code?: string; offset?: number } | undefined;
        let chunks;
        try {
          chunks = planChunks(bytes.length, chunkSize, 'lines', bufferFinder(bytes), max);
        } catch (e) {
          error = e as { code?: string; offset?: number };
        }
        if (tooLong.length === 0) expect(error).toBeUndefined();
        if (error) {
          expect(error.code).toBe(ErrorCodes.RECORD_TOO_LONG);
          expect(tooLong.some((r) => r.start <= error!.offset! && error!.offset! < r.end)).toBe(true);
        } else {
          expect(chunks).toEqual(expectedChunks(bytes, chunkSize, 'lines'));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('autoChunkSize', () => {
  it('stays between 1 MiB and 64 MiB and is a page multiple', () => {
    expect(autoChunkSize(0, 4, PAGE)).toBe(MiB);
    expect(autoChunkSize(10, 1, PAGE)).toBe(MiB);
    expect(autoChunkSize(2 ** 40, 2, PAGE)).toBe(64 * MiB);
    expect(autoChunkSize(2 ** 40, 64, PAGE)).toBe(64 * MiB);
  });

  it('aims at about 8 chunks per thread', () => {
    expect(autoChunkSize(256 * MiB, 2, PAGE)).toBe(16 * MiB);
    expect(autoChunkSize(256 * MiB, 4, PAGE)).toBe(8 * MiB);
    expect(autoChunkSize(1024 * MiB, 1, PAGE)).toBe(64 * MiB);
  });

  it('takes the chunks per thread and the largest size from the caller (the engine: 32 and 16 MiB for workers)', () => {
    expect(autoChunkSize(1380 * 1e6, 2, PAGE, 32, 16 * MiB)).toBe(16 * MiB);
    expect(autoChunkSize(256 * MiB, 2, PAGE, 32, 16 * MiB)).toBe(4 * MiB);
    expect(autoChunkSize(2 ** 40, 2, PAGE, 32, 16 * MiB)).toBe(16 * MiB);
    expect(autoChunkSize(10, 2, PAGE, 32, 16 * MiB)).toBe(MiB);
  });

  it('property: a power of two, page multiple, in [1 MiB, 64 MiB], within 2x of the target', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 42 }), fc.integer({ min: 1, max: 256 }), fc.constantFrom(4096, 16384, 65536), (total, threads, page) => {
        const size = autoChunkSize(total, threads, page);
        expect(size % page).toBe(0);
        expect(Number.isInteger(Math.log2(size))).toBe(true);
        expect(size).toBeGreaterThanOrEqual(MiB);
        expect(size).toBeLessThanOrEqual(64 * MiB);
        const target = Math.min(64 * MiB, Math.max(MiB, total / (threads * 8)));
        expect(size / target).toBeLessThanOrEqual(Math.SQRT2 + 1e-9);
        expect(target / size).toBeLessThanOrEqual(Math.SQRT2 + 1e-9);
      }),
      { numRuns: 300 },
    );
  });
});
