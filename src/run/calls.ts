/**
 * Every call into a job's code goes through here, on every thread, so a job
 * that throws or returns something unusable always fails the run with the
 * same coded error shape: ERR_PAGEWISE_JOB_FAILED with the chunk's file,
 * index and byte range and the original as `cause` — or, when the job threw
 * one of pagewise's own codes (such as ERR_PAGEWISE_BAD_RECORD from a
 * built-in parser), that code, with the same details.
 */
import { ErrorCodes, JobFailedError, PagewiseError } from '../errors.js';
import { isOutputFailure } from '../output/chunk-writer.js';
import type { ChunkInfo, Emit, Job, KernelPlan, KeyedJob } from '../types.js';

/** Where in the input a call happened, when it concerns one chunk. */
export interface CallSite {
  file?: string;
  fileIndex?: number;
  index?: number;
  start?: number;
  end?: number;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Job modules are imported as `job.mjs?pagewise-version=<hash>`; a stack names the file as users know it. */
function cleanStack(error: unknown): void {
  if (error instanceof Error && typeof error.stack === 'string' && error.stack.includes('?pagewise-version=')) {
    error.stack = error.stack.replace(/\?pagewise-version=[0-9a-f]+/g, '');
  }
}

/** The error for job code `what` (`map`, `merge`, ...) that threw `error` at `site`. */
export function jobError(what: string, error: unknown, site: CallSite = {}): PagewiseError {
  cleanStack(error);
  const where =
    site.index === undefined
      ? ''
      : ` on chunk ${site.index}${site.file === undefined ? '' : ` of '${site.file}'`}` +
        (site.start === undefined ? '' : ` (bytes ${site.start}-${site.end})`);
  // The output failed under the job's info.write (a full disk): that is the run's error as it is.
  if (isOutputFailure(error)) return error as PagewiseError;
  const code = (error as { code?: unknown } | null)?.code;
  const details = { ...site, path: site.file, cause: error };
  if (typeof code === 'string' && code.startsWith('ERR_PAGEWISE_') && code !== ErrorCodes.JOB_FAILED) {
    // A pagewise code raised inside the job (a built-in parser's BAD_RECORD)
    // is the code users are documented to see; keep its own fields too.
    const own: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(error as object)) if (key !== 'code') own[key] = value;
    return new PagewiseError(code, `${messageOf(error)}${where && !messageOf(error).includes(`chunk ${site.index}`) ? ` (job ${what}${where})` : ''}`, {
      ...own,
      ...details,
    });
  }
  if (error instanceof PagewiseError && error.code === ErrorCodes.JOB_FAILED) return error;
  return new JobFailedError(`job ${what} failed${where}: ${messageOf(error)}`, details);
}

function isThenable(value: unknown): boolean {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

function badAccumulator(what: string, why: string, site: CallSite): PagewiseError {
  const where = site.index === undefined ? '' : ` on chunk ${site.index}${site.file === undefined ? '' : ` of '${site.file}'`}`;
  return new PagewiseError(ErrorCodes.BAD_ACCUMULATOR, `job ${what}${where} ${why}`, { ...site, path: site.file });
}

/** `job.init(params)`. */
export function callInit(job: Job, params: unknown, site: CallSite = {}): unknown {
  let acc: unknown;
  try {
    acc = job.init(params);
  } catch (error) {
    throw jobError('init', error, site);
  }
  if (isThenable(acc)) throw badAccumulator('init', 'returned a Promise: init must be synchronous and return the accumulator', site);
  return acc;
}

/** `job.map(acc, bytes, info)`, which must return the accumulator synchronously. */
export function callMap(job: Job, acc: unknown, bytes: Uint8Array, info: ChunkInfo): unknown {
  let next: unknown;
  try {
    next = job.map(acc, bytes, info);
  } catch (error) {
    throw jobError('map', error, info);
  }
  if (next === undefined && acc !== undefined) {
    throw badAccumulator('map', 'returned undefined: map must return the accumulator (did it forget `return acc`?)', info);
  }
  if (isThenable(next)) {
    throw badAccumulator('map', 'returned a Promise: map must be synchronous (an async map cannot be given views that are detached when it returns)', info);
  }
  return next;
}

/** A keyed job's `map(emit, bytes, info)`; what it returns is ignored, unless it is a Promise. */
export function callKeyedMap(job: KeyedJob, emit: Emit, bytes: Uint8Array, info: ChunkInfo): void {
  let returned: unknown;
  try {
    returned = job.map(emit, bytes, info);
  } catch (error) {
    throw jobError('map', error, info);
  }
  if (isThenable(returned)) {
    throw badAccumulator('map', 'returned a Promise: map must be synchronous (an async map cannot be given views that are detached when it returns)', info);
  }
}

/** A keyed job's `combine(a, b)` threw: the run's error. */
export function combineError(error: unknown): never {
  throw jobError('combine', error);
}

/** A keyed job's `finish(key, value)`. */
export function callKeyedFinish(job: KeyedJob, key: unknown, value: unknown): unknown {
  if (!job.finish) return value;
  try {
    return job.finish(key as never, value);
  } catch (error) {
    throw jobError('finish', error);
  }
}

/** `job.merge(a, b)`. */
export function callMerge(job: Job, a: unknown, b: unknown): unknown {
  let merged: unknown;
  try {
    merged = job.merge(a, b);
  } catch (error) {
    throw jobError('merge', error);
  }
  if (isThenable(merged)) throw badAccumulator('merge', 'returned a Promise: merge must be synchronous', {});
  return merged;
}

/** `job.finish(acc, params)`, or the accumulator when the job has none. */
export function callFinish(job: Job, acc: unknown, params: unknown): unknown {
  if (!job.finish) return acc;
  try {
    return job.finish(acc, params);
  } catch (error) {
    throw jobError('finish', error);
  }
}

/** A kernel plan's `fold(acc, counts, info, bytes)`. */
export function callFold(plan: KernelPlan, acc: unknown, counts: number[], info: ChunkInfo, bytes: Uint8Array | undefined): unknown {
  try {
    return plan.fold(acc, counts, info, bytes);
  } catch (error) {
    throw jobError('kernel fold', error, info);
  }
}

/** A user callback (`onProgress`, `onMerged`) that threw: ERR_PAGEWISE_CALLBACK_FAILED. */
export function callback<T>(name: string, fn: ((value: T) => void) | undefined, value: T): void {
  if (fn === undefined) return;
  try {
    fn(value);
  } catch (error) {
    throw new PagewiseError(ErrorCodes.CALLBACK_FAILED, `options.${name} threw: ${messageOf(error)}`, { cause: error, option: `options.${name}` });
  }
}
