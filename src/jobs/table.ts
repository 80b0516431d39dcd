/**
 * The cold half of the hash tables behind `stats` and `freq`: the key layout
 * and hash they share, allocation and growth, the pool for long keys, lookups
 * for the slow paths and `merge`, key bytes for `finish`, and the once-per-
 * thread warm-up. Each job keeps its hot loop in its own file, with this
 * hash and these compares written inline, so that the loop sees one
 * accumulator shape and calls nothing while a row is known.
 *
 * A table is an Int32Array of slots of `rec` Int32s (a power of two) with
 * linear probing. Every slot starts with its key:
 *
 *   [HASH, LEN (key length + 1; 0 = empty slot), job, job, W0, W1, W2, W3, job…]
 *
 * A key of up to INLINE (15) bytes is W0-W3: its bytes as little-endian
 * Int32s, zero-padded, with byte 15 (the top byte of W3) set to its length
 * + 1. Comparing W0-W3 then compares length and bytes at once, and never
 * matches an empty slot. A longer key keeps bytes 0-11 in W0-W2, and W3 is
 * LONG | the offset in `pool` of its bytes 12… as Int32 words (the last one
 * zero-padded); LONG is the sign bit, which no short key's W3 has.
 *
 * The hash of a key of `len` bytes, over its words K0, K1, … (its bytes as
 * little-endian Int32s, zero-padded, at least four):
 *   h = imul(K0, P0) ^ imul(K1, P1) ^ imul(K2, P2) ^ imul(K3, P3)
 *   for each further word K: h = imul(h ^ K, P); h ^= h >>> 15
 *   then finalHash(h, len), a short finalizer of h ^ len, so that the low
 *   bits that pick the slot depend on every bit. The hot loops compute it
 *   from their word reads.
 */

export const HASH = 0;
export const LEN = 1;
export const W0 = 4;
export const W1 = 5;
export const W2 = 6;
export const W3 = 7;
/** Longest key kept whole in its slot. */
export const INLINE = 15;
/** The mark of a long key's W3. */
export const LONG = 0x80000000 | 0;

/** W3 of a key of `len` <= INLINE bytes whose bytes 12-14 are the word `w3`. */
export function shortW3(w3: number, len: number): number {
  return w3 | ((len + 1) << 24);
}

export const P0 = 0x9e3779b1 | 0;
export const P1 = 0x85ebca77 | 0;
export const P2 = 0xc2b2ae3d | 0;
export const P3 = 0x27d4eb2f | 0;
export const P = 0x01000193;
export const F1 = 0x85ebca6b | 0;

/** Largest table or pool, in Int32s (a 4 GiB ArrayBuffer). */
const MAX_INTS = 2 ** 30;

/** The fields of an accumulator that hold its table (each job's accumulator has these and its own). */
export interface KeyTable {
  /** Keys stored. */
  size: number;
  /** Slot count - 1. */
  mask: number;
  tab: Int32Array;
  /** Words of keys longer than INLINE, from their byte 12 on, back to back. */
  pool: Int32Array;
  /** Words of `pool` in use. */
  poolUsed: number;
}

/** The last step of the hash (see the top of this file): the low bits of the result see all 32 of `h`. */
export function finalHash(h: number, len: number): number {
  h ^= len;
  h ^= h >>> 15;
  h = Math.imul(h, F1);
  return h ^ (h >>> 13);
}

/** Words of a key for the cold paths; grown for long keys, never shared between calls that overlap. */
let scratch = new Int32Array(64);

/** Words in the hash of a key of `len` bytes. */
function wordCount(len: number): number {
  return Math.max(4, (len + 3) >> 2);
}

/** The key `bytes[off, off+len)` as words (into a scratch array, valid until the next call). */
export function wordsOf(bytes: Uint8Array, off: number, len: number): Int32Array {
  const n = wordCount(len);
  if (scratch.length < n) scratch = new Int32Array(n * 2);
  const w = scratch;
  for (let m = 0; m < n; m++) {
    let x = 0;
    const take = Math.min(4, len - m * 4);
    for (let b = 0; b < take; b++) x |= bytes[off + m * 4 + b] << (b << 3);
    w[m] = x;
  }
  return w;
}

/** The hash of a key given as words (as `wordsOf` makes them). */
export function hashWords(w: Int32Array, len: number): number {
  let h = Math.imul(w[0], P0) ^ Math.imul(w[1], P1) ^ Math.imul(w[2], P2) ^ Math.imul(w[3], P3);
  const n = wordCount(len);
  for (let m = 4; m < n; m++) {
    h = Math.imul(h ^ w[m], P);
    h ^= h >>> 15;
  }
  return finalHash(h, len);
}

/** The hash of the key `bytes[off, off+len)`. */
export function hashBytes(bytes: Uint8Array, off: number, len: number): number {
  return hashWords(wordsOf(bytes, off, len), len);
}

/** Words of the key in the slot at Int32 index `r` (into the scratch array); returns its length. */
export function slotWords(tab: Int32Array, pool: Int32Array, r: number): number {
  const len = tab[r + LEN] - 1;
  const n = wordCount(len);
  if (scratch.length < n) scratch = new Int32Array(n * 2);
  const w = scratch;
  w[0] = tab[r + W0];
  w[1] = tab[r + W1];
  w[2] = tab[r + W2];
  if (len <= INLINE) w[3] = tab[r + W3] & 0xffffff;
  else for (let m = 3, o = tab[r + W3] & ~LONG; m < n; m++) w[m] = pool[o + m - 3];
  return len;
}

/** The scratch words `slotWords` and `wordsOf` fill, with room for at least `n`. */
export function scratchWords(n = 0): Int32Array {
  if (scratch.length < n) scratch = new Int32Array(n * 2);
  return scratch;
}

/** A zeroed table of `slots` slots of `rec` Int32s, on its own ArrayBuffer (jobs view it as Float64 too). */
export function newTable(slots: number, rec: number): Int32Array {
  if (slots * rec > MAX_INTS) throw new RangeError('pagewise: too many distinct keys for one table (4 GiB)');
  const tab = new Int32Array(new ArrayBuffer(slots * rec * 4));
  // Written once before any probe reads it: a read of a fresh page maps the shared zero page,
  // and the write after it is a copy-on-write fault whose TLB flush interrupts every other
  // thread of the process (docs/decisions.md, "Fresh tables").
  tab.fill(0);
  return tab;
}

/** Double the slot count and reinsert every slot (whole, job fields included) by its stored hash. */
export function grow(t: KeyTable, rec: number): void {
  const old = t.tab;
  const slots = (t.mask + 1) * 2;
  const mask = slots - 1;
  const tab = newTable(slots, rec);
  for (let r = 0; r < old.length; r += rec) {
    if (old[r + LEN] === 0) continue;
    let s = old[r + HASH] & mask;
    while (tab[s * rec + LEN] !== 0) s = (s + 1) & mask;
    for (let k = 0, q = s * rec; k < rec; k++) tab[q + k] = old[r + k];
  }
  t.tab = tab;
  t.mask = mask;
}

/** The slot of the key given as words `w` (as `wordsOf` makes them) with hash `h`, or -1 if absent. */
export function find(t: KeyTable, rec: number, h: number, len: number, w: Int32Array): number {
  const { tab, mask, pool } = t;
  const n = wordCount(len);
  for (let s = h & mask; ; s = (s + 1) & mask) {
    const r = s * rec;
    const kl = tab[r + LEN];
    if (kl === 0) return -1;
    if (tab[r + HASH] === h && kl === len + 1 && tab[r + W0] === w[0] && tab[r + W1] === w[1] && tab[r + W2] === w[2]) {
      if (len <= INLINE) {
        if (tab[r + W3] === shortW3(w[3], len)) return s;
      } else {
        const o = (tab[r + W3] & ~LONG) - 3;
        let m = 3;
        while (m < n && pool[o + m] === w[m]) m++;
        if (m === n) return s;
      }
    }
  }
}

/**
 * The slot of the key given as words `w` (as `wordsOf` makes them) with hash
 * `h`, added (job fields zero) if absent. May replace `t.tab` and `t.pool`.
 */
export function findOrAdd(t: KeyTable, rec: number, loadShift: number, h: number, len: number, w: Int32Array): number {
  const s = find(t, rec, h, len, w);
  if (s >= 0) return s;
  let w3 = shortW3(w[3], len);
  if (len > INLINE) {
    const n = wordCount(len);
    const o = reservePool(t, n - 3);
    t.pool.set(w.subarray(3, n), o);
    w3 = LONG | o;
  }
  return claimSlot(t, rec, loadShift, h, len, w[0], w[1], w[2], w3);
}

/**
 * Add a key known to be absent, found by a hot loop: its first words `w0`-`w3`
 * zero-padded, its bytes `bytes[off, off+len)`; returns its slot (job fields
 * zero). May replace `t.tab` and `t.pool`.
 */
export function addKey(
  t: KeyTable,
  rec: number,
  loadShift: number,
  h: number,
  len: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
  bytes: Uint8Array,
  off: number,
): number {
  if (len > INLINE) {
    const n = wordCount(len);
    const o = reservePool(t, n - 3);
    const pool = t.pool;
    for (let m = 3; m < n; m++) {
      let x = 0;
      const at = off + m * 4;
      const take = Math.min(4, off + len - at);
      for (let b = 0; b < take; b++) x |= bytes[at + b] << (b << 3);
      pool[o + m - 3] = x;
    }
    w3 = LONG | o;
  } else {
    w3 = shortW3(w3, len);
  }
  return claimSlot(t, rec, loadShift, h, len, w0, w1, w2, w3);
}

/** Room for `need` more words at the end of the pool, taken; returns their offset. */
function reservePool(t: KeyTable, need: number): number {
  const used = t.poolUsed;
  if (used + need > t.pool.length) {
    if (used + need > MAX_INTS) throw new RangeError('pagewise: keys longer than 16 bytes exceed 4 GiB in one table');
    let cap = Math.max(t.pool.length * 2, 64);
    while (cap < used + need) cap *= 2;
    const bigger = new Int32Array(Math.min(cap, MAX_INTS));
    bigger.set(t.pool.subarray(0, used));
    t.pool = bigger;
  }
  t.poolUsed = used + need;
  return used;
}

/** Store a new key in an empty slot, growing the table first past 1 / 2^`loadShift` full. */
function claimSlot(t: KeyTable, rec: number, loadShift: number, h: number, len: number, w0: number, w1: number, w2: number, w3: number): number {
  if ((t.size + 1) << loadShift > t.mask + 1) grow(t, rec);
  const { tab, mask } = t;
  let s = h & mask;
  while (tab[s * rec + LEN] !== 0) s = (s + 1) & mask;
  const r = s * rec;
  tab[r + HASH] = h;
  tab[r + LEN] = len + 1;
  tab[r + W0] = w0;
  tab[r + W1] = w1;
  tab[r + W2] = w2;
  tab[r + W3] = w3;
  t.size++;
  return s;
}

/** Byte `k` of the key in the slot at Int32 index `r`. */
export function keyByteAt(tab: Int32Array, pool: Int32Array, r: number, k: number): number {
  const word = k < 12 || tab[r + LEN] - 1 <= INLINE ? tab[r + W0 + (k >> 2)] : pool[(tab[r + W3] & ~LONG) + ((k - 12) >> 2)];
  return (word >>> ((k & 3) << 3)) & 0xff;
}

/** The bytes of the key in the slot at Int32 index `r` (a copy). */
export function keyBytes(tab: Int32Array, pool: Int32Array, r: number): Uint8Array {
  const out = new Uint8Array(tab[r + LEN] - 1);
  copyKey(tab, pool, r, out, 0);
  return out;
}

/** Copy the bytes of the key in the slot at Int32 index `r` into `into` at `at`; returns its length. */
export function copyKey(tab: Int32Array, pool: Int32Array, r: number, into: Uint8Array, at: number): number {
  const len = tab[r + LEN] - 1;
  const long = len > INLINE;
  for (let k = 0; k < len; k += 4) {
    const word = k < 12 || !long ? tab[r + W0 + (k >> 2)] : pool[(tab[r + W3] & ~LONG) + ((k - 12) >> 2)];
    for (let b = 0; b < 4 && k + b < len; b++) into[at + k + b] = (word >>> (b << 3)) & 0xff;
  }
  return len;
}

/** Byte-wise order of the keys in the slots at Int32 indices `x` and `y` (a shorter prefix first). */
export function compareKeys(tab: Int32Array, pool: Int32Array, x: number, y: number): number {
  const lx = tab[x + LEN];
  const ly = tab[y + LEN];
  const m = Math.min(lx, ly) - 1;
  for (let k = 0; k < m; k++) {
    const d = keyByteAt(tab, pool, x, k) - keyByteAt(tab, pool, y, k);
    if (d !== 0) return d;
  }
  return lx - ly;
}

/** Byte-wise order of two byte strings (a shorter prefix first). */
export function compareBytes(x: Uint8Array, y: Uint8Array): number {
  const n = Math.min(x.length, y.length);
  for (let k = 0; k < n; k++) {
    const d = x[k] - y[k];
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * `run` once per thread, before the first slice a job maps, if that slice has
 * at least `minBytes`: a made-up input through the hot loop, so that every
 * branch has type feedback before TurboFan compiles it and the loop is not
 * deoptimized by the first rare path (docs/performance.md, "Hot loops").
 */
export function warmUpOnce(minBytes: number, run: () => void): (sliceBytes: number) => void {
  let done = false;
  return (sliceBytes) => {
    if (done) return;
    done = true;
    if (sliceBytes >= minBytes) run();
  };
}
