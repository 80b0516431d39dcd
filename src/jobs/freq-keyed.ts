/**
 * `freq` as a keyed job: every word (as `wc` counts words) with its count,
 * for any number of distinct words, through the keyed shuffle, which spills
 * to disk what does not fit in memory. `map(emit, ...)` is the plain
 * reference; the engine runs freq's own typed-array table and hot loop
 * instead (its table hooks below) and spills, merges and orders that table
 * like any keyed table. `pagewise freq` runs this job (`runFreq`).
 *
 * The hooks read freq's table through table.ts (key bytes) and
 * freq-scan.ts (counts), which own its layout.
 */
import type { KeyBatch } from '../keyed/batch.js';
import { newBatch } from '../keyed/batch.js';
import { KEYED_TABLE, type TableHooks } from '../keyed/hooks.js';
import type { Emit, KeyedJob } from '../types.js';
import freq, { topKeys, type FreqAcc } from './freq.js';
import { REC, countAt } from './freq-scan.js';
import { LEN, copyKey } from './table.js';

/** freq's table as a keyed table (see the top of this file). */
const hooks: TableHooks<FreqAcc> = {
  create: () => freq.init(),
  map: (acc, bytes) => freq.map(acc, bytes),
  size: (acc) => acc.size,
  bytesAfter(acc, pieceBytes) {
    // At most one new word per two bytes; the table doubles at half full and
    // the pool doubles when full, each holding old and new while it copies.
    const slotBytes = acc.tab.byteLength / (acc.mask + 1);
    let slots = acc.mask + 1;
    while ((acc.size + Math.ceil(pieceBytes / 2)) * 2 > slots) slots *= 2;
    const tab = slots * slotBytes + (slots > acc.mask + 1 ? acc.tab.byteLength : 0);
    const poolUsed = acc.poolUsed * acc.pool.BYTES_PER_ELEMENT;
    let pool = acc.pool.byteLength;
    while (poolUsed + pieceBytes > pool) pool *= 2;
    return tab + pool + (pool > acc.pool.byteLength ? acc.pool.byteLength : 0);
  },
  toBatch(acc, reuse) {
    const { tab, pool } = acc;
    let keyBytes = 0;
    for (let r = 0; r < tab.length; r += REC) if (tab[r + LEN] !== 0) keyBytes += tab[r + LEN] - 1;
    const b: KeyBatch = newBatch(acc.size, keyBytes, reuse);
    const { keys, ends } = b;
    let n = 0;
    let at = 0;
    for (let r = 0; r < tab.length; r += REC) {
      if (tab[r + LEN] === 0) continue;
      at += copyKey(tab, pool, r, keys, at);
      ends[n] = at;
      b.num[n] = countAt(tab, r);
      n++;
    }
    b.n = n;
    return b;
  },
  clear(acc) {
    acc.tab.fill(0);
    acc.size = 0;
    acc.poolUsed = 0;
  },
  merge: (a, b) => freq.merge(a, b),
  // The words' own bytes: decoded and encoded again, words that are not UTF-8 would change and could tie.
  top: (acc, k) => topKeys(acc, k),
};

/** 1 for the six ASCII white-space bytes wc splits words on. */
const SPACE = new Uint8Array(256);
for (const b of [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]) SPACE[b] = 1;

const freqKeyed = {
  split: 'lines',
  keyed: true,
  /** The reference: each word's bytes with a count of one. */
  map(emit: Emit<Uint8Array, number>, bytes: Uint8Array) {
    let i = 0;
    const n = bytes.length;
    while (i < n) {
      while (i < n && SPACE[bytes[i]] === 1) i++;
      const start = i;
      while (i < n && SPACE[bytes[i]] === 0) i++;
      if (i > start) emit(bytes.subarray(start, i), 1);
    }
  },
  combine: (a: number, b: number) => a + b,
  [KEYED_TABLE]: hooks,
} satisfies KeyedJob<Uint8Array, number> & { [KEYED_TABLE]: TableHooks<FreqAcc> };

export default freqKeyed;
