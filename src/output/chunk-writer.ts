/**
 * What `info.write` does, on the thread that runs `map`: a chunk's writes are
 * appended to a buffer of this thread's, then written at the chunk's final
 * offset (positional output: `pwrite` into the temporary file, by this
 * thread) or handed to the main thread (forward output). Imported by
 * workers: no library code beyond the table and the control block.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { ErrorCodes, PagewiseError, toPagewiseError } from '../errors.js';
import { waitUntil } from '../run/control.js';
import type { OutputRef } from '../run/messages.js';
import { CONSUMED, offsetIfKnown, publishSize, type OutputTable } from './table.js';

/** What `info.write` accepts. */
export type OutputData = Uint8Array | string;

/**
 * An error of the output itself (ENOSPC, EIO) raised while a job's
 * `info.write` runs: marked so that it is reported as what it is, not as the
 * job's failure (src/run/calls.ts).
 */
export function outputFailure(error: unknown): PagewiseError {
  const e = toPagewiseError(error);
  (e as PagewiseError & { outputFailure?: boolean }).outputFailure = true;
  return e;
}

/** Whether `error` came from writing the output (see outputFailure). */
export function isOutputFailure(error: unknown): boolean {
  return (error as { outputFailure?: unknown } | null)?.outputFailure === true;
}

/** `info.write` of a run without an output. */
export function noOutput(): never {
  throw new PagewiseError(
    ErrorCodes.NO_OUTPUT,
    'info.write was called but this run has no output: pass options.output (a path or a Writable), use runJobStream(), or --output on the command line',
  );
}

/**
 * Past this many buffered bytes, a chunk whose offset is already known writes
 * what it has at once instead of holding it (a generator's or a converter's
 * chunk can write more than it reads).
 */
const EARLY_WRITE = 1 << 20;

const encoder = new TextEncoder();

/** A growable byte buffer for one chunk's writes, reused from chunk to chunk. */
class ByteBuffer {
  bytes: Uint8Array = new Uint8Array(64 << 10);
  length = 0;

  #reserve(more: number): void {
    if (this.length + more <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < this.length + more) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  append(data: OutputData): void {
    if (typeof data === 'string') {
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      this.#reserve(data.length * 3);
      this.length += encoder.encodeInto(data, this.bytes.subarray(this.length)).written;
      return;
    }
    if (!(data instanceof Uint8Array)) {
      throw new PagewiseError(ErrorCodes.INVALID_OPTION, `info.write takes a Uint8Array or a string; received ${data === null ? 'null' : typeof data}`, { option: 'data' });
    }
    this.#reserve(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  /**
   * Holds `bytes` itself instead of a copy, when nothing is buffered: the
   * caller promises not to change them until the chunk ends (a producer's
   * block). Otherwise appends a copy.
   */
  adopt(bytes: Uint8Array): void {
    if (this.length > 0) return this.append(bytes);
    this.#own = this.bytes;
    this.bytes = bytes;
    this.length = bytes.length;
  }

  #own: Uint8Array | undefined;

  /** Keeps the buffer, forgets its content; a very large one is dropped so one big chunk does not pin its memory. */
  clear(): void {
    this.length = 0;
    if (this.#own !== undefined) {
      this.bytes = this.#own;
      this.#own = undefined;
    }
    if (this.bytes.length > 64 << 20) this.bytes = new Uint8Array(64 << 10);
  }
}

/** Writes all of `bytes` at `position` (pwrite; a short write is continued). */
export function writeFully(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    done += writeSync(fd, bytes, done, bytes.length - done, position + done);
  }
}

/** One thread's writer for the chunks of one task. */
export interface ChunkWriter {
  /** Starts chunk `seq` (its number in the group). */
  begin(seq: number): void;
  /** `info.write` for the current chunk. */
  readonly write: (data: OutputData) => void;
  /** Writes `bytes` without copying them; they must not change until `end()` returns. */
  writeOwned(bytes: Uint8Array): void;
  /**
   * Ends the current chunk: publishes its size and writes it at its offset
   * (positional), posts it (forward drain) or returns it for the reply
   * (forward ordered). Resolves false when the run stopped meanwhile.
   */
  end(): Promise<{ ok: boolean; bytes: number; reply?: Uint8Array }>;
  close(): void;
}

class PositionalWriter implements ChunkWriter {
  #buffer = new ByteBuffer();
  #seq = -1;
  /** Bytes of the current chunk already written at its offset. */
  #written = 0;
  #fd = -1;
  readonly write: (data: OutputData) => void;

  constructor(
    private readonly ref: Extract<OutputRef, { mode: 'positional' }>,
    private readonly control: Int32Array,
  ) {
    this.write = (data) => {
      this.#buffer.append(data);
      if (this.#buffer.length >= EARLY_WRITE) this.#writeIfPlaced();
    };
  }

  get #table(): OutputTable {
    return this.ref;
  }

  #open(): number {
    // By path, in each task: a shared fd number could be closed and reused
    // for another file while a straggler still writes.
    if (this.#fd < 0) this.#fd = openSync(this.ref.path, constants.O_WRONLY);
    return this.#fd;
  }

  #flush(offset: number): void {
    const b = this.#buffer;
    if (b.length === 0) return;
    try {
      writeFully(this.#open(), b.bytes.subarray(0, b.length), offset + this.#written);
    } catch (error) {
      throw outputFailure(error);
    }
    this.#written += b.length;
    b.length = 0;
  }

  #writeIfPlaced(): void {
    const offset = offsetIfKnown(this.#table, this.#seq);
    if (offset !== undefined) this.#flush(offset);
  }

  begin(seq: number): void {
    this.#seq = seq;
    this.#written = 0;
    this.#buffer.clear();
  }

  writeOwned(bytes: Uint8Array): void {
    this.#buffer.adopt(bytes);
  }

  async end(): Promise<{ ok: boolean; bytes: number }> {
    const seq = this.#seq;
    const bytes = this.#written + this.#buffer.length;
    // Publish first, wait after: see table.ts for why this cannot deadlock.
    publishSize(this.#table, seq, bytes, this.control);
    if (this.#buffer.length > 0) {
      let offset = offsetIfKnown(this.#table, seq);
      if (offset === undefined) {
        const placed = await waitUntil(this.control, () => (offset = offsetIfKnown(this.#table, seq)) !== undefined);
        if (!placed) return { ok: false, bytes };
      }
      this.#flush(offset!);
    }
    this.#buffer.clear();
    return { ok: true, bytes };
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}

class ForwardWriter implements ChunkWriter {
  #buffer = new ByteBuffer();
  #seq = -1;
  readonly write: (data: OutputData) => void;

  constructor(
    private readonly ref: Extract<OutputRef, { mode: 'forward' }>,
    private readonly control: Int32Array,
  ) {
    this.write = (data) => this.#buffer.append(data);
  }

  begin(seq: number): void {
    this.#seq = seq;
    this.#buffer.clear();
  }

  writeOwned(bytes: Uint8Array): void {
    // Copied anyway when it leaves (end): adopting saves the first copy.
    this.#buffer.adopt(bytes);
  }

  async end(): Promise<{ ok: boolean; bytes: number; reply?: Uint8Array }> {
    const b = this.#buffer;
    const bytes = b.length === 0 ? undefined : b.bytes.slice(0, b.length);
    b.clear();
    const { port, state, window } = this.ref;
    if (port === undefined) return { ok: true, bytes: bytes?.length ?? 0, reply: bytes };
    // A drain: hold the chunk until the main thread's window has room for
    // it, so what waits there stays bounded whatever the consumer's speed.
    const seq = this.#seq;
    const room = await waitUntil(this.control, () => seq < Atomics.load(state, CONSUMED) + window);
    if (!room) return { ok: false, bytes: 0 };
    // Every chunk is posted, an empty one too: the main thread learns from
    // it that the chunk is complete.
    port.postMessage({ seq, bytes }, bytes === undefined ? [] : [bytes.buffer]);
    return { ok: true, bytes: bytes?.length ?? 0 };
  }

  close(): void {}
}

/** The writer for a task's chunks, or undefined when the run has no output. */
export function chunkWriter(ref: OutputRef | undefined, control: Int32Array): ChunkWriter | undefined {
  if (ref === undefined) return undefined;
  return ref.mode === 'positional' ? new PositionalWriter(ref, control) : new ForwardWriter(ref, control);
}
