/**
 * The One Billion Row Challenge as a pagewise job: per-station min/mean/max
 * over lines of `<name>;<value>`.
 *
 * This is the benchmark job, so `map` is written for throughput: it reads the
 * name four bytes at a time (SWAR search for the separator), parses the value
 * as integer tenths with fixed patterns, and finds the station in an
 * open-addressing table kept in typed arrays, one 64-byte record per slot
 * (name words, min, max, sum, count together, so a row touches one record).
 * No string is created and nothing is allocated per row. The table is a plain object of typed arrays, so it survives the
 * structured clone from a worker to the main thread.
 */
import type { ChunkInfo, Job } from '../types.js';

/** One station in the result; temperatures in degrees (one decimal). */
export interface StatsRow {
  name: string;
  min: number;
  mean: number;
  max: number;
  count: number;
}

/**
 * The accumulator. Plain fields only, so that `structuredClone` (and
 * `postMessage`) copy it whole; `map`, `merge` and `finish` never rely on
 * identity or prototypes. `tab` and `num` are two views of one buffer, which
 * a structured clone keeps shared.
 *
 * A name of `len` bytes is handled as `max(3, (len >> 2) + 1)` little-endian
 * words, zero-padded (the last word holds the `len & 3` trailing bytes, or 0).
 * Words 0-2 live in the slot; longer names keep words 3… in `words`.
 *
 * Slot `s` is Int32 `tab[16s … 16s+11]` and Float64 `num[8s+6 … 8s+7]`:
 * `[hash, len + 1 (0 = empty), min, max, w0, w1, w2, offset of word 3 in
 * words, -, -, -, -, sum, count]`, min/max/sum in tenths (sum is an exact
 * integer below 2^53 for any real input).
 */
export interface StatsAcc {
  /** Separator byte given to `init`; used when `map` gets no `params`. */
  sep: number;
  /** Number of distinct names. */
  size: number;
  /** Slot count - 1 (slot count is a power of two, at most a quarter full). */
  mask: number;
  /** Int32 view of the slot records. */
  tab: Int32Array;
  /** Float64 view of the same buffer (sum, count). */
  num: Float64Array;
  /** Words 3… of names longer than 11 bytes, back to back. */
  words: Int32Array;
  /** Words of `words` in use. */
  wordsUsed: number;
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

/** Int32 per slot record (64 bytes). */
const REC = 16;
const H = 0;
const LEN = 1;
const MIN = 2;
const MAX = 3;
const W0 = 4;
const W1 = 5;
const W2 = 6;
const OFF = 7;
/** Float64 index of sum / count within a slot's 8 doubles. */
const SUM = 6;
const COUNT = 7;

const INITIAL_SLOTS = 1024;
const INITIAL_WORDS = 1024;

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

function createTable(slots: number): { tab: Int32Array; num: Float64Array } {
  const buf = new ArrayBuffer(slots * REC * 4);
  return { tab: new Int32Array(buf), num: new Float64Array(buf) };
}

function createAcc(sep: number, slots = INITIAL_SLOTS, words = INITIAL_WORDS): StatsAcc {
  const { tab, num } = createTable(slots);
  return { sep, size: 0, mask: slots - 1, tab, num, words: new Int32Array(words), wordsUsed: 0 };
}

/*
 * The hash of a name, over its words W (see StatsAcc):
 *   h = imul(W0, P0) ^ imul(W1, P1) ^ imul(W2, P2)
 *   for each further word w: h = imul(h ^ w, P3); h ^= h >>> 15
 *   then h ^= h >>> 15: the low bits of a product see only the low bits of
 *   its inputs, so fold in high bits, which see more of each word, before the
 *   low bits pick the slot.
 * `map` computes it inline; `keyOf` is the same for the slow paths, and
 * `insertFromBytes` checks that the two agree.
 */
const P0 = 0x9e3779b1 | 0;
const P1 = 0x85ebca77 | 0;
const P2 = 0xc2b2ae3d | 0;
const P3 = 0x01000193;

/** Scratch for `keyOf`: a 100-byte name needs 26 words; grown for longer ones. */
let scratch = new Int32Array(64);

/** Build the words of `src[off, off+len)` into `scratch`; returns the hash. */
function keyOf(src: Uint8Array, off: number, len: number): number {
  const n = Math.max(3, (len >> 2) + 1);
  if (scratch.length < n) scratch = new Int32Array(n * 2);
  for (let m = 0; m < n; m++) {
    let w = 0;
    const take = Math.min(4, Math.max(0, len - m * 4));
    for (let b = 0; b < take; b++) w |= src[off + m * 4 + b] << (b << 3);
    scratch[m] = w;
  }
  let h = Math.imul(scratch[0], P0) ^ Math.imul(scratch[1], P1) ^ Math.imul(scratch[2], P2);
  for (let m = 3; m < n; m++) {
    h = Math.imul(h ^ scratch[m], P3);
    h ^= h >>> 15;
  }
  return h ^ (h >>> 15);
}

/** Double the slot count and reinsert every record (kept at most a quarter full: fewer probes). */
function grow(acc: StatsAcc): void {
  const oldTab = acc.tab;
  const oldNum = acc.num;
  const slots = (acc.mask + 1) * 2;
  const mask = slots - 1;
  const { tab, num } = createTable(slots);
  for (let s = 0; s <= acc.mask; s++) {
    const r = s * REC;
    if (oldTab[r + LEN] === 0) continue;
    let t = oldTab[r + H] & mask;
    while (tab[t * REC + LEN] !== 0) t = (t + 1) & mask;
    tab.set(oldTab.subarray(r, r + REC), t * REC);
    num[t * 8 + SUM] = oldNum[s * 8 + SUM];
    num[t * 8 + COUNT] = oldNum[s * 8 + COUNT];
  }
  acc.tab = tab;
  acc.num = num;
  acc.mask = mask;
}

/**
 * Slot of a name given as words `src[off …]` (n words, see StatsAcc), added
 * with empty stats (min/max at the extremes, sum and count 0) if absent.
 */
function slotOf(acc: StatsAcc, h: number, len: number, src: Int32Array, off: number): number {
  const n = Math.max(3, (len >> 2) + 1);
  let { tab, mask, words } = acc;
  let s = h & mask;
  for (;;) {
    const r = s * REC;
    const kl = tab[r + LEN];
    if (kl === 0) break;
    if (
      tab[r + H] === h &&
      kl === len + 1 &&
      tab[r + W0] === src[off] &&
      tab[r + W1] === src[off + 1] &&
      tab[r + W2] === src[off + 2]
    ) {
      const k0 = tab[r + OFF] - 3;
      let m = 3;
      while (m < n && words[k0 + m] === src[off + m]) m++;
      if (m === n) return s;
    }
    s = (s + 1) & mask;
  }
  // Absent: make room, then claim an empty slot.
  if ((acc.size + 1) * 4 > mask + 1) {
    grow(acc);
    tab = acc.tab;
    mask = acc.mask;
    s = h & mask;
    while (tab[s * REC + LEN] !== 0) s = (s + 1) & mask;
  }
  let at = 0;
  if (n > 3) {
    at = acc.wordsUsed;
    if (at + n - 3 > words.length) {
      let cap = words.length * 2;
      while (at + n - 3 > cap) cap *= 2;
      const bigger = new Int32Array(cap);
      bigger.set(words.subarray(0, at));
      acc.words = words = bigger;
    }
    for (let m = 3; m < n; m++) words[at + m - 3] = src[off + m];
    acc.wordsUsed = at + n - 3;
  }
  const r = s * REC;
  tab[r + H] = h;
  tab[r + LEN] = len + 1;
  tab[r + MIN] = 0x7fffffff;
  tab[r + MAX] = -0x80000000;
  tab[r + W0] = src[off];
  tab[r + W1] = src[off + 1];
  tab[r + W2] = src[off + 2];
  tab[r + OFF] = at;
  acc.size++;
  return s;
}

/** Slot for the name at `bytes[off, off+len)`, added if absent (slow paths). */
function slotFromBytes(acc: StatsAcc, bytes: Uint8Array, off: number, len: number): number {
  return slotOf(acc, keyOf(bytes, off, len), len, scratch, 0);
}

/** Record one value in a slot. */
function update(acc: StatsAcc, s: number, v: number): void {
  const r = s * REC;
  if (v < acc.tab[r + MIN]) acc.tab[r + MIN] = v;
  if (v > acc.tab[r + MAX]) acc.tab[r + MAX] = v;
  acc.num[s * 8 + SUM] += v;
  acc.num[s * 8 + COUNT] += 1;
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

/** End of the line parsed by `parseTail` (position after its terminator). */
let tailEnd = 0;

/** Value parser with every bounds check, for the slow path. Returns tenths, or NaN if malformed. */
function parseTail(bytes: Uint8Array, j: number, len: number): number {
  let end = j;
  while (end < len && bytes[end] !== LF) end++;
  tailEnd = end < len ? end + 1 : end;
  if (end > j && bytes[end - 1] === CR) end--;
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
 * One non-empty line, byte by byte, with every check: used near the end of a
 * slice (where the fast path's word reads would overrun) and for very long
 * names. Returns the position after the line.
 */
function slowLine(acc: StatsAcc, bytes: Uint8Array, lineStart: number, sep: number, info: ChunkInfo | undefined): number {
  const len = bytes.length;
  let i = lineStart;
  while (i < len && bytes[i] !== sep) {
    if (bytes[i] === LF) throw badRecord(bytes, lineStart, info, sep, 'no separator');
    i++;
  }
  if (i === len) throw badRecord(bytes, lineStart, info, sep, 'no separator');
  const v = parseTail(bytes, i + 1, len);
  if (v !== v) throw badRecord(bytes, lineStart, info, sep, 'bad value');
  update(acc, slotFromBytes(acc, bytes, lineStart, i - lineStart), v);
  return tailEnd;
}

/**
 * Add a name met by the fast path. The fast path does not look for newlines
 * inside names (a "name" spanning lines can never equal a stored one), so
 * this is where a line without separator is caught.
 */
function insertFromBytes(
  acc: StatsAcc,
  bytes: Uint8Array,
  lineStart: number,
  nameLen: number,
  h: number,
  info: ChunkInfo | undefined,
  sep: number,
): number {
  if (bytes.subarray(lineStart, lineStart + nameLen).includes(LF)) {
    throw badRecord(bytes, lineStart, info, sep, 'no separator');
  }
  if (keyOf(bytes, lineStart, nameLen) !== h) throw new Error('stats: internal error: hash mismatch');
  return slotOf(acc, h, nameLen, scratch, 0);
}

/** Longest name the fast path scans before handing the line to `slowLine`. */
const FAST_NAME_MAX = 128;

function init(params?: unknown): StatsAcc {
  return createAcc(sepOf(params));
}

/** Whether this thread has decided on `warmUp` yet (see `WARM_UP_MIN`). */
let warmedUp = false;

/**
 * `warmUp` runs before the first `map` call of a thread if that slice is at
 * least this long. It costs ~15 ms and makes TurboFan compile the loop
 * sooner, which only pays on a long scan: on a 3 MB file it added ~0.2 s of
 * CPU (compiles that would not have happened) and 40-90 ms of wall time,
 * while it saved 0.3-0.6 s on 1.38 GB. Auto chunks are 2 MiB or more from
 * 128 MiB of input.
 */
const WARM_UP_MIN = 2 << 20;

function map(acc: StatsAcc, bytes: Uint8Array, info: ChunkInfo): StatsAcc {
  if (!warmedUp) {
    warmedUp = true;
    if (bytes.length >= WARM_UP_MIN) warmUp();
  }
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
  // Word reads (4 bytes) and the value's fixed-pattern reads (up to 7 bytes
  // past the separator) stay inside the slice while a word read starts at or
  // before `wordLimit`; a line's first three reads need 8 bytes more.
  const wordLimit = len - 12;
  const lineLimit = wordLimit - 8;

  let pos = 0;
  for (;;) {
    let tab = acc.tab;
    let num = acc.num;
    let mask = acc.mask;
    let words = acc.words;
    // What stopped the fast loop: 0 = near the end, 1 = a line for slowLine
    // at `lineStart`, 2 = a new name (hash `h`, value `v`) at `lineStart`.
    // The fast loop makes no calls that return into it, so V8 can keep its
    // state in registers.
    let stop = 0;
    let lineStart = 0;
    let nameLen = 0;
    let h = 0;
    let v = 0;
    while (pos <= lineLimit) {
      lineStart = pos;
      // Name: the first three words, SWAR zero-byte test on word ^ sepWord
      // (the lowest flagged byte is exact); m0-m2 are the words zero-padded
      // after the separator, as stored.
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
      let m0 = x0;
      let m1 = 0;
      let m2 = 0;
      let y = x0 ^ sepWord;
      let t = (y - 0x01010101) & ~y & 0x80808080;
      let sepAt: number;
      let full = 0;
      let tail = 0;
      if (t !== 0) {
        const b = t & -t;
        m0 = x0 & ((b >>> 7) - 1);
        sepAt = pos + ((31 - Math.clz32(b)) >>> 3);
        h = Math.imul(m0, P0);
      } else {
        const x1 = dv.getInt32(pos + 4, true);
        y = x1 ^ sepWord;
        t = (y - 0x01010101) & ~y & 0x80808080;
        if (t !== 0) {
          const b = t & -t;
          m1 = x1 & ((b >>> 7) - 1);
          sepAt = pos + 4 + ((31 - Math.clz32(b)) >>> 3);
          h = Math.imul(m0, P0) ^ Math.imul(m1, P1);
        } else {
          m1 = x1;
          const x2 = dv.getInt32(pos + 8, true);
          y = x2 ^ sepWord;
          t = (y - 0x01010101) & ~y & 0x80808080;
          if (t !== 0) {
            const b = t & -t;
            m2 = x2 & ((b >>> 7) - 1);
            sepAt = pos + 8 + ((31 - Math.clz32(b)) >>> 3);
            h = Math.imul(m0, P0) ^ Math.imul(m1, P1) ^ Math.imul(m2, P2);
          } else {
            // 12 bytes or more: hash further words as they come.
            m2 = x2;
            h = Math.imul(m0, P0) ^ Math.imul(m1, P1) ^ Math.imul(m2, P2);
            let i = pos + 12;
            let x = 0;
            while (i <= wordLimit && i - pos <= FAST_NAME_MAX) {
              x = dv.getInt32(i, true);
              y = x ^ sepWord;
              t = (y - 0x01010101) & ~y & 0x80808080;
              if (t !== 0) break;
              h = Math.imul(h ^ x, P3);
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
            h = Math.imul(h ^ tail, P3);
            h ^= h >>> 15;
            sepAt = i + ((31 - Math.clz32(b)) >>> 3);
          }
        }
      }
      h ^= h >>> 15;
      nameLen = sepAt - lineStart;

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

      // Find the slot: compare the hash, length and three words, and for
      // long names the remaining words.
      let s = h & mask;
      let r: number;
      for (;;) {
        r = s << 4; // s * REC; fields at r | FIELD
        const kl = tab[r | LEN];
        if (kl === 0) break;
        if (tab[r] === h && kl === nameLen + 1 && tab[r | W0] === m0 && tab[r | W1] === m1 && tab[r | W2] === m2) {
          if (full === 0) break;
          let w = tab[r | OFF];
          let a = lineStart + 12;
          while (a < full && words[w] === dv.getInt32(a, true)) {
            a += 4;
            w++;
          }
          if (a === full && words[w] === tail) break;
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

/** Words of a slot's name into `scratch` (for merge). */
function slotWords(acc: StatsAcc, s: number): number {
  const r = s * REC;
  const len = acc.tab[r + LEN] - 1;
  const n = Math.max(3, (len >> 2) + 1);
  if (scratch.length < n) scratch = new Int32Array(n * 2);
  scratch[0] = acc.tab[r + W0];
  scratch[1] = acc.tab[r + W1];
  scratch[2] = acc.tab[r + W2];
  const off = acc.tab[r + OFF];
  for (let m = 3; m < n; m++) scratch[m] = acc.words[off + m - 3];
  return len;
}

function merge(a: StatsAcc, b: StatsAcc): StatsAcc {
  const bt = b.tab;
  const bn = b.num;
  for (let f = 0; f <= b.mask; f++) {
    if (bt[f * REC + LEN] === 0) continue;
    const len = slotWords(b, f);
    const s = slotOf(a, bt[f * REC + H], len, scratch, 0);
    const r = s * REC;
    if (bt[f * REC + MIN] < a.tab[r + MIN]) a.tab[r + MIN] = bt[f * REC + MIN];
    if (bt[f * REC + MAX] > a.tab[r + MAX]) a.tab[r + MAX] = bt[f * REC + MAX];
    a.num[s * 8 + SUM] += bn[f * 8 + SUM];
    a.num[s * 8 + COUNT] += bn[f * 8 + COUNT];
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

function compareBytes(x: Uint8Array, y: Uint8Array): number {
  const n = Math.min(x.length, y.length);
  for (let k = 0; k < n; k++) {
    const d = x[k] - y[k];
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function finish(acc: StatsAcc): StatsRow[] {
  const found: Array<{ key: Uint8Array; s: number }> = [];
  for (let s = 0; s <= acc.mask; s++) {
    if (acc.tab[s * REC + LEN] === 0) continue;
    const len = slotWords(acc, s);
    const n = Math.max(3, (len >> 2) + 1);
    const key = new Uint8Array(n * 4);
    const dv = new DataView(key.buffer);
    for (let m = 0; m < n; m++) dv.setInt32(m * 4, scratch[m], true);
    found.push({ key: key.subarray(0, len), s });
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
 * Run `mapSlice` over a small made-up input that takes every path (names of
 * every length up to past FAST_NAME_MAX, ASCII or not, values of each
 * pattern and sign, LF and CRLF, empty lines, new and known names, probing
 * past taken slots, table and word-pool growth, the tail loop; ~15 ms), so
 * that every branch has type feedback before TurboFan compiles the loop.
 *
 * Without it, each worker's loop deoptimized on paths first met in optimized
 * code (a compare, a call) and ran unoptimized while TurboFan compiled it
 * again (80-170 ms a compile, on the cores the workers use). With it and the
 * worker's early detach (workers/map-worker.ts), `pagewise stats` on the
 * 1e8-row file went from 3.17 s to 2.65 s (median of 7, alternating).
 *
 * The input goes in short slices of whole lines: V8 allocates a function's
 * feedback vector only after it has run a while, so every path, the entry
 * included, must be seen early and often.
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
  // Fields that `grow` and new names reassign: reassign them before any
  // compile, or a compile that sees them unchanged is aborted when they do.
  const spare = createAcc(SEMICOLON, 8, 8);
  grow(spare);
  spare.words = new Int32Array(16);
  spare.wordsUsed = 1;
  spare.size = 1;
  const buf = Buffer.from(lines.join(''));
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  for (let pass = 0; pass < 3; pass++) {
    // A small table and word pool, so that 49 names grow both and probe past taken slots.
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
