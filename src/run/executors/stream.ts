/**
 * The stream executor: stdin, FIFOs, sockets, devices with a byte limit,
 * files whose size says nothing (procfs, sysfs, size 0), files whose mapping
 * was refused, and `mode: 'read'`. Same job contract, same records, same
 * result as the chunked executors, run on the calling thread: blocks of whole
 * records are fed to `map` in file order on one accumulator. FIFOs are read
 * through libuv's event loop, never by a blocked threadpool thread, so a
 * signal always ends the run.
 */
import { constants, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { ErrorCodes, PagewiseError, toPagewiseError } from '../../errors.js';
import type { PlannedInput } from '../../plan/inputs.js';
import { bufferFinder, checkWholeRecords, terminatorOf } from '../../plan/chunks.js';
import { callInit, callMap } from '../calls.js';
import { checkRecordLengths } from '../chunk.js';
import { throwIfAborted } from '../reducer.js';
import { deserialize, serialize } from '../wire.js';
import type { AbortSignalLike, ChunkInfo } from '../../types.js';
import type { Executor, InputGroup, RunContext } from './executor.js';

/** Streams are read in blocks this large. */
const STREAM_BLOCK = 4 << 20;

async function* readFile(path: string, blockSize: number, remaining: number): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    while (remaining > 0) {
      const buffer = Buffer.allocUnsafe(Math.min(blockSize, remaining));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      remaining -= bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

async function* readStream(source: Readable, remaining: number, signal: AbortSignalLike | undefined): AsyncGenerator<Uint8Array> {
  const onAbort = (): void => void source.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const piece of source) {
      if (remaining <= 0) break;
      let bytes = typeof piece === 'string' ? Buffer.from(piece) : (piece as Uint8Array);
      if (bytes.length > remaining) bytes = bytes.subarray(0, remaining);
      remaining -= bytes.length;
      yield bytes;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * A FIFO opened without blocking (O_NONBLOCK: a reader's open would wait for
 * a writer on a threadpool thread, which no signal can interrupt and which
 * the process's exit then waits for) and read as a pipe through the event
 * loop, which waits for a writer and its data without holding a thread.
 */
function fifoSocket(path: string): Socket {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return new Socket({ fd, readable: true, writable: false });
}

function blocks(input: PlannedInput, maxBytes: number, signal: AbortSignalLike | undefined): AsyncGenerator<Uint8Array> {
  if (input.stdin) return readStream(process.stdin, maxBytes, signal);
  if (input.fifo) return readStream(fifoSocket(input.path), maxBytes, signal);
  return readFile(input.path, STREAM_BLOCK, maxBytes);
}

/**
 * Reads a stream input in blocks of whole records, in order, and gives each
 * to `feed` with its ChunkInfo (a keyed run feeds its table, the others
 * `map`). Records are bounded by maxRecordLength; fixed-size records must
 * be whole.
 */
export async function readStreamRecords(input: PlannedInput, ctx: RunContext, feed: (bytes: Uint8Array, info: ChunkInfo) => void): Promise<void> {
  const { settings, reducer } = ctx;
  const label = input.stdin ? '<stdin>' : input.path;
  const term = terminatorOf(settings.split);
  const recordSize = typeof settings.split === 'object' && 'recordSize' in settings.split ? settings.split.recordSize : 0;
  let pending: Uint8Array = new Uint8Array(0);
  let offset = 0; // file offset of pending[0]
  let index = 0;
  const give = (bytes: Uint8Array): void => {
    if (bytes.length === 0) return;
    feed(bytes, { index, start: offset, end: offset + bytes.length, fileIndex: input.index, file: label, params: settings.params });
    index++;
    offset += bytes.length;
  };
  try {
    for await (const block of blocks(input, ctx.plan.maxBytes ?? Infinity, ctx.signal)) {
      throwIfAborted(ctx.signal);
      reducer.meter.add(block.length, 0);
      const data = pending.length === 0 ? block : concat(pending, block);
      let cut: number;
      if (term >= 0) cut = data.lastIndexOf(term) + 1;
      else if (recordSize > 0) cut = data.length - (data.length % recordSize);
      else cut = data.length;
      // Records inside a block are bounded like the carried tail below.
      if (term >= 0 && cut > settings.maxRecordLength) {
        checkRecordLengths(bufferFinder(data), term, 0, cut, settings.maxRecordLength, label);
      }
      if (cut > 0) give(data.subarray(0, cut));
      pending = data.subarray(cut);
      if (term >= 0 && pending.length > settings.maxRecordLength) {
        throw new PagewiseError(
          ErrorCodes.RECORD_TOO_LONG,
          `'${label}': the record at byte offset ${offset} is longer than maxRecordLength (${settings.maxRecordLength} bytes)`,
          { offset, maxRecordLength: settings.maxRecordLength, path: label },
        );
      }
      // Keep the carried tail in its own buffer so a large read block can be freed.
      if (pending.length > 0 && pending.length < data.length / 2) pending = pending.slice();
    }
  } catch (error) {
    throw toPagewiseError(error);
  }
  throwIfAborted(ctx.signal);
  if (recordSize > 0) checkWholeRecords(offset + pending.length, settings.split, label);
  give(pending);
}

export const streamExecutor: Executor = {
  name: 'stream',
  async run(group: InputGroup, ctx: RunContext): Promise<void> {
    if (group.kind !== 'stream') throw new Error('stream executor: expected one stream');
    const { input } = group;
    const { job, settings, reducer } = ctx;
    const label = input.stdin ? '<stdin>' : input.path;
    let acc = callInit(job, settings.params);
    await readStreamRecords(input, ctx, (bytes, info) => {
      acc = callMap(job, acc, bytes, info);
    });
    // Through the same copy as a worker's partial, so accumulators behave alike on every path.
    reducer.add(deserialize(serialize(acc, 'the accumulator returned by map', `for '${label}'`)));
  },
};

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
