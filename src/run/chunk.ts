/**
 * One chunk's lifecycle, the same on every thread and for every executor:
 * check that the file is intact, cut the chunk at record boundaries, prefetch
 * what comes next, read it (a job's `map` over views, or a native kernel),
 * flush it when the run writes the file in place (msync: the chunk is not
 * done before its pages are on disk), check the file again (pages read past
 * a new end came back as zeros), and release the chunk's pages. Where the bytes come from is a ChunkSource: the
 * process-wide mapping, or positional reads where nothing can be mapped.
 */
import { fstatSync, readSync } from 'node:fs';
import { ErrorCodes, PagewiseError, fileChangedError } from '../errors.js';
import { native } from '../native.js';
import { MAX_VIEW_LENGTH } from '../options.js';
import { checkGuessedView, trackWalk, writeWhileGuessing } from '../csv/guessed.js';
import { isCsv } from '../csv/split.js';
import { CutCache, findLongRecord, knownEmpty, recordEndOf, resolveCutCached, terminatorOf, type ChunkRange, type ByteFinder, type RecordEnd } from '../plan/chunks.js';
import type { ChunkInfo, Job } from '../types.js';
import { noOutput, type OutputData } from '../output/chunk-writer.js';
import { flushWritable } from '../output/in-place.js';
import { callMap } from './calls.js';
import { transferFor } from './handover.js';
import type { ChunkSettings, FileRef } from './messages.js';
import { prefetchAhead, releaseBehind } from './pages.js';

/** Where a chunk's bytes come from, on the thread that reads them. */
export interface ChunkSource {
  readonly file: FileRef;
  /** First `byte` in `[from, limit)`, or -1. */
  find: ByteFinder;
  /** Last `byte` in `[from, limit)`, or -1. */
  findLast(byte: number, from: number, limit: number): number;
  /** `[start, end)` as bytes for `map`; given back to `drop` when map returns. */
  bytes(start: number, end: number): Uint8Array;
  /** Detaches what `bytes` returned, so a job that kept it sees an empty array. */
  drop(bytes: Uint8Array): void;
  /** Throws ERR_PAGEWISE_FILE_TRUNCATED / FILE_CHANGED when the file is not the one planned with. */
  checkIntact(): void;
  prefetch(settings: ChunkSettings, index: number): void;
  /** A file written in place: its range's dirty pages to disk (msync MS_SYNC); throws the flush's error. */
  flush(range: ChunkRange): void;
  release(settings: ChunkSettings, index: number, range: ChunkRange): void;
  close(): void;
}

/**
 * Throws when `file` is not the file the run planned with: its size changed,
 * pages past its end were read (`faults`, from the addon's SIGBUS repair), or
 * it was modified or replaced (mtime, ctime or inode moved), as a truncation
 * followed by a re-extension to the same size does.
 */
export function checkFileIntact(file: FileRef, faults = 0): void {
  const s = fstatSync(file.fd, { bigint: true });
  const error = fileChangedError(file.path, file.identity, { currentSize: Number(s.size), faults, ino: s.ino, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs });
  if (error !== undefined) throw error;
}

/** The process-wide mapping of a file (views are the mapping's own pages). */
class MappedSource implements ChunkSource {
  readonly find: ByteFinder;
  constructor(readonly file: FileRef) {
    const id = file.mappingId;
    this.find = (byte, from, limit) => native.find(id, byte, from, limit);
  }
  findLast(byte: number, from: number, limit: number): number {
    if (limit <= from) return -1;
    const view = native.view(this.file.mappingId, from, limit - from);
    try {
      const at = view.lastIndexOf(byte);
      return at < 0 ? -1 : from + at;
    } finally {
      native.detach(view);
    }
  }
  bytes(start: number, end: number): Uint8Array {
    // Populated at once when cached: the job reads the whole chunk.
    return native.view(this.file.mappingId, start, end - start, true);
  }
  drop(bytes: Uint8Array): void {
    native.detach(bytes);
  }
  checkIntact(): void {
    checkFileIntact(this.file, native.faults(this.file.mappingId));
  }
  prefetch(settings: ChunkSettings, index: number): void {
    prefetchAhead(settings, this.file, index);
  }
  flush(range: ChunkRange): void {
    if (this.file.writable) flushWritable(this.file, range.start, range.end - range.start);
  }
  release(settings: ChunkSettings, index: number, range: ChunkRange): void {
    releaseBehind(settings, this.file, index, range);
  }
  close(): void {}
}

/** Bytes read per step by a positional-read search. */
const SEARCH_BLOCK = 64 << 10;

/**
 * Positional reads of a file that is not mapped (no addon on this platform):
 * the same cuts and the same bytes, read into a buffer that is detached
 * after each use, as a mapped view would be.
 */
class ReadSource implements ChunkSource {
  readonly find: ByteFinder;
  #buffer = new ArrayBuffer(0);
  #scratch = new Uint8Array(SEARCH_BLOCK);

  constructor(readonly file: FileRef) {
    this.find = (byte, from, limit) => {
      for (let at = from; at < limit; at += SEARCH_BLOCK) {
        const n = this.#read(this.#scratch, at, Math.min(SEARCH_BLOCK, limit - at));
        const hit = this.#scratch.subarray(0, n).indexOf(byte);
        if (hit >= 0) return at + hit;
      }
      return -1;
    };
  }

  /** Reads `length` bytes at `position` into `into`; a short read means the file shrank. */
  #read(into: Uint8Array, position: number, length: number): number {
    let done = 0;
    while (done < length) {
      const n = readSync(this.file.fd, into, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    if (done < length) this.checkIntact();
    if (done < length) throw fileChangedError(this.file.path, this.file.identity, { currentSize: position + done, faults: 0 })!;
    return done;
  }

  findLast(byte: number, from: number, limit: number): number {
    for (let end = limit; end > from; end -= SEARCH_BLOCK) {
      const start = Math.max(from, end - SEARCH_BLOCK);
      const n = this.#read(this.#scratch, start, end - start);
      const hit = this.#scratch.subarray(0, n).lastIndexOf(byte);
      if (hit >= 0) return start + hit;
    }
    return -1;
  }

  bytes(start: number, end: number): Uint8Array {
    if (this.#buffer.byteLength < end - start) this.#buffer = new ArrayBuffer(Math.max(end - start, 2 * this.#buffer.byteLength));
    const view = new Uint8Array(this.#buffer, 0, end - start);
    this.#read(view, start, end - start);
    return view;
  }

  drop(): void {
    // Transferring the buffer detaches every view of it and hands its memory
    // to a new ArrayBuffer, which the next chunk reuses.
    this.#buffer = structuredClone(this.#buffer, { transfer: [this.#buffer] });
  }

  checkIntact(): void {
    checkFileIntact(this.file);
  }

  prefetch(): void {}
  flush(): void {}
  release(): void {}
  close(): void {}
}

/** The source of `file`'s bytes on this thread. Close it when the task is done. */
export function openSource(file: FileRef): ChunkSource {
  return file.source === 'map' ? new MappedSource(file) : new ReadSource(file);
}

function cutError(error: unknown, file: FileRef, index: number): PagewiseError {
  const e = error as { code?: string; message: string; offset?: number };
  if (error instanceof PagewiseError && e.code !== ErrorCodes.RECORD_TOO_LONG) return error;
  return new PagewiseError(e.code ?? ErrorCodes.INTERNAL, `'${file.path}': ${e.message}`, {
    path: file.path,
    fileIndex: file.fileIndex,
    index,
    start: e.offset,
    offset: e.offset,
    cause: error instanceof PagewiseError ? undefined : error,
  });
}

/** The run's shared cut cache of `file`, if it has one. */
export function cutCacheOf(file: FileRef): CutCache | undefined {
  return file.cuts === undefined ? undefined : new CutCache(file.cuts, file.firstChunk);
}

/** Chunk `index`'s real byte range, through the run's shared cut cache; undefined when it is known to be empty. */
export function cutChunk(src: ChunkSource, settings: ChunkSettings, index: number): ChunkRange | undefined {
  const { file } = src;
  const cache = cutCacheOf(file);
  if (knownEmpty(index, file.size, settings.chunkSize, cache)) return undefined;
  try {
    const start = resolveCutCached(index, file.size, settings.chunkSize, settings.split, src.find, settings.maxRecordLength, cache);
    const nominalEnd = Math.min(file.size, (index + 1) * settings.chunkSize);
    if (start >= nominalEnd) return undefined;
    const end = resolveCutCached(index + 1, file.size, settings.chunkSize, settings.split, src.find, settings.maxRecordLength, cache);
    return { index, start, end };
  } catch (error) {
    throw cutError(error, file, index);
  }
}

/** A chunk that was read: its range and what `read` returned. */
export interface ChunkDone<T> {
  range: ChunkRange;
  value: T;
}

/**
 * Runs one chunk through its lifecycle; `read` gets the chunk's range (never
 * an empty one) and may be asynchronous. An empty chunk (inside a record that
 * started before it) is never read: the result is undefined. When
 * `stopped()` is true after an asynchronous read (the run failed meanwhile),
 * the file is not checked and nothing is released.
 */
export function processChunk<T>(
  src: ChunkSource,
  settings: ChunkSettings,
  index: number,
  read: (range: ChunkRange) => Promise<T>,
  stopped?: () => boolean,
): Promise<ChunkDone<T>> | undefined;
export function processChunk<T>(src: ChunkSource, settings: ChunkSettings, index: number, read: (range: ChunkRange) => T): ChunkDone<T> | undefined;
export function processChunk<T>(
  src: ChunkSource,
  settings: ChunkSettings,
  index: number,
  read: (range: ChunkRange) => T | Promise<T>,
  stopped: () => boolean = () => false,
): ChunkDone<T> | Promise<ChunkDone<T>> | undefined {
  src.checkIntact();
  const range = cutChunk(src, settings, index);
  if (range === undefined) return undefined;
  src.prefetch(settings, index);
  const finish = (value: T): ChunkDone<T> => {
    if (!stopped()) {
      src.flush(range);
      src.checkIntact();
      src.release(settings, index, range);
    }
    return { range, value };
  };
  const value = read(range);
  return value instanceof Promise ? value.then(finish) : finish(value);
}

/**
 * The job's `map` over `[range.start, range.end)`, folding into `acc` (through
 * `call`: a keyed job's map is called with its `emit` instead). A view
 * cannot exceed the runtime's largest ArrayBuffer, so a longer range is fed
 * in record-aligned pieces. `write` is the chunk's `info.write`.
 */
export function mapRange<J = Job>(
  job: J,
  acc: unknown,
  src: ChunkSource,
  settings: ChunkSettings,
  range: ChunkRange,
  write: (data: OutputData) => void = noOutput,
  call: (job: J, acc: unknown, bytes: Uint8Array, info: ChunkInfo) => unknown = callMap as never,
): unknown {
  const { file } = src;
  const recordEnd = settings.checkRecordLength ? recordEndOf(settings.split, src.find) : undefined;
  let at = range.start;
  while (at < range.end) {
    let to = range.end;
    if (to - at > MAX_VIEW_LENGTH) to = pieceEnd(src, settings, at, range);
    if (recordEnd !== undefined && to - at > settings.maxRecordLength) {
      checkRecordLengths(recordEnd, at, to, settings.maxRecordLength, file.path, { fileIndex: file.fileIndex, index: range.index });
    }
    const view = src.bytes(at, to);
    // Guessed CSV cuts: the view's proof (src/csv/guessed.ts).
    const track = file.guessedCuts === true ? { bytes: view, done: false, wrote: false } : undefined;
    const info = chunkInfo(file, settings, range.index, at, to, track !== undefined ? writeWhileGuessing(track) : write, view);
    if (track !== undefined) trackWalk(info, track);
    try {
      acc = call(job, acc, view, info);
      if (track !== undefined) checkGuessedView(file, settings, at, to, track);
    } finally {
      src.drop(view);
    }
    at = to;
  }
  return acc;
}

/** What `map` (or a kernel's `fold`) learns about the slice `[start, end)` of chunk `index`. */
export function chunkInfo(file: FileRef, settings: ChunkSettings, index: number, start: number, end: number, write: ChunkInfo['write'], input?: Uint8Array): ChunkInfo {
  const transfer = transferFor(input, file.header);
  const info: ChunkInfo = { index, start, end, fileIndex: file.fileIndex, file: file.path, params: settings.params, split: settings.split, write, transfer };
  if (file.header !== undefined) info.header = file.header;
  return info;
}

/** The end of the longest record-aligned piece from `at` that fits in one view. */
function pieceEnd(src: ChunkSource, settings: ChunkSettings, at: number, range: ChunkRange): number {
  const limit = at + MAX_VIEW_LENGTH;
  const split = settings.split;
  if (split === 'none') return limit;
  if (typeof split === 'object' && 'recordSize' in split) return at + Math.floor(MAX_VIEW_LENGTH / split.recordSize) * split.recordSize;
  if (isCsv(split)) {
    // Record by record (quote parity decides where one ends): only for
    // chunks longer than the largest view, which a record of gigabytes makes.
    const recordEnd = recordEndOf(split, src.find)!;
    let end = at;
    for (let next = recordEnd(at, range.end); next <= limit && next > end; next = recordEnd(end, range.end)) end = next;
    if (end > at) return end;
  } else {
    // The last terminator in the piece ends its last whole record.
    const last = src.findLast(terminatorOf(split), at, limit);
    if (last >= at) return last + 1;
  }
  throw new PagewiseError(
    ErrorCodes.RECORD_TOO_LONG,
    `'${src.file.path}': the record at byte offset ${at} is longer than the largest view this runtime allows (${MAX_VIEW_LENGTH} bytes)`,
    { path: src.file.path, fileIndex: src.file.fileIndex, index: range.index, offset: at, start: at, maxRecordLength: MAX_VIEW_LENGTH },
  );
}

/** Throws ERR_PAGEWISE_RECORD_TOO_LONG for the first record of `[from, to)` longer than `max`. */
export function checkRecordLengths(
  recordEnd: RecordEnd,
  from: number,
  to: number,
  max: number,
  path: string,
  where: { fileIndex?: number; index?: number } = {},
): void {
  const long = findLongRecord(recordEnd, from, to, max);
  if (long === undefined) return;
  throw new PagewiseError(
    ErrorCodes.RECORD_TOO_LONG,
    `'${path}': the record at byte offset ${long.offset} is ${long.length} bytes, longer than maxRecordLength (${max} bytes)`,
    { path, ...where, offset: long.offset, start: long.offset, maxRecordLength: max },
  );
}
