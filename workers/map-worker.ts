/**
 * The code that runs inside each Piscina worker. It builds its own zero-copy
 * views of the process-wide mapping from the small handle in each task (views
 * are never posted between threads), runs the job's `map` over whole records,
 * detaches every view when the chunk is done, and steers the kernel with
 * madvise hints. Errors come back as values, not throws: structured clone
 * would drop their `code`.
 */
import { native } from '../src/native.js';
import { findLongRecord, resolveCut, terminatorOf } from '../src/planner.js';
import { loadJob } from '../src/job.js';
import { ChunkError, checkNotTruncated, chunkCursor, chunkRange, prefetchAhead, releaseBehind, serializeCause } from '../src/chunk.js';
import type { ChunkInfo, ChunkResult, ChunkTask, DrainResult, DrainTask, FileRef, Job, RunSettings, TaskErrorInfo } from '../src/types.js';
import { MAX_VIEW_LENGTH } from '../src/options.js';

/*
 * Every chunk's views are detached when it is done, and the first detach in a
 * thread invalidates V8's "array buffer detaching" protector: all optimized
 * code that reads typed arrays is thrown away and compiled again with detach
 * checks. Without this, the job's hot loop was compiled, discarded after the
 * first chunk and compiled again (80-170 ms of TurboFan per compile, on the
 * cores the workers use). Detaching a throwaway buffer before any job code
 * runs makes the first compile the one that lasts.
 */
{
  const spent = new ArrayBuffer(8);
  structuredClone(spent, { transfer: [spent] });
}

/** A failure carried back to the main thread. */
export interface TaskFailure {
  failed: TaskErrorInfo;
  cause?: ReturnType<typeof serializeCause>;
}

const jobs = new Map<string, Promise<Job>>();

function getJob(path: string): Promise<Job> {
  let job = jobs.get(path);
  if (!job) {
    job = loadJob(path);
    jobs.set(path, job);
    job.catch(() => jobs.delete(path));
  }
  return job;
}

function failure(error: unknown): TaskFailure {
  if (error instanceof ChunkError) return { failed: error.info, cause: error.original === undefined ? undefined : serializeCause(error.original) };
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : 'ERR_PAGEWISE_INTERNAL';
  const info: TaskErrorInfo = { code, message: String(e?.message ?? error) };
  for (const [key, value] of Object.entries(e ?? {})) {
    if (['string', 'number', 'boolean'].includes(typeof value)) (info as unknown as Record<string, unknown>)[key] = value;
  }
  return { failed: info, cause: code === 'ERR_PAGEWISE_INTERNAL' ? serializeCause(error) : undefined };
}

/** Runs the job's map over chunk `index` of `file`, folding into `acc`. */
function mapChunk(job: Job, acc: unknown, settings: RunSettings, file: FileRef, index: number): { acc: unknown; start: number; end: number } {
  checkNotTruncated(file);
  const id = file.mappingId;
  const finder = (byte: number, from: number, limit: number): number => native.find(id, byte, from, limit);
  const range = chunkRange(settings, file, index);
  prefetchAhead(settings, file, index);
  // A chunk is at most chunkSize plus one record, but a view cannot exceed
  // the runtime's limit: feed a larger chunk to map in record-aligned pieces.
  let at = range.start;
  while (at < range.end) {
    let to = range.end;
    if (to - at > MAX_VIEW_LENGTH) {
      // Cut at the last record boundary that fits in one view.
      to = resolveCut(at + MAX_VIEW_LENGTH - settings.maxRecordLength, file.size, settings.split, finder, settings.maxRecordLength);
      if (to <= at || to - at > MAX_VIEW_LENGTH) to = at + MAX_VIEW_LENGTH;
    }
    if (settings.checkRecordLength && to - at > settings.maxRecordLength) checkRecordLengths(settings, file, index, at, to);
    const view = native.view(id, at, to - at);
    const info: ChunkInfo = { index, start: at, end: to, fileIndex: file.fileIndex, file: file.path, params: settings.params };
    try {
      acc = job.map(acc, view, info);
    } catch (error) {
      throw new ChunkError(
        {
          code: 'ERR_PAGEWISE_JOB_FAILED',
          message: `job failed on chunk ${index} of '${file.path}' (bytes ${at}-${to}): ${(error as Error)?.message ?? error}`,
          fileIndex: file.fileIndex,
          index,
          start: at,
          end: to,
        },
        error,
      );
    } finally {
      native.detach(view);
    }
    at = to;
  }
  // Pages read past a new end came back as zeros: never report them as data.
  checkNotTruncated(file);
  releaseBehind(settings, file, index, range);
  return { acc, start: range.start, end: range.end };
}

function checkRecordLengths(settings: RunSettings, file: FileRef, index: number, from: number, to: number): void {
  const term = terminatorOf(settings.split);
  if (term < 0) return;
  const long = findLongRecord((byte, f, l) => native.find(file.mappingId, byte, f, l), term, from, to, settings.maxRecordLength);
  if (long === undefined) return;
  throw new ChunkError({
    code: 'ERR_PAGEWISE_RECORD_TOO_LONG',
    message: `'${file.path}': the record at byte offset ${long.offset} is ${long.length} bytes, longer than maxRecordLength (${settings.maxRecordLength} bytes)`,
    fileIndex: file.fileIndex,
    index,
    start: long.offset,
    offset: long.offset,
  });
}

async function runChunk(task: ChunkTask): Promise<ChunkResult | TaskFailure> {
  try {
    const job = await getJob(task.settings.jobPath);
    let acc: unknown;
    try {
      acc = job.init(task.settings.params);
    } catch (error) {
      throw new ChunkError({ code: 'ERR_PAGEWISE_JOB_FAILED', message: `job init failed: ${(error as Error)?.message ?? error}`, index: task.index }, error);
    }
    const done = mapChunk(job, acc, task.settings, task.file, task.index);
    return { acc: done.acc, start: done.start, end: done.end, bytes: done.end - done.start };
  } catch (error) {
    return failure(error);
  }
}

async function runDrain(task: DrainTask): Promise<DrainResult | TaskFailure> {
  try {
    const job = await getJob(task.settings.jobPath);
    const control = new Int32Array(task.control);
    const progress = new BigInt64Array(task.progress);
    const total = task.files.reduce((n, f) => n + f.chunks, 0);
    let acc: unknown;
    let touched = false;
    let chunks = 0;
    let bytes = 0;
    const chunkAt = chunkCursor(task.files);
    for (;;) {
      if (Atomics.load(control, 1) !== 0) break;
      const g = Atomics.add(control, 0, 1);
      if (g >= total) break;
      // Chunk numbers are handed out in increasing order, so the cursor
      // only moves forward for this worker.
      const { file, index } = chunkAt(g);
      if (!touched) {
        try {
          acc = job.init(task.settings.params);
        } catch (error) {
          throw new ChunkError({ code: 'ERR_PAGEWISE_JOB_FAILED', message: `job init failed: ${(error as Error)?.message ?? error}` }, error);
        }
        touched = true;
      }
      const done = mapChunk(job, acc, task.settings, file, index);
      acc = done.acc;
      chunks++;
      bytes += done.end - done.start;
      Atomics.add(progress, 0, BigInt(done.end - done.start));
      Atomics.add(progress, 1, 1n);
    }
    return { acc, chunks, bytes, touched };
  } catch (error) {
    // Tell the other workers to stop pulling chunks.
    Atomics.store(new Int32Array(task.control), 1, 1);
    return failure(error);
  }
}

/** Piscina's entry point. */
export default function run(task: ChunkTask | DrainTask): Promise<ChunkResult | DrainResult | TaskFailure> {
  return task.kind === 'drain' ? runDrain(task) : runChunk(task);
}
