/**
 * The remote executor: a cluster run's coordinator. It cuts the group's files
 * into splits (spans of the chunk grid of `cluster.splitSize` bytes, so every
 * record is in exactly one split), enqueues them on a BullMQ queue, and hands
 * the partials that `pagewise worker` processes send back to the run's
 * reducer — in file order, or as they come for commutative jobs — so the
 * result is the local run's. BullMQ gives the locks, the stall detection that
 * re-runs a dead worker's split, and the events; a split's result is stored
 * by its worker in the run's results hash (or, too large, in a file beside
 * the input), and a result that arrives twice (at-least-once delivery) is
 * counted once: by split number, here.
 *
 * Plain jobs rather than a BullMQ flow: the merge runs here, where the
 * reducer, `onMerged` (grep streams its lines in file order while splits are
 * still running) and `finish` are, so a parent job would only gather values
 * the coordinator needs one by one as they come (docs/cluster.md).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { ErrorCodes, PagewiseError, toPagewiseError } from '../../errors.js';
import { builtinJobs } from '../../jobs/index.js';
import type { ResolvedCluster, ResolvedOptions } from '../../options.js';
import {
  connectionOf,
  fileMismatchError,
  INLINE_LIMIT,
  loadBullmq,
  redact,
  runKeys,
  sameFile,
  splitJobId,
  SPEC_RENEW_MS,
  SPEC_TTL_MS,
  type RunSpec,
  type SplitData,
  type SplitOptions,
  type SplitCuts,
  type SplitResult,
  type SplitReturn,
} from '../../cluster/bull.js';
import { removeRunPartials, takePartialFile } from '../../cluster/partials.js';
import { commandsOf, type RedisCommands } from '../../cluster/redis.js';
import type { FileRef } from '../messages.js';
import { inOrder } from '../reducer.js';
import { deserialize, fromWire, serialize } from '../wire.js';
import type { ClusterReport } from '../../types.js';
import type { Executor, InputGroup, RunContext } from './executor.js';

/** The coordinator gives up reaching Redis after this long. */
const CONNECT_TIMEOUT_MS = 5000;
/** Without a split started by then, the coordinator checks whether any worker is connected, and says so if none is. */
const NO_WORKER_NOTICE_MS = 3000;
/** How often stored results are looked for (events are the fast path; this catches what they missed), and split states checked. */
const SWEEP_MS = 500;
const STATE_CHECK_MS = 2000;
/** How long cleanup waits for workers to drop the run's running splits so they can be removed from the queue. */
const CLEANUP_MS = 1000;
/** How long closing the connections may take before they are dropped. */
const CLOSE_MS = 2000;

type Bull = Awaited<ReturnType<typeof loadBullmq>>;

interface Pending {
  resolve: (value: Received) => void;
  reject: (error: unknown) => void;
  enqueuedAt: number;
  data: SplitData;
}

interface Received {
  merged: boolean;
  acc: unknown;
  bytes: number;
  cuts?: SplitCuts;
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The options of the run that workers apply to each split: what was given, never this machine's defaults. */
function splitOptionsOf(o: ResolvedOptions): SplitOptions {
  const s: SplitOptions = { prefetch: o.prefetch, advice: o.advice, nativeKernels: o.nativeKernels };
  if (o.chunkSize !== 'auto') s.chunkSize = o.chunkSize;
  if (o.explicitMaxRecordLength) s.maxRecordLength = o.maxRecordLength;
  if (o.release !== 'auto') s.release = o.release;
  if (o.mode !== 'read') s.mode = o.mode;
  if (o.memoryBudget !== undefined) s.memoryBudget = o.memoryBudget;
  if (o.resourceLimits !== undefined) s.resourceLimits = o.resourceLimits;
  return s;
}

/** One group of files run on the cluster: its own run id, spec, results and jobs. */
class ClusterRun {
  readonly id = randomBytes(8).toString('hex');
  readonly keys: { spec: string; results: string };
  readonly #pending = new Map<number, Pending>();
  readonly #received = new Set<number>();
  readonly #fetching = new Set<number>();
  readonly #enqueued = new Set<number>();
  /** Splits whose job BullMQ reported completed (and so removed): cleanup need not remove them. */
  readonly #gone = new Set<number>();
  /** Splits whose job is known to be in the queue (its add returned). */
  readonly #added = new Set<number>();
  readonly #inflight = new Map<number, number>();
  readonly #dirs = new Set<string>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #startedAt = performance.now();
  #lastActivity = performance.now();
  #anyActive = false;
  #noticed = false;
  #fatal: PagewiseError | undefined;
  #doneBytes = 0;
  readonly #bytesBefore: number;
  #sweeping = false;
  #checking = false;
  /** The number the next split run again gets (after every planned split's). */
  #nextSplit = 0;
  readonly stats = { duplicates: 0, stalled: 0, redone: 0, splitSeconds: [] as number[], latency: [] as number[], workers: new Map<string, ClusterReport['workers'][number]>() };

  private constructor(
    readonly bull: Bull,
    readonly cluster: ResolvedCluster,
    readonly ctx: RunContext,
    readonly queue: import('bullmq').Queue,
    readonly events: import('bullmq').QueueEvents,
    readonly redis: RedisCommands,
  ) {
    this.keys = runKeys(cluster.queue, this.id);
    this.#bytesBefore = ctx.reducer.meter.bytesDone;
  }

  /** Connects to Redis and to the queue's events. @throws ERR_PAGEWISE_CLUSTER_UNAVAILABLE, ERR_PAGEWISE_CLUSTER_CONNECT. */
  static async open(ctx: RunContext): Promise<ClusterRun> {
    const cluster = ctx.options.cluster!;
    const bull = await loadBullmq();
    const connection = connectionOf(cluster.url) as never;
    const unreachable = (why: string): PagewiseError =>
      new PagewiseError(ErrorCodes.CLUSTER_CONNECT, `cannot reach Redis at ${cluster.maskedUrl}: ${redact(why, cluster.url)}`, { url: cluster.maskedUrl });
    let lastError = `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
    const queue = new bull.Queue(cluster.queue, { connection });
    queue.on('error', (error) => {
      lastError = (error as Error)?.message ?? String(error);
    });
    let events: import('bullmq').QueueEvents | undefined;
    // A refused connection (or a bad password) at the start is an answer: fail at once rather than retry.
    const refused = new Promise<never>((_, reject) => queue.once('error', (error) => reject(unreachable((error as Error)?.message ?? String(error)))));
    refused.catch(() => {});
    try {
      await Promise.race([withTimeout(queue.waitUntilReady(), CONNECT_TIMEOUT_MS, () => unreachable(lastError)), refused]);
      const redis = await commandsOf(queue);
      // Listen from the stream's present end, so no event of this run's splits is missed.
      const last = await redis.xrevrange(`bull:${cluster.queue}:events`, '+', '-', 'COUNT', 1);
      events = new bull.QueueEvents(cluster.queue, { connection, lastEventId: last[0]?.[0] ?? '0-0' });
      events.on('error', (error) => {
        lastError = (error as Error)?.message ?? String(error);
      });
      await withTimeout(events.waitUntilReady(), CONNECT_TIMEOUT_MS, () => unreachable(lastError));
      return new ClusterRun(bull, cluster, ctx, queue, events, redis);
    } catch (error) {
      await Promise.allSettled([queue.close(), events?.close()]);
      throw error;
    }
  }

  #mine(jobId: string | undefined): number | undefined {
    const prefix = `pw-${this.id}-`;
    if (jobId === undefined || !jobId.startsWith(prefix)) return undefined;
    return Number(jobId.slice(prefix.length));
  }

  #fail(error: PagewiseError): void {
    if (this.#fatal !== undefined) return;
    this.#fatal = error;
    for (const p of this.#pending.values()) p.reject(error);
  }

  /** Runs the files' splits; resolves when every partial is merged. */
  async run(files: FileRef[]): Promise<void> {
    const { ctx, cluster } = this;
    const splits: SplitData[] = [];
    for (const f of files) {
      const path = resolve(f.openPath ?? f.path);
      this.#dirs.add(dirname(path));
      for (let j = 0; j < f.chunks; j++) {
        const start = j * cluster.splitSize;
        splits.push({
          run: this.id,
          k: splits.length,
          path,
          label: f.path,
          fileIndex: f.fileIndex,
          size: f.size,
          mtimeNs: String(f.identity.mtimeNs),
          start,
          end: Math.min(f.size, start + cluster.splitSize),
          ...(ctx.options.internal.csvCuts === undefined ? {} : { csvCuts: ctx.options.internal.csvCuts }),
        });
      }
    }
    const jobPath = ctx.plan.job.path;
    const builtin = Object.entries(builtinJobs).find(([, p]) => p === jobPath)?.[0];
    const spec: RunSpec = {
      v: 1,
      job: { path: jobPath, builtin, version: ctx.plan.job.version },
      options: splitOptionsOf(ctx.options),
      params: ctx.options.params,
      splitSize: cluster.splitSize,
      inlineLimit: ctx.options.internal.clusterInlineLimit ?? INLINE_LIMIT,
      coordinator: `${hostname()}:${process.pid}`,
    };
    this.#nextSplit = splits.length;
    const specBytes = serialize(spec, 'the run', '(its params)');
    await this.redis.set(this.keys.spec, Buffer.from(specBytes.buffer, specBytes.byteOffset, specBytes.length), 'PX', SPEC_TTL_MS);
    this.#listen();
    this.#every(SPEC_RENEW_MS, () => this.redis.pexpire(this.keys.spec, SPEC_TTL_MS));
    this.#every(SWEEP_MS, () => this.#sweep());
    this.#every(STATE_CHECK_MS, () => this.#checkStates());
    this.#every(250, () => this.#watch());

    const commutative = ctx.job.commutative === true;
    const w = cluster.splitsInFlight;
    const { reducer } = ctx;
    // Where each split's records end (CSV): the next split's first cut must be there.
    const ends: Promise<number | undefined>[] = [];
    await inOrder(
      splits.length,
      // Commutative partials merge as they come, so only the splits in flight are bounded.
      { inFlight: w, window: commutative ? splits.length : w, signal: ctx.signal },
      async (k) => {
        let end!: (cut: number | undefined) => void;
        let failed!: (error: unknown) => void;
        ends[k] = new Promise((resolve, reject) => ((end = resolve), (failed = reject)));
        ends[k].catch(() => {});
        let got: Received;
        try {
          got = await this.#chained(splits, k, await this.#split(splits[k]), ends);
          end(got.cuts?.end);
        } catch (error) {
          failed(error);
          throw error;
        }
        if (commutative) {
          if (got.merged) reducer.add(got.acc);
          return { merged: false, acc: undefined, bytes: got.bytes };
        }
        return got;
      },
      (k, got) => {
        if (got.merged) reducer.add(got.acc);
        reducer.meter.chunksDone++;
        this.#progress();
      },
    );
  }

  /**
   * A CSV split guesses its first cut and proves the rest (src/csv/speculate.ts):
   * the guess holds when it is where the split before it ended, since that
   * split's last chunk proved its end. Otherwise the split runs again, cut from
   * a first pass; the wrong attempt is never merged. A guess with nothing to
   * hold it to (the split before was read as a stream, its mapping refused)
   * runs again too.
   */
  async #chained(splits: SplitData[], k: number, got: Received, ends: Promise<number | undefined>[]): Promise<Received> {
    const d = splits[k];
    if (got.cuts === undefined || d.start === 0) return got;
    const before = await ends[k - 1];
    if (got.cuts.start === before || (before === undefined && !got.cuts.guessed)) return got;
    this.#doneBytes -= got.bytes;
    this.stats.redone++;
    const again = await this.#split({ ...d, k: this.#nextSplit++, csvCuts: 'first pass' });
    if (before !== undefined && again.cuts?.start !== before) {
      throw new PagewiseError(ErrorCodes.INTERNAL, `split ${k} of '${d.label}' starts at byte ${again.cuts?.start} after a first pass, not where split ${k - 1} ended (${before})`, { split: k, path: d.label });
    }
    return again;
  }

  #every(ms: number, fn: () => Promise<unknown> | void): void {
    const timer = setInterval(() => {
      void (async () => fn())().catch((error: unknown) => this.#fail(this.#redisError(error)));
    }, ms);
    this.#timers.push(timer);
  }

  #redisError(error: unknown): PagewiseError {
    if (error instanceof PagewiseError) return error;
    return new PagewiseError(ErrorCodes.CLUSTER_CONNECT, `lost Redis at ${this.cluster.maskedUrl}: ${redact((error as Error)?.message ?? String(error), this.cluster.url)}`, {
      url: this.cluster.maskedUrl,
    });
  }

  #progress(): void {
    const meter = this.ctx.reducer.meter;
    let inflight = 0;
    for (const b of this.#inflight.values()) inflight += b;
    meter.bytesDone = this.#bytesBefore + this.#doneBytes + inflight;
    meter.report();
  }

  /** Enqueues one split and resolves with its partial. */
  #split(data: SplitData): Promise<Received> {
    if (this.#fatal !== undefined) return Promise.reject(this.#fatal);
    const done = new Promise<Received>((resolve, reject) => {
      this.#pending.set(data.k, { resolve, reject, enqueuedAt: performance.now(), data });
    });
    this.#enqueued.add(data.k);
    this.queue
      .add('split', data, { jobId: splitJobId(this.id, data.k), removeOnComplete: true, removeOnFail: false, attempts: 1 })
      .then(() => this.#added.add(data.k))
      .catch((error: unknown) => this.#fail(this.#redisError(error)));
    return done;
  }

  #listen(): void {
    this.events.on('active', ({ jobId }) => {
      if (this.#mine(jobId) === undefined) return;
      this.#anyActive = true;
      this.#lastActivity = performance.now();
    });
    this.events.on('progress', ({ jobId, data }) => {
      const k = this.#mine(jobId);
      if (k === undefined || !this.#pending.has(k)) return;
      this.#lastActivity = performance.now();
      const bytes = (data as { bytes?: unknown } | undefined)?.bytes;
      if (typeof bytes === 'number') {
        this.#inflight.set(k, bytes);
        this.#progress();
      }
    });
    this.events.on('completed', ({ jobId, returnvalue }) => {
      const k = this.#mine(jobId);
      if (k === undefined) return;
      this.#gone.add(k);
      if ((returnvalue as unknown as SplitReturn | undefined)?.cancelled) return;
      this.#lastActivity = performance.now();
      void this.#fetch(k).catch((error: unknown) => this.#fail(this.#redisError(error)));
    });
    this.events.on('stalled', ({ jobId }) => {
      if (this.#mine(jobId) !== undefined) this.stats.stalled++;
    });
    this.events.on('failed', ({ jobId, failedReason }) => {
      const k = this.#mine(jobId);
      if (k === undefined || this.#received.has(k)) return;
      this.#failSplit(k, failedReason);
    });
  }

  #failSplit(k: number, reason: string): void {
    const d = this.#pending.get(k)?.data;
    this.#fail(
      new PagewiseError(
        ErrorCodes.CLUSTER_SPLIT_FAILED,
        `the queue gave up on split ${k}${d ? ` ('${d.label}' bytes ${d.start}-${d.end})` : ''}: ${redact(reason, this.cluster.url)}`,
        { split: k, path: d?.label, start: d?.start, end: d?.end },
      ),
    );
  }

  /** Takes split k's stored result, if there is one; one that is already counted is dropped as a duplicate. */
  async #fetch(k: number): Promise<void> {
    if (this.#fetching.has(k)) return;
    this.#fetching.add(k);
    try {
      const field = String(k);
      const bytes = await this.redis.hgetBuffer(this.keys.results, field);
      if (bytes === null) return;
      await this.redis.hdel(this.keys.results, field);
      if (this.#received.has(k)) {
        this.stats.duplicates++;
        const late = deserialize(bytes) as SplitResult;
        if (late.ok && late.file !== undefined) rmSync(late.file, { force: true });
        return;
      }
      const stored = deserialize(bytes) as SplitResult;
      // Stored under its own split number; anything else is not this split's result.
      if (stored.k !== k) return;
      this.#receive(k, stored);
    } finally {
      this.#fetching.delete(k);
    }
  }

  #receive(k: number, stored: SplitResult): void {
    const p = this.#pending.get(k);
    if (p === undefined) return;
    this.#received.add(k);
    this.#pending.delete(k);
    this.#inflight.delete(k);
    let r = stored;
    try {
      if (r.ok && r.file !== undefined) r = deserialize(takePartialFile(r.file)) as SplitResult;
      if (!r.ok) throw fromWire(r.error);
      const d = p.data;
      if (!sameFile(r.seen, { size: d.size, mtimeNs: d.mtimeNs })) throw fileMismatchError(r.worker, d.label, { size: d.size, mtimeNs: d.mtimeNs }, r.seen);
    } catch (error) {
      p.reject(error);
      return;
    }
    // Bytes count as read when they arrive (splits are merged later, in order).
    this.#doneBytes += r.bytes;
    this.#progress();
    this.stats.splitSeconds.push(r.seconds);
    this.stats.latency.push((performance.now() - p.enqueuedAt) / 1000);
    const w = this.stats.workers.get(r.worker) ?? { name: r.worker, splits: 0, bytes: 0, seconds: 0, threads: r.threads, executor: r.executor, chunkSize: r.chunkSize };
    w.splits++;
    w.bytes += r.bytes;
    w.seconds += r.seconds;
    this.stats.workers.set(r.worker, w);
    p.resolve({ merged: r.merged, acc: r.acc, bytes: r.bytes, ...(r.cuts === undefined ? {} : { cuts: r.cuts }) });
  }

  async #sweep(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      for (const field of await this.redis.hkeys(this.keys.results)) {
        const k = Number(field);
        if (this.#pending.has(k) || this.#received.has(k)) await this.#fetch(k);
      }
    } finally {
      this.#sweeping = false;
    }
  }

  /** Splits that failed or vanished from the queue without an event seen here. */
  async #checkStates(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      for (const k of [...this.#pending.keys()].filter((j) => this.#added.has(j)).slice(0, 256)) {
        const id = splitJobId(this.id, k);
        const state = await this.queue.getJobState(id);
        if (state === 'failed') {
          const job = await this.queue.getJob(id);
          this.#failSplit(k, job?.failedReason ?? 'failed');
        } else if (state === 'unknown' && this.#pending.has(k)) {
          // Its result is stored before the job completes (and is removed), so it must be there by now.
          await this.#fetch(k);
          if (this.#pending.has(k) && !this.#fetching.has(k) && (await this.queue.getJobState(id)) === 'unknown') {
            this.#failSplit(k, 'its job is no longer in the queue (removed by someone else?)');
          }
        }
      }
    } finally {
      this.#checking = false;
    }
  }

  async #watch(): Promise<void> {
    const now = performance.now();
    const { timeout, queue, maskedUrl, onNotice } = this.cluster;
    if (!this.#anyActive && !this.#noticed && now - this.#startedAt >= NO_WORKER_NOTICE_MS) {
      this.#noticed = true;
      if ((await this.queue.getWorkersCount()) === 0) {
        onNotice(
          `no pagewise worker is connected to queue '${queue}' at ${maskedUrl}: waiting for one ` +
            `(start one with: pagewise worker --cluster URL${queue === 'pagewise' ? '' : ` --queue ${queue}`}${timeout === undefined ? '; --cluster-timeout gives up' : ''})`,
        );
      }
    }
    if (timeout !== undefined && now - this.#lastActivity >= timeout) {
      this.#fail(
        new PagewiseError(
          ErrorCodes.CLUSTER_TIMEOUT,
          `no split made progress for ${timeout / 1000} s on queue '${queue}' at ${maskedUrl} (${this.#anyActive ? 'workers stopped answering' : 'no worker took a split'})`,
          { url: maskedUrl, queue, timeout },
        ),
      );
    }
  }

  report(): ClusterReport {
    const seconds = this.stats.splitSeconds;
    const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
    return {
      url: this.cluster.maskedUrl,
      queue: this.cluster.queue,
      splitSize: this.cluster.splitSize,
      splits: seconds.length,
      duplicates: this.stats.duplicates,
      stalled: this.stats.stalled,
      redone: this.stats.redone,
      splitSeconds: { mean: mean(seconds), max: seconds.reduce((a, b) => Math.max(a, b), 0) },
      splitLatencySeconds: mean(this.stats.latency),
      workers: [...this.stats.workers.values()],
    };
  }

  /**
   * Ends the run in Redis: its spec goes first (workers drop its splits at
   * their next look, within a quarter second), then its jobs are removed —
   * a split a worker holds only once that worker has let it go, for up to a
   * second — then its results and partial files.
   */
  async close(wait: boolean): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    for (const p of this.#pending.values()) p.reject(this.#fatal ?? new PagewiseError(ErrorCodes.ABORTED, 'the run ended'));
    try {
      await this.redis.del(this.keys.spec);
      let left = [...this.#enqueued].filter((k) => !this.#gone.has(k)).map((k) => splitJobId(this.id, k));
      const deadline = performance.now() + (wait ? CLEANUP_MS : 0);
      for (;;) {
        const removed = await Promise.all(left.map((id) => this.queue.remove(id).catch(() => 0)));
        left = left.filter((_, i) => removed[i] !== 1);
        if (left.length === 0 || performance.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await this.redis.del(this.keys.results);
    } catch {
      // Best effort: whatever stays expires (the spec within a minute; results within a day).
    } finally {
      removeRunPartials(this.#dirs, this.id);
      // Closing waits for Redis; a Redis that is gone must not hold the run's end.
      const closed = Promise.allSettled([this.events.close(), this.queue.close()]);
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([closed.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), CLOSE_MS)))]);
      clearTimeout(timer);
      if (late) await Promise.allSettled([this.events.disconnect(), this.queue.disconnect()]);
    }
  }
}

export const remoteExecutor: Executor = {
  name: 'remote',
  async run(group: InputGroup, ctx: RunContext): Promise<void> {
    if (group.kind !== 'chunks' || ctx.options.cluster === undefined) throw new Error('remote executor: expected files read in chunks and a cluster');
    const cluster = ctx.options.cluster;
    const run = await ClusterRun.open(ctx);
    let failed = true;
    try {
      await run.run(group.files);
      failed = false;
    } catch (error) {
      const e = toPagewiseError(error);
      e.message = redact(e.message, cluster.url);
      throw e;
    } finally {
      await run.close(failed);
      const r = run.report();
      const before = ctx.report.cluster;
      ctx.report.cluster =
        before === undefined
          ? r
          : {
              ...r,
              splits: before.splits + r.splits,
              duplicates: before.duplicates + r.duplicates,
              stalled: before.stalled + r.stalled,
              redone: before.redone + r.redone,
              splitSeconds: { mean: (before.splitSeconds.mean * before.splits + r.splitSeconds.mean * r.splits) / Math.max(1, before.splits + r.splits), max: Math.max(before.splitSeconds.max, r.splitSeconds.max) },
              workers: mergeWorkers(before.workers, r.workers),
            };
    }
  },
};

function mergeWorkers(a: ClusterReport['workers'], b: ClusterReport['workers']): ClusterReport['workers'] {
  const out = new Map(a.map((w) => [w.name, { ...w }]));
  for (const w of b) {
    const o = out.get(w.name);
    if (o === undefined) out.set(w.name, { ...w });
    else {
      o.splits += w.splits;
      o.bytes += w.bytes;
      o.seconds += w.seconds;
    }
  }
  return [...out.values()];
}
