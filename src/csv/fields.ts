/**
 * The CSV field walker: a cursor over the records and fields of a
 * Uint8Array, with offsets instead of strings, so a job that sums one column
 * allocates nothing per row. Strict RFC 4180, the same rules as the split
 * (src/csv/scan.ts; docs/decisions.md, "CSV"): the walker and the split never
 * disagree on where a record ends, and what the split refuses the walker
 * refuses too. No dependency beyond the error table: jobs import it in
 * workers (`import { csvFields } from 'pagewise'` or `'pagewise/csv'`).
 */
import { badQuote, QuoteError } from './scan.js';

const NL = 0x0a;
const CR = 0x0d;
const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;

/** Exact powers of ten as doubles (10^22 is the last one a double holds exactly). */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** How the walker reads: the split's options, and where the bytes sit in the file. */
export interface CsvFieldOptions {
  /** One ASCII character or byte; default `"`. */
  quote?: string | number;
  /** One ASCII character or byte; default `,`. */
  delimiter?: string | number;
  /** File offset of `bytes[0]`, for error offsets (`info.start`); default 0. */
  offset?: number;
  /** The file's path, for error messages (`info.file`). */
  path?: string;
}

/** What `map` receives as `info`, as far as the walker cares. */
interface InfoLike {
  start: number;
  file?: string;
  split?: unknown;
}

function byteOf(value: string | number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  return typeof value === 'number' ? value : value.charCodeAt(0);
}

function optionsOf(o: CsvFieldOptions | InfoLike | undefined): { quote: number; delimiter: number; offset: number; path: string | undefined } {
  if (o === undefined) return { quote: 0x22, delimiter: 0x2c, offset: 0, path: undefined };
  if ('start' in o && typeof o.start === 'number') {
    // A ChunkInfo: the run's split says the quote and the delimiter.
    const split = o.split as { csv?: { quote?: string; delimiter?: string } } | undefined;
    const csv = typeof split === 'object' && split !== null ? split.csv : undefined;
    return { quote: byteOf(csv?.quote, 0x22), delimiter: byteOf(csv?.delimiter, 0x2c), offset: o.start, path: o.file };
  }
  const f = o as CsvFieldOptions;
  return { quote: byteOf(f.quote, 0x22), delimiter: byteOf(f.delimiter, 0x2c), offset: f.offset ?? 0, path: f.path };
}

const decoder = new TextDecoder();

/**
 * A cursor over CSV records and their fields.
 *
 * ```js
 * const f = csvFields(bytes, info);
 * while (f.nextRecord()) {
 *   if (f.skipTo(2)) sum += f.number();   // the third field, parsed from the bytes
 * }
 * ```
 */
export class CsvFields {
  bytes: Uint8Array;
  readonly quote: number;
  readonly delimiter: number;
  /** File offset of `bytes[0]`. */
  readonly offset: number;
  readonly path: string | undefined;
  /** The current record: `[recordStart, recordEnd)`, its terminator included. */
  recordStart = 0;
  recordEnd = 0;
  /** The current field's number in its record, from 0 (-1 before the record's first). */
  field = -1;
  /** The current field's content, `[start, end)`: inside the quotes of a quoted field, without the record's `\r\n`. */
  start = 0;
  end = 0;
  /** The field was quoted. */
  quoted = false;
  /** The quoted field holds doubled quotes: its bytes are not its value (`string()` undoes them). */
  escaped = false;
  /** Where the next field (or record) starts. */
  #pos = 0;
  /** The current record has fields left. */
  #open = false;
  /** A newline at or after #pos found by the last skip, or -1. */
  #newline = -1;

  constructor(bytes: Uint8Array, options?: CsvFieldOptions | InfoLike) {
    const o = optionsOf(options);
    this.bytes = bytes;
    this.quote = o.quote;
    this.delimiter = o.delimiter;
    this.offset = o.offset;
    this.path = o.path;
  }

  /** Moves to the next record (skipping what is left of this one); false at the end. */
  nextRecord(): boolean {
    if (this.#open) this.#skipRecord();
    if (this.#pos >= this.bytes.length) return false;
    this.recordStart = this.#pos;
    this.recordEnd = -1;
    this.field = -1;
    this.#open = true;
    return true;
  }

  /** Moves to the record's next field; false when the record has no more. */
  nextField(): boolean {
    if (!this.#open) return false;
    const bytes = this.bytes;
    const n = bytes.length;
    const q = this.quote;
    const d = this.delimiter;
    let i = this.#pos;
    this.field++;
    if (i < n && bytes[i] === q) {
      // Quoted: to the closing quote, over doubled quotes.
      const open = i;
      let escaped = false;
      let j = bytes.indexOf(q, i + 1);
      while (j >= 0 && j + 1 < n && bytes[j + 1] === q) {
        escaped = true;
        j = bytes.indexOf(q, j + 2);
      }
      if (j < 0) throw badQuote(this.path, this.offset + open, QuoteError.unterminated);
      this.start = open + 1;
      this.end = j;
      this.quoted = true;
      this.escaped = escaped;
      i = j + 1;
      if (i >= n) return this.#endRecord(n);
      const b = bytes[i];
      if (b === d) {
        this.#pos = i + 1;
        return true;
      }
      if (b === NL) return this.#endRecord(i + 1);
      if (b === CR && (i + 1 === n || bytes[i + 1] === NL)) return this.#endRecord(i + 1 === n ? n : i + 2);
      throw badQuote(this.path, this.offset + j, QuoteError.textAfterClosingQuote);
    }
    // Unquoted: to the delimiter or the record's end; a quote in it is refused.
    const from = i;
    while (i < n) {
      const b = bytes[i];
      if (b === d || b === NL) break;
      if (b === q) throw badQuote(this.path, this.offset + i, QuoteError.inUnquotedField);
      i++;
    }
    this.start = from;
    this.quoted = false;
    this.escaped = false;
    if (i < n && bytes[i] === d) {
      this.end = i;
      this.#pos = i + 1;
      return true;
    }
    // The record's end: `\n`, `\r\n`, or the input's end (a last `\r` there too).
    this.end = i > from && bytes[i - 1] === CR ? i - 1 : i;
    return this.#endRecord(i < n ? i + 1 : n);
  }

  #endRecord(end: number): boolean {
    this.#pos = end;
    this.recordEnd = end;
    this.#open = false;
    return true;
  }

  /**
   * Moves to field `index` of the current record (skipping fields before it
   * without looking at their values); false when the record has fewer.
   */
  skipTo(index: number): boolean {
    while (this.field < index) if (!this.nextField()) return false;
    return this.field === index;
  }

  /** Skips what is left of the current record: quote to quote, checking each quote as `nextField` does. */
  #skipRecord(): void {
    const bytes = this.bytes;
    const n = bytes.length;
    const q = this.quote;
    const d = this.delimiter;
    let i = this.#pos;
    let nl = this.#newline >= i ? this.#newline : bytes.indexOf(NL, i);
    for (;;) {
      const open = bytes.indexOf(q, i);
      if (nl >= 0 && (open < 0 || nl < open)) {
        this.#newline = nl;
        this.#endRecord(nl + 1);
        return;
      }
      if (open < 0) {
        this.#endRecord(n);
        return;
      }
      const p = bytes[open - 1];
      if (open > this.recordStart && p !== d && p !== NL) throw badQuote(this.path, this.offset + open, QuoteError.inUnquotedField);
      let j = bytes.indexOf(q, open + 1);
      while (j >= 0 && j + 1 < n && bytes[j + 1] === q) j = bytes.indexOf(q, j + 2);
      if (j < 0) throw badQuote(this.path, this.offset + open, QuoteError.unterminated);
      if (j + 1 < n) {
        const x = bytes[j + 1];
        if (!(x === d || x === NL || (x === CR && (j + 2 === n || bytes[j + 2] === NL)))) {
          throw badQuote(this.path, this.offset + j, QuoteError.textAfterClosingQuote);
        }
      }
      i = j + 1;
      if (nl >= 0 && nl < i) nl = bytes.indexOf(NL, i);
    }
  }

  /** The current field is empty (`,,` or `""`). */
  isEmpty(): boolean {
    return this.start === this.end;
  }

  /**
   * The field as a number, parsed from the bytes (no string) when it is a
   * plain decimal (`-12`, `3.25`, at most 15 significant digits); otherwise
   * what `Number()` makes of its text. NaN for an empty or blank field.
   */
  number(): number {
    const bytes = this.bytes;
    let i = this.start;
    const end = this.end;
    if (i === end) return NaN;
    let negative = false;
    const first = bytes[i];
    if (first === MINUS || first === PLUS) {
      negative = first === MINUS;
      i++;
    }
    let mantissa = 0;
    let digits = 0;
    let fraction = -1;
    for (; i < end; i++) {
      const c = bytes[i] - ZERO;
      if (c >= 0 && c <= 9) {
        mantissa = mantissa * 10 + c;
        digits++;
      } else if (bytes[i] === DOT && fraction < 0) {
        fraction = i;
      } else {
        break;
      }
    }
    // Up to 15 digits the mantissa is exact, and one division by an exact
    // power of ten rounds once: the same double Number() gives.
    if (i === end && digits > 0 && digits <= 15) {
      const scale = fraction < 0 ? 0 : end - fraction - 1;
      const value = scale === 0 ? mantissa : mantissa / POW10[scale];
      return negative ? -value : value;
    }
    // Number() makes 0 of a blank string; a blank field is no number.
    const text = this.string();
    return text.trim() === '' ? NaN : Number(text);
  }

  /** The field's value as a string (doubled quotes undone). Allocates. */
  string(): string {
    const text = decoder.decode(this.bytes.subarray(this.start, this.end));
    if (!this.escaped) return text;
    const quote = String.fromCharCode(this.quote);
    return text.replaceAll(quote + quote, quote);
  }

  /** The field's value equals `text`'s UTF-8 bytes (no string made). */
  equals(text: Uint8Array): boolean {
    if (this.escaped) return this.string() === decoder.decode(text);
    const length = this.end - this.start;
    if (length !== text.length) return false;
    const bytes = this.bytes;
    for (let k = 0; k < length; k++) if (bytes[this.start + k] !== text[k]) return false;
    return true;
  }

  /** The rest of the current record's fields as strings (allocates: for headers and small records). */
  strings(): string[] {
    const out: string[] = [];
    while (this.nextField()) out.push(this.string());
    return out;
  }
}

/**
 * A field walker over `bytes`. Pass `map`'s `info` to use the run's CSV
 * options and report file offsets in errors, or the options themselves.
 * @throws ERR_PAGEWISE_BAD_RECORD (with `offset`) as it meets a quote that
 * breaks RFC 4180's rules.
 */
export function csvFields(bytes: Uint8Array, options?: CsvFieldOptions | InfoLike): CsvFields {
  return new CsvFields(bytes, options);
}

/**
 * The fields of the first record of `bytes` as strings: the column names of
 * `info.header`. Empty for empty bytes.
 */
export function csvColumns(bytes: Uint8Array | undefined, options?: CsvFieldOptions | InfoLike): string[] {
  if (bytes === undefined) return [];
  // A header is the file's first record: its offsets start at 0, whatever chunk `info` is about.
  const f = new CsvFields(bytes, options !== undefined && 'start' in options ? { ...options, start: 0 } : options);
  if (!f.nextRecord()) return [];
  return f.strings();
}
