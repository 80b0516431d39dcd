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
  /** Left out for a file the run writes itself (`inPlace`), whose times its own writes move. */
  mtimeNs?: bigint;
  ctimeNs?: bigint;
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
  /**
   * The run's shared cut cache for chunks [firstChunk, firstChunk + chunks]
   * (see CutCache), when records are delimited; for CSV, filled with every
   * exact cut before any chunk is read (src/csv/prepare.ts).
   */
  cuts?: BigInt64Array;
  /** The CSV cuts in `cuts` are guesses (src/csv/speculate.ts): every view `map` read is checked to end a record. */
  guessedCuts?: boolean;
  /** The file's header record (CSV with `header: true`), given to `map` as `info.header`. */
  header?: Uint8Array;
  /**
   * Under `release: 'evict'`: which chunks are done (1) (see `releaseBehind`),
   * shared by every thread of the run.
   */
  releaseState?: Int32Array;
  /** Mapped writable (`inPlace`): views write the file, each chunk is flushed (msync) before it is done. */
  writable?: boolean;
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
 * [CURSOR] is the next global chunk number of a drain (or of a pull task);
 * [WAKE] is bumped and notified whenever something a waiting worker may be
 * waiting for changed (an output offset became known, the output's consumer
 * took a chunk, the run stopped): see src/run/control.ts.
 */
export const STOP = 0;
export const CURSOR = 1;
export const WAKE = 2;
/** Int32 slots of a control block. */
export const CONTROL_SLOTS = 3;

/**
 * Where the chunks' `info.write` bytes go (src/output/). `positional`: each
 * chunk's output is written by its own thread at its final offset in the
 * temporary output file, once the sizes of all earlier chunks' outputs are
 * known (the shared table). `forward`: the bytes go to the main thread in
 * the task's reply (ordered) or over `port` (a drain), for a Node Writable.
 */
export type OutputRef =
  | {
      mode: 'positional';
      /** The temporary file (opened by path in each task, never by a shared fd number). */
      path: string;
      /** [0] chunks whose offsets are known (see src/output/table.ts). */
      state: Int32Array;
      /** Per chunk of the group: its output's size, -1 while unknown. */
      sizes: BigInt64Array;
      /** Per chunk of the group, plus one: where its output starts in the file. */
      offsets: BigInt64Array;
    }
  | {
      mode: 'forward';
      /** [1] chunks the main thread has handed to the consumer. */
      state: Int32Array;
      /** A drain's worker posts chunk g only once g < consumed + window. */
      window: number;
      /**
       * A drain's channel to the main thread (one per task): a
       * worker_threads MessagePort, typed by what the worker uses of it so
       * the declarations need no Node types.
       */
      port?: { postMessage(value: unknown, transferList?: readonly ArrayBuffer[]): void };
    };

/** Ordered mode: process one chunk, return its partial accumulator. */
export interface ChunkTask {
  kind: 'chunk';
  job: JobHandle;
  settings: ChunkSettings;
  file: FileRef;
  index: number;
  /** The chunk's number within its group (the output table's index). */
  seq: number;
  control: Int32Array;
  output?: OutputRef;
}

/**
 * Ordered mode with positional output: the task takes the next chunk number
 * from the control block's cursor when it starts, so the earliest chunk whose
 * output size is unknown is always on a running thread, whatever order the
 * pool starts tasks in (a worker waiting for earlier offsets can never wait
 * for a task still queued behind it). Replies say which chunk (`seq`).
 */
export interface PullTask {
  kind: 'pull';
  job: JobHandle;
  settings: ChunkSettings;
  files: FileRef[];
  control: Int32Array;
  output: OutputRef;
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
  output?: OutputRef;
}

/**
 * A block of output made without input (`pagewise gen`): the worker takes
 * the next block number from the control block's cursor (as a pull task
 * does), imports `module`, calls its `produce(params, index)` and writes the
 * bytes through the output, block after block in order.
 */
export interface ProduceTask {
  kind: 'produce';
  module: string;
  params: unknown;
  /** Blocks in all. */
  blocks: number;
  control: Int32Array;
  output: OutputRef;
}

/**
 * A split's first pass (CSV): summarize chunks [first, first + count) of
 * `file` for the prepare phase; the reply's `summaries` holds SUMMARY.size
 * numbers per chunk (src/csv/scan.ts).
 */
export interface ScanTask {
  kind: 'scan';
  settings: ChunkSettings;
  file: FileRef;
  first: number;
  count: number;
  control: Int32Array;
}

export type Task = ChunkTask | PullTask | DrainTask | ProduceTask | ScanTask | KeyedMapTask | KeyedMergeTask;

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

/** What a task sends back. `partial` is the accumulator, serialized (see wire.ts); `keyed`, what a keyed task made. */
export type TaskReply =
  | {
      ok: true;
      partial: Uint8Array | undefined;
      /** The buffers the job handed over (`info.transfer`), moved with the reply: `deserialize(partial, buffers)`. */
      buffers?: ArrayBuffer[];
      bytes: number;
      chunks: number;
      /** The chunk a pull task took. */
      seq?: number;
      /** Forward output of an ordered chunk (in the reply, for the main thread to pass on). */
      output?: Uint8Array;
      /** Bytes the task wrote to the output. */
      written?: number;
      /** What a keyed task made. */
      keyed?: KeyedMapOutcome | KeyedMergeOutcome;
    }
  | { ok: false; error: WireError };

/** What a ScanTask sends back. */
export type ScanReply = { ok: true; summaries: Float64Array } | { ok: false; error: WireError };

// ------------------------------------------------------------------ keyed --
// The keyed shuffle's messages (src/keyed/, docs/keyed.md).

/** A sorted run on disk (see src/keyed/runs.ts). */
export interface RunInfo {
  path: string;
  bytes: number;
  entries: number;
  /** Restart offsets and the key at each. */
  index: { offsets: number[]; keys: Uint8Array[] };
}

/** What every thread that maps a keyed job shares. */
export interface KeyedSettings {
  /** The run directory (made by the first thread that spills). */
  runDir: string;
  /** Bytes this thread's table may hold before it spills. */
  share: number;
  /** Shared: [SPILLED] 1 once any thread spilled, [SERIAL] the next file number, [CLOSED] 1 once the run directory is being removed. */
  shared: Int32Array;
  /** Use the job's table hooks (src/keyed/hooks.ts) when it has them. */
  table: boolean;
}

export const SPILLED = 0;
export const SERIAL = 1;
export const CLOSED = 2;

/** A keyed map: like a drain, into a table that spills sorted runs. */
export interface KeyedMapTask {
  kind: 'keyed-map';
  job: JobHandle;
  settings: ChunkSettings;
  files: FileRef[];
  control: Int32Array;
  progress: BigInt64Array;
  keyed: KeyedSettings;
}

/** What one thread's keyed map made: runs, and (if nothing spilled) its table, serialized. */
export interface KeyedMapOutcome {
  kind: 'map';
  runs: RunInfo[];
  table: Uint8Array | undefined;
  /** The table's own ArrayBuffers, moved beside it (not written into it): `deserialize(table, buffers)`. */
  buffers: ArrayBuffer[];
  /** Keys in `table`. */
  keys: number;
  spilledBytes: number;
  peakBytes: number;
}

/** A part of a run a merge reads: `[start, end)`, restart offsets. */
export interface RunSection {
  run: RunInfo;
  start: number;
  end: number;
}

/** How a range of the final merge reports its keys (see src/keyed/results.ts). */
export type ResultMode =
  /** `[key, value]` pairs, finished, as a run (for the API's iterable). */
  | { kind: 'pairs' }
  /** JSON lines `["key",value]`. */
  | { kind: 'json' }
  /** Numeric values ordered by value (descending) then key: `freq`'s order; `top` keeps only the best. */
  | { kind: 'by-value'; format: 'text' | 'json'; top: number | undefined };

/** A merge of run sections: into one run (a pass that lowers the fan-in), or a range's results. */
export interface KeyedMergeTask {
  kind: 'keyed-merge';
  job: JobHandle;
  params: unknown;
  control: Int32Array;
  sections: RunSection[];
  /** Keys in [lo, hi) only (undefined: open). */
  lo: Uint8Array | undefined;
  hi: Uint8Array | undefined;
  /** Where the keys go: a run at `path`, or a range's results at `path` in `mode`. */
  out: { kind: 'run'; path: string } | { kind: 'result'; path: string; mode: ResultMode };
  /** Apply the job's table hooks' conventions (values are numbers; no finish). */
  table: boolean;
}

/** One count's lines of a `by-value` range: where they are in its file. */
export interface ValueBlock {
  value: number;
  lines: number;
  offset: number;
  bytes: number;
}

/** What a merge made. */
export interface KeyedMergeOutcome {
  kind: 'merge';
  keys: number;
  /** The run made (out.kind 'run'), or the range's file (bytes of it). */
  run: RunInfo | undefined;
  bytes: number;
  /** by-value: the range's blocks, highest value first; with `top`, the best rows (key bytes, value). */
  blocks: ValueBlock[] | undefined;
  top: { key: Uint8Array; value: number }[] | undefined;
}
