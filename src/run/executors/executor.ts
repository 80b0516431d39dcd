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

