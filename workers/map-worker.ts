/**
 * What runs inside each Piscina worker: the job's `map` over chunks, through
 * the same chunk lifecycle the main thread uses (src/run/chunk.ts). Each task
 * carries a small handle (mapping id, chunk number); the worker makes its own
 * zero-copy views, detaches them when the chunk is done, and sends back the
 * accumulator serialized (src/run/wire.ts). Errors come back as values, not
 * throws: structured clone would drop their `code`.
 */
import { scanChunks } from '../src/csv/first-pass.js';
import { SUMMARY } from '../src/csv/scan.js';
import { loadJobHandle } from '../src/job.js';
import { chunkWriter, type ChunkWriter } from '../src/output/chunk-writer.js';
import { openSource, processChunk, mapRange, type ChunkSource } from '../src/run/chunk.js';
import { callInit } from '../src/run/calls.js';
import { stopRun } from '../src/run/control.js';
import { chunkCursor } from '../src/run/executors/executor.js';
import {
  CURSOR,
  STOP,
  type ChunkTask,
  type DrainTask,
  type FileRef,
  type JobHandle,
  type ProduceTask,
  type PullTask,
  type ScanReply,
  type ScanTask,
  type Task,
  type TaskReply,
} from '../src/run/messages.js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { clearHandedOver, enableHandover, takeHandedOver } from '../src/run/handover.js';
import { serialize, toWire, wholeBuffer } from '../src/run/wire.js';
import type { AnyJob, Job } from '../src/types.js';

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

enableHandover();

// The keyed shuffle's worker side, loaded by the first keyed task: ~9 ms of
// module loading that every other run's workers would pay before their first chunk.
let keyedModule: Promise<typeof import('../src/keyed/worker.js')> | undefined;
const keyedSide = (): Promise<typeof import('../src/keyed/worker.js')> => (keyedModule ??= import('../src/keyed/worker.js'));

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

/** The accumulator serialized, with the buffers the job handed over (info.transfer) to move beside it. */
function partialOf(acc: unknown, where: string): Uint8Array {
  const buffers = takeHandedOver();
  const bytes = serialize(acc, 'the accumulator returned by map (or init)', where, buffers);
  if (buffers.length > 0) handedOver.set(bytes, buffers);
  return bytes;
}
const handedOver = new WeakMap<Uint8Array, ArrayBuffer[]>();

/**
 * The reply as Piscina should post it: the serialized partial (a buffer of
 * its own, made by the serializer) and the handed-over buffers, or a keyed
 * map's table and its own arrays, are moved, not copied a second time by
 * postMessage.
 */
function moved(reply: TaskReply): unknown {
  if (!reply.ok) return reply;
  if (reply.keyed?.kind === 'map' && reply.keyed.table !== undefined) return movedWith(reply, reply.keyed.table, reply.keyed.buffers);
  if (reply.partial === undefined) return reply;
  const p = reply.partial;
  const buffers = handedOver.get(p) ?? [];
  if (buffers.length > 0) reply.buffers = buffers;
  return movedWith(reply, p, buffers);
}

/** `reply` marked for Piscina to post with `bytes` (the serializer's own buffer, when whole) and `buffers` moved. */
function movedWith(reply: TaskReply, bytes: Uint8Array, buffers: ArrayBuffer[]): unknown {
  const own = wholeBuffer(bytes);
  const transfer = own === undefined ? buffers : [own, ...buffers];
  const mark = movableMarker();
  if (transfer.length === 0 || mark === undefined) return reply;
  const movable = { [Symbol.for('Piscina.transferable')]: transfer, [Symbol.for('Piscina.valueOf')]: reply };
  mark(movable);
  return movable;
}

/**
 * What `Piscina.move` does to a value, taken from the module Piscina's worker
 * side loaded in this thread (its common.js). Importing 'piscina' for
 * `Piscina.move` would load the whole pool side into every worker (~10 ms
 * before its first chunk). Not found (another Piscina layout): replies are
 * copied, as before; test/transfer.test.ts notices.
 */
let marker: ((value: object) => void) | null | undefined;
function movableMarker(): ((value: object) => void) | undefined {
  if (marker === undefined) {
    marker = null;
    try {
      const require = createRequire(import.meta.url);
      const common = require.cache[join(dirname(require.resolve('piscina')), 'common.js')]?.exports as { markMovable?: unknown } | undefined;
      if (typeof common?.markMovable === 'function') marker = common.markMovable as (value: object) => void;
    } catch {
      // No marker: copies.
    }
  }
  return marker ?? undefined;
}

const STOPPED: TaskReply = { ok: true, partial: undefined, bytes: 0, chunks: 0 };

/**
 * One chunk through its lifecycle, folded into a fresh accumulator; with an
 * output, its writes are then placed (see src/output/chunk-writer.ts).
 */
async function oneChunk(job: Job, task: { settings: ChunkTask['settings'] }, file: FileRef, index: number, seq: number, writer: ChunkWriter | undefined): Promise<TaskReply> {
  const { settings } = task;
  const src = openSource(file);
  let partial: Uint8Array | undefined;
  let bytes = 0;
  try {
    writer?.begin(seq);
    const site = { file: file.path, fileIndex: file.fileIndex, index };
    const done = processChunk(src, settings, index, (range) => mapRange(job, callInit(job, settings.params, site), src, settings, range, writer?.write));
    if (done !== undefined) {
      partial = partialOf(done.value, `for chunk ${index} of '${file.path}'`);
      bytes = done.range.end - done.range.start;
    }
  } finally {
    src.close();
  }
  const placed = await writer?.end();
  if (placed !== undefined && !placed.ok) return STOPPED;
  return { ok: true, partial, bytes, chunks: 1, seq, output: placed?.reply, written: placed?.bytes };
}

async function runChunk(task: ChunkTask): Promise<TaskReply> {
  if (Atomics.load(task.control, STOP) !== 0) return STOPPED;
  const job = (await getJob(task.job)) as Job;
  const writer = chunkWriter(task.output, task.control);
  try {
    return await oneChunk(job, task, task.file, task.index, task.seq, writer);
  } finally {
    writer?.close();
  }
}

/** One chunk, taken from the cursor when the task starts (see PullTask). */
async function runPull(task: PullTask): Promise<TaskReply> {
  const job = (await getJob(task.job)) as Job;
  if (Atomics.load(task.control, STOP) !== 0) return STOPPED;
  const seq = Atomics.add(task.control, CURSOR, 1);
  const total = task.files.reduce((n, f) => n + f.chunks, 0);
  if (seq >= total) return STOPPED;
  const { file, index } = chunkCursor(task.files)(seq);
  const writer = chunkWriter(task.output, task.control);
  try {
    return await oneChunk(job, task, file, index, seq, writer);
  } finally {
    writer?.close();
  }
}

// Producer modules by URL (see ProduceTask).
const producers = new Map<string, Promise<{ produce(params: unknown, index: number): Uint8Array }>>();

/** One block of output made without input: `pagewise gen`. */
async function runProduce(task: ProduceTask): Promise<TaskReply> {
  if (Atomics.load(task.control, STOP) !== 0) return STOPPED;
  let producer = producers.get(task.module);
  if (producer === undefined) {
    producer = import(task.module) as Promise<{ produce(params: unknown, index: number): Uint8Array }>;
    producers.set(task.module, producer);
    producer.catch(() => producers.delete(task.module));
  }
  const { produce } = await producer;
  if (Atomics.load(task.control, STOP) !== 0) return STOPPED;
  const seq = Atomics.add(task.control, CURSOR, 1);
  if (seq >= task.blocks) return STOPPED;
  const writer = chunkWriter(task.output, task.control)!;
  try {
    writer.begin(seq);
    writer.writeOwned(produce(task.params, seq));
    const placed = await writer.end();
    return placed.ok ? { ok: true, partial: undefined, bytes: 0, chunks: 1, seq, output: placed.reply, written: placed.bytes } : STOPPED;
  } finally {
    writer.close();
  }
}

async function runDrain(task: DrainTask): Promise<TaskReply> {
  const job = (await getJob(task.job)) as Job;
  const { control, progress, settings, files } = task;
  const total = files.reduce((n, f) => n + f.chunks, 0);
  const sources = new Map<FileRef['fileIndex'], ChunkSource>();
  const chunkAt = chunkCursor(files);
  const writer = chunkWriter(task.output, control);
  let acc: unknown;
  let touched = false;
  let bytes = 0;
  let chunks = 0;
  try {
    for (;;) {
      if (Atomics.load(control, STOP) !== 0) break;
      const g = Atomics.add(control, CURSOR, 1);
      if (g >= total) break;
      writer?.begin(g);
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
        return mapRange(job, acc, source, settings, range, writer?.write);
      });
      let n = 0;
      if (done !== undefined) {
        acc = done.value;
        n = done.range.end - done.range.start;
      }
      // The chunk's output is placed before the next chunk is taken, so a
      // worker holds at most one chunk's output.
      if (writer !== undefined && !(await writer.end()).ok) break;
      bytes += n;
      chunks++;
      Atomics.add(progress, 0, BigInt(n));
      Atomics.add(progress, 1, 1n);
    }
    return { ok: true, partial: touched ? partialOf(acc, 'for the chunks one worker folded') : undefined, bytes, chunks };
  } catch (error) {
    // Tell the other workers to stop pulling chunks, and wake those waiting.
    stopRun(control);
    throw error;
  } finally {
    writer?.close();
    for (const src of sources.values()) src.close();
  }
}

/** A split's first pass (CSV): summaries of a few chunks; no job code. */
function runScan(task: ScanTask): ScanReply {
  const out = new Float64Array(task.count * SUMMARY.size);
  if (Atomics.load(task.control, STOP) !== 0) return { ok: true, summaries: out };
  const src = openSource(task.file);
  try {
    scanChunks(src, task.settings, task.first, task.count, out);
    return { ok: true, summaries: out };
  } finally {
    src.close();
  }
}

/** Piscina's entry point. */
export default async function run(task: Task): Promise<unknown> {
  clearHandedOver();
  const reply = await runTask(task);
  return 'summaries' in reply ? reply : moved(reply);
}

async function runTask(task: Task): Promise<TaskReply | ScanReply> {
  try {
    switch (task.kind) {
      case 'scan':
        return runScan(task);
      case 'keyed-map':
        return await (await keyedSide()).runKeyedMap(task, getJob);
      case 'keyed-merge':
        return await (await keyedSide()).runKeyedMerge(task, getJob);
      case 'drain':
        return await runDrain(task);
      case 'pull':
        return await runPull(task);
      case 'produce':
        return await runProduce(task);
      default:
        return await runChunk(task);
    }
  } catch (error) {
    return { ok: false, error: toWire(error) };
  }
}
