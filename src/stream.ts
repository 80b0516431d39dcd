/**
 * The sequential-read path: stdin (`-`), FIFOs, sockets, character devices
 * with a byte limit, and `mode: 'read'`. Same job contract, same records, same
 * result as the mapped path, run on the calling thread: blocks of whole
 * records are fed to `map` in file order on one accumulator. A failed or
 * impossible mmap is never fatal; this path takes over.
 */
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ErrorCodes, JobFailedError, PagewiseError } from './errors.js';
import { bufferFinder, checkWholeRecords, findLongRecord, terminatorOf } from './planner.js';
import type { Job, Split } from './types.js';

export interface StreamRunOptions {
  split: Split;
  blockSize: number;
  maxRecordLength: number;
  maxBytes?: number;
  params: unknown;
  fileIndex: number;
  signal?: AbortSignal;
  onBytes?: (bytes: number) => void;
}

async function* readBlocks(source: string | Readable, blockSize: number, maxBytes: number | undefined): AsyncGenerator<Uint8Array> {
  let remaining = maxBytes ?? Infinity;
  if (typeof source === 'string') {
    const handle = await open(source, 'r');
    try {
      for (;;) {
        if (remaining <= 0) return;
        const buffer = Buffer.allocUnsafe(Math.min(blockSize, remaining));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) return;
        remaining -= bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  } else {
    for await (const piece of source) {
      if (remaining <= 0) break;
      let bytes = typeof piece === 'string' ? Buffer.from(piece) : (piece as Uint8Array);
      if (bytes.length > remaining) bytes = bytes.subarray(0, remaining);
      remaining -= bytes.length;
      yield bytes;
    }
  }
}

/**
 * Runs `job.map` over a stream (or a file read sequentially), returning the
 * accumulator. `source` is a path to open or an already open stream.
 */
export async function mapStream(job: Job, source: string | Readable, label: string, o: StreamRunOptions): Promise<unknown> {
  const term = terminatorOf(o.split);
  const recordSize = typeof o.split === 'object' && 'recordSize' in o.split ? o.split.recordSize : 0;
  let acc: unknown;
  try {
    acc = job.init(o.params);
  } catch (error) {
    throw new JobFailedError(`job init failed: ${(error as Error)?.message ?? error}`, { cause: error });
  }
  let pending: Uint8Array = new Uint8Array(0);
  let offset = 0; // file offset of pending[0]
  let index = 0;

  const feed = (bytes: Uint8Array): void => {
    if (bytes.length === 0) return;
    const info = { index, start: offset, end: offset + bytes.length, fileIndex: o.fileIndex, file: label, params: o.params };
    try {
      acc = job.map(acc, bytes, info);
    } catch (error) {
      throw new JobFailedError(
        `job failed on chunk ${index} of '${label}' (bytes ${info.start}-${info.end}): ${(error as Error)?.message ?? error}`,
        { cause: error, index, start: info.start, end: info.end, file: label },
      );
    }
    index++;
    offset += bytes.length;
  };

  for await (const block of readBlocks(source, o.blockSize, o.maxBytes)) {
    if (o.signal?.aborted) throw new PagewiseError(ErrorCodes.ABORTED, 'the run was aborted', { cause: o.signal.reason });
    o.onBytes?.(block.length);
    const data = pending.length === 0 ? block : concat(pending, block);
    let cut: number;
    if (term >= 0) cut = data.lastIndexOf(term) + 1;
    else if (recordSize > 0) cut = data.length - (data.length % recordSize);
    else cut = data.length;
    // Records inside a block are as bounded as the carried tail below (the
    // mapped path checks every record against an explicit limit too).
    if (term >= 0 && cut > o.maxRecordLength) checkRecordLengths(data, cut, term, offset, o.maxRecordLength, label);
    if (cut > 0) feed(data.subarray(0, cut));
    pending = data.subarray(cut);
    if (term >= 0 && pending.length > o.maxRecordLength) {
      throw new PagewiseError(
        ErrorCodes.RECORD_TOO_LONG,
        `'${label}': the record at byte offset ${offset} is longer than maxRecordLength (${o.maxRecordLength} bytes)`,
        { offset, maxRecordLength: o.maxRecordLength, path: label },
      );
    }
    // Keep the carried tail in its own buffer so a large read block can be freed.
    if (pending.length > 0 && pending.length < data.length / 2) pending = pending.slice();
  }
  if (recordSize > 0) checkWholeRecords(offset + pending.length, o.split, label);
  feed(pending);
  return acc;
}

/** Throws ERR_PAGEWISE_RECORD_TOO_LONG for the first record of `data[0, cut)` longer than `max`. */
function checkRecordLengths(data: Uint8Array, cut: number, term: number, offset: number, max: number, label: string): void {
  const long = findLongRecord(bufferFinder(data), term, 0, cut, max);
  if (long === undefined) return;
  throw new PagewiseError(
    ErrorCodes.RECORD_TOO_LONG,
    `'${label}': the record at byte offset ${offset + long.offset} is ${long.length} bytes, longer than maxRecordLength (${max} bytes)`,
    { offset: offset + long.offset, maxRecordLength: max, path: label },
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
