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
 * With `write`, the records go to the run's output instead (`info.write`:
 * written by the workers at their final offsets, in order, no line through
 * the main thread), each prefixed `file:` with `withFilename`.
 *
 * Plain counting of one fixed string is a native kernel plan (memmem, then a
 * skip to the line's end, on libuv's threadpool; see `kernel`).
 */
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
}

export interface GrepAcc {
  /** Selected lines. */
  count: number;
  /** Newlines seen (only with `lineNumbers`). */
  lines?: number;
  /** Records, each ending with `\n`, in file order. */
  parts: Uint8Array[];
  /** With `lineNumbers`: for each part, the line number of each of its records, relative to this accumulator's first line. */
  numbers?: Float64Array[];
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
  const c: Compiled = {
    needles: p.ignoreCase && !p.regex ? needles.map(lowerAscii) : needles,
    ignoreCase: p.ignoreCase === true,
    invert: p.invert === true,
    word: p.word === true && p.line !== true,
    line: p.line === true,
    lineNumbers: p.lineNumbers === true,
    only: p.only === true,
    count: p.count === true,
    first: p.first === true,
    write: p.write === true,
    withFilename: p.withFilename === true,
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
  private records = 0;
  private size = 0;
  constructor(
    private readonly bytes: Uint8Array,
    withNumbers: boolean,
  ) {
    if (withNumbers) this.numbers = new Float64Array(64);
  }

  add(start: number, end: number, line: number): void {
    const bytes = this.bytes;
    const terminated = end > start && bytes[end - 1] === LF;
    this.size += end - start + (terminated ? 0 : 1);
    if (this.numbers) {
      if (this.records === this.numbers.length) this.numbers = grow(this.numbers);
      this.numbers[this.records] = line;
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

/** Where one native call copies a chunk's selected lines; grown to the largest chunk seen on this thread. */
let scratch = new Uint8Array(0);

/** Fixed strings: jumps from match to match (memmem), never looking at lines without one. */
function mapFixed(acc: GrepAcc, bytes: Uint8Array, c: Compiled, info: ChunkInfo): void {
  const hay = c.ignoreCase ? lowerAscii(bytes) : bytes;
  const n = bytes.length;
  if (c.count && !c.word && !c.line && !c.first && c.needles.length === 1 && c.needles[0].length > 0) {
    // Counting one string: the native memmem-and-skip kernel, also for -v (lines minus those containing it).
    const containing = native.countLinesContaining(hay, c.needles[0], LF);
    acc.count += c.invert ? native.countByte(bytes, LF) + (n > 0 && bytes[n - 1] !== LF ? 1 : 0) - containing : containing;
    if (c.lineNumbers) acc.lines = (acc.lines ?? 0) + native.countByte(bytes, LF);
    return;
  }
  if (!c.count && !c.word && !c.line && !c.first && !c.invert && !c.only && !c.lineNumbers && !c.ignoreCase && c.needles.length === 1 && c.needles[0].length > 0) {
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
  const records = new Records(bytes, c.lineNumbers);
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
        if (keep && !c.only) records.add(from, end, lineOf(from));
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
        if (!c.only) records.add(lineStart, end, number);
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
  if (c.lineNumbers) acc.lines = (acc.lines ?? 0) + native.countByte(bytes, LF);
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
  const records = new Records(bytes, c.lineNumbers);
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
        if (!c.only) records.add(start, nl < 0 ? end : end + 1, line);
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
  if (c.lineNumbers) acc.lines = (acc.lines ?? 0) + native.countByte(bytes, LF);
  records.flushInto(acc, c, info);
}

const grep: Job<GrepAcc> = {
  split: 'lines',
  // `lines` only where line numbers are kept, so a count's result is just `{ count, parts }`.
  init: (params) => ((params as GrepParams | undefined)?.lineNumbers ? { count: 0, lines: 0, parts: [] } : { count: 0, parts: [] }),
  map(acc, bytes, info) {
    const c = compile(info.params);
    if (c.first && acc.count > 0) return acc;
    if (c.regex) mapRegex(acc, bytes, c, info);
    else mapFixed(acc, bytes, c, info);
    return acc;
  },
  // Counting one fixed string is a native kernel plan: on mapped files it runs
  // on libuv's threadpool with no JS worker started (see Job.kernel). Any
  // other flag needs map.
  kernel(params) {
    const p = (params ?? {}) as GrepParams;
    if (!p.count || p.regex || p.ignoreCase || p.invert || p.word || p.line || p.first || p.only) return undefined;
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
    a.count += b.count;
    if (b.numbers) {
      // b's numbers count from b's first line: shift them past a's lines.
      const before = a.lines ?? 0;
      for (const numbers of b.numbers) for (let i = 0; i < numbers.length; i++) numbers[i] += before;
      (a.numbers ??= []).push(...b.numbers);
    }
    if (b.lines !== undefined) a.lines = (a.lines ?? 0) + b.lines;
    for (const part of b.parts) a.parts.push(part);
    return a;
  },
};

export default grep;
export { escapeRegExp };
