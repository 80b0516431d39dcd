/**
 * The addon's surface, typed. Argument checks happen here or in callers, not
 * in C++. Loaded once per thread (each worker runs the addon's init; the
 * mapping registry behind it is process-wide). Where no binary loads, a
 * JavaScript stand-in from native-fallback.cts takes its place.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { ErrorCodes, PagewiseError } from './errors.js';
import { summarizeCsv } from './csv/scan.js';

/** What `open` and `create` return. */
export interface MappingInfo {
  id: number;
  size: number;
  dev: number;
  ino: number;
  opens: number;
  /** A writable mapping (`open(path, true)`, `create`): never shared with read-only handles. */
  writable: boolean;
  /** The file's mtime and ctime when it was mapped, in nanoseconds. */
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** What `state` returns: the file as fstat on the mapping's fd sees it now. */
export interface MappingState {
  /** The mapping's length (the size at open, or at the last resize). */
  size: number;
  currentSize: number;
  /** Pages past the file's end read (or written) as zeros, in the mapping and all its views. */
  faults: number;
  views: number;
  opens: number;
  dev: number;
  ino: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export type MadviseName = 'normal' | 'random' | 'sequential' | 'willneed' | 'dontneed' | 'populateRead' | 'hugepage';
export type FadviseName = 'normal' | 'sequential' | 'random' | 'willneed' | 'dontneed' | 'noreuse';
export type ScanOpName = 'countByte' | 'countRecordsContaining' | 'countWords' | 'countWcUtf8' | 'csvSummaryChecked' | 'copyRecordsContaining';

/** What `scan` resolves with: the ops' counts, and the records a copyRecordsContaining op copied. */
export type ScanCounts = number[] & { bytes?: Uint8Array };

/** The addon's tables, defined once in C++: name -> the number its functions take. */
export interface NativeConstants {
  madvise: Readonly<Record<MadviseName, number>>;
  fadvise: Readonly<Record<FadviseName, number>>;
  scanOps: Readonly<Record<ScanOpName, number>>;
}

/** Entry points for tests and measurements only: present when PAGEWISE_TEST_HOOKS=1 at load. */
export interface NativeTesting {
  /** The most scans that read through `gate` at once so far. */
  gateMostActive(gate: ScanGate): number;
  /** Fault slots in use, and the limit; `limit` sets it (0: the default). */
  faultSlots(limit?: number): { inUse: number; limit: number };
  /** A view that is a slice of the shared read-only mapping (the design before per-view mappings). */
  sliceView(id: number, offset: number, length: number): Uint8Array;
  /** Detaches any buffer, unchecked (for sliceView's views). */
  detachAny(view: ArrayBufferView | ArrayBuffer): void;
  /** One SharedArrayBuffer over the whole shared mapping (Node 24.16+). */
  sharedBuffer(id: number): SharedArrayBuffer;
}

export interface NativeBinding {
  /** Maps a regular file whole: read-only (shared with this process's other handles of the unchanged file) or, with `write`, read-write of its own. */
  open(path: string, write?: boolean): MappingInfo;
  /** Creates a file of `size` bytes with its space reserved (posix_fallocate) and maps it writable. */
  create(path: string, size: number, overwrite?: boolean): MappingInfo;
  close(id: number): boolean;
  /** A view over a mapping of its own: copy-on-write for a read-only file, shared for a writable one; `populate`: its pages mapped at once if they are cached. */
  view(id: number, offset: number, length: number, populate?: boolean): Uint8Array;
  /** Empties and unmaps a view made by `view`; ERR_PAGEWISE_NOT_A_VIEW for any other buffer. */
  detach(view: ArrayBufferView | ArrayBuffer): void;
  /** msync(MS_SYNC) of the pages covering the range of a writable mapping. */
  flush(id: number, offset: number, length: number): void;
  /** Grows or shrinks a writable file and remaps it, detaching this thread's views of it first. */
  resize(id: number, size: number): void;
  advise(id: number, offset: number, length: number, advice: number, step?: number): number;
  fadvise(id: number, offset: number, length: number, advice: number): number;
  residency(id: number, offset: number, length: number): { resident: number; pages: number };
  state(id: number): MappingState;
  find(id: number, byte: number, from: number, limit: number): number;
  faults(id: number): number;
  stats(): { mappings: number; views: number };
  countByte(bytes: Uint8Array, value: number, start?: number, end?: number): number;
  indexOfByte(bytes: Uint8Array, value: number, from?: number, end?: number): number;
  indexOf(bytes: Uint8Array, needle: Uint8Array, from?: number, end?: number): number;
  countLinesContaining(bytes: Uint8Array, needle: Uint8Array, terminator: number): number;
  /** The records that contain `needle`, copied into `out` (at least bytes.length + 1), each ended by `terminator`: [bytes written, records]. */
  copyLinesContaining(bytes: Uint8Array, needle: Uint8Array, terminator: number, out: Uint8Array): [number, number];
  /**
   * From `from`, the records that contain `needle` (non-empty, no terminator), as many as `out` holds three numbers
   * for: start, end (past the terminator), terminators between `from` and the start. [records, where to go on].
   */
  findLinesContaining(bytes: Uint8Array, needle: Uint8Array, terminator: number, out: Float64Array, from: number): [number, number];
  countWords(bytes: Uint8Array): number;
  /** GNU wc 9.1's lines, words and characters in C.UTF-8, in one pass (see docs/decisions.md, wc). */
  countWcUtf8(bytes: Uint8Array): { lines: number; words: number; chars: number };
  countWordsUtf8(bytes: Uint8Array): number;
  countCharsUtf8(bytes: Uint8Array): number;
  /**
   * The CSV first pass's summary of bytes[from, to) into out[at, at + SUMMARY.size):
   * the same call and answer as summarizeCsv (src/csv/scan.ts), in one
   * native pass (CsvSummaryChecked).
   */
  csvSummaryChecked(bytes: Uint8Array, from: number, to: number, quote: number, delimiter: number, base: number, out: Float64Array, at: number): void;
  /** The first record start at or after `from` (at least 1), given the parity at the array's start; -1 if none. */
  csvRecordStart(bytes: Uint8Array, quote: number, odd: boolean, from: number): number;
  /** Newlines outside quotes, given the parity at the array's start. */
  csvCountRecords(bytes: Uint8Array, quote: number, odd: boolean): number;
  /** Where the UTF-8 class table comes from, e.g. 'glibc 2.36 C.UTF-8 (Unicode 14.0.0)'. */
  utf8TableSource(): string;
  /**
   * Runs byte kernels over [offset, offset + length) of a mapping on libuv's
   * threadpool; resolves with one count per op (`op`: a `ScanOps` value).
   * countByte: count `byte`; countRecordsContaining: count records ended by
   * `byte` that contain `needle`; countWords; countWcUtf8 (3 counts);
   * csvSummaryChecked (`byte` the quote, `needle[0]` the delimiter): the CSV
   * first pass's SUMMARY.size numbers, offsets from `offset` (the byte before
   * the range and the two after it are read too); copyRecordsContaining (at
   * most one): count the records countRecordsContaining counts, and copy them
   * into the result's `bytes`, each ended by `byte` (absent when none). With
   * `drop`, the pool thread then drops the range's page-table entries
   * (MADV_DONTNEED: the pages stay in the page cache).
   */
  scan(id: number, offset: number, length: number, ops: { op: number; byte?: number; needle?: Uint8Array }[], gate?: ScanGate, drop?: boolean): Promise<ScanCounts>;
  /** A gate that lets at most `n` scans given it read at a time (they wait for a slot on their pool thread). */
  gate(n: number): ScanGate;
  /**
   * Queues `n` tasks on libuv's threadpool that wait (up to `timeoutMs`) for
   * each other; resolves with the most that ran at once: `n`, or the pool's
   * size when it has fewer threads.
   */
  threadpoolConcurrency(n: number, timeoutMs: number): Promise<number>;
  /** Puts native/signals.cc's SIGINT/SIGTERM handler over the process's (libuv's); absent from the fallback. */
  guardSignals?(): boolean;
  /** The JavaScript handler saw the signals so far. */
  signalSeen?(): void;
  pageSize(): number;
  /** Which byte kernels run on this CPU: 'avx2' or 'portable' (native), 'js' (the fallback). */
  kernelFlavor(): 'avx2' | 'portable' | 'js';
  /** The addon's tables (empty in the fallback: nothing is ever mapped there). */
  constants: NativeConstants;
  testing?: NativeTesting;
}

/** An opaque handle from `gate(n)`. */
export type ScanGate = { readonly __brand: 'ScanGate' };

/** The package's root: the nearest directory above this file with pagewise's package.json. */
function packageRoot(): string {
  // src/native.ts and dist/src/native.js both sit below it.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'pagewise') return dir;
    } catch {
      // not here
    }
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..');
}

/**
 * Loads the addon the way node-gyp-build finds it: a local build
 * (build/Release, from `npm rebuild pagewise` or a clone's build) first, then
 * the prebuilt binary for this platform, architecture and libc in
 * prebuilds/. Never throws: a failure is returned as the reason.
 */
function loadAddon(): { binding: NativeBinding; error?: undefined } | { binding?: undefined; error: PagewiseError } {
  if (process.env.PAGEWISE_NATIVE === '0') {
    return { error: new PagewiseError(ErrorCodes.NO_ADDON, 'the native addon is turned off (PAGEWISE_NATIVE=0)') };
  }
  let path: string | undefined;
  try {
    path = (require('node-gyp-build') as { resolve(dir: string): string }).resolve(packageRoot());
    return { binding: require(path) as NativeBinding };
  } catch (cause) {
    const why = path === undefined ? `no binary for ${process.platform}-${process.arch}` : `'${path}' failed to load`;
    const detail = String((cause as Error)?.message ?? cause).split('\n')[0];
    return { error: new PagewiseError(ErrorCodes.NO_ADDON, `the native addon did not load (${why}: ${detail})`, { cause }) };
  }
}

let noted = false;

/**
 * Says once per process, on stderr, that the portable fallback is in use and
 * how to get the addon. Called on the first use of the fallback binding; the
 * engine may call it when it chooses reads over mapping. Worker threads stay
 * silent: the main thread speaks for the process.
 */
export function noteFallback(): void {
  if (noted || nativeAvailable || !isMainThread) return;
  noted = true;
  const how =
    process.env.PAGEWISE_NATIVE === '0'
      ? ''
      : '; to build it, install python3, make and a C++ compiler and run `npm rebuild pagewise` in your project';
  process.stderr.write(`pagewise: ${nativeLoadError?.message}; using the portable JavaScript fallback (reads instead of mmap, slower)${how}\n`);
}

const require = createRequire(import.meta.url);
const loaded = loadAddon();
/** Whether the native addon loaded. Without it, nothing can be mapped: read files with positional reads instead. */
export const nativeAvailable: boolean = loaded.binding !== undefined;
/** Why the addon did not load (code ERR_PAGEWISE_NO_ADDON, the original error as `cause`), or undefined. */
export const nativeLoadError: PagewiseError | undefined = loaded.error;
/**
 * The addon, or where it did not load its JavaScript stand-in: the same byte
 * kernels (`kernelFlavor()` is 'js'), and mapping functions that throw
 * ERR_PAGEWISE_NO_ADDON.
 */
export const native: NativeBinding = loaded.binding ?? jsBinding(loaded.error);

function jsBinding(error: PagewiseError): NativeBinding {
  const { fallbackBinding } = require('./native-fallback.cjs') as typeof import('./native-fallback.cjs');
  return fallbackBinding(error, noteFallback, { noAddon: (message, cause) => new PagewiseError(ErrorCodes.NO_ADDON, message, { cause }), summarizeCsv });
}

/** The system page size in bytes. */
export const PAGE_SIZE: number = native.pageSize();

/** The addon's table `name`, checked to hold every name TypeScript knows (a stale build may not). */
function table<K extends string>(name: keyof NativeConstants, keys: readonly K[]): Readonly<Record<K, number>> {
  const given = (native.constants as unknown as Record<string, Record<string, number>> | undefined)?.[name];
  // Without the addon nothing is mapped, so no advice or scan op is ever passed.
  if (!nativeAvailable) return Object.freeze({ ...given }) as Record<K, number>;
  for (const key of keys) {
    if (typeof given?.[key] !== 'number') {
      throw new PagewiseError(ErrorCodes.NO_ADDON, `the native addon is out of date (it has no constants.${name}.${key}): rebuild it with \`npm run build:native\``);
    }
  }
  return Object.freeze({ ...given }) as Record<K, number>;
}

/** madvise values understood by `advise`. */
export const Madvise = table<MadviseName>('madvise', ['normal', 'random', 'sequential', 'willneed', 'dontneed', 'populateRead', 'hugepage']);
/** posix_fadvise values understood by `fadvise`. */
export const Fadvise = table<FadviseName>('fadvise', ['normal', 'sequential', 'random', 'willneed', 'dontneed', 'noreuse']);
/** Op numbers understood by `scan`. */
export const ScanOps = table<ScanOpName>('scanOps', ['countByte', 'countRecordsContaining', 'countWords', 'countWcUtf8', 'csvSummaryChecked', 'copyRecordsContaining']);

/**
 * For the CLI, once it listens for SIGINT and SIGTERM: a signal its handler
 * has not seen two seconds later (a job's map holding the main thread), or a
 * second one a second after it, ends the process with 128 + the signal
 * (native/signals.cc). False without the addon, or when nothing listens.
 */
export function guardSignals(): boolean {
  return native.guardSignals?.() ?? false;
}

/** The CLI's handler ran: the signals so far were seen. */
export function signalSeen(): void {
  native.signalSeen?.();
}
