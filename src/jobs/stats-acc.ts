/**
 * The `stats` accumulator and its cold paths: the slot layout, recording a
 * value, flushing the packed per-slot counters, and the lines the fast loop
 * (src/jobs/stats-scan.ts) hands over: near the end of a slice, long names,
 * new names, collisions.
 */
import type { ChunkInfo } from '../types.js';
import { find, findOrAdd, hashBytes, hashWords, newTable, scratchWords, wordsOf, type KeyTable } from './table.js';

export { HASH, LEN } from './table.js';

/**
 * The accumulator: plain fields and typed arrays only, so that a structured
 * clone copies it whole. `tab` and `num` view one buffer (a clone keeps that).
 *
 * Slot `s` is Int32 `tab[16s … 16s+15]`: the key as in table.ts, then
 * `[MINMAX]` min (low 16 bits) and max (high 16 bits) in tenths (NO_MINMAX
 * before the first value), `[ROWS]` the rows since the last flush and their
 * sum packed as `rows * 2^20 + sum + 1024 * rows` (so one Int32 add records
 * a row), and the Float64 totals `num[8s + SUM]` (tenths, exact below 2^53)
 * and `num[8s + COUNT]`.
 */
export interface StatsAcc extends KeyTable {
  /** Separator byte given to `init`; used when `map` gets no `params`. */
  sep: number;
  /** Float64 view of `tab`'s buffer (the totals). */
  num: Float64Array;
}

/** Int32s per slot (64 bytes: one cache line per station). */
export const REC = 16;
export const MINMAX = 2;
export const ROWS = 3;
/** Float64 indices within a slot's 8 doubles. */
export const SUM = 6;
export const COUNT = 7;
/** What one row adds to ROWS, less its value: a row (2^20) and the offset that keeps the sum positive. */
export const ROW_STEP = 0x100400;
/** MINMAX of a slot with no value yet: min 32767, max -32768. */
export const NO_MINMAX = 0x80007fff | 0;
/** ROWS is flushed at 512 rows: 512 * 2023 < 2^20 keeps the sum apart from the count. */
export const ROWS_FLUSH = 512 << 20;
/**
 * Tables are kept at most a quarter full, so that most names are at their
 * home slot or the next one, which the fast loop checks; a sparse table costs
 * only the cache lines its stations use.
 */
export const LOAD_SHIFT = 2;
/** Longest name `longLine` reads by words before handing the line to `slowLine`. */
export const FAST_NAME_MAX = 128;

export const LF = 10;
export const CR = 13;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
/** Room for 413 stations at the first size. */
const INITIAL_SLOTS = 4096;
const INITIAL_POOL = 1024;

const BAD_RECORD = 'ERR_PAGEWISE_BAD_RECORD';

/** A fresh accumulator (small tables for the warm-up, so that it grows them). */
export function createAcc(sep: number, slots = INITIAL_SLOTS, poolWords = INITIAL_POOL): StatsAcc {
  const tab = newTable(slots, REC);
  return { sep, size: 0, mask: slots - 1, tab, num: new Float64Array(tab.buffer), pool: new Int32Array(poolWords), poolUsed: 0 };
}

/** Keeps `num` a view of `tab` after a call that may have grown it. */
function afterGrowth(acc: StatsAcc, tab: Int32Array): void {
  if (acc.tab !== tab) acc.num = new Float64Array(acc.tab.buffer);
}

/** The slot of a key given as words, added if absent (with no min and max yet). */
export function slotFor(acc: StatsAcc, h: number, len: number, w: Int32Array): number {
  const tab = acc.tab;
  const size = acc.size;
  const s = findOrAdd(acc, REC, LOAD_SHIFT, h, len, w);
  afterGrowth(acc, tab);
  if (acc.size !== size) acc.tab[s * REC + MINMAX] = NO_MINMAX;
  return s;
}

/** Rows of slot `s`. */
export function countOf(acc: StatsAcc, s: number): number {
  return acc.num[s * 8 + COUNT] + (acc.tab[s * REC + ROWS] >>> 20);
}

/** Sum of slot `s`, in tenths. */
export function sumOf(acc: StatsAcc, s: number): number {
  const x = acc.tab[s * REC + ROWS];
  return acc.num[s * 8 + SUM] + (x & 0xfffff) - 1024 * (x >>> 20);
}

/** Move slot `s`'s ROWS into its totals. */
export function flush(acc: StatsAcc, s: number): void {
  acc.num[s * 8 + SUM] = sumOf(acc, s);
  acc.num[s * 8 + COUNT] = countOf(acc, s);
  acc.tab[s * REC + ROWS] = 0;
}

export function minOf(tab: Int32Array, s: number): number {
  return (tab[s * REC + MINMAX] << 16) >> 16;
}

export function maxOf(tab: Int32Array, s: number): number {
  return tab[s * REC + MINMAX] >> 16;
}

export function setMinMax(tab: Int32Array, s: number, min: number, max: number): void {
  tab[s * REC + MINMAX] = (min & 0xffff) | (max << 16);
}

/** Record one value in a slot. */
export function update(acc: StatsAcc, s: number, v: number): void {
  const tab = acc.tab;
  setMinMax(tab, s, Math.min(v, minOf(tab, s)), Math.max(v, maxOf(tab, s)));
  const x = (tab[s * REC + ROWS] + ROW_STEP + v) | 0;
  tab[s * REC + ROWS] = x;
  if (x >= ROWS_FLUSH) flush(acc, s);
}

/** The error for a malformed line; `why` is corrected to 'no separator' when the line has none. */
export function badRecord(bytes: Uint8Array, lineStart: number, info: ChunkInfo | undefined, sep: number, why: string): Error {
  let lineEnd = bytes.indexOf(LF, lineStart);
  if (lineEnd < 0) lineEnd = bytes.length;
  if (bytes.subarray(lineStart, lineEnd).indexOf(sep) < 0) why = 'no separator';
  const shown = Math.min(lineEnd, lineStart + 120);
  const text = new TextDecoder().decode(bytes.subarray(lineStart, shown)) + (shown < lineEnd ? '…' : '');
  const offset = (info ? info.start : 0) + lineStart;
  const where = info && info.file ? ` of ${info.file}` : '';
  const err = new Error(
    `stats: bad record at byte offset ${offset}${where}: ${why}: ${JSON.stringify(text)} (expected <name><sep><value> with one decimal, e.g. "Oslo;-3.4")`,
  ) as Error & { code: string; offset: number };
  err.code = BAD_RECORD;
  err.offset = offset;
  return err;
}

/** The value `bytes[j, end)` (`[-]d.d` or `[-]dd.d`) in tenths, or NaN if it is not one. */
function parseValue(bytes: Uint8Array, j: number, end: number): number {
  let neg = false;
  if (j < end && bytes[j] === MINUS) {
    neg = true;
    j++;
  }
  const n = end - j;
  if (n !== 3 && n !== 4) return NaN;
  let v = 0;
  for (let k = j; k < end; k++) {
    const c = bytes[k];
    if (k === end - 2) {
      if (c !== DOT) return NaN;
      continue;
    }
    const d = c - ZERO;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return neg ? 0 - v : v;
}

/** Record `v` for the name `bytes[lineStart, lineStart+nameLen)`, given as words `name`, adding it if new. */
export function recordWords(acc: StatsAcc, bytes: Uint8Array, lineStart: number, nameLen: number, name: Int32Array, v: number, info: ChunkInfo | undefined, sep: number): void {
  const h = hashWords(name, nameLen);
  let s = find(acc, REC, h, nameLen, name);
  if (s < 0) {
    // A new name must not span lines (a known one cannot: none is stored).
    for (let k = lineStart; k < lineStart + nameLen; k++) if (bytes[k] === LF) throw badRecord(bytes, lineStart, info, sep, 'no separator');
    s = slotFor(acc, h, nameLen, name);
  }
  update(acc, s, v);
}

/**
 * One non-empty line, byte by byte, with every check: for the end of a slice,
 * where the fast path's word reads would overrun. Returns the position after
 * the line.
 */
export function slowLine(acc: StatsAcc, bytes: Uint8Array, lineStart: number, sep: number, info: ChunkInfo | undefined): number {
  const len = bytes.length;
  let i = lineStart;
  while (i < len && bytes[i] !== sep) {
    if (bytes[i] === LF) throw badRecord(bytes, lineStart, info, sep, 'no separator');
    i++;
  }
  if (i === len) throw badRecord(bytes, lineStart, info, sep, 'no separator');
  let end = i + 1;
  while (end < len && bytes[end] !== LF) end++;
  const next = end < len ? end + 1 : end;
  if (end > i + 1 && bytes[end - 1] === CR) end--;
  const v = parseValue(bytes, i + 1, end);
  if (v !== v) throw badRecord(bytes, lineStart, info, sep, 'bad value');
  recordWords(acc, bytes, lineStart, i - lineStart, wordsOf(bytes, lineStart, i - lineStart), v, info, sep);
  return next;
}

/**
 * Add a name met by the fast path. The fast path does not look for newlines
 * inside names (a "name" spanning lines can never equal a stored one), so
 * this is where a line without separator is caught.
 */
export function insertFromBytes(acc: StatsAcc, bytes: Uint8Array, lineStart: number, nameLen: number, h: number, info: ChunkInfo | undefined, sep: number): number {
  for (let k = lineStart; k < lineStart + nameLen; k++) if (bytes[k] === LF) throw badRecord(bytes, lineStart, info, sep, 'no separator');
  if (hashBytes(bytes, lineStart, nameLen) !== h) {
    throw Object.assign(new Error('stats: internal error: the fast loop and table.ts hash differently'), { code: 'ERR_PAGEWISE_INTERNAL' });
  }
  return slotFor(acc, h, nameLen, wordsOf(bytes, lineStart, nameLen));
}

/** A row whose name (of at most 15 bytes) the fast loop did not find at its home slot or the next: found further on, or added. */
export function recordMiss(acc: StatsAcc, bytes: Uint8Array, lineStart: number, nameLen: number, h: number, v: number, info: ChunkInfo | undefined, sep: number): void {
  let s = find(acc, REC, h, nameLen, wordsOf(bytes, lineStart, nameLen));
  if (s < 0) s = insertFromBytes(acc, bytes, lineStart, nameLen, h, info, sep);
  update(acc, s, v);
}
