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

export interface FreqParams {
  top?: number;
}

export interface FreqRow {
  word: string;
  count: number;
}

/**
 * The accumulator: plain fields and typed arrays only, so `structuredClone`
 * (and `postMessage`) copy it whole; nothing relies on identity or
 * prototypes. `tab` and `num` are two views of one buffer (a structured clone
 * keeps them shared; `map`, `merge` and `finish` remake `num` if not).
 *
 * Slot `s` is 32 bytes, Int32 `tab[8s … 8s+7]`:
 *   `[hash, len (0 = empty), count (Float64 num[4s+1]), w0, w1, w2, w3]`
 * where w0… are the word's bytes as little-endian Int32s, zero-padded. A word
 * of more than 16 bytes keeps its first 12 bytes in w0-w2, and w3 is the
 * offset (unsigned) of all its bytes in `pool`.
 */
export interface FreqAcc {
  /** Number of distinct words. */
  size: number;
  /** Slot count - 1 (slot count is a power of two, at most half full). */
  mask: number;
  /** The slots (see above). */
  tab: Int32Array;
  /** Float64 view of `tab`'s buffer: the counts. */
  num: Float64Array;
  /** Bytes of the words longer than 16 bytes, back to back. */
  pool: Uint8Array;
  /** Bytes of `pool` in use. */
  poolUsed: number;
}

/** Int32 per slot, and fields. */
const REC = 8;
const H = 0;
const LEN = 1;
const W0 = 4;
const W1 = 5;
const W2 = 6;
const W3 = 7;
/** Longest word kept entirely in its slot. */
const INLINE = 16;
const INITIAL_SLOTS = 1 << 12;
const INITIAL_POOL = 1 << 16;
/** Largest pool (offsets are 32 bits). */
const MAX_POOL = 2 ** 32 - 1;
/** Largest slot count (Int32 indices of slot fields stay below 2^31). */
const MAX_SLOTS = 2 ** 27;

/** 1 for the six ASCII white-space bytes wc splits words on. */
const SPACE = new Uint8Array(256);
for (const b of [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]) SPACE[b] = 1;

/*
 * The hash of a word of `len` bytes, over its words W0, W1, … (its bytes as
 * little-endian Int32s, zero-padded; W0-W3 always, zero past the word):
 *   h = imul(W0, P0) ^ imul(W1, P1) ^ imul(W2, P2) ^ imul(W3, P3)
 *   for each further word W4, W5, … of a word over 16 bytes:
 *     h = imul(h ^ W, P); h ^= h >>> 15
 *   then murmur3's finalizer on h ^ len, so that the low bits that pick the
 *   slot depend on every bit.
 * `mapSlice` computes it inline and `slowWord` byte by byte; `merge` reuses
 * the hashes stored in the slots.
 */
const P0 = 0x9e3779b1 | 0;
const P1 = 0x85ebca77 | 0;
const P2 = 0xc2b2ae3d | 0;
const P3 = 0x27d4eb2f | 0;
const P = 0x01000193;
const F1 = 0x85ebca6b | 0;
const F2 = 0xc2b2ae35 | 0;
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

function createAcc(slots = INITIAL_SLOTS, poolBytes = INITIAL_POOL): FreqAcc {
  const tab = new Int32Array(slots * REC);
  return { size: 0, mask: slots - 1, tab, num: countsOf(tab), pool: new Uint8Array(poolBytes), poolUsed: 0 };
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

/** Double the slot count and reinsert every slot (kept at most half full). */
function grow(acc: FreqAcc): void {
  const old = acc.tab;
  const slots = (acc.mask + 1) * 2;
  if (slots > MAX_SLOTS) throw new RangeError('freq: too many distinct words for one table');
  const mask = slots - 1;
  const tab = new Int32Array(slots * REC);
  for (let r = 0; r < old.length; r += REC) {
    if (old[r + LEN] === 0) continue;
    let t = old[r + H] & mask;
    while (tab[t * REC + LEN] !== 0) t = (t + 1) & mask;
    tab.set(old.subarray(r, r + REC), t * REC);
  }
  acc.tab = tab;
  acc.num = countsOf(tab);
  acc.mask = mask;
}

/** Room for `need` more bytes in the pool. */
function reservePool(acc: FreqAcc, need: number): void {
  const used = acc.poolUsed;
  if (used + need <= acc.pool.length) return;
  if (used + need > MAX_POOL) throw new RangeError('freq: words longer than 16 bytes exceed 4 GiB in one table');
  let cap = Math.max(acc.pool.length * 2, 64);
  while (cap < used + need) cap *= 2;
  const bigger = new Uint8Array(Math.min(cap, MAX_POOL));
  bigger.set(acc.pool.subarray(0, used));
  acc.pool = bigger;
}

/**
 * Add an absent word with count 0; returns its slot. `w0`-`w3` as stored
 * (w3 ignored for long words); a long word's bytes are `src[off, off+len)`.
 * May replace `acc.tab`, `acc.num` and `acc.pool`.
 */
function insert(
  acc: FreqAcc,
  h: number,
  len: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
  src: Uint8Array,
  off: number,
): number {
  if ((acc.size + 1) * 2 > acc.mask + 1) grow(acc);
  if (len > INLINE) {
    reservePool(acc, len);
    const pool = acc.pool;
    const o = acc.poolUsed;
    for (let k = 0; k < len; k++) pool[o + k] = src[off + k];
    acc.poolUsed = o + len;
    w3 = o | 0;
  }
  const tab = acc.tab;
  const mask = acc.mask;
  let s = h & mask;
  while (tab[s * REC + LEN] !== 0) s = (s + 1) & mask;
  const r = s * REC;
  tab[r + H] = h;
  tab[r + LEN] = len;
  tab[r + 2] = 0;
  tab[r + 3] = 0;
  tab[r + W0] = w0;
  tab[r + W1] = w1;
  tab[r + W2] = w2;
  tab[r + W3] = w3;
  acc.size++;
  return s;
}

/** Slot of a word given as in `insert`, added with count 0 if absent (for merge). */
function slotOf(
  acc: FreqAcc,
  h: number,
  len: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
  src: Uint8Array,
  off: number,
): number {
  const tab = acc.tab;
  const pool = acc.pool;
  const mask = acc.mask;
  let s = h & mask;
  for (;;) {
    const r = s * REC;
    const kl = tab[r + LEN];
    if (kl === 0) return insert(acc, h, len, w0, w1, w2, w3, src, off);
    if (tab[r + H] === h && kl === len && tab[r + W0] === w0 && tab[r + W1] === w1 && tab[r + W2] === w2) {
      if (len <= INLINE) {
        if (tab[r + W3] === w3) return s;
      } else {
        const o = tab[r + W3] >>> 0;
        let j = 12;
        while (j < len && pool[o + j] === src[off + j]) j++;
        if (j === len) return s;
      }
    }
    s = (s + 1) & mask;
  }
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

/**
 * Whether this thread has run `warmUp`: before its first `map` call, so a
 * main thread that only merges (every mapped run) never pays for it. Unlike
 * stats, freq warms up whatever the slice: its loop is slow enough per byte
 * that the earlier compile paid even on a 3 MB file (0.63 s against 0.69 s
 * without warm-up).
 */
let warmedUp = false;

function map(acc: FreqAcc, bytes: Uint8Array): FreqAcc {
  if (!warmedUp) {
    warmedUp = true;
    warmUp();
  }
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
  const bw = batchWords;
  const q = m << 2;
  let h = 0;
  for (let j = 0; j * 4 < Math.max(len, 16); j++) {
    let x = 0;
    for (let k = 0; k < 4 && j * 4 + k < len; k++) x |= bytes[start + j * 4 + k] << (k << 3);
    if (j < 4) {
      bw[q + j] = x;
      if (j === 3) h = Math.imul(bw[q], P0) ^ Math.imul(bw[q + 1], P1) ^ Math.imul(bw[q + 2], P2) ^ Math.imul(x, P3);
    } else {
      h = Math.imul(h ^ x, P);
      h ^= h >>> 15;
    }
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, F1);
  h ^= h >>> 13;
  h = Math.imul(h, F2);
  h ^= h >>> 16;
  batchStart[m] = start;
  batchLen[m] = len;
  batchHash[m] = h;
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
          // 16 bytes or more.
          h = Math.imul(w0, P0) ^ Math.imul(w1, P1) ^ Math.imul(w2, P2) ^ Math.imul(w3, P3);
          let p = start + 16;
          while (p + 4 <= n) {
            const x = dv.getInt32(p, true);
            const t = (x - LOW) & ~x & HIGH;
            if (t !== 0) {
              const b = t & -t;
              end = p + ((31 - Math.clz32(b)) >>> 3);
              if (end > p) {
                h = Math.imul(h ^ (x & ((b >>> 7) - 1)), P);
                h ^= h >>> 15;
              }
              break;
            }
            h = Math.imul(h ^ x, P);
            h ^= h >>> 15;
            p += 4;
          }
          len = end - start;
        }
        if (end >= 0 && space[bytes[end]] !== 0) {
          h ^= len;
          h ^= h >>> 16;
          h = Math.imul(h, F1);
          h ^= h >>> 13;
          h = Math.imul(h, F2);
          h ^= h >>> 16;
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
    // 2. Touch each word's home slot, 3. and a long word's pooled bytes.
    for (let k = 0; k < m; k++) touched ^= tab[((bh[k] & mask) << 3) + LEN];
    for (let k = 0; k < m; k++) {
      const r = (bh[k] & mask) << 3;
      if (bl[k] > INLINE && tab[r + LEN] > INLINE) touched ^= pool[(tab[r + W3] >>> 0) + 12];
    }
    // 4. Count: find each slot by hash, length and words (and pooled bytes).
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
        if (tab[r] === h && kl === len && tab[r + W0] === w0 && tab[r + W1] === w1 && tab[r + W2] === w2) {
          if (len <= INLINE) {
            if (tab[r + W3] === w3) break;
          } else {
            const o = tab[r + W3] >>> 0;
            const start = bs[k];
            let j = 12;
            while (j < len && pool[o + j] === bytes[start + j]) j++;
            if (j === len) break;
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
  const bp = b.pool;
  for (let r = 0; r < bt.length; r += REC) {
    const len = bt[r + LEN];
    if (len === 0) continue;
    const s = slotOf(a, bt[r + H], len, bt[r + W0], bt[r + W1], bt[r + W2], bt[r + W3], bp, bt[r + W3] >>> 0);
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

/** Byte `k` of the word in the slot at Int32 index `r`. */
function byteAt(tab: Int32Array, pool: Uint8Array, r: number, k: number): number {
  if (tab[r + LEN] > INLINE) return pool[(tab[r + W3] >>> 0) + k];
  return (tab[r + W0 + (k >> 2)] >>> ((k & 3) << 3)) & 0xff;
}

/** Byte-wise comparison of the words in the slots at Int32 indices `x` and `y`. */
function compareWords(tab: Int32Array, pool: Uint8Array, x: number, y: number): number {
  const lx = tab[x + LEN];
  const ly = tab[y + LEN];
  const m = Math.min(lx, ly);
  for (let k = 0; k < m; k++) {
    const d = byteAt(tab, pool, x, k) - byteAt(tab, pool, y, k);
    if (d !== 0) return d;
  }
  return lx - ly;
}

/** The bytes of the word in the slot at Int32 index `r`. */
function wordBytes(tab: Int32Array, pool: Uint8Array, r: number): Buffer {
  const len = tab[r + LEN];
  if (len > INLINE) {
    const o = tab[r + W3] >>> 0;
    return Buffer.from(pool.buffer, pool.byteOffset + o, len);
  }
  const out = Buffer.alloc(len);
  for (let k = 0; k < len; k++) out[k] = byteAt(tab, pool, r, k);
  return out;
}

function topOf(params: unknown): number {
  const top = (params as FreqParams | undefined)?.top ?? 10;
  if (typeof top !== 'number' || Number.isNaN(top) || top < 0) {
    throw new RangeError(`freq: params.top must be a non-negative number, got ${String(top)}`);
  }
  return top;
}

/** Slot `rx` with count `cx` ranks below slot `ry` with `cy`: a lower count, or the same count and greater bytes. */
function worse(tab: Int32Array, pool: Uint8Array, cx: number, rx: number, cy: number, ry: number): boolean {
  return cx < cy || (cx === cy && compareWords(tab, pool, rx, ry) > 0);
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
  order.sort((x, y) => hc[y] - hc[x] || compareWords(tab, pool, hr[x], hr[y]));
  // Buffer's decoder, not TextDecoder, which would drop a leading BOM.
  return order.map((j) => ({ word: wordBytes(tab, pool, hr[j]).toString('utf8'), count: hc[j] }));
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
    const acc = createAcc(16, 64);
    let from = 0;
    for (let k = 0; from < bytes.length; k++) {
      const to = Math.min(bytes.length, from + 1 + ((k * 37 + pass * 11) % 90));
      mapSlice(acc, bytes.subarray(from, to), new DataView(text.buffer, text.byteOffset + from, to - from));
      from = to;
    }
  }
  const acc = createAcc(16, 64);
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
