/**
 * A batch of distinct keys with their values, compact and sortable: what a
 * table becomes when it spills (and what a worker hands the main thread when
 * it never spilled). Keys sit back to back in one byte array; values are
 * Float64 numbers, or structured-clonable values beside them. Sorting orders
 * the keys by their bytes (a shorter prefix first) without comparing them one
 * by one: an LSD radix sort (11-bit digits: 2048 buckets stay in the first
 * level cache) on their first 8 bytes, then the same on the next
 * 8 bytes of each group that tied, and a comparison sort only for small groups.
 */

/** The key was emitted as a string (it is given back as one). */
export const FLAG_STRING = 1;
/** The value is in `objs`, not in `num`. */
export const FLAG_OBJECT = 2;

export interface KeyBatch {
  /** Entries. */
  n: number;
  /** Key bytes, back to back. */
  keys: Uint8Array;
  /** `ends[i]`: where key i ends in `keys` (it starts at `ends[i - 1]`, or 0). */
  ends: Uint32Array;
  /** FLAG_STRING | FLAG_OBJECT per entry. */
  flags: Uint8Array;
  /** Numeric values (entries without FLAG_OBJECT). */
  num: Float64Array;
  /** Values of the entries with FLAG_OBJECT, by entry; undefined when there are none. */
  objs: unknown[] | undefined;
  /** The entries in key order, once sorted. */
  order: Int32Array | undefined;
}

/**
 * An empty batch with room for `n` entries and `keyBytes` bytes of keys:
 * `reuse` itself when it is large enough (a thread that spills again and
 * again keeps one batch instead of leaving the last one to the collector).
 */
export function newBatch(n: number, keyBytes: number, reuse?: KeyBatch): KeyBatch {
  if (reuse !== undefined && reuse.ends.length >= n && reuse.keys.length >= keyBytes) {
    reuse.n = 0;
    reuse.objs = undefined;
    reuse.order = undefined;
    return reuse;
  }
  return {
    n: 0,
    keys: new Uint8Array(keyBytes),
    ends: new Uint32Array(n),
    flags: new Uint8Array(n),
    num: new Float64Array(n),
    objs: undefined,
    order: undefined,
  };
}

/**
 * The arrays a sort works in, kept by a thread between sorts (they only
 * grow). After `sortBatch`, entry k of the order has its first 8 key bytes in
 * `hi[k]` and `lo[k]` (big-endian), its key's start in `start[k]` and its
 * length, flags and small value in `meta[k]` (see META_*): a writer reads
 * them in order instead of gathering from the batch.
 */
export class SortScratch {
  order = new Int32Array(0);
  hi = new Uint32Array(0);
  lo = new Uint32Array(0);
  start = new Uint32Array(0);
  meta = new Uint32Array(0);
  tOrder = new Int32Array(0);
  tHi = new Uint32Array(0);
  tLo = new Uint32Array(0);
  tStart = new Uint32Array(0);
  tMeta = new Uint32Array(0);

  ensure(n: number): this {
    if (this.order.length >= n) return this;
    for (const name of ['order', 'tOrder'] as const) this[name] = new Int32Array(n);
    for (const name of ['hi', 'lo', 'start', 'meta', 'tHi', 'tLo', 'tStart', 'tMeta'] as const) this[name] = new Uint32Array(n);
    return this;
  }
}

/** `meta`: the key's length in bits 0-24, its flags in 25-26, a whole value 0-30 plus one in 27-31 (0: read `num`). */
export const META_LEN = 0x1ffffff;
export const META_FLAGS_SHIFT = 25;
export const META_VALUE_SHIFT = 27;

function metaOf(b: KeyBatch, i: number, len: number): number {
  const v = b.num[i];
  const f = b.flags[i];
  const small = (f & FLAG_OBJECT) === 0 && v >= 0 && v <= 30 && Number.isInteger(v) ? v + 1 : 0;
  return (len | (f << META_FLAGS_SHIFT) | (small << META_VALUE_SHIFT)) >>> 0;
}

/** Fills the carried arrays of position k from entry i (only the prefixes unless `full`). */
function carry(b: KeyBatch, sc: SortScratch, k: number, i: number, full: boolean): void {
  const { keys, ends } = b;
  const s = i === 0 ? 0 : ends[i - 1];
  const e = ends[i];
  let h = 0;
  let l = 0;
  if (e - s >= 8) {
    h = (keys[s] << 24) | (keys[s + 1] << 16) | (keys[s + 2] << 8) | keys[s + 3];
    l = (keys[s + 4] << 24) | (keys[s + 5] << 16) | (keys[s + 6] << 8) | keys[s + 7];
  } else {
    for (let q = 0; q < 4; q++) h = (h << 8) | (s + q < e ? keys[s + q] : 0);
    for (let q = 4; q < 8; q++) l = (l << 8) | (s + q < e ? keys[s + q] : 0);
  }
  sc.hi[k] = h >>> 0;
  sc.lo[k] = l >>> 0;
  if (!full) return;
  sc.start[k] = s;
  sc.meta[k] = metaOf(b, i, e - s);
}

/** Bytes a batch of `n` entries with `keyBytes` of keys holds once sorted. */
export function batchBytes(n: number, keyBytes: number): number {
  // keys, ends, flags, num, and the sort's ten arrays of 4 bytes (order, prefixes, starts, meta and their copies).
  return keyBytes + n * (4 + 1 + 8 + 40);
}

/** Start of key `i`. */
export function keyStart(b: KeyBatch, i: number): number {
  return i === 0 ? 0 : b.ends[i - 1];
}

/** Byte order of keys `i` and `j` of `b`, from byte `d` on (their first `d` bytes are equal). */
function compareFrom(keys: Uint8Array, ends: Uint32Array, i: number, j: number, d: number): number {
  const si = i === 0 ? 0 : ends[i - 1];
  const sj = j === 0 ? 0 : ends[j - 1];
  const li = ends[i] - si;
  const lj = ends[j] - sj;
  const m = Math.min(li, lj);
  for (let k = d; k < m; k++) {
    const x = keys[si + k] - keys[sj + k];
    if (x !== 0) return x;
  }
  return li - lj;
}

/** Below this many entries a group is sorted by comparison (six passes over 2048 buckets cost more). */
const SMALL = 512;

const counts = new Int32Array(2048);

/**
 * Sorts `b`'s entries by key bytes into `b.order`, and, when `carried`, leaves
 * them in order in `scratch`'s carried arrays (views of `scratch`: valid until
 * its next sort) for a run writer; a reader of `order` alone skips them.
 */
export function sortBatch(b: KeyBatch, reuse?: SortScratch, carried = true): Int32Array {
  const n = b.n;
  const sc = (reuse ?? new SortScratch()).ensure(n);
  const order = sc.order.subarray(0, n);
  b.order = order;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    carry(b, sc, i, i, carried);
  }
  if (n < 2) return order;
  const { keys, ends } = b;
  const { hi, lo } = sc;
  // Positions whose carried arrays a refinement left behind `order`: gathered again at the end.
  const redo: number[] = [];
  // Groups still to sort: [from, to) of `order`, whose keys share their first d bytes.
  const stack: number[] = [0, n, 0];
  while (stack.length > 0) {
    const d = stack.pop()!;
    const to = stack.pop()!;
    const from = stack.pop()!;
    if (to - from < SMALL) {
      sortSmall(order, from, to, keys, ends, d);
      redo.push(from, to);
      continue;
    }
    // Keys no longer than d + 8 bytes cannot be told apart by more bytes: the
    // comparison (by length, then bytes) orders a group made of them only.
    let longer = false;
    for (let k = from; k < to; k++) {
      const i = order[k];
      if (ends[i] - (i === 0 ? 0 : ends[i - 1]) > d + 8) {
        longer = true;
        break;
      }
    }
    // The top level sorts the carried arrays along; a refinement sorts `order` by the next 8 bytes.
    const top = d === 0;
    const moveCarried = top && carried;
    if (!top) {
      redo.push(from, to);
      nextPrefixes(b, sc, order, from, to, d);
    }
    radixPasses(sc, order, from, to, moveCarried);
    // Groups whose 8 bytes tied go on with the next 8 (or by comparison).
    let start = from;
    for (let k = from + 1; k <= to; k++) {
      if (k < to && hi[k] === hi[start] && lo[k] === lo[start]) continue;
      if (k - start > 1) {
        if (longer) stack.push(start, k, d + 8);
        else {
          sortSmall(order, start, k, keys, ends, d);
          redo.push(start, k);
        }
      }
      start = k;
    }
  }
  if (carried) for (let r = 0; r < redo.length; r += 2) for (let k = redo[r]; k < redo[r + 1]; k++) carry(b, sc, k, order[k], true);
  return order;
}

/** `hi`/`lo` of positions [from, to) of `order`: their keys' bytes d to d + 8, big-endian, zero-padded. */
function nextPrefixes(b: KeyBatch, sc: SortScratch, order: Int32Array, from: number, to: number, d: number): void {
  const { keys, ends } = b;
  const { hi, lo } = sc;
  for (let k = from; k < to; k++) {
    const i = order[k];
    const s = (i === 0 ? 0 : ends[i - 1]) + d;
    const e = ends[i];
    let h = 0;
    let l = 0;
    for (let q = 0; q < 4; q++) h = (h << 8) | (s + q < e ? keys[s + q] : 0);
    for (let q = 4; q < 8; q++) l = (l << 8) | (s + q < e ? keys[s + q] : 0);
    hi[k] = h >>> 0;
    lo[k] = l >>> 0;
  }
}

/**
 * Sorts positions [from, to) of `order` by their `hi`/`lo` prefixes: six
 * 11-bit LSD passes, skipping a digit all of them share; the carried arrays
 * move along when `moveCarried`. A function of its own, called once per
 * group, so that it is optimized as a whole early rather than loop by loop.
 */
function radixPasses(sc: SortScratch, order: Int32Array, from: number, to: number, moveCarried: boolean): void {
  const { hi, lo, start: st, meta, tOrder, tHi, tLo, tStart, tMeta } = sc;
  for (let pass = 0; pass < 6; pass++) {
    // 11-bit digits, low first: lo's bits 0-10, 11-21, 22-31, then hi's.
    const src = pass < 3 ? lo : hi;
    const shift = (pass % 3) * 11;
    counts.fill(0);
    for (let k = from; k < to; k++) counts[(src[k] >>> shift) & 0x7ff]++;
    if (counts[(src[from] >>> shift) & 0x7ff] === to - from) continue;
    let sum = from;
    for (let v = 0; v < 2048; v++) {
      const c = counts[v];
      counts[v] = sum;
      sum += c;
    }
    for (let k = from; k < to; k++) {
      const at = counts[(src[k] >>> shift) & 0x7ff]++;
      tOrder[at] = order[k];
      tHi[at] = hi[k];
      tLo[at] = lo[k];
      if (moveCarried) {
        tStart[at] = st[k];
        tMeta[at] = meta[k];
      }
    }
    order.set(tOrder.subarray(from, to), from);
    hi.set(tHi.subarray(from, to), from);
    lo.set(tLo.subarray(from, to), from);
    if (moveCarried) {
      st.set(tStart.subarray(from, to), from);
      meta.set(tMeta.subarray(from, to), from);
    }
  }
}

/** The next bytes of a small group's keys, by position in the group (see sortSmall). */
let smallPrefix = new Float64Array(SMALL);

function sortSmall(order: Int32Array, from: number, to: number, keys: Uint8Array, ends: Uint32Array, d: number): void {
  const m = to - from;
  if (m < 2) return;
  // Each key's next 6 bytes (zero-padded) as one exact number: most comparisons are one
  // subtraction; a tie compares the keys from byte d, which also orders a padded end.
  if (smallPrefix.length < m) smallPrefix = new Float64Array(m);
  const pre = smallPrefix;
  const part = new Array<number>(m);
  for (let p = 0; p < m; p++) {
    const i = order[from + p];
    const s = (i === 0 ? 0 : ends[i - 1]) + d;
    const e = ends[i];
    let v = 0;
    for (let q = 0; q < 6; q++) v = v * 256 + (s + q < e ? keys[s + q] : 0);
    pre[p] = v;
    part[p] = p;
  }
  part.sort((x, y) => pre[x] - pre[y] || compareFrom(keys, ends, order[from + x], order[from + y], d));
  for (let p = 0; p < m; p++) part[p] = order[from + part[p]];
  for (let p = 0; p < m; p++) order[from + p] = part[p];
}

/** Byte order of `a[0, al)` and `b[0, bl)` (a shorter prefix first). */
export function compareKeyBytes(a: Uint8Array, al: number, b: Uint8Array, bl: number): number {
  const m = al < bl ? al : bl;
  for (let k = 0; k < m; k++) {
    const x = a[k] - b[k];
    if (x !== 0) return x;
  }
  return al - bl;
}
