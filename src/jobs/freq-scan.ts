/**
 * The hot loop of `freq`, its accumulator and the warm-up that compiles it.
 *
 * `scanSlice` takes words in batches: it reads a word's first 16 bytes as
 * four Int32s, finds its end with a SWAR test and hashes it, for a batch of
 * words; then touches their home slots, whose cache misses then overlap
 * instead of costing a memory latency per word; then counts each one at its
 * home slot or the next (other slots, new words and long words' pooled bytes
 * are calls on rare paths). docs/performance.md, "Hot loops", has the figures.
 */
import * as table from './table.js';
import { addKey, hashWords, newTable, wordsOf, warmUpOnce, type KeyTable } from './table.js';

// Module-level copies of imported constants: TurboFan folds this module's
// own consts into the loop, but loads an imported binding from its cell at
// every use.
const { F1, HASH, INLINE, LEN, LONG, P, P0, P1, P2, P3, W0, W1, W2, W3 } = table;

/**
 * The accumulator: plain fields and typed arrays only, so that a structured
 * clone copies it whole. Slot `s` is Int32 `tab[8s … 8s+7]`: the key as in
 * table.ts, and its count as `tab[8s+HIGH] * 2^30 + tab[8s+LOW]` (LOW below
 * 2^30), so that counting touches only `tab`.
 */
export type FreqAcc = KeyTable;

/** Int32s per slot (32 bytes). */
export const REC = 8;
export const LOW = 2;
export const HIGH = 3;
const CARRY = 1 << 30;
/** Tables are kept at most half full. */
export const LOAD_SHIFT = 1;
const INITIAL_SLOTS = 1 << 12;
const INITIAL_POOL = 1 << 14;

/** 1 for the six ASCII white-space bytes wc splits words on. */
export const SPACE = new Uint8Array(256);
for (const b of [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]) SPACE[b] = 1;

/** Whether byte `c` is one of the six (arithmetic: a table lookup costs the hot loop an array check). */
const isSpace = (c: number): boolean => c === 0x20 || (c - 9) >>> 0 < 5;

/** SWAR: `(x - BELOW) & ~x & SIGN` flags the bytes of x below 0x21 (the lowest flag is exact). */
const BELOW = 0x21212121;
const SIGN = 0x80808080 | 0;
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

export function createAcc(slots = INITIAL_SLOTS, poolWords = INITIAL_POOL): FreqAcc {
  return { size: 0, mask: slots - 1, tab: newTable(slots, REC), pool: new Int32Array(poolWords), poolUsed: 0 };
}

/** The count of the slot at Int32 index `r`. */
export function countAt(tab: Int32Array, r: number): number {
  return tab[r + HIGH] * CARRY + tab[r + LOW];
}

/** Add `n` to the count of the slot at Int32 index `r`. */
export function addCount(tab: Int32Array, r: number, n: number): void {
  const c = countAt(tab, r) + n;
  tab[r + HIGH] = Math.floor(c / CARRY);
  tab[r + LOW] = c % CARRY;
}

/** Words per batch (see the top of this file). */
const BATCH = 64;
const batchStart = new Int32Array(BATCH);
const batchLen = new Int32Array(BATCH);
const batchHash = new Int32Array(BATCH);
/** W0-W3 of each word of the batch, as stored (W3 with the length of a short word). */
const batchWords = new Int32Array(BATCH * 4);
/** Keeps the touch loads from being optimized away. */
let sink = 0;

/**
 * The word starting at `bytes[start]` (not white space), byte by byte: its
 * end, hash and stored words into the batch arrays at `m`; returns its end.
 * For the places the word reads cannot go: near the end of the slice, and
 * words with control bytes (below 0x21 but not white space).
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
  batchWords[q + 3] = len <= INLINE ? table.shortW3(w[3], len) : w[3];
  batchStart[m] = start;
  batchLen[m] = len;
  batchHash[m] = hashWords(w, len);
  return end;
}

/** Whether the pooled words at `pool[o…]` are bytes 12… of the word `bytes[start, start+len)`. */
function sameTail(pool: Int32Array, o: number, bytes: Uint8Array, dv: DataView, start: number, len: number): boolean {
  const end = start + len;
  for (let a = start + 12; a < end; a += 4, o++) {
    let x: number;
    if (a + 4 <= bytes.length) {
      x = dv.getInt32(a, true);
      if (end - a < 4) x &= (1 << ((end - a) << 3)) - 1;
    } else {
      x = 0;
      for (let k = 0; a + k < end; k++) x |= bytes[a + k] << (k << 3);
    }
    if (pool[o] !== x) return false;
  }
  return true;
}

/**
 * The slot of batch word `k`, which is not at its home slot or the next one
 * (or is long): found further on, or added with count 0.
 */
function slotOfSlow(acc: FreqAcc, bytes: Uint8Array, dv: DataView, k: number): number {
  const h = batchHash[k];
  const len = batchLen[k];
  const start = batchStart[k];
  const q = k << 2;
  const w0 = batchWords[q];
  const w1 = batchWords[q + 1];
  const w2 = batchWords[q + 2];
  const w3 = batchWords[q + 3];
  const { tab, mask, pool } = acc;
  for (let s = h & mask; ; s = (s + 1) & mask) {
    const r = s << 3;
    const kl = tab[r + LEN];
    if (kl === 0) break;
    if (kl === len + 1 && tab[r + HASH] === h && tab[r + W0] === w0 && tab[r + W1] === w1 && tab[r + W2] === w2) {
      if (len <= INLINE ? tab[r + W3] === w3 : sameTail(pool, tab[r + W3] & ~LONG, bytes, dv, start, len)) return s;
    }
  }
  return addKey(acc, REC, LOAD_SHIFT, h, len, w0, w1, w2, w3 & 0xffffff, bytes, start);
}

/** Count the words of `bytes` (`dv` views the same bytes; offsets are Int32). */
export function scanSlice(acc: FreqAcc, bytes: Uint8Array, dv: DataView): FreqAcc {
  const n = bytes.length;
  const masks = MASK;
  const bs = batchStart;
  const bl = batchLen;
  const bh = batchHash;
  const bw = batchWords;
  let tab = acc.tab;
  let pool = acc.pool;
  let mask = acc.mask;
  let touched = 0;
  let i = 0;
  while (i < n) {
    // 1. Scan up to BATCH words. A word's first 16 bytes are read as four
    // Int32s at once; it ends at the first byte below 0x21, which must be
    // white space (else, and near the slice's end: slowWord). Longer words
    // are hashed on, four bytes at a time.
    let m = 0;
    while (m < BATCH) {
      while (i < n && isSpace(bytes[i])) i++;
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
          ((Math.imul(((w0 - BELOW) & ~w0 & SIGN) >>> 7, GATHER) >>> 21) & 15) |
          ((Math.imul(((w1 - BELOW) & ~w1 & SIGN) >>> 7, GATHER) >>> 17) & 0xf0) |
          ((Math.imul(((w2 - BELOW) & ~w2 & SIGN) >>> 7, GATHER) >>> 13) & 0xf00) |
          ((Math.imul(((w3 - BELOW) & ~w3 & SIGN) >>> 7, GATHER) >>> 9) & 0xf000);
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
          // 16 bytes or more: hash further words as they come.
          h = Math.imul(w0, P0) ^ Math.imul(w1, P1) ^ Math.imul(w2, P2) ^ Math.imul(w3, P3);
          for (let p = start + 16; p + 4 <= n; p += 4) {
            const x = dv.getInt32(p, true);
            const t = (x - BELOW) & ~x & SIGN;
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
          }
          len = end - start;
        }
        if (end >= 0 && isSpace(bytes[end])) {
          h ^= len;
          h ^= h >>> 15;
          h = Math.imul(h, F1);
          h ^= h >>> 13;
          const q = m << 2;
          bw[q] = w0;
          bw[q + 1] = w1;
          bw[q + 2] = w2;
          bw[q + 3] = len <= INLINE ? w3 | ((len + 1) << 24) : w3;
          bs[m] = start;
          bl[m] = len;
          bh[m] = h;
          // The byte at `end` is white space: the next word starts after it at the earliest.
          end++;
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
    for (let k = 0; k < m; k++) touched ^= tab[((bh[k] & mask) << 3) | W3];
    for (let k = 0; k < m; k++) {
      const r = (bh[k] & mask) << 3;
      if (bl[k] > INLINE && tab[r + LEN] > INLINE + 1) touched ^= pool[tab[r + W3] & ~LONG];
    }
    // 4. Count each word at its home slot or the next: for a short word, its
    // four stored words hold its length too, so equal words are the word.
    for (let k = 0; k < m; k++) {
      const q = k << 2;
      const w0 = bw[q];
      const w1 = bw[q + 1];
      const w2 = bw[q + 2];
      const w3 = bw[q + 3];
      const len = bl[k];
      let s = bh[k] & mask;
      let r = s << 3;
      let miss = (tab[r | W0] ^ w0) | (tab[r | W1] ^ w1) | (tab[r | W2] ^ w2);
      if (len <= INLINE) {
        miss |= tab[r | W3] ^ w3;
        if (miss !== 0) {
          s = (s + 1) & mask;
          r = s << 3;
          miss = (tab[r | W0] ^ w0) | (tab[r | W1] ^ w1) | (tab[r | W2] ^ w2) | (tab[r | W3] ^ w3);
        }
      } else if (miss === 0 && tab[r | LEN] === len + 1 && tab[r | HASH] === bh[k]) {
        // A long word at its home slot: its bytes past 12 are in the pool.
        miss = sameTail(pool, tab[r | W3] & ~LONG, bytes, dv, bs[k], len) ? 0 : 1;
      } else {
        miss = 1;
      }
      if (miss !== 0) {
        s = slotOfSlow(acc, bytes, dv, k);
        tab = acc.tab;
        mask = acc.mask;
        pool = acc.pool;
        r = s << 3;
      }
      const c = tab[r | LOW] + 1;
      if (c === CARRY) {
        tab[r | HIGH]++;
        tab[r | LOW] = 0;
      } else {
        tab[r | LOW] = c;
      }
    }
  }
  sink ^= touched;
  return acc;
}

/**
 * Every path of `scanSlice` over a small made-up input (all six separators,
 * words of every length, ASCII or not, control bytes, words running into
 * the end of the slice, new and known words, other slots, table and pool
 * growth), in short slices, so that all of it has type feedback before
 * TurboFan compiles the loop and no rare path deoptimizes it later.
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
      scanSlice(acc, bytes.subarray(from, to), new DataView(text.buffer, text.byteOffset + from, to - from));
      from = to;
    }
  }
  const acc = createAcc(16, 16);
  scanSlice(acc, bytes, dv);
  scanSlice(acc, bytes, dv);
  sink = 0;
}

/** Warm up before the first slice whatever its size: this loop is slow enough per byte that it pays (docs/performance.md). */
export const maybeWarmUp = warmUpOnce(0, warmUp);

