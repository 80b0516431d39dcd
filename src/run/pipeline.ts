/**
 * One run, straight down: plan it (src/plan/plan.ts), open its inputs a group
 * at a time, hand each group to its executor, let the reducer merge in file
 * order, finish, and report. Every executor goes through here; none of them
 * opens files, stops workers or builds the result on its own.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { PagewiseError, toPagewiseError } from '../errors.js';
import type { JobRef } from '../job.js';
import type { MemoryBudget } from '../memory.js';
import { native, Fadvise, Madvise } from '../native.js';
import type { MapReduceOptions } from '../options.js';
import { CutCache, terminatorOf } from '../plan/chunks.js';
import type { PlannedInput } from '../plan/inputs.js';
import { planRun, plannedChunks, spanChunks, type PlannedRun, type RunPlan } from '../plan/plan.js';
import type { Job, KeyedJob, KeyedStats, ParamsOf, ReleasePolicy, ResultOf } from '../types.js';
import { KeyedShuffle } from '../keyed/shuffle.js';
import { keyedExecutor } from './executors/keyed.js';
import { commutativeExecutor } from './executors/commutative.js';
import type { Executor, RunContext } from './executors/executor.js';
import { kernelExecutor } from './executors/kernel.js';
import { orderedExecutor } from './executors/ordered.js';
import { streamExecutor } from './executors/stream.js';
import type { ChunkSettings, FileIdentity, FileRef } from './messages.js';
import { RunTasks, loadPiscina, workerPool } from './pool.js';
import { ProgressMeter, Reducer, throwIfAborted } from './reducer.js';
import { checkFileIntact } from './chunk.js';

/** What one run did and how it went. */
export interface RunStats {
  files: number;
  bytes: number;
  chunks: number;
  /** Threads that read the input: workers, or on the kernel path libuv's threadpool lanes. */
  threads: number;
  chunkSize: number;
  chunkSizeReason: string;
  mode: 'mmap' | 'read' | 'mixed';
  /**
   * Who read the inputs read in chunks: `'kernel'` the job's native kernel on
   * libuv's threadpool (no JS worker started), `'workers'` the job's `map` in
   * the Piscina pool; `'none'` when nothing was (streams only, or empty files).
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
  /** How each input was read, and why (a refused mapping shows as `stream`, with the reason). */
  inputs: { path: string; kind: PlannedInput['kind']; reason: string }[];
  /** Things worth knowing about the run, one line each (a refused mapping, ...). */
  notes: string[];
  /** The whole plan the run followed. */
  plan: RunPlan;
  /** A keyed job's shuffle: keys, spilled bytes, runs, merge passes, partitions, the largest table. */
  keyed?: KeyedStats;
}

/** The result of `runJob`: the job's result and how the run went. */
export interface RunReport<R = unknown> {
  result: R;
  stats: RunStats;
}

/** State of one run while it executes. */
interface Run {
  planned: PlannedRun;
  ctx: RunContext;
  tasks: RunTasks | undefined;
  inputs: PlannedInput[];
  notes: string[];
  executors: Set<string>;
}

/**
 * Test hook: PAGEWISE_TEST_REFUSE_MMAP=<substring> makes mapping any input
 * whose path contains it fail as a filesystem that cannot map would (ENODEV),
 * so the fallback to reading is tested without such a filesystem.
 */
function refuseMmapForTests(path: string): void {
  const marker = process.env.PAGEWISE_TEST_REFUSE_MMAP;
  if (marker === undefined || marker === '' || !path.includes(marker)) return;
  const error = new Error(`ENODEV: no such device, mmap '${path}'`) as Error & Record<string, unknown>;
  Object.assign(error, { code: 'ENODEV', errno: -19, syscall: 'mmap', path });
  throw error;
}

/** Opens one input read in chunks; undefined when its mapping is refused (it is then read as a stream). */
function openInput(input: PlannedInput, plan: RunPlan, mmapOnly: boolean): FileRef | undefined {
  let fd: number;
  try {
    fd = openSync(input.path, 'r');
  } catch (error) {
    throw toPagewiseError(error);
  }
  let mappingId = -1;
  try {
    const s = fstatSync(fd, { bigint: true });
    const identity: FileIdentity = { size: Number(s.size), ino: s.ino, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
    if (input.kind === 'map') {
      try {
        refuseMmapForTests(input.path);
        const info = native.open(input.path);
        mappingId = info.id;
        identity.size = info.size;
      } catch (error) {
        const e = toPagewiseError(error);
        if (e.syscall === 'mmap' && !mmapOnly) {
          closeSync(fd);
          return undefined;
        }
        throw e;
      }
    }
    const size = identity.size;
    const { first, count: chunks } = spanChunks(plan, size);
    const ref: FileRef = {
      fileIndex: input.index,
      path: input.path,
      source: input.kind === 'map' ? 'map' : 'pread',
      mappingId,
      fd,
      size,
      firstChunk: first,
      chunks,
      identity,
    };
    if (chunks > 1 && terminatorOf(plan.job.split) >= 0) ref.cuts = CutCache.create(chunks, first).entries;
    if (plan.release === 'evict' && chunks > 0 && ref.source === 'map') ref.releaseState = new Int32Array(new SharedArrayBuffer(4 * chunks));
    if (ref.source === 'map' && size > 0) {
      const advice = plan.advice === 'hugepage' ? Madvise.hugepage : Madvise[plan.advice];
      native.advise(mappingId, 0, size, advice);
      if (plan.advice === 'hugepage') native.advise(mappingId, 0, size, Madvise.sequential);
    }
    return ref;
  } catch (error) {
    if (mappingId >= 0) native.close(mappingId);
    closeSync(fd);
    throw toPagewiseError(error);
  }
}

function closeFiles(files: FileRef[], plan: RunPlan): void {
  for (const f of files) {
    if (f.source === 'map') {
      // Workers evict behind each chunk; what a late boundary read or the
      // kernel's readahead brought back after the last chunk goes here.
      if (plan.release === 'evict' && f.size > 0) native.fadvise(f.mappingId, 0, f.size, Fadvise.dontneed);
      native.close(f.mappingId);
    }
    closeSync(f.fd);
  }
  files.length = 0;
}

function checkIntact(f: FileRef): void {
  checkFileIntact(f, f.source === 'map' ? native.faults(f.mappingId) : 0);
}

function executorFor(run: Run, files: FileRef[]): Executor {
  const { plan } = run.planned;
  const job = run.planned.job as Job;
  if (plan.executor === 'keyed') return keyedExecutor;
  if (plan.executor === 'kernel') return files[0].source === 'map' ? kernelExecutor : job.commutative ? commutativeExecutor : orderedExecutor;
  return plan.executor === 'commutative' ? commutativeExecutor : orderedExecutor;
}

/** Runs opened files (one group) through their executor. */
async function runFiles(run: Run, files: FileRef[]): Promise<void> {
  if (files.length === 0) return;
  const { reducer } = run.ctx;
  const chunks = files.reduce((n, f) => n + f.chunks, 0);
  if (chunks === 0) {
    // Empty files still contribute an (empty) accumulator, as map never runs (a keyed run: no pairs).
    if (run.ctx.keyed === undefined) for (const _ of files) reducer.addEmpty();
  } else {
    const executor = executorFor(run, files);
    run.executors.add(executor.name);
    await executor.run({ kind: 'chunks', files, chunks }, run.ctx);
    for (const f of files) checkIntact(f);
  }
  reducer.meter.filesDone += files.length;
}

async function runStream(run: Run, input: PlannedInput): Promise<void> {
  await (run.ctx.keyed !== undefined ? keyedExecutor : streamExecutor).run({ kind: 'stream', input }, run.ctx);
  run.ctx.reducer.meter.filesDone++;
}

/** Consecutive inputs read in chunks, at most maxOpenFiles open at once. */
async function runBatch(run: Run, batch: PlannedInput[]): Promise<void> {
  const { plan, options } = run.planned;
  const files: FileRef[] = [];
  try {
    for (const input of batch) {
      const ref = openInput(input, plan, options.mode === 'mmap');
      if (ref !== undefined) {
        files.push(ref);
        continue;
      }
      // The mapping was refused: what is open so far runs first, then this file is read.
      await runFiles(run, files);
      closeFiles(files, plan);
      const reason = 'its mapping was refused (mmap failed): read sequentially';
      run.inputs[input.index] = { ...input, kind: 'stream', reason };
      run.notes.push(`'${input.path}': ${reason}`);
      await runStream(run, run.inputs[input.index]);
    }
    await runFiles(run, files);
  } catch (error) {
    // Workers may still be reading these files: stop them before unmapping.
    await run.tasks?.stop();
    throw error;
  } finally {
    closeFiles(files, plan);
  }
}

function settingsOf(planned: PlannedRun): ChunkSettings {
  const { plan, options } = planned;
  return {
    split: plan.job.split,
    chunkSize: plan.chunkSize,
    maxRecordLength: plan.maxRecordLength,
    checkRecordLength: plan.checkRecordLength,
    release: plan.release,
    prefetch: plan.prefetch,
    prefetchStep: plan.prefetchStep,
    params: options.params,
  };
}

async function execute<R>(planned: PlannedRun, startedAt: number, cpuStart: NodeJS.CpuUsage, usageStart: NodeJS.ResourceUsage): Promise<RunReport<R>> {
  const { plan, options: o } = planned;
  const needsWorkers = plan.inputs.some((i) => i.kind === 'pread' || (i.kind === 'map' && plan.executor !== 'kernel'));
  // Start the workers now: their start-up overlaps opening the inputs.
  if (needsWorkers) void workerPool(plan.threads, o.resourceLimits).catch(() => {});
  const meter = new ProgressMeter(plan.knownBytes, plannedChunks(plan), plan.inputs.length, o.onProgress);
  const reducer = new Reducer(planned.job as Job, o.params, { onMerged: o.onMerged }, meter);
  const tasksOf = async (): Promise<RunTasks> => (run.tasks ??= new RunTasks(await workerPool(plan.threads, o.resourceLimits)));
  const keyed =
    plan.keyed === undefined
      ? undefined
      : new KeyedShuffle({
          job: planned.job as KeyedJob,
          handle: planned.handle,
          params: o.params,
          threads: plan.threads,
          share: plan.keyed.share,
          tempDir: plan.keyed.tempDir,
          mode: o.internal.keyedResult ?? (o.output !== undefined ? { kind: 'json' } : { kind: 'pairs' }),
          output: o.output,
          table: o.internal.keyedTable !== false,
          signal: o.signal,
          tasks: () => tasksOf(),
        });
  const run: Run = {
    planned,
    tasks: undefined,
    inputs: [...plan.inputs],
    notes: [],
    executors: new Set(),
    ctx: {
      plan,
      job: planned.job as Job,
      handle: planned.handle,
      kernel: planned.kernel,
      settings: settingsOf(planned),
      reducer,
      keyed,
      signal: o.signal,
      tasks: () => tasksOf(),
    },
  };
  let keyedResult: unknown;
  try {
    let i = 0;
    while (i < plan.inputs.length) {
      throwIfAborted(o.signal);
      const input = plan.inputs[i];
      if (input.kind === 'stream') {
        await runStream(run, input);
        i++;
        continue;
      }
      const batch: PlannedInput[] = [];
      while (i < plan.inputs.length && plan.inputs[i].kind !== 'stream' && batch.length < plan.maxOpenFiles) batch.push(plan.inputs[i++]);
      await runBatch(run, batch);
    }
    meter.report(true);
    if (keyed !== undefined) keyedResult = await keyed.finish();
  } catch (error) {
    await run.tasks?.stop();
    // After the tasks stopped, so no thread writes into the run directory any more.
    keyed?.abort();
    throw error instanceof PagewiseError ? error : toPagewiseError(error);
  }
  const result = keyed !== undefined ? keyedResult : reducer.finish();
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const usage = process.resourceUsage();
  const mapped = run.inputs.filter((i) => i.kind === 'map').length;
  const chunked = run.executors.size > 0;
  return {
    result: result as R,
    stats: {
      files: plan.inputs.length,
      bytes: meter.bytesDone,
      chunks: meter.chunksDone,
      threads: plan.threads,
      chunkSize: plan.chunkSize,
      chunkSizeReason: plan.chunkSizeReason,
      mode: mapped === run.inputs.length ? 'mmap' : mapped === 0 ? 'read' : 'mixed',
      executor: !chunked ? 'none' : run.executors.has('kernel') ? 'kernel' : 'workers',
      release: plan.release,
      releaseReason: plan.releaseReason,
      memoryBudget: plan.budget,
      wallSeconds,
      cpuSeconds: { user: cpu.user / 1e6, system: cpu.system / 1e6 },
      bytesPerSecond: wallSeconds > 0 ? meter.bytesDone / wallSeconds : 0,
      peakRssBytes: usage.maxRSS * 1024,
      pageFaults: { major: usage.majorPageFault - usageStart.majorPageFault, minor: usage.minorPageFault - usageStart.minorPageFault },
      inputs: run.inputs.map((i) => ({ path: i.path, kind: i.kind, reason: i.reason })),
      notes: run.notes,
      plan,
      ...(keyed === undefined ? {} : { keyed: { ...keyed.stats } }),
    },
  };
}

/**
 * Runs a job over one file or several and returns its result with run
 * statistics.
 *
 * @param input a path, or an array of paths processed in the order given
 *   (`'-'` reads standard input). Regular files are mapped; FIFOs, stdin and
 *   files whose size says nothing (procfs, sysfs) are read sequentially.
 * @param job the job module's path or file URL.
 * @throws ENOENT, EACCES and other OS errors (with `path`, `syscall`, `errno`);
 *   ERR_PAGEWISE_NOT_REGULAR_FILE, ERR_PAGEWISE_INVALID_OPTION,
 *   ERR_PAGEWISE_JOB_LOAD, ERR_PAGEWISE_JOB_FAILED, ERR_PAGEWISE_BAD_RECORD,
 *   ERR_PAGEWISE_BAD_ACCUMULATOR, ERR_PAGEWISE_NOT_CLONEABLE,
 *   ERR_PAGEWISE_CALLBACK_FAILED, ERR_PAGEWISE_WORKER_DIED,
 *   ERR_PAGEWISE_RECORD_TOO_LONG, ERR_PAGEWISE_PARTIAL_RECORD,
 *   ERR_PAGEWISE_FILE_TRUNCATED, ERR_PAGEWISE_FILE_CHANGED,
 *   ERR_PAGEWISE_UNBOUNDED_INPUT, ERR_PAGEWISE_ABORTED.
 * @example
 * ```ts
 * const { result, stats } = await runJob('big.log', './count-errors.mjs', { chunkSize: '8MiB' });
 * ```
 */
export async function runJob<J = unknown>(
  input: string | readonly string[],
  job: JobRef<J>,
  options?: MapReduceOptions<ParamsOf<J>>,
): Promise<RunReport<ResultOf<J>>> {
  const startedAt = performance.now();
  const cpuStart = process.cpuUsage();
  const usageStart = process.resourceUsage();
  // Piscina starts loading now, overlapping the job's import in planRun.
  if (options?.nativeKernels === false && options.mode !== 'read') void loadPiscina().catch(() => {});
  throwIfAborted(options?.signal);
  const planned = await planRun(input, job, options);
  throwIfAborted(planned.options.signal);
  return execute<ResultOf<J>>(planned, startedAt, cpuStart, usageStart);
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
export async function mapReduce<J = unknown>(input: string | readonly string[], job: JobRef<J>, options?: MapReduceOptions<ParamsOf<J>>): Promise<ResultOf<J>> {
  return (await runJob<J>(input, job, options)).result;
}

/**
 * What a run of `job` over `input` would do, and why, without reading any
 * input: how each input is read, the executor, threads, chunk size, release
 * policy and prefetch (`pagewise --explain`).
 * @throws what `runJob` throws before it reads (see `runJob`).
 */
export async function planJob<J = unknown>(input: string | readonly string[], job: JobRef<J>, options?: MapReduceOptions<ParamsOf<J>>): Promise<RunPlan> {
  return (await planRun(input, job, options)).plan;
}

