/**
 * The `wc` job: lines (the number of `\n` bytes), words and characters as GNU
 * wc counts them in the C.UTF-8 locale, and bytes. params (`WcParams`) say
 * which to count; the default is lines, words and bytes.
 *
 * Lines and bytes alone run as a native kernel plan on mapped files (no JS
 * worker; see `kernel`). Words and characters are counted in JavaScript by
 * `gnuWords` and `utf8Chars` below, the reference for a native kernel of the
 * same rule: the addon's `countWords` counts C-locale words (runs of bytes
 * other than white space), which is not GNU wc's rule.
 */
import { native } from '../native.js';
import type { Job } from '../types.js';
import { CTYPE_RUNS } from './wc-ctype.js';

export interface WcCounts {
  lines: number;
  words: number;
  chars: number;
  bytes: number;
}

export interface WcParams {
  /** Count lines only (the old form of `{ words: false, chars: false }`). */
  lines?: boolean;
  /** Count words (default true unless `lines` is set). */
  words?: boolean;
  /** Count characters (default false). */
  chars?: boolean;
}

function wants(params: unknown): { words: boolean; chars: boolean } {
  const p = (params ?? {}) as WcParams;
  const linesOnly = p.lines === true && p.words === undefined && p.chars === undefined;
  return { words: linesOnly ? false : p.words !== false, chars: p.chars === true };
}

// ------------------------------------------------------------ GNU wc rules --

/** Class of a character for words: 0 no effect (not printable), 1 ends a word, 2 is part of one. */
const NONE = 0;
const BREAK = 1;
const WORD = 2;

let classes: Uint8Array | undefined;

/** Per code point 0..0x10FFFF, from glibc's C.UTF-8 tables (wc-ctype.ts). */
function codePointClasses(): Uint8Array {
  if (classes) return classes;
  const table = new Uint8Array(0x110000);
  const runs = /([0-9a-f]+)([nsw])/g;
  let at = 0;
  let cls = NONE;
  let m: RegExpExecArray | null;
  while ((m = runs.exec(CTYPE_RUNS)) !== null) {
    const start = at + parseInt(m[1], 16);
    if (cls !== NONE) table.fill(cls, at, start);
    at = start;
    cls = m[2] === 'n' ? NONE : m[2] === 's' ? BREAK : WORD;
  }
  if (cls !== NONE) table.fill(cls, at);
  // wc.c handles these before asking the locale: \n \r \f \t space \v end words.
  for (const c of [0x0a, 0x0d, 0x0c, 0x09, 0x20, 0x0b]) table[c] = BREAK;
  classes = table;
  return table;
}

/**
 * Length of the UTF-8 sequence at `i` as glibc's mbrtowc accepts it (which
 * takes 5- and 6-byte forms and code points past U+10FFFF, but no overlong
 * form and no surrogate), or 0 when the byte there starts no valid sequence
 * (wc then skips that one byte). Its code point is left in `decoded`.
 */
let decoded = 0;
function sequenceAt(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  let n: number;
  let cp: number;
  let min: number;
  if (b < 0xc2) return 0;
  if (b < 0xe0) {
    n = 2;
    cp = b & 0x1f;
    min = 0x80;
  } else if (b < 0xf0) {
    n = 3;
    cp = b & 0x0f;
    min = 0x800;
  } else if (b < 0xf8) {
    n = 4;
    cp = b & 0x07;
    min = 0x10000;
  } else if (b < 0xfc) {
    n = 5;
    cp = b & 0x03;
    min = 0x200000;
  } else if (b < 0xfe) {
    n = 6;
    cp = b & 0x01;
    min = 0x4000000;
  } else return 0;
  if (i + n > bytes.length) return 0;
  for (let k = 1; k < n; k++) {
    const c = bytes[i + k];
    if ((c & 0xc0) !== 0x80) return 0;
    cp = cp * 64 + (c & 0x3f);
  }
  if (cp < min || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  decoded = cp;
  return n;
}

/**
 * Words as GNU wc counts them in the C.UTF-8 locale (coreutils 9.1 wc.c): a
 * word is a run of printable characters that are not white space, ended by a
 * printable white-space character or one of \n \r \f \t \v space. A character
 * that is not printable (NUL, other controls, U+2028, code points past
 * U+10FFFF) and a byte that is not valid UTF-8 neither start nor end a word.
 * `bytes` must start outside a word (at a record start), which chunks do.
 */
export function gnuWords(bytes: Uint8Array): number {
  const table = codePointClasses();
  let words = 0;
  let inWord = 0;
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    let cls: number;
    if (b < 0x80) {
      cls = table[b];
      i++;
    } else {
      const len = sequenceAt(bytes, i);
      if (len === 0) {
        i++;
        continue;
      }
      cls = decoded < 0x110000 ? table[decoded] : NONE;
      i += len;
    }
    if (cls === WORD) inWord = 1;
    else if (cls === BREAK) {
      words += inWord;
      inWord = 0;
    }
  }
  return words + inWord;
}

/**
 * Characters as `LC_ALL=C.UTF-8 wc -m` counts them: every valid UTF-8
 * sequence (as glibc decodes, see `sequenceAt`) is one, NUL included; bytes
 * that are not part of a valid sequence are not counted.
 */
export function utf8Chars(bytes: Uint8Array): number {
  let chars = 0;
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    if (bytes[i] < 0x80) {
      chars++;
      i++;
      continue;
    }
    const len = sequenceAt(bytes, i);
    if (len === 0) i++;
    else {
      chars++;
      i += len;
    }
  }
  return chars;
}

// -------------------------------------------------------------------- job --

const wc: Job<WcCounts> = {
  split: 'lines',
  commutative: true,
  init: () => ({ lines: 0, words: 0, chars: 0, bytes: 0 }),
  map(acc, bytes, info) {
    const want = wants(info.params);
    acc.lines += native.countByte(bytes, 0x0a);
    if (want.words) acc.words += gnuWords(bytes);
    if (want.chars) acc.chars += utf8Chars(bytes);
    acc.bytes += bytes.length;
    return acc;
  },
  // Lines and bytes are made by the addon on libuv's threadpool with no JS
  // worker started (see Job.kernel): the fast path for mapped files. Words and
  // characters need the rules above, which no native kernel has yet.
  kernel(params) {
    const want = wants(params);
    if (want.words || want.chars) return undefined;
    return {
      ops: [{ op: 'countByte', byte: 0x0a }],
      fold(acc, counts, info) {
        acc.lines += counts[0];
        acc.bytes += info.end - info.start;
        return acc;
      },
    };
  },
  merge(a, b) {
    a.lines += b.lines;
    a.words += b.words;
    a.chars += b.chars;
    a.bytes += b.bytes;
    return a;
  },
};

export default wc;
