/**
 * The chunk planner: cuts `[0, size)` into page-aligned nominal slices, then
 * moves each cut forward to the next record boundary so every record lies in
 * exactly one chunk. Pure: the byte search is passed in, so the same code runs
 * over a mapping, over positional reads, and over a buffer in tests.
 *
 * Ownership rule: chunk i owns the records that *start* in its nominal range
 * `[i * chunkSize, (i + 1) * chunkSize)`. Its real start is the first record
 * start at or after its nominal start, its real end is the real start of chunk
 * i + 1. A record longer than a chunk therefore makes the chunk that holds its
 * start longer, and leaves the chunks it covers empty; it is never split.
 */
import { csvRecordEnd } from '../csv/scan.js';
import { csvBytesOf, isCsv } from '../csv/split.js';
import { ErrorCodes, PagewiseError } from '../errors.js';
import type { Split } from '../types.js';

/** Finds the first `byte` in `[from, limit)` of the file; -1 if none. */
export type ByteFinder = (byte: number, from: number, limit: number) => number;

/** Number of nominal chunks for a file (0 for an empty file). */
export function chunkCount(size: number, chunkSize: number): number {
  return size === 0 ? 0 : Math.ceil(size / chunkSize);
}

/** The run reads every chunk of the file, not a cluster split's span of its grid. */
export function readsWholeFile(file: { firstChunk: number; chunks: number; size: number }, chunkSize: number): boolean {
  return file.firstChunk === 0 && file.chunks === chunkCount(file.size, chunkSize);
}

/** The terminator byte of a split kind, or -1 when records are not delimited by one byte (CSV: a `\n` ends a record only outside quotes). */
export function terminatorOf(split: Split): number {
  if (split === 'lines') return 0x0a;
  if (typeof split === 'object' && 'delimiter' in split) return split.delimiter;
  return -1;
}

function recordTooLong(cut: number, maxRecordLength: number): PagewiseError {
  return new PagewiseError(
    ErrorCodes.RECORD_TOO_LONG,
    `a record containing byte offset ${cut} is longer than maxRecordLength (${maxRecordLength} bytes)`,
    { offset: cut, maxRecordLength },
  );
}

/**
 * Where the chunk whose nominal start is `cut` really starts.
 * Throws ERR_PAGEWISE_RECORD_TOO_LONG when no boundary lies within
 * `maxRecordLength` bytes of the cut.
 */
export function resolveCut(cut: number, size: number, split: Split, find: ByteFinder, maxRecordLength: number): number {
  if (isCsv(split)) return csvCut(cut, size, split, find, maxRecordLength);
  if (cut <= 0) return 0;
  if (cut >= size) return size;
  if (split === 'none') return cut;
  if (typeof split === 'object' && 'recordSize' in split) {
    return Math.min(size, Math.ceil(cut / split.recordSize) * split.recordSize);
  }
  const term = terminatorOf(split);
  // A record starts at `cut` when the byte before it ends a record.
  const limit = Math.min(size, cut - 1 + maxRecordLength + 1);
  const hit = find(term, cut - 1, limit);
  if (hit >= 0) return hit + 1;
  if (limit >= size) return size;
  throw recordTooLong(cut, maxRecordLength);
}

/**
 * A CSV cut found by walking the records from the file's start (with a
 * header, chunk 0 starts after it): what the pure planner uses. A run does
 * not: its first pass finds every chunk's quote parity in parallel and fills
 * the run's cut cache with the same cuts (src/csv/prepare.ts).
 */
function csvCut(cut: number, size: number, split: Split, find: ByteFinder, maxRecordLength: number): number {
  const { quote, header } = csvBytesOf(split)!;
  if (cut >= size) return size;
  let at = header ? csvRecordEnd(find, quote, 0, size) : 0;
  while (at < cut) at = csvRecordEnd(find, quote, at, size);
  if (at - Math.max(0, cut) > maxRecordLength) throw recordTooLong(Math.max(0, cut), maxRecordLength);
  return at;
}

/** Where the record that starts at `from` ends (`to` if it runs past it). */
export type RecordEnd = (from: number, to: number) => number;

/** How records of a delimited split end, through a byte finder; undefined when records are not delimited. */
export function recordEndOf(split: Split, find: ByteFinder): RecordEnd | undefined {
  if (isCsv(split)) {
    const { quote } = csvBytesOf(split)!;
    return (from, to) => csvRecordEnd(find, quote, from, to);
  }
  const term = terminatorOf(split);
  if (term < 0) return undefined;
  return (from, to) => {
    const hit = find(term, from, to);
    return hit < 0 ? to : hit + 1;
  };
}

/**
 * The first record in `[from, to)` (the range starts at a record start)
 * longer than `max` bytes, or undefined. One search per record: used only
 * when the user set maxRecordLength explicitly.
 */
export function findLongRecord(recordEnd: RecordEnd, from: number, to: number, max: number): { offset: number; length: number } | undefined {
  let at = from;
  while (at < to) {
    const end = recordEnd(at, to);
    if (end - at > max) return { offset: at, length: end - at };
    at = end;
  }
  return undefined;
}

/** A resolved chunk: `[start, end)` holds whole records (may be empty). */
export interface ChunkRange {
  index: number;
  start: number;
  end: number;
}

/** The real byte range of chunk `index`. */
export function resolveChunk(
  index: number,
  size: number,
  chunkSize: number,
  split: Split,
  find: ByteFinder,
  maxRecordLength: number,
): ChunkRange {
  const start = resolveCut(index * chunkSize, size, split, find, maxRecordLength);
  const nominalEnd = Math.min(size, (index + 1) * chunkSize);
  const end = start >= nominalEnd ? start : resolveCut(nominalEnd, size, split, find, maxRecordLength);
  return { index, start, end: Math.max(start, end) };
}

/**
 * What is known of a file's cuts, shared by every thread of a run: for chunk
 * j, the real start of its nominal cut `j * chunkSize`, or a lower bound on
 * it. One search over a long record then serves every chunk the record
 * covers, instead of each of them searching to the record's end again
 * (quadratic in record length over chunk size). Encoding per entry: -1
 * unknown, >= 0 the exact start, <= -2 a lower bound of -(v + 2).
 */
export class CutCache {
  /** `entries[k]` is about chunk `base + k`; chunks outside are never known. */
  constructor(
    readonly entries: BigInt64Array,
    readonly base = 0,
  ) {}

  /** A cache for chunks [base, base + chunks] (one past the last, for its end), over shared memory so it can cross threads. */
  static create(chunks: number, base = 0): CutCache {
    const entries = new BigInt64Array(new SharedArrayBuffer(8 * (chunks + 1)));
    entries.fill(-1n);
    return new CutCache(entries, base);
  }

  #load(j: number): bigint {
    const k = j - this.base;
    return k >= 0 && k < this.entries.length ? Atomics.load(this.entries, k) : -1n;
  }

  /** Exact start of chunk j's cut, or undefined. */
  exact(j: number): number | undefined {
    const v = this.#load(j);
    return v >= 0n ? Number(v) : undefined;
  }

  /** The best lower bound known for chunk j's start (its nominal start if nothing is known). */
  atLeast(j: number, nominal: number): number {
    const v = this.#load(j);
    if (v >= 0n) return Number(v);
    if (v <= -2n) return Math.max(nominal, Number(-(v + 2n)));
    return nominal;
  }

  /** Records that the cuts of chunks `from..to` (inclusive) resolve to `start`. */
  setExact(from: number, to: number, start: number): void {
    const v = BigInt(start);
    const last = Math.min(to - this.base, this.entries.length - 1);
    for (let k = Math.max(0, from - this.base); k <= last; k++) Atomics.store(this.entries, k, v);
  }

  /** Records that the cuts of chunks `from..to` resolve at or after `bound`, never lowering what is known. */
  raise(from: number, to: number, bound: number): void {
    const encoded = -(BigInt(bound) + 2n);
    const last = Math.min(to - this.base, this.entries.length - 1);
    for (let k = Math.max(0, from - this.base); k <= last; k++) {
      for (;;) {
        const old = Atomics.load(this.entries, k);
        if (old >= 0n || (old <= -2n && old <= encoded)) break;
        if (Atomics.compareExchange(this.entries, k, old, encoded) === old) break;
      }
    }
  }
}

/** Bytes searched between two looks at the cut cache while a search runs through a long record. */
const SEARCH_STEP = 16 << 20;

/**
 * `resolveCut` for chunk `j`'s nominal start, through a shared cut cache:
 * known cuts are answered without a search, and a search through a long
 * record publishes how far it got, so that chunks the record covers are
 * known to be empty without searching again.
 */
export function resolveCutCached(
  j: number,
  size: number,
  chunkSize: number,
  split: Split,
  find: ByteFinder,
  maxRecordLength: number,
  cache: CutCache | undefined,
): number {
  const cut = j * chunkSize;
  const known = cache?.exact(j);
  if (known !== undefined) return known;
  if (isCsv(split)) {
    // A CSV run's first pass fills the cache with every cut it reads (src/csv/prepare.ts).
    throw new PagewiseError(ErrorCodes.INTERNAL, `the CSV cut of chunk ${j} was not planned`, { index: j });
  }
  const term = terminatorOf(split);
  if (cache === undefined || term < 0 || cut <= 0 || cut >= size) return resolveCut(cut, size, split, find, maxRecordLength);
  const limit = Math.min(size, cut - 1 + maxRecordLength + 1);
  let from = Math.max(cut - 1, cache.atLeast(j, cut) - 1);
  const last = chunkCount(size, chunkSize) - 1;
  while (from < limit) {
    const to = Math.min(limit, from + SEARCH_STEP);
    const hit = find(term, from, to);
    if (hit >= 0) {
      const start = hit + 1;
      cache.setExact(j, Math.min(last, Math.floor(start / chunkSize)), start);
      return start;
    }
    // No record starts in (cut, to]: neither does one in the chunks wholly inside it.
    cache.raise(j, Math.min(last, Math.floor(to / chunkSize)), to);
    const ahead = cache.exact(j);
    if (ahead !== undefined) return ahead;
    from = Math.max(to, cache.atLeast(j, cut) - 1);
  }
  if (limit >= size) {
    cache.setExact(j, last, size);
    return size;
  }
  throw recordTooLong(cut, maxRecordLength);
}

/**
 * True when chunk j is known to hold no record start (a record that starts
 * before it covers it): it can be skipped without a search.
 */
export function knownEmpty(j: number, size: number, chunkSize: number, cache: CutCache | undefined): boolean {
  if (cache === undefined || j === 0) return false;
  const nominalEnd = Math.min(size, (j + 1) * chunkSize);
  return cache.atLeast(j, j * chunkSize) >= nominalEnd;
}

/**
 * Every chunk of a file, resolved. Used by tests and tools; runs resolve
 * chunks one at a time where their bytes are read.
 */
export function planChunks(size: number, chunkSize: number, split: Split, find: ByteFinder, maxRecordLength = Infinity): ChunkRange[] {
  checkWholeRecords(size, split);
  if (isCsv(split)) return planCsvChunks(size, chunkSize, split, find, maxRecordLength);
  const chunks: ChunkRange[] = [];
  for (let i = 0; i < chunkCount(size, chunkSize); i++) chunks.push(resolveChunk(i, size, chunkSize, split, find, maxRecordLength));
  return chunks;
}

/** planChunks for CSV: one walk over the records, cutting as it passes each nominal start. */
function planCsvChunks(size: number, chunkSize: number, split: Split, find: ByteFinder, maxRecordLength: number): ChunkRange[] {
  const n = chunkCount(size, chunkSize);
  if (n === 0) return [];
  const { quote, header } = csvBytesOf(split)!;
  const cuts: number[] = [];
  let at = header ? csvRecordEnd(find, quote, 0, size) : 0;
  for (let j = 0; j < n; j++) {
    const cut = j * chunkSize;
    while (at < cut) at = csvRecordEnd(find, quote, at, size);
    if (at - cut > maxRecordLength) throw recordTooLong(cut, maxRecordLength);
    cuts.push(at);
  }
  cuts.push(size);
  return cuts.slice(0, n).map((start, index) => ({ index, start, end: start >= Math.min(size, (index + 1) * chunkSize) ? start : cuts[index + 1] }));
}

/** Fixed-size records: the file must hold a whole number of them. */
export function checkWholeRecords(size: number, split: Split, path?: string): void {
  if (typeof split === 'object' && 'recordSize' in split && size % split.recordSize !== 0) {
    const whole = Math.floor(size / split.recordSize);
    throw new PagewiseError(
      ErrorCodes.PARTIAL_RECORD,
      // Worded for the library's recordSize and the CLI's --record-size alike.
      `${path ? `'${path}': ` : ''}size ${size} is not a multiple of the record size, ${split.recordSize} bytes: ` +
        `${size - whole * split.recordSize} bytes follow the last whole record (${whole} whole)`,
      { path, size, recordSize: split.recordSize, offset: whole * split.recordSize },
    );
  }
}

/** A ByteFinder over an in-memory buffer (tests, streaming). */
export function bufferFinder(bytes: Uint8Array): ByteFinder {
  return (byte, from, limit) => bytes.subarray(0, limit).indexOf(byte, from);
}

/**
 * The `auto` chunk size: aim for `perThread` chunks per thread (default 8) so
 * the threads balance load, at most `max` (default 64 MiB) so memory stays
 * bounded and progress is smooth, and at least 1 MiB so a task (~1 ms at
 * 1 GB/s) dwarfs Piscina's ~40 µs per-task cost. Always a page multiple.
 */
export function autoChunkSize(totalBytes: number, threads: number, pageSize: number, perThread = 8, max = 64 * (1 << 20)): number {
  const MiB = 1 << 20;
  const target = totalBytes / (threads * perThread);
  const clamped = Math.min(Math.max(max, MiB), Math.max(1 * MiB, target));
  // Round to a power of two for predictable alignment with huge pages.
  const pow = 2 ** Math.round(Math.log2(clamped));
  return Math.max(pageSize, Math.ceil(pow / pageSize) * pageSize);
}
