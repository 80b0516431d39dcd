/**
 * The `wc` job: lines (the number of `\n` bytes), words, characters and
 * bytes. params (`WcParams`) say which to count; the default is lines, words
 * and bytes.
 *
 * Words follow one of two rules. `locale: 'C.UTF-8'` (the default, and what
 * `pagewise wc` uses): GNU wc 9.1's rule in that locale (a word needs a
 * printable character; see docs/decisions.md, wc). `locale: 'C'`: maximal
 * runs of bytes other than space, \t, \n, \v, \f, \r (POSIX byte words).
 * Characters (`chars`) are UTF-8 characters as `LC_ALL=C.UTF-8 wc -m` counts
 * them. The addon's kernels count all of them; on mapped files they run as a
 * native kernel plan (no JS worker; see `kernel`), elsewhere in `map`.
 */
import { native } from '../native.js';
import type { Job, KernelOp } from '../types.js';

export interface WcCounts {
  lines: number;
  words: number;
  /** Only when `chars` was asked for. */
  chars?: number;
  bytes: number;
}

export interface WcParams {
  /** Count lines only (the old form of `{ words: false, chars: false }`). */
  lines?: boolean;
  /** Count words (default true unless `lines` is set). */
  words?: boolean;
  /** Count characters (default false). */
  chars?: boolean;
  /** The word rule: `'C.UTF-8'` (default; GNU wc's) or `'C'` (POSIX byte words). */
  locale?: 'C' | 'C.UTF-8';
}

function wants(params: unknown): { words: boolean; chars: boolean; utf8: boolean } {
  const p = (params ?? {}) as WcParams;
  const linesOnly = p.lines === true && p.words === undefined && p.chars === undefined;
  return { words: linesOnly ? false : p.words !== false, chars: p.chars === true, utf8: p.locale !== 'C' };
}

const wc: Job<WcCounts, WcCounts, WcParams> = {
  split: 'lines',
  commutative: true,
  // `chars` only when asked, so the result has exactly the counts wanted.
  init: (params) => (wants(params).chars ? { lines: 0, words: 0, chars: 0, bytes: 0 } : { lines: 0, words: 0, bytes: 0 }),
  map(acc, bytes, info) {
    const want = wants(info.params);
    if (want.utf8 && (want.words || want.chars)) {
      const c = native.countWcUtf8(bytes);
      acc.lines += c.lines;
      if (want.words) acc.words += c.words;
      if (want.chars) acc.chars! += c.chars;
    } else {
      acc.lines += native.countByte(bytes, 0x0a);
      if (want.words) acc.words += native.countWords(bytes);
      if (want.chars) acc.chars! += native.countCharsUtf8(bytes);
    }
    acc.bytes += bytes.length;
    return acc;
  },
  // The same counts as map, made by the addon on libuv's threadpool with no
  // JS worker started (see Job.kernel): the fast path for mapped files.
  // countWcUtf8 makes lines, words and characters in one pass.
  kernel(params) {
    const want = wants(params);
    const utf8 = want.utf8 && (want.words || want.chars);
    const ops: KernelOp[] = utf8
      ? [{ op: 'countWcUtf8' }]
      : want.chars
        ? [{ op: 'countByte', byte: 0x0a }, { op: 'countWords' }, { op: 'countWcUtf8' }]
        : want.words
          ? [{ op: 'countByte', byte: 0x0a }, { op: 'countWords' }]
          : [{ op: 'countByte', byte: 0x0a }];
    return {
      ops,
      fold(acc, counts, info) {
        acc.lines += counts[0];
        if (want.words) acc.words += counts[1];
        // countWcUtf8's characters are its third count, wherever it is in the list.
        if (want.chars) acc.chars! += counts[counts.length - 1];
        acc.bytes += info.end - info.start;
        return acc;
      },
    };
  },
  merge(a, b) {
    a.lines += b.lines;
    a.words += b.words;
    if (b.chars !== undefined) a.chars = (a.chars ?? 0) + b.chars;
    a.bytes += b.bytes;
    return a;
  },
};

export default wc;
