/**
 * Plan once: from the inputs, the job and the options, decide everything a
 * run does before it reads a byte — how each input is read, which executor
 * runs the job, the thread count, the chunk size, the release policy and the
 * prefetch — and record why. The plan is immutable data: `--stats` prints it
 * with the run's figures, `--explain` prints it instead of running.
 */
import { availableParallelism } from 'node:os';
import { ErrorCodes, JobFailedError, PagewiseError } from '../errors.js';
import { isKeyedJob, loadJobForRun, jobPath, type JobRef } from '../job.js';
import { memoryBudget, type MemoryBudget } from '../memory.js';
import { nativeAvailable, noteFallback, PAGE_SIZE } from '../native.js';
import { MAX_VIEW_LENGTH, formatBytes, resolveOptions, type MapReduceOptions, type ResolvedOptions } from '../options.js';
import type { AnyJob, Job, KernelOp, KernelPlan, ReleasePolicy, Split } from '../types.js';
import type { JobHandle } from '../run/messages.js';
import { resolveSplit } from '../csv/split.js';
import { autoChunkSize, checkWholeRecords, chunkCount } from './chunks.js';
import { checkWritableMappings } from '../output/in-place.js';
import { checkInputPath, planInput, type PlannedInput } from './inputs.js';
import { checkTempDir } from '../keyed/tempdir.js';
import { THREADS_PER_CORE, poolThreads } from '../run/pool.js';

/** Who reads the inputs that are read in chunks (mapped or with positional reads). */
export type ExecutorName = 'kernel' | 'ordered' | 'commutative' | 'remote' | 'keyed';

/** Everything a run decided, and why. */
export interface RunPlan {
  readonly job: { readonly path: string; readonly version: string; readonly split: Split; readonly commutative: boolean };
  readonly inputs: readonly PlannedInput[];
  /** The executor of the inputs read in chunks; streams are read on the calling thread. */
  readonly executor: ExecutorName;
  readonly executorReason: string;
  /** Threads that read chunks: workers, or on the kernel path libuv's threadpool lanes. */
  readonly threads: number;
  readonly threadsReason: string;
  readonly chunkSize: number;
  readonly chunkSizeReason: string;
  readonly release: Exclude<ReleasePolicy, 'auto'>;
  readonly releaseReason: string;
  readonly budget: MemoryBudget;
  readonly prefetch: number;
  readonly prefetchReason: string;
  /** Bytes per MADV_WILLNEED call: one kernel readahead window. */
  readonly prefetchStep: number;
  readonly advice: ResolvedOptions['advice'];
  readonly maxRecordLength: number;
  /** An explicit maxRecordLength: every record of a slice longer than it is checked. */
  readonly checkRecordLength: boolean;
  readonly maxOpenFiles: number;
  /** Only the chunks whose nominal start lies in [start, end) of the one input are read (a cluster split). */
  readonly span: { readonly start: number; readonly end: number } | undefined;
  /**
   * A cluster run (executor `remote`): the chunked inputs are cut into splits
   * of `splitSize` (the plan's "chunks" are then splits) that workers read in
   * chunks of `workerChunkSize`. The URL is masked.
   */
  readonly cluster: { readonly url: string; readonly queue: string; readonly splitSize: number; readonly workerChunkSize: number | 'auto'; readonly timeout: number | undefined } | undefined;
  /** Most bytes read from a stream (devices such as /dev/zero need it). */
  readonly maxBytes: number | undefined;
  /** Bytes of the inputs whose size is known before reading (mapped or read in chunks). */
  readonly knownBytes: number;
  /** Where `info.write` goes: a path, 'a Writable', or undefined (no output). */
  readonly output: string | undefined;
  /** The inputs are mapped writable and `map` updates them (see MapReduceOptions.inPlace). */
  readonly inPlace: boolean;
  /** A keyed job's shuffle: the tables' share of the budget, per thread, and where they spill. */
  readonly keyed: { readonly share: number; readonly shareReason: string; readonly tempDir: string } | undefined;
}

/** A plan with what running it needs and plain data cannot hold. */
export interface PlannedRun {
  plan: RunPlan;
  options: ResolvedOptions;
  /** The job (a keyed job when `plan.executor` is `'keyed'`). */
  job: AnyJob;
  handle: JobHandle;
  /** The job's kernel plan, when the kernel executor runs it. */
  kernel: KernelPlan | undefined;
}

/**
 * One kernel readahead window (read_ahead_kb 8192 on the reference VM): one
 * MADV_WILLNEED call reads at most this much, and a scan reads up to this far
 * past where it is.
 */
export const READAHEAD_WINDOW = 8 << 20;

/**
 * A plan that copies records holds each chunk's copy until it is merged, up
 * to the reorder window of them: it gets chunks as small as the workers',
 * which bound that memory as they bound a worker's partials.
 */
function copiesRecords(plan: KernelPlan | undefined): boolean {
  return plan?.ops.some((op) => op.op === 'copyRecordsContaining') === true;
}

/** The auto prefetch, one chunk per worker thread, stops here (the option's own maximum). */
const MAX_AUTO_PREFETCH = 64;

/**
 * `auto` chunk sizing per executor. Native kernels scan at memory speed, so
 * fewer, larger chunks are fastest; a JavaScript map is 10-50x slower per
 * byte, so the last chunk decides the run's tail and chunks must be smaller
 * (figures in docs/performance.md).
 */
const AUTO_CHUNKS = {
  kernel: { perThread: 8, max: 64 << 20 },
  // Kernels that copy records: see copiesRecords.
  copy: { perThread: 32, max: 16 << 20 },
  workers: { perThread: 32, max: 16 << 20 },
} as const;

/**
 * libuv's threadpool size (what the kernel path can run at once), read from
 * UV_THREADPOOL_SIZE as libuv reads it: unset 4, else atoi() with 0 as 1 and
 * anything above 1024 (a negative value too, once unsigned) as 1024.
 */
export function threadpoolSize(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env.UV_THREADPOOL_SIZE;
  if (raw === undefined || raw === '') return 4;
  const m = /^\s*([+-]?\d+)/.exec(raw);
  const n = m ? Number(m[1]) : 0;
  if (n < 0 || n > 1024) return 1024;
  return n === 0 ? 1 : n;
}

/**
 * The job's kernel plan for this run, or undefined (and why) when its `map`
 * must run in workers: no kernel, `nativeKernels: false`, an explicit
 * maxRecordLength (checked record by record, in workers), or no addon.
 * @throws ERR_PAGEWISE_JOB_FAILED when `kernel()` throws or returns a bad plan.
 */
function kernelPlanOf(job: Job, o: ResolvedOptions): { plan: KernelPlan | undefined; why: string } {
  if (!job.kernel) return { plan: undefined, why: 'the job has no native kernel' };
  if (o.inPlace) return { plan: undefined, why: 'inPlace: map writes the file' };
  if (!o.nativeKernels) return { plan: undefined, why: 'nativeKernels: false was asked for' };
  if (o.explicitMaxRecordLength) return { plan: undefined, why: 'an explicit maxRecordLength is checked record by record in workers' };
  if (!nativeAvailable) return { plan: undefined, why: 'the native addon is not available' };
  let plan: KernelPlan | undefined;
  try {
    plan = job.kernel(o.params);
  } catch (error) {
    throw new JobFailedError(`job kernel() failed: ${(error as Error)?.message ?? error}`, { cause: error });
  }
  if (plan === undefined) return { plan: undefined, why: 'the job has no native kernel for these params' };
  const bad = (why: string): never => {
    throw new JobFailedError(`job kernel() returned a bad plan: ${why}`, {});
  };
  if (plan === null || typeof plan !== 'object' || !Array.isArray(plan.ops) || typeof plan.fold !== 'function') {
    bad('expected { ops: KernelOp[], fold(acc, counts, info) }');
  }
  const isByte = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255;
  for (const op of plan.ops as KernelOp[]) {
    if (op?.op === 'countByte' && isByte(op.byte)) continue;
    if (op?.op === 'countWords' || op?.op === 'countWcUtf8') continue;
    const records = op?.op === 'countRecordsContaining' || op?.op === 'copyRecordsContaining';
    if (records && isByte(op.terminator) && op.needle instanceof Uint8Array && (op.op === 'countRecordsContaining' || op.needle.length > 0) && !op.needle.includes(op.terminator)) continue;
    bad(`unknown or malformed op ${JSON.stringify(op)} (a records op's needle must be a Uint8Array without the terminator, and not empty for copyRecordsContaining)`);
  }
  if ((plan.ops as KernelOp[]).filter((op) => op.op === 'copyRecordsContaining').length > 1) bad('at most one copyRecordsContaining op');
  return { plan, why: "the job's native kernel runs on libuv's threadpool, no JS worker" };
}

/**
 * The part of the memory budget a keyed run's tables may hold, all threads
 * together; the rest is the input's pages, the merges' windows and the
 * processes themselves (docs/keyed.md has the accounting).
 */
export const KEYED_BUDGET_FRACTION = 0.25;

function planRelease(o: ResolvedOptions, budget: MemoryBudget, largestFile: number, keyed: boolean): { release: Exclude<ReleasePolicy, 'auto'>; why: string } {
  if (o.release !== 'auto') return { release: o.release, why: `release: '${o.release}' was asked for` };
  if (keyed && largestFile > budget.bytes * KEYED_BUDGET_FRACTION) {
    return {
      release: 'evict',
      why: `auto: input (${formatBytes(largestFile)}) is larger than what a keyed run's tables leave of the memory budget for cached pages (${formatBytes(budget.bytes * KEYED_BUDGET_FRACTION)} of ${formatBytes(budget.bytes)}, ${budget.source}), so pages are evicted behind`,
    };
  }
  if (largestFile > budget.bytes) {
    return {
      release: 'evict',
      why: `auto: input (${formatBytes(largestFile)}) is larger than the memory budget (${formatBytes(budget.bytes)}, ${budget.source}), so pages are evicted behind`,
    };
  }
  return { release: 'keep', why: `auto: input fits in the memory budget (${formatBytes(budget.bytes)}, ${budget.source}), so pages stay cached for the next run` };
}

function planChunkSize(
  o: ResolvedOptions,
  knownBytes: number,
  threads: number,
  kind: keyof typeof AUTO_CHUNKS,
  release: Exclude<ReleasePolicy, 'auto'>,
  budget: MemoryBudget,
  // Chunks each thread has read ahead of its own (the auto prefetch's windows overlap: 1).
  prefetch: number,
): { chunkSize: number; why: string } {
  if (o.chunkSize !== 'auto') return { chunkSize: o.chunkSize, why: 'given' };
  const { perThread, max } = AUTO_CHUNKS[kind];
  let chunkSize = autoChunkSize(knownBytes, threads, PAGE_SIZE, perThread, max);
  let why = `auto: ~${threads * perThread} chunks for ${threads} threads (${kind === 'kernel' ? 'native kernels' : kind === 'copy' ? 'native kernels that copy records' : 'workers'}), between 1 MiB and ${formatBytes(max)}`;
  if (release !== 'keep') {
    // Bounded memory: every thread holds its chunk plus its prefetch, and the
    // kernel reads up to one readahead window past where it reads; that
    // working set stays under a quarter of the budget (the rest leaves room
    // for the pages evict keeps past each running chunk).
    const cap = Math.floor((budget.bytes / (4 * threads) - READAHEAD_WINDOW) / (1 + prefetch));
    if (chunkSize > cap) {
      chunkSize = cap < PAGE_SIZE * 16 ? PAGE_SIZE * 16 : Math.max(PAGE_SIZE * 16, 2 ** Math.floor(Math.log2(cap)));
      why += ', capped so threads x (1 + prefetch) chunks and a readahead window each stay under 1/4 of the memory budget';
    }
  }
  return { chunkSize, why };
}

/**
 * Plans a run of `job` over `input`.
 * @throws everything `runJob` throws before it reads: ERR_PAGEWISE_INVALID_OPTION,
 * ERR_PAGEWISE_JOB_LOAD, OS errors for missing inputs, ERR_PAGEWISE_NOT_REGULAR_FILE,
 * ERR_PAGEWISE_UNBOUNDED_INPUT, ERR_PAGEWISE_PARTIAL_RECORD, and
 * ERR_PAGEWISE_JOB_FAILED from a throwing `kernel()`.
 */
export async function planRun(input: string | readonly string[], jobRef: JobRef<unknown>, options?: MapReduceOptions<unknown>): Promise<PlannedRun> {
  const o = resolveOptions(options, PAGE_SIZE);
  const paths = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(paths) || paths.length === 0) {
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, 'input must be a path or a non-empty array of paths', { option: 'input' });
  }
  for (const p of paths) checkInputPath(p);
  if (typeof jobRef !== 'string' && !(jobRef !== null && typeof jobRef === 'object' && typeof jobRef.href === 'string' && jobRef.protocol === 'file:')) {
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, 'job must be the path or file URL of a job module', { option: 'job' });
  }
  const { job: loaded, handle } = await loadJobForRun(jobPath(jobRef));
  const keyedJob = isKeyedJob(loaded);
  // The map-reduce parts of the plan see a keyed job as having no kernel and no merge order.
  const job = loaded as Job;
  if (keyedJob && o.inPlace) {
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, 'options.inPlace is for jobs that update their input through map; a keyed job emits pairs', { option: 'options.inPlace' });
  }
  // CSV options filled in once, so every thread and `info.split` see the same.
  const split: Split = resolveSplit(o.internal.split ?? job.split ?? 'lines');
  const inputs: PlannedInput[] = [];
  for (const [index, path] of paths.entries()) inputs.push(await planInput(path, index, { mode: o.mode, maxBytes: o.maxBytes, canMap: nativeAvailable }));
  const as = o.internal.as;
  if (as !== undefined) {
    if (inputs.length !== 1) throw new PagewiseError(ErrorCodes.INVALID_OPTION, "'as' applies to exactly one input", { option: 'as' });
    inputs[0] = { ...inputs[0], index: as.fileIndex, path: as.path, openPath: inputs[0].path };
  }
  const chunked = inputs.filter((i) => i.kind !== 'stream');
  for (const i of chunked) checkWholeRecords(i.size!, split, i.path);
  if (!nativeAvailable && chunked.length > 0) noteFallback();

  let kernel = keyedJob ? { plan: undefined, why: 'a keyed job' } : chunked.some((i) => i.kind === 'map') ? kernelPlanOf(job, o) : { plan: undefined, why: 'nothing is mapped' };
  let executor: ExecutorName = keyedJob ? 'keyed' : kernel.plan ? 'kernel' : job.commutative ? 'commutative' : 'ordered';
  let executorReason = keyedJob
    ? "a keyed job: each worker's map into its own table, which spills sorted runs past its share of the memory budget; then a merge in key order"
    : kernel.plan
      ? kernel.why
      : chunked.length === 0
        ? // No worker runs then: the stream executor maps each block as it is read.
          `every input is a stream: the job's map on the main thread, block by block as the input arrives, ${job.commutative ? 'into one accumulator (commutative: true)' : 'each block a partial merged in order'}`
        : `${kernel.why}: the job's map in worker threads, ${job.commutative ? 'one accumulator per worker (commutative: true)' : 'one task per chunk, merged in file order'}`;
  const forced = o.internal.executor;
  if (keyedJob && forced !== undefined) {
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, 'a keyed job runs on the keyed executor only', { option: 'executor' });
  }
  if (forced !== undefined && forced !== executor) {
    if (forced === 'kernel' && !kernel.plan) throw new PagewiseError(ErrorCodes.INVALID_OPTION, `the kernel executor cannot run this job: ${kernel.why}`, { option: 'executor' });
    if (forced === 'commutative' && !job.commutative) {
      throw new PagewiseError(ErrorCodes.INVALID_OPTION, 'the commutative executor needs a job declared commutative: true', { option: 'executor' });
    }
    if (forced !== 'kernel') kernel = { plan: undefined, why: `the ${forced} executor was asked for` };
    executor = forced;
    executorReason = `the ${forced} executor was asked for`;
  }
  const span = o.internal.span;
  if (span !== undefined) checkSpan(span, chunked, inputs.length);
  const cluster = o.cluster;
  if (cluster !== undefined) {
    if ((job as { keyed?: unknown }).keyed === true) {
      throw new PagewiseError(
        ErrorCodes.CLUSTER_UNSUPPORTED,
        `job '${jobPath(jobRef)}' is keyed (keyed: true): keyed jobs cannot run on a cluster yet (the shuffle by key across workers is not built); run it locally`,
        { feature: 'keyed', path: jobPath(jobRef) },
      );
    }
    if (span !== undefined || forced !== undefined) {
      throw new PagewiseError(ErrorCodes.INVALID_OPTION, 'a cluster run cannot also be given a span or an executor', { option: 'cluster' });
    }
    if (o.output !== undefined || o.inPlace) {
      throw new PagewiseError(ErrorCodes.CLUSTER_UNSUPPORTED, 'a cluster run cannot write output or update files in place yet: run it locally', {
        feature: o.inPlace ? 'inPlace' : 'output',
      });
    }
    kernel = { plan: undefined, why: 'cluster' };
    executor = 'remote';
    executorReason = `splits read by pagewise workers on queue '${cluster.queue}' at ${cluster.maskedUrl}, partials merged here ${job.commutative ? 'as they come (commutative: true)' : 'in file order'}`;
  }
  if (o.inPlace) checkInPlace(inputs, executor);

  const cores = availableParallelism();
  let threads = poolThreads(o.threads, cores);
  let threadsReason = threads < o.threads ? `${o.threads} asked for, capped at ${THREADS_PER_CORE} per core (${cores} cores)` : `${threads} ${options?.threads === undefined ? '(one per core)' : 'asked for'}`;
  if (executor === 'remote') threadsReason = "each worker's own (pagewise worker --threads N)";
  if (executor === 'kernel' && threads > threadpoolSize()) {
    threads = threadpoolSize();
    threadsReason += `; at most libuv's threadpool size (${threads}, UV_THREADPOOL_SIZE) on the kernel path`;
  }

  // Workers take chunks in turn, so the next threads - 1 chunks are the other
  // workers' already: one chunk ahead per thread keeps reads ahead of all of
  // them (a cold file: no I/O wait; docs/decisions.md). A kernel lane queues
  // its next chunk itself. The windows overlap, so the pages read ahead are
  // still about one chunk per thread, as with a prefetch of 1 each before.
  const prefetch = o.prefetch ?? (executor === 'kernel' ? 1 : Math.min(threads, MAX_AUTO_PREFETCH));
  const prefetchReason = o.prefetch !== undefined ? 'given' : executor === 'kernel' ? 'auto: 1 on the kernel path' : 'auto: one per thread';
  const knownBytes = span === undefined ? chunked.reduce((n, i) => n + i.size!, 0) : Math.min(span.end, chunked[0].size!) - span.start;
  const budget = memoryBudget(o.memoryBudget);
  const release = planRelease(o, budget, chunked.reduce((n, i) => Math.max(n, i.size!), 0), keyedJob);
  const chunks =
    cluster !== undefined
      ? {
          chunkSize: cluster.splitSize,
          why: `splits of ${formatBytes(cluster.splitSize)}; workers read them in chunks of ${o.chunkSize === 'auto' ? "their own 'auto' size, a divisor of the split size" : formatBytes(o.chunkSize)}`,
        }
      : planChunkSize(o, knownBytes, threads, executor !== 'kernel' ? 'workers' : copiesRecords(kernel.plan) ? 'copy' : 'kernel', release.release, budget, o.prefetch ?? 1);
  if (span?.align !== undefined && o.chunkSize === 'auto') {
    const aligned = divisorAtMost(span.align, chunks.chunkSize, PAGE_SIZE);
    if (aligned !== chunks.chunkSize) {
      chunks.chunkSize = aligned;
      chunks.why += `, lowered to ${formatBytes(aligned)} to divide the split size (${formatBytes(span.align)})`;
    }
  }
  if (span !== undefined && (span.start % chunks.chunkSize !== 0 || (span.end % chunks.chunkSize !== 0 && span.end < chunked[0].size!))) {
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, `a span's ends must be multiples of the chunk size (${chunks.chunkSize} bytes)`, { option: 'span' });
  }
  return {
    plan: {
      job: { path: jobPath(jobRef), version: handle.version, split, commutative: job.commutative === true },
      inputs,
      executor,
      executorReason,
      threads,
      threadsReason,
      chunkSize: chunks.chunkSize,
      chunkSizeReason: chunks.why,
      release: release.release,
      releaseReason: cluster !== undefined && o.release === 'auto' ? "auto: each worker decides by its own memory budget" : release.why,
      budget,
      prefetch,
      prefetchReason,
      prefetchStep: READAHEAD_WINDOW,
      advice: o.advice,
      // No view is made on the kernel path, so no view limit applies there.
      maxRecordLength: o.explicitMaxRecordLength ? o.maxRecordLength : executor === 'kernel' ? Number.MAX_SAFE_INTEGER : MAX_VIEW_LENGTH,
      checkRecordLength: o.explicitMaxRecordLength,
      maxOpenFiles: o.maxOpenFiles,
      maxBytes: o.maxBytes,
      span,
      cluster:
        cluster === undefined
          ? undefined
          : { url: cluster.maskedUrl, queue: cluster.queue, splitSize: cluster.splitSize, workerChunkSize: o.chunkSize, timeout: cluster.timeout },
      knownBytes,
      output: o.output === undefined ? undefined : typeof o.output === 'string' ? o.output : 'a Writable',
      inPlace: o.inPlace,
      keyed: keyedJob ? planKeyed(o, budget, threads) : undefined,
    },
    options: o,
    job,
    handle,
    kernel: kernel.plan,
  };
}

/**
 * In place: every input must be mapped (a stream or a positional read has no
 * pages to write back), and the addon must map writable.
 * @throws ERR_PAGEWISE_NOT_MAPPED, ERR_PAGEWISE_UNSUPPORTED, ERR_PAGEWISE_INVALID_OPTION.
 */
function checkInPlace(inputs: PlannedInput[], executor: ExecutorName): void {
  if (executor === 'kernel') throw new PagewiseError(ErrorCodes.INVALID_OPTION, 'inPlace runs the job\'s map: the kernel executor cannot', { option: 'executor' });
  for (const i of inputs) {
    if (i.kind !== 'map') {
      throw new PagewiseError(ErrorCodes.NOT_MAPPED, `'${i.path}' is ${i.kind === 'pread' ? 'read with positional reads' : 'read as a stream'} (${i.reason}), not mapped: inPlace writes through a mapping`, {
        path: i.path,
        option: 'options.inPlace',
      });
    }
  }
  checkWritableMappings();
}

/**
 * The largest page multiple that divides `align` and is at most `most` (at
 * least one page): a chunk size whose grid has every split end on it.
 */
export function divisorAtMost(align: number, most: number, page: number): number {
  const n = align / page;
  const limit = Math.max(1, Math.floor(most / page));
  let best = 1;
  for (let d = 1; d * d <= n; d++) {
    if (n % d !== 0) continue;
    if (d <= limit && d > best) best = d;
    const e = n / d;
    if (e <= limit && e > best) best = e;
  }
  return best * page;
}

/** Smallest share of a thread's table: tests force spilling with a tiny memoryBudget, and a table still holds some keys. */
const MIN_SHARE = 64 << 10;

function planKeyed(o: ResolvedOptions, budget: MemoryBudget, threads: number): NonNullable<RunPlan['keyed']> {
  checkTempDir(o.tempDir);
  const share = Math.max(MIN_SHARE, Math.floor((budget.bytes * KEYED_BUDGET_FRACTION) / threads));
  return {
    share,
    shareReason: `${KEYED_BUDGET_FRACTION * 100}% of the memory budget (${formatBytes(budget.bytes)}, ${budget.source}) for the tables, over ${threads} thread(s)`,
    tempDir: o.tempDir,
  };
}

function checkSpan(span: { start: number; end: number }, chunked: PlannedInput[], inputs: number): void {
  if (inputs !== 1 || chunked.length !== 1) {
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, 'a span applies to exactly one input, read in chunks (mapped or with positional reads)', { option: 'span' });
  }
  const size = chunked[0].size!;
  if (!Number.isSafeInteger(span.start) || !Number.isSafeInteger(span.end) || span.start < 0 || span.end <= span.start || span.start >= size) {
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, `a span must be [start, end) with 0 <= start < end and start < the file's size (${size})`, { option: 'span' });
  }
}

/** The chunks [first, first + count) of the file's grid a run reads of an input of `size` bytes. */
export function spanChunks(plan: RunPlan, size: number): { first: number; count: number } {
  if (plan.span === undefined) return { first: 0, count: chunkCount(size, plan.chunkSize) };
  const first = plan.span.start / plan.chunkSize;
  return { first, count: chunkCount(Math.min(plan.span.end, size) - plan.span.start, plan.chunkSize) };
}

/** Chunks of the inputs read in chunks, under a plan. */
export function plannedChunks(plan: RunPlan): number {
  return plan.inputs.reduce((n, i) => n + (i.kind === 'stream' ? 0 : spanChunks(plan, i.size!).count), 0);
}

/** The plan as lines for people (`--explain`, `--stats`). */
export function describePlan(plan: RunPlan): string {
  // Streams only: no worker, no chunk, no mapping, so threads, chunk size, release and prefetch
  // would describe a run that does not happen.
  const streamsOnly = plan.inputs.length > 0 && plan.inputs.every((i) => i.kind === 'stream');
  const lines = [
    `job              ${plan.job.path} (version ${plan.job.version}, split ${JSON.stringify(plan.job.split)}${plan.job.commutative ? ', commutative' : ''})`,
    ...plan.inputs.map((i) => `input ${String(i.index).padEnd(10)} ${i.path}: ${i.kind}${i.size === undefined ? '' : `, ${formatBytes(i.size)}`} (${i.reason})`),
    `executor         ${plan.executor} (${plan.executorReason})`,
    ...(streamsOnly
      ? ['threads          1 (every input is a stream: the main thread reads it and runs the map; --threads and --chunk-size do not apply)']
      : [
          `threads          ${plan.threads} (${plan.threadsReason})`,
          plan.cluster === undefined
            ? `chunk size       ${formatBytes(plan.chunkSize)}, ${plannedChunks(plan)} chunks (${plan.chunkSizeReason})`
            : `split size       ${formatBytes(plan.chunkSize)}, ${plannedChunks(plan)} splits (${plan.chunkSizeReason})`,
          `release          ${plan.release} (${plan.releaseReason})`,
          `prefetch         ${plan.prefetch} chunk(s) ahead (${plan.prefetchReason}), ${formatBytes(plan.prefetchStep)} per MADV_WILLNEED; advice ${plan.advice}`,
        ]),
    ...(plan.output === undefined ? [] : [`output           ${plan.output}`]),
    ...(plan.inPlace ? ['in place         the inputs are mapped writable; each chunk is flushed (msync) before it is done'] : []),
    ...(plan.keyed === undefined ? [] : [`keyed tables     ${formatBytes(plan.keyed.share)} per thread (${plan.keyed.shareReason}); spills to ${plan.keyed.tempDir}`]),
    `max record       ${plan.maxRecordLength >= Number.MAX_SAFE_INTEGER ? 'unbounded (no view is made)' : `${formatBytes(plan.maxRecordLength)}${plan.checkRecordLength ? ' (given: every record is checked)' : ' (the largest view this runtime allows)'}`}`,
  ];
  return `${lines.join('\n')}\n`;
}
