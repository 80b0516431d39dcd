/**
 * The `wc` job: lines (the number of `\n` bytes), words, characters and
 * bytes. params (`WcParams`) say which to count; the default is lines, words
 * and bytes.
 *
 * Words follow one of two rules. `locale: 'C'` (the default): maximal runs of
 * bytes other than space, \t, \n, \v, \f, \r, counted by the addon's
 * `countWords`, on the native kernel path for mapped files (no JS worker; see
 * `kernel`). `locale: 'C.UTF-8'` (what `pagewise wc` uses): GNU wc's rule in
 * that locale, counted in JavaScript by `gnuWords` below, which is the
 * reference for a native kernel of the same rule. Characters (`chars`) are
 * always UTF-8 characters as `LC_ALL=C.UTF-8 wc -m` counts them (`utf8Chars`).
 */
import { native } from '../native.js';
import type { Job } from '../types.js';
import { CTYPE_RUNS } from './wc-ctype.js';

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
  /** The word rule: `'C'` (default; native) or `'C.UTF-8'` (GNU wc's, in JavaScript). */
  locale?: 'C' | 'C.UTF-8';
}

function wants(params: unknown): { words: boolean; chars: boolean; utf8: boolean } {
  const p = (params ?? {}) as WcParams;
  const linesOnly = p.lines === true && p.words === undefined && p.chars === undefined;
  return { words: linesOnly ? false : p.words !== false, chars: p.chars === true, utf8: p.locale === 'C.UTF-8' };
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

/** Classes of the ASCII bytes, for the loop's fast path. */
const ASCII = new Uint8Array(128);
for (let c = 0x21; c < 0x7f; c++) ASCII[c] = WORD;
for (const c of [0x0a, 0x0d, 0x0c, 0x09, 0x20, 0x0b]) ASCII[c] = BREAK;

/**
 * The UTF-8 sequence at `i` as glibc's mbrtowc accepts it (5- and 6-byte
 * forms and code points past U+10FFFF too, but no overlong form and no
 * surrogate): its length times 4 plus its word class, or 0 when the byte
 * there starts no valid sequence (wc then skips that one byte).
 */
function sequenceAt(bytes: Uint8Array, i: number, table: Uint8Array): number {
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
  return n * 4 + (cp < 0x110000 ? table[cp] : NONE);
}

/**
 * Words as GNU wc counts them in the C.UTF-8 locale (coreutils 9.1 wc.c): a
 * word is a run of printable characters, ended by a printable white-space
 * character (iswspace), one of wc's no-break spaces (U+00A0, U+2007, U+202F,
 * U+2060) or one of \n \r \f \t \v space. A character that is not printable
 * (NUL, other controls, U+2028, code points past U+10FFFF) and a byte that is
 * not valid UTF-8 neither start nor end a word. `bytes` must start outside a
 * word (at a record start), which chunks do. Counted at each word's start.
 */
export function gnuWords(bytes: Uint8Array): number {
  const table = codePointClasses();
  let words = 0;
  let inWord = 0;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    let cls: number;
    if (b < 0x80) cls = ASCII[b];
    else {
      const seq = sequenceAt(bytes, i, table);
      if (seq === 0) continue;
      cls = seq & 3;
      i += (seq >> 2) - 1;
    }
    if (cls !== NONE) {
      // WORD is 2, BREAK 1: cls >> 1 is "in a word" after this character.
      words += (cls >> 1) & (inWord ^ 1);
      inWord = cls >> 1;
    }
  }
  return words;
}

/**
 * Characters as `LC_ALL=C.UTF-8 wc -m` counts them: every valid UTF-8
 * sequence (as glibc decodes, see `sequenceAt`) is one, NUL included; bytes
 * that are not part of a valid sequence are not counted.
 */
export function utf8Chars(bytes: Uint8Array): number {
  const table = codePointClasses();
  let chars = 0;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    if (bytes[i] < 0x80) chars++;
    else {
      const seq = sequenceAt(bytes, i, table);
      if (seq === 0) continue;
      chars++;
      i += (seq >> 2) - 1;
    }
  }
  return chars;
}

// -------------------------------------------------------------------- job --

const wc: Job<WcCounts> = {
  split: 'lines',
  commutative: true,
  // `chars` only when asked, so the result has exactly the counts wanted.
  init: (params) => (wants(params).chars ? { lines: 0, words: 0, chars: 0, bytes: 0 } : { lines: 0, words: 0, bytes: 0 }),
  map(acc, bytes, info) {
    const want = wants(info.params);
    acc.lines += native.countByte(bytes, 0x0a);
    if (want.words) acc.words += want.utf8 ? gnuWords(bytes) : native.countWords(bytes);
    if (want.chars) acc.chars! += utf8Chars(bytes);
    acc.bytes += bytes.length;
    return acc;
  },
  // The same counts as map, made by the addon on libuv's threadpool with no JS
  // worker started (see Job.kernel): the fast path for mapped files. GNU
  // words and characters need the rules above, which no native kernel has yet.
  kernel(params) {
    const want = wants(params);
    if (want.chars || (want.words && want.utf8)) return undefined;
    return {
      ops: want.words ? [{ op: 'countByte', byte: 0x0a }, { op: 'countWords' }] : [{ op: 'countByte', byte: 0x0a }],
      fold(acc, counts, info) {
        acc.lines += counts[0];
        if (want.words) acc.words += counts[1];
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
