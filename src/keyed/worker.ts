/**
 * The shuffle's tasks as a worker runs them: a keyed map (a drain of chunks
 * into this thread's table, spilling as it fills) and a merge (run sections
 * into one run, or a key range's results). workers/map-worker.ts hands them
 * here; the job is loaded by the worker's cache.
 */
import { ErrorCodes, PagewiseError } from '../errors.js';
import { isKeyedJob } from '../job.js';
import { openSource, processChunk, type ChunkSource } from '../run/chunk.js';
import { combineError } from '../run/calls.js';
import { chunkCursor } from '../run/executors/executor.js';
import { CURSOR, STOP, type FileRef, type JobHandle, type KeyedMapTask, type KeyedMergeTask, type TaskReply } from '../run/messages.js';
import type { AnyJob, KeyedJob } from '../types.js';
import { SequentialFile } from './files.js';
import { KeyedMapper } from './mapper.js';
import { Merger } from './merge.js';
import { rangeResults, type RangeResults } from './results.js';
import { RunCursor, RunWriter } from './runs.js';

function keyedJobOf(job: AnyJob): KeyedJob {
  if (!isKeyedJob(job)) throw new PagewiseError(ErrorCodes.INTERNAL, 'a keyed task was given a job that is not keyed');
  return job;
}

export async function runKeyedMap(task: KeyedMapTask, getJob: (handle: JobHandle) => Promise<AnyJob>): Promise<TaskReply> {
  const job = keyedJobOf(await getJob(task.job));
  const { control, progress, settings, files } = task;
  const total = files.reduce((n, f) => n + f.chunks, 0);
  const sources = new Map<FileRef['fileIndex'], ChunkSource>();
  const chunkAt = chunkCursor(files);
  const mapper = new KeyedMapper(job, settings.params, task.keyed);
  let bytes = 0;
  let chunks = 0;
  try {
    for (;;) {
      if (Atomics.load(control, STOP) !== 0) break;
      const g = Atomics.add(control, CURSOR, 1);
      if (g >= total) break;
      const { file, index } = chunkAt(g);
      let src = sources.get(file.fileIndex);
      if (src === undefined) {
        src = openSource(file);
        sources.set(file.fileIndex, src);
      }
      const source = src;
      const done = processChunk(source, settings, index, (range) => mapper.mapChunk(source, settings, range));
      const n = done === undefined ? 0 : done.range.end - done.range.start;
      bytes += n;
      chunks++;
      Atomics.add(progress, 0, BigInt(n));
      Atomics.add(progress, 1, 1n);
    }
    if (Atomics.load(control, STOP) !== 0) return { ok: true, partial: undefined, bytes, chunks };
    return { ok: true, partial: undefined, bytes, chunks, keyed: mapper.end() };
  } catch (error) {
    Atomics.store(control, STOP, 1);
    throw error;
  } finally {
    for (const src of sources.values()) src.close();
  }
}

/** Keys merged between two looks at the run's stop flag. */
const STOP_EVERY = 1 << 14;

/** Merges run sections into a run, or into a range's results, as `task.out` says. */
export async function runKeyedMerge(task: KeyedMergeTask, getJob: (handle: JobHandle) => Promise<AnyJob>): Promise<TaskReply> {
  const job = keyedJobOf(await getJob(task.job));
  const combine = (a: unknown, b: unknown): unknown => {
    try {
      return job.combine(a, b);
    } catch (error) {
      return combineError(error);
    }
  };
  const cursors = task.sections.map((s) => new RunCursor(s.run, s.start, s.end, task.lo, task.hi));
  const merger = new Merger(cursors, combine);
  const { out, control } = task;
  try {
    if (out.kind === 'run') {
      const writer = new RunWriter(out.path);
      try {
        while (merger.next()) {
          writer.add(merger.key, 0, merger.keyLen, merger.str, merger.numeric, merger.num, merger.obj, merger.ser);
          if (merger.count % STOP_EVERY === 0 && Atomics.load(control, STOP) !== 0) throw stopped();
        }
      } catch (error) {
        writer.discard();
        throw error;
      }
      const run = writer.finish();
      return { ok: true, partial: undefined, bytes: 0, chunks: 0, keyed: { kind: 'merge', keys: merger.count, run, bytes: run.bytes, blocks: undefined, top: undefined } };
    }
    let file: SequentialFile | undefined;
    if (out.mode.kind !== 'pairs' && !(out.mode.kind === 'by-value' && out.mode.top !== undefined)) file = new SequentialFile(out.path);
    const results: RangeResults = rangeResults(out.mode, task.table ? undefined : job, { path: out.path, sink: file, close: () => file?.close() });
    try {
      while (merger.next()) {
        results.add(merger);
        if (merger.count % STOP_EVERY === 0 && Atomics.load(control, STOP) !== 0) throw stopped();
      }
    } catch (error) {
      results.discard();
      file?.discard();
      throw error;
    }
    const done = results.end();
    return { ok: true, partial: undefined, bytes: 0, chunks: 0, keyed: { kind: 'merge', keys: done.keys, run: done.run, bytes: done.bytes, blocks: done.blocks, top: done.top } };
  } finally {
    merger.close();
  }
}

function stopped(): PagewiseError {
  return new PagewiseError(ErrorCodes.ABORTED, 'the run was stopped');
}
