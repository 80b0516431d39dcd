/**
 * Every option pagewise accepts is checked here, up front, in one place, so a
 * bad value fails before any file is opened or thread started, with an error
 * naming the option (ERR_PAGEWISE_INVALID_OPTION).
 */
import { availableParallelism, tmpdir } from 'node:os';
import { constants as bufferConstants } from 'node:buffer';
import { serialize } from 'node:v8';
import { ErrorCodes, InvalidOptionError, PagewiseError } from './errors.js';
import type { AbortSignalLike, AdviceMode, Progress, ReleasePolicy, WritableLike } from './types.js';
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
  /** Chunks to prefetch ahead of the one in hand (MADV_WILLNEED); default 1. */
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
   * Keyed jobs: write the result as JSON lines `["key",value]`, in key order,
   * to this path (atomically: a temporary beside it, renamed over it when
   * complete), `'-'` (standard output) or a Node Writable, instead of giving
   * it as an iterable.
   */
  output?: string | WritableLike;
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
  prefetch: number;
  advice: AdviceMode;
  mode: 'auto' | 'mmap' | 'pread' | 'read';
  maxBytes?: number;
  memoryBudget?: number;
  nativeKernels: boolean;
  resourceLimits?: MapReduceOptions['resourceLimits'];
  tempDir: string;
  output?: string | WritableLike;
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
  /** Read only the chunks whose nominal start lies in [start, end) of the one input: a cluster split. */
  span?: { start: number; end: number };
  /** Keyed runs: `false` maps through the job's `emit` even where it has table hooks (tests compare the two). */
  keyedTable?: boolean;
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
  'tempDir', 'output',
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
  const prefetch = o.prefetch === undefined ? 1 : checkInt(o.prefetch, 'options.prefetch', 0, 64);
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
    } else if (o.output === null || typeof o.output !== 'object' || typeof (o.output as WritableLike).write !== 'function' || typeof (o.output as WritableLike).once !== 'function') {
      throw new InvalidOptionError('options.output', requirement, o.output);
    }
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
    internal: ((o as Record<symbol, unknown>)[INTERNAL] as InternalOptions | undefined) ?? {},
  };
}
