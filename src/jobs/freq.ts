/**
 * The `freq` job: word frequencies, words as `wc` counts them (maximal runs of
 * bytes other than space, \t, \n, \v, \f, \r). params `{ top?: number }`.
 * Words are keyed by a latin1 string of their bytes (one char per byte), so
 * sorting those strings orders the words by their bytes; they are decoded as
 * UTF-8 only for the result.
 */
import type { Job } from '../types.js';

export interface FreqParams {
  top?: number;
}

export interface FreqRow {
  word: string;
  count: number;
}

/** 1 for the six ASCII white-space bytes wc splits words on. */
const SPACE = new Uint8Array(256);
for (const b of [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]) SPACE[b] = 1;

const freq: Job<Map<string, number>, FreqRow[]> = {
  split: 'lines',
  commutative: true,
  init: () => new Map(),
  map(acc, bytes) {
    // Buffer's latin1 is byte-for-char (TextDecoder's 'latin1' is windows-1252).
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const n = bytes.length;
    let i = 0;
    while (i < n) {
      while (i < n && SPACE[bytes[i]] === 1) i++;
      if (i >= n) break;
      const start = i;
      while (i < n && SPACE[bytes[i]] === 0) i++;
      const word = buf.toString('latin1', start, i);
      acc.set(word, (acc.get(word) ?? 0) + 1);
    }
    return acc;
  },
  merge(a, b) {
    for (const [word, count] of b) a.set(word, (a.get(word) ?? 0) + count);
    return a;
  },
  finish(acc, params) {
    const top = (params as FreqParams | undefined)?.top ?? 10;
    const rows = [...acc].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    return rows.slice(0, top).map(([word, count]) => ({ word: Buffer.from(word, 'latin1').toString('utf8'), count }));
  },
};

export default freq;
