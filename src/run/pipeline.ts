/**
 * One run, straight down: plan it (src/plan/plan.ts), open its inputs a group
 * at a time, hand each group to its executor, let the reducer merge in file
 * order, finish, and report. Every executor goes through here; none of them
 * opens files, stops workers or builds the result on its own.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { ErrorCodes, PagewiseError, toPagewiseError } from '../errors.js';
import { openWritable } from '../output/in-place.js';
import type { SplitCuts } from '../cluster/bull.js';
import type { OutputSink } from '../output/sink.js';
import type { JobRef } from '../job.js';
import type { MemoryBudget } from '../memory.js';
import { native, Fadvise, Madvise } from '../native.js';
import type { MapReduceOptions } from '../options.js';
import { CutCache, readsWholeFile, terminatorOf } from '../plan/chunks.js';
import type { PlannedInput } from '../plan/inputs.js';
import { planRun, plannedChunks, spanChunks, type PlannedRun, type RunPlan } from '../plan/plan.js';
import type { AbortSignalLike, ClusterReport, Job, KeyedJob, KeyedStats, ParamsOf, ReleasePolicy, ResultOf } from '../types.js';
import type { Executor, RunContext } from './executors/executor.js';
import type { ChunkSettings, FileIdentity, FileRef } from './messages.js';
import { RunTasks, loadPiscina, workerPool } from './pool.js';
import { isCsv } from '../csv/split.js';
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
  executor: 'kernel' | 'workers' | 'cluster' | 'none';
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
  /**
   * A CSV run: how its record boundaries were found. `'guessed'`: from a
   * window at each cut, proved as the chunks were read; `'first pass'`: from
   * a read of every file before the chunks (also after a guess that did not
   * hold, which `notes` says). Not for a cluster run: its workers cut, and
   * `cluster.redone` counts the splits cut again.
   */
  csvCuts?: 'guessed' | 'first pass';
  /** Where `info.write` went and how much (when the run had an output). */
  output?: { target: string; kind: 'file' | 'stream'; bytes: number };
  /** The whole plan the run followed. */
  plan: RunPlan;
  /** A cluster run's splits and workers (there, `chunks` counts splits and `chunkSize` is the split size). */
  cluster?: ClusterReport;
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
  /** How the run's CSV groups were cut (RunStats.csvCuts). */
  csvCuts?: 'guessed' | 'first pass';
  /** A cluster split of a CSV file: its cuts, which go back to the coordinator with its partial. */
  spanCuts?: SplitCuts;
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
  // A cluster worker opens the coordinator's file by its absolute path and reports it by the coordinator's.
  const openPath = input.openPath ?? input.path;
  let fd: number;
  try {
    fd = openSync(openPath, 'r');
  } catch (error) {
    throw toPagewiseError(error);
  }
  let mappingId = -1;
  // A cluster run's coordinator reads nothing: it states each file, and workers map it.
  const remote = plan.executor === 'remote';
  try {
    const s = fstatSync(fd, { bigint: true });
    const identity: FileIdentity = { size: Number(s.size), ino: s.ino, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
    if (input.kind === 'map' && !remote) {
      try {
        refuseMmapForTests(input.path);
        const info = plan.inPlace ? openWritable(openPath) : native.open(openPath);
        mappingId = info.id;
        identity.size = info.size;
      } catch (error) {
        const e = toPagewiseError(error);
        // In place, a file that cannot be mapped cannot be written: no fallback.
        if (e.syscall === 'mmap' && !mmapOnly && !plan.inPlace) {
          closeSync(fd);
          return undefined;
        }
        throw e;
      }
    }
    if (plan.inPlace) {
      // The run's own writes move the file's times: only its size and inode say it changed.
      delete identity.mtimeNs;
      delete identity.ctimeNs;
    }
    const size = identity.size;
    const { first, count: chunks } = spanChunks(plan, size);
    const ref: FileRef = {
      fileIndex: input.index,
      path: input.path,
      openPath: input.openPath,
      source: input.kind === 'map' && !remote ? 'map' : 'pread',
      mappingId,
      fd,
      size,
      firstChunk: first,
      chunks,
      identity,
    };
    if (plan.inPlace) ref.writable = true;
    if (remote) return ref;
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

// Each executor, the output sink and the CSV preparer are loaded by the runs
// that use them: the modules behind them (the stream executor's node:net, for
// one) are start-up time every other run would pay.
const keyedExecutor = async (): Promise<Executor> => (await import('./executors/keyed.js')).keyedExecutor;
const commutativeExecutor = async (): Promise<Executor> => (await import('./executors/commutative.js')).commutativeExecutor;
const orderedExecutor = async (): Promise<Executor> => (await import('./executors/ordered.js')).orderedExecutor;

async function executorFor(run: Run, files: FileRef[]): Promise<Executor> {
  const { plan } = run.planned;
  const job = run.planned.job as Job;
  if (plan.executor === 'keyed') return keyedExecutor();
  if (plan.executor === 'remote') return (await import('./executors/remote.js')).remoteExecutor;
  if (plan.executor === 'kernel' && files[0].source === 'map') return (await import('./executors/kernel.js')).kernelExecutor;
  return plan.executor === 'commutative' || (plan.executor === 'kernel' && job.commutative) ? commutativeExecutor() : orderedExecutor();
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
    const executor = await executorFor(run, files);
    run.executors.add(executor.name);
    // A split kind that must see the whole file before cutting it (CSV) plans its cuts here.
    const split = run.planned.plan.job.split;
    // A cluster's coordinator reads nothing: its workers cut, and it holds each split's first cut to the split before (remote.ts).
    const csv = isCsv(split) && executor.name !== 'remote';
    if (!csv || !(await runGuessed(run, files, chunks, executor))) {
      const prepared = csv ? await (await import('./prepare.js')).preparerFor(split)?.prepare(files, run.ctx) : undefined;
      if (prepared !== undefined) run.csvCuts = 'first pass';
      const before = reducer.meter.bytesDone;
      await executor.run({ kind: 'chunks', files, chunks }, run.ctx);
      prepared?.verify(reducer.meter.bytesDone - before);
    }
    for (const f of files) checkIntact(f);
    if (isCsv(split) && run.planned.options.internal.partial === true) run.spanCuts = spanCuts(files[0], run.csvCuts === 'guessed');
  }
  reducer.meter.filesDone += files.length;
}

/** A cluster split's first and last cut (the start of its first chunk, the end of its last), from its file's cut cache. */
function spanCuts(file: FileRef, guessed: boolean): SplitCuts {
  const cache = new CutCache(file.cuts!, file.firstChunk);
  return { start: cache.exact(file.firstChunk)!, end: cache.exact(file.firstChunk + file.chunks)!, guessed };
}

/**
 * Whether a CSV group may run on guessed cuts (src/csv/speculate.ts): when a
 * wrong guess can be undone by running the group again. So nothing may leave
 * the run during the attempt (`onMerged`, a keyed shuffle's spills, a file
 * written in place; the output is held back: see runGuessed), nothing was
 * merged before the group (a merge may change the accumulator in place), and
 * every file is mapped whole, or is a cluster split's span: its first cut has
 * nothing before it in the run to prove it, so the coordinator does (the
 * split's cuts go back with its partial, see spanCuts).
 */
function mayGuess(run: Run, files: FileRef[], executor: Executor): boolean {
  const { ctx, planned } = run;
  // A cluster split's run: the coordinator holds its first cut to the end of the split before it (remote.ts).
  const spanChecked = planned.options.internal.span !== undefined && planned.options.internal.partial === true;
  return (
    (executor.name === 'ordered' || executor.name === 'commutative') &&
    planned.options.internal.csvCuts !== 'first pass' &&
    ctx.keyed === undefined &&
    planned.options.onMerged === undefined &&
    !ctx.reducer.partial().merged &&
    files.every((f) => f.source === 'map' && !f.writable && (spanChecked || readsWholeFile(f, ctx.settings.chunkSize)))
  );
}

/**
 * Runs a CSV group on guessed cuts; false (with nothing of the attempt left:
 * no merge, no progress, no task) when a guess did not hold or anything
 * failed, and the group must go through the first pass.
 */
async function runGuessed(run: Run, files: FileRef[], chunks: number, executor: Executor): Promise<boolean> {
  if (!mayGuess(run, files, executor)) return false;
  const { reducer, signal } = run.ctx;
  const [{ guessCuts }, { installCuts }, { GUESSED_WRITE }] = await Promise.all([import('../csv/speculate.js'), import('../csv/prepare.js'), import('../csv/guessed.js')]);
  const guessed = await guessCuts(files, run.ctx);
  if (guessed === undefined) return false;
  const prepared = installCuts(files, guessed, run.ctx);
  const before = { bytes: reducer.meter.bytesDone, chunks: reducer.meter.chunksDone };
  for (const f of files) f.guessedCuts = true;
  try {
    // Without the run's output: a job that writes stops the attempt at its first
    // write (writeWhileGuessing), so no byte is ever written twice.
    await executor.run({ kind: 'chunks', files, chunks }, { ...run.ctx, output: undefined });
    prepared.verify(reducer.meter.bytesDone - before.bytes);
    run.csvCuts ??= 'guessed';
    return true;
  } catch (error) {
    if (signal?.aborted || (error as { code?: string }).code === ErrorCodes.ABORTED) throw error;
    // The attempt's tasks end before the first pass starts; the next tasks get a fresh control block.
    await run.tasks?.stop();
    run.tasks = undefined;
    reducer.clear();
    reducer.meter.bytesDone = before.bytes;
    reducer.meter.chunksDone = before.chunks;
    // Under `release: 'evict'`, the first pass's chunks start undone again.
    for (const f of files) f.releaseState?.fill(0);
    const why = (error as { reason?: string }).reason === 'guessedWrite' ? GUESSED_WRITE : `did not hold (${(error as Error).message})`;
    run.notes.push(`CSV cuts guessed from a window at each cut: ${why}; the cuts came from a first pass over the files`);
    return false;
  } finally {
    for (const f of files) f.guessedCuts = undefined;
  }
}

async function runStream(run: Run, input: PlannedInput): Promise<void> {
  await (run.ctx.keyed !== undefined ? await keyedExecutor() : (await import('./executors/stream.js')).streamExecutor).run({ kind: 'stream', input }, run.ctx);
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
      // By position: a cluster worker's one input keeps the coordinator's index.
      const at = run.inputs.indexOf(input);
      run.inputs[at] = { ...input, kind: 'stream', reason };
      run.notes.push(`'${input.path}': ${reason}`);
      await runStream(run, run.inputs[at]);
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

/** A signal that fires when any of `signals` does (AbortSignal.any is Node 20.3+). */
function anySignal(signals: (AbortSignalLike | undefined)[]): AbortSignalLike | undefined {
  const given = signals.filter((s): s is AbortSignalLike => s !== undefined);
  if (given.length <= 1) return given[0];
  const controller = new AbortController();
  for (const s of given) {
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    s.addEventListener('abort', () => controller.abort(s.reason), { once: true });
  }
  return controller.signal;
}

async function execute<R>(planned: PlannedRun, startedAt: number, cpuStart: NodeJS.CpuUsage, usageStart: NodeJS.ResourceUsage): Promise<RunReport<R>> {
  const { plan, options: o } = planned;
  const needsWorkers = plan.executor !== 'remote' && plan.inputs.some((i) => i.kind === 'pread' || (i.kind === 'map' && plan.executor !== 'kernel'));
  // Start the workers now: their start-up overlaps opening the inputs.
  if (needsWorkers) void workerPool(plan.threads, o.resourceLimits).catch(() => {});
  // The output is opened before anything is read, so a target that cannot be
  // written fails the run at once.
  // A keyed job writes its pairs to the output itself (as JSON lines, in key order).
  let sink: OutputSink | undefined;
  if (o.output !== undefined && plan.keyed === undefined) {
    const [{ createSink }, { openTarget }] = await Promise.all([import('../output/sink.js'), import('../output/target.js')]);
    sink = createSink(await openTarget(o.output, o.signal), plan.threads);
  }
  // A consumer that fails (EPIPE) or goes away stops the run as an abort would.
  const signal = anySignal([o.signal, sink?.signal]);
  const meter = new ProgressMeter(plan.knownBytes, plannedChunks(plan), plan.inputs.length, o.onProgress);
  const reducer = new Reducer(planned.job as Job, o.params, { onMerged: o.onMerged }, meter);
  const tasksOf = async (): Promise<RunTasks> => (run.tasks ??= new RunTasks(await workerPool(plan.threads, o.resourceLimits)));
  const keyed =
    plan.keyed === undefined
      ? undefined
      : new (await import('../keyed/shuffle.js')).KeyedShuffle({
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
      signal,
      output: sink,
      options: o,
      report: {},
      tasks: () => tasksOf(),
    },
  };
  let result: unknown;
  try {
    let i = 0;
    while (i < plan.inputs.length) {
      throwIfAborted(signal);
      const input = plan.inputs[i];
      if (input.kind === 'stream') {
        await runStream(run, input);
        i++;
        continue;
      }
      const batch: PlannedInput[] = [];
      // The coordinator of a cluster run opens no file, so all its consecutive files are one group of splits.
      const most = plan.executor === 'remote' ? Infinity : plan.maxOpenFiles;
      while (i < plan.inputs.length && plan.inputs[i].kind !== 'stream' && batch.length < most) batch.push(plan.inputs[i++]);
      await runBatch(run, batch);
    }
    meter.report(true);
    if (keyed !== undefined) result = await keyed.finish();
    else result = o.internal.partial ? { ...reducer.partial(), ...(run.spanCuts === undefined ? {} : { cuts: run.spanCuts }) } : reducer.finish();
    // The output becomes final only once the job's result exists: a job
    // whose finish throws leaves the target as it was.
    await sink?.commit(o.signal);
  } catch (error) {
    await run.tasks?.stop();
    // After the tasks stopped, so no thread writes into the run directory any more.
    keyed?.abort();
    // The consumer's own error (EPIPE, a closed stream) is the run's, not the abort it caused.
    const failure = sink?.failure;
    await sink?.abort();
    const e = failure ?? error;
    throw e instanceof PagewiseError ? e : toPagewiseError(e);
  }
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
      // A cluster run's threads are its workers'.
      threads: run.ctx.report.cluster ? run.ctx.report.cluster.workers.reduce((n, w) => n + w.threads, 0) : plan.threads,
      chunkSize: plan.chunkSize,
      chunkSizeReason: plan.chunkSizeReason,
      mode: mapped === run.inputs.length ? 'mmap' : mapped === 0 ? 'read' : 'mixed',
      executor: !chunked ? 'none' : run.executors.has('remote') ? 'cluster' : run.executors.has('kernel') ? 'kernel' : 'workers',
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
      ...(run.csvCuts === undefined ? {} : { csvCuts: run.csvCuts }),
      ...(sink === undefined ? {} : { output: { target: sink.label, kind: sink.kind, bytes: sink.bytes } }),
      plan,
      ...(run.ctx.report.cluster === undefined ? {} : { cluster: run.ctx.report.cluster }),
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
  // BullMQ takes a few hundred ms to load: overlap it with planning too.
  if (options?.cluster !== undefined) void import('../cluster/bull.js').then((m) => m.loadBullmq()).catch(() => {});
  throwIfAborted(options?.signal);
  const planned = await planRun(input, job, options);
  throwIfAborted(planned.options.signal);
  return execute<ResultOf<J>>(planned, startedAt, cpuStart, usageStart);
}

/** What `runJobStream` returns: the run's output as an async iterable, and its report. */
export interface JobStream<R = unknown> extends AsyncIterable<Uint8Array> {
  /**
   * The run's result and statistics, once it has ended. Rejects with the
   * run's error; the iteration throws the same error. Leaving the loop early
   * stops the run, and `report` rejects with ERR_PAGEWISE_OUTPUT_CLOSED.
   */
  readonly report: Promise<RunReport<R>>;
}

/** Output bytes held between the run and a slow loop before the workers wait. */
const STREAM_HIGH_WATER = 8 << 20;

/**
 * Runs a job whose `map` writes output (`info.write`) and gives the output
 * in order, as it is produced, with backpressure: the run waits while the
 * loop does not take its bytes. Nothing is written to disk.
 *
 * @throws (from the iteration and `report`) what `runJob` throws;
 *   ERR_PAGEWISE_INVALID_OPTION when `options.output` is given too.
 * @example
 * ```ts
 * const run = runJobStream('big.log', './errors-only.mjs');
 * for await (const bytes of run) process.stdout.write(bytes);
 * const { stats } = await run.report;
 * ```
 */
export function runJobStream<J = unknown>(input: string | readonly string[], job: JobRef<J>, options?: MapReduceOptions<ParamsOf<J>>): JobStream<ResultOf<J>> {
  const stream = new PassThrough({ highWaterMark: STREAM_HIGH_WATER });
  let report: Promise<RunReport<ResultOf<J>>>;
  if (options?.output !== undefined) {
    report = Promise.reject(new PagewiseError(ErrorCodes.INVALID_OPTION, 'runJobStream gives the output itself: drop options.output (or use runJob)', { option: 'options.output' }));
  } else {
    report = runJob<J>(input, job, { ...options, output: stream });
  }
  // The loop learns of a failure through the stream (its iterator rethrows
  // it), and `report` need not be awaited: neither may go unhandled.
  stream.on('error', () => {});
  report.catch((error: unknown) => stream.destroy(error as Error));
  return {
    report,
    [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>,
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

