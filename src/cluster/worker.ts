/**
 * A cluster worker (`pagewise worker`): takes splits from the BullMQ queue,
 * one at a time, and runs each through this process's own pipeline (mapping,
 * madvise, the kernel or worker-thread executors) with the internal `span`
 * option, then stores the split's unfinished accumulator for the coordinator
 * (src/run/executors/remote.ts). BullMQ holds a lock on the split while it
 * runs; a worker that dies stops renewing it and the split is handed to
 * another worker by the stall check. On close (SIGTERM) the running split is
 * stopped and handed straight back to the queue.
 */
import { statSync } from 'node:fs';
import { ErrorCodes, PagewiseError, toPagewiseError } from '../errors.js';
import { loadJobForRun } from '../job.js';
import { builtinJobs } from '../jobs/index.js';
import { INTERNAL, resolveWorkerOptions, type ClusterWorkerOptions, type MapReduceOptions } from '../options.js';
import { runJob } from '../run/pipeline.js';
import { deserialize, serialize, toWire } from '../run/wire.js';
import {
  connectionOf,
  fileMismatchError,
  loadBullmq,
  redact,
  runKeys,
  sameFile,
  type RunSpec,
  type SeenFile,
  type SplitCuts,
  type SplitData,
  type SplitResult,
  type SplitReturn,
} from './bull.js';
import { partialPath, writeFileAtomic } from './partials.js';
import { commandsOf, PUBLISH_SCRIPT, RESULTS_TTL_MS, type RedisCommands } from './redis.js';

/** A running cluster worker. */
export interface ClusterWorker {
  /** The name this worker reports in errors and statistics. */
  readonly name: string;
  /** Stops taking splits, hands the running one back to the queue, and disconnects. */
  close(): Promise<void>;
  /** Settles when the worker has closed. */
  readonly closed: Promise<void>;
}

/** How often a running split checks that its run is still alive, and reports progress. */
const CANCEL_POLL_MS = 250;
const PROGRESS_MS = 1000;

/** Splits a worker tolerates being stalled (its worker died) before the queue fails them. */
const MAX_STALLED = 2;

/**
 * Test hook: PAGEWISE_TEST_WORKER_REMAP=FROM=TO makes this worker open every
 * input whose path starts with FROM under TO instead, as a machine whose
 * shared storage holds another file would.
 */
function remap(path: string): string {
  const rule = process.env.PAGEWISE_TEST_WORKER_REMAP;
  const eq = rule?.indexOf('=') ?? -1;
  if (rule === undefined || eq <= 0) return path;
  const from = rule.slice(0, eq);
  return path.startsWith(from) ? rule.slice(eq + 1) + path.slice(from.length) : path;
}

/** How this worker sees a file, or the OS error (the file is missing on this machine). */
function seenFile(path: string): SeenFile {
  const s = statSync(path, { bigint: true });
  return { size: Number(s.size), mtimeNs: String(s.mtimeNs) };
}

class SpecCache {
  readonly #specs = new Map<string, RunSpec>();
  constructor(private readonly redis: () => Promise<RedisCommands>, private readonly queue: string) {}

  /** The run's spec, or undefined when the run has ended (its spec key is gone). */
  async get(run: string): Promise<RunSpec | undefined> {
    const known = this.#specs.get(run);
    if (known !== undefined) return known;
    const bytes = await (await this.redis()).getBuffer(runKeys(this.queue, run).spec);
    if (bytes === null) return undefined;
    const spec = deserialize(bytes) as RunSpec;
    if (this.#specs.size >= 16) this.#specs.delete(this.#specs.keys().next().value!);
    this.#specs.set(run, spec);
    return spec;
  }
}

/**
 * Starts a cluster worker: connects to the queue at `options.url` and runs
 * splits until closed (or until `options.signal` aborts).
 * @throws ERR_PAGEWISE_INVALID_OPTION, ERR_PAGEWISE_CLUSTER_UNAVAILABLE.
 * @example
 * ```ts
 * const worker = await clusterWorker({ url: 'redis://queue.internal:6379', threads: 4 });
 * process.once('SIGTERM', () => void worker.close());
 * await worker.closed;
 * ```
 */
export async function clusterWorker(options: ClusterWorkerOptions): Promise<ClusterWorker> {
  const o = resolveWorkerOptions(options);
  const bull = await loadBullmq();
  const shutdown = new AbortController();
  const say = (type: string, message: string): void => o.onEvent({ type, message: redact(message, o.url) });
  const republish: { previous?: SplitResult; done: boolean } | undefined = process.env.PAGEWISE_TEST_WORKER_REPUBLISH ? { done: false } : undefined;

  const worker = new bull.Worker<SplitData, SplitReturn>(o.queue, (job, token) => processSplit(job, token), {
    connection: connectionOf(o.url) as never,
    name: o.name,
    concurrency: 1,
    lockDuration: o.lockDuration,
    stalledInterval: o.lockDuration,
    maxStalledCount: MAX_STALLED,
    autorun: false,
  });
  const redis = (): Promise<RedisCommands> => commandsOf(worker);
  const specs = new SpecCache(redis, o.queue);
  worker.on('error', (error) => say('error', `redis: ${(error as Error)?.message ?? error}`));
  worker.on('ready', () => say('ready', `worker ${o.name} connected to ${o.maskedUrl}, queue '${o.queue}', ${o.threads} thread(s)`));

  async function processSplit(job: import('bullmq').Job<SplitData, SplitReturn>, token: string | undefined): Promise<SplitReturn> {
    const d = job.data;
    const keys = runKeys(o.queue, d.run);
    const spec = await specs.get(d.run);
    // The run ended (finished, failed or interrupted): drop its leftover splits.
    if (spec === undefined || (await (await redis()).exists(keys.spec)) === 0) return { k: d.k, worker: o.name, cancelled: true };
    const started = performance.now();
    const local = new AbortController();
    let cancelled = false;
    let bytesDone = 0;
    const onShutdown = (): void => local.abort(new PagewiseError(ErrorCodes.ABORTED, 'the worker is closing'));
    shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    let lastProgress = 0;
    const poll = setInterval(() => {
      void (async () => {
        const r = await redis();
        if ((await r.exists(keys.spec)) === 0) {
          cancelled = true;
          local.abort(new PagewiseError(ErrorCodes.ABORTED, 'the run ended'));
        }
        const now = performance.now();
        if (now - lastProgress >= PROGRESS_MS) {
          lastProgress = now;
          await job.updateProgress({ bytes: bytesDone });
        }
      })().catch((error: unknown) => say('error', `redis: ${(error as Error)?.message ?? error}`));
    }, CANCEL_POLL_MS);
    poll.unref();
    let result: SplitResult;
    try {
      result = await runSplit(d, spec, local.signal, (bytes) => {
        bytesDone = bytes;
      });
      result = { ...result, seconds: (performance.now() - started) / 1000 } as SplitResult;
    } catch (error) {
      if (shutdown.signal.aborted) {
        // Handed straight back: another worker takes it without waiting for the lock to expire.
        await job.moveToWait(token);
        say('handed-back', `split ${d.k} of run ${d.run} handed back to the queue`);
        throw new bull.WaitingError();
      }
      if (cancelled) return { k: d.k, worker: o.name, cancelled: true };
      const e = toPagewiseError(error);
      (e as unknown as Record<string, unknown>).worker = o.name;
      result = { ok: false, k: d.k, worker: o.name, error: toWire(e) };
    } finally {
      clearInterval(poll);
      shutdown.signal.removeEventListener('abort', onShutdown);
    }
    if (republish !== undefined && !republish.done && republish.previous !== undefined) {
      // Test hook: a stalled worker's late copy of an earlier split, seen before this one arrives.
      republish.done = true;
      await publish(keys, d, republish.previous, spec);
      await new Promise((r) => setTimeout(r, 1500));
    }
    let stored: boolean;
    try {
      stored = await publish(keys, d, result, spec);
    } catch (error) {
      // A partial that cannot be copied (ERR_PAGEWISE_NOT_CLONEABLE) or written (EACCES beside the input) fails the run as it would locally.
      if (!result.ok) throw error;
      const e = toPagewiseError(error);
      (e as unknown as Record<string, unknown>).worker = o.name;
      result = { ok: false, k: d.k, worker: o.name, error: toWire(e) };
      stored = await publish(keys, d, result, spec);
    }
    if (republish !== undefined && republish.previous === undefined) republish.previous = result;
    if (!stored) return { k: d.k, worker: o.name, cancelled: true };
    say('split', `split ${d.k} of run ${d.run} (${d.label} bytes ${d.start}-${d.end}) ${result.ok ? 'done' : `failed: ${result.error.message}`}`);
    return { k: d.k, worker: o.name };
  }

  /** Stores a split's result under the run, in Redis or (too large) in a file beside the input; false when the run has ended. */
  async function publish(keys: { spec: string; results: string }, d: SplitData, result: SplitResult, spec: RunSpec): Promise<boolean> {
    let bytes = serialize(result, 'the accumulator', `of split ${result.k} ('${d.label}')`);
    let file: string | undefined;
    if (bytes.length > spec.inlineLimit && result.ok) {
      file = partialPath(d.path, d.run, result.k);
      writeFileAtomic(file, bytes);
      const { acc: _acc, ...rest } = result;
      bytes = serialize({ ...rest, file }, 'the result', `of split ${result.k}`);
    }
    const stored = await (await redis()).eval(PUBLISH_SCRIPT, 2, keys.spec, keys.results, String(result.k), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), RESULTS_TTL_MS);
    if (stored !== 1 && file !== undefined) {
      const { rmSync } = await import('node:fs');
      rmSync(file, { force: true });
    }
    return stored === 1;
  }

  async function runSplit(d: SplitData, spec: RunSpec, signal: AbortSignal, onBytes: (bytes: number) => void): Promise<SplitResult> {
    if (spec.v !== 1) {
      throw new PagewiseError(ErrorCodes.CLUSTER_JOB_MISMATCH, `worker ${o.name} cannot read a run of another pagewise version (spec version ${spec.v})`, { worker: o.name });
    }
    const path = remap(d.path);
    const expected = { size: d.size, mtimeNs: d.mtimeNs };
    const seen = seenFile(path);
    if (!sameFile(seen, expected)) throw fileMismatchError(o.name, d.label, expected, seen);
    const jobFile = spec.job.builtin !== undefined ? builtinJobs[spec.job.builtin as keyof typeof builtinJobs] : spec.job.path;
    if (jobFile === undefined) {
      throw new PagewiseError(ErrorCodes.CLUSTER_JOB_MISMATCH, `worker ${o.name} has no built-in job '${spec.job.builtin}' (another pagewise version?)`, { worker: o.name });
    }
    const { handle } = await loadJobForRun(jobFile);
    if (handle.version !== spec.job.version) {
      throw new PagewiseError(
        ErrorCodes.CLUSTER_JOB_MISMATCH,
        `worker ${o.name} loads another version of job '${spec.job.path}' than the coordinator (source hash ${handle.version}, the coordinator's ${spec.job.version}): ` +
          'the job module must be the same file at the same path on every machine',
        { worker: o.name, path: spec.job.path },
      );
    }
    const options: MapReduceOptions = {
      ...spec.options,
      params: spec.params,
      threads: o.threads,
      signal,
      onProgress: (p) => onBytes(p.bytesDone),
    };
    (options as Record<symbol, unknown>)[INTERNAL] = {
      span: { start: d.start, end: d.end, align: spec.splitSize },
      as: { fileIndex: d.fileIndex, path: d.label },
      partial: true,
      ...(d.csvCuts === undefined ? {} : { csvCuts: d.csvCuts }),
    };
    const { result, stats } = await runJob<{ merged: boolean; acc: unknown; cuts?: SplitCuts }>(path, jobFile, options);
    return {
      ok: true,
      k: d.k,
      worker: o.name,
      seen,
      merged: result.merged,
      acc: result.acc,
      bytes: stats.bytes,
      chunks: stats.chunks,
      seconds: 0,
      threads: stats.threads,
      executor: stats.executor,
      chunkSize: stats.chunkSize,
      ...(result.cuts === undefined ? {} : { cuts: result.cuts }),
    };
  }

  let closing: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shutdown.abort();
      try {
        await worker.close();
      } finally {
        resolveClosed();
        say('closed', `worker ${o.name} closed`);
      }
    })();
    return closing;
  };
  if (o.signal?.aborted) await close();
  o.signal?.addEventListener('abort', () => void close(), { once: true });
  void worker.run().catch((error: unknown) => {
    say('error', `worker stopped: ${(error as Error)?.message ?? error}`);
    void close();
  });
  return { name: o.name, close, closed };
}
