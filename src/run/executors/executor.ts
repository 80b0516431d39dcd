/**
 * The executor interface: every way of reading a group of inputs — native
 * kernels on libuv's threadpool, ordered workers, commutative workers, a
 * sequential stream — takes a group and the run's context and hands the
 * group's partials to the run's reducer in file order. docs/design.md shows
 * where the writer, the keyed shuffle and the cluster executor fit.
 */
import type { PlannedInput } from '../../plan/inputs.js';
import type { ResolvedOptions } from '../../options.js';
import type { RunPlan } from '../../plan/plan.js';
import type { OutputSink } from '../../output/sink.js';
import type { AbortSignalLike, ClusterReport, Job, KernelPlan } from '../../types.js';
import { stopRun } from '../control.js';
import type { ChunkSettings, FileRef, JobHandle } from '../messages.js';
import type { RunTasks } from '../pool.js';
import type { Reducer } from '../reducer.js';
import type { KeyedShuffle } from '../../keyed/shuffle.js';

/** Consecutive inputs one executor reads: files read in chunks (opened), or one stream. */
export type InputGroup = { kind: 'chunks'; files: FileRef[]; chunks: number } | { kind: 'stream'; input: PlannedInput };

/** What every executor of a run shares. */
export interface RunContext {
  readonly plan: RunPlan;
  readonly job: Job;
  readonly handle: JobHandle;
  readonly kernel: KernelPlan | undefined;
  readonly settings: ChunkSettings;
  readonly reducer: Reducer;
  /** A keyed run's reducer (the shuffle), which takes the keyed executor's runs and tables. */
  readonly keyed?: KeyedShuffle;
  readonly signal: AbortSignalLike | undefined;
  /** Where `info.write` goes (src/output/), when the run has an output. */
  readonly output: OutputSink | undefined;
  readonly options: ResolvedOptions;
  /** What an executor reports for the run's statistics (the cluster's splits and workers). */
  readonly report: { cluster?: ClusterReport };
  /** The run's tasks on its worker pool (started on first use). */
  tasks(): Promise<RunTasks>;
}

export interface Executor {
  readonly name: string;
  /** Reads the group and adds its partials to `ctx.reducer`, in file order. */
  run(group: InputGroup, ctx: RunContext): Promise<void>;
}

/**
 * Maps the run's chunk numbers counted across `files` (file 0's first) to
 * (file, chunk index in the file's grid); asked in increasing order, it keeps
 * no table.
 */
export function chunkCursor(files: readonly FileRef[]): (g: number) => { file: FileRef; index: number } {
  let at = 0;
  let first = 0;
  return (g) => {
    while (g >= first + files[at].chunks) first += files[at++].chunks;
    return { file: files[at], index: files[at].firstChunk + g - first };
  };
}


/** The progress of long worker tasks (drain, keyed map), as the run's meter sees it. */
export interface WorkerProgress {
  /** The workers' counters: bytes and chunks done; passed to the tasks. */
  readonly counters: BigInt64Array;
  /** Rejects when `onProgress` throws (the tasks are stopped first). */
  readonly failed: Promise<never>;
  /** Throws what `onProgress` threw, if it did (the tasks may have finished before `failed` won a race). */
  throwIfFailed(): void;
  /** Stops polling and brings the meter up to date; call once the tasks are done. */
  stop(): void;
}

/**
 * Polls the counters long worker tasks add their bytes and chunks to, every
 * 100 ms, into the run's meter. A throwing `onProgress` must not escape from
 * the timer: it stops the run's tasks (waking the waiting ones) and rejects
 * `failed`, which the executor races with its tasks.
 */
export function pollWorkerProgress(ctx: RunContext, control: Int32Array): WorkerProgress {
  const { meter } = ctx.reducer;
  const counters = new BigInt64Array(new SharedArrayBuffer(16));
  const bytesBefore = meter.bytesDone;
  const chunksBefore = meter.chunksDone;
  const update = (): void => {
    meter.bytesDone = bytesBefore + Number(Atomics.load(counters, 0));
    meter.chunksDone = chunksBefore + Number(Atomics.load(counters, 1));
  };
  let failRun = (_error: unknown): void => {};
  const failed = new Promise<never>((_, reject) => {
    failRun = reject;
  });
  failed.catch(() => {});
  let failure: { error: unknown } | undefined;
  const timer = setInterval(() => {
    update();
    try {
      meter.report();
    } catch (error) {
      if (failure !== undefined) return;
      failure = { error };
      stopRun(control);
      failRun(error);
    }
  }, 100);
  return {
    counters,
    failed,
    throwIfFailed() {
      if (failure !== undefined) throw failure.error;
    },
    stop() {
      clearInterval(timer);
      update();
    },
  };
}
