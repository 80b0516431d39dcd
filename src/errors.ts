/**
 * Every error pagewise raises, in one table. Each has a stable `code`; tests and
 * callers match on `code`, never on the message. Operating-system errors keep
 * Node's fs shape (`code` such as `ENOENT`, `errno`, `syscall`, `path`).
 */

/** The codes pagewise itself defines. OS errors use their own (`ENOENT`, `EACCES`, ...). */
export const ErrorCodes = {
  NOT_REGULAR_FILE: 'ERR_PAGEWISE_NOT_REGULAR_FILE',
  INVALID_OPTION: 'ERR_PAGEWISE_INVALID_OPTION',
  JOB_LOAD: 'ERR_PAGEWISE_JOB_LOAD',
  JOB_FAILED: 'ERR_PAGEWISE_JOB_FAILED',
  WORKER_DIED: 'ERR_PAGEWISE_WORKER_DIED',
  RECORD_TOO_LONG: 'ERR_PAGEWISE_RECORD_TOO_LONG',
  PARTIAL_RECORD: 'ERR_PAGEWISE_PARTIAL_RECORD',
  BAD_RECORD: 'ERR_PAGEWISE_BAD_RECORD',
  FILE_TRUNCATED: 'ERR_PAGEWISE_FILE_TRUNCATED',
  FILE_CHANGED: 'ERR_PAGEWISE_FILE_CHANGED',
  NOT_CLONEABLE: 'ERR_PAGEWISE_NOT_CLONEABLE',
  BAD_ACCUMULATOR: 'ERR_PAGEWISE_BAD_ACCUMULATOR',
  CALLBACK_FAILED: 'ERR_PAGEWISE_CALLBACK_FAILED',
  /** `info.write` in a run that has no output. */
  NO_OUTPUT: 'ERR_PAGEWISE_NO_OUTPUT',
  /** The output's consumer went away before the run ended (a Writable destroyed or ended, a loop over runJobStream left early). */
  OUTPUT_CLOSED: 'ERR_PAGEWISE_OUTPUT_CLOSED',
  /** The output Writable failed with an error that has no code of its own (the original is `cause`). */
  OUTPUT_FAILED: 'ERR_PAGEWISE_OUTPUT_FAILED',
  /** `inPlace` over an input that is read, not mapped (a stream, stdin, `mode: 'pread'` or `'read'`). */
  NOT_MAPPED: 'ERR_PAGEWISE_NOT_MAPPED',
  /** This build cannot do what was asked (`inPlace` without writable mappings in the addon). */
  UNSUPPORTED: 'ERR_PAGEWISE_UNSUPPORTED',
  /** A record index file that does not fit its data file (size not a multiple of 8, offsets out of order or past the end). */
  BAD_INDEX: 'ERR_PAGEWISE_BAD_INDEX',
  INTERNAL: 'ERR_PAGEWISE_INTERNAL',
  ABORTED: 'ERR_PAGEWISE_ABORTED',
  CLOSED: 'ERR_PAGEWISE_CLOSED',
  UNBOUNDED_INPUT: 'ERR_PAGEWISE_UNBOUNDED_INPUT',
  /** A keyed job emitted a key that is not a string or a Uint8Array, or one longer than 16 MiB. */
  BAD_KEY: 'ERR_PAGEWISE_BAD_KEY',
  /** A call that needs the native addon (a mapping) where none loaded; the reason is `cause`. */
  NO_ADDON: 'ERR_PAGEWISE_NO_ADDON',
  /** `detach()` was given a buffer pagewise did not make. */
  NOT_A_VIEW: 'ERR_PAGEWISE_NOT_A_VIEW',
  /** `info.transfer` was given a buffer it cannot move: a view of part of a buffer, a SharedArrayBuffer, or the input's bytes or header the engine lent. */
  NOT_TRANSFERABLE: 'ERR_PAGEWISE_NOT_TRANSFERABLE',
  /** No SIGBUS protection slot is left for a new mapping or view (nothing is mapped unprotected). */
  NO_FAULT_SLOT: 'ERR_PAGEWISE_NO_FAULT_SLOT',
  /** `flush()` or `resize()` on a file mapped read-only. */
  READ_ONLY: 'ERR_PAGEWISE_READ_ONLY',
  /** `resize()` while views on other threads or native calls use the mapping. */
  BUSY: 'ERR_PAGEWISE_BUSY',
  /** Writes into a writable mapping faulted (the file system could not allocate the pages): they are lost. */
  WRITE_FAILED: 'ERR_PAGEWISE_WRITE_FAILED',
  /** `cluster` was asked for but bullmq/ioredis are not installed (optional peer dependencies). */
  CLUSTER_UNAVAILABLE: 'ERR_PAGEWISE_CLUSTER_UNAVAILABLE',
  /** Redis could not be reached (or was lost) at the cluster URL. */
  CLUSTER_CONNECT: 'ERR_PAGEWISE_CLUSTER_CONNECT',
  /** A worker sees an input of another size or mtime than the coordinator does. */
  CLUSTER_FILE_MISMATCH: 'ERR_PAGEWISE_CLUSTER_FILE_MISMATCH',
  /** A worker loads another version of the job module than the coordinator does. */
  CLUSTER_JOB_MISMATCH: 'ERR_PAGEWISE_CLUSTER_JOB_MISMATCH',
  /** No split of the run made progress for `cluster.timeout`. */
  CLUSTER_TIMEOUT: 'ERR_PAGEWISE_CLUSTER_TIMEOUT',
  /** The queue gave up on a split (it stalled too often: its workers died) or lost it. */
  CLUSTER_SPLIT_FAILED: 'ERR_PAGEWISE_CLUSTER_SPLIT_FAILED',
  /** Something a cluster run cannot do yet (keyed jobs). */
  CLUSTER_UNSUPPORTED: 'ERR_PAGEWISE_CLUSTER_UNSUPPORTED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface PagewiseErrorDetails {
  path?: string;
  syscall?: string;
  errno?: number;
  cause?: unknown;
  [key: string]: unknown;
}

/** Base class of every error pagewise raises. */
export class PagewiseError extends Error {
  readonly code: string;
  path?: string;
  syscall?: string;
  errno?: number;

  constructor(code: string, message: string, details: PagewiseErrorDetails = {}) {
    const { cause, ...rest } = details;
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'PagewiseError';
    this.code = code;
    for (const [key, value] of Object.entries(rest)) {
      if (value !== undefined) (this as Record<string, unknown>)[key] = value;
    }
  }
}

/** A bad option value or flag: names the option and what it must be. */
export class InvalidOptionError extends PagewiseError {
  readonly option: string;
  constructor(option: string, requirement: string, received?: unknown) {
    const shown = received === undefined ? '' : `; received ${describe(received)}`;
    super(ErrorCodes.INVALID_OPTION, `${option} must be ${requirement}${shown}`, { option });
    this.name = 'InvalidOptionError';
    this.option = option;
  }
}

/** A job module that cannot be loaded or is not of the contract's shape. */
export class JobLoadError extends PagewiseError {
  constructor(message: string, details: PagewiseErrorDetails = {}) {
    super(ErrorCodes.JOB_LOAD, message, details);
    this.name = 'JobLoadError';
  }
}

/** A job's `map`, `merge`, `init` or `finish` threw. The original is `cause`. */
export class JobFailedError extends PagewiseError {
  constructor(message: string, details: PagewiseErrorDetails & { index?: number; start?: number; end?: number; file?: string }) {
    super(ErrorCodes.JOB_FAILED, message, details);
    this.name = 'JobFailedError';
  }
}

/** An operating-system error, shaped like Node's fs errors. */
export class SystemError extends PagewiseError {
  constructor(code: string, message: string, details: PagewiseErrorDetails) {
    super(code, message, details);
    this.name = 'SystemError';
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value}`;
}

/**
 * Turns whatever crossed a thread or came from the addon into a PagewiseError,
 * keeping `code`, `path`, `syscall`, `errno` and any extra fields.
 */
export function toPagewiseError(error: unknown): PagewiseError {
  if (error instanceof PagewiseError) return error;
  if (error !== null && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'string') {
    const e = error as Error & { code: string; path?: string; syscall?: string; errno?: number };
    const details: PagewiseErrorDetails = {};
    for (const [key, value] of Object.entries(e)) {
      if (key !== 'code' && key !== 'message' && key !== 'stack') details[key] = value;
    }
    if (e.cause !== undefined) details.cause = e.cause;
    const Kind = /^E[A-Z0-9]+$/.test(e.code) ? SystemError : PagewiseError;
    const wrapped = new Kind(e.code, e.message, details);
    if (e.stack) wrapped.stack = e.stack;
    return wrapped;
  }
  return new PagewiseError(ErrorCodes.INTERNAL, error instanceof Error ? error.message : String(error), { cause: error });
}

/** A file's state as the run last saw it (see FileIdentity in run/messages.ts). */
export interface FileState {
  currentSize: number;
  faults: number;
  ino?: bigint;
  mtimeNs?: bigint;
  ctimeNs?: bigint;
}

/**
 * Whether a file read by a run is still the file it planned with, and if not,
 * the error: ERR_PAGEWISE_FILE_TRUNCATED when its size changed or pages past
 * its end were read (as zeros), ERR_PAGEWISE_FILE_CHANGED when it kept its
 * size but was modified (mtime or ctime moved) or replaced (another inode).
 * A truncation followed by a re-extension to the same size shows as a change
 * of mtime, so it is never taken for an intact file.
 */
export function fileChangedError(
  path: string,
  atStart: { size: number; ino?: bigint; mtimeNs?: bigint; ctimeNs?: bigint },
  now: FileState,
): PagewiseError | undefined {
  const details = { path, sizeAtStart: atStart.size, sizeNow: now.currentSize };
  if (now.faults > 0 || now.currentSize !== atStart.size) {
    return new PagewiseError(
      ErrorCodes.FILE_TRUNCATED,
      `'${path}' changed size while it was being read: ${atStart.size} bytes at start, ${now.currentSize} now` +
        (now.faults > 0 ? ` (${now.faults} pages past the end were read as zeros and discarded)` : ''),
      { ...details, faults: now.faults },
    );
  }
  const moved = (a: bigint | undefined, b: bigint | undefined): boolean => a !== undefined && b !== undefined && a !== b;
  if (moved(atStart.ino, now.ino) || moved(atStart.mtimeNs, now.mtimeNs) || moved(atStart.ctimeNs, now.ctimeNs)) {
    return new PagewiseError(
      ErrorCodes.FILE_CHANGED,
      `'${path}' was modified while it was being read (its modification time changed; size ${now.currentSize} bytes): the result would mix old and new contents`,
      details,
    );
  }
  return undefined;
}

/** True when `error` is one of pagewise's errors (or an OS error it passed on) with that code. */
export function hasCode(error: unknown, code: string): boolean {
  return error !== null && typeof error === 'object' && (error as { code?: unknown }).code === code;
}
