/**
 * The `grep` job: the lines that contain one of some fixed byte strings (as
 * `grep -F -a`), or that match a JavaScript RegExp (per line, decoded as
 * UTF-8). params: `GrepParams`.
 *
 * It returns the number of selected lines and, unless `count`, the selected
 * lines themselves (or with `only` the matched parts), in file order, each
 * ending with `\n` (added where the file's last line lacked it), as one
 * Uint8Array per map call. With `lineNumbers` each record also gets its line
 * number: a chunk's numbers are relative to its own first line, and `merge`
 * adds the line count of everything before it, so numbers stay exact across
 * chunks, threads and the streaming path.
 *
 * With `before` or `after` (grep -B, -A), the records are the selected lines
 * and their context lines, each marked in `marks` (0 selected, 1 context),
 * always with line numbers; a chunk also keeps its first `after` and last
 * `before` lines, so that `merge` adds the context lines a neighbour's
 * selected line needs from it (docs/decisions.md, "grep's context lines").
 *
 * With `write`, the records go to the run's output instead (`info.write`:
 * written by the workers at their final offsets, in order, no line through
 * the main thread), each prefixed `file:` with `withFilename`.
 *
 * Plain counting of one fixed string is a native kernel plan (memmem, then a
 * skip to the line's end, on libuv's threadpool; see `kernel`), and so are
 * its plain lines (copied there, then kept or written in order).
 */
import { InvalidOptionError } from '../errors.js';
import { native } from '../native.js';
import type { ChunkInfo, Job } from '../types.js';

export interface GrepParams {
  /** One pattern as text (its UTF-8 bytes); a newline in it separates patterns, as for grep. */
  pattern?: string;
  /** Patterns as bytes; a line containing any of them is selected. Used instead of `pattern` when given. */
  patterns?: Uint8Array[];
  /** Patterns are JavaScript regular expressions (patterns given as bytes must be valid UTF-8). */
  regex?: boolean;
  /** Extra RegExp flags with `regex` (`g` and `y` are ignored). */
  flags?: string;
  /** ASCII letters match either case (fixed strings); the RegExp `i` flag with `regex`. */
  ignoreCase?: boolean;
  /** Select the lines that do not match. */
  invert?: boolean;
  /** A match must be a whole word: not preceded or followed by [A-Za-z0-9_]. */
  word?: boolean;
  /** A match must be a whole line (grep -x); `word` is then ignored, as grep does. */
  line?: boolean;
  /** Keep each record's line number (in `numbers`). */
  lineNumbers?: boolean;
  /** Records are the matched parts, one per match, not whole lines (nothing with `invert`, as grep). */
  only?: boolean;
  /** Count selected lines only; keep no records. */
  count?: boolean;
  /** Stop at a chunk's first selected line (for `grep -q` and `-l`, which stop the run then). */
  first?: boolean;
  /** Write the records to the run's output (`info.write`) instead of keeping them (not with `lineNumbers`). */
  write?: boolean;
  /** With `write`: prefix each record with its file's name and ':' (grep with several files). */
  withFilename?: boolean;
  /** Lines of context before each selected line (grep -B); either of `before` and `after` turns context records on. */
  before?: number;
  /** Lines of context after each selected line (grep -A). */
  after?: number;
}

/** Whole lines (each ending with \n) in pieces, so that joining them copies nothing: how many lines each piece holds, and in all. */
export interface GrepLines {
  pieces: Uint8Array[];
  counts: number[];
  lines: number;
}

/** What a context run keeps of its lines' edges, so that a neighbour can take its context lines from them. Numbers are relative to the accumulator, as `numbers`. */
export interface GrepContext {
  before: number;
  after: number;
  /** It begins at a file's start: no context crosses into it (nor is its `lead` kept). */
  start: boolean;
  /** The first and last selected line (0: none). */
  first: number;
  last: number;
  /** The first and last line printed (selected or context; 0: none). */
  printedFrom: number;
  printedTo: number;
  /** Its first lines a left neighbour's after-context may need: up to `after`, none from its first printed line on. */
  lead: GrepLines;
  /** Its last lines a right neighbour's before-context may need: up to `before`, none up to its last printed line. */
  tail: GrepLines;
}

export interface GrepAcc {
  /** Selected lines. */
  count: number;
  /** Lines seen, a last one without its newline included (only with `lineNumbers`): what `merge` shifts the next numbers by. */
  lines?: number;
  /** Records, each ending with `\n`, in file order. */
  parts: Uint8Array[];
  /** With `lineNumbers`: for each part, the line number of each of its records, relative to this accumulator's first line. */
  numbers?: Float64Array[];
  /** With context (`before`, `after`): for each part, 0 for each selected line, 1 for each context line. */
  marks?: Uint8Array[];
  /** With context: the edges `merge` needs. */
  context?: GrepContext;
}

const LF = 0x0a;

interface Compiled {
  needles: Uint8Array[];
  regex?: RegExp;
  ignoreCase: boolean;
  invert: boolean;
  word: boolean;
  line: boolean;
  lineNumbers: boolean;
  only: boolean;
  count: boolean;
  first: boolean;
  write: boolean;
  withFilename: boolean;
  /** Context lines before and after each selected line (-1: no context). */
  before: number;
  after: number;
}

const compiledCache = new WeakMap<object, Compiled>();
const encoder = new TextEncoder();

/** The patterns as bytes: `patterns`, or `pattern` split at newlines. */
export function patternBytes(p: GrepParams): Uint8Array[] {
  if (p.patterns !== undefined) return p.patterns.flatMap((b) => splitLines(b));
  return splitLines(encoder.encode(p.pattern ?? ''));
}

function splitLines(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const nl = bytes.indexOf(LF, at);
    if (nl < 0) {
      out.push(bytes.subarray(at));
      return out;
    }
    out.push(bytes.subarray(at, nl));
    at = nl + 1;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function compile(params: unknown): Compiled {
  const p = (params ?? {}) as GrepParams;
  const cached = compiledCache.get(p);
  if (cached) return cached;
  const needles = patternBytes(p);
  const context = (p.before !== undefined || p.after !== undefined) && p.count !== true && p.first !== true;
  if (context && (p.only === true || p.write === true)) {
    // Context lines are whole lines: the CLI's -o finds the matches in them itself (matchedParts).
    throw new InvalidOptionError(p.only === true ? 'params.only' : 'params.write', 'false with params.before or params.after (context lines are whole lines)', true);
  }
  const c: Compiled = {
    needles: p.ignoreCase && !p.regex ? needles.map(lowerAscii) : needles,
    ignoreCase: p.ignoreCase === true,
    invert: p.invert === true,
    word: p.word === true && p.line !== true,
    line: p.line === true,
    lineNumbers: p.lineNumbers === true || context,
    only: p.only === true,
    count: p.count === true,
    first: p.first === true,
    write: p.write === true,
    withFilename: p.withFilename === true,
    before: context ? contextLength(p.before) : -1,
    after: context ? contextLength(p.after) : -1,
  };
  if (p.regex) {
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    const sources = needles.map((n) => utf8.decode(n));
    let source = sources.length === 1 ? sources[0] : sources.map((s) => `(?:${s})`).join('|');
    if (c.word) source = `(?<![A-Za-z0-9_])(?:${source})(?![A-Za-z0-9_])`;
    // The whole line, whatever flags are given: with 'm', ^ and $ would also match at a \r inside it.
    if (c.line) source = `(?<![\\s\\S])(?:${source})(?![\\s\\S])`;
    let flags = (p.flags ?? '').replace(/[gy]/g, '');
    if (c.ignoreCase && !flags.includes('i')) flags += 'i';
    c.regex = new RegExp(source, flags + 'g');
  }
  compiledCache.set(p, c);
  return c;
}

/** ASCII letters to lower case (the other bytes unchanged), into a new array. */
function lowerAscii(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    out[i] = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
  }
  return out;
}

/** A context length: a whole number of lines (undefined: 0; Infinity: every line). */
function contextLength(n: number | undefined): number {
  if (n === undefined) return 0;
  if (n === Infinity) return Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidOptionError('params.before and params.after', 'whole numbers of lines >= 0', n);
  return n;
}

function isWordByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f;
}

/**
 * Collects the records of one map call as byte ranges of the view (adjacent
 * whole lines merge into one range: no object per record), then copies them
 * out, since views are detached after map.
 */
class Records {
  private ranges: Float64Array<ArrayBuffer> = new Float64Array(64);
  private count = 0;
  private numbers: Float64Array<ArrayBuffer> | undefined;
  private marks: Uint8Array<ArrayBuffer> | undefined;
  private records = 0;
  private size = 0;
  constructor(
    private readonly bytes: Uint8Array,
    withNumbers: boolean,
    withMarks = false,
  ) {
    if (withNumbers) this.numbers = new Float64Array(64);
    if (withMarks) this.marks = new Uint8Array(64);
  }

  add(start: number, end: number, line: number, mark = 0): void {
    const bytes = this.bytes;
    const terminated = end > start && bytes[end - 1] === LF;
    this.size += end - start + (terminated ? 0 : 1);
    if (this.numbers) {
      if (this.records === this.numbers.length) this.numbers = grow(this.numbers);
      this.numbers[this.records] = line;
    }
    if (this.marks) {
      if (this.records === this.marks.length) this.marks = growBytes(this.marks);
      this.marks[this.records] = mark;
    }
    this.records++;
    const r = this.ranges;
    // A whole line right after the previous one (which ended with \n): one range.
    if (terminated && this.count > 0 && r[2 * this.count - 1] === start && bytes[start - 1] === LF) {
      r[2 * this.count - 1] = end;
      return;
    }
    if (2 * this.count === r.length) this.ranges = grow(r);
    this.ranges[2 * this.count] = start;
    this.ranges[2 * this.count + 1] = end;
    this.count++;
  }

  /** A record that is not in the view (a RegExp match re-encoded). */
  addCopy(piece: Uint8Array, line: number): void {
    this.extra ??= [];
    this.extra.push(piece);
    this.add(-this.extra.length, -this.extra.length, line);
    this.size += piece.length;
  }

  private extra: Uint8Array[] | undefined;

  flushInto(acc: GrepAcc, c: Compiled, info: ChunkInfo): void {
    if (this.records === 0) return;
    const out = new Uint8Array(this.size);
    let at = 0;
    for (let k = 0; k < this.count; k++) {
      const start = this.ranges[2 * k];
      const end = this.ranges[2 * k + 1];
      if (start < 0) {
        const piece = this.extra![-start - 1];
        out.set(piece, at);
        at += piece.length;
        out[at++] = LF;
        continue;
      }
      out.set(this.bytes.subarray(start, end), at);
      at += end - start;
      if (end === start || this.bytes[end - 1] !== LF) out[at++] = LF;
    }
    if (c.write) writeRecords(out, c, info);
    else acc.parts.push(out);
    if (this.numbers) (acc.numbers ??= []).push(this.numbers.slice(0, this.records));
    if (this.marks) (acc.marks ??= []).push(this.marks.slice(0, this.records));
  }
}

/** Records (each ending with \n) to the run's output, each after `file:` with `withFilename`. */
function writeRecords(out: Uint8Array, c: Compiled, info: ChunkInfo): void {
  if (!c.withFilename) {
    info.write(out);
    return;
  }
  const prefix = `${info.file}:`;
  for (let at = 0; at < out.length; ) {
    const end = out.indexOf(LF, at) + 1;
    info.write(prefix);
    info.write(out.subarray(at, end));
    at = end;
  }
}

function grow(a: Float64Array): Float64Array<ArrayBuffer> {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

function growBytes(a: Uint8Array): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(a.length * 2);
  b.set(a);
  return b;
}

/**
 * The leftmost match at or after `from` (before `limit`) of any needle, the
 * longest of those starting there, that passes the word test: [start, end],
 * or undefined. `next[k]` caches needle k's next occurrence.
 */
function finder(hay: Uint8Array, c: Compiled, limit: number): (from: number) => [number, number] | undefined {
  const next = new Array<number>(c.needles.length).fill(-2);
  const occurrence = (k: number, from: number): number => {
    const needle = c.needles[k];
    for (let at = from; at <= limit; ) {
      const hit = needle.length === 0 ? at : native.indexOf(hay, needle, at, limit);
      if (hit < 0) return -1;
      const end = hit + needle.length;
      if (c.line) {
        if ((hit === 0 || hay[hit - 1] === LF) && (end >= limit || hay[end] === LF)) return hit;
      } else if (!c.word) return hit;
      else if ((hit === 0 || !isWordByte(hay[hit - 1])) && (end >= limit || !isWordByte(hay[end]))) return hit;
      at = hit + 1;
    }
    return -1;
  };
  return (from) => {
    let best = -1;
    let bestEnd = -1;
    for (let k = 0; k < c.needles.length; k++) {
      if (next[k] !== -1 && next[k] < from) next[k] = occurrence(k, from);
      const hit = next[k];
      if (hit < 0) continue;
      const end = hit + c.needles[k].length;
      if (best < 0 || hit < best || (hit === best && end > bestEnd)) {
        best = hit;
        bestEnd = end;
      }
    }
    return best < 0 ? undefined : [best, bestEnd];
  };
}

/** Bytes [start, end) of `bytes` as lines each ending with \n (one is added to an unterminated last line). */
function linesCopy(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const terminated = end === start || bytes[end - 1] === LF;
  const out = new Uint8Array(end - start + (terminated ? 0 : 1));
  out.set(bytes.subarray(start, end));
  if (!terminated) out[out.length - 1] = LF;
  return out;
}

/** Where the line before the one starting at `start` starts (`start` > 0 is a line start). */
function previousLine(bytes: Uint8Array, start: number): number {
  // A short line by a loop (lastIndexOf is a runtime call); lastIndexOf takes a negative index from the end.
  const stop = Math.max(0, start - 66);
  for (let i = start - 2; i >= stop; i--) if (bytes[i] === LF) return i + 1;
  return stop === 0 ? 0 : bytes.lastIndexOf(LF, stop - 1) + 1;
}

/** Just past the \n that ends the line at `from`, or `limit`: a short line by a loop, which costs less than a native call. */
function lineEnd(bytes: Uint8Array, from: number, limit: number): number {
  const stop = Math.min(limit, from + 64);
  for (let i = from; i < stop; i++) if (bytes[i] === LF) return i + 1;
  if (stop === limit) return limit;
  const nl = native.indexOfByte(bytes, LF, stop, limit);
  return nl < 0 ? limit : nl + 1;
}

/** The first `n` lines of `bytes` (lines ending with \n, the last maybe not) before `limit`: [end offset, lines]. */
function firstLinesEnd(bytes: Uint8Array, n: number, limit: number): [number, number] {
  // All of them (a long -A): counted, not walked.
  const all = native.countByte(bytes, LF, 0, limit) + (limit > 0 && bytes[limit - 1] !== LF ? 1 : 0);
  if (all <= n) return [limit, all];
  let at = 0;
  for (let k = 0; k < n; k++) at = lineEnd(bytes, at, limit);
  return [at, n];
}

/** The last `n` lines of `bytes`, none before `floor` (a line start): [start offset, lines]. */
function lastLinesStart(bytes: Uint8Array, n: number, floor: number): [number, number] {
  const end = bytes.length;
  // All of them (a long -B): counted, not walked.
  const all = native.countByte(bytes, LF, floor, end) + (end > floor && bytes[end - 1] !== LF ? 1 : 0);
  if (all <= n) return [floor, all];
  let at = bytes.length;
  let k = 0;
  // An unterminated last line is a line too.
  if (n > 0 && at > floor && bytes[at - 1] !== LF) {
    at = Math.max(bytes.lastIndexOf(LF, at - 1) + 1, floor);
    k++;
  }
  while (k < n && at > floor) {
    at = Math.max(previousLine(bytes, at), floor);
    k++;
  }
  return [at, k];
}

/**
 * The context lines of one map call: each selected line is added with the
 * `before` lines ahead of it and the `after` lines behind it that are in the
 * view, none twice. `merge` adds those that are in a neighbour's view.
 */
class Windows {
  /** The line after the last one added (a line start), its number, and the after-context lines owed from there. */
  private at = 0;
  private atLine = 1;
  private owed = 0;
  first = 0;
  last = 0;
  printedFrom = 0;
  printedTo = 0;
  /** Where the first printed line starts. */
  private printedAt = -1;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly records: Records,
    private readonly before: number,
    private readonly after: number,
    private readonly fileStart: boolean,
  ) {}

  /** Where the before-context lines start, nearest first (reused). */
  private starts: number[] = [];

  select(start: number, end: number, line: number): void {
    this.pay(start);
    const starts = this.starts;
    let k = 0;
    for (let from = start; k < this.before && from > this.at; k++) {
      from = Math.max(previousLine(this.bytes, from), this.at);
      starts[k] = from;
    }
    // Each line ends where the next one starts.
    for (let j = k - 1; j >= 0; j--) this.add(starts[j], j === 0 ? start : starts[j - 1], line - j - 1, 1);
    this.add(start, end, line, 0);
    if (this.first === 0) this.first = line;
    this.last = line;
    this.at = end;
    this.atLine = line + 1;
    this.owed = this.after;
  }

  /** The after-context owed, up to `limit` (the next selected line, or the view's end). */
  pay(limit: number): void {
    while (this.owed > 0 && this.at < limit) {
      const e = lineEnd(this.bytes, this.at, limit);
      this.add(this.at, e, this.atLine, 1);
      this.at = e;
      this.atLine++;
      this.owed--;
    }
  }

  private add(start: number, end: number, line: number, mark: number): void {
    this.records.add(start, end, line, mark);
    if (this.printedFrom === 0) {
      this.printedFrom = line;
      this.printedAt = start;
    }
    this.printedTo = line;
  }

  /** The edges of the view a neighbour takes its context lines from. */
  edges(): GrepContext {
    const bytes = this.bytes;
    // Only lines before the first printed one, after the last printed one (this.at), can be a neighbour's context.
    const [leadEnd, leadLines] = this.fileStart ? [0, 0] : firstLinesEnd(bytes, this.after, this.printedAt < 0 ? bytes.length : this.printedAt);
    const [tailStart, tailLines] = lastLinesStart(bytes, this.before, this.printedAt < 0 ? 0 : this.at);
    return {
      before: this.before,
      after: this.after,
      start: this.fileStart,
      first: this.first,
      last: this.last,
      printedFrom: this.printedFrom,
      printedTo: this.printedTo,
      lead: linesOf(linesCopy(bytes, 0, leadEnd), leadLines),
      tail: linesOf(linesCopy(bytes, tailStart, bytes.length), tailLines),
    };
  }
}

function linesOf(bytes: Uint8Array, lines: number): GrepLines {
  return lines === 0 ? { pieces: [], counts: [], lines: 0 } : { pieces: [bytes], counts: [lines], lines };
}

/** Offsets of the line starts of `lines` (lines each ending with \n). */
function lineStarts(lines: Uint8Array): number[] {
  const starts = [0];
  for (let at = lines.indexOf(LF); at >= 0 && at + 1 < lines.length; at = lines.indexOf(LF, at + 1)) starts.push(at + 1);
  return starts;
}

/** The first `n` lines of `l` (n <= l.lines). */
function firstLinesOf(l: GrepLines, n: number): GrepLines {
  const out: GrepLines = { pieces: [], counts: [], lines: 0 };
  for (let i = 0; i < l.pieces.length && out.lines < n; i++) {
    const take = Math.min(l.counts[i], n - out.lines);
    const starts = take < l.counts[i] ? lineStarts(l.pieces[i]) : undefined;
    out.pieces.push(starts ? l.pieces[i].subarray(0, starts[take]) : l.pieces[i]);
    out.counts.push(take);
    out.lines += take;
  }
  return out;
}

/** The last `n` lines of `l` (n <= l.lines). */
function lastLinesOf(l: GrepLines, n: number): GrepLines {
  const out: GrepLines = { pieces: [], counts: [], lines: 0 };
  for (let i = l.pieces.length - 1; i >= 0 && out.lines < n; i--) {
    const take = Math.min(l.counts[i], n - out.lines);
    const starts = take < l.counts[i] ? lineStarts(l.pieces[i]) : undefined;
    out.pieces.unshift(starts ? l.pieces[i].subarray(starts[l.counts[i] - take]) : l.pieces[i]);
    out.counts.unshift(take);
    out.lines += take;
  }
  return out;
}

function joinLines(a: GrepLines, b: GrepLines): GrepLines {
  return { pieces: [...a.pieces, ...b.pieces], counts: [...a.counts, ...b.counts], lines: a.lines + b.lines };
}

/** Context lines as parts of their own: numbered from `from`, all marked 1. */
function contextParts(acc: GrepAcc, lines: GrepLines, from: number): void {
  for (let i = 0; i < lines.pieces.length; i++) {
    const count = lines.counts[i];
    const first = from;
    acc.parts.push(lines.pieces[i]);
    (acc.numbers ??= []).push(Float64Array.from({ length: count }, (_, k) => first + k));
    (acc.marks ??= []).push(new Uint8Array(count).fill(1));
    from += count;
  }
}

/**
 * Before `merge` appends b: the context lines one side needs from the other
 * (a's last lines before b's first selected line, b's first lines after a's
 * last one), and the edges of the two together. Lines are numbered in a's
 * frame; b's own numbers are shifted by the caller.
 */
function mergeContext(a: GrepAcc, b: GrepAcc): void {
  const y = b.context;
  if (y === undefined) return;
  const shift = a.lines ?? 0;
  const at = (n: number): number => (n > 0 ? shift + n : 0);
  const x = a.context;
  if (x === undefined) {
    // a holds nothing yet: b's edges, in a's frame.
    a.context = { ...y, first: at(y.first), last: at(y.last), printedFrom: at(y.printedFrom), printedTo: at(y.printedTo) };
    return;
  }
  const { before, after } = y;
  if (y.start) {
    // b begins another file: no context crosses between them. What a later neighbour
    // needs is b's: its tail and last selected line; a's lead and first lines stay.
    x.last = at(y.last);
    x.printedTo = y.printedTo > 0 ? shift + y.printedTo : shift;
    x.tail = y.tail;
    return;
  }
  const hadPrinted = x.printedFrom > 0;
  let printedTo = x.printedTo;
  if (y.first > 0) {
    // a's lines from..shift lie within `before` of b's first selected line, after a's last printed one.
    const from = Math.max(x.printedTo + 1, shift + y.first - before, 1);
    if (from <= shift) {
      contextParts(a, lastLinesOf(x.tail, shift - from + 1), from);
      if (x.printedFrom === 0) x.printedFrom = from;
      printedTo = shift;
    }
  }
  if (x.last > 0) {
    // b's lines 1..to lie within `after` of a's last selected line, before b's first printed one.
    let to = Math.min(x.last + after - shift, y.lead.lines);
    if (y.printedFrom > 0) to = Math.min(to, y.printedFrom - 1);
    if (to >= 1) {
      contextParts(a, firstLinesOf(y.lead, to), shift + 1);
      printedTo = shift + to;
    }
  }
  if (y.printedFrom > 0) {
    if (x.printedFrom === 0) x.printedFrom = shift + y.printedFrom;
    printedTo = shift + y.printedTo;
  }
  x.printedTo = printedTo;
  if (x.first === 0 && y.first > 0) x.first = shift + y.first;
  if (y.last > 0) x.last = shift + y.last;
  // The lead grows only while a printed nothing: lines from its first printed one on are never a neighbour's context.
  if (!x.start && !hadPrinted && x.lead.lines < after) x.lead = joinLines(x.lead, firstLinesOf(y.lead, Math.min(after - x.lead.lines, y.lead.lines)));
  if (x.printedFrom > 0 && x.lead.lines > x.printedFrom - 1) x.lead = firstLinesOf(x.lead, x.printedFrom - 1);
  // The tail: the last `before` lines after the last printed one.
  let tail = y.tail.lines >= before || y.printedFrom > 0 ? y.tail : joinLines(x.tail, y.tail);
  const unprinted = shift + (b.lines ?? 0) - x.printedTo;
  const keep = Math.max(0, Math.min(before, unprinted, tail.lines));
  if (keep < tail.lines) tail = lastLinesOf(tail, keep);
  x.tail = tail;
}

/**
 * The lines of a view, a last one without its newline included. Only a
 * file's (or stream's) last view can end inside a line, so in a run over
 * several inputs the next input's numbers start after it.
 */
function linesIn(bytes: Uint8Array): number {
  const n = bytes.length;
  return native.countByte(bytes, LF) + (n > 0 && bytes[n - 1] !== LF ? 1 : 0);
}

/** Where one native call copies a chunk's selected lines; grown to the largest chunk seen on this thread. */
let scratch = new Uint8Array(0);

/** Lines a findLinesContaining call reports at most, and where (start, end, line index: three numbers each). */
const FOUND_CAP = 4096;
const found = new Float64Array(3 * FOUND_CAP);

/** Whole lines containing one string, nothing else asked: what one native copy makes (here or as the kernel plan). */
function copiesPlainLines(c: Compiled): boolean {
  return !c.regex && !c.count && !c.word && !c.line && !c.first && !c.invert && !c.only && !c.lineNumbers && !c.ignoreCase && c.needles.length === 1 && c.needles[0].length > 0;
}

/**
 * The plain lines as a kernel plan: not when each written line gets its
 * file's name, a JavaScript loop per line that the workers run in parallel
 * (on the main thread it made `grep e --output` over two files 6x slower).
 */
function kernelCopies(c: Compiled): boolean {
  return copiesPlainLines(c) && !(c.write && c.withFilename);
}

/**
 * Whether the plain lines asked for are one native copy (the kernel plan's,
 * on a mapped file): the CLI starts no workers for them.
 */
export function copiesNatively(params: GrepParams): boolean {
  // What map would refuse (a context with write, a bad RegExp) is left to map to say.
  if (params.regex || params.before !== undefined || params.after !== undefined) return false;
  return kernelCopies(compile(params));
}

/** Fixed strings: jumps from match to match (memmem), never looking at lines without one. */
function mapFixed(acc: GrepAcc, bytes: Uint8Array, c: Compiled, info: ChunkInfo): void {
  const hay = c.ignoreCase ? lowerAscii(bytes) : bytes;
  const n = bytes.length;
  if (c.count && !c.word && !c.line && !c.first && c.needles.length === 1 && c.needles[0].length > 0) {
    // Counting one string: the native memmem-and-skip kernel, also for -v (lines minus those containing it).
    const containing = native.countLinesContaining(hay, c.needles[0], LF);
    const lines = c.invert || c.lineNumbers ? linesIn(bytes) : 0;
    acc.count += c.invert ? lines - containing : containing;
    if (c.lineNumbers) acc.lines = (acc.lines ?? 0) + lines;
    return;
  }
  if (copiesPlainLines(c)) {
    // Whole lines containing one string: found and copied in one native call (a JS loop
    // would make three calls per selected line).
    if (scratch.length < n + 1) scratch = new Uint8Array(n + 1);
    const [written, selected] = native.copyLinesContaining(bytes, c.needles[0], LF, scratch);
    acc.count += selected;
    if (written > 0) {
      // Out of the thread's scratch buffer (reused: a chunk-sized allocation per call cost page faults and GC).
      const lines = scratch.slice(0, written);
      if (c.write) writeRecords(lines, c, info);
      else {
        acc.parts.push(lines);
        // Moved to the main thread with the partial, not copied three more times on the way.
        info.transfer(lines);
      }
    }
    return;
  }
  const find = finder(hay, c, n);
  const records = new Records(bytes, c.lineNumbers, c.before >= 0);
  const windows = c.before >= 0 ? new Windows(bytes, records, c.before, c.after, info.start === 0) : undefined;
  const select = (start: number, end: number, line: number): void => (windows ? windows.select(start, end, line) : records.add(start, end, line));
  const keep = !c.count;
  // Line number (relative to the accumulator) of the line starting at `lineAt`.
  let lineAt = 0;
  let line = (acc.lines ?? 0) + 1;
  const lineOf = (start: number): number => {
    if (c.lineNumbers) {
      line += native.countByte(bytes, LF, lineAt, start);
      lineAt = start;
    }
    return line;
  };
  let at = 0;
  // The empty needle also "occurs" at the very end; that is a line only when the last one lacks its newline.
  const endIsLine = n > 0 && bytes[n - 1] !== LF;
  if (keep && !c.word && !c.line && !c.first && !c.invert && !c.only && c.lineNumbers && c.needles.length === 1 && c.needles[0].length > 0) {
    // Numbered lines containing one string (grep -n, context lines): a native call per
    // FOUND_CAP lines instead of four per line.
    for (let before = 0; ; ) {
      const [k, next] = native.findLinesContaining(hay, c.needles[0], LF, found, at);
      for (let i = 0; i < k; i++) select(found[3 * i], found[3 * i + 1], line + before + found[3 * i + 2]);
      acc.count += k;
      if (k < FOUND_CAP) break;
      before += found[3 * k - 1] + 1;
      at = next;
    }
    at = n;
  }
  while (at < n) {
    let m = find(at);
    if (m !== undefined && m[0] === n && !endIsLine) m = undefined;
    const start = m === undefined ? n : m[0] === 0 ? 0 : bytes.lastIndexOf(LF, m[0] - 1) + 1;
    const lineStart = Math.max(start, at);
    if (c.invert) {
      // Every line in [at, lineStart) is selected.
      let from = at;
      while (from < lineStart) {
        const nl = native.indexOfByte(bytes, LF, from, lineStart);
        const end = nl < 0 ? lineStart : nl + 1;
        acc.count++;
        if (keep && !c.only) select(from, end, lineOf(from));
        from = end;
        if (c.first) break;
      }
      if (c.first && acc.count > 0) break;
    }
    if (m === undefined) break;
    const nl = native.indexOfByte(bytes, LF, m[0]);
    const end = nl < 0 ? n : nl + 1;
    if (!c.invert) {
      acc.count++;
      if (keep) {
        const number = lineOf(lineStart);
        if (!c.only) select(lineStart, end, number);
        else {
          // Every non-empty match of the line, left to right, not overlapping.
          const lineEnd = nl < 0 ? n : nl;
          for (let hit: [number, number] | undefined = m; hit !== undefined && hit[0] < lineEnd; ) {
            if (hit[1] > hit[0]) records.add(hit[0], hit[1], number);
            hit = find(hit[1] > hit[0] ? hit[1] : hit[0] + 1);
          }
        }
      }
      if (c.first) break;
    }
    at = end;
  }
  if (c.lineNumbers) acc.lines = (acc.lines ?? 0) + linesIn(bytes);
  if (windows) {
    windows.pay(n);
    acc.context = windows.edges();
  }
  records.flushInto(acc, c, info);
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return false;
  return true;
}

/** RegExp: line by line, each line decoded as UTF-8 (invalid bytes become U+FFFD). */
function mapRegex(acc: GrepAcc, bytes: Uint8Array, c: Compiled, info: ChunkInfo): void {
  const re = c.regex!;
  const records = new Records(bytes, c.lineNumbers, c.before >= 0);
  const windows = c.before >= 0 ? new Windows(bytes, records, c.before, c.after, info.start === 0) : undefined;
  let line = acc.lines ?? 0;
  let start = 0;
  while (start < bytes.length) {
    const nl = native.indexOfByte(bytes, LF, start);
    const end = nl < 0 ? bytes.length : nl;
    line++;
    const raw = bytes.subarray(start, end);
    const ascii = isAscii(raw);
    const text = ascii ? latin1.decode(raw) : utf8.decode(raw);
    re.lastIndex = 0;
    let m = re.exec(text);
    if ((m !== null) !== c.invert) {
      acc.count++;
      if (!c.count) {
        if (windows) windows.select(start, nl < 0 ? end : end + 1, line);
        else if (!c.only) records.add(start, nl < 0 ? end : end + 1, line);
        else if (!c.invert) {
          for (; m !== null; m = re.exec(text)) {
            if (m[0].length === 0) {
              re.lastIndex++;
              continue;
            }
            if (ascii) records.add(start + m.index, start + m.index + m[0].length, line);
            else records.addCopy(encoder.encode(m[0]), line);
          }
        }
      }
      if (c.first) break;
    }
    start = end + 1;
  }
  if (c.lineNumbers) acc.lines = (acc.lines ?? 0) + linesIn(bytes);
  if (windows) {
    windows.pay(bytes.length);
    acc.context = windows.edges();
  }
  records.flushInto(acc, c, info);
}

/**
 * The non-empty matches of `params` in one line (without its \n), left to
 * right, not overlapping, as `only` records them: for grep -o over context
 * records, whose lines the job keeps whole.
 */
export function matchedParts(params: GrepParams, line: Uint8Array): Uint8Array[] {
  const c = compile(params);
  const out: Uint8Array[] = [];
  if (c.regex) {
    const ascii = isAscii(line);
    const text = ascii ? latin1.decode(line) : utf8.decode(line);
    const re = c.regex;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      out.push(ascii ? line.subarray(m.index, m.index + m[0].length) : encoder.encode(m[0]));
    }
    return out;
  }
  const find = finder(c.ignoreCase ? lowerAscii(line) : line, c, line.length);
  for (let hit = find(0); hit !== undefined && hit[0] < line.length; ) {
    if (hit[1] > hit[0]) out.push(line.subarray(hit[0], hit[1]));
    hit = find(hit[1] > hit[0] ? hit[1] : hit[0] + 1);
  }
  return out;
}

const grep: Job<GrepAcc> = {
  split: 'lines',
  // `lines` only where line numbers are kept, so a count's result is just `{ count, parts }`.
  init(params) {
    const p = params as GrepParams | undefined;
    return p?.lineNumbers || p?.before !== undefined || p?.after !== undefined ? { count: 0, lines: 0, parts: [] } : { count: 0, parts: [] };
  },
  map(acc, bytes, info) {
    const c = compile(info.params);
    if (c.first && acc.count > 0) return acc;
    // Context lines: the view on its own, then merged, which adds the context lines between it and what came before.
    const into: GrepAcc = c.before >= 0 ? { count: 0, lines: 0, parts: [] } : acc;
    if (c.regex) mapRegex(into, bytes, c, info);
    else mapFixed(into, bytes, c, info);
    return into === acc ? acc : grep.merge(acc, into);
  },
  // Counting one fixed string, or its plain lines, is a native kernel plan:
  // on mapped files it runs on libuv's threadpool with no JS worker started
  // (see Job.kernel); the lines are copied there too, and written or kept in
  // order by the main thread. Any other flag needs map.
  kernel(params) {
    const p = (params ?? {}) as GrepParams;
    if (!p.count) {
      if (!copiesNatively(p)) return undefined;
      const c = compile(p);
      return {
        ops: [{ op: 'copyRecordsContaining', needle: c.needles[0], terminator: LF }],
        fold(acc, counts, info, lines) {
          acc.count += counts[0];
          if (lines === undefined) return acc;
          if (c.write) writeRecords(lines, c, info);
          else acc.parts.push(lines);
          return acc;
        },
      };
    }
    if (p.regex || p.ignoreCase || p.invert || p.word || p.line || p.first || p.only) return undefined;
    const needles = patternBytes(p);
    if (needles.length !== 1 || needles[0].length === 0) return undefined;
    return {
      ops: [{ op: 'countRecordsContaining', needle: needles[0], terminator: LF }],
      fold(acc, counts) {
        acc.count += counts[0];
        return acc;
      },
    };
  },
  merge(a, b) {
    mergeContext(a, b);
    a.count += b.count;
    if (b.numbers) {
      // b's numbers count from b's first line: shift them past a's lines.
      const before = a.lines ?? 0;
      for (const numbers of b.numbers) for (let i = 0; i < numbers.length; i++) numbers[i] += before;
      (a.numbers ??= []).push(...b.numbers);
    }
    if (b.marks) (a.marks ??= []).push(...b.marks);
    if (b.lines !== undefined) a.lines = (a.lines ?? 0) + b.lines;
    for (const part of b.parts) a.parts.push(part);
    return a;
  },
};

export default grep;
export { escapeRegExp };
