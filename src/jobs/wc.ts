/**
 * The `wc` job: lines (the number of `\n` bytes), words (maximal runs of bytes
 * other than space, \t, \n, \v, \f, \r) and bytes, counted by the native
 * kernels over the mapping's own pages. params `{ lines: true }` skips the
 * word count (lines only, one memchr-speed pass). On mapped files the same
 * counts run as a native kernel plan (no JS worker; see `kernel`).
 */
import { native } from '../native.js';
import type { Job } from '../types.js';

export interface WcCounts {
  lines: number;
  words: number;
  bytes: number;
}

export interface WcParams {
  /** Count lines only (words stay 0). */
  lines?: boolean;
}

const wc: Job<WcCounts> = {
  split: 'lines',
  commutative: true,
  init: () => ({ lines: 0, words: 0, bytes: 0 }),
  map(acc, bytes, info) {
    acc.lines += native.countByte(bytes, 0x0a);
    if (!(info.params as WcParams | undefined)?.lines) acc.words += native.countWords(bytes);
    acc.bytes += bytes.length;
    return acc;
  },
  // The same counts as map, made by the addon on libuv's threadpool with no JS
  // worker started (see Job.kernel): the fast path for mapped files.
  kernel(params) {
    const linesOnly = Boolean((params as WcParams | undefined)?.lines);
    return {
      ops: linesOnly ? [{ op: 'countByte', byte: 0x0a }] : [{ op: 'countByte', byte: 0x0a }, { op: 'countWords' }],
      fold(acc, counts, info) {
        acc.lines += counts[0];
        if (!linesOnly) acc.words += counts[1];
        acc.bytes += info.end - info.start;
        return acc;
      },
    };
  },
  merge(a, b) {
    a.lines += b.lines;
    a.words += b.words;
    a.bytes += b.bytes;
    return a;
  },
};

export default wc;
