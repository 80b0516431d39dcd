/**
 * The `grep` job: lines containing a fixed string (as `grep -F -a`), or
 * matching a JavaScript RegExp per line. params:
 * `{ pattern: string, count?: boolean, regex?: boolean, flags?: string }`.
 * With `count` it returns the number of matching lines (native memmem, then a
 * skip to the line's end); otherwise the matching lines themselves, in file
 * order, with their terminators, as one Uint8Array per chunk — or, with
 * `write`, written to the run's output (`info.write`: parallel, in order, no
 * line through the main thread), each prefixed `file:` with `withFilename`.
 */
import { native } from '../native.js';
import type { ChunkInfo, Job } from '../types.js';

export interface GrepParams {
  pattern: string;
  count?: boolean;
  regex?: boolean;
  flags?: string;
  /** Write the matching lines to the run's output instead of returning them. */
  write?: boolean;
  /** With `write`: prefix each line with its file's name and ':' (grep with several files). */
  withFilename?: boolean;
}

export interface GrepAcc {
  count: number;
  /** Matching lines, each ending with `\n` (one is added where the file lacked it). */
  parts: Uint8Array[];
}

const needles = new Map<string, Uint8Array>();
const regexes = new Map<string, RegExp>();
const decoder = new TextDecoder('latin1');

function needleOf(pattern: string): Uint8Array {
  let n = needles.get(pattern);
  if (!n) {
    n = new TextEncoder().encode(pattern);
    needles.set(pattern, n);
  }
  return n;
}

const grep: Job<GrepAcc> = {
  split: 'lines',
  init: () => ({ count: 0, parts: [] }),
  map(acc, bytes, info) {
    const p = info.params as GrepParams;
    if (p.regex) return mapRegex(acc, bytes, p, info);
    const needle = needleOf(p.pattern);
    if (p.count) {
      acc.count += native.countLinesContaining(bytes, needle, 0x0a);
      return acc;
    }
    const out: Uint8Array[] = [];
    let size = 0;
    let at = 0;
    while (at < bytes.length) {
      const hit = native.indexOf(bytes, needle, at);
      if (hit < 0) break;
      const start = hit === 0 ? 0 : bytes.lastIndexOf(0x0a, hit - 1) + 1;
      const nl = native.indexOfByte(bytes, 0x0a, hit);
      const end = nl < 0 ? bytes.length : nl + 1;
      out.push(bytes.subarray(Math.max(start, at), end));
      size += end - Math.max(start, at);
      acc.count++;
      at = end;
    }
    if (out.length > 0) emit(acc, join(out, size), info, p);
    return acc;
  },
  // Counting fixed strings is a native kernel plan: on mapped files it runs on
  // libuv's threadpool with no JS worker started (see Job.kernel).
  kernel(params) {
    const p = params as GrepParams;
    if (!p.count || p.regex) return undefined;
    const needle = needleOf(p.pattern);
    if (needle.includes(0x0a)) return undefined;
    return {
      ops: [{ op: 'countRecordsContaining', needle, terminator: 0x0a }],
      fold(acc, counts) {
        acc.count += counts[0];
        return acc;
      },
    };
  },
  merge(a, b) {
    a.count += b.count;
    for (const part of b.parts) a.parts.push(part);
    return a;
  },
};

/** Copies the matched lines out of the view (views are detached after map). */
function join(pieces: Uint8Array[], size: number): Uint8Array {
  const last = pieces[pieces.length - 1];
  const needsNewline = last.length > 0 && last[last.length - 1] !== 0x0a;
  const out = new Uint8Array(size + (needsNewline ? 1 : 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  if (needsNewline) out[at] = 0x0a;
  return out;
}

function mapRegex(acc: GrepAcc, bytes: Uint8Array, p: GrepParams, info: ChunkInfo): GrepAcc {
  const key = `${p.flags ?? ''}/${p.pattern}`;
  let re = regexes.get(key);
  if (!re) {
    re = new RegExp(p.pattern, (p.flags ?? '').replace(/[gy]/g, ''));
    regexes.set(key, re);
  }
  const utf8 = new TextDecoder('utf-8');
  const out: Uint8Array[] = [];
  let size = 0;
  let start = 0;
  while (start < bytes.length) {
    const nl = native.indexOfByte(bytes, 0x0a, start);
    const end = nl < 0 ? bytes.length : nl;
    const line = bytes.subarray(start, end);
    const text = isAscii(line) ? decoder.decode(line) : utf8.decode(line);
    if (re.test(text)) {
      acc.count++;
      if (!p.count) {
        const whole = bytes.subarray(start, nl < 0 ? end : end + 1);
        out.push(whole);
        size += whole.length;
      }
    }
    start = end + 1;
  }
  if (out.length > 0) emit(acc, join(out, size), info, p);
  return acc;
}

/** A chunk's matching lines: kept in the accumulator, or written to the output. */
function emit(acc: GrepAcc, lines: Uint8Array, info: ChunkInfo, p: GrepParams): void {
  if (!p.write) {
    acc.parts.push(lines);
    return;
  }
  if (!p.withFilename) {
    info.write(lines);
    return;
  }
  const prefix = `${info.file}:`;
  let at = 0;
  while (at < lines.length) {
    const end = lines.indexOf(0x0a, at) + 1;
    info.write(prefix);
    info.write(lines.subarray(at, end));
    at = end;
  }
}

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return false;
  return true;
}

export default grep;
