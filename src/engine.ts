/**
 * The engine: maps each input once, hands chunk handles (mapping id, chunk
 * number) to a Piscina pool, and merges partial results in file order. The
 * main thread does not read mapped pages while workers run: workers find
 * their own record boundaries. Jobs with a native kernel (`job.kernel`) skip
 * the pool: the main thread cuts the chunks (a memchr of a few bytes at each
 * cut) and runs the kernel over them on libuv's threadpool (see scanGroup).
 */
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { Piscina } from 'piscina';
import { ErrorCodes, JobFailedError, PagewiseError, fileChangedMessage, toPagewiseError } from './errors.js';
import { ChunkError, checkNotTruncated, chunkCursor, chunkRange, prefetchAhead, releaseBehind, serializeCause } from './chunk.js';
import { jobPath, loadJob, type JobRef } from './job.js';
import { memoryBudget, type MemoryBudget } from './memory.js';
import { native, Fadvise, Madvise, PAGE_SIZE } from './native.js';
import { resolveOptions, formatBytes, type MapReduceOptions, type ResolvedOptions } from './options.js';
import { autoChunkSize, checkWholeRecords, chunkCount } from './planner.js';
import { mapStream } from './stream.js';
import type {
  ChunkResult,
  ChunkTask,
  DrainResult,
  DrainTask,
  FileRef,
  Job,
  KernelOp,
  KernelPlan,
  Progress,
  ReleasePolicy,
  RunSettings,
  Split,
  TaskErrorInfo,
} from './types.js';
import type { TaskFailure } from '../workers/map-worker.js';

/** What one run did and how it went. */
export interface RunStats {
  files: number;
  bytes: number;
  chunks: number;
  /** Threads that read the input: `options.threads`, or on the kernel path at most libuv's threadpool size. */
  threads: number;
  chunkSize: number;
  chunkSizeReason: string;
  mode: 'mmap' | 'read' | 'mixed';
  /**
   * Who read the mapped inputs: `'kernel'` the job's native kernel on libuv's
   * threadpool (no JS worker started), `'workers'` the job's `map` in the
   * Piscina pool; `'none'` when nothing was mapped (streams only, or empty files).
   */
  executor: 'kernel' | 'workers' | 'none';
  release: Exclude<ReleasePolicy, 'auto'>;
  releaseReason: string;
  memoryBudget: MemoryBudget;
  wallSeconds: number;
  cpuSeconds: { user: number; system: number };
  bytesPerSecond: number;
  peakRssBytes: number;
  pageFaults: { major: number; minor: number };
}

/** The result of `runJob`: the job's result and how the run went. */
export interface RunReport<R = unknown> {
  result: R;
  stats: RunStats;
}

type Input = { kind: 'map'; path: string; size: number } | { kind: 'stream'; path: string; stdin: boolean };

// A CommonJS shim that import()s map-worker.js (see map-worker-entry.cts).
const WORKER_URL = new URL('../workers/map-worker-entry.cjs', import.meta.url);
/** Streams are read in blocks this large. */
const STREAM_BLOCK = 4 << 20;
/** One kernel readahead window (read_ahead_kb 8192): one MADV_WILLNEED call reads at most this much. */
const READAHEAD_WINDOW = 8 << 20;

// One pool per (threads, limits), reused by later runs: starting workers and
// loading a job costs tens of milliseconds. Idle workers exit on their own and
// do not keep the process alive.
const pools = new Map<string, Piscina>();

// Piscina and p-limit are imported on first use: runs that need no worker
// (native kernels, streams) do not pay for loading them (~40 ms at start-up).
type PiscinaClass = typeof import('piscina').Piscina;
let piscinaModule: Promise<PiscinaClass> | undefined;
let pLimitModule: Promise<typeof import('p-limit')> | undefined;

/** Loads Piscina now, so a pool can start without waiting for the import later. */
function loadPiscina(): Promise<PiscinaClass> {
  piscinaModule ??= import('piscina').then(
    (m) => m.Piscina,
    (error: unknown) => {
      piscinaModule = undefined;
      throw error;
    },
  );
  return piscinaModule;
}

async function getPool(threads: number, resourceLimits: ResolvedOptions['resourceLimits']): Promise<{ pool: Piscina; key: string }> {
  const key = `${threads}:${JSON.stringify(resourceLimits ?? {})}`;
  let pool = pools.get(key);
  if (!pool) {
    const Piscina = await loadPiscina();
    // Another run may have created it while this one waited for the import.
    const created = pools.get(key);
    if (created) return { pool: created, key };
    pool = new Piscina({
      filename: WORKER_URL.href,
      // All threads start at once, while the main thread is still loading
      // the job and stating the inputs. Idle workers are unref'd by Piscina,
      // so a cached pool does not keep the process alive.
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 1000,
      concurrentTasksPerWorker: 1,
      maxQueue: 'auto',
      resourceLimits,
      // Piscina's default ('sync') parks an idle worker in Atomics.wait and
      // feeds it the next task without ever returning to its event loop. The
      // addon's view finalizers (which drop a mapping's view count, so its
      // memory and fd can be released) run from that loop, as do a job's
      // timers: with 'sync', every run leaked a whole-file mapping and an fd
      // until the pool was shut down. Let the loop turn between tasks.
      atomics: 'disabled',
    });
    // Every failure that matters reaches us as a rejected task. Piscina also
    // emits 'error' for what arrives after its task is settled: a result that
    // was already queued when a failed or aborted run destroyed the pool
    // ("Unexpected message from Worker"), or a worker dying while idle.
    // Unhandled, that event would crash the user's process.
    pool.on('error', () => {});
    pools.set(key, pool);
  }
  return { pool, key };
}

async function discardPool(key: string): Promise<void> {
  const pool = pools.get(key);
  if (!pool) return;
  pools.delete(key);
  await pool.destroy().catch(() => {});
}

/** Stops every cached worker pool (pagewise starts new ones when needed). */
export async function shutdown(): Promise<void> {
  await Promise.all([...pools.keys()].map(discardPool));
}

async function classify(path: string, o: ResolvedOptions): Promise<Input> {
  if (path === '-') return { kind: 'stream', path: '<stdin>', stdin: true };
  let info: Stats;
  try {
    info = await stat(path);
  } catch (error) {
    throw toPagewiseError(error);
  }
  if (info.isDirectory()) {
    throw new PagewiseError(ErrorCodes.NOT_REGULAR_FILE, `'${path}' is a directory, not a regular file`, { path });
  }
  if (info.isFile()) return o.mode === 'read' ? { kind: 'stream', path, stdin: false } : { kind: 'map', path, size: info.size };
  if (o.mode === 'mmap') throw new PagewiseError(ErrorCodes.NOT_REGULAR_FILE, `'${path}' is not a regular file and cannot be mapped`, { path });
  if (info.isFIFO() || info.isSocket()) return { kind: 'stream', path, stdin: false };
  if ((info.isCharacterDevice() || info.isBlockDevice()) && o.maxBytes !== undefined) return { kind: 'stream', path, stdin: false };
  if (info.isCharacterDevice() || info.isBlockDevice()) {
    throw new PagewiseError(
      ErrorCodes.UNBOUNDED_INPUT,
      `'${path}' is a device, which may never end: give a byte limit (maxBytes / --max-bytes) to read from it`,
      { path },
    );
  }
  throw new PagewiseError(ErrorCodes.NOT_REGULAR_FILE, `'${path}' is not a regular file`, { path });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new PagewiseError(ErrorCodes.ABORTED, 'the run was aborted', { cause: signal.reason });
}

function taskError(failure: TaskFailure, files: FileRef[]): PagewiseError {
  const info: TaskErrorInfo = failure.failed;
  let cause: unknown;
  if (failure.cause) {
    const original = new Error(failure.cause.message);
    original.name = failure.cause.name;
    if (failure.cause.stack) original.stack = failure.cause.stack;
    if (failure.cause.code !== undefined) (original as Error & { code?: unknown }).code = failure.cause.code;
    cause = original;
  }
  const file = info.fileIndex === undefined ? undefined : files.find((f) => f.fileIndex === info.fileIndex);
  const { code, message, ...rest } = info;
  const details = { ...rest, cause, path: file?.path, file: file?.path } as Record<string, unknown>;
  if (code === ErrorCodes.FILE_TRUNCATED && file) {
    details.sizeAtStart = file.size;
    try {
      details.sizeNow = native.state(file.mappingId).currentSize;
    } catch {
      /* already closed */
    }
  }
  if (code === ErrorCodes.JOB_FAILED) return new JobFailedError(message, details);
  return new PagewiseError(code, message, details);
}

function isFailure(value: unknown): value is TaskFailure {
  return value !== null && typeof value === 'object' && 'failed' in value;
}

function workerDied(error: unknown): PagewiseError {
  const message = (error as Error)?.message ?? String(error);
  return new PagewiseError(ErrorCodes.WORKER_DIED, `a worker thread stopped unexpectedly: ${message}`, { cause: error });
}

interface Accumulation {
  has: boolean;
  acc: unknown;
}

function mergeInto(job: Job, into: Accumulation, next: unknown): void {
  if (!into.has) {
    into.acc = next;
    into.has = true;
    return;
  }
  try {
    into.acc = job.merge(into.acc, next);
  } catch (error) {
    throw new JobFailedError(`job merge failed: ${(error as Error)?.message ?? error}`, { cause: error });
  }
}

class ProgressMeter {
  readonly startedAt = performance.now();
  bytesDone = 0;
  chunksDone = 0;
  filesDone = 0;
  private lastReport = 0;
  constructor(
    readonly bytesTotal: number,
    public chunksTotal: number,
    readonly filesTotal: number,
    private readonly onProgress?: (p: Progress) => void,
  ) {}

  report(force = false): void {
    if (!this.onProgress) return;
    const now = performance.now();
    if (!force && now - this.lastReport < 100) return;
    this.lastReport = now;
    const elapsed = (now - this.startedAt) / 1000;
    this.onProgress({
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      chunksDone: this.chunksDone,
      chunksTotal: this.chunksTotal,
      filesDone: this.filesDone,
      filesTotal: this.filesTotal,
      elapsedSeconds: elapsed,
      bytesPerSecond: elapsed > 0 ? this.bytesDone / elapsed : 0,
    });
  }
}

interface Plan {
  chunkSize: number;
  chunkSizeReason: string;
  release: Exclude<ReleasePolicy, 'auto'>;
  releaseReason: string;
  budget: MemoryBudget;
}

/**
 * `auto` chunk sizing per executor. Native kernels scan at memory speed: a
 * 64 MiB chunk is ~10 ms, and fewer, larger chunks scanned fastest here
 * (tune: 7.8 GB/s at 64 MiB, 7.0 at 16 MiB, grep --count). A JS map is 10-50x
 * slower per byte, so the last chunk decides how long the run's tail is: with
 * 8 chunks of 64 MiB per thread a CPU-bound job over 1.38 GB on 2 threads ran
 * 10.5 chunks per thread and its 2-thread speed-up was capped near 1.87x.
 * There, ~32 chunks per thread of at most 16 MiB (stats was also faster with
 * them: 672 vs 635 MB/s).
 */
const AUTO_CHUNKS = {
  kernel: { perThread: 8, max: 64 << 20 },
  workers: { perThread: 32, max: 16 << 20 },
} as const;

function planRun(o: ResolvedOptions, mappedBytes: number, largestFile: number, executor: keyof typeof AUTO_CHUNKS): Plan {
  const budget = memoryBudget(o.memoryBudget);
  let release: Exclude<ReleasePolicy, 'auto'>;
  let releaseReason: string;
  if (o.release !== 'auto') {
    release = o.release;
    releaseReason = `release: '${o.release}' was asked for`;
  } else if (largestFile > budget.bytes) {
    release = 'evict';
    releaseReason = `auto: input (${formatBytes(largestFile)}) is larger than the memory budget (${formatBytes(budget.bytes)}, ${budget.source}), so pages are evicted behind`;
  } else {
    release = 'keep';
    releaseReason = `auto: input fits in the memory budget (${formatBytes(budget.bytes)}, ${budget.source}), so pages stay cached for the next run`;
  }
  let chunkSize: number;
  let chunkSizeReason: string;
  if (o.chunkSize !== 'auto') {
    chunkSize = o.chunkSize;
    chunkSizeReason = 'given';
  } else {
    const { perThread, max } = AUTO_CHUNKS[executor];
    // The kernel path reads with at most the threadpool's threads.
    const threads = executor === 'kernel' ? Math.min(o.threads, threadpoolSize()) : o.threads;
    chunkSize = autoChunkSize(mappedBytes, threads, PAGE_SIZE, perThread, max);
    chunkSizeReason = `auto: ~${threads * perThread} chunks for ${threads} threads (${executor === 'kernel' ? 'native kernels' : 'workers'}), between 1 MiB and ${formatBytes(max)}`;
    if (release !== 'keep') {
      // Bounded memory: every thread holds its chunk plus its prefetch, and
      // the kernel reads up to one readahead window past where it reads; that
      // working set should stay under a quarter of the budget. (Without the
      // window, 2 threads in a 96 MiB cgroup peaked at 50-60% of it.) Under
      // evict, the pages kept past each running chunk (HEAD in chunk.ts, up
      // to 16 MiB a thread) come on top; the quarter leaves room for them.
      const cap = Math.floor((budget.bytes / (4 * o.threads) - READAHEAD_WINDOW) / (1 + o.prefetch));
      if (chunkSize > cap) {
        chunkSize = cap < PAGE_SIZE * 16 ? PAGE_SIZE * 16 : Math.max(PAGE_SIZE * 16, 2 ** Math.floor(Math.log2(cap)));
        chunkSizeReason += `, capped so threads x (1 + prefetch) chunks and a readahead window each stay under 1/4 of the memory budget`;
      }
    }
  }
  return { chunkSize, chunkSizeReason, release, releaseReason, budget };
}

/** Runs one group of mapped files through the pool; returns partials in order. */
async function runMappedGroup(
  job: Job,
  jobFile: string,
  group: { path: string; size: number; fileIndex: number }[],
  o: ResolvedOptions,
  plan: Plan,
  split: Split,
  meter: ProgressMeter,
  into: Accumulation,
  kernel: KernelPlan | undefined,
): Promise<void> {
  const files: FileRef[] = [];
  try {
    for (const f of group) {
      let info;
      try {
        info = native.open(f.path);
      } catch (error) {
        throw toPagewiseError(error);
      }
      const chunks = chunkCount(info.size, plan.chunkSize);
      const ref: FileRef = { fileIndex: f.fileIndex, path: f.path, mappingId: info.id, size: info.size, chunks };
      if (plan.release === 'evict' && chunks > 0) ref.releaseState = new Int32Array(new SharedArrayBuffer(4 * chunks));
      files.push(ref);
      if (info.size > 0) {
        const advice = o.advice === 'hugepage' ? Madvise.hugepage : Madvise[o.advice];
        native.advise(info.id, 0, info.size, advice);
        if (o.advice === 'hugepage') native.advise(info.id, 0, info.size, Madvise.sequential);
      }
    }
    const settings: RunSettings = {
      jobPath: jobFile,
      params: o.params,
      split,
      chunkSize: plan.chunkSize,
      maxRecordLength: o.maxRecordLength,
      // Cut searches alone miss a long record whose end lies near a cut, so an
      // explicit limit is checked record by record (in slices longer than it).
      checkRecordLength: o.explicitMaxRecordLength,
      release: plan.release,
      prefetch: o.prefetch,
      prefetchStep: READAHEAD_WINDOW,
    };
    const total = files.reduce((n, f) => n + f.chunks, 0);
    if (total === 0) {
      // Empty files still contribute an (empty) accumulator, as map never runs.
      for (const _ of files) mergeInto(job, into, initOnMain(job, o.params));
      meter.filesDone += files.length;
      return;
    }
    if (kernel) {
      mergeInto(job, into, await scanGroup(job, kernel, files, settings, o, meter, total));
      o.onMerged?.(into.acc);
    } else {
      const { pool, key } = await getPool(o.threads, o.resourceLimits);
      try {
        if (job.commutative) await drain(job, pool, files, settings, o, meter, into, total);
        else await ordered(job, pool, files, settings, o, meter, into, total);
      } catch (error) {
        // A failed or aborted run may leave workers busy in a job: stop them.
        await discardPool(key);
        throw error;
      }
    }
    for (const f of files) {
      const state = native.state(f.mappingId);
      const message = fileChangedMessage(f.path, f.size, state);
      if (message !== undefined) {
        throw new PagewiseError(ErrorCodes.FILE_TRUNCATED, message, { path: f.path, sizeAtStart: f.size, sizeNow: state.currentSize });
      }
    }
    meter.filesDone += files.length;
  } finally {
    for (const f of files) {
      // Workers evict behind each chunk; what a late boundary read or the
      // kernel's readahead brought back after the last chunk goes here.
      if (plan.release === 'evict' && f.size > 0) native.fadvise(f.mappingId, 0, f.size, Fadvise.dontneed);
      native.close(f.mappingId);
    }
  }
}

function initOnMain(job: Job, params: unknown): unknown {
  try {
    return job.init(params);
  } catch (error) {
    throw new JobFailedError(`job init failed: ${(error as Error)?.message ?? error}`, { cause: error });
  }
}

function abortPromise(signal: AbortSignal | undefined): { promise: Promise<never>; dispose: () => void } {
  if (!signal) return { promise: new Promise<never>(() => {}), dispose: () => {} };
  let onAbort = (): void => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(new PagewiseError(ErrorCodes.ABORTED, 'the run was aborted', { cause: signal.reason }));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

/**
 * libuv's threadpool size (what the kernel path can run at once), read from
 * UV_THREADPOOL_SIZE as libuv reads it: unset 4, else atoi() with 0 as 1 and
 * anything above 1024 (a negative value too, once unsigned) as 1024.
 */
export function threadpoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.UV_THREADPOOL_SIZE;
  if (raw === undefined || raw === '') return 4;
  const m = /^\s*([+-]?\d+)/.exec(raw);
  const n = m ? Number(m[1]) : 0;
  if (n < 0 || n > 1024) return 1024;
  return n === 0 ? 1 : n;
}

const SCAN_OPS = { countByte: 0, countRecordsContaining: 1, countWords: 2 } as const;

/**
 * The job's kernel plan for this run, or undefined when its `map` must run in
 * workers: no kernel, `nativeKernels: false`, or an explicit maxRecordLength
 * (checked record by record, in workers).
 * @throws ERR_PAGEWISE_JOB_FAILED when `kernel()` throws or returns a bad plan.
 */
function kernelPlanOf(job: Job, o: ResolvedOptions): KernelPlan | undefined {
  if (!job.kernel || !o.nativeKernels || o.explicitMaxRecordLength) return undefined;
  let plan: KernelPlan | undefined;
  try {
    plan = job.kernel(o.params);
  } catch (error) {
    throw new JobFailedError(`job kernel() failed: ${(error as Error)?.message ?? error}`, { cause: error });
  }
  if (plan === undefined) return undefined;
  const bad = (why: string): never => {
    throw new JobFailedError(`job kernel() returned a bad plan: ${why}`, {});
  };
  if (plan === null || typeof plan !== 'object' || !Array.isArray(plan.ops) || typeof plan.fold !== 'function') {
    bad('expected { ops: KernelOp[], fold(acc, counts, info) }');
  }
  const isByte = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255;
  for (const op of plan.ops as KernelOp[]) {
    if (op?.op === 'countByte' && isByte(op.byte)) continue;
    if (op?.op === 'countWords') continue;
    if (op?.op === 'countRecordsContaining' && isByte(op.terminator) && op.needle instanceof Uint8Array && !op.needle.includes(op.terminator)) continue;
    bad(`unknown or malformed op ${JSON.stringify(op)} (countRecordsContaining's needle must be a Uint8Array without the terminator)`);
  }
  return plan;
}

/**
 * The kernel path: cuts each chunk at record boundaries on the main thread,
 * runs the plan's byte kernels over it on libuv's threadpool (at most
 * min(threads, threadpool size) chunks at once, no copy, no view), applies
 * the release policy behind it, and folds the counts into one accumulator in
 * file order.
 */
async function scanGroup(
  job: Job,
  plan: KernelPlan,
  files: FileRef[],
  settings: RunSettings,
  o: ResolvedOptions,
  meter: ProgressMeter,
  total: number,
): Promise<unknown> {
  const ops = plan.ops.map((op) =>
    op.op === 'countRecordsContaining'
      ? { op: SCAN_OPS.countRecordsContaining, byte: op.terminator, needle: op.needle }
      : op.op === 'countByte'
        ? { op: SCAN_OPS.countByte, byte: op.byte }
        : { op: SCAN_OPS.countWords },
  );
  const lanes = Math.min(o.threads, threadpoolSize());
  // Each lane has its next chunk queued behind the one it reads (the gate
  // lets only `lanes` read at once), so no pool thread waits for the main
  // thread between chunks. A queued chunk parks a spare pool thread (other
  // users of the pool wait at most one chunk for it); never more than the
  // pool has. Not under a memory bound: a queued chunk is prefetched, and
  // the working set planRun sized would grow.
  const inFlight = settings.release === 'keep' ? Math.min(2 * lanes, threadpoolSize()) : lanes;
  const gate = native.gate(lanes);
  const scanAt = chunkCursor(files);
  const foldAt = chunkCursor(files);
  let acc = initOnMain(job, o.params);
  type Scanned = { counts: number[]; start: number; end: number };
  const scan = (g: number, stopped: () => boolean): Promise<Scanned | undefined> => {
    const { file, index } = scanAt(g);
    checkNotTruncated(file);
    const range = chunkRange(settings, file, index);
    prefetchAhead(settings, file, index);
    // No JS view of a scanned range exists, so its page-table entries go as
    // soon as it is read (on the pool thread, in parallel), whatever the
    // release policy does with the page cache: tearing them all down in the
    // munmap at close was one serial ~110 ms per 2.76 GB on the main thread.
    return native.scan(file.mappingId, range.start, range.end - range.start, ops, gate, true).then((counts) => {
      if (stopped()) return undefined;
      // Pages read past a new end came back as zeros: never count them.
      checkNotTruncated(file);
      releaseBehind(settings, file, index, range);
      return { counts, start: range.start, end: range.end };
    });
  };
  const fold = (g: number, r: Scanned | undefined): void => {
    const { start, end, counts } = r!;
    const { file, index } = foldAt(g);
    const info = { index, start, end, fileIndex: file.fileIndex, file: file.path, params: o.params };
    try {
      acc = plan.fold(acc, counts, info);
    } catch (error) {
      throw new JobFailedError(`job kernel fold failed on chunk ${index} of '${file.path}': ${(error as Error)?.message ?? error}`, {
        cause: error,
        index,
        path: file.path,
      });
    }
    meter.bytesDone += end - start;
    meter.chunksDone++;
    meter.report();
  };
  try {
    await inOrder(total, { inFlight, window: lanes * 4, signal: o.signal }, scan, fold);
  } catch (error) {
    throw error instanceof ChunkError ? chunkError(error, files) : toPagewiseError(error);
  }
  return acc;
}

/**
 * The in-order pipeline of ordered jobs in workers and of the kernel path:
 * step k (0 .. total - 1) is started while fewer than `inFlight` steps run
 * and fewer than `window` separate k from the next step to consume (so the
 * results held for reordering stay bounded), and results are consumed
 * strictly in order. The first error (thrown by `start`, by a step, or by
 * `consume`) or the signal's abort rejects; after that nothing more starts or
 * is consumed, and `stopped()` (given to every step) is true.
 */
async function inOrder<R>(
  total: number,
  limits: { inFlight: number; window: number; signal?: AbortSignal },
  start: (k: number, stopped: () => boolean) => Promise<R>,
  consume: (k: number, result: R) => void,
): Promise<void> {
  if (total === 0) return;
  const aborted = abortPromise(limits.signal);
  let failed = false;
  const stopped = (): boolean => failed;
  try {
    await Promise.race([
      aborted.promise,
      new Promise<void>((resolve, reject) => {
        const results = new Map<number, R>();
        let next = 0;
        let consumed = 0;
        let running = 0;
        const fail = (error: unknown): void => {
          if (failed) return;
          failed = true;
          reject(error);
        };
        const finished = (k: number, result: R): void => {
          running--;
          if (failed) return;
          results.set(k, result);
          try {
            while (results.has(consumed)) {
              const r = results.get(consumed)!;
              results.delete(consumed);
              consume(consumed, r);
              consumed++;
            }
          } catch (error) {
            return fail(error);
          }
          if (consumed === total) resolve();
          else launch();
        };
        const launch = (): void => {
          while (!failed && running < limits.inFlight && next < total && next - consumed < limits.window) {
            const k = next++;
            let step: Promise<R>;
            try {
              step = start(k, stopped);
            } catch (error) {
              return fail(error);
            }
            running++;
            step.then(
              (result) => finished(k, result),
              (error: unknown) => {
                running--;
                fail(error);
              },
            );
          }
        };
        launch();
      }),
    ]);
  } finally {
    failed = true;
    aborted.dispose();
  }
}

/** A chunk failure raised on the main thread, as the error a worker's would become. */
function chunkError(error: ChunkError, files: FileRef[]): PagewiseError {
  return taskError({ failed: error.info, cause: error.original === undefined ? undefined : serializeCause(error.original) }, files);
}

async function drain(
  job: Job,
  pool: Piscina,
  files: FileRef[],
  settings: RunSettings,
  o: ResolvedOptions,
  meter: ProgressMeter,
  into: Accumulation,
  total: number,
): Promise<void> {
  const control = new SharedArrayBuffer(8);
  const progress = new SharedArrayBuffer(16);
  const counters = new BigInt64Array(progress);
  const task: DrainTask = { kind: 'drain', settings, files, control, progress };
  const bytesBefore = meter.bytesDone;
  const chunksBefore = meter.chunksDone;
  const poll = setInterval(() => {
    meter.bytesDone = bytesBefore + Number(Atomics.load(counters, 0));
    meter.chunksDone = chunksBefore + Number(Atomics.load(counters, 1));
    meter.report();
  }, 100);
  const aborted = abortPromise(o.signal);
  const workers = Math.min(o.threads, total);
  try {
    const runs = Array.from({ length: workers }, () =>
      (pool.run(task) as Promise<DrainResult | TaskFailure>).catch((error: unknown) => {
        Atomics.store(new Int32Array(control), 1, 1);
        throw workerDied(error);
      }),
    );
    const results = await Promise.race([Promise.all(runs), aborted.promise]);
    for (const r of results) if (isFailure(r)) throw taskError(r, files);
    for (const r of results) {
      if (!isFailure(r) && r.touched) {
        mergeInto(job, into, r.acc);
        o.onMerged?.(into.acc);
      }
    }
  } catch (error) {
    Atomics.store(new Int32Array(control), 1, 1);
    throw error;
  } finally {
    clearInterval(poll);
    aborted.dispose();
    meter.bytesDone = bytesBefore + Number(Atomics.load(counters, 0));
    meter.chunksDone = chunksBefore + Number(Atomics.load(counters, 1));
  }
}

async function ordered(
  job: Job,
  pool: Piscina,
  files: FileRef[],
  settings: RunSettings,
  o: ResolvedOptions,
  meter: ProgressMeter,
  into: Accumulation,
  total: number,
): Promise<void> {
  // Chunk k is dispatched only while fewer than `window` chunks separate it
  // from the next one to merge: partials held for reordering stay bounded.
  pLimitModule ??= import('p-limit');
  const limit = (await pLimitModule).default(o.threads * 2);
  const taskAt = chunkCursor(files);
  const run = (k: number, stopped: () => boolean): Promise<ChunkResult | undefined> => {
    const task: ChunkTask = { kind: 'chunk', settings, ...taskAt(k) };
    return limit(() => (stopped() ? Promise.resolve(undefined) : (pool.run(task) as Promise<ChunkResult | TaskFailure>))).then(
      (r) => {
        if (r !== undefined && isFailure(r)) throw taskError(r, files);
        return r;
      },
      (error: unknown) => {
        throw workerDied(error);
      },
    );
  };
  const merge = (_k: number, part: ChunkResult | undefined): void => {
    mergeInto(job, into, part!.acc);
    o.onMerged?.(into.acc);
    meter.bytesDone += part!.bytes;
    meter.chunksDone++;
    meter.report();
  };
  try {
    await inOrder(total, { inFlight: Infinity, window: o.threads * 4, signal: o.signal }, run, merge);
  } catch (error) {
    limit.clearQueue();
    throw error;
  }
}

/**
 * Runs a job over one file or several and returns its result with run
 * statistics.
 *
 * @param input a path, or an array of paths processed in the order given
 *   (`'-'` reads standard input). Regular files are mapped; FIFOs, sockets and
 *   stdin are read sequentially.
 * @param job the job module's path or file URL.
 * @throws ENOENT, EACCES and other OS errors (with `path`, `syscall`, `errno`);
 *   ERR_PAGEWISE_NOT_REGULAR_FILE, ERR_PAGEWISE_INVALID_OPTION,
 *   ERR_PAGEWISE_JOB_LOAD, ERR_PAGEWISE_JOB_FAILED, ERR_PAGEWISE_WORKER_DIED,
 *   ERR_PAGEWISE_RECORD_TOO_LONG, ERR_PAGEWISE_PARTIAL_RECORD,
 *   ERR_PAGEWISE_FILE_TRUNCATED, ERR_PAGEWISE_UNBOUNDED_INPUT,
 *   ERR_PAGEWISE_ABORTED.
 * @example
 * ```ts
 * const { result, stats } = await runJob('big.log', './count-errors.mjs', { chunkSize: '8MiB' });
 * ```
 */
export async function runJob<R = unknown>(input: string | readonly string[], job: JobRef, options?: MapReduceOptions): Promise<RunReport<R>> {
  const o = resolveOptions(options, PAGE_SIZE);
  const paths = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(paths) || paths.length === 0 || paths.some((p) => typeof p !== 'string' || p === '')) {
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, 'input must be a path or a non-empty array of paths', { option: 'input' });
  }
  if (typeof job !== 'string' && !(job instanceof URL)) {
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, 'job must be the path or file URL of a job module', { option: 'job' });
  }
  throwIfAborted(o.signal);
  const startedAt = performance.now();
  const cpuStart = process.cpuUsage();
  const usageStart = process.resourceUsage();

  const jobFile = jobPath(job);
  // Piscina starts loading now, overlapping the job's import below.
  if (o.mode !== 'read' && o.nativeKernels === false) void loadPiscina().catch(() => {});
  const loaded = await loadJob(jobFile);
  const split: Split = loaded.split ?? 'lines';
  const inputs: Input[] = [];
  for (const p of paths) inputs.push(await classify(p, o));
  const kernel = inputs.some((i) => i.kind === 'map') ? kernelPlanOf(loaded, o) : undefined;
  // Start the workers now: their startup overlaps the planning below.
  if (inputs.some((i) => i.kind === 'map') && !kernel) void getPool(o.threads, o.resourceLimits).catch(() => {});
  for (const input of inputs) if (input.kind === 'map') checkWholeRecords(input.size, split, input.path);
  throwIfAborted(o.signal);

  const mapped = inputs.filter((i): i is Extract<Input, { kind: 'map' }> => i.kind === 'map');
  const mappedBytes = mapped.reduce((n, i) => n + i.size, 0);
  const plan = planRun(o, mappedBytes, mapped.reduce((n, i) => Math.max(n, i.size), 0), kernel ? 'kernel' : 'workers');
  const meter = new ProgressMeter(
    mappedBytes,
    mapped.reduce((n, i) => n + chunkCount(i.size, plan.chunkSize), 0),
    inputs.length,
    o.onProgress,
  );
  const into: Accumulation = { has: false, acc: undefined };
  let ranMapped = false;

  // Consecutive mapped files form groups of at most maxOpenFiles; streams are
  // read in between, so merges follow the order the inputs were given in.
  let i = 0;
  while (i < inputs.length) {
    throwIfAborted(o.signal);
    const input = inputs[i];
    if (input.kind === 'stream') {
      const source = input.stdin ? process.stdin : input.path;
      const acc = await mapStream(loaded, source, input.path, {
        split,
        blockSize: STREAM_BLOCK,
        maxRecordLength: o.maxRecordLength,
        maxBytes: o.maxBytes,
        params: o.params,
        fileIndex: i,
        signal: o.signal,
        onBytes: (n) => {
          meter.bytesDone += n;
          meter.report();
        },
      }).catch((error: unknown) => {
        throw toPagewiseError(error);
      });
      mergeInto(loaded, into, acc);
      o.onMerged?.(into.acc);
      meter.filesDone++;
      i++;
      continue;
    }
    const group: { path: string; size: number; fileIndex: number }[] = [];
    while (i < inputs.length && inputs[i].kind === 'map' && group.length < o.maxOpenFiles) {
      const m = inputs[i] as Extract<Input, { kind: 'map' }>;
      group.push({ path: m.path, size: m.size, fileIndex: i });
      i++;
    }
    await runMappedGroup(loaded, jobFile, group, o, plan, split, meter, into, kernel);
    ranMapped = true;
  }
  meter.report(true);

  const finalAcc = into.has ? into.acc : initOnMain(loaded, o.params);
  let result: unknown;
  try {
    result = loaded.finish ? loaded.finish(finalAcc, o.params) : finalAcc;
  } catch (error) {
    throw new JobFailedError(`job finish failed: ${(error as Error)?.message ?? error}`, { cause: error });
  }
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const usage = process.resourceUsage();
  const totalBytes = meter.bytesDone;
  return {
    result: result as R,
    stats: {
      files: inputs.length,
      bytes: totalBytes,
      chunks: meter.chunksDone,
      threads: kernel && ranMapped ? Math.min(o.threads, threadpoolSize()) : o.threads,
      chunkSize: plan.chunkSize,
      chunkSizeReason: plan.chunkSizeReason,
      mode: mapped.length === inputs.length ? 'mmap' : mapped.length === 0 ? 'read' : 'mixed',
      executor: !ranMapped || mappedBytes === 0 ? 'none' : kernel ? 'kernel' : 'workers',
      release: plan.release,
      releaseReason: plan.releaseReason,
      memoryBudget: plan.budget,
      wallSeconds,
      cpuSeconds: { user: cpu.user / 1e6, system: cpu.system / 1e6 },
      bytesPerSecond: wallSeconds > 0 ? totalBytes / wallSeconds : 0,
      peakRssBytes: usage.maxRSS * 1024,
      pageFaults: { major: usage.majorPageFault - usageStart.majorPageFault, minor: usage.minorPageFault - usageStart.minorPageFault },
    },
  };
}

/**
 * Runs a job over one file or several and returns its result.
 * Same as `runJob(...).result`; see `runJob` for errors.
 *
 * @example
 * ```ts
 * import { mapReduce } from 'pagewise';
 * const lines = await mapReduce('big.log', new URL('./count-lines.mjs', import.meta.url));
 * ```
 */
export async function mapReduce<R = unknown>(input: string | readonly string[], job: JobRef, options?: MapReduceOptions): Promise<R> {
  return (await runJob<R>(input, job, options)).result;
}
