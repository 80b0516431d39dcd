/**
 * The `freq` job: word frequencies, words as `wc` counts them (maximal runs of
 * bytes other than space, \t, \n, \v, \f, \r). params `{ top?: number }`.
 *
 * Written for throughput, like `stats`: `map` hashes each word while it scans
 * its bytes and finds it in an open-addressing table kept in typed arrays, so
 * no string is made and nothing is allocated per word. Words of up to 16
 * bytes live in their slot (one cache line holds the whole entry); longer
 * ones keep their bytes in a pool. Words are decoded as UTF-8 only for the K
 * winners in `finish`; ties are broken by the words' raw bytes.
 */
import type { Job } from '../types.js';
import * as table from './table.js';
import {
  addKey,
  compareKeys,
  findOrAdd,
  keyBytes,
  newTable,
  scratchWords,
  slotWords,
  warmUpOnce,
  wordsOf,
  hashWords,
  type KeyTable,
} from './table.js';

// Module-level copies of the layout and hash constants: TurboFan folds this
// module's own consts into the hot loop, but loads an imported binding from
// its cell at every use (a third more instructions per row).
const { F1, HASH, INLINE, LEN, LONG, P0, P1, P2, P3, W0, W1, W2, W3 } = table;

export interface FreqParams {
  top?: number;
}

export interface FreqRow {
  word: string;
  count: number;
}

/**
 * The accumulator: plain fields and typed arrays only, so that a structured
 * clone copies it whole. `tab` and `num` view one buffer (a clone keeps that;
 * `map`, `merge` and `finish` remake `num` if not).
 *
 * Slot `s` is Int32 `tab[8s … 8s+7]`, the key as in table.ts, with the count
 * as Float64 `num[4s+1]` (Int32s 2-3).
 */
export interface FreqAcc extends KeyTable {
  /** Float64 view of `tab`'s buffer: the counts. */
  num: Float64Array;
}

/** Int32s per slot (32 bytes). */
const REC = 8;
/** Tables are kept at most half full. */
const LOAD_SHIFT = 1;
const INITIAL_SLOTS = 1 << 12;
const INITIAL_POOL = 1 << 14;

/** 1 for the six ASCII white-space bytes wc splits words on. */
const SPACE = new Uint8Array(256);
for (const b of [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]) SPACE[b] = 1;

/** SWAR: `(x - LOW) & ~x & HIGH` flags the bytes of x below 0x21 (the lowest flag is exact). */
const LOW = 0x21212121;
const HIGH = 0x80808080 | 0;
/** `imul(flags >>> 7, GATHER) >>> 21 & 15`: the four byte flags of a word as 4 bits. */
const GATHER = 0x204081;

/**
 * `MASK[r & 31]` keeps the first `r` bytes of a little-endian word: all for
 * 4 <= r <= 16, none for r <= 0 (negative r lands on 17…31).
 */
const MASK = new Int32Array(32);
MASK[1] = 0xff;
MASK[2] = 0xffff;
MASK[3] = 0xffffff;
for (let r = 4; r <= 16; r++) MASK[r] = -1;

function countsOf(tab: Int32Array): Float64Array {
  return new Float64Array(tab.buffer, tab.byteOffset, tab.length >> 1);
}

function createAcc(slots = INITIAL_SLOTS, poolWords = INITIAL_POOL): FreqAcc {
  const tab = newTable(slots, REC);
  return { size: 0, mask: slots - 1, tab, num: countsOf(tab), pool: new Int32Array(poolWords), poolUsed: 0 };
}

/** Remake `num` if it is not a view of `tab`'s buffer (a copy that did not keep them shared). */
function checkViews(acc: FreqAcc): void {
  const num = acc.num as Float64Array | undefined;
  if (num === undefined || num.buffer !== acc.tab.buffer || num.byteOffset !== acc.tab.byteOffset) {
    const counts = countsOf(acc.tab);
    if (num !== undefined && num.length === counts.length) counts.set(num);
    acc.num = counts;
  }
}

/** Add the absent word `bytes[off, off+len)` (hash `h`, first words `w0`-`w3`) with count 0; returns its slot. */
function insert(acc: FreqAcc, h: number, len: number, w0: number, w1: number, w2: number, w3: number, bytes: Uint8Array, off: number): number {
  const tab = acc.tab;
  const s = addKey(acc, REC, LOAD_SHIFT, h, len, w0, w1, w2, w3, bytes, off);
  if (acc.tab !== tab) acc.num = countsOf(acc.tab);
  return s;
}

/** Whether the pooled words at `pool[o…]` are bytes 12… of the word `bytes[start, start+len)`. */
function sameTail(pool: Int32Array, o: number, bytes: Uint8Array, dv: DataView, start: number, len: number): boolean {
  const end = start + len;
  let a = start + 12;
  for (; a + 4 <= end; a += 4, o++) if (pool[o] !== dv.getInt32(a, true)) return false;
  if (a === end) return true;
  let x = 0;
  for (let k = 0; a + k < end; k++) x |= bytes[a + k] << (k << 3);
  return pool[o] === x;
}

function init(): FreqAcc {
  return createAcc();
}

/**
 * Words per batch. `map` scans a batch of words (hashing them and reading
 * their first 16 bytes as words), then touches their home slots, then the
 * pooled bytes of long ones, then counts them. The touch loads do not depend
 * on each other, so their cache misses overlap instead of costing a full
 * memory latency per word.
 */
const BATCH = 64;
const batchStart = new Int32Array(BATCH);
const batchLen = new Int32Array(BATCH);
const batchHash = new Int32Array(BATCH);
const batchWords = new Int32Array(BATCH * 4);
/** Keeps the touch loads from being optimized away. */
let sink = 0;

/** Largest slice `mapSlice` takes (its offsets are Int32). */
const MAX_SLICE = 0x7fffffff;

/** Warm up before the first slice whatever its size: this loop is slow enough per byte that it pays (docs/performance.md). */
const maybeWarmUp = warmUpOnce(0, () => warmUp());

function map(acc: FreqAcc, bytes: Uint8Array): FreqAcc {
  maybeWarmUp(bytes.length);
  checkViews(acc);
  if (bytes.length <= MAX_SLICE) return mapSlice(acc, bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.length));
  // Beyond Int32 offsets (the engine never makes such views): cut at white space.
  let from = 0;
  while (from < bytes.length) {
    let to = Math.min(bytes.length, from + MAX_SLICE);
    if (to < bytes.length) {
      let cut = to;
      while (cut > from && SPACE[bytes[cut - 1]] === 0) cut--;
      if (cut === from) throw new RangeError('freq: a word longer than 2 GiB');
      to = cut;
    }
    const slice = bytes.subarray(from, to);
    mapSlice(acc, slice, new DataView(slice.buffer, slice.byteOffset, slice.length));
    from = to;
  }
  return acc;
}

/**
 * The word starting at `bytes[start]` (not white space), byte by byte: its
 * end, hash and stored words into the batch arrays at `m`; returns its end.
 * For the places `mapSlice`'s word reads cannot go: near the end of the
 * slice, and words with control bytes (below 0x21 but not white space).
 */
function slowWord(bytes: Uint8Array, start: number, m: number): number {
  const n = bytes.length;
  let end = start;
  while (end < n && SPACE[bytes[end]] === 0) end++;
  const len = end - start;
  const w = wordsOf(bytes, start, len);
  const q = m << 2;
  batchWords[q] = w[0];
  batchWords[q + 1] = w[1];
  batchWords[q + 2] = w[2];
  batchWords[q + 3] = w[3];
  batchStart[m] = start;
  batchLen[m] = len;
  batchHash[m] = hashWords(w, len);
  return end;
}

/** Count the words of `bytes` (`dv` views the same bytes). */
function mapSlice(acc: FreqAcc, bytes: Uint8Array, dv: DataView): FreqAcc {
  const n = bytes.length;
  const space = SPACE;
  const masks = MASK;
  const bs = batchStart;
  const bl = batchLen;
  const bh = batchHash;
  const bw = batchWords;
  let tab = acc.tab;
  let num = acc.num;
  let pool = acc.pool;
  let mask = acc.mask;
  let touched = 0;
  let i = 0;
  while (i < n) {
    // 1. Scan up to BATCH words. A word's first 16 bytes are read as four
    // Int32s at once; it ends at the first byte below 0x21, which must be
    // white space (else, and near the slice's end: slowWord). Words of more
    // than 16 bytes are hashed on, four bytes at a time.
    let m = 0;
    while (m < BATCH) {
      while (i < n && space[bytes[i]] !== 0) i++;
      if (i >= n) break;
      const start = i;
      let end = -1;
      if (start + 16 <= n) {
        let w0 = dv.getInt32(start, true);
        let w1 = dv.getInt32(start + 4, true);
        let w2 = dv.getInt32(start + 8, true);
        let w3 = dv.getInt32(start + 12, true);
        // Which of the 16 bytes are below 0x21, as bits 0-15.
        const flags =
          ((Math.imul(((w0 - LOW) & ~w0 & HIGH) >>> 7, GATHER) >>> 21) & 15) |
          ((Math.imul(((w1 - LOW) & ~w1 & HIGH) >>> 7, GATHER) >>> 17) & 0xf0) |
          ((Math.imul(((w2 - LOW) & ~w2 & HIGH) >>> 7, GATHER) >>> 13) & 0xf00) |
          ((Math.imul(((w3 - LOW) & ~w3 & HIGH) >>> 7, GATHER) >>> 9) & 0xf000);
        let len = 0;
        let h = 0;
        if (flags !== 0) {
          len = 31 - Math.clz32(flags & -flags);
          w0 &= masks[len & 31];
          w1 &= masks[(len - 4) & 31];
          w2 &= masks[(len - 8) & 31];
          w3 &= masks[(len - 12) & 31];
          h = Math.imul(w0, P0) ^ Math.imul(w1, P1) ^ Math.imul(w2, P2) ^ Math.imul(w3, P3);
          end = start + len;
        } else {
          // 16 bytes or more (the hash covers the first 16).
          h = Math.imul(w0, P0) ^ Math.imul(w1, P1) ^ Math.imul(w2, P2) ^ Math.imul(w3, P3);
          let p = start + 16;
          while (p + 4 <= n) {
            const x = dv.getInt32(p, true);
            const t = (x - LOW) & ~x & HIGH;
            if (t !== 0) {
              end = p + ((31 - Math.clz32(t & -t)) >>> 3);
              break;
            }
            p += 4;
          }
          len = end - start;
        }
        if (end >= 0 && space[bytes[end]] !== 0) {
          h ^= len;
          h ^= h >>> 15;
          h = Math.imul(h, F1);
          h ^= h >>> 13;
          const q = m << 2;
          bw[q] = w0;
          bw[q + 1] = w1;
          bw[q + 2] = w2;
          bw[q + 3] = w3;
          bs[m] = start;
          bl[m] = len;
          bh[m] = h;
        } else {
          // Ran into the slice's end, or a control byte: byte by byte.
          end = slowWord(bytes, start, m);
        }
      } else {
        end = slowWord(bytes, start, m);
      }
      m++;
      i = end;
    }
    // 2. Touch each word's home slot, 3. and a long word's pooled words.
    for (let k = 0; k < m; k++) touched ^= tab[((bh[k] & mask) << 3) + LEN];
    for (let k = 0; k < m; k++) {
      const r = (bh[k] & mask) << 3;
      if (bl[k] > INLINE && tab[r + LEN] > INLINE + 1) touched ^= pool[tab[r + W3] & ~LONG];
    }
    // 4. Count: find each slot by hash, length and words (and pooled words).
    for (let k = 0; k < m; k++) {
      const h = bh[k];
      const len = bl[k];
      const q = k << 2;
      const w0 = bw[q];
      const w1 = bw[q + 1];
      const w2 = bw[q + 2];
      const w3 = bw[q + 3];
      let s = h & mask;
      for (;;) {
        const r = s << 3;
        const kl = tab[r + LEN];
        if (kl === 0) {
          s = insert(acc, h, len, w0, w1, w2, w3, bytes, bs[k]);
          tab = acc.tab;
          num = acc.num;
          mask = acc.mask;
          pool = acc.pool;
          break;
        }
        if (tab[r] === h && kl === len + 1 && tab[r + W0] === w0 && tab[r + W1] === w1 && tab[r + W2] === w2) {
          if (len <= INLINE) {
            if (tab[r + W3] === (w3 | ((len + 1) << 24))) break;
          } else if (sameTail(pool, tab[r + W3] & ~LONG, bytes, dv, bs[k], len)) {
            break;
          }
        }
        s = (s + 1) & mask;
      }
      num[(s << 2) + 1] += 1;
    }
  }
  sink ^= touched;
  return acc;
}

/** Add every word of `b`, with its count, to `a`. */
function foldInto(a: FreqAcc, b: FreqAcc): void {
  const bt = b.tab;
  const bn = b.num;
  for (let r = 0; r < bt.length; r += REC) {
    if (bt[r + LEN] === 0) continue;
    const len = slotWords(bt, b.pool, r);
    const tab = a.tab;
    const s = findOrAdd(a, REC, LOAD_SHIFT, bt[r + HASH], len, scratchWords());
    if (a.tab !== tab) a.num = countsOf(a.tab);
    a.num[(s << 2) + 1] += bn[(r >> 1) + 1];
  }
}

/**
 * Fold `b` into `a`. When `b` has more words, `a` takes a copy of `b`'s
 * table and its own words are folded into that: the work follows the
 * smaller side.
 */
function merge(a: FreqAcc, b: FreqAcc): FreqAcc {
  checkViews(a);
  checkViews(b);
  if (a.size >= b.size) {
    foldInto(a, b);
    return a;
  }
  const own: FreqAcc = { size: a.size, mask: a.mask, tab: a.tab, num: a.num, pool: a.pool, poolUsed: a.poolUsed };
  a.size = b.size;
  a.mask = b.mask;
  a.tab = b.tab.slice();
  a.num = countsOf(a.tab);
  a.pool = b.pool.slice(0, b.poolUsed);
  a.poolUsed = b.poolUsed;
  foldInto(a, own);
  return a;
}

function topOf(params: unknown): number {
  const top = (params as FreqParams | undefined)?.top ?? 10;
  if (typeof top !== 'number' || Number.isNaN(top) || top < 0) {
    throw new RangeError(`freq: params.top must be a non-negative number, got ${String(top)}`);
  }
  return top;
}

/** Slot `rx` with count `cx` ranks below slot `ry` with `cy`: a lower count, or the same count and greater bytes. */
function worse(tab: Int32Array, pool: Int32Array, cx: number, rx: number, cy: number, ry: number): boolean {
  return cx < cy || (cx === cy && compareKeys(tab, pool, rx, ry) > 0);
}

/**
 * The best `hr.length` slots into a heap (the worst of them at the root):
 * slot Int32 indices in `hr`, their counts in `hc`. One pass over the table,
 * O(n log K). Returns how many were found.
 */
function selectTop(acc: FreqAcc, hr: Int32Array, hc: Float64Array): number {
  const { tab, num, pool } = acc;
  const k = hr.length;
  let size = 0;
  for (let r = 0; r < tab.length; r += REC) {
    if (tab[r + LEN] === 0) continue;
    const c = num[(r >> 1) + 1];
    let at: number;
    if (size < k) {
      // Sift up from a new leaf.
      at = size++;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!worse(tab, pool, c, r, hc[parent], hr[parent])) break;
        hc[at] = hc[parent];
        hr[at] = hr[parent];
        at = parent;
      }
    } else {
      if (!worse(tab, pool, hc[0], hr[0], c, r)) continue;
      // Replace the root and sift down.
      at = 0;
      for (;;) {
        let child = 2 * at + 1;
        if (child >= size) break;
        if (child + 1 < size && worse(tab, pool, hc[child + 1], hr[child + 1], hc[child], hr[child])) child++;
        if (!worse(tab, pool, hc[child], hr[child], c, r)) break;
        hc[at] = hc[child];
        hr[at] = hr[child];
        at = child;
      }
    }
    hc[at] = c;
    hr[at] = r;
  }
  return size;
}

/**
 * The K most frequent words, by count descending then bytes ascending: a
 * bounded heap selects them without sorting every word; only the K are
 * sorted and decoded.
 */
function finish(acc: FreqAcc, params?: unknown): FreqRow[] {
  checkViews(acc);
  const k = Math.min(acc.size, Math.floor(topOf(params)));
  if (k === 0) return [];
  const hr = new Int32Array(k);
  const hc = new Float64Array(k);
  const size = selectTop(acc, hr, hc);
  const { tab, pool } = acc;
  const order = Array.from({ length: size }, (_, j) => j);
  order.sort((x, y) => hc[y] - hc[x] || compareKeys(tab, pool, hr[x], hr[y]));
  // Buffer's decoder, not TextDecoder, which would drop a leading BOM.
  return order.map((j) => {
    const key = keyBytes(tab, pool, hr[j]);
    return { word: Buffer.from(key.buffer, key.byteOffset, key.length).toString('utf8'), count: hc[j] };
  });
}

/**
 * Run `mapSlice` over a small made-up input that takes every path (all six
 * separators, words of every length, ASCII or not, control bytes, words
 * running into the end of the slice, new and known words, probing past taken
 * slots, table and pool growth), so that every branch has type feedback
 * before TurboFan compiles the loop. Otherwise the first time a rare path
 * (say, growing the table) runs in optimized code it deoptimizes, and the
 * loop runs unoptimized until it is compiled again.
 *
 * The input goes in short slices: V8 allocates a function's feedback vector
 * only after it has run a while, and a compile may start (and, on a busy
 * machine, finish long after) while feedback is still partial, so every
 * path, including the entry, must be seen early and often.
 */
function warmUp(): void {
  const parts: string[] = [];
  const seps = [' ', '\t', '\n', '\v', '\f', '\r', '\r\n', '  ', ' \n'];
  for (let k = 0; k < 400; k++) {
    // Every length from 1 to 40 bytes, ASCII or not, new and seen before.
    const len = 1 + ((k * 7) % 40);
    const stem = `${k % 3 === 0 ? 'é' : 'w'}${k % 50}-`;
    const word = (stem + 'x'.repeat(len)).slice(0, len);
    parts.push(k % 23 === 0 ? 'a\u0001b' : word, seps[k % seps.length]);
  }
  parts.push('z'.repeat(100), '\n');
  const text = Buffer.from(parts.join(''));
  const bytes = new Uint8Array(text.buffer, text.byteOffset, text.length);
  const dv = new DataView(text.buffer, text.byteOffset, text.length);
  for (let pass = 0; pass < 2; pass++) {
    // Slices of 1 to ~90 bytes, cut anywhere (words run into their ends).
    const acc = createAcc(16, 16);
    let from = 0;
    for (let k = 0; from < bytes.length; k++) {
      const to = Math.min(bytes.length, from + 1 + ((k * 37 + pass * 11) % 90));
      mapSlice(acc, bytes.subarray(from, to), new DataView(text.buffer, text.byteOffset + from, to - from));
      from = to;
    }
  }
  const acc = createAcc(16, 16);
  mapSlice(acc, bytes, dv);
  mapSlice(acc, bytes, dv);
  sink = 0;
}

/**
 * Declared commutative: counts do not depend on order, which lets the engine
 * keep one accumulator per worker.
 */
const freq = {
  split: 'lines',
  commutative: true,
  init,
  map,
  merge,
  finish,
} satisfies Job<FreqAcc, FreqRow[]>;

export default freq;
