/**
 * The stream executor: stdin, FIFOs, sockets, devices with a byte limit,
 * files whose size says nothing (procfs, sysfs, size 0), files whose mapping
 * was refused, and `mode: 'read'`. Same job contract, same records, same
 * result as the chunked executors, run on the calling thread: blocks of whole
 * records are fed to `map` in file order. An ordered job gets a fresh
 * accumulator per block, merged into the reducer after the block (so
 * `onMerged` sees the input as it goes, as it does a chunk's partial, and
 * what it drains is not held to the end); a commutative job keeps one
 * accumulator per stream, merged at its end. FIFOs are read through libuv's
 * event loop, never by a blocked threadpool thread, so a signal always ends
 * the run.
 */
import { constants, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { ErrorCodes, PagewiseError, toPagewiseError } from '../../errors.js';
import type { PlannedInput } from '../../plan/inputs.js';
import { CsvStreamCutter } from '../../csv/scan.js';
import { csvBytesOf } from '../../csv/split.js';
import { noOutput } from '../../output/chunk-writer.js';
import { bufferFinder, checkWholeRecords, recordEndOf, terminatorOf } from '../../plan/chunks.js';
import type { ChunkInfo } from '../../types.js';
import { callInit, callMap } from '../calls.js';
import { checkRecordLengths } from '../chunk.js';
import { transferFor } from '../handover.js';
import { abortedError, throwIfAborted } from '../reducer.js';
import { deserialize, serialize } from '../wire.js';
import type { AbortSignalLike } from '../../types.js';
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
  return readFile(input.openPath ?? input.path, STREAM_BLOCK, maxBytes);
}

/**
 * Reads a stream's blocks and hands `feed` each block's whole records (CSV
 * records with their quote parity carried across blocks; the header taken
 * off first when the split asks), with the info a chunk's records would get.
 * `write` is what `info.write` does; `afterBlock` runs after each block's
 * records (the stream executor flushes its output there).
 */
export async function readStreamRecords(
  input: PlannedInput,
  ctx: RunContext,
  feed: (bytes: Uint8Array, info: ChunkInfo) => void,
  write: ChunkInfo['write'] = noOutput,
  afterBlock: () => Promise<void> = async () => {},
): Promise<void> {
  const { settings, reducer } = ctx;
  const label = input.stdin ? '<stdin>' : input.path;
  const term = terminatorOf(settings.split);
  const recordSize = typeof settings.split === 'object' && 'recordSize' in settings.split ? settings.split.recordSize : 0;
  // CSV: quote parity and the strict checks carry over from block to block.
  const csv = csvBytesOf(settings.split);
  const cutter = csv === undefined ? undefined : new CsvStreamCutter(csv.quote, csv.delimiter, label);
  const delimited = term >= 0 || cutter !== undefined;
  let needHeader = csv?.header === true;
  let header: Uint8Array | undefined;
  let pending: Uint8Array = new Uint8Array(0);
  let offset = 0; // file offset of pending[0]
  let index = 0;
  const give = (bytes: Uint8Array): void => {
    if (bytes.length === 0) return;
    // On the main thread, transfer checks its argument and moves nothing (src/run/handover.ts).
    const transfer = transferFor(bytes, header);
    const info: ChunkInfo = { index, start: offset, end: offset + bytes.length, fileIndex: input.index, file: label, params: settings.params, split: settings.split, write, transfer };
    if (header !== undefined) info.header = header;
    feed(bytes, info);
    index++;
    offset += bytes.length;
  };
  /** Takes the header off the front of `data` once it is whole (or the stream ended); the bytes it took. */
  const takeHeader = (data: Uint8Array, final: boolean): number => {
    if (!needHeader) return 0;
    const end = cutter!.firstRecordEnd;
    if (end < 0 && !final) return 0;
    const length = end < 0 ? data.length : end - offset;
    header = data.slice(0, length);
    needHeader = false;
    offset += length;
    return length;
  };
  const cutOf = (data: Uint8Array): number => {
    if (cutter !== undefined) return cutter.cut(data, offset, false);
    if (term >= 0) return data.lastIndexOf(term) + 1;
    if (recordSize > 0) return data.length - (data.length % recordSize);
    return data.length;
  };
  try {
    for await (const block of blocks(input, ctx.plan.maxBytes ?? Infinity, ctx.signal)) {
      throwIfAborted(ctx.signal);
      reducer.meter.add(block.length, 0);
      const data = pending.length === 0 ? block : concat(pending, block);
      const cut = cutOf(data);
      // Records inside a block are bounded like the carried tail below.
      if (delimited && cut > settings.maxRecordLength) {
        checkRecordLengths(recordEndOf(settings.split, bufferFinder(data))!, 0, cut, settings.maxRecordLength, label);
      }
      const skip = takeHeader(data, false);
      if (cut > skip) give(data.subarray(skip, cut));
      await afterBlock();
      pending = data.subarray(cut);
      if (delimited && pending.length > settings.maxRecordLength) {
        throw new PagewiseError(
          ErrorCodes.RECORD_TOO_LONG,
          `'${label}': the record at byte offset ${offset} is longer than maxRecordLength (${settings.maxRecordLength} bytes)`,
          { offset, maxRecordLength: settings.maxRecordLength, path: label },
        );
      }
      // Keep the carried tail in its own buffer so a large read block can be freed.
      if (pending.length > 0 && pending.length < data.length / 2) pending = pending.slice();
    }
    throwIfAborted(ctx.signal);
    if (recordSize > 0) checkWholeRecords(offset + pending.length, settings.split, label);
    // The last record: its quotes checked, an open one refused.
    cutter?.cut(pending, offset, true);
    give(pending.subarray(takeHeader(pending, true)));
    await afterBlock();
  } catch (error) {
    // An abort destroys the source, which then fails (ERR_STREAM_PREMATURE_CLOSE): the run's error is the abort.
    if (ctx.signal?.aborted) throw abortedError(ctx.signal);
    throw toPagewiseError(error);
  }
}

export const streamExecutor: Executor = {
  name: 'stream',
  async run(group: InputGroup, ctx: RunContext): Promise<void> {
    if (group.kind !== 'stream') throw new Error('stream executor: expected one stream');
    const { input } = group;
    const { job, settings, reducer } = ctx;
    const label = input.stdin ? '<stdin>' : input.path;
    // An ordered job's blocks are partials of their own; a commutative job folds the whole stream into one.
    const perBlock = !job.commutative;
    let acc = callInit(job, settings.params);
    let added = false;
    // Through the same copy as a worker's partial, so accumulators behave alike on every path.
    const addAcc = (): void => {
      reducer.add(deserialize(serialize(acc, 'the accumulator returned by map', `for '${label}'`)));
      added = true;
    };
    // The output of a stream is written in order from this thread, after
    // everything the inputs before it wrote.
    const out = ctx.output?.sequential();
    await readStreamRecords(
      input,
      ctx,
      (bytes, info) => {
        if (perBlock && info.index > 0) acc = callInit(job, settings.params);
        acc = callMap(job, acc, bytes, info);
        if (perBlock) addAcc();
      },
      out?.write,
      async () => {
        await out?.flush();
      },
    );
    // A commutative job's one accumulator; an input that held no record still contributes its empty one.
    if (!added) addAcc();
  },
};

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
