/**
 * The table a keyed job's `emit` writes into, one per worker: open addressing
 * with linear probing over an Int32Array, as `freq` keeps its words, so an
 * emit of a number allocates nothing. A string key is encoded as UTF-8 into
 * a scratch buffer; a byte key is read where it is; both are hashed and
 * compared as bytes, and copied into the table only when new.
 *
 * Slot `s` is 32 bytes, Int32 `tab[8s … 8s+7]`:
 *   `[hash, lenFlags, value (Float64 num[4s+1]), w0, w1, w2, w3]`
 * `lenFlags` is the key's length + 1 (0: empty slot; keys may be empty),
 * with STRING (emitted as a string at least once) and OBJECT (the value is
 * `objs[num[4s+1]]`, not the number itself) in its high bits. w0… are the
 * key's first 16 bytes as little-endian Int32s, zero-padded; a key longer than
 * 16 bytes keeps its first 12 bytes in w0-w2, and w3 is the offset of all its
 * bytes in `pool`.
 *
 * The table counts the bytes it holds and asks its owner to spill (`full`)
 * before growing past its share of the memory budget; the estimate of
 * structured-clonable values comes from this thread's heap, sampled.
 */
import { getHeapStatistics } from 'node:v8';
import { ErrorCodes, PagewiseError } from '../errors.js';
import { FLAG_OBJECT, FLAG_STRING, newBatch, type KeyBatch } from './batch.js';

const REC = 8;
const H = 0;
const LEN = 1;
const W0 = 4;
const W1 = 5;
const W2 = 6;
const W3 = 7;
const INLINE = 16;
const STRING = 1 << 28;
const OBJECT = 1 << 29;
const LEN_MASK = STRING - 1;

/** Longest key (bytes): a longer one is ERR_PAGEWISE_BAD_KEY. */
export const MAX_KEY_BYTES = 16 << 20;

const P0 = 0x9e3779b1 | 0;
const P1 = 0x85ebca77 | 0;
const P2 = 0xc2b2ae3d | 0;
const P3 = 0x27d4eb2f | 0;
const P = 0x01000193;
const F1 = 0x85ebca6b | 0;
const F2 = 0xc2b2ae35 | 0;

/** Smallest table (slots): a share below 16 KiB still holds this many keys. */
const MIN_SLOTS = 1 << 9;
/** Object values between two samples of the heap. */
const SAMPLE_EVERY = 1024;

function badKey(why: string): PagewiseError {
  return new PagewiseError(ErrorCodes.BAD_KEY, `emit: ${why}`, {});
}

/**
 * Encodes `s` as UTF-8 into `out` from 0 (which must hold 3 bytes per UTF-16
 * unit); a lone surrogate becomes U+FFFD, as TextEncoder does. Returns the length.
 */
function encodeUtf8(s: string, out: Uint8Array): number {
  let n = 0;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
    } else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < len ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          out[n++] = 0xf0 | (c >> 18);
          out[n++] = 0x80 | ((c >> 12) & 63);
          out[n++] = 0x80 | ((c >> 6) & 63);
          out[n++] = 0x80 | (c & 63);
          continue;
        }
        c = 0xfffd;
      }
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}

/** The calls a table makes into its owner. */
export interface TableOwner {
  /** The table would pass its share: spill it (it is cleared afterwards) and go on. */
  full(table: KeyTable): void;
}

export class KeyTable {
  size = 0;
  mask: number;
  tab: Int32Array;
  num: Float64Array;
  pool: Uint8Array;
  poolUsed = 0;
  objs: unknown[] = [];
  /** Heap in use when the object values were last empty (the sampled estimate starts there). */
  #heapBase = 0;
  #objectBytes = 0;
  #sinceSample = 0;
  #scratch = new Uint8Array(256);
  /** Most bytes held at once. */
  peak = 0;
  /** Pairs emitted (for the stats). */
  emits = 0;

  constructor(
    private readonly combine: (a: unknown, b: unknown) => unknown,
    readonly share: number,
    private readonly owner: TableOwner,
    private readonly onCombineError: (error: unknown) => never,
  ) {
    this.mask = MIN_SLOTS - 1;
    this.tab = new Int32Array(MIN_SLOTS * REC);
    this.num = new Float64Array(this.tab.buffer);
    this.pool = new Uint8Array(4096);
  }

  /** Bytes held now: the slots, the pool of long keys and (estimated) the object values. */
  bytes(): number {
    return this.tab.byteLength + this.pool.byteLength + this.#objectBytes;
  }

  /** Adds `value` to `key`: the emit of a keyed job. */
  add(key: unknown, value: unknown): void {
    let bytes: Uint8Array;
    let len: number;
    let flag = 0;
    if (typeof key === 'string') {
      if (key.length * 3 > this.#scratch.length) {
        if (key.length > MAX_KEY_BYTES) throw badKey(`a key is longer than ${MAX_KEY_BYTES} bytes`);
        this.#scratch = new Uint8Array(Math.max(key.length * 3, this.#scratch.length * 2));
      }
      bytes = this.#scratch;
      len = encodeUtf8(key, bytes);
      flag = STRING;
    } else if (key instanceof Uint8Array) {
      bytes = key;
      len = key.length;
    } else {
      throw badKey(`a key must be a string or a Uint8Array, got ${key === null ? 'null' : typeof key}`);
    }
    if (len > MAX_KEY_BYTES) throw badKey(`a key is longer than ${MAX_KEY_BYTES} bytes`);
    this.emits++;
    // The key's first 16 bytes as little-endian words, and its hash.
    const w0 = wordAt(bytes, 0, len);
    const w1 = wordAt(bytes, 4, len);
    const w2 = wordAt(bytes, 8, len);
    const w3 = wordAt(bytes, 12, len);
    let h = Math.imul(w0, P0) ^ Math.imul(w1, P1) ^ Math.imul(w2, P2) ^ Math.imul(w3, P3);
    for (let p = 16; p < len; p += 4) {
      h = Math.imul(h ^ wordAt(bytes, p, len), P);
      h ^= h >>> 15;
    }
    h ^= len;
    h ^= h >>> 16;
    h = Math.imul(h, F1);
    h ^= h >>> 13;
    h = Math.imul(h, F2);
    h ^= h >>> 16;
    const tab = this.tab;
    const mask = this.mask;
    let s = h & mask;
    for (;;) {
      const r = s << 3;
      const lf = tab[r + LEN];
      if (lf === 0) break;
      if (tab[r + H] === h && (lf & LEN_MASK) === len + 1 && tab[r + W0] === w0 && tab[r + W1] === w1 && tab[r + W2] === w2) {
        let same: boolean;
        if (len <= INLINE) same = tab[r + W3] === w3;
        else {
          const o = tab[r + W3] >>> 0;
          const pool = this.pool;
          let j = 12;
          while (j < len && pool[o + j] === bytes[j]) j++;
          same = j === len;
        }
        if (same) {
          if (flag !== 0) tab[r + LEN] = lf | flag;
          this.#combineInto(s, r, value);
          return;
        }
      }
      s = (s + 1) & mask;
    }
    this.#insert(h, len, flag, w0, w1, w2, w3, bytes, value);
  }

  #combineInto(s: number, r: number, value: unknown): void {
    const tab = this.tab;
    const at = (s << 2) + 1;
    const isObject = (tab[r + LEN] & OBJECT) !== 0;
    const old = isObject ? this.objs[this.num[at]] : this.num[at];
    let next: unknown;
    try {
      next = this.combine(old, value);
    } catch (error) {
      this.onCombineError(error);
    }
    if (isObject) {
      this.objs[this.num[at]] = next;
      this.#sampleObjects();
    } else if (typeof next === 'number') {
      this.num[at] = next;
    } else {
      this.#storeObject(r, at, next);
    }
  }

  #storeObject(r: number, at: number, value: unknown): void {
    if (this.objs.length === 0) this.#heapBase = getHeapStatistics().used_heap_size;
    this.tab[r + LEN] |= OBJECT;
    this.num[at] = this.objs.length;
    this.objs.push(value);
    this.#sampleObjects();
  }

  /** The object values' bytes, estimated from this thread's heap every SAMPLE_EVERY stores. */
  #sampleObjects(): void {
    if (++this.#sinceSample < SAMPLE_EVERY) return;
    this.#sinceSample = 0;
    const used = getHeapStatistics().used_heap_size;
    // Garbage collected since the base lowers it: the estimate never goes below zero.
    if (used < this.#heapBase) this.#heapBase = used;
    this.#objectBytes = used - this.#heapBase;
    if (this.bytes() > this.share) this.owner.full(this);
  }

  #insert(h: number, len: number, flag: number, w0: number, w1: number, w2: number, w3: number, bytes: Uint8Array, value: unknown): void {
    if ((this.size + 1) * 2 > this.mask + 1) {
      // Growing holds the old and the new slots at once.
      if (this.tab.byteLength * 3 + this.pool.byteLength + this.#objectBytes > this.share && this.size > 0) {
        this.owner.full(this);
        // A key of the scratch buffer: the spill did not touch it.
      } else {
        this.#grow();
      }
    }
    if (len > INLINE && this.poolUsed + len > this.pool.length) {
      let cap = this.pool.length * 2;
      while (cap < this.poolUsed + len) cap *= 2;
      if (this.tab.byteLength + this.pool.byteLength + cap + this.#objectBytes > this.share && this.size > 0) this.owner.full(this);
      if (this.poolUsed + len > this.pool.length) {
        cap = Math.max(this.pool.length * 2, 4096);
        while (cap < this.poolUsed + len) cap *= 2;
        const bigger = new Uint8Array(cap);
        bigger.set(this.pool.subarray(0, this.poolUsed));
        this.pool = bigger;
      }
    }
    if (len > INLINE) {
      const o = this.poolUsed;
      this.pool.set(len === bytes.length ? bytes : bytes.subarray(0, len), o);
      this.poolUsed = o + len;
      w3 = o | 0;
    }
    const tab = this.tab;
    const mask = this.mask;
    let s = h & mask;
    while (tab[(s << 3) + LEN] !== 0) s = (s + 1) & mask;
    const r = s << 3;
    tab[r + H] = h;
    tab[r + LEN] = (len + 1) | flag;
    tab[r + W0] = w0;
    tab[r + W1] = w1;
    tab[r + W2] = w2;
    tab[r + W3] = w3;
    this.size++;
    const at = (s << 2) + 1;
    if (typeof value === 'number') this.num[at] = value;
    else this.#storeObject(r, at, value);
    const held = this.bytes();
    if (held > this.peak) this.peak = held;
  }

  #grow(): void {
    const old = this.tab;
    const slots = (this.mask + 1) * 2;
    if (slots * REC > 2 ** 30) throw new RangeError('pagewise: a keyed table of more than 2^27 slots');
    const mask = slots - 1;
    const tab = new Int32Array(slots * REC);
    // Written before the probes read it: else a probe's read maps the zero page and the first
    // store is a copy-on-write fault with a TLB flush of every other core (src/jobs/table.ts, newTable).
    tab.fill(0);
    for (let r = 0; r < old.length; r += REC) {
      if (old[r + LEN] === 0) continue;
      let t = old[r + H] & mask;
      while (tab[(t << 3) + LEN] !== 0) t = (t + 1) & mask;
      tab.set(old.subarray(r, r + REC), t << 3);
    }
    this.tab = tab;
    this.num = new Float64Array(tab.buffer);
    this.mask = mask;
  }

  /** Every entry as a batch (unsorted), keys copied out (into `reuse` when it is large enough). */
  toBatch(reuse?: KeyBatch): KeyBatch {
    const { tab, num, pool } = this;
    let keyBytes = 0;
    for (let r = 0; r < tab.length; r += REC) {
      const lf = tab[r + LEN];
      if (lf !== 0) keyBytes += (lf & LEN_MASK) - 1;
    }
    const b = newBatch(this.size, keyBytes, reuse);
    const { keys, ends, flags } = b;
    let n = 0;
    let at = 0;
    for (let r = 0; r < tab.length; r += REC) {
      const lf = tab[r + LEN];
      if (lf === 0) continue;
      const len = (lf & LEN_MASK) - 1;
      if (len > INLINE) {
        const o = tab[r + W3] >>> 0;
        keys.set(pool.subarray(o, o + len), at);
      } else {
        for (let k = 0; k < len; k++) keys[at + k] = (tab[r + W0 + (k >> 2)] >>> ((k & 3) << 3)) & 0xff;
      }
      at += len;
      ends[n] = at;
      let f = (lf & STRING) !== 0 ? FLAG_STRING : 0;
      const v = num[(r >> 1) + 1];
      if ((lf & OBJECT) !== 0) {
        f |= FLAG_OBJECT;
        b.objs ??= [];
        b.objs[n] = this.objs[v];
      } else {
        b.num[n] = v;
      }
      flags[n] = f;
      n++;
    }
    b.n = n;
    return b;
  }

  /** Forgets every entry, keeping the slots' memory. */
  clear(): void {
    this.tab.fill(0);
    this.size = 0;
    this.poolUsed = 0;
    this.objs = [];
    this.#objectBytes = 0;
    this.#sinceSample = 0;
  }
}

/** The little-endian Int32 of `bytes[p, p+4)`, zero past `len`. */
function wordAt(bytes: Uint8Array, p: number, len: number): number {
  if (p + 4 <= len) return bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
  let x = 0;
  for (let k = 0; p + k < len; k++) x |= bytes[p + k] << (k << 3);
  return x;
}
