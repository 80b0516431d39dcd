/**
 * The CSV field walker: a cursor over the records and fields of a
 * Uint8Array, with offsets instead of strings, so a job that sums one column
 * allocates nothing per row. Strict RFC 4180, the same rules as the split
 * (src/csv/scan.ts; docs/decisions.md, "CSV"): the walker and the split never
 * disagree on where a record ends, and what the split refuses the walker
 * refuses too. The tests hold it against a second walker written apart from
 * it (test/fixtures/csv-cursor.ts), Python's csv module and a byte-at-a-time
 * state machine. No dependency beyond the error table: jobs import it in
 * workers (`import { csvFields } from 'pagewise'`, or `'pagewise/csv'`).
 */
import { InvalidOptionError } from '../errors.js';
import { badQuote, findByte, QuoteError } from './scan.js';

const NL = 0x0a;
const CR = 0x0d;

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

/**
 * Where a run whose CSV cuts were guessed (src/csv/speculate.ts) learns that
 * the walker read a whole view without an error: a view that starts at a
 * record boundary then ends at one too, so the proof costs the job nothing.
 * It proves the bytes the walker read: a job that writes quotes or newlines
 * into its view before walking it is outside it (docs/decisions.md). A
 * registered symbol, so a job's own copy of this module finds the tracker.
 */
export const WALK_TRACK: unique symbol = Symbol.for('pagewise.csvWalk') as never;

/** What the run puts on `info[WALK_TRACK]`: the view, and whether a walker reached its end from its start. */
export interface WalkTrack {
  bytes: Uint8Array;
  done: boolean;
}

/** What `map` receives as `info`, as far as the walker cares. */
interface InfoLike {
  start: number;
  file?: string;
  split?: unknown;
}

/** An option given to csvFields itself (a run's split was checked when its job loaded): one byte, not a line break. */
function byteOf(value: string | number | undefined, fallback: number, name?: string): number {
  if (value === undefined) return fallback;
  const byte = typeof value === 'number' ? value : value.length === 1 ? value.charCodeAt(0) : -1;
  if (name !== undefined && (!Number.isInteger(byte) || byte < 0 || byte > (typeof value === 'number' ? 255 : 0x7f) || byte === 0x0a || byte === 0x0d)) {
    throw new InvalidOptionError(`csvFields options.${name}`, 'one ASCII character or a byte 0-255, not a line break', value);
  }
  return byte;
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
  const quote = byteOf(f.quote, 0x22, 'quote');
  const delimiter = byteOf(f.delimiter, 0x2c, 'delimiter');
  if (quote === delimiter) throw new InvalidOptionError('csvFields options.delimiter', 'other than the quote', f.delimiter);
  return { quote, delimiter, offset: f.offset ?? 0, path: f.path };
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * A cursor over CSV records and their fields. A record ends at a `\n`
 * outside quotes (a `\r` before it, or before the end of the input, is not
 * part of the last field); an empty line is a record with no fields. The
 * current field is `[start, end)` of `bytes` (inside the quotes of a quoted
 * field), read on demand by `number()`, `text()` or `equals()`.
 *
 * ```js
 * const f = csvFields(bytes, info);
 * while (f.nextRecord()) {
 *   if (f.skipFields(2) && f.nextField()) sum += f.number();   // the third field
 * }
 * ```
 */
export class CsvFields {
  /** The bytes walked. */
  bytes: Uint8Array;
  readonly quote: number;
  readonly delimiter: number;
  /** File offset of `bytes[0]` (error offsets are file offsets). */
  offset: number;
  readonly path: string | undefined;
  /** Start of the current record. */
  recordStart = 0;
  /** The current field's number in its record, from 0 (-1 before the record's first). */
  field = -1;
  /** The current field's content: `[start, end)`. */
  start = 0;
  end = 0;
  /** The current field was quoted. */
  quoted = false;
  /** The quoted field holds doubled quotes: its bytes are not its value (`text()` undoes them). */
  escaped = false;
  #limit: number;
  /** Where the record after the current one starts, once known. */
  #next: number;
  /** Where the current record's next field starts; -1 after its last. */
  #at = -1;
  /** The run's tracker, while this walker walks the whole view it was made for. */
  #track: WalkTrack | undefined;

  constructor(bytes: Uint8Array, options?: CsvFieldOptions | InfoLike, from = 0, to = bytes.length) {
    const o = optionsOf(options);
    this.bytes = bytes;
    this.quote = o.quote;
    this.delimiter = o.delimiter;
    this.offset = o.offset;
    this.path = o.path;
    this.#limit = to;
    this.#next = from;
    const track = options !== undefined && WALK_TRACK in options ? ((options as Record<symbol, unknown>)[WALK_TRACK] as WalkTrack | undefined) : undefined;
    if (track !== undefined && track.bytes === bytes && from === 0 && to === bytes.length) this.#track = track;
  }

  /** Walks other bytes (or another range of them) with the same options; `offset` is the new bytes' file offset. */
  reset(bytes: Uint8Array, from = 0, to = bytes.length, offset = this.offset): this {
    this.bytes = bytes;
    this.offset = offset;
    this.#limit = to;
    this.#next = from;
    this.#at = -1;
    this.field = -1;
    this.#track = undefined;
    return this;
  }

  /** Moves to the next record (checking what is left of this one on the way); false at the end. */
  nextRecord(): boolean {
    if (this.#at >= 0) this.#skipRest();
    const at = this.#next;
    if (at >= this.#limit) {
      // Every record of the view was walked, each quote checked on the way.
      if (this.#track !== undefined && this.bytes === this.#track.bytes) this.#track.done = true;
      return false;
    }
    this.recordStart = at;
    this.field = -1;
    const b = this.bytes[at];
    if (b === NL || (b === CR && (at + 1 === this.#limit || this.bytes[at + 1] === NL))) {
      // An empty line: a record without fields.
      this.#next = b === NL ? at + 1 : Math.min(at + 2, this.#limit);
      this.#at = -1;
    } else {
      this.#at = at;
    }
    return true;
  }

  /** Offset just past the current record, its terminator included (walks the rest of it when needed). */
  get recordNext(): number {
    if (this.#at >= 0) this.#skipRest();
    return this.#next;
  }

  /** Moves to the record's next field; false after its last. */
  nextField(): boolean {
    const at = this.#at;
    if (at < 0) return false;
    const bytes = this.bytes;
    const limit = this.#limit;
    const q = this.quote;
    const d = this.delimiter;
    this.field++;
    if (at < limit && bytes[at] === q) {
      // Quoted: to the closing quote, over doubled quotes.
      let escaped = false;
      let close = findByte(bytes, q, at + 1);
      while (close >= 0 && close + 1 < limit && bytes[close + 1] === q) {
        escaped = true;
        close = findByte(bytes, q, close + 2);
      }
      if (close < 0 || close >= limit) throw badQuote(this.path, this.offset + at, QuoteError.unterminated);
      this.start = at + 1;
      this.end = close;
      this.quoted = true;
      this.escaped = escaped;
      this.#afterClosingQuote(close);
      return true;
    }
    // Unquoted: to the delimiter or the record's end; a quote in it is refused.
    let i = at;
    for (; i < limit; i++) {
      const b = bytes[i];
      if (b === d) {
        this.start = at;
        this.end = i;
        this.quoted = false;
        this.escaped = false;
        this.#at = i + 1;
        return true;
      }
      if (b === NL) break;
      if (b === q) throw badQuote(this.path, this.offset + i, QuoteError.inUnquotedField);
    }
    // The record's last field: a `\r` before its end is the terminator's.
    this.start = at;
    this.end = i > at && bytes[i - 1] === CR ? i - 1 : i;
    this.quoted = false;
    this.escaped = false;
    this.#next = i < limit ? i + 1 : limit;
    this.#at = -1;
    return true;
  }

  /** Skips `count` fields without looking at their values; false when the record has fewer. */
  skipFields(count: number): boolean {
    for (let k = 0; k < count; k++) if (!this.nextField()) return false;
    return true;
  }

  /** After the closing quote at `close`: the delimiter, the record's end, or a refusal. */
  #afterClosingQuote(close: number): void {
    const bytes = this.bytes;
    const limit = this.#limit;
    const c = close + 1 < limit ? bytes[close + 1] : -1;
    if (c === this.delimiter) {
      this.#at = close + 2;
    } else if (c === -1 || c === NL) {
      this.#next = c === -1 ? limit : close + 2;
      this.#at = -1;
    } else if (c === CR && (close + 2 === limit || bytes[close + 2] === NL)) {
      this.#next = Math.min(close + 3, limit);
      this.#at = -1;
    } else {
      throw badQuote(this.path, this.offset + close, QuoteError.textAfterClosingQuote);
    }
  }

  /** Finds the current record's end from its next field on: quote to quote (memchr-speed), checking each quote as nextField does. */
  #skipRest(): void {
    const bytes = this.bytes;
    const limit = this.#limit;
    const q = this.quote;
    let at = this.#at;
    let nl = -2; // the first `\n` at or after `at` once searched (-1: none)
    while (at >= 0) {
      let open = at < limit ? findByte(bytes, q, at) : -1;
      if (open >= limit) open = -1;
      if (nl !== -1 && nl < at) {
        nl = at < limit ? findByte(bytes, NL, at) : -1;
        if (nl >= limit) nl = -1;
      }
      if (open < 0 || (nl >= 0 && nl < open)) {
        this.#next = nl < 0 ? limit : nl + 1;
        break;
      }
      // An opening quote only as a field's first byte.
      if (open !== at && bytes[open - 1] !== this.delimiter) throw badQuote(this.path, this.offset + open, QuoteError.inUnquotedField);
      let close = findByte(bytes, q, open + 1);
      while (close >= 0 && close + 1 < limit && bytes[close + 1] === q) close = findByte(bytes, q, close + 2);
      if (close < 0 || close >= limit) throw badQuote(this.path, this.offset + open, QuoteError.unterminated);
      this.#afterClosingQuote(close);
      at = this.#at;
    }
    this.#at = -1;
  }

  /**
   * The field as a number when it is a plain decimal (an optional sign,
   * digits with an optional `.`, an optional exponent: `-12.5`, `3`, `.5`,
   * `1e-3`), else NaN (an empty field too). Parsed from the bytes, without a
   * string, unless it has more than 15 significant digits or a large
   * exponent; the value is always Number()'s.
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
    let seen = 0; // digits, leading zeros included
    let scale = 0;
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
      // Both operands exact, so one correctly rounded operation gives Number()'s answer.
      value = scale < 0 ? mantissa / POW10[-scale] : mantissa * POW10[scale];
    } else {
      value = Number(decoder.decode(bytes.subarray(negative || sign === 0x2b ? this.start + 1 : this.start, end)));
    }
    return negative ? -value : value;
  }

  /** The field's value as a string (UTF-8, doubled quotes undone). Allocates. */
  text(): string {
    const text = decoder.decode(this.bytes.subarray(this.start, this.end));
    if (!this.escaped) return text;
    const quote = String.fromCharCode(this.quote);
    return text.replaceAll(quote + quote, quote);
  }

  /** The field's value as bytes: a view when it has no doubled quotes, else a copy with them undone. */
  fieldBytes(): Uint8Array {
    const view = this.bytes.subarray(this.start, this.end);
    if (!this.escaped) return view;
    const out = new Uint8Array(view.length);
    let n = 0;
    for (let k = 0; k < view.length; k++) {
      out[n++] = view[k];
      if (view[k] === this.quote) k++;
    }
    return out.subarray(0, n);
  }

  /** The field's value equals `value` (a string's UTF-8 bytes), without making a string of the field. */
  equals(value: string | Uint8Array): boolean {
    const want = typeof value === 'string' ? encoder.encode(value) : value;
    const got = this.escaped ? this.fieldBytes() : this.bytes.subarray(this.start, this.end);
    if (got.length !== want.length) return false;
    for (let k = 0; k < got.length; k++) if (got[k] !== want[k]) return false;
    return true;
  }

  /** The rest of the current record's fields as strings (allocates: for headers and small records). */
  fields(): string[] {
    const out: string[] = [];
    while (this.nextField()) out.push(this.text());
    return out;
  }
}

/**
 * A field walker over `bytes`. Pass `map`'s `info` to use the run's CSV
 * options and report file offsets in errors, or the options themselves.
 * @throws ERR_PAGEWISE_BAD_RECORD (with `offset`, `reason`) as it meets a
 * quote that breaks RFC 4180's rules.
 */
export function csvFields(bytes: Uint8Array, options?: CsvFieldOptions | InfoLike): CsvFields {
  return new CsvFields(bytes, options);
}

/**
 * The fields of the first record of `bytes` as strings: the column names of
 * `info.header`. Empty for no bytes.
 */
export function csvColumns(bytes: Uint8Array | undefined, options?: CsvFieldOptions | InfoLike): string[] {
  if (bytes === undefined) return [];
  // A header is the file's first record: its offsets start at 0, whatever chunk `info` is about.
  const f = new CsvFields(bytes, options !== undefined && 'start' in options ? { ...options, start: 0 } : options);
  if (!f.nextRecord()) return [];
  return f.fields();
}
