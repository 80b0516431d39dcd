/**
 * What runs inside each Piscina worker: the job's `map` over chunks, through
 * the same chunk lifecycle the main thread uses (src/run/chunk.ts). Each task
 * carries a small handle (mapping id, chunk number); the worker makes its own
 * zero-copy views, detaches them when the chunk is done, and sends back the
 * accumulator serialized (src/run/wire.ts). Errors come back as values, not
 * throws: structured clone would drop their `code`.
 */
import { loadJobHandle } from '../src/job.js';
import { openSource, processChunk, mapRange, type ChunkSource } from '../src/run/chunk.js';
import { callInit } from '../src/run/calls.js';
import { chunkCursor } from '../src/run/executors/executor.js';
import { CURSOR, STOP, type ChunkTask, type DrainTask, type FileRef, type JobHandle, type Task, type TaskReply } from '../src/run/messages.js';
import { serialize, toWire } from '../src/run/wire.js';
import type { AnyJob, Job } from '../src/types.js';
import { runKeyedMap, runKeyedMerge } from '../src/keyed/worker.js';

/*
 * Every chunk's views are detached when it is done, and the first detach in a
 * thread invalidates V8's "array buffer detaching" protector, which throws
 * away all optimized code that reads typed arrays. Detaching a throwaway
 * buffer before any job code runs makes the job's first compile the one that
 * lasts (docs/performance.md has the figures).
 */
{
  const spent = new ArrayBuffer(8);
  structuredClone(spent, { transfer: [spent] });
}

// Loaded jobs by URL; the URL names the module's version, so an edited job is
// a new entry and one run uses one version on every thread.
const jobs = new Map<string, Promise<AnyJob>>();

function getJob(handle: JobHandle): Promise<AnyJob> {
  let job = jobs.get(handle.url);
  if (!job) {
    job = loadJobHandle(handle);
    jobs.set(handle.url, job);
    job.catch(() => jobs.delete(handle.url));
  }
  return job;
}

function partialOf(acc: unknown, where: string): Uint8Array {
  return serialize(acc, 'the accumulator returned by map (or init)', where);
}

async function runChunk(task: ChunkTask): Promise<TaskReply> {
  if (Atomics.load(task.control, STOP) !== 0) return { ok: true, partial: undefined, bytes: 0, chunks: 0 };
  const job = (await getJob(task.job)) as Job;
  const { settings, file, index } = task;
  const src = openSource(file);
  try {
    const site = { file: file.path, fileIndex: file.fileIndex, index };
    const done = processChunk(src, settings, index, (range) => mapRange(job, callInit(job, settings.params, site), src, settings, range));
    if (done === undefined) return { ok: true, partial: undefined, bytes: 0, chunks: 1 };
    return { ok: true, partial: partialOf(done.value, `for chunk ${index} of '${file.path}'`), bytes: done.range.end - done.range.start, chunks: 1 };
  } finally {
    src.close();
  }
}

async function runDrain(task: DrainTask): Promise<TaskReply> {
  const job = (await getJob(task.job)) as Job;
  const { control, progress, settings, files } = task;
  const total = files.reduce((n, f) => n + f.chunks, 0);
  const sources = new Map<FileRef['fileIndex'], ChunkSource>();
  const chunkAt = chunkCursor(files);
  let acc: unknown;
  let touched = false;
  let bytes = 0;
  let chunks = 0;
  try {
    for (;;) {
      if (Atomics.load(control, STOP) !== 0) break;
      const g = Atomics.add(control, CURSOR, 1);
      if (g >= total) break;
      // Chunk numbers are handed out in increasing order, so the cursor only moves forward.
      const { file, index } = chunkAt(g);
      let src = sources.get(file.fileIndex);
      if (src === undefined) {
        src = openSource(file);
        sources.set(file.fileIndex, src);
      }
      const source = src;
      const done = processChunk(source, settings, index, (range) => {
        if (!touched) {
          acc = callInit(job, settings.params, { file: file.path, fileIndex: file.fileIndex, index });
          touched = true;
        }
        return mapRange(job, acc, source, settings, range);
      });
      let n = 0;
      if (done !== undefined) {
        acc = done.value;
        n = done.range.end - done.range.start;
      }
      bytes += n;
      chunks++;
      Atomics.add(progress, 0, BigInt(n));
      Atomics.add(progress, 1, 1n);
    }
    return { ok: true, partial: touched ? partialOf(acc, 'for the chunks one worker folded') : undefined, bytes, chunks };
  } catch (error) {
    // Tell the other workers to stop pulling chunks.
    Atomics.store(control, STOP, 1);
    throw error;
  } finally {
    for (const src of sources.values()) src.close();
  }
}

/** Piscina's entry point. */
export default async function run(task: Task): Promise<TaskReply> {
  try {
    if (task.kind === 'keyed-map') return await runKeyedMap(task, getJob);
    if (task.kind === 'keyed-merge') return await runKeyedMerge(task, getJob);
    return await (task.kind === 'drain' ? runDrain(task) : runChunk(task));
  } catch (error) {
    return { ok: false, error: toWire(error) };
  }
}
