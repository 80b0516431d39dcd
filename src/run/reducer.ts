/**
 * The reducer: the one owner of a run's accumulator. It merges partials in
 * file order (or folds them in any order for commutative jobs), calls
 * `onMerged` after each merge, keeps progress, and runs the in-order window
 * that bounds how many partials wait to be merged. Every executor hands its
 * partials here; none merges on its own.
 */
import { ErrorCodes, PagewiseError } from '../errors.js';
import type { AbortSignalLike, Job, Progress } from '../types.js';
import { callFinish, callInit, callMerge, callback } from './calls.js';

export interface ReducerHooks {
  onMerged?: (acc: unknown) => void;
  onProgress?: (progress: Progress) => void;
}

/** Progress of a run, reported to `onProgress` about every 100 ms and once at the end. */
export class ProgressMeter {
  readonly startedAt = performance.now();
  bytesDone = 0;
  chunksDone = 0;
  filesDone = 0;
  #lastReport = 0;

  constructor(
    readonly bytesTotal: number,
    readonly chunksTotal: number,
    readonly filesTotal: number,
    private readonly onProgress?: (p: Progress) => void,
  ) {}

  add(bytes: number, chunks: number): void {
    this.bytesDone += bytes;
    this.chunksDone += chunks;
    this.report();
  }

  report(force = false): void {
    if (!this.onProgress) return;
    const now = performance.now();
    if (!force && now - this.#lastReport < 100) return;
    this.#lastReport = now;
    const elapsed = (now - this.startedAt) / 1000;
    callback('onProgress', this.onProgress, {
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      chunksDone: this.chunksDone,
      chunksTotal: this.chunksTotal,
      filesDone: this.filesDone,
      filesTotal: this.filesTotal,
      elapsedSeconds: elapsed,
      bytesPerSecond: elapsed > 0 ? this.bytesDone / elapsed : 0,
    });
  }
}

export class Reducer {
  #acc: unknown;
  #has = false;

  constructor(
    private readonly job: Job,
    private readonly params: unknown,
    private readonly hooks: ReducerHooks,
    readonly meter: ProgressMeter,
  ) {}

  /** A fresh accumulator, made on this thread. */
  init(): unknown {
    return callInit(this.job, this.params);
  }

  /**
   * Merges the partial of the next stretch of input, in file order (or, for
   * a commutative job, of any stretch), then tells `onMerged`.
   */
  add(partial: unknown): void {
    if (!this.#has) {
      this.#acc = partial;
      this.#has = true;
    } else {
      this.#acc = callMerge(this.job, this.#acc, partial);
    }
    callback('onMerged', this.hooks.onMerged, this.#acc);
  }

  /** Forgets what was merged: a pass on guessed cuts that did not hold, when nothing was merged before it. */
  clear(): void {
    this.#acc = undefined;
    this.#has = false;
  }

  /** An input that contributes nothing but its (empty) accumulator, as map never runs. */
  addEmpty(): void {
    this.add(this.init());
  }

  /** Everything merged so far, unfinished, or `merged: false` when nothing was: a cluster worker's partial. */
  partial(): { merged: boolean; acc: unknown } {
    return { merged: this.#has, acc: this.#has ? this.#acc : undefined };
  }

  /** The job's result: `finish` over everything merged (an empty accumulator if nothing was). */
  finish(): unknown {
    return callFinish(this.job, this.#has ? this.#acc : this.init(), this.params);
  }
}

/** A promise that rejects with ERR_PAGEWISE_ABORTED when `signal` fires. */
export function abortPromise(signal: AbortSignalLike | undefined): { promise: Promise<never>; dispose: () => void } {
  if (!signal) return { promise: new Promise<never>(() => {}), dispose: () => {} };
  let onAbort = (): void => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortedError(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

/** The error of an aborted run. */
export function abortedError(signal: AbortSignalLike | undefined): PagewiseError {
  return new PagewiseError(ErrorCodes.ABORTED, 'the run was aborted', { cause: signal?.reason });
}

/** Throws ERR_PAGEWISE_ABORTED if `signal` has fired. */
export function throwIfAborted(signal: AbortSignalLike | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

/**
 * The in-order pipeline of the ordered executors: step k (0 .. total - 1) is
 * started while fewer than `window` steps separate k from the next step to
 * consume (so the results held for reordering stay bounded), at most
 * `inFlight` run at once, and results are consumed strictly in order (both
 * bounds are counts in one launch loop: a p-limit queue added nothing but
 * its import, 2-4 ms of every run's start). The first error (thrown by
 * `start`, by a step, or by `consume`) or the signal's abort rejects; after
 * that nothing more starts or is consumed, and `stopped()` (given to every
 * step) is true.
 */
export async function inOrder<R>(
  total: number,
  limits: { inFlight: number; window: number; signal?: AbortSignalLike },
  start: (k: number, stopped: () => boolean) => Promise<R>,
  consume: (k: number, result: R) => void,
): Promise<void> {
  if (total === 0) return;
  const inFlight = Math.max(1, Math.min(limits.inFlight, limits.window));
  const aborted = abortPromise(limits.signal);
  let failed = false;
  const stopped = (): boolean => failed;
  try {
    await Promise.race([
      aborted.promise,
      new Promise<void>((resolve, reject) => {
        const results = new Map<number, R>();
        let next = 0;
        let consumed = 0;
        const fail = (error: unknown): void => {
          if (failed) return;
          failed = true;
          reject(error);
        };
        const finished = (k: number, result: R): void => {
          if (failed) return;
          results.set(k, result);
          try {
            while (results.has(consumed)) {
              const r = results.get(consumed)!;
              results.delete(consumed);
              consume(consumed, r);
              consumed++;
            }
          } catch (error) {
            return fail(error);
          }
          if (consumed === total) resolve();
          else launch();
        };
        let running = 0;
        const launch = (): void => {
          while (!failed && next < total && next - consumed < limits.window && running < inFlight) {
            const k = next++;
            running++;
            let step: Promise<R>;
            try {
              step = start(k, stopped);
            } catch (error) {
              step = Promise.reject(error);
            }
            step.then(
              (result) => {
                running--;
                finished(k, result);
              },
              (error: unknown) => {
                running--;
                fail(error);
              },
            );
          }
        };
        launch();
      }),
    ]);
  } finally {
    failed = true;
    aborted.dispose();
  }
}

/**
 * Steps for `inOrder` whose tasks take their number when they start (pull
 * tasks: the next number of a shared cursor, reported back as `seq`): step k
 * submits one task and resolves with the result of number k, whichever task
 * took it. Each task takes exactly one number below the count of tasks
 * submitted, so every step's number is taken by some task; a task that fails
 * rejects every step still waiting (which fails the run). A result without
 * `seq` (a task that found the run stopped) resolves nothing.
 */
export function pulledSteps<R extends { seq?: number }>(submit: () => Promise<R>): (k: number) => Promise<R> {
  const waiting = new Map<number, { resolve: (r: R) => void; reject: (e: unknown) => void }>();
  const early = new Map<number, R>();
  return (k) => {
    const step = new Promise<R>((resolve, reject) => {
      const ready = early.get(k);
      if (ready !== undefined) {
        early.delete(k);
        resolve(ready);
      } else waiting.set(k, { resolve, reject });
    });
    submit().then(
      (result) => {
        if (result.seq === undefined) return;
        const w = waiting.get(result.seq);
        if (w === undefined) early.set(result.seq, result);
        else {
          waiting.delete(result.seq);
          w.resolve(result);
        }
      },
      (error: unknown) => {
        for (const w of waiting.values()) w.reject(error);
        waiting.clear();
      },
    );
    return step;
  };
}
