/**
 * The output sink of a run, on the main thread: what the executors use when
 * the plan has an output. Two kinds, one interface:
 * - positional (a file): each group of chunks gets a shared table
 *   (table.ts); the threads that run `map` write their chunks' bytes at
 *   their final offsets in the temporary themselves, and no output byte
 *   passes through the main thread; `commit()` renames it over the target.
 * - forward (a Writable: stdout, a FIFO, a caller's stream, runJobStream):
 *   chunks' bytes come to the main thread (in ordered replies, or over a
 *   port from each drain) and are written to the stream strictly in order,
 *   with its backpressure; at most a window of chunks waits here.
 * The stream executor writes through `sequential()`, after everything of
 * the groups before it.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Writable } from 'node:stream';
import { ErrorCodes, PagewiseError, toPagewiseError } from '../errors.js';
import { wakeAll } from '../run/control.js';
import type { OutputRef } from '../run/messages.js';
import type { AbortSignalLike } from '../types.js';
import type { AtomicFile } from './atomic.js';
import { CONSUMED, createTable, publishSize, tableChunks, tableEnd, type OutputTable } from './table.js';
import type { OutputTarget } from './target.js';
import { outputFailure, type OutputData } from './chunk-writer.js';

/** What an executor needs of the output for one group of chunks. */
export interface OutputGroup {
  readonly mode: 'positional' | 'forward';
  /** Goes into every task of the group (a drain task gets `drainRef()` instead). */
  readonly ref: OutputRef;
  /** A drain task's ref (forward output: with its own port) and what its task must transfer. */
  drainRef(): { ref: OutputRef; transfer: MessagePort[] };
  /** Chunk `seq` is not dispatched (known to be empty): it writes nothing. */
  skip(seq: number): void;
  /** Forward output, ordered: the bytes of chunk `seq`'s reply. */
  deliver(seq: number, bytes: Uint8Array | undefined): void;
  /** Resolves once the consumer has room again; undefined when it has room now. */
  room(): Promise<void> | undefined;
  /** After the group's executor succeeded: resolves once every chunk's bytes are written or handed on. */
  finish(): Promise<void>;
}

/** Writes from the calling thread (the stream executor), in order. */
export interface SequentialWriter {
  readonly write: (data: OutputData) => void;
  /** Writes what is buffered; waits while the consumer has no room. */
  flush(): Promise<void>;
}

export interface OutputSink {
  readonly kind: 'file' | 'stream';
  /** The target, for people (a path, 'standard output', 'a Writable'). */
  readonly label: string;
  /** Bytes of output so far. */
  readonly bytes: number;
  /** Set when the consumer failed or went away: the run must stop with this error. */
  readonly failure: PagewiseError | undefined;
  /** Fires when `failure` is set. */
  readonly signal: AbortSignal;
  group(chunks: number, control: Int32Array): OutputGroup;
  sequential(): SequentialWriter;
  /** Makes the output final: rename over the target, or end the stream and wait until it is flushed. */
  commit(signal?: AbortSignalLike): Promise<void>;
  /** Removes the temporary (file) or stops writing (stream); never throws. */
  abort(): Promise<void>;
}

const encoder = new TextEncoder();
const toBytes = (data: OutputData): Uint8Array => (typeof data === 'string' ? encoder.encode(data) : data);

/** Buffers sequential writes so that many small ones become few large ones. */
const SEQUENTIAL_BLOCK = 1 << 20;

class PositionalSink implements OutputSink {
  readonly kind = 'file' as const;
  readonly failure = undefined;
  readonly signal = new AbortController().signal;
  #base = 0;

  constructor(
    private readonly file: AtomicFile,
    readonly label: string,
  ) {}

  get bytes(): number {
    return this.#base;
  }

  group(chunks: number, control: Int32Array): OutputGroup {
    const table: OutputTable = createTable(chunks, this.#base);
    const ref: OutputRef = { mode: 'positional', path: this.file.tempPath, ...table };
    return {
      mode: 'positional',
      ref,
      drainRef: () => ({ ref, transfer: [] }),
      skip: (seq) => publishSize(table, seq, 0, control),
      deliver: () => {
        throw new Error('positional output: chunks write their own bytes');
      },
      room: () => undefined,
      finish: async () => {
        const end = tableEnd(table);
        if (end === undefined) {
          throw new PagewiseError(ErrorCodes.INTERNAL, `output: ${tableChunks(table)} chunks ran but not every output size was published`);
        }
        this.#base = end;
      },
    };
  }

  sequential(): SequentialWriter {
    const parts: Uint8Array[] = [];
    let buffered = 0;
    const flush = (): void => {
      if (buffered === 0) return;
      const bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts, buffered);
      try {
        this.file.write(bytes, this.#base);
      } catch (error) {
        throw outputFailure(error);
      }
      this.#base += buffered;
      parts.length = 0;
      buffered = 0;
    };
    return {
      write: (data) => {
        const bytes = toBytes(data);
        if (!(bytes instanceof Uint8Array)) toBytesError(bytes);
        // Copied: the job may pass a view that is detached after map.
        parts.push(bytes.slice());
        buffered += bytes.length;
        if (buffered >= SEQUENTIAL_BLOCK) flush();
      },
      flush: async () => flush(),
    };
  }

  commit(signal?: AbortSignalLike): Promise<void> {
    return this.file.commit(signal);
  }

  abort(): Promise<void> {
    return this.file.abort();
  }
}

function toBytesError(value: unknown): never {
  throw new PagewiseError(ErrorCodes.INVALID_OPTION, `info.write takes a Uint8Array or a string; received ${value === null ? 'null' : typeof value}`, { option: 'data' });
}

/**
 * How many chunks a forward group lets a drain's workers post ahead of the
 * one the stream is waiting for, per thread (the ordered executor's reorder
 * window has the same bound).
 */
const FORWARD_WINDOW_PER_THREAD = 4;

class ForwardSink implements OutputSink {
  readonly kind = 'stream' as const;
  #bytes = 0;
  #failure: PagewiseError | undefined;
  #paused = false;
  #waiters: (() => void)[] = [];
  #ending = false;
  #pumps = new Set<() => void>();
  readonly #abort = new AbortController();
  readonly #onError = (error: unknown): void => this.#fail(this.#wrap(error));
  readonly #onClose = (): void => {
    if (!this.#ending) this.#fail(new PagewiseError(ErrorCodes.OUTPUT_CLOSED, `the output (${this.label}) was closed before the run ended`));
  };
  readonly #onDrain = (): void => {
    this.#paused = false;
    for (const pump of this.#pumps) pump();
    this.#release();
  };

  constructor(
    private readonly stream: Writable,
    private readonly end: boolean,
    private readonly owned: boolean,
    readonly label: string,
    private readonly threads: number,
  ) {
    stream.on('error', this.#onError);
    stream.on('close', this.#onClose);
    stream.on('drain', this.#onDrain);
    if (stream.destroyed || stream.writableEnded) this.#onClose();
  }

  get bytes(): number {
    return this.#bytes;
  }

  get failure(): PagewiseError | undefined {
    return this.#failure;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  #wrap(error: unknown): PagewiseError {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return toPagewiseError(error);
    // The consumer went away (a loop left early destroys its stream with an AbortError).
    if (code === 'ABORT_ERR' || (typeof code === 'string' && code.startsWith('ERR_STREAM_'))) {
      return new PagewiseError(ErrorCodes.OUTPUT_CLOSED, `the output (${this.label}) was closed before the run ended`, { cause: error });
    }
    return new PagewiseError(ErrorCodes.OUTPUT_FAILED, `the output (${this.label}) failed: ${(error as Error)?.message ?? error}`, { cause: error });
  }

  #fail(error: PagewiseError): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#abort.abort(error);
    this.#release();
  }

  #release(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Writes `bytes` to the stream; false once it asks us to wait. */
  #push(bytes: Uint8Array): void {
    if (this.#failure !== undefined) return;
    this.#bytes += bytes.length;
    if (!this.stream.write(bytes)) this.#paused = true;
  }

  #room(): Promise<void> | undefined {
    if (!this.#paused || this.#failure !== undefined) return undefined;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  group(chunks: number, control: Int32Array): OutputGroup {
    const state = new Int32Array(new SharedArrayBuffer(8));
    const window = FORWARD_WINDOW_PER_THREAD * this.threads;
    const ref: OutputRef = { mode: 'forward', state, window };
    const pending = new Map<number, Uint8Array | null>();
    const ports: MessagePort[] = [];
    let next = 0;
    let finished: (() => void) | undefined;
    const pump = (): void => {
      let moved = false;
      while (!this.#paused && this.#failure === undefined && pending.has(next)) {
        const bytes = pending.get(next)!;
        pending.delete(next);
        if (bytes !== null && bytes.length > 0) this.#push(bytes);
        next++;
        moved = true;
      }
      if (moved) {
        Atomics.store(state, CONSUMED, next);
        wakeAll(control);
      }
      if (next === chunks) finished?.();
    };
    this.#pumps.add(pump);
    const deliver = (seq: number, bytes: Uint8Array | undefined | null): void => {
      pending.set(seq, bytes ?? null);
      pump();
    };
    return {
      mode: 'forward',
      ref,
      drainRef: () => {
        const { port1, port2 } = new MessageChannel();
        port1.on('message', (m: { seq: number; bytes: Uint8Array | undefined }) => deliver(m.seq, m.bytes));
        ports.push(port1);
        return { ref: { ...ref, port: port2 }, transfer: [port2] };
      },
      skip: (seq) => deliver(seq, undefined),
      deliver,
      room: () => this.#room(),
      finish: () =>
        new Promise<void>((resolve, reject) => {
          const done = (): void => {
            this.#pumps.delete(pump);
            for (const p of ports) p.close();
            if (this.#failure !== undefined) reject(this.#failure);
            else resolve();
          };
          if (next === chunks || this.#failure !== undefined) return done();
          const onFailure = (): void => done();
          finished = () => {
            this.#abort.signal.removeEventListener('abort', onFailure);
            done();
          };
          // A failure while waiting (the consumer went away) ends the wait too.
          this.#abort.signal.addEventListener('abort', onFailure, { once: true });
        }),
    };
  }

  sequential(): SequentialWriter {
    const parts: Uint8Array[] = [];
    let buffered = 0;
    return {
      write: (data) => {
        const bytes = toBytes(data);
        if (!(bytes instanceof Uint8Array)) toBytesError(bytes);
        parts.push(bytes.slice());
        buffered += bytes.length;
      },
      flush: async () => {
        if (buffered > 0) this.#push(parts.length === 1 ? parts[0] : Buffer.concat(parts, buffered));
        parts.length = 0;
        buffered = 0;
        await this.#room();
        if (this.#failure !== undefined) throw this.#failure;
      },
    };
  }

  async commit(): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    this.#ending = true;
    const stream = this.stream;
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: unknown): void => reject(this.#wrap(error));
        stream.once('error', onError);
        // The callback gets the stream's error (a write that failed with ENOSPC), which can
        // come before the 'error' event: a commit is a success only without one.
        const done = (error?: Error | null): void => {
          stream.off('error', onError);
          const failure = error ? this.#wrap(error) : this.#failure;
          if (failure !== undefined) reject(failure);
          else resolve();
        };
        // Ending waits for 'finish': every byte was handed to the OS (or the
        // caller's stream). process.stdout is not ended, only drained.
        if (this.end) stream.end(done);
        else stream.write(new Uint8Array(0), done);
      });
    } finally {
      this.#detach();
    }
  }

  async abort(): Promise<void> {
    this.#ending = true;
    this.#fail(this.#failure ?? new PagewiseError(ErrorCodes.ABORTED, 'the run stopped'));
    this.#detach();
    // A FIFO or device we opened is ours to close; a caller's stream is left open.
    if (this.owned) this.stream.destroy();
  }

  #detach(): void {
    this.stream.off('close', this.#onClose);
    this.stream.off('drain', this.#onDrain);
    // An error after the run (EPIPE on a later write of the caller's) is the caller's;
    // keep a listener on streams we opened so one cannot crash the process.
    this.stream.off('error', this.#onError);
    if (this.owned) this.stream.on('error', () => {});
  }
}

/** The sink of an opened target. */
export function createSink(target: OutputTarget, threads: number): OutputSink {
  if (target.kind === 'file') return new PositionalSink(target.file, target.label);
  return new ForwardSink(target.stream, target.end, target.owned, target.label, threads);
}
