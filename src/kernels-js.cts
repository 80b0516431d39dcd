/**
 * The UTF-8 word and character kernels and the CSV kernels in plain
 * TypeScript: the reference for native/kernels.cc and the fallback where the
 * addon is not loaded (the older byte kernels' JavaScript twins are in
 * native-fallback.cts). Each gives exactly what its native twin gives
 * (test/wc-utf8.test.ts and test/csv-kernels.test.ts check both on the same
 * inputs), takes a Uint8Array and allocates nothing per byte, record or field.
 */
import { UTF8_WC_STAGE1, UTF8_WC_STAGE2 } from './utf8-wc-table.cjs';

/** Bytes equal to `value` in [start, end) (end defaults to the array's end). */
function countByte(bytes: Uint8Array, value: number, start = 0, end = bytes.length): number {
  let n = 0;
  for (let i = start; i < end; i++) if (bytes[i] === value) n++;
  return n;
}

// ------------------------------------------------- UTF-8 words and chars --

const TRANSPARENT = 0;
const SEPARATOR = 1;
const WORD = 2;

/** Class of a code point for GNU wc 9.1's -w in C.UTF-8 (see scripts/gen-utf8-wc-table.py). */
function classOf(cp: number): number {
  if (cp >= 0x110000) return TRANSPARENT;
  return (UTF8_WC_STAGE2[UTF8_WC_STAGE1[cp >> 8] * 64 + ((cp & 255) >> 2)] >> ((cp & 3) * 2)) & 3;
}

/** Whether glibc 2.36's C.UTF-8 prints the code point (iswprint): a word character or one of wc's non-ASCII separators. */
export function printableUtf8(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7f;
  return classOf(cp) !== TRANSPARENT;
}

const ASCII_CLASS = Uint8Array.from({ length: 128 }, (_, b) => classOf(b));
const OVERLONG_BELOW = [0, 0, 0, 0x800, 0x10000, 0x200000, 0x4000000];

/**
 * The character at bytes[i] as glibc 2.36 decodes UTF-8, as in
 * native/kernels.cc's DecodeUtf8: its length (1 to 6, 0 when bytes[i] starts
 * no complete, well-formed sequence before `end`), its code point in `decoded.cp`.
 */
const decoded = { cp: 0 };
function decodeUtf8(bytes: Uint8Array, i: number, end: number): number {
  let c = bytes[i];
  let len: number;
  if (c < 0xc2) return 0; // callers take ASCII themselves; 0x80..0xc1 start nothing
  if (c < 0xe0) {
    len = 2;
    c &= 0x1f;
  } else if (c < 0xf0) {
    len = 3;
    c &= 0x0f;
  } else if (c < 0xf8) {
    len = 4;
    c &= 0x07;
  } else if (c < 0xfc) {
    len = 5;
    c &= 0x03;
  } else if (c < 0xfe) {
    len = 6;
    c &= 0x01;
  } else {
    return 0;
  }
  if (len > end - i) return 0;
  for (let k = 1; k < len; k++) {
    const t = bytes[i + k];
    if ((t & 0xc0) !== 0x80) return 0;
    c = c * 64 + (t & 0x3f);
  }
  if (c < OVERLONG_BELOW[len] || (c >= 0xd800 && c <= 0xdfff)) return 0;
  decoded.cp = c;
  return len;
}

/** The character at bytes[i] as glibc decodes it (decodeUtf8, ASCII included): its length (0: none starts there) and code point. */
export function utf8At(bytes: Uint8Array, i: number): { length: number; cp: number } {
  if (bytes[i] < 0x80) return { length: 1, cp: bytes[i] };
  const length = decodeUtf8(bytes, i, bytes.length);
  return { length, cp: decoded.cp };
}

/** What `wc -l -w -m` count in C.UTF-8 (GNU coreutils 9.1). */
export interface WcCounts {
  lines: number;
  words: number;
  chars: number;
}

/**
 * Lines ('\n' bytes), words and characters as GNU wc 9.1 counts them in
 * C.UTF-8 (docs/decisions.md, "wc"), for whole records. A byte that starts no
 * complete, well-formed character is neither a character nor part of a word;
 * a non-printable character neither starts nor ends a word.
 */
export function countWcUtf8(bytes: Uint8Array): WcCounts {
  let lines = 0;
  let words = 0;
  let chars = 0;
  let inWord = 0;
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    let c: number;
    if (b < 0x80) {
      c = ASCII_CLASS[b];
      if (b === 0x0a) lines++;
      i++;
    } else {
      const len = decodeUtf8(bytes, i, n);
      if (len === 0) {
        i++;
        continue;
      }
      c = classOf(decoded.cp);
      i += len;
    }
    chars++;
    if (c === WORD) {
      if (inWord === 0) words++;
      inWord = 1;
    } else if (c === SEPARATOR) {
      inWord = 0;
    }
  }
  return { lines, words, chars };
}

/** `wc -w` in C.UTF-8 (see countWcUtf8). */
export function countWordsUtf8(bytes: Uint8Array): number {
  return countWcUtf8(bytes).words;
}

/** `wc -m` in C.UTF-8: the characters glibc decodes; a byte that starts none is not one. */
export function countCharsUtf8(bytes: Uint8Array): number {
  let chars = 0;
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    if (bytes[i] < 0x80) {
      i++;
      chars++;
      continue;
    }
    const len = decodeUtf8(bytes, i, n);
    if (len === 0) {
      i++;
    } else {
      i += len;
      chars++;
    }
  }
  return chars;
}

// ----------------------------------------------------- CSV record bounds --
// A '\n' ends a record when an even number of quote bytes precede it
// (docs/decisions.md, "CSV"). Offsets are from the start of `bytes`.

/** The first pass of a parallel CSV split, over one chunk. */
export interface CsvSummary {
  /** Quote bytes in the chunk. */
  quotes: number;
  /** Offset of the first '\n' with an even number of quotes before it in the chunk, or -1. */
  firstNewlineEven: number;
  /** Offset of the first '\n' with an odd number, or -1. */
  firstNewlineOdd: number;
}

function find(bytes: Uint8Array, value: number, from: number): number {
  const hit = from < bytes.length ? bytes.indexOf(value, from) : -1;
  return hit < 0 ? bytes.length : hit;
}

/** First '\n' at or after `from` at even parity, given the parity there (true: inside quotes); -1 if none. */
function evenNewline(bytes: Uint8Array, from: number, quote: number, odd: boolean): number {
  const n = bytes.length;
  let at = from;
  while (at < n) {
    const q = find(bytes, quote, at);
    if (odd) {
      if (q === n) return -1;
      at = q + 1;
      odd = false;
      continue;
    }
    const nl = find(bytes, 0x0a, at);
    if (nl < q) return nl;
    if (q === n) return -1;
    at = q + 1;
    odd = true;
  }
  return -1;
}

/**
 * Quote count and the first newline at each parity of a whole input: what
 * CsvSummaryChecked (native) and summarizeCsv (src/csv/scan.ts) say about
 * parity, by another road, for the tests.
 */
export function csvChunkSummary(bytes: Uint8Array, quote = 0x22): CsvSummary {
  return {
    quotes: countByte(bytes, quote),
    firstNewlineEven: evenNewline(bytes, 0, quote, false),
    firstNewlineOdd: evenNewline(bytes, 0, quote, true),
  };
}

/**
 * The first record start x with max(from, 1) <= x <= bytes.length: the byte
 * before it is a '\n' outside quotes, given `odd`, the quote parity at
 * bytes[0] (true: inside a quoted field). -1 when there is none.
 */
export function csvRecordStart(bytes: Uint8Array, quote: number, odd: boolean, from: number): number {
  const f = from < 1 ? 1 : from;
  if (f > bytes.length) return -1;
  const parity = odd !== ((countByte(bytes, quote, 0, f - 1) & 1) === 1);
  const nl = evenNewline(bytes, f - 1, quote, parity);
  return nl < 0 ? -1 : nl + 1;
}

/** Number of '\n' outside quotes, given the parity at bytes[0]. */
export function csvCountRecords(bytes: Uint8Array, quote: number, odd: boolean): number {
  const n = bytes.length;
  let records = 0;
  let at = 0;
  while (at < n) {
    const q = find(bytes, quote, at);
    if (!odd) records += countByte(bytes, 0x0a, at, q);
    if (q === n) break;
    at = q + 1;
    odd = !odd;
  }
  return records;
}

/** What csvCheckQuotes found (kinds as in native/kernels.h, CsvQuoteErrorKind). */
export const CsvQuoteErrorKind = {
  ok: 0,
  /** A quote that is not a field's first byte and not inside a quoted field. Offset: that quote. */
  quoteInUnquotedField: 1,
  /** A closing quote followed by something else than the delimiter, a quote, '\n', "\r\n" or the end. Offset: the closing quote. */
  textAfterClosingQuote: 2,
  /** A quoted field still open at the end. Offset: its opening quote. */
  unterminatedQuote: 3,
} as const;

export interface CsvQuoteError {
  /** -1 when kind is ok. */
  offset: number;
  kind: (typeof CsvQuoteErrorKind)[keyof typeof CsvQuoteErrorKind];
}

function closeOk(bytes: Uint8Array, q: number, quote: number, delimiter: number): boolean {
  const n = bytes.length;
  if (q + 1 === n) return true;
  const b = bytes[q + 1];
  if (b === delimiter || b === 0x0a || b === quote) return true;
  return b === 0x0d && (q + 2 === n || bytes[q + 2] === 0x0a);
}

/**
 * The first quote of whole records (bytes[0] starts one) that breaks the
 * field walker's strict rules, or the opening quote of a quoted field still
 * open at the end: what CsvSummaryChecked's checks under the even state say
 * of a whole input, by another road, for the tests.
 */
export function csvCheckQuotes(bytes: Uint8Array, quote = 0x22, delimiter = 0x2c): CsvQuoteError {
  const n = bytes.length;
  let odd = false;
  let closedAt = -2;
  let lastOpen = -1;
  for (let q = find(bytes, quote, 0); q < n; q = find(bytes, quote, q + 1)) {
    if (!odd) {
      const startsField = q === 0 || bytes[q - 1] === delimiter || bytes[q - 1] === 0x0a;
      if (!startsField && closedAt !== q - 1) return { offset: q, kind: CsvQuoteErrorKind.quoteInUnquotedField };
      if (startsField) lastOpen = q;
    } else {
      if (!closeOk(bytes, q, quote, delimiter)) return { offset: q, kind: CsvQuoteErrorKind.textAfterClosingQuote };
      closedAt = q;
    }
    odd = !odd;
  }
  if (odd) return { offset: lastOpen, kind: CsvQuoteErrorKind.unterminatedQuote };
  return { offset: -1, kind: CsvQuoteErrorKind.ok };
}
