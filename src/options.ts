/**
 * Every option pagewise accepts is checked here, up front, in one place, so a
 * bad value fails before any file is opened or thread started, with an error
 * naming the option (ERR_PAGEWISE_INVALID_OPTION).
 */
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { constants as bufferConstants } from 'node:buffer';
import { serialize } from 'node:v8';
import { ErrorCodes, InvalidOptionError, PagewiseError } from './errors.js';
import type { AbortSignalLike, AdviceMode, Progress, ReleasePolicy, Split, WritableLike } from './types.js';

/** Whether `value` is a Node Writable (or shaped like one: write, end, on, once, off). */
export function isWritable(value: unknown): value is WritableLike {
  const w = value as Record<string, unknown> | null;
  return (
    w !== null &&
    typeof w === 'object' &&
    typeof w.write === 'function' &&
    typeof w.end === 'function' &&
    typeof w.on === 'function' &&
    typeof w.once === 'function' &&
    typeof w.off === 'function'
  );
}
import type { ResultMode } from './run/messages.js';

/** Options of `mapReduce` and `runJob`; `P` is the type of the job's `params`. */
export interface MapReduceOptions<P = unknown> {
  /** Worker threads; default `os.availableParallelism()`. */
  threads?: number;
  /** Bytes per chunk: a page multiple, or `'64KiB'`, `'8MiB'`, `'1GiB'`, or `'auto'` (default). */
  chunkSize?: number | string;
  /** Longest record allowed; default the largest view the runtime allows. */
  maxRecordLength?: number;
  /** Most files mapped at once when several are given; default 16. */
  maxOpenFiles?: number;
  /** Passed to the job's `init(params)` and `map`'s `info.params`. Must be structured-cloneable. */
  params?: P;
  /** Cancels the run (an `AbortSignal`): it rejects with ERR_PAGEWISE_ABORTED and workers are stopped. */
  signal?: AbortSignalLike;
  /** Called about every 100 ms and once at the end. */
  onProgress?: (progress: Progress) => void;
  /**
   * Called on the main thread with the running accumulator each time more of
   * the input has been merged into it, in file order for ordered jobs. It may
   * drain the accumulator (write out and clear what it holds), so jobs that
   * emit records (such as grep) stream their output in bounded memory.
   */
  onMerged?: (acc: unknown) => void;
  /** What happens to a chunk's pages after it is processed; default `'auto'`. */
  release?: ReleasePolicy;
  /**
   * Chunks to prefetch ahead of the one in hand (MADV_WILLNEED); default:
   * one per worker thread (the next chunks are the other threads' already),
   * 1 on the kernel path.
   */
  prefetch?: number;
  /** Access advice for the mapping; default `'sequential'`. */
  advice?: AdviceMode;
  /**
   * `'auto'` (default): map regular files whose size is known, read anything
   * else sequentially (stdin `-`, FIFOs, procfs). `'mmap'`: map or fail.
   * `'pread'`: positional reads of regular files in the worker threads, in
   * parallel, without mapping (network filesystems where a server-side
   * truncation should be an error, not zeros). `'read'`: plain sequential
   * reads on the calling thread (the reference path).
   */
  mode?: 'auto' | 'mmap' | 'pread' | 'read';
  /** Read at most this many bytes from a stream (needed for character devices such as /dev/zero). */
  maxBytes?: number;
  /** Memory budget for `release: 'auto'`, in bytes; default min(physical memory, cgroup limit). */
  memoryBudget?: number;
  /**
   * Run a job's native kernel (`job.kernel`) on libuv's threadpool instead of
   * starting JS workers, when the job has one; default true. `false` always
   * runs `map` in workers.
   */
  nativeKernels?: boolean;
  /** Passed to Piscina: limits for each worker's heap. */
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number; stackSizeMb?: number };
  /**
   * Keyed jobs: where their tables spill when they outgrow the memory budget
   * (a directory of the run, `pagewise-keyed-<pid>-<random>`, removed when
   * the run ends); default `os.tmpdir()`.
   */
  tempDir?: string;
  /**
   * Where the run's output goes: what `map` writes (`info.write`), or a
   * keyed job's result as JSON lines `["key",value]` in key order. A path:
   * written atomically (a temporary in the same directory, renamed over the
   * path once complete; a FIFO, `-` and devices are written in order
   * instead). A Node Writable: the bytes in order, with its backpressure (it
   * is ended when the run succeeds, unless it is process.stdout or
   * process.stderr).
   */
  output?: string | WritableLike;
  /**
   * Map the inputs read-write and give `map` writable views: the job updates
   * records in place. Each chunk's pages are flushed (msync) before it counts
   * as done. Not atomic: a failure or a crash leaves some chunks updated.
   * Every input must be mapped (ERR_PAGEWISE_NOT_MAPPED otherwise).
   */
  inPlace?: boolean;
  /**
   * Run on a cluster of `pagewise worker` processes over Redis (BullMQ; see
   * docs/cluster.md): the files are cut into splits, the workers read them,
   * and this process merges their partials in file order and calls `finish`.
   * Needs the optional peer dependencies `bullmq` and `ioredis`.
   */
  cluster?: ClusterOptions;
}

/** The `cluster` option of a run (the coordinator's side). */
export interface ClusterOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://` (TLS). The password is never printed. */
  url: string;
  /** The BullMQ queue the workers listen on; default `'pagewise'`. */
  queue?: string;
  /** Bytes per split, a multiple of the chunk size (`'256MiB'`, the default). */
  splitSize?: number | string;
  /**
   * Give up (ERR_PAGEWISE_CLUSTER_TIMEOUT) when no split of the run has made
   * progress (started, reported, finished) for this long: milliseconds, or a
   * string such as `'30s'`, `'500ms'`, `'2m'` (a bare number string is
   * seconds). Default: wait for workers as long as it takes.
   */
  timeout?: number | string;
  /** Splits enqueued and not yet merged, at most; default 64. */
  splitsInFlight?: number;
  /** Told things worth knowing while waiting (no worker connected); default `process.emitWarning`. */
  onNotice?: (message: string) => void;
}

/** `cluster` after checking. `url` keeps the password (to connect); `maskedUrl` is for every message. */
export interface ResolvedCluster {
  url: string;
  maskedUrl: string;
  queue: string;
  splitSize: number;
  timeout: number | undefined;
  splitsInFlight: number;
  onNotice: (message: string) => void;
}

/** Options of `clusterWorker()` (`pagewise worker`). */
export interface ClusterWorkerOptions {
  /** The Redis URL, as for a run's `cluster.url`. */
  url: string;
  /** The queue to take splits from; default `'pagewise'`. */
  queue?: string;
  /** Threads that read each split (this process's pool); default `os.availableParallelism()`. */
  threads?: number;
  /** How this worker is named in errors and `--stats`; default `HOSTNAME:PID`. */
  name?: string;
  /**
   * How long a split stays locked to this worker without a renewal
   * (renewed every half of it); a worker that dies has its split handed to
   * another after about this long (plus the stall check interval, the same).
   * Milliseconds or a duration string; default `'30s'`.
   */
  lockDuration?: number | string;
  /** Closes the worker (its current split is handed back to the queue). */
  signal?: AbortSignalLike;
  /** Told what the worker does (connected, split done, handed back, Redis errors), for logs. */
  onEvent?: (event: { type: string; message: string }) => void;
}

export interface ResolvedWorkerOptions {
  url: string;
  maskedUrl: string;
  queue: string;
  threads: number;
  name: string;
  lockDuration: number;
  signal?: AbortSignalLike;
  onEvent: (event: { type: string; message: string }) => void;
}

/** Options after checking, with defaults filled in. */
export interface ResolvedOptions {
  threads: number;
  chunkSize: number | 'auto';
  maxRecordLength: number;
  explicitMaxRecordLength: boolean;
  maxOpenFiles: number;
  params: unknown;
  signal?: AbortSignalLike;
  onProgress?: (progress: Progress) => void;
  onMerged?: (acc: unknown) => void;
  release: ReleasePolicy;
  /** Undefined: the planner's choice (see MapReduceOptions.prefetch). */
  prefetch: number | undefined;
  advice: AdviceMode;
  mode: 'auto' | 'mmap' | 'pread' | 'read';
  maxBytes?: number;
  memoryBudget?: number;
  nativeKernels: boolean;
  resourceLimits?: MapReduceOptions['resourceLimits'];
  tempDir: string;
  output?: string | WritableLike;
  inPlace: boolean;
  cluster?: ResolvedCluster;
  internal: InternalOptions;
}

/**
 * The key of options that pagewise's own parts pass (the cluster worker, the
 * equivalence tests) and users do not: a symbol, so it is not an option key.
 */
export const INTERNAL: unique symbol = Symbol.for('pagewise.internal') as never;

export interface InternalOptions {
  /** Run the chunked inputs with this executor (a commutative job may run ordered; not the reverse). */
  executor?: 'kernel' | 'ordered' | 'commutative';
  /** Cut records this way instead of the job's own `split` (the built-in index job serves every record kind). */
  split?: Split;
  /**
   * Read only the chunks whose nominal start lies in [start, end) of the one
   * input: a cluster split. With `align` (the split size), an `auto` chunk
   * size is lowered to a divisor of it, so the split's ends lie on the grid.
   */
  span?: { start: number; end: number; align?: number };
  /**
   * Report the one input as the coordinator names it: its index in the
   * coordinator's list and its path as given there (`info.fileIndex`,
   * `info.file`, errors), while it is opened by the path given to the run.
   */
  as?: { fileIndex: number; path: string };
  /** Return `{ merged, acc }`, the merged accumulator without calling `finish` (a cluster worker's partial). */
  partial?: boolean;
  /** Largest serialized split result that travels in Redis; larger ones go through a file (tests set 0). */
  clusterInlineLimit?: number;
  /** Keyed runs: `false` maps through the job's `emit` even where it has table hooks (tests compare the two). */
  keyedTable?: boolean;
  /** CSV runs: `'first pass'` never guesses the cuts (the bench and the tests compare the two). */
  csvCuts?: 'first pass';
  /** Keyed runs: how the result is made (freq's by-value order); default pairs, or JSON lines with `output`. */
  keyedResult?: ResultMode;
}

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kb: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4,
};

/**
 * Parses a byte size: a number, or a string such as `65536`, `64KiB`, `8M`,
 * `1GiB` (units are binary: K = 1024). Returns undefined when it is not one.
 */
export function parseSize(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!m) return undefined;
  const unit = UNITS[m[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(m[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * Parses a duration into milliseconds: a number is milliseconds; a string is
 * a number with a unit (`500ms`, `30s`, `2m`, `1h`), a bare number string
 * being seconds. Undefined when it is not one.
 */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's').toLowerCase() as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * A Redis URL with its password replaced by `***`, for every message, error
 * and statistic (the password itself is only ever given to the client).
 * Something that does not parse as a URL is masked after its scheme.
 */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.href.replace(/\/$/, '');
  } catch {
    const at = url.lastIndexOf('@');
    return at < 0 ? url : `${url.slice(0, url.indexOf('//') + 2)}***${url.slice(at)}`;
  }
}

const URL_REQUIREMENT = 'a Redis URL: redis://[[user]:password@]host[:port][/db] or rediss:// for TLS';

/** Checks a Redis URL; returns it and its masked form. */
export function checkRedisUrl(value: unknown, option: string): { url: string; maskedUrl: string } {
  if (typeof value !== 'string' || value === '') throw new InvalidOptionError(option, URL_REQUIREMENT, value);
  const masked = maskUrl(value);
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidOptionError(option, URL_REQUIREMENT, masked);
  }
  const db = u.pathname === '' || u.pathname === '/' ? 0 : /^\/\d+$/.test(u.pathname) ? Number(u.pathname.slice(1)) : NaN;
  if ((u.protocol !== 'redis:' && u.protocol !== 'rediss:') || u.hostname === '' || !Number.isSafeInteger(db) || u.search !== '' || u.hash !== '') {
    throw new InvalidOptionError(option, URL_REQUIREMENT, masked);
  }
  return { url: value, maskedUrl: masked };
}

/** Checks a BullMQ queue name (BullMQ keeps `:` for its keys). */
export function checkQueueName(value: unknown, option: string): string {
  if (value === undefined) return 'pagewise';
  if (typeof value !== 'string' || !/^[A-Za-z0-9._-]{1,100}$/.test(value)) {
    throw new InvalidOptionError(option, 'a queue name of 1 to 100 letters, digits, ".", "_" or "-"', value);
  }
  return value;
}

/** Checks a worker's lock duration (the CLI checks its flag here before it connects). */
export function checkLockDuration(value: unknown, option: string): number {
  return checkDuration(value, option, 200);
}

function checkDuration(value: unknown, option: string, min: number): number {
  const ms = typeof value === 'number' || typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || ms < min) {
    throw new InvalidOptionError(option, `a duration of at least ${min} ms: milliseconds, or like '500ms', '30s', '2m' (a bare number string is seconds)`, value);
  }
  return ms;
}

/** The default split size: 256 MiB. */
export const DEFAULT_SPLIT_SIZE = 256 << 20;

const CLUSTER_KEYS: ReadonlySet<string> = new Set(['url', 'queue', 'splitSize', 'timeout', 'splitsInFlight', 'onNotice']);

function checkCluster(value: unknown, pageSize: number, chunkSize: number | 'auto'): ResolvedCluster | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') throw new InvalidOptionError('options.cluster', 'an object such as { url: "redis://host:6379" }', value);
  const c = value as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!CLUSTER_KEYS.has(key)) {
      throw new PagewiseError(ErrorCodes.INVALID_OPTION, `options.cluster.${key} is not an option (cluster takes ${[...CLUSTER_KEYS].join(', ')})`, { option: `options.cluster.${key}` });
    }
  }
  const { url, maskedUrl } = checkRedisUrl(c.url, 'options.cluster.url');
  const queue = checkQueueName(c.queue, 'options.cluster.queue');
  let splitSize = DEFAULT_SPLIT_SIZE;
  if (c.splitSize !== undefined) {
    const bytes = typeof c.splitSize === 'number' || typeof c.splitSize === 'string' ? parseSize(c.splitSize) : undefined;
    if (bytes === undefined || bytes <= 0 || bytes % pageSize !== 0) {
      throw new InvalidOptionError('options.cluster.splitSize', `a positive multiple of the page size (${pageSize} bytes), as bytes or like '64MiB', '256MiB', '1GiB'`, c.splitSize);
    }
    splitSize = bytes;
  }
  // A split is a span of the chunk grid: its ends must be chunk boundaries.
  if (chunkSize !== 'auto' && splitSize % chunkSize !== 0) {
    throw new PagewiseError(
      ErrorCodes.INVALID_OPTION,
      `options.chunkSize (${formatBytes(chunkSize)}) must divide options.cluster.splitSize (${formatBytes(splitSize)}): a split is a span of the chunk grid ` +
        `(leave chunkSize 'auto' and each worker picks a divisor)`,
      { option: 'options.chunkSize' },
    );
  }
  const timeout = c.timeout === undefined ? undefined : checkDuration(c.timeout, 'options.cluster.timeout', 1);
  const splitsInFlight = c.splitsInFlight === undefined ? 64 : checkInt(c.splitsInFlight, 'options.cluster.splitsInFlight', 1, 1 << 20);
  if (c.onNotice !== undefined && typeof c.onNotice !== 'function') throw new InvalidOptionError('options.cluster.onNotice', 'a function', c.onNotice);
  const onNotice = (c.onNotice as ((m: string) => void) | undefined) ?? ((m: string) => process.emitWarning(m, { code: 'PAGEWISE_CLUSTER' }));
  return { url, maskedUrl, queue, splitSize, timeout, splitsInFlight, onNotice };
}

const WORKER_KEYS: ReadonlySet<string> = new Set(['url', 'queue', 'threads', 'name', 'lockDuration', 'signal', 'onEvent']);

/**
 * Checks the options of `clusterWorker()`.
 * @throws ERR_PAGEWISE_INVALID_OPTION naming the option.
 */
export function resolveWorkerOptions(options: ClusterWorkerOptions): ResolvedWorkerOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object such as { url: "redis://host:6379" }', options);
  for (const key of Object.keys(options)) {
    if (!WORKER_KEYS.has(key)) {
      throw new PagewiseError(ErrorCodes.INVALID_OPTION, `options.${key} is not an option of clusterWorker (it takes ${[...WORKER_KEYS].join(', ')})`, { option: `options.${key}` });
    }
  }
  const { url, maskedUrl } = checkRedisUrl(options.url, 'options.url');
  const queue = checkQueueName(options.queue, 'options.queue');
  const threads = options.threads === undefined ? availableParallelism() : checkInt(options.threads, 'options.threads', 1, 1024);
  if (options.name !== undefined && (typeof options.name !== 'string' || !/^[\x21-\x7e]{1,100}$/.test(options.name))) {
    throw new InvalidOptionError('options.name', '1 to 100 printable ASCII characters without spaces', options.name);
  }
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const lockDuration = options.lockDuration === undefined ? 30_000 : checkLockDuration(options.lockDuration, 'options.lockDuration');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new InvalidOptionError('options.signal', 'an AbortSignal', options.signal);
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') throw new InvalidOptionError('options.onEvent', 'a function', options.onEvent);
  return { url, maskedUrl, queue, threads, name, lockDuration, signal: options.signal, onEvent: options.onEvent ?? (() => {}) };
}

/** Formats bytes for people: `64 KiB`, `1.5 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

/** The largest view (and so the largest record) this runtime can hand out. */
export const MAX_VIEW_LENGTH: number = Math.min(bufferConstants.MAX_LENGTH, Number.MAX_SAFE_INTEGER);

/** Checks a chunk size and returns it in bytes (or 'auto'). */
export function checkChunkSize(value: unknown, pageSize: number, option = 'options.chunkSize'): number | 'auto' {
  if (value === undefined || value === 'auto') return 'auto';
  const requirement = `'auto' or a positive multiple of the page size (${pageSize} bytes), as bytes or like '64KiB', '8MiB', '1GiB'`;
  if (typeof value !== 'number' && typeof value !== 'string') throw new InvalidOptionError(option, requirement, value);
  const bytes = parseSize(value);
  if (bytes === undefined || bytes <= 0 || bytes % pageSize !== 0) throw new InvalidOptionError(option, requirement, value);
  if (bytes > 1024 ** 3) throw new InvalidOptionError(option, 'at most 1GiB', value);
  return bytes;
}

function checkInt(value: unknown, option: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new InvalidOptionError(option, `an integer ${range}`, value);
  }
  return value;
}

function checkOneOf<T extends string>(value: unknown, option: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidOptionError(option, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

/** Every key `MapReduceOptions` has: anything else is a typo (`thread`, `chunksize`) and is refused. */
const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'threads', 'chunkSize', 'maxRecordLength', 'maxOpenFiles', 'params', 'signal', 'onProgress', 'onMerged',
  'release', 'prefetch', 'advice', 'mode', 'maxBytes', 'memoryBudget', 'nativeKernels', 'resourceLimits',
  'output', 'inPlace', 'cluster', 'tempDir',
]);

/** Closest known option to a misspelt one, for the error message. */
function closestOption(key: string): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const known of KNOWN_OPTIONS) {
    const d = editDistance(lower, known.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = known;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/**
 * Checks every option of a run and fills in defaults.
 * @throws ERR_PAGEWISE_INVALID_OPTION (a TypeError-like PagewiseError naming the option).
 */
export function resolveOptions(options: MapReduceOptions<unknown> | undefined, pageSize: number): ResolvedOptions {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object') throw new InvalidOptionError('options', 'an object', options);
  const o = options;
  for (const key of Object.keys(o)) {
    if (KNOWN_OPTIONS.has(key)) continue;
    const hint = closestOption(key);
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, `options.${key} is not an option${hint ? ` (did you mean '${hint}'?)` : ''}`, {
      option: `options.${key}`,
    });
  }
  if (o.params !== undefined) {
    try {
      serialize(o.params);
    } catch (error) {
      throw new InvalidOptionError('options.params', `structured-cloneable, as it is copied into every worker (${(error as Error).message})`);
    }
  }
  const threads = o.threads === undefined ? availableParallelism() : checkInt(o.threads, 'options.threads', 1, 1024);
  const chunkSize = checkChunkSize(o.chunkSize, pageSize);
  const explicitMaxRecordLength = o.maxRecordLength !== undefined;
  const maxRecordLength = explicitMaxRecordLength
    ? checkInt(o.maxRecordLength, 'options.maxRecordLength', 1, MAX_VIEW_LENGTH)
    : MAX_VIEW_LENGTH;
  const maxOpenFiles = o.maxOpenFiles === undefined ? 16 : checkInt(o.maxOpenFiles, 'options.maxOpenFiles', 1, 4096);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new InvalidOptionError('options.signal', 'an AbortSignal', o.signal);
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw new InvalidOptionError('options.onProgress', 'a function', o.onProgress);
  }
  if (o.onMerged !== undefined && typeof o.onMerged !== 'function') {
    throw new InvalidOptionError('options.onMerged', 'a function', o.onMerged);
  }
  const release = checkOneOf(o.release, 'options.release', ['auto', 'keep', 'unmap', 'evict'] as const, 'auto');
  const prefetch = o.prefetch === undefined ? undefined : checkInt(o.prefetch, 'options.prefetch', 0, 64);
  const advice = checkOneOf(o.advice, 'options.advice', ['sequential', 'normal', 'random', 'hugepage'] as const, 'sequential');
  const mode = checkOneOf(o.mode, 'options.mode', ['auto', 'mmap', 'pread', 'read'] as const, 'auto');
  const maxBytes = o.maxBytes === undefined ? undefined : checkInt(o.maxBytes, 'options.maxBytes', 0);
  const memoryBudget = o.memoryBudget === undefined ? undefined : checkInt(o.memoryBudget, 'options.memoryBudget', 1);
  if (o.nativeKernels !== undefined && typeof o.nativeKernels !== 'boolean') {
    throw new InvalidOptionError('options.nativeKernels', 'a boolean', o.nativeKernels);
  }
  if (o.resourceLimits !== undefined && (o.resourceLimits === null || typeof o.resourceLimits !== 'object')) {
    throw new InvalidOptionError('options.resourceLimits', 'an object', o.resourceLimits);
  }
  if (o.tempDir !== undefined && (typeof o.tempDir !== 'string' || o.tempDir === '' || o.tempDir.includes('\0'))) {
    throw new InvalidOptionError('options.tempDir', 'the path of a directory (a non-empty string)', o.tempDir);
  }
  if (o.output !== undefined) {
    const requirement = 'a path (a non-empty string without NUL bytes, or - for standard output) or a Node Writable';
    if (typeof o.output === 'string') {
      if (o.output === '' || o.output.includes('\0')) throw new InvalidOptionError('options.output', requirement, o.output);
    } else if (!isWritable(o.output)) {
      throw new InvalidOptionError('options.output', requirement, o.output);
    }
  }
  if (o.inPlace !== undefined && typeof o.inPlace !== 'boolean') {
    throw new InvalidOptionError('options.inPlace', 'a boolean', o.inPlace);
  }
  return {
    threads,
    chunkSize,
    maxRecordLength,
    explicitMaxRecordLength,
    maxOpenFiles,
    params: o.params,
    signal: o.signal,
    onProgress: o.onProgress,
    onMerged: o.onMerged,
    release,
    prefetch,
    advice,
    mode,
    maxBytes,
    memoryBudget,
    nativeKernels: o.nativeKernels ?? true,
    resourceLimits: o.resourceLimits,
    tempDir: o.tempDir ?? tmpdir(),
    output: o.output,
    inPlace: o.inPlace ?? false,
    cluster: checkCluster(o.cluster, pageSize, chunkSize),
    internal: ((o as Record<symbol, unknown>)[INTERNAL] as InternalOptions | undefined) ?? {},
  };
}
