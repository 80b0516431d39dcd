/**
 * Standard output as the commands use it. A write that fails stops the
 * command: EPIPE (the reader went away: `| head -1`) silently, with exit
 * status 141 as coreutils have from SIGPIPE; anything else (ENOSPC on
 * /dev/full, EIO) with a one-line error and its code. A stdout closed
 * before the start (`>&-`) cannot be told from a read-write /dev/null (Node
 * reopens it so before any JavaScript runs), and is taken as one
 * (docs/decisions.md, "A closed stdout").
 */
import { fstatSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { ErrorCodes, PagewiseError, toPagewiseError } from '../errors.js';
import type { ProgressDisplay } from './progress.js';

/** 128 + SIGPIPE: what a shell reports for a coreutils command whose reader left. */
export const EXIT_BROKEN_PIPE = 141;

export class Output {
  /** The reader went away (EPIPE). */
  broken = false;
  /** A write failed otherwise. */
  failure: PagewiseError | undefined;
  private readonly stream: NodeJS.WriteStream;
  private progress: ProgressDisplay | undefined;
  private readonly sameTerminal: boolean;

  constructor(private readonly onStop: () => void, stream: NodeJS.WriteStream = process.stdout) {
    this.stream = stream;
    stream.on('error', (error: NodeJS.ErrnoException) => this.fail(error));
    // A pipe's writes are queued in memory when the reader is slow; blocking
    // writes hold the producer back instead (grep's memory stays bounded by
    // the engine's reorder window), as a C program writing to a pipe is held.
    const handle = (stream as unknown as { _handle?: { setBlocking?: (on: boolean) => number } })._handle;
    if (!stream.isTTY && handle?.setBlocking) handle.setBlocking(true);
    this.sameTerminal = stream.isTTY === true && process.stderr.isTTY === true && sameDevice(1, 2);
  }

  /** The progress display to erase before each write, when stdout and stderr are the same terminal. */
  attach(progress: ProgressDisplay | undefined): void {
    this.progress = this.sameTerminal ? progress : undefined;
  }

  get stopped(): boolean {
    return this.broken || this.failure !== undefined;
  }

  /**
   * Whether output can go to the stream: false once it failed. For writers
   * that bypass `write` (a run whose job writes to stdout itself).
   */
  checkOpen(): boolean {
    return !this.stopped;
  }

  write(data: string | Uint8Array): void {
    if (!this.checkOpen()) return;
    this.progress?.suspend();
    this.stream.write(data);
  }

  /** Resolves once everything written so far has left the process (or failed). */
  flush(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!this.stream.writableNeedDrain) return new Promise((resolve) => this.stream.write('', () => resolve()));
    return new Promise((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        resolve();
      };
      this.stream.once('drain', done);
      this.stream.once('error', done);
    });
  }

  private fail(error: NodeJS.ErrnoException): void {
    if (this.stopped) return;
    if (error.code === 'EPIPE') this.broken = true;
    else {
      this.failure = new PagewiseError(error.code ?? 'EIO', `write error: ${describe(error)}`, { syscall: 'write', cause: error });
    }
    this.onStop();
  }
}

function describe(error: NodeJS.ErrnoException): string {
  const m = /^E[A-Z0-9]+: (.*?), \w+$/.exec(error.message);
  const text = m ? m[1] : error.message;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function sameDevice(a: number, b: number): boolean {
  try {
    const x = fstatSync(a);
    const y = fstatSync(b);
    return x.rdev === y.rdev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * Where a command's formatted output goes with `--output PATH` (grep's
 * -n, -c, -l, --json): what it would print, written as it comes.
 */
export interface Destination {
  write(data: string | Uint8Array): void;
  /** A write failed: nothing more is written, and `finish` throws why. */
  readonly stopped: boolean;
  /** Fires when a write fails, to stop the run that produces the output. */
  readonly signal: AbortSignal;
  /** Makes the output final (the atomic file's rename, a stream's end); throws the failure of any write. */
  finish(signal?: AbortSignal): Promise<void>;
  /** Drops the output: the target stays as it was. Never throws. */
  abort(): Promise<void>;
}

/**
 * Opens PATH as the library opens a run's output (src/output/target.ts): a
 * regular file or a new path is an atomic file, written at increasing
 * offsets and renamed over PATH by `finish`; a FIFO or a character device
 * is a stream written in order (a FIFO waits for its reader; `signal` ends
 * the wait).
 */
export async function openDestination(path: string, signal: AbortSignal): Promise<Destination> {
  const { openTarget } = await import('../output/target.js');
  const target = await openTarget(path, signal);
  const stopper = new AbortController();
  if (target.kind === 'file') {
    const { file } = target;
    let position = 0;
    let failure: PagewiseError | undefined;
    return {
      write(data) {
        if (failure !== undefined) return;
        const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
        try {
          file.write(bytes, position);
          position += bytes.length;
        } catch (error) {
          failure = toPagewiseError(error);
          stopper.abort(failure);
        }
      },
      get stopped() {
        return failure !== undefined;
      },
      signal: stopper.signal,
      async finish(commitSignal) {
        if (failure !== undefined) {
          await file.abort();
          throw failure;
        }
        await file.commit(commitSignal);
      },
      abort: () => file.abort(),
    };
  }
  const { stream } = target;
  const out = new Output(() => stopper.abort(new PagewiseError(ErrorCodes.ABORTED, `writing to '${path}' failed`)), stream as NodeJS.WriteStream);
  const close = (): void => {
    if (target.owned) stream.destroy();
  };
  return {
    write: (data) => out.write(data),
    get stopped() {
      return out.stopped;
    },
    signal: stopper.signal,
    async finish() {
      await out.flush();
      if (out.broken) {
        close();
        throw Object.assign(new PagewiseError('EPIPE', `the reader of '${path}' went away`, { path }), { syscall: 'write' });
      }
      if (out.failure) {
        close();
        throw out.failure;
      }
      try {
        if (target.end) await endStream(stream);
      } catch (error) {
        // The write that failed destroyed the stream; its own error (ENOSPC on /dev/full) says why,
        // emitted once the stream has closed its fd.
        await new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once('close', () => resolve())));
        throw out.failure ?? error;
      }
      if (out.failure) throw out.failure;
    },
    async abort() {
      close();
    },
  };
}

/** Ends `stream` once every byte was handed on; rejects with the error of a write that failed (end's callback gets it). */
function endStream(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.end((error?: Error | null) => (error ? reject(toPagewiseError(error)) : resolve()));
  });
}
