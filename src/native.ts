/**
 * The addon's surface, typed. Argument checks happen here or in callers, not
 * in C++. Loaded once per thread (each worker runs the addon's init; the
 * mapping registry behind it is process-wide).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export interface MappingInfo {
  id: number;
  size: number;
  dev: number;
  ino: number;
  opens: number;
}

export interface MappingState {
  size: number;
  currentSize: number;
  faults: number;
  views: number;
  opens: number;
}

export interface NativeBinding {
  open(path: string): MappingInfo;
  close(id: number): boolean;
  view(id: number, offset: number, length: number): Uint8Array;
  detach(view: Uint8Array): void;
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
   * threadpool; resolves with one count per op. op 0: count `byte`; 1: count
   * records ended by `byte` that contain `needle`; 2: count words. With
   * `drop`, the pool thread then drops the range's page-table entries
   * (MADV_DONTNEED: the pages stay in the page cache).
   */
  scan(
    id: number,
    offset: number,
    length: number,
    ops: { op: 0 | 1 | 2; byte?: number; needle?: Uint8Array }[],
    gate?: ScanGate,
    drop?: boolean,
  ): Promise<number[]>;
  /** A gate that lets at most `n` scans given it read at a time (they wait for a slot on their pool thread). */
  gate(n: number): ScanGate;
  /** The most scans that read through `gate` at once so far. */
  gateMostActive(gate: ScanGate): number;
  /**
   * Queues `n` tasks on libuv's threadpool that wait (up to `timeoutMs`) for
   * each other; resolves with the most that ran at once: `n`, or the pool's
   * size when it has fewer threads.
   */
  threadpoolConcurrency(n: number, timeoutMs: number): Promise<number>;
  pageSize(): number;
  /** Which byte kernels run on this CPU: 'avx2' or 'portable'. */
  kernelFlavor(): 'avx2' | 'portable';
}

/** An opaque handle from `gate(n)`. */
export type ScanGate = { readonly __brand: 'ScanGate' };

/** madvise values understood by `advise`. */
export const Madvise = { normal: 0, random: 1, sequential: 2, willneed: 3, dontneed: 4, populateRead: 5, hugepage: 6 } as const;
/** posix_fadvise values understood by `fadvise`. */
export const Fadvise = { normal: 0, sequential: 1, random: 2, willneed: 3, dontneed: 4, noreuse: 5 } as const;

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
/** Whether the native addon loaded: mappings (and native kernels on libuv's threadpool) are available. */
export const nativeAvailable: boolean = true;
/** The system page size in bytes. */
export const PAGE_SIZE: number = native.pageSize();
