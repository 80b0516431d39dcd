/**
 * The worker pools, shared by every run in the process and isolated per run:
 * a run's tasks carry its own control block and abort signal, so a run that
 * fails or is aborted stops only its own tasks (cooperatively first: workers
 * look at the control block between chunks; a task still running after a
 * grace period is aborted, which makes Piscina replace that worker). One
 * run's failure never destroys a pool another run is using.
 */
import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import { ErrorCodes, PagewiseError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { TransferListItem } from 'node:worker_threads';
import { stopRun } from './control.js';
import { CONTROL_SLOTS, STOP, type ScanReply, type ScanTask, type Task, type TaskReply } from './messages.js';
import { fromWire } from './wire.js';

// A CommonJS shim that import()s map-worker.js (see map-worker-entry.cts).
const WORKER_URL = new URL('../../workers/map-worker-entry.cjs', import.meta.url);

/** How long a stopped run waits for its running tasks to notice before they are terminated. */
const STOP_GRACE_MS = 1000;

type PiscinaClass = typeof import('piscina').Piscina;
let piscinaModule: Promise<PiscinaClass> | undefined;

// Pools are cached by (threads, limits) and reused by later runs: starting
// workers and loading a job costs tens of milliseconds. Idle workers exit on
// their own and do not keep the process alive.
const pools = new Map<string, Promise<Piscina>>();

/** Loads Piscina now (its import is a noticeable part of a short run), so a pool can start without waiting later. */
export function loadPiscina(): Promise<PiscinaClass> {
  piscinaModule ??= import('piscina').then(
    (m) => m.Piscina,
    (error: unknown) => {
      piscinaModule = undefined;
      throw error;
    },
  );
  return piscinaModule;
}

function createPool(Pool: PiscinaClass, threads: number, resourceLimits: ResolvedOptions['resourceLimits']): Piscina {
  const pool = new Pool({
    filename: WORKER_URL.href,
    // All threads start at once, while the main thread is still loading the
    // job and stating the inputs.
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 1000,
    concurrentTasksPerWorker: 1,
    // Each run bounds its own tasks in flight; concurrent runs share the queue.
    maxQueue: Infinity,
    resourceLimits,
    // Piscina's default ('sync') parks an idle worker in Atomics.wait without
    // returning to its event loop, where the addon's view finalizers (which
    // release mappings and fds) and a job's timers run. Let the loop turn.
    atomics: 'disabled',
  });
  // Failures that matter reach a run as rejected tasks; what arrives after a
  // task is settled (a worker dying while idle) must not crash the process.
  pool.on('error', () => {});
  return pool;
}

/** More worker threads than this per core only add memory (and a thread's start-up). */
export const THREADS_PER_CORE = 4;

/** The worker threads a run asking for `threads` gets (src/plan/plan.ts): at most THREADS_PER_CORE per core. */
export function poolThreads(threads: number, cores = availableParallelism()): number {
  return Math.min(threads, THREADS_PER_CORE * cores);
}

/**
 * Starts the pool a run with `threads` (default: one per core) and no
 * resource limits will take, for the CLI: its workers boot (~80 ms) while the
 * main thread is still loading the library, instead of after the run is planned.
 */
export function prestartPool(threads: number | undefined): Promise<Piscina> {
  const pool = workerPool(poolThreads(threads ?? availableParallelism()), undefined);
  pool.catch(() => {});
  return pool;
}

/** The pool of `threads` workers with these limits, started on first use. */
export function workerPool(threads: number, resourceLimits: ResolvedOptions['resourceLimits']): Promise<Piscina> {
  const key = `${threads}:${JSON.stringify(resourceLimits ?? {})}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = loadPiscina().then((Pool) => createPool(Pool, threads, resourceLimits));
    pool.catch(() => pools.delete(key));
    pools.set(key, pool);
  }
  return pool;
}

/** Stops every cached worker pool (pagewise starts new ones when needed). */
export async function shutdownPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.then((pool) => pool.destroy()).catch(() => {})));
}

/**
 * One run's tasks on a pool: every task carries the run's control block and
 * abort signal, and `stop()` ends them all (and only them).
 */
export class RunTasks {
  readonly control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_SLOTS));
  readonly #abort = new AbortController();
  readonly #running = new Set<Promise<unknown>>();

  constructor(private readonly pool: Piscina) {}

  /** Runs `task` (moving `transferList` to the worker); rejects only if the worker died or the task was aborted. */
  run(task: ScanTask): Promise<ScanReply>;
  run(task: Task, transferList?: readonly TransferListItem[]): Promise<TaskReply>;
  run(task: Task, transferList?: readonly TransferListItem[]): Promise<TaskReply | ScanReply> {
    const done = this.pool.run(task, { signal: this.#abort.signal, transferList: transferList as TransferListItem[] | undefined }) as Promise<TaskReply | ScanReply>;
    const settled = done.catch(() => {});
    this.#running.add(settled);
    void settled.then(() => this.#running.delete(settled));
    return done;
  }

  /**
   * Runs `task` and returns its successful reply; a failed task throws its
   * error, a worker that died throws ERR_PAGEWISE_WORKER_DIED.
   */
  call(task: ScanTask): Promise<Extract<ScanReply, { ok: true }>>;
  call(task: Exclude<Task, ScanTask>, transferList?: readonly TransferListItem[]): Promise<Extract<TaskReply, { ok: true }>>;
  async call(task: Task, transferList?: readonly TransferListItem[]): Promise<Extract<TaskReply | ScanReply, { ok: true }>> {
    let reply: TaskReply | ScanReply;
    try {
      reply = await this.run(task as Exclude<Task, ScanTask>, transferList);
    } catch (error) {
      const message = (error as Error)?.message || String(error);
      throw new PagewiseError(ErrorCodes.WORKER_DIED, `a worker thread stopped unexpectedly: ${message}`, { cause: error });
    }
    if (!reply.ok) throw fromWire(reply.error);
    return reply;
  }

  get stopped(): boolean {
    return Atomics.load(this.control, STOP) !== 0;
  }

  /**
   * Stops the run's tasks: workers stop taking chunks at once, and tasks
   * still running after a grace period (a job stuck in a loop) are aborted,
   * which terminates their workers. Resolves when none of them runs.
   */
  async stop(): Promise<void> {
    // Waiting workers (for an output offset, for the consumer) wake and give up too.
    stopRun(this.control);
    if (this.#running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STOP_GRACE_MS);
    });
    await Promise.race([Promise.all(this.#running), grace]);
    clearTimeout(timer);
    if (this.#running.size > 0) {
      this.#abort.abort();
      await Promise.all(this.#running);
    }
  }
}
