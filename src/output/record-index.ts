/// <reference lib="esnext.disposable" preserve="true" />
/**
 * Random access by record: an index file (the byte offset of every record as
 * little-endian u64, as `pagewise index` writes it) over a mapped data file.
 * `record(i)` is a zero-copy view; `search(key, compare)` is a binary search
 * over a file whose records are sorted, `look(1)` for any record kind.
 */
import { ErrorCodes, InvalidOptionError, PagewiseError } from '../errors.js';
import { builtinJobs } from '../jobs/index.js';
import { MappedFile } from '../mapped-file.js';
import { INTERNAL, MAX_VIEW_LENGTH, type MapReduceOptions } from '../options.js';
import { runJob, type RunReport } from '../run/pipeline.js';
import type { IndexAcc, IndexParams } from '../jobs/index-records.js';
import type { Split } from '../types.js';

/** Bytes per window of a file too large for one view (and a multiple of any page size). */
const WINDOW = 1 << 30;

/** Views of a mapped file: one view when it fits, else 1 GiB windows made as needed. */
class Windows {
  readonly #file: MappedFile;
  readonly #whole: Uint8Array | undefined;
  readonly #windows = new Map<number, Uint8Array>();

  constructor(file: MappedFile) {
    this.#file = file;
    this.#whole = file.size === 0 ? new Uint8Array(0) : file.size <= MAX_VIEW_LENGTH ? file.view(0, file.size) : undefined;
  }

  /** The one view of the whole file, when it fits in one. */
  get whole(): Uint8Array | undefined {
    return this.#whole;
  }

  /** `[start, end)` without a copy: a slice of a window, or its own view when it crosses one. */
  bytes(start: number, end: number): Uint8Array {
    if (this.#whole !== undefined) return this.#whole.subarray(start, end);
    const w = Math.floor(start / WINDOW);
    if (end <= (w + 1) * WINDOW) {
      let window = this.#windows.get(w);
      if (window === undefined) {
        window = this.#file.view(w * WINDOW, Math.min(WINDOW, this.#file.size - w * WINDOW));
        this.#windows.set(w, window);
      }
      return window.subarray(start - w * WINDOW, end - w * WINDOW);
    }
    return this.#file.view(start, end - start);
  }

  close(): void {
    this.#file.close();
  }
}

/** Options of `RecordIndex.open`. */
export interface RecordIndexOptions {
  /**
   * The records' terminator, left out of `record(i)`: a byte (default 0x0a,
   * lines), or null for records without one (fixed-size records).
   */
  terminator?: number | null;
}

/** `look(1)`'s comparison: the record's first `key.length` bytes against the key, bytewise. */
export function comparePrefix(record: Uint8Array, key: Uint8Array): number {
  const n = Math.min(record.length, key.length);
  for (let i = 0; i < n; i++) {
    const d = record[i] - key[i];
    if (d !== 0) return d;
  }
  return record.length >= key.length ? 0 : -1;
}

const encoder = new TextEncoder();
const TWO_32 = 4294967296;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
// Node 20.4+ and every Node 22/24 have Symbol.dispose; an older 20.x gets the symbol its polyfills agree on.
const disposeSymbol: typeof Symbol.dispose = (Symbol as { dispose?: typeof Symbol.dispose }).dispose ?? (Symbol.for('nodejs.dispose') as typeof Symbol.dispose);

/**
 * Records of a mapped file, by number, through its index.
 *
 * @example
 * ```ts
 * await buildIndex('words.txt');               // words.txt.idx
 * using idx = RecordIndex.open('words.txt');
 * const i = idx.search('pagew');               // first record starting with 'pagew', or -1
 * if (i >= 0) console.log(new TextDecoder().decode(idx.record(i)));
 * ```
 */
export class RecordIndex {
  /** Number of records. */
  readonly count: number;
  /** Size of the data file in bytes. */
  readonly size: number;
  readonly #data: Windows;
  readonly #index: Windows;
  readonly #terminator: number;
  /** The index as 32-bit words (little-endian hosts, an index in one view): offsets read without a slice. */
  readonly #words: Uint32Array | undefined;
  /** The data file in one view, when it fits. */
  readonly #bytes: Uint8Array | undefined;
  #closed = false;

  private constructor(data: MappedFile, index: MappedFile, terminator: number) {
    this.size = data.size;
    this.count = Math.floor(index.size / 8);
    this.#data = new Windows(data);
    this.#index = new Windows(index);
    this.#terminator = terminator;
    this.#bytes = this.#data.whole;
    const words = this.#index.whole;
    this.#words = words !== undefined && LITTLE_ENDIAN && words.byteOffset % 4 === 0 ? new Uint32Array(words.buffer, words.byteOffset, this.count * 2) : undefined;
  }

  /**
   * Maps `dataPath` and its index (default `dataPath + '.idx'`).
   * @throws ENOENT, EACCES, ... (fs-shaped); ERR_PAGEWISE_BAD_INDEX when the
   * index does not fit the data (size not a multiple of 8, first offset not
   * 0, last offset past the data's end); ERR_PAGEWISE_INVALID_OPTION.
   */
  static open(dataPath: string, indexPath = `${dataPath}.idx`, options: RecordIndexOptions = {}): RecordIndex {
    const terminator = options.terminator === undefined ? 0x0a : options.terminator === null ? -1 : options.terminator;
    if (!Number.isInteger(terminator) || terminator < -1 || terminator > 255) {
      throw new InvalidOptionError('options.terminator', 'a byte (0-255) or null', options.terminator);
    }
    const data = MappedFile.open(dataPath);
    let index: MappedFile;
    try {
      index = MappedFile.open(indexPath);
    } catch (error) {
      data.close();
      throw error;
    }
    const idx = new RecordIndex(data, index, terminator);
    try {
      if (index.size % 8 !== 0) throw idx.#bad(`its size (${index.size} bytes) is not a multiple of 8`);
      if (idx.count === 0 && data.size > 0) throw idx.#bad('it is empty but the data file is not');
      if (idx.count > 0 && idx.offset(0) !== 0) throw idx.#bad(`its first offset is ${idx.offset(0)}, not 0`);
      if (idx.count > 0 && idx.offset(idx.count - 1) >= data.size) throw idx.#bad(`its last offset (${idx.offset(idx.count - 1)}) is not inside the data file (${data.size} bytes)`);
    } catch (error) {
      idx.close();
      throw error;
    }
    return idx;
  }

  #bad(why: string): PagewiseError {
    return new PagewiseError(ErrorCodes.BAD_INDEX, `the record index does not fit its data file: ${why}`, {});
  }

  #check(i: number): void {
    if (this.#closed) throw new PagewiseError(ErrorCodes.CLOSED, 'the record index is closed');
    // `i >>> 0 === i` is the fast test for most indexes; counts past 2^32 take the long one.
    if (!((i >>> 0 === i || Number.isInteger(i)) && i >= 0 && i < this.count)) throw new InvalidOptionError('i', `an integer from 0 to ${this.count - 1}`, i);
  }

  #offset(i: number): number {
    const w = this.#words;
    if (w !== undefined) return w[2 * i] + w[2 * i + 1] * TWO_32;
    const b = this.#index.bytes(i * 8, i * 8 + 8);
    return (b[0] | (b[1] << 8) | (b[2] << 16)) + b[3] * 0x1000000 + (b[4] | (b[5] << 8) | (b[6] << 16) | (b[7] << 24)) * TWO_32;
  }

  /** Byte offset of record `i` in the data file. */
  offset(i: number): number {
    this.#check(i);
    return this.#offset(i);
  }

  /**
   * Record `i` without its terminator, as a zero-copy view of the data file
   * (valid until `close()`).
   * @throws ERR_PAGEWISE_INVALID_OPTION for `i` outside [0, count);
   * ERR_PAGEWISE_BAD_INDEX when the index's offsets are out of order there.
   */
  record(i: number): Uint8Array {
    this.#check(i);
    const start = this.#offset(i);
    const end = i + 1 < this.count ? this.#offset(i + 1) : this.size;
    if (end <= start || end > this.size) throw this.#bad(`offsets ${start} and ${end} of records ${i} and ${i + 1} are out of order`);
    const whole = this.#bytes;
    if (whole !== undefined) return whole.subarray(start, this.#terminator >= 0 && whole[end - 1] === this.#terminator ? end - 1 : end);
    const bytes = this.#data.bytes(start, end);
    return this.#terminator >= 0 && bytes[bytes.length - 1] === this.#terminator ? bytes.subarray(0, bytes.length - 1) : bytes;
  }

  /**
   * The first record `r` (by number) for which `compare(r, key) >= 0`, or
   * `count` when there is none, over records sorted by `compare`.
   */
  lowerBound(key: Uint8Array | string, compare: (record: Uint8Array, key: Uint8Array) => number = comparePrefix): number {
    const k = typeof key === 'string' ? encoder.encode(key) : key;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (compare(this.record(mid), k) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Binary search over records sorted by `compare` (default: bytewise, and a
   * record matches when it starts with `key`, as `look(1)`): the number of
   * the first matching record, or -1. The matches are that record and the
   * ones after it while `compare` returns 0.
   */
  search(key: Uint8Array | string, compare: (record: Uint8Array, key: Uint8Array) => number = comparePrefix): number {
    const k = typeof key === 'string' ? encoder.encode(key) : key;
    const i = this.lowerBound(k, compare);
    return i < this.count && compare(this.record(i), k) === 0 ? i : -1;
  }

  /** Unmaps both files; views from `record()` must not be used after. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#data.close();
    this.#index.close();
  }

  /** `close()`, for `using idx = RecordIndex.open(...)`. */
  [disposeSymbol](): void {
    this.close();
  }
}

/** Options of `buildIndex`: the run's, plus the record kind. */
export interface BuildIndexOptions extends Omit<MapReduceOptions, 'output' | 'params'> {
  /** Where the index goes; default `dataPath + '.idx'`. */
  output?: string;
  /** Records end with this byte (default 0x0a), or are `recordSize` bytes each. */
  terminator?: number;
  recordSize?: number;
}

/**
 * Writes the index of `dataPath` (every record's offset as little-endian
 * u64), in parallel and atomically; resolves with the number of records.
 * @throws what `runJob` throws.
 */
export async function buildIndex(dataPath: string, options: BuildIndexOptions = {}): Promise<RunReport<IndexAcc>> {
  const { terminator, recordSize, output, ...rest } = options;
  if (terminator !== undefined && (!Number.isInteger(terminator) || terminator < 0 || terminator > 255)) {
    throw new InvalidOptionError('options.terminator', 'a byte (0-255)', terminator);
  }
  if (recordSize !== undefined && (!Number.isSafeInteger(recordSize) || recordSize <= 0)) {
    throw new InvalidOptionError('options.recordSize', 'a positive integer', recordSize);
  }
  const split: Split = recordSize !== undefined ? { recordSize } : terminator === undefined || terminator === 0x0a ? 'lines' : { delimiter: terminator };
  return runJob(dataPath, builtinJobs.index, {
    ...rest,
    params: { terminator, recordSize },
    output: output ?? `${dataPath}.idx`,
    [INTERNAL]: { ...((rest as Record<symbol, object | undefined>)[INTERNAL] ?? {}), split },
  } as MapReduceOptions<IndexParams>);
}
