/**
 * Where a run's output goes, decided once before the run reads anything:
 * - a regular file, or a path that does not exist yet: an atomic file
 *   (atomic.ts), written at offsets by the threads that run `map`;
 * - a FIFO, a character device (`/dev/null`), standard output (`-`,
 *   `/dev/stdout`): written in order, as a stream, through the main thread;
 * - a Node Writable: the same, with its backpressure.
 */
import { constants, createWriteStream, fstatSync, openSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { ErrorCodes, PagewiseError, toPagewiseError } from '../errors.js';
import type { AbortSignalLike, WritableLike } from '../types.js';
import { AtomicFile } from './atomic.js';

export type OutputTarget =
  | { kind: 'file'; file: AtomicFile; label: string }
  | {
      kind: 'stream';
      stream: Writable;
      /** End the stream when the run succeeds (not for process.stdout/stderr, nor for a caller's stream that asked not to). */
      end: boolean;
      /** The stream was opened here (a FIFO, a device), so it is closed here on failure. */
      owned: boolean;
      label: string;
    };

/** Paths that name this process's standard output. */
const STDOUT_PATHS = new Set(['-', '/dev/stdout', '/dev/fd/1', '/proc/self/fd/1']);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A FIFO opened for writing without blocking a thread: O_NONBLOCK fails with
 * ENXIO while no reader has it open, so the open is retried on a timer (a
 * signal still ends the run), then written through the event loop.
 */
async function openFifo(path: string, signal: AbortSignalLike | undefined): Promise<Socket> {
  for (;;) {
    if (signal?.aborted) throw new PagewiseError(ErrorCodes.ABORTED, 'the run was aborted', { cause: signal.reason });
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
      return new Socket({ fd, readable: false, writable: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw toPagewiseError(error);
    }
    await sleep(20);
  }
}

/** Whether `path` is where this process's standard output goes: `-`, `/dev/stdout`, or the same file as fd 1. */
export function namesStandardOutput(path: string): boolean {
  if (STDOUT_PATHS.has(path)) return true;
  try {
    const out = fstatSync(1);
    const st = statSync(path);
    return st.dev === out.dev && st.ino === out.ino;
  } catch {
    return false;
  }
}

/**
 * Opens the target of `output` (a path or a Writable).
 * @throws EACCES, ENOENT (no such directory), EISDIR, ... (fs-shaped);
 * ERR_PAGEWISE_NOT_REGULAR_FILE for a socket or a block device;
 * ERR_PAGEWISE_ABORTED when `signal` fires while a FIFO waits for a reader.
 */
export async function openTarget(output: string | WritableLike, signal?: AbortSignalLike): Promise<OutputTarget> {
  if (typeof output !== 'string') {
    // Any stream.Writable; what is used of it is WritableLike's.
    const stream = output as unknown as Writable;
    return { kind: 'stream', stream, end: stream !== process.stdout && stream !== process.stderr, owned: false, label: 'a Writable' };
  }
  if (STDOUT_PATHS.has(output)) return { kind: 'stream', stream: process.stdout, end: false, owned: false, label: 'standard output' };
  let stats;
  try {
    stats = statSync(output);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw toPagewiseError(error);
  }
  if (stats === undefined || stats.isFile() || stats.isDirectory()) return { kind: 'file', file: AtomicFile.open(output), label: output };
  if (stats.isFIFO()) return { kind: 'stream', stream: await openFifo(output, signal), end: true, owned: true, label: output };
  if (stats.isCharacterDevice()) {
    const stream = createWriteStream(output, { flags: 'w' });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (error) => reject(toPagewiseError(error)));
    });
    return { kind: 'stream', stream, end: true, owned: true, label: output };
  }
  throw new PagewiseError(ErrorCodes.NOT_REGULAR_FILE, `'${output}' is a ${stats.isSocket() ? 'socket' : 'block device'}: pagewise writes output to files, FIFOs and character devices`, {
    path: output,
  });
}
