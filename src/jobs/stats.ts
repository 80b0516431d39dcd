/**
 * The One Billion Row Challenge as a pagewise job: per-station min/mean/max
 * over lines of `<name>;<value>`.
 *
 * `map` is the benchmark's hot loop: it finds the separator with word-wide
 * (SWAR) tests, hashes the name's words as it reads them, parses the value
 * as integer tenths, and keeps stations in an open-addressing table of typed
 * arrays (src/jobs/table.ts), so no string is made and nothing is allocated
 * per row. docs/performance.md ("Hot loops") says what was measured.
 */
import type { ChunkInfo, Job } from '../types.js';
import * as table from './table.js';
import {
  compareBytes,
  findOrAdd,
  hashBytes,
  keyBytes,
  newTable,
  scratchWords,
  slotWords,
  warmUpOnce,
  wordsOf,
  type KeyTable,
} from './table.js';

// Module-level copies of the layout and hash constants: TurboFan folds this
// module's own consts into the hot loop, but loads an imported binding from
// its cell at every use (a third more instructions per row).
const { HASH, INLINE, LEN, P, P0, P1, P2, P3, F1, F2, W0, W1, W2, W3 } = table;

/** One station in the result; temperatures in degrees (one decimal). */
export interface StatsRow {
  name: string;
  min: number;
  mean: number;
  max: number;
  count: number;
}

/**
 * The accumulator: plain fields and typed arrays only, so that a structured
 * clone copies it whole. `tab` and `num` view one buffer (a clone keeps that).
 *
 * Slot `s` is Int32 `tab[16s … 16s+15]`, the key as in table.ts plus
 * `[2] min, [3] max` in tenths and Float64 `num[8s+6] sum` (tenths, exact
 * below 2^53), `num[8s+7] count`.
 */
export interface StatsAcc extends KeyTable {
  /** Separator byte given to `init`; used when `map` gets no `params`. */
  sep: number;
  /** Float64 view of `tab`'s buffer. */
  num: Float64Array;
}

/** Parameters accepted by the job (`mapReduce(..., { params })`). */
export interface StatsParams {
  /** Separator between name and value: a byte (default 0x3b, `;`). A one-character ASCII string is accepted too. */
  sep?: number | string;
}

const SEMICOLON = 0x3b;
const LF = 10;
const CR = 13;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;

/** Int32s per slot (64 bytes: one cache line per station). */
const REC = 16;
const MIN = 2;
const MAX = 3;
/** Float64 indices within a slot's 8 doubles. */
const SUM = 6;
const COUNT = 7;
/** Tables are kept at most a quarter full: fewer probes. */
const LOAD_SHIFT = 2;

const INITIAL_SLOTS = 1024;
const INITIAL_POOL = 1024;
/** Longest name the fast path scans before handing the line to `slowLine`. */
const FAST_NAME_MAX = 128;
/** Warm up before a thread's first slice if it has at least this many bytes (docs/performance.md). */
const WARM_UP_MIN = 2 << 20;

const BAD_RECORD = 'ERR_PAGEWISE_BAD_RECORD';

function sepOf(params: unknown): number {
  if (params === undefined || params === null) return SEMICOLON;
  if (typeof params !== 'object') {
    throw new TypeError('stats: params must be an object like { sep: 0x3b }');
  }
  const sep = (params as StatsParams).sep;
  if (sep === undefined) return SEMICOLON;
  let byte: number;
  if (typeof sep === 'string') {
    if (sep.length !== 1 || sep.charCodeAt(0) > 0x7f) {
      throw new TypeError(`stats: params.sep must be one byte, got ${JSON.stringify(sep)}`);
    }
    byte = sep.charCodeAt(0);
  } else {
    byte = sep;
  }
  if (!Number.isInteger(byte) || byte < 0 || byte > 255 || byte === LF) {
    throw new RangeError(`stats: params.sep must be a byte other than \\n, got ${String(sep)}`);
  }
  return byte;
}

function createAcc(sep: number, slots = INITIAL_SLOTS, poolWords = INITIAL_POOL): StatsAcc {
  const tab = newTable(slots, REC);
  return { sep, size: 0, mask: slots - 1, tab, num: new Float64Array(tab.buffer), pool: new Int32Array(poolWords), poolUsed: 0 };
}

/** The slot of a key given as words, added if absent; keeps `num` a view of a grown `tab`. */
function slotFor(acc: StatsAcc, h: number, len: number, w: Int32Array): number {
  const tab = acc.tab;
  const s = findOrAdd(acc, REC, LOAD_SHIFT, h, len, w);
  if (acc.tab !== tab) acc.num = new Float64Array(acc.tab.buffer);
  return s;
}

/** Record one value in a slot (a slot just added has count 0). */
function update(acc: StatsAcc, s: number, v: number): void {
  const r = s * REC;
  const { tab, num } = acc;
  if (num[s * 8 + COUNT] === 0) {
    tab[r + MIN] = v;
    tab[r + MAX] = v;
  } else {
    if (v < tab[r + MIN]) tab[r + MIN] = v;
    if (v > tab[r + MAX]) tab[r + MAX] = v;
  }
  num[s * 8 + SUM] += v;
  num[s * 8 + COUNT] += 1;
}

/** The error for a malformed line; `why` is corrected to 'no separator' when the line has none. */
function badRecord(bytes: Uint8Array, lineStart: number, info: ChunkInfo | undefined, sep: number, why: string): Error {
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

/**
 * One non-empty line, byte by byte, with every check: for the end of a slice
 * (where the fast path's word reads would overrun) and for very long names.
 * Returns the position after the line.
 */
function slowLine(acc: StatsAcc, bytes: Uint8Array, lineStart: number, sep: number, info: ChunkInfo | undefined): number {
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
  const nameLen = i - lineStart;
  update(acc, slotFor(acc, hashBytes(bytes, lineStart, nameLen), nameLen, wordsOf(bytes, lineStart, nameLen)), v);
  return next;
}

/**
 * Add a name met by the fast path. The fast path does not look for newlines
 * inside names (a "name" spanning lines can never equal a stored one), so
 * this is where a line without separator is caught.
 */
function insertFromBytes(acc: StatsAcc, bytes: Uint8Array, lineStart: number, nameLen: number, h: number, info: ChunkInfo | undefined, sep: number): number {
  if (bytes.subarray(lineStart, lineStart + nameLen).includes(LF)) {
    throw badRecord(bytes, lineStart, info, sep, 'no separator');
  }
  if (hashBytes(bytes, lineStart, nameLen) !== h) throw new Error('stats: internal error: hash mismatch');
  return slotFor(acc, h, nameLen, wordsOf(bytes, lineStart, nameLen));
}

function init(params?: unknown): StatsAcc {
  return createAcc(sepOf(params));
}

const maybeWarmUp = warmUpOnce(WARM_UP_MIN, () => warmUp());

function map(acc: StatsAcc, bytes: Uint8Array, info: ChunkInfo): StatsAcc {
  maybeWarmUp(bytes.length);
  const params = info ? info.params : undefined;
  const sep = params !== undefined && params !== null ? sepOf(params) : acc.sep;
  return mapSlice(acc, bytes, sep, info);
}

/**
 * The scan behind `map`. `info` is only handed on to the error paths, so the
 * hot loop never depends on the shape of the object the worker passes.
 */
function mapSlice(acc: StatsAcc, bytes: Uint8Array, sep: number, info: ChunkInfo | undefined): StatsAcc {
  const sepWord = Math.imul(sep, 0x01010101);
  const len = bytes.length;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Word reads (4 bytes) and the value's reads (up to 7 bytes past the
  // separator) stay inside the slice while a word read starts at or before
  // `wordLimit`; a line's first four reads need 12 bytes more.
  const wordLimit = len - 12;
  const lineLimit = wordLimit - 12;

  let pos = 0;
  for (;;) {
    const tab = acc.tab;
    const num = acc.num;
    const mask = acc.mask;
    const pool = acc.pool;
    // What stopped the fast loop: 0 = near the end, 1 = a line for slowLine
    // at `lineStart`, 2 = a new name (hash `h`, value `v`) at `lineStart`.
    let stop = 0;
    let lineStart = 0;
    let nameLen = 0;
    let h = 0;
    let v = 0;
    while (pos <= lineLimit) {
      lineStart = pos;
      const x0 = dv.getInt32(pos, true);
      if ((x0 & 0xff) <= CR) {
        const c = x0 & 0xff;
        if (c === LF) {
          pos++;
          continue;
        }
        if (c === CR && bytes[pos + 1] === LF) {
          pos += 2;
          continue;
        }
      }
      // Name: SWAR zero-byte test on word ^ sepWord (the lowest flagged byte
      // is exact); m0-m3 are the first four words zero-padded after the
      // separator, as stored.
      let m0 = x0;
      let m1 = 0;
      let m2 = 0;
      let m3 = 0;
      let y = x0 ^ sepWord;
      let t = (y - 0x01010101) & ~y & 0x80808080;
      let sepAt: number;
      let full = 0;
      let tail = 0;
      if (t !== 0) {
        const b = t & -t;
        m0 = x0 & ((b >>> 7) - 1);
        sepAt = pos + ((31 - Math.clz32(b)) >>> 3);
      } else {
        const x1 = dv.getInt32(pos + 4, true);
        y = x1 ^ sepWord;
        t = (y - 0x01010101) & ~y & 0x80808080;
        if (t !== 0) {
          const b = t & -t;
          m1 = x1 & ((b >>> 7) - 1);
          sepAt = pos + 4 + ((31 - Math.clz32(b)) >>> 3);
        } else {
          m1 = x1;
          const x2 = dv.getInt32(pos + 8, true);
          y = x2 ^ sepWord;
          t = (y - 0x01010101) & ~y & 0x80808080;
          if (t !== 0) {
            const b = t & -t;
            m2 = x2 & ((b >>> 7) - 1);
            sepAt = pos + 8 + ((31 - Math.clz32(b)) >>> 3);
          } else {
            m2 = x2;
            const x3 = dv.getInt32(pos + 12, true);
            y = x3 ^ sepWord;
            t = (y - 0x01010101) & ~y & 0x80808080;
            if (t !== 0) {
              const b = t & -t;
              m3 = x3 & ((b >>> 7) - 1);
              sepAt = pos + 12 + ((31 - Math.clz32(b)) >>> 3);
            } else {
              // 16 bytes or more: hash further words as they come.
              m3 = x3;
              h = Math.imul(m0, P0) ^ Math.imul(m1, P1) ^ Math.imul(m2, P2) ^ Math.imul(m3, P3);
              let i = pos + 16;
              let x = 0;
              while (i <= wordLimit && i - pos <= FAST_NAME_MAX) {
                x = dv.getInt32(i, true);
                y = x ^ sepWord;
                t = (y - 0x01010101) & ~y & 0x80808080;
                if (t !== 0) break;
                h = Math.imul(h ^ x, P);
                h ^= h >>> 15;
                i += 4;
              }
              if (t === 0) {
                stop = 1;
                break;
              }
              const b = t & -t;
              full = i;
              tail = x & ((b >>> 7) - 1);
              sepAt = i + ((31 - Math.clz32(b)) >>> 3);
              if (sepAt > i) {
                h = Math.imul(h ^ tail, P);
                h ^= h >>> 15;
              }
              if (sepAt - pos <= INLINE) full = 0; // 16 bytes: kept whole in the slot
            }
          }
        }
      }
      nameLen = sepAt - lineStart;
      if (full === 0) h = Math.imul(m0, P0) ^ Math.imul(m1, P1) ^ Math.imul(m2, P2) ^ Math.imul(m3, P3);
      h ^= nameLen;
      h ^= h >>> 16;
      h = Math.imul(h, F1);
      h ^= h >>> 13;
      h = Math.imul(h, F2);
      h ^= h >>> 16;

      // Value: [-]d.d or [-]dd.d, then \n or \r\n.
      let j = sepAt + 1;
      let neg = 0;
      let d0 = bytes[j] - ZERO;
      if (d0 === MINUS - ZERO) {
        neg = 1;
        j = (j + 1) | 0;
        d0 = bytes[j] - ZERO;
      }
      const c1 = bytes[(j + 1) | 0];
      let end: number;
      if (c1 === DOT) {
        const d1 = bytes[(j + 2) | 0] - ZERO;
        if (d0 >>> 0 > 9 || d1 >>> 0 > 9) throw badRecord(bytes, lineStart, info, sep, 'bad value');
        v = d0 * 10 + d1;
        end = (j + 3) | 0;
      } else {
        const d1 = c1 - ZERO;
        const d2 = bytes[(j + 3) | 0] - ZERO;
        if (bytes[(j + 2) | 0] !== DOT || d0 >>> 0 > 9 || d1 >>> 0 > 9 || d2 >>> 0 > 9) {
          throw badRecord(bytes, lineStart, info, sep, 'bad value');
        }
        v = d0 * 100 + d1 * 10 + d2;
        end = (j + 4) | 0;
      }
      v = (v ^ -neg) + neg;
      const ce = bytes[end];
      if (ce === LF) pos = (end + 1) | 0;
      else if (ce === CR && bytes[(end + 1) | 0] === LF) pos = (end + 2) | 0;
      else throw badRecord(bytes, lineStart, info, sep, 'bad value');

      // Find the slot: compare the hash, length and words, and for long
      // names the pooled words.
      let s = h & mask;
      let r: number;
      for (;;) {
        r = s << 4; // s * REC
        const kl = tab[r | LEN];
        if (kl === 0) break;
        if (tab[r | HASH] === h && kl === nameLen + 1 && tab[r | W0] === m0 && tab[r | W1] === m1 && tab[r | W2] === m2) {
          if (full === 0) {
            if (tab[r | W3] === m3) break;
          } else {
            let w = tab[r | W3];
            if (pool[w] === m3) {
              let a = lineStart + 16;
              w++;
              while (a < full && pool[w] === dv.getInt32(a, true)) {
                a += 4;
                w++;
              }
              if (a === full && (sepAt === full || pool[w] === tail)) break;
            }
          }
        }
        s = (s + 1) & mask;
      }
      if (tab[r | LEN] === 0) {
        stop = 2;
        break;
      }
      if (v < tab[r | MIN]) tab[r | MIN] = v;
      if (v > tab[r | MAX]) tab[r | MAX] = v;
      num[(s << 3) | SUM] += v;
      num[(s << 3) | COUNT] += 1;
    }

    if (stop === 1) {
      pos = slowLine(acc, bytes, lineStart, sep, info) | 0;
    } else if (stop === 2) {
      update(acc, insertFromBytes(acc, bytes, lineStart, nameLen, h, info, sep), v);
    } else {
      break;
    }
  }

  // The last few lines, where word reads could overrun.
  while (pos < len) {
    const c = bytes[pos];
    if (c === LF) pos++;
    else if (c === CR && (pos + 1 === len || bytes[pos + 1] === LF)) pos += 2;
    else pos = slowLine(acc, bytes, pos, sep, info);
  }
  return acc;
}

function merge(a: StatsAcc, b: StatsAcc): StatsAcc {
  const bt = b.tab;
  const bn = b.num;
  for (let f = 0; f <= b.mask; f++) {
    const q = f * REC;
    if (bt[q + LEN] === 0) continue;
    const len = slotWords(bt, b.pool, q);
    const s = slotFor(a, bt[q + HASH], len, scratchWords());
    const r = s * REC;
    const { tab, num } = a;
    if (num[s * 8 + COUNT] === 0 || bt[q + MIN] < tab[r + MIN]) tab[r + MIN] = bt[q + MIN];
    if (num[s * 8 + COUNT] === 0 || bt[q + MAX] > tab[r + MAX]) tab[r + MAX] = bt[q + MAX];
    num[s * 8 + SUM] += bn[f * 8 + SUM];
    num[s * 8 + COUNT] += bn[f * 8 + COUNT];
  }
  return a;
}

/** round-half-up(sum / count), exactly: floor((2*sum + count) / (2*count)). */
function meanTenths(sum: number, count: number): number {
  const num = 2n * BigInt(sum) + BigInt(count);
  const den = 2n * BigInt(count);
  let q = num / den;
  if (num % den !== 0n && num < 0n) q -= 1n; // BigInt division truncates toward zero
  return Number(q);
}

function finish(acc: StatsAcc): StatsRow[] {
  const found: Array<{ key: Uint8Array; s: number }> = [];
  for (let s = 0; s <= acc.mask; s++) {
    if (acc.tab[s * REC + LEN] !== 0) found.push({ key: keyBytes(acc.tab, acc.pool, s * REC), s });
  }
  found.sort((p, q) => compareBytes(p.key, q.key));
  const decoder = new TextDecoder();
  return found.map(({ key, s }) => {
    const r = s * REC;
    const count = acc.num[s * 8 + COUNT];
    return {
      name: decoder.decode(key),
      min: acc.tab[r + MIN] / 10,
      mean: meanTenths(acc.num[s * 8 + SUM], count) / 10,
      max: acc.tab[r + MAX] / 10,
      count,
    };
  });
}

function tenthsText(x: number): string {
  const t = Math.round(x * 10);
  const a = Math.abs(t);
  return `${t < 0 ? '-' : ''}${Math.floor(a / 10)}.${a % 10}`;
}

/**
 * Render rows the way the One Billion Row Challenge prints them, so output can
 * be diffed against reference implementations byte for byte: one decimal
 * always, and never `-0.0`.
 */
export function formatStats(rows: readonly StatsRow[]): string {
  const parts = rows.map((r) => `${r.name}=${tenthsText(r.min)}/${tenthsText(r.mean)}/${tenthsText(r.max)}`);
  return `{${parts.join(', ')}}\n`;
}

/**
 * Every path of `mapSlice` over a small made-up input (names of every length
 * past FAST_NAME_MAX, ASCII or not; values of each pattern and sign; LF and
 * CRLF; empty lines; new and known names; probing, table and pool growth; the
 * tail loop), in short slices, so that all of it has type feedback early.
 */
function warmUp(): void {
  const names: string[] = [];
  for (let k = 0; k < 48; k++) {
    // Lengths 1-40 (the separator in each of the first words and past them), some not ASCII.
    const len = 1 + ((k * 7) % 40);
    const stem = `${k % 5 === 0 ? 'Ö' : 'S'}${k}-`;
    names.push((stem + 'abcdefghij'.repeat(4)).slice(0, len));
  }
  names.push('L'.repeat(FAST_NAME_MAX + 20));
  const lines: string[] = [];
  for (let k = 0; k < 400; k++) {
    const name = names[(k * 13) % names.length];
    const tenths = ((k * 7919) % 1999) - 999; // -99.9 … 99.9: d.d and dd.d, both signs
    const a = Math.abs(tenths);
    const value = `${tenths < 0 ? '-' : ''}${Math.floor(a / 10)}.${a % 10}`;
    const eol = k % 17 === 0 ? '\r\n' : '\n';
    lines.push(`${name};${value}${eol}${k % 29 === 0 ? '\n' : ''}${k % 31 === 0 ? '\r\n' : ''}`);
  }
  // Reassign the fields that growth replaces before anything compiles: code
  // compiled while they were never reassigned is thrown away when they are.
  const spare = createAcc(SEMICOLON, 8, 8);
  spare.tab = newTable(16, REC);
  spare.num = new Float64Array(spare.tab.buffer);
  spare.mask = 15;
  spare.pool = new Int32Array(16);
  spare.poolUsed = 1;
  spare.size = 1;
  const buf = Buffer.from(lines.join(''));
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  for (let pass = 0; pass < 3; pass++) {
    // A small table and pool, so that 49 names grow both and probe past taken slots.
    const acc = createAcc(SEMICOLON, 16, 16);
    let from = 0;
    for (let k = 0; from < bytes.length; k++) {
      // 1 to 40 lines a slice; in the last pass the last slice ends without its newline.
      let to = from;
      for (let n = 1 + ((k * 11 + pass * 5) % 40); n > 0 && to < bytes.length; n--) {
        const nl = bytes.indexOf(LF, to);
        to = nl < 0 ? bytes.length : nl + 1;
      }
      const end = pass === 2 && to === bytes.length ? to - 1 : to;
      mapSlice(acc, bytes.subarray(from, end), SEMICOLON, undefined);
      from = to;
    }
  }
}

/**
 * Declared commutative: min, max, sum and count do not depend on order, which
 * lets the engine keep one accumulator per worker.
 */
const statsJob = {
  split: 'lines',
  commutative: true,
  init,
  map,
  merge,
  finish,
} satisfies Job<StatsAcc, StatsRow[]>;

export default statsJob;
