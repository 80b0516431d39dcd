/**
 * CSV record boundaries by quote parity (RFC 4180, strict; docs/decisions.md,
 * "CSV"). A `\n` ends a record when an even number of quote bytes precede it
 * in the file. Parity is a prefix sum, so a range can be summarized without
 * knowing how it starts: its quote count, and its first `\n` for each of the
 * two states it may start in. The first pass of a CSV run computes these per
 * chunk in parallel; a prefix XOR in file order then says which is true.
 *
 * Strict rules (the field walker, src/csv/fields.ts, applies the same): a
 * quote opens a field only as its first byte (after the delimiter, a `\n`,
 * or at the start of the input) or as the second quote of a doubled quote; a
 * closing quote is followed by the delimiter, a quote, `\n`, `\r\n`, or the
 * end of the input (bare or after `\r`). Under those rules quote parity and
 * the RFC's state machine agree on every byte, and whether a quote obeys them
 * depends only on its neighbours and on whether it opens or closes, which
 * parity says: so a range is checked under both starting states in the same
 * pass. These are the JavaScript versions; the native twin of summarizeCsv
 * is CsvSummaryChecked (native/kernels.h).
 */
import { ErrorCodes, PagewiseError } from '../errors.js';
import type { ByteFinder } from '../plan/chunks.js';

const NL = 0x0a;
const CR = 0x0d;

const bufferIndexOf = Buffer.prototype.indexOf;

/**
 * The first `byte` at or after `from` in `bytes`, or -1: Node's Buffer
 * indexOf, which is memchr, on any Uint8Array. V8's own
 * TypedArray.prototype.indexOf is a plain loop (~0.6 GB/s on Node 20, ~2 on
 * Node 24, against ~20 GB/s for memchr over long gaps here), and the CSV
 * scanners hop from quote to quote with it.
 */
export function findByte(bytes: Uint8Array, byte: number, from: number): number {
  return bufferIndexOf.call(bytes as Buffer, byte, from);
}

/** Why a quote breaks the strict rules (the values cross threads and the native boundary). */
export const QuoteError = {
  none: 0,
  /** A quote inside a field that did not start with one (offset: that quote). */
  inUnquotedField: 1,
  /** A closing quote followed by something else than the delimiter, a quote or the record's end (offset: the closing quote). */
  textAfterClosingQuote: 2,
  /** A quoted field still open at the end of the input (offset: its opening quote). */
  unterminated: 3,
} as const;

/**
 * One range's summary, SUMMARY.size numbers at `at` in a Float64Array (so summaries
 * cross threads as one buffer). Offsets are file offsets; -1 means none.
 */
export const SUMMARY = {
  /** Quote bytes in the range. */
  quotes: 0,
  /** First `\n` with an even number of the range's quotes before it. */
  newlineEven: 1,
  /** First `\n` with an odd number. */
  newlineOdd: 2,
  /** First quote that breaks the strict rules if the range starts outside quotes, and why (QuoteError). */
  badEven: 3,
  badEvenKind: 4,
  /** The same if the range starts inside a quoted field. */
  badOdd: 5,
  badOddKind: 6,
  /**
   * The range's last quote that opens a field (not the second of a doubled
   * quote) if it starts outside quotes, and if it starts inside: the offset
   * reported for a field left open at the end of the file.
   */
  openEven: 7,
  openOdd: 8,
  size: 9,
} as const;

/**
 * Summarizes `bytes[from, to)` into `out[at, at + SUMMARY.size)` (file offsets: `base`
 * is the file offset of `bytes[0]`). `bytes` must hold the byte before
 * `from` unless `from` is the file's start, and the two bytes after `to`
 * unless the file ends first: the strict rules look at a quote's neighbours.
 */
export function summarizeCsv(
  bytes: Uint8Array,
  from: number,
  to: number,
  quote: number,
  delimiter: number,
  base: number,
  out: Float64Array,
  at: number,
): void {
  const n = bytes.length;
  let quotes = 0;
  let newlineEven = -1;
  let newlineOdd = -1;
  let badEven = -1;
  let badEvenKind = 0;
  let badOdd = -1;
  let badOddKind = 0;
  let openEven = -1;
  let openOdd = -1;
  // Hop from quote to quote (findByte is memchr); the first
  // newline at each parity is looked for only in the stretches of that
  // parity, and only until it is found. `nextNewline` is the first newline
  // at or after where it was last looked for; `to` when there is none.
  let nextNewline = from - 1;
  let i = from;
  for (;;) {
    let q = findByte(bytes, quote, i);
    if (q < 0 || q >= to) q = to;
    // [i, q) lies between two quotes: even relative parity there means
    // outside quotes under the even hypothesis.
    const even = (quotes & 1) === 0;
    if (even ? newlineEven < 0 : newlineOdd < 0) {
      if (nextNewline < i) {
        nextNewline = findByte(bytes, NL, i);
        if (nextNewline < 0 || nextNewline >= to) nextNewline = to;
      }
      if (nextNewline < q) {
        if (even) newlineEven = nextNewline;
        else newlineOdd = nextNewline;
      }
    }
    if (q === to) break;
    const p = q === 0 ? NL : bytes[q - 1];
    // Under the even hypothesis the range's quotes 0, 2, 4, ... open.
    const opensIfEven = (quotes & 1) === 0;
    if (p === delimiter || p === NL) {
      if (opensIfEven) openEven = q;
      else openOdd = q;
    }
    if (badEven < 0 || badOdd < 0) {
      const openOk = p === delimiter || p === NL || p === quote;
      let closeOk = true;
      if (q + 1 < n) {
        const x = bytes[q + 1];
        closeOk = x === delimiter || x === NL || x === quote || (x === CR && (q + 2 >= n || bytes[q + 2] === NL));
      }
      if (badEven < 0 && !(opensIfEven ? openOk : closeOk)) {
        badEven = q;
        badEvenKind = opensIfEven ? QuoteError.inUnquotedField : QuoteError.textAfterClosingQuote;
      }
      if (badOdd < 0 && !(opensIfEven ? closeOk : openOk)) {
        badOdd = q;
        badOddKind = opensIfEven ? QuoteError.textAfterClosingQuote : QuoteError.inUnquotedField;
      }
    }
    quotes++;
    i = q + 1;
  }
  const abs = (v: number): number => (v < 0 ? -1 : base + v);
  out[at + SUMMARY.quotes] = quotes;
  out[at + SUMMARY.newlineEven] = abs(newlineEven);
  out[at + SUMMARY.newlineOdd] = abs(newlineOdd);
  out[at + SUMMARY.badEven] = abs(badEven);
  out[at + SUMMARY.badEvenKind] = badEvenKind;
  out[at + SUMMARY.badOdd] = abs(badOdd);
  out[at + SUMMARY.badOddKind] = badOddKind;
  out[at + SUMMARY.openEven] = abs(openEven);
  out[at + SUMMARY.openOdd] = abs(openOdd);
}

/** The summary fields that are offsets (-1: none); the others are a count and two kinds. */
const OFFSET_FIELDS = [SUMMARY.newlineEven, SUMMARY.newlineOdd, SUMMARY.badEven, SUMMARY.badOdd, SUMMARY.openEven, SUMMARY.openOdd];

/** The scan op csvSummaryChecked's numbers (offsets from `base`, the range's start) as a summary at `at` in `out`. */
export function summaryFromScan(counts: readonly number[], base: number, out: Float64Array, at: number): void {
  for (let k = 0; k < SUMMARY.size; k++) out[at + k] = counts[k];
  for (const k of OFFSET_FIELDS) if (counts[k] >= 0) out[at + k] = base + counts[k];
}

const KIND_TEXT: Record<number, string> = {
  [QuoteError.inUnquotedField]: 'a quote inside a field that does not start with one',
  [QuoteError.textAfterClosingQuote]: 'text after the closing quote of a quoted field (expected the delimiter or the end of the record)',
  [QuoteError.unterminated]: 'a quoted field is still open at the end of the input (offset: its opening quote)',
};

/** ERR_PAGEWISE_BAD_RECORD for a quote that breaks the strict rules at file offset `offset`. */
export function badQuote(path: string | undefined, offset: number, kind: number): PagewiseError {
  const reason = kind === QuoteError.inUnquotedField ? 'quoteInUnquotedField' : kind === QuoteError.textAfterClosingQuote ? 'textAfterClosingQuote' : 'unterminatedQuote';
  return new PagewiseError(
    ErrorCodes.BAD_RECORD,
    `${path === undefined ? '' : `'${path}': `}not RFC 4180 CSV at byte offset ${offset}: ${KIND_TEXT[kind] ?? 'a misplaced quote'}`,
    { path, offset, reason },
  );
}

/**
 * Cuts a CSV stream into whole records as it arrives (the stream executor):
 * parity and the strict checks are carried from one block to the next, so a
 * record may span any number of blocks. `data` is always what is left of
 * the stream from a record start; `scan` looks at what it has not seen yet.
 */
export class CsvStreamCutter {
  /** Bytes of the pending data already scanned; parity there. */
  #scanned = 0;
  #odd = false;
  #lastOpen = -1;
  /** End of the first record (file offset), once known: the header's end. */
  firstRecordEnd = -1;

  constructor(
    private readonly quote: number,
    private readonly delimiter: number,
    private readonly label: string,
  ) {}

  /**
   * The end of the last whole record in `data` (a record start at file
   * offset `offset`), 0 when none ends in it. With `final`, `data` is the
   * stream's rest: its tail is a record too, checked for an open quote.
   * @throws ERR_PAGEWISE_BAD_RECORD for a quote that breaks the strict rules.
   */
  cut(data: Uint8Array, offset: number, final: boolean): number {
    const { quote, delimiter } = this;
    const n = data.length;
    // A quote's check looks two bytes ahead: those must have arrived.
    const limit = final ? n : Math.max(this.#scanned, n - 2);
    let lastEnd = 0;
    let odd = this.#odd;
    for (let i = this.#scanned; i < limit; i++) {
      const b = data[i];
      if (b === NL) {
        if (!odd) {
          lastEnd = i + 1;
          if (this.firstRecordEnd < 0) this.firstRecordEnd = offset + i + 1;
        }
      } else if (b === quote) {
        if (!odd) {
          const p = i === 0 ? NL : data[i - 1];
          if (!(p === delimiter || p === NL || p === quote)) throw badQuote(this.label, offset + i, QuoteError.inUnquotedField);
          if (p !== quote) this.#lastOpen = offset + i;
        } else if (i + 1 < n) {
          const x = data[i + 1];
          if (!(x === delimiter || x === NL || x === quote || (x === CR && (i + 2 >= n || data[i + 2] === NL)))) {
            throw badQuote(this.label, offset + i, QuoteError.textAfterClosingQuote);
          }
        }
        odd = !odd;
      }
    }
    this.#odd = odd;
    if (final && odd) throw badQuote(this.label, this.#lastOpen, QuoteError.unterminated);
    // The caller keeps data[lastEnd, n) as the next data's start.
    this.#scanned = limit - lastEnd;
    return lastEnd;
  }
}

/**
 * The end of the CSV record that starts at `from` (outside quotes), through a
 * byte finder: the first `\n` at even parity, plus one; `to` when the record
 * runs past it. Hops from quote to quote; for the rare checks that cannot use
 * the first pass's summaries (an explicit maxRecordLength, a chunk longer
 * than the largest view, the pure planner).
 */
export function csvRecordEnd(find: ByteFinder, quote: number, from: number, to: number): number {
  let at = from;
  while (at < to) {
    const nl = find(NL, at, to);
    const q = find(quote, at, nl < 0 ? to : nl);
    if (q < 0) return nl < 0 ? to : nl + 1;
    const close = find(quote, q + 1, to);
    if (close < 0) return to;
    at = close + 1;
  }
  return to;
}
