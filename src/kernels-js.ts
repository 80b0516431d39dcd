/**
 * The UTF-8 word and character kernels and the CSV kernels in plain
 * TypeScript: the reference for native/kernels.cc and the fallback where the
 * addon is not loaded (the older byte kernels' JavaScript twins are in
 * native-fallback.ts). Each gives exactly what its native twin gives
 * (test/wc-utf8.test.ts and test/csv-kernels.test.ts check both on the same
 * inputs), takes a Uint8Array and allocates nothing per byte, record or field.
 *
 * Also here: the CSV field walker (`CsvCursor`), which has no native twin: a
 * job walks fields in JavaScript anyway, and the cursor hands out offsets, so
 * a job that sums a column allocates nothing per row.
 */
import { ErrorCodes, PagewiseError } from './errors.js';
import { UTF8_WC_STAGE1, UTF8_WC_STAGE2 } from './utf8-wc-table.js';

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

// ---------------------------------------------------- CSV field walker --

const REASONS = ['', 'a quote inside an unquoted field', 'text after a closing quote', 'a quoted field not closed'];

function badRecord(kind: number, offset: number): PagewiseError {
  return new PagewiseError(ErrorCodes.BAD_RECORD, `CSV: ${REASONS[kind]} at byte ${offset} of the chunk`, {
    offset,
    reason: ['ok', 'quoteInUnquotedField', 'textAfterClosingQuote', 'unterminatedQuote'][kind],
  });
}

/** Byte values of a one-character option (a string of one ASCII character, or a byte). */
function byteOption(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && value.length === 1 && value.charCodeAt(0) < 0x80) return value.charCodeAt(0);
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 0x80) return value;
  throw new TypeError(`CsvCursor: ${name} must be one ASCII character`);
}

export interface CsvCursorOptions {
  /** Field separator, default ','. */
  delimiter?: string | number;
  /** Quote character, default '"'. */
  quote?: string | number;
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const utf8 = new TextDecoder();

/**
 * Walks the records and fields of CSV bytes (RFC 4180, docs/decisions.md
 * "CSV") without making a string or an array per field: the current field is
 * a pair of offsets into `bytes`, which `number()`, `text()` or `equals()`
 * read on demand.
 *
 * A record ends at a '\n' outside quotes (a '\r' before it, or before the end
 * of the input, is not part of the last field). A field that starts with the
 * quote is quoted: it runs to the closing quote, `""` inside it is one quote
 * (`escaped` says the field has some), and it must be followed by the
 * delimiter or the record's end. An empty line is a record with no fields.
 * A quote anywhere else, text after a closing quote, or a quoted field open at
 * the end throw ERR_PAGEWISE_BAD_RECORD with the byte offset: these are the
 * inputs where quote parity (how records are split in parallel) and a
 * field-by-field reading could disagree, so both refuse them.
 *
 * ```js
 * const csv = new CsvCursor(bytes);
 * while (csv.nextRecord()) {
 *   if (csv.skipFields(2) && csv.nextField()) sum += csv.number();
 * }
 * ```
 */
export class CsvCursor {
  /** The bytes walked. */
  bytes: Uint8Array;
  /** Start of the current record. */
  recordStart = 0;
  /** Offset of the current field's first byte (after its opening quote when quoted). */
  start = 0;
  /** Offset just past the current field's last byte (its closing quote when quoted). */
  end = 0;
  /** Whether the current field was quoted. */
  quoted = false;
  /** Whether the current field holds doubled quotes (`text()` and `bytes()` undo them). */
  escaped = false;
  /** Index of the current field in its record (-1 before the first). */
  field = -1;

  private readonly delimiter: number;
  private readonly quote: number;
  private limit: number;
  private next: number; // where the record after the current one starts
  private at = -1; // start of the current record's next field; -1 after its last

  /** @throws TypeError when an option is not one ASCII character. */
  constructor(bytes: Uint8Array, options: CsvCursorOptions = {}, from = 0, to = bytes.length) {
    this.delimiter = byteOption(options.delimiter, 0x2c, 'delimiter');
    this.quote = byteOption(options.quote, 0x22, 'quote');
    if (this.delimiter === this.quote || this.delimiter === 0x0a || this.delimiter === 0x0d || this.quote === 0x0a || this.quote === 0x0d) {
      throw new TypeError('CsvCursor: delimiter and quote must differ from each other and from \\r and \\n');
    }
    this.bytes = bytes;
    this.limit = to;
    this.next = from;
  }

  /** Walks other bytes (or another range) with the same options. */
  reset(bytes: Uint8Array, from = 0, to = bytes.length): this {
    this.bytes = bytes;
    this.limit = to;
    this.next = from;
    this.at = -1;
    this.field = -1;
    return this;
  }

  /** Moves to the next record; false when none is left. The rest of the current one is checked on the way. */
  nextRecord(): boolean {
    if (this.at >= 0) this.skipRest();
    if (this.next >= this.limit) return false;
    this.recordStart = this.next;
    this.at = this.next;
    this.field = -1;
    const b = this.bytes[this.at];
    // An empty line: a record without fields.
    if (b === 0x0a || (b === 0x0d && (this.at + 1 === this.limit || this.bytes[this.at + 1] === 0x0a))) {
      this.next = b === 0x0a ? this.at + 1 : Math.min(this.at + 2, this.limit);
      this.at = -1;
    }
    return true;
  }

  /** Offset of the first byte after the current record (its terminator included). Walks the rest of it when needed. */
  get recordNext(): number {
    if (this.at >= 0) this.skipRest();
    return this.next;
  }

  /** Moves to the next field of the current record; false after its last. */
  nextField(): boolean {
    const at = this.at;
    if (at < 0) return false;
    const bytes = this.bytes;
    const limit = this.limit;
    const delimiter = this.delimiter;
    const quote = this.quote;
    this.field++;
    if (at < limit && bytes[at] === quote) {
      this.quoted = true;
      this.escaped = false;
      let close = at + 1;
      for (;;) {
        while (close < limit && bytes[close] !== quote) close++;
        if (close >= limit) throw badRecord(CsvQuoteErrorKind.unterminatedQuote, at);
        if (close + 1 < limit && bytes[close + 1] === quote) {
          this.escaped = true;
          close += 2;
          continue;
        }
        break;
      }
      this.start = at + 1;
      this.end = close;
      this.afterClosingQuote(close);
      return true;
    }
    this.quoted = false;
    this.escaped = false;
    let i = at;
    for (; i < limit; i++) {
      const b = bytes[i];
      if (b === delimiter) {
        this.start = at;
        this.end = i;
        this.at = i + 1;
        return true;
      }
      if (b === 0x0a) break;
      if (b === quote) throw badRecord(CsvQuoteErrorKind.quoteInUnquotedField, i);
    }
    // The last field: a '\r' before the record's end is not part of it.
    this.start = at;
    this.end = i > at && bytes[i - 1] === 0x0d ? i - 1 : i;
    this.next = i < limit ? i + 1 : limit;
    this.at = -1;
    return true;
  }

  /** Skips `count` fields; false when the record has fewer. */
  skipFields(count: number): boolean {
    for (let k = 0; k < count; k++) if (!this.nextField()) return false;
    return true;
  }

  /**
   * The current field as a number when it is a plain decimal (an optional
   * sign, digits with an optional '.', an optional exponent: `-12.5`, `3`,
   * `.5`, `1e-3`), else NaN. No string is made unless it has more than 15
   * significant digits or a large exponent; the result is Number()'s.
   */
  number(): number {
    const bytes = this.bytes;
    let i = this.start;
    const end = this.end;
    if (i >= end || this.escaped) return NaN;
    let negative = false;
    const sign = bytes[i];
    if (sign === 0x2d || sign === 0x2b) {
      negative = sign === 0x2d;
      i++;
    }
    let mantissa = 0;
    let digits = 0; // significant digits in `mantissa`
    let seen = 0; // digits of the mantissa, zeros included
    let scale = 0; // power of ten to apply
    let b = 0;
    while (i < end && (b = bytes[i] - 0x30) >= 0 && b <= 9) {
      if (digits > 0 || b !== 0) {
        mantissa = mantissa * 10 + b;
        digits++;
      }
      seen++;
      i++;
    }
    if (i < end && bytes[i] === 0x2e) {
      i++;
      while (i < end && (b = bytes[i] - 0x30) >= 0 && b <= 9) {
        if (digits > 0 || b !== 0) {
          mantissa = mantissa * 10 + b;
          digits++;
        }
        scale--;
        seen++;
        i++;
      }
    }
    if (seen === 0) return NaN;
    if (i < end && (bytes[i] | 0x20) === 0x65) {
      i++;
      let expNegative = false;
      if (i < end && (bytes[i] === 0x2d || bytes[i] === 0x2b)) {
        expNegative = bytes[i] === 0x2d;
        i++;
      }
      let exp = 0;
      let expDigits = 0;
      while (i < end && (b = bytes[i] - 0x30) >= 0 && b <= 9) {
        if (exp < 1e6) exp = exp * 10 + b;
        expDigits++;
        i++;
      }
      if (expDigits === 0) return NaN;
      scale += expNegative ? -exp : exp;
    }
    if (i !== end) return NaN;
    let value: number;
    if (digits <= 15 && scale >= -22 && scale <= 22) {
      // Both exact, so one correctly rounded operation gives Number()'s answer.
      value = scale < 0 ? mantissa / POW10[-scale] : mantissa * POW10[scale];
    } else {
      value = Number(utf8.decode(bytes.subarray(negative || sign === 0x2b ? this.start + 1 : this.start, end)));
    }
    return negative ? -value : value;
  }

  /** The current field as a string (UTF-8, doubled quotes undone). Allocates. */
  text(): string {
    const s = utf8.decode(this.bytes.subarray(this.start, this.end));
    return this.escaped ? s.replaceAll(String.fromCharCode(this.quote).repeat(2), String.fromCharCode(this.quote)) : s;
  }

  /** The current field's bytes: a view when it has no doubled quotes, else a copy with them undone. */
  fieldBytes(): Uint8Array {
    const view = this.bytes.subarray(this.start, this.end);
    if (!this.escaped) return view;
    const out = new Uint8Array(view.length);
    let n = 0;
    for (let i = 0; i < view.length; i++) {
      out[n++] = view[i];
      if (view[i] === this.quote) i++;
    }
    return out.subarray(0, n);
  }

  /** Whether the current field's value equals `value` (its UTF-8 bytes), without making a string. */
  equals(value: string | Uint8Array): boolean {
    const want = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const got = this.escaped ? this.fieldBytes() : this.bytes.subarray(this.start, this.end);
    if (got.length !== want.length) return false;
    for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return false;
    return true;
  }

  /** The current record's fields as strings (allocates: for headers and tests). */
  fields(): string[] {
    const out: string[] = [];
    while (this.nextField()) out.push(this.text());
    return out;
  }

  /** After the closing quote at `close`: the delimiter, or the record's end. */
  private afterClosingQuote(close: number): void {
    const bytes = this.bytes;
    const limit = this.limit;
    const c = close + 1 < limit ? bytes[close + 1] : -1;
    if (c === this.delimiter) {
      this.at = close + 2;
    } else if (c === -1 || c === 0x0a) {
      this.next = c === -1 ? limit : close + 2;
      this.at = -1;
    } else if (c === 0x0d && (close + 2 === limit || bytes[close + 2] === 0x0a)) {
      this.next = Math.min(close + 3, limit);
      this.at = -1;
    } else {
      throw badRecord(CsvQuoteErrorKind.textAfterClosingQuote, close);
    }
  }

  /**
   * Finds the end of the current record from the next field on, checking
   * every quote it passes by the same rules as nextField. A plain loop: the
   * distances are short, and indexOf costs more per call than it saves.
   */
  private skipRest(): void {
    const bytes = this.bytes;
    const limit = this.limit;
    const quote = this.quote;
    let at = this.at;
    while (at >= 0) {
      let i = at;
      let b = 0;
      while (i < limit && (b = bytes[i]) !== 0x0a && b !== quote) i++;
      if (i >= limit || b === 0x0a) {
        this.next = i < limit ? i + 1 : limit;
        break;
      }
      // An opening quote: only as a field's first byte.
      if (i !== at && bytes[i - 1] !== this.delimiter) throw badRecord(CsvQuoteErrorKind.quoteInUnquotedField, i);
      let close = i + 1;
      for (;;) {
        while (close < limit && bytes[close] !== quote) close++;
        if (close >= limit) throw badRecord(CsvQuoteErrorKind.unterminatedQuote, i);
        if (close + 1 < limit && bytes[close + 1] === quote) {
          close += 2;
          continue;
        }
        break;
      }
      this.afterClosingQuote(close);
      at = this.at;
    }
    this.at = -1;
  }
}
