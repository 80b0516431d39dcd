/**
 * The job contract users write against, and the public shapes around it. Types
 * only. The messages that cross threads are internal: src/run/messages.ts.
 */

/**
 * How a file is cut into records. Every record lies in exactly one chunk.
 * - `'lines'`: records end with `\n` (the last may lack it); `\r` stays in the record.
 * - `{ delimiter }`: records end with that byte (0-255).
 * - `{ recordSize }`: fixed-size binary records; a trailing partial record is an error.
 * - `'none'`: raw bytes; chunks are cut at exact page multiples.
 * - `'csv'` or `{ csv: { quote, delimiter, header } }`: RFC 4180 records. A
 *   record ends at `\n` (or `\r\n`) outside quotes; `""` inside quotes is one
 *   quote. Strict: a misplaced quote, or a quote still open at the end of the
 *   file, is ERR_PAGEWISE_BAD_RECORD. Exact for every chunk size and thread
 *   count (a first pass over the file finds each chunk's quote parity).
 */
export type Split = 'lines' | 'none' | 'csv' | { delimiter: number } | { recordSize: number } | { csv: CsvSplitOptions };

/** Options of the CSV split. */
export interface CsvSplitOptions {
  /** The quote character, one ASCII character; default `"`. */
  quote?: string;
  /** The field delimiter, one ASCII character; default `,`. Only the field walker and the strict checks use it. */
  delimiter?: string;
  /** The file's first record is a header: not given to `map`, but to every call as `info.header`. Default false. */
  header?: boolean;
}

/** What `map` learns about the slice it is given. */
export interface ChunkInfo<P = unknown> {
  /** Chunk number within its file, in file order, from 0. */
  index: number;
  /** Byte offset of the slice's first byte in the file. */
  start: number;
  /** Byte offset one past the slice's last byte. */
  end: number;
  /** Which input (position in the list given to `mapReduce`). */
  fileIndex: number;
  /** The input's path. */
  file: string;
  /** The `params` passed to `mapReduce` (structured-cloned into each worker). */
  params: P;
  /**
   * Appends `data` (bytes, or a string as UTF-8) to the run's output. The
   * output is every chunk's writes in file order, each chunk's in call
   * order: the same bytes whatever the threads, chunk size or executor. The
   * bytes are copied at once, so a view of the input may be written. Throws
   * ERR_PAGEWISE_NO_OUTPUT when the run has no output (`options.output`,
   * `runJobStream`, `--output`).
   */
  write(data: Uint8Array | string): void;
  /**
   * Hands `data` (an ArrayBuffer, or a view of all of one) over with the accumulator: when the
   * accumulator leaves the worker (after this chunk, or for a commutative
   * job after the worker's last chunk), the buffer is moved to the main
   * thread instead of copied, and is empty (detached) here from then on.
   * For large buffers the job made itself and will not touch again, such as
   * the selected lines of a chunk. On the main thread (streams) it does
   * nothing. Throws ERR_PAGEWISE_NOT_TRANSFERABLE for a view that does not
   * cover its whole buffer (`slice()` it), a SharedArrayBuffer, and the
   * buffers the engine lends (the input, `header`).
   */
  transfer(data: ArrayBuffer | ArrayBufferView): void;
  /** The run's split, with its options filled in (`csvFields(bytes, info)` reads the CSV ones). */
  split?: Split;
  /** With `split: { csv: { header: true } }`: the file's first record, terminator included. */
  header?: Uint8Array;
}

/**
 * A map-reduce job. Write it as the default export of an ES module (`.mjs`,
 * `.js` or `.ts`) and pass the module's path to `mapReduce` or `pagewise run`.
 *
 * `map` may be called several times on one accumulator, with slices in file
 * order; `merge(a, b)` is given `a` covering bytes before `b` and must be
 * associative; it need not be commutative unless `commutative: true` is set.
 */
export interface Job<A = unknown, R = A, P = unknown> {
  /** Record kind; default `'lines'`. */
  split?: Split;
  /**
   * Declare that `merge` is commutative (and associative). The engine then
   * folds many chunks into one accumulator per worker and merges once per
   * worker, in no particular order.
   */
  commutative?: boolean;
  /** A fresh accumulator. Receives the run's `params`. */
  init(params?: P): A;
  /** Fold one slice of whole records into the accumulator and return it. */
  map(acc: A, bytes: Uint8Array, info: ChunkInfo<P>): A;
  /** Combine two accumulators; `a` covers bytes before `b`. */
  merge(a: A, b: A): A;
  /** Turn the final accumulator into the result, once, on the main thread. */
  finish?(acc: A, params?: P): R;
  /**
   * Optional fast path: say that, for these `params`, `map` only counts what
   * the addon's byte kernels count. The engine then runs those kernels over
   * each chunk on native threads (libuv's threadpool) and never starts a
   * JavaScript worker, which saves their start-up (tens of ms) and the JS
   * call per chunk. Return `undefined` to use `map` in workers. `map` must
   * still give the same result: it is used for streams, with
   * `nativeKernels: false`, and when the fast path cannot run.
   */
  kernel?(params?: P): KernelPlan<A, P> | undefined;
}

/** A key of a keyed job: a string (compared as its UTF-8 bytes) or bytes. */
export type Key = string | Uint8Array;

/**
 * What a keyed job's `map` calls for every pair it produces. The key's bytes
 * are copied at once, so a view of the input may be a key; a value is kept
 * as it is (copy out of the input what a value holds).
 */
export type Emit<K extends Key = Key, V = unknown> = (key: K, value: V) => void;

/**
 * A keyed job (a group-by): `map` emits any number of `(key, value)` pairs,
 * `combine` folds two values of one key into one, and the result is every
 * key with its combined value in ascending byte order of the key (UTF-8 for
 * strings). The engine keeps a table per worker and spills sorted runs to
 * `tempDir` when the tables reach their share of the memory budget, so the
 * number of keys is bounded by the disk, not by memory (docs/keyed.md).
 */
export interface KeyedJob<K extends Key = Key, V = unknown, R = V, P = unknown> {
  /** Record kind; default `'lines'`. */
  split?: Split;
  /** Marks the job as keyed; the job then has no `init`, `merge` or `kernel`. */
  keyed: true;
  /** Emits the pairs of one slice of whole records (the return value is ignored). */
  map(emit: Emit<K, V>, bytes: Uint8Array, info: ChunkInfo<P>): void;
  /** Two values of one key -> one. Must be associative and commutative: values meet in any order. */
  combine(a: V, b: V): V;
  /** Optional: the value reported for `key`, once per key, after every value was combined. */
  finish?(key: K, value: V): R;
}

/**
 * A keyed job's result: every `[key, value]` pair, in ascending byte order of
 * the key, read as the loop asks for them (from memory, or from the run's
 * temporary directory when the run spilled). Keys emitted as strings come
 * back as strings, byte keys as `Uint8Array`. Leaving the loop early, or
 * `close()`, removes the temporary files; a run's result can be read once.
 */
export interface KeyedResult<K extends Key = Key, R = unknown> extends AsyncIterable<[K, R]> {
  /** Distinct keys. */
  readonly size: number;
  /** Discards what is not read yet and removes the run's temporary files. Idempotent. */
  close(): Promise<void>;
}

/** Any job: a map-reduce job or a keyed job. */
export type AnyJob = Job<any, any, any> | KeyedJob<any, any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The result type of a job type (what `finish` returns; a `KeyedResult` for a
 * keyed job), or `J` itself when it is not a job type.
 */
export type ResultOf<J> = J extends KeyedJob<infer K, any, infer R, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  ? KeyedResult<K, R>
  : J extends Job<any, infer R, any> // eslint-disable-line @typescript-eslint/no-explicit-any
    ? R
    : J;

/** The params type of a job type. */
export type ParamsOf<J> = J extends KeyedJob<any, any, any, infer P> // eslint-disable-line @typescript-eslint/no-explicit-any
  ? P
  : J extends Job<any, any, infer P> // eslint-disable-line @typescript-eslint/no-explicit-any
    ? P
    : unknown;

declare const jobType: unique symbol;

/**
 * The path of a job module that carries the job's type, so that `runJob`
 * infers the result and params types from it (`builtinJobs.stats` is one;
 * make your own with `jobRef<typeof job>(url)`). At run time it is a string.
 */
export type JobPath<J = unknown> = string & { readonly [jobType]?: J };

/** A file URL (a WHATWG `URL` is one); structural, so these declarations need no DOM or Node types. */
export interface FileUrl {
  readonly href: string;
  readonly protocol: string;
}

/**
 * What pagewise needs of a Node Writable given as `options.output` (any
 * `stream.Writable` is one), spelled out so the declarations need no Node types.
 */
export interface WritableLike {
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean;
  end(callback?: () => void): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
  once(event: string, listener: (...args: any[]) => void): unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
  off(event: string, listener: (...args: any[]) => void): unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly destroyed?: boolean;
  readonly writableEnded?: boolean;
}

/** A signal that cancels a run (an `AbortSignal` is one); structural for the same reason. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** One count a native kernel makes over a chunk (see `Job.kernel`). */
export type KernelOp =
  /** Bytes equal to `byte` (0-255). */
  | { op: 'countByte'; byte: number }
  /** Records ended by `terminator` (the last may lack it) that contain `needle` (which must not contain `terminator`). */
  | { op: 'countRecordsContaining'; needle: Uint8Array; terminator: number }
  /** Maximal runs of bytes other than space, \t, \n, \v, \f, \r (the POSIX byte words). */
  | { op: 'countWords' }
  /** Three counts in one pass, as GNU wc 9.1 counts them in C.UTF-8: lines, words, characters (docs/decisions.md, wc). */
  | { op: 'countWcUtf8' }
  /**
   * The records `countRecordsContaining` counts, counted and copied: `fold`
   * gets them as `bytes`, in file order, each ended by `terminator` (a last
   * record without one gets it). At most one per plan.
   */
  | { op: 'copyRecordsContaining'; needle: Uint8Array; terminator: number };

/** What `Job.kernel` returns: the counts to make, and how they fold into the accumulator. */
export interface KernelPlan<A = unknown, P = unknown> {
  ops: KernelOp[];
  /**
   * Called on the main thread once per chunk, in file order, with the ops'
   * counts in order (three for countWcUtf8, one for each other), and the
   * records a copyRecordsContaining op copied (`bytes`: undefined when it
   * copied none, or when the plan has no such op). A plan that copies has
   * its chunks merged one by one (`onMerged` after each), and `info.write`
   * goes to the run's output.
   */
  fold(acc: A, counts: number[], info: ChunkInfo<P>, bytes: Uint8Array | undefined): A;
}

/** Progress reported to `options.onProgress` about every 100 ms and at the end. */
export interface Progress {
  bytesDone: number;
  bytesTotal: number;
  chunksDone: number;
  chunksTotal: number;
  filesDone: number;
  filesTotal: number;
  elapsedSeconds: number;
  bytesPerSecond: number;
}

/** Kernel advice for the whole mapping while a run reads it. */
export type AdviceMode = 'sequential' | 'normal' | 'random' | 'hugepage';
/** What happens to a chunk's pages after it is processed. */
export type ReleasePolicy = 'auto' | 'keep' | 'unmap' | 'evict';

/** A cluster run's figures (`stats.cluster`). */
export interface ClusterReport {
  /** The Redis URL, masked. */
  url: string;
  queue: string;
  splitSize: number;
  splits: number;
  /** Results of a split that arrived again (at-least-once delivery) and were not counted. */
  duplicates: number;
  /** Splits the queue took back from a worker that stopped renewing its lock (died or stalled) and gave to another. */
  stalled: number;
  /** CSV splits run again, cut from a first pass: the first cut they guessed was not where the split before them ended. */
  redone: number;
  /** Seconds a worker spent on a split (its local run), mean and slowest. */
  splitSeconds: { mean: number; max: number };
  /** Seconds from enqueuing a split to merging it, mean (queue wait, transfer, and run). */
  splitLatencySeconds: number;
  /** Every worker that delivered a split. */
  workers: { name: string; splits: number; bytes: number; seconds: number; threads: number; executor: string; chunkSize: number }[];
}

/** Keyed figures of a run (`stats.keyed`). */
export interface KeyedStats {
  /** Distinct keys in the result. */
  keys: number;
  /** Whether anything was written to the temporary directory. */
  spilled: boolean;
  /** Bytes of sorted runs written: by the map side's spills and by merge passes. */
  spilledBytes: number;
  /** Runs the map side spilled. */
  runs: number;
  /** Merge passes that lowered the fan-in before the final merge. */
  mergePasses: number;
  /** Key ranges the final merge ran as tasks of their own (1 when nothing spilled: one merge in memory). */
  partitions: number;
  /** Most bytes one thread's table held (slots, pool, values, the batch of a spill). */
  peakTableBytes: number;
  /** The share of the memory budget each thread's table may hold before it spills. */
  tableShare: number;
  /** Where spills go (`tempDir`). */
  tempDir: string;
}
