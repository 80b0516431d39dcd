/**
 * The addon's surface, typed. Argument checks happen here or in callers, not
 * in C++. Loaded once per thread (each worker runs the addon's init; the
 * mapping registry behind it is process-wide).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

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
export type ScanOpName = 'countByte' | 'countRecordsContaining' | 'countWords';

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
  /** A view over a mapping of its own: copy-on-write for a read-only file, shared for a writable one. */
  view(id: number, offset: number, length: number): Uint8Array;
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
  countWords(bytes: Uint8Array): number;
  /**
   * Runs byte kernels over [offset, offset + length) of a mapping on libuv's
   * threadpool; resolves with one count per op (`op`: a `ScanOps` value).
   * countByte: count `byte`; countRecordsContaining: count records ended by
   * `byte` that contain `needle`; countWords. With `drop`, the pool thread
   * then drops the range's page-table entries (MADV_DONTNEED: the pages stay
   * in the page cache).
   */
  scan(id: number, offset: number, length: number, ops: { op: number; byte?: number; needle?: Uint8Array }[], gate?: ScanGate, drop?: boolean): Promise<number[]>;
  /** A gate that lets at most `n` scans given it read at a time (they wait for a slot on their pool thread). */
  gate(n: number): ScanGate;
  /**
   * Queues `n` tasks on libuv's threadpool that wait (up to `timeoutMs`) for
   * each other; resolves with the most that ran at once: `n`, or the pool's
   * size when it has fewer threads.
   */
  threadpoolConcurrency(n: number, timeoutMs: number): Promise<number>;
  pageSize(): number;
  /** Which byte kernels run on this CPU: 'avx2' or 'portable'. */
  kernelFlavor(): 'avx2' | 'portable';
  constants: NativeConstants;
  testing?: NativeTesting;
}

/** An opaque handle from `gate(n)`. */
export type ScanGate = { readonly __brand: 'ScanGate' };

function findAddon(): string {
  // src/native.ts and dist/src/native.js both sit below the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    for (const kind of ['Release', 'Debug']) {
      const candidate = join(dir, 'build', kind, 'pagewise.node');
      if (existsSync(candidate)) return candidate;
    }
    dir = dirname(dir);
  }
  const error = new Error(
    'the pagewise native addon is not built: run `npm run build:native` (needs python3, make and a C++ compiler)',
  ) as Error & { code: string };
  error.code = 'ERR_PAGEWISE_NATIVE_UNAVAILABLE';
  throw error;
}

const require = createRequire(import.meta.url);
/** The loaded addon. */
export const native: NativeBinding = require(findAddon()) as NativeBinding;
/** The system page size in bytes. */
export const PAGE_SIZE: number = native.pageSize();

/** The addon's table `name`, checked to hold every name TypeScript knows (a stale build may not). */
function table<K extends string>(name: keyof NativeConstants, keys: readonly K[]): Readonly<Record<K, number>> {
  const given = (native.constants as unknown as Record<string, Record<string, number>> | undefined)?.[name];
  for (const key of keys) {
    if (typeof given?.[key] !== 'number') {
      const error = new Error(`the pagewise native addon is out of date (no constants.${name}.${key}): run \`npm run build:native\``) as Error & { code: string };
      error.code = 'ERR_PAGEWISE_NATIVE_UNAVAILABLE';
      throw error;
    }
  }
  return Object.freeze({ ...given }) as Record<K, number>;
}

/** madvise values understood by `advise`. */
export const Madvise = table<MadviseName>('madvise', ['normal', 'random', 'sequential', 'willneed', 'dontneed', 'populateRead', 'hugepage']);
/** posix_fadvise values understood by `fadvise`. */
export const Fadvise = table<FadviseName>('fadvise', ['normal', 'sequential', 'random', 'willneed', 'dontneed', 'noreuse']);
/** Op numbers understood by `scan`. */
export const ScanOps = table<ScanOpName>('scanOps', ['countByte', 'countRecordsContaining', 'countWords']);
