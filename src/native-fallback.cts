/**
 * The addon's byte kernels in JavaScript, for processes where no native
 * binary loads (another platform, a failed load, `PAGEWISE_NATIVE=0`). Each
 * gives exactly what its C++ twin gives, argument handling included (a
 * missing or non-finite bound means the default, bounds are clamped to the
 * array, byte values are taken modulo 256); `test/native-fallback.test.ts`
 * compares them on random and edge inputs. Functions that need a mapping
 * throw ERR_PAGEWISE_NO_ADDON instead: the engine reads such files with
 * positional reads.
 *
 * CommonJS, with kernels-js.cts and utf8-wc-table.cts, on purpose:
 * src/native.ts requires it only when the addon did not load, so every
 * thread of every other process skips ~3 ms of loading it (docs/decisions.md,
 * "Start-up"); an ES module would need a top-level await there, which
 * `require('pagewise')` cannot load. What it needs from the ES modules
 * (the error type, the CSV summary) is passed in.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import type { NativeBinding } from './native.js';
import * as text from './kernels-js.cjs';
import { UTF8_WC_SOURCE } from './utf8-wc-table.cjs';

function checkBytes(bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('expected a Uint8Array');
}

/** As napi_get_value_int64: NaN and ±Infinity are 0, fractions are truncated. */
function toInt64(value: number): number {
  return Number.isFinite(value) ? Math.trunc(value) : 0;
}

/** [start, end) of the optional bounds, clamped to [0, length], end never before start. */
function range(length: number, start: unknown, end: unknown): [number, number] {
  let s = 0;
  let e = length;
  if (typeof start === 'number') s = Math.min(Math.max(toInt64(start), 0), length);
  if (typeof end === 'number') e = Math.min(Math.max(toInt64(end), 0), length);
  if (e < s) e = s;
  return [s, e];
}

/** The byte of a numeric argument, as the addon's `Uint32Value() & 0xff` (ToUint32, then the low byte). */
function byteOf(value: unknown): number {
  if (typeof value !== 'number') throw new TypeError('A number was expected');
  return (value >>> 0) & 0xff;
}

/** A Buffer over the same memory (Buffer's indexOf is memchr/memmem in C++). */
function asBuffer(bytes: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start);
}

export function countByte(bytes: Uint8Array, value: number, start?: number, end?: number): number {
  checkBytes(bytes);
  const [s, e] = range(bytes.length, start, end);
  const b = byteOf(value);
  if (e === s) return 0;
  const buf = asBuffer(bytes, s, e);
  let n = 0;
  for (let at = buf.indexOf(b); at >= 0; at = buf.indexOf(b, at + 1)) n++;
  return n;
}

export function indexOfByte(bytes: Uint8Array, value: number, from?: number, end?: number): number {
  checkBytes(bytes);
  const [s, e] = range(bytes.length, from, end);
  if (e === s) return -1;
  const at = asBuffer(bytes, s, e).indexOf(byteOf(value));
  return at < 0 ? -1 : s + at;
}

export function indexOf(bytes: Uint8Array, needle: Uint8Array, from?: number, end?: number): number {
  checkBytes(bytes);
  checkBytes(needle);
  const [s, e] = range(bytes.length, from, end);
  if (needle.length === 0) return s;
  if (needle.length > e - s) return -1;
  const at = asBuffer(bytes, s, e).indexOf(asBuffer(needle, 0, needle.length));
  return at < 0 ? -1 : s + at;
}

/**
 * Records (ended by `terminator`, the last one possibly not) that contain
 * `needle`: find the next hit, count it, skip past its record's end.
 */
export function countLinesContaining(bytes: Uint8Array, needle: Uint8Array, terminator: number): number {
  checkBytes(bytes);
  checkBytes(needle);
  const term = byteOf(terminator);
  if (bytes.length === 0) return 0;
  const buf = asBuffer(bytes, 0, bytes.length);
  const pattern = asBuffer(needle, 0, needle.length);
  let count = 0;
  let at = 0;
  while (at < buf.length) {
    const hit = pattern.length === 0 ? at : buf.indexOf(pattern, at);
    if (hit < 0) break;
    count++;
    const t = buf.indexOf(term, hit);
    if (t < 0) break;
    at = t + 1;
  }
  return count;
}

/** The records that contain `needle`, copied into `out` (each ended by `terminator`): [bytes, records]. */
export function copyLinesContaining(bytes: Uint8Array, needle: Uint8Array, terminator: number, out: Uint8Array): [number, number] {
  checkBytes(bytes);
  checkBytes(needle);
  checkBytes(out);
  const term = byteOf(terminator);
  if (out.length < bytes.length + 1) throw new RangeError('copyLinesContaining: out must hold the input\'s length + 1 bytes');
  const buf = asBuffer(bytes, 0, bytes.length);
  const pattern = asBuffer(needle, 0, needle.length);
  let written = 0;
  let records = 0;
  let at = 0;
  while (at < buf.length) {
    const hit = pattern.length === 0 ? at : buf.indexOf(pattern, at);
    if (hit < 0) break;
    const start = hit === at ? at : Math.max(at, buf.lastIndexOf(term, hit - 1) + 1);
    const t = buf.indexOf(term, hit);
    const stop = t < 0 ? buf.length : t + 1;
    out.set(buf.subarray(start, stop), written);
    written += stop - start;
    if (t < 0) out[written++] = term;
    records++;
    at = stop;
  }
  return [written, records];
}

/** From `from`, the records that contain `needle`: three numbers each in `out` (start, end, terminators from `from`): [records, next]. */
export function findLinesContaining(bytes: Uint8Array, needle: Uint8Array, terminator: number, out: Float64Array, from: number): [number, number] {
  checkBytes(bytes);
  checkBytes(needle);
  if (!(out instanceof Float64Array)) throw new TypeError('findLinesContaining: out must be a Float64Array');
  const term = byteOf(terminator);
  if (needle.length === 0 || needle.includes(term)) throw new RangeError('findLinesContaining: the needle must be non-empty and hold no terminator');
  const buf = asBuffer(bytes, 0, bytes.length);
  const pattern = asBuffer(needle, 0, needle.length);
  const cap = Math.floor(out.length / 3);
  let at = Math.min(Math.max(0, Math.trunc(from) || 0), buf.length);
  let counted = at;
  let lines = 0;
  let k = 0;
  while (k < cap && at < buf.length) {
    const hit = buf.indexOf(pattern, at);
    if (hit < 0) {
      at = buf.length;
      break;
    }
    const start = hit === at ? at : Math.max(at, buf.lastIndexOf(term, hit - 1) + 1);
    for (let i = counted; i < start; i++) if (buf[i] === term) lines++;
    counted = start;
    const t = buf.indexOf(term, hit);
    const stop = t < 0 ? buf.length : t + 1;
    out[3 * k] = start;
    out[3 * k + 1] = stop;
    out[3 * k + 2] = lines;
    k++;
    at = stop;
  }
  return [k, at];
}

// 1 for the six ASCII white-space bytes (space, \t, \n, \v, \f, \r).
const SPACE = new Uint8Array(256);
for (const b of [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]) SPACE[b] = 1;

/**
 * Maximal runs of bytes other than the six ASCII white-space bytes: the
 * words of `wc` in the C locale. One function on purpose, so a different
 * word rule replaces exactly this.
 */
export function countWords(bytes: Uint8Array): number {
  checkBytes(bytes);
  let words = 0;
  let prevSpace = 1;
  for (let i = 0; i < bytes.length; i++) {
    const s = SPACE[bytes[i]];
    words += prevSpace & (s ^ 1);
    prevSpace = s;
  }
  return words;
}

const AT_PAGESZ = 6;

/** The page size from the kernel's auxiliary vector, where there is one. */
export function pageSize(): number {
  if (process.platform === 'linux') {
    try {
      const auxv = readFileSync('/proc/self/auxv');
      const le = endianness() === 'LE';
      // (type, value) pairs of machine words, ended by type 0 (AT_NULL).
      const word = /64/.test(process.arch) ? 8 : 4;
      const read = (at: number): number =>
        word === 8 ? Number(le ? auxv.readBigUInt64LE(at) : auxv.readBigUInt64BE(at)) : le ? auxv.readUInt32LE(at) : auxv.readUInt32BE(at);
      for (let at = 0; at + 2 * word <= auxv.length; at += 2 * word) {
        const type = read(at);
        if (type === 0) break;
        if (type === AT_PAGESZ) return read(at + word);
      }
    } catch {
      // no procfs: fall through to the platform's usual size
    }
  }
  return process.platform === 'darwin' && process.arch === 'arm64' ? 16384 : 4096;
}

/** What the fallback takes from the ES modules. */
export interface FallbackParts {
  /** The ERR_PAGEWISE_NO_ADDON error with `message` and `cause`. */
  noAddon(message: string, cause: Error): Error;
  /** src/csv/scan.ts's summarizeCsv: csvSummaryChecked in JavaScript. */
  summarizeCsv: NativeBinding['csvSummaryChecked'];
}

/**
 * A binding with the addon's shape whose kernels run in JavaScript and whose
 * mapping functions throw ERR_PAGEWISE_NO_ADDON (carrying why the addon did
 * not load as `cause`). `onUse` runs before every call but `pageSize`.
 */
export function fallbackBinding(loadError: Error, onUse: () => void, parts: FallbackParts): NativeBinding {
  const unavailable = (name: string) => (): never => {
    onUse();
    throw parts.noAddon(`${name}() needs pagewise's native addon, which is not loaded: ${loadError.message}`, loadError);
  };
  const used = <A extends unknown[], R>(f: (...args: A) => R) => (...args: A): R => {
    onUse();
    return f(...args);
  };
  return {
    open: unavailable('open'),
    close: unavailable('close'),
    view: unavailable('view'),
    detach: unavailable('detach'),
    advise: unavailable('advise'),
    fadvise: unavailable('fadvise'),
    residency: unavailable('residency'),
    state: unavailable('state'),
    find: unavailable('find'),
    faults: unavailable('faults'),
    create: unavailable('create'),
    flush: unavailable('flush'),
    resize: unavailable('resize'),
    scan: unavailable('scan'),
    gate: unavailable('gate'),
    threadpoolConcurrency: unavailable('threadpoolConcurrency'),
    // Nothing is ever mapped without the addon.
    stats: () => ({ mappings: 0, views: 0 }),
    countByte: used(countByte),
    indexOfByte: used(indexOfByte),
    indexOf: used(indexOf),
    countLinesContaining: used(countLinesContaining),
    copyLinesContaining: used(copyLinesContaining),
    findLinesContaining: used(findLinesContaining),
    countWords: used(countWords),
    countWcUtf8: used(text.countWcUtf8),
    countWordsUtf8: used(text.countWordsUtf8),
    countCharsUtf8: used(text.countCharsUtf8),
    csvSummaryChecked: used(parts.summarizeCsv),
    csvRecordStart: used(text.csvRecordStart),
    csvCountRecords: used(text.csvCountRecords),
    utf8TableSource: () => UTF8_WC_SOURCE,
    pageSize,
    kernelFlavor: () => 'js',
    // The tables are the addon's; with nothing mapped no number of them is used.
    constants: { madvise: {}, fadvise: {}, scanOps: {} } as unknown as NativeBinding['constants'],
  };
}
