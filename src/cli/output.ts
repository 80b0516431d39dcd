/**
 * Standard output as the commands use it. A write that fails stops the
 * command: EPIPE (the reader went away: `| head -1`) silently, with exit
 * status 141 as coreutils have from SIGPIPE; anything else (ENOSPC on
 * /dev/full, EIO) with a one-line error and its code. A stdout that was
 * closed before the start (`>&-`) is refused with EBADF at the first write:
 * Node quietly reopens a closed fd 1 as /dev/null, which would otherwise turn
 * lost output into exit status 0.
 */
import { readFileSync, fstatSync } from 'node:fs';
import { PagewiseError } from '../errors.js';
import type { ProgressDisplay } from './progress.js';

/** 128 + SIGPIPE: what a shell reports for a coreutils command whose reader left. */
export const EXIT_BROKEN_PIPE = 141;

/**
 * Whether fd 1 is the /dev/null that Node opens (read-write) in place of a
 * closed stdout. A shell's `>/dev/null` opens it write-only, so the two can
 * be told apart by the open flags in /proc/self/fdinfo (Linux).
 */
function stdoutWasClosed(): boolean {
  try {
    const st = fstatSync(1);
    // /dev/null is character device 1:3.
    if (!st.isCharacterDevice() || st.rdev !== 259) return false;
    const flags = /flags:\s*([0-7]+)/.exec(readFileSync('/proc/self/fdinfo/1', 'utf8'))?.[1];
    return flags !== undefined && (parseInt(flags, 8) & 3) === 2;
  } catch {
    return false;
  }
}

export class Output {
  /** The reader went away (EPIPE). */
  broken = false;
  /** A write failed otherwise. */
  failure: PagewiseError | undefined;
  private readonly stream: NodeJS.WriteStream;
  private progress: ProgressDisplay | undefined;
  private readonly sameTerminal: boolean;
  private checkedClosed = false;

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

  write(data: string | Uint8Array): void {
    if (this.stopped) return;
    if (!this.checkedClosed) {
      this.checkedClosed = true;
      if (stdoutWasClosed()) {
        this.fail(Object.assign(new Error('EBADF: bad file descriptor, write'), { code: 'EBADF', syscall: 'write' }));
        return;
      }
    }
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
