/**
 * The `freq` job: word frequencies, words as `wc` counts them (maximal runs of
 * bytes other than space, \t, \n, \v, \f, \r). params `{ top?: number }`.
 *
 * `map` is a hot loop (src/jobs/freq-scan.ts) over an open-addressing table
 * of typed arrays (src/jobs/table.ts): no string is made and nothing is
 * allocated per word. Words are decoded as UTF-8 only for the K winners in
 * `finish`; ties are broken by the words' raw bytes.
 */
import { isUtf8 } from 'node:buffer';
import type { Job } from '../types.js';
import { LOAD_SHIFT, REC, SPACE, addCount, countAt, createAcc, maybeWarmUp, scanSlice, type FreqAcc } from './freq-scan.js';
import { HASH, LEN, compareKeys, findOrAdd, keyBytes, scratchWords, slotWords } from './table.js';

export type { FreqAcc } from './freq-scan.js';

export interface FreqParams {
  top?: number;
}

export interface FreqRow {
  /** The word decoded as UTF-8 (an invalid byte shows as U+FFFD). */
  word: string;
  count: number;
  /** The word's bytes, only when they are not valid UTF-8: `word` alone would not tell such words apart. */
  bytes?: Uint8Array;
}

/** The row of a word whose bytes are `key` (kept, not copied, when they are not UTF-8). */
export function freqRow(key: Uint8Array, count: number): FreqRow {
  // Buffer's decoder, not TextDecoder, which would drop a leading BOM.
  const word = Buffer.from(key.buffer, key.byteOffset, key.length).toString('utf8');
  return isUtf8(key) ? { word, count } : { word, count, bytes: key };
}

/** `row` as freq's JSON: `{"word","count"}`, or `{"bytes","count"}` (base64, as grep --json) for a word that is not UTF-8. */
export function freqRowJson(row: FreqRow): string {
  if (row.bytes === undefined) return JSON.stringify({ word: row.word, count: row.count });
  return JSON.stringify({ bytes: Buffer.from(row.bytes.buffer, row.bytes.byteOffset, row.bytes.length).toString('base64'), count: row.count });
}

/** Largest slice `scanSlice` takes (its offsets are Int32). */
const MAX_SLICE = 0x7fffffff;

function init(): FreqAcc {
  return createAcc();
}

function map(acc: FreqAcc, bytes: Uint8Array): FreqAcc {
  maybeWarmUp(bytes.length);
  if (bytes.length <= MAX_SLICE) return scanSlice(acc, bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.length));
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
    scanSlice(acc, slice, new DataView(slice.buffer, slice.byteOffset, slice.length));
    from = to;
  }
  return acc;
}

/** Add every word of `b`, with its count, to `a`. */
function foldInto(a: FreqAcc, b: FreqAcc): void {
  const bt = b.tab;
  for (let r = 0; r < bt.length; r += REC) {
    if (bt[r + LEN] === 0) continue;
    const len = slotWords(bt, b.pool, r);
    const s = findOrAdd(a, REC, LOAD_SHIFT, bt[r + HASH], len, scratchWords());
    addCount(a.tab, s * REC, countAt(bt, r));
  }
}

/**
 * Fold `b` into `a`. When `b` has more words, `a` takes a copy of `b`'s
 * table and its own words are folded into that: the work follows the
 * smaller side.
 */
function merge(a: FreqAcc, b: FreqAcc): FreqAcc {
  if (a.size >= b.size) {
    foldInto(a, b);
    return a;
  }
  const own: FreqAcc = { size: a.size, mask: a.mask, tab: a.tab, pool: a.pool, poolUsed: a.poolUsed };
  a.size = b.size;
  a.mask = b.mask;
  a.tab = b.tab.slice();
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
  const { tab, pool } = acc;
  const k = hr.length;
  let size = 0;
  for (let r = 0; r < tab.length; r += REC) {
    if (tab[r + LEN] === 0) continue;
    const c = countAt(tab, r);
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
  return topKeys(acc, Math.floor(topOf(params))).map((row) => freqRow(row.key, row.value));
}

/** The `k` most frequent words' bytes (copies) and counts, best first. */
export function topKeys(acc: FreqAcc, top: number): { key: Uint8Array; value: number }[] {
  const k = Math.min(acc.size, top);
  if (k === 0) return [];
  const hr = new Int32Array(k);
  const hc = new Float64Array(k);
  const size = selectTop(acc, hr, hc);
  const { tab, pool } = acc;
  const order = Array.from({ length: size }, (_, j) => j);
  order.sort((x, y) => hc[y] - hc[x] || compareKeys(tab, pool, hr[x], hr[y]));
  return order.map((j) => ({ key: keyBytes(tab, pool, hr[j]), value: hc[j] }));
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
