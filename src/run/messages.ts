/**
 * Every message that crosses between the main thread and the workers. Types
 * only, so a worker can import it without pulling in the library; internal
 * (not exported from the package).
 */
import type { ReleasePolicy, Split } from '../types.js';

/** What a thread that reads chunks needs to know of the run's plan. */
export interface ChunkSettings {
  split: Split;
  chunkSize: number;
  maxRecordLength: number;
  /** An explicit maxRecordLength was given: check every record of a slice longer than it. */
  checkRecordLength: boolean;
  release: Exclude<ReleasePolicy, 'auto'>;
  /** Chunks to prefetch ahead of the one being processed (0: none). */
  prefetch: number;
  /** Bytes per MADV_WILLNEED call (one readahead window). */
  prefetchStep: number;
  /** The run's params, given to `map` as `info.params`. */
  params: unknown;
}

/** What a file was when the run opened it; a difference later means it changed. */
export interface FileIdentity {
  size: number;
  ino: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** One input file as the threads that read it see it. */
export interface FileRef {
  fileIndex: number;
  /** The name the run reports (`info.file`, errors). */
  path: string;
  /** Where the file is opened, when that is not `path` (see PlannedInput.openPath). */
  openPath?: string;
  /** `map`: views of the process-wide mapping `mappingId`; `pread`: positional reads of `path`. */
  source: 'map' | 'pread';
  /** The mapping's id (source `map`), else -1. */
  mappingId: number;
  /**
   * A descriptor the main thread opened on the file for the run (descriptors
   * are process-wide, so every thread can use it): positional reads, and the
   * fstat that tells whether the file is still the one planned with.
   */
  fd: number;
  size: number;
  /**
   * The run reads chunks [firstChunk, firstChunk + chunks) of the file's chunk
   * grid: all of them (firstChunk 0), or one split's (the cluster).
   */
  firstChunk: number;
  chunks: number;
  identity: FileIdentity;
  /** The run's shared cut cache for chunks [firstChunk, firstChunk + chunks] (see CutCache), when records are delimited. */
  cuts?: BigInt64Array;
  /**
   * Under `release: 'evict'`: which chunks are done (1) (see `releaseBehind`),
   * shared by every thread of the run.
   */
  releaseState?: Int32Array;
}

/** Where workers load the job from, and which version of it the run planned with. */
export interface JobHandle {
  url: string;
  /** sha-256 prefix of the module's source; a worker that loads another version fails. */
  version: string;
}

/**
 * A run's control block, an Int32Array over shared memory: [STOP] is set to 1
 * when the run has failed or was aborted (workers stop taking chunks);
 * [CURSOR] is the next global chunk number of a drain.
 */
export const STOP = 0;
export const CURSOR = 1;

/** Ordered mode: process one chunk, return its partial accumulator. */
export interface ChunkTask {
  kind: 'chunk';
  job: JobHandle;
  settings: ChunkSettings;
  file: FileRef;
  index: number;
  control: Int32Array;
}

/**
 * Commutative mode: one long task per worker that pulls chunk numbers from
 * the control block's cursor over `files` and returns one accumulator.
 */
export interface DrainTask {
  kind: 'drain';
  job: JobHandle;
  settings: ChunkSettings;
  files: FileRef[];
  control: Int32Array;
  /** [0] bytes done, [1] chunks done, summed over the run's workers. */
  progress: BigInt64Array;
}

export type Task = ChunkTask | DrainTask;

/** An error as plain data: structured clone keeps only an Error's message and stack. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  /** The error's own string, number and boolean fields (index, start, end, offset, path, ...). */
  fields: Record<string, string | number | boolean>;
  cause?: WireError;
}

/** What a task sends back. `partial` is the accumulator, serialized (see wire.ts). */
export type TaskReply =
  | { ok: true; partial: Uint8Array | undefined; bytes: number; chunks: number }
  | { ok: false; error: WireError };
