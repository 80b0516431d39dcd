/**
 * What the commands print: wc's columns, grep's records, results of `run`
 * (text and the JSON rules), 1BRC stats, run statistics, error lines. Pure
 * functions of their input; nothing here loads the addon.
 */
import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import { clusterStatsText } from '../cluster/cli.js';
import type { RunStats } from '../run/pipeline.js';
import { argvBytes } from './args.js';


/** Bytes for people: `64 KiB`, `1.5 GiB` (the library's formatBytes, kept here so the display needs no addon). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

// -------------------------------------------------------------------- wc --

export type WcColumn = 'lines' | 'words' | 'chars' | 'bytes';
/** GNU wc's column order. */
export const WC_ORDER: WcColumn[] = ['lines', 'words', 'chars', 'bytes'];

/**
 * GNU wc's column width (coreutils 9.1 compute_number_width): one column for
 * a single input: no padding; otherwise the digits of the regular files'
 * total size (from stat, before counting), at least 7 if an input is not a
 * regular file (a directory counts: it can be opened); 1 when the first input
 * could not be opened.
 */
export function wcWidth(columns: number, inputs: { failed: boolean; directory?: boolean; regular: boolean; size: number }[]): number {
  if (inputs.length === 1 && columns === 1) return 1;
  const opened = (i: { failed: boolean; directory?: boolean }): boolean => !i.failed || i.directory === true;
  if (inputs.length === 0 || !opened(inputs[0])) return 1;
  let minimum = 1;
  let total = 0;
  for (const input of inputs) {
    if (!opened(input)) continue;
    if (!input.regular) minimum = 7;
    else total += input.size;
  }
  return Math.max(minimum, String(total).length);
}

/** One row of wc: the columns asked for, right-aligned to `width`, then the name (none for stdin). */
export function wcRow(counts: Partial<Record<WcColumn, number>>, columns: WcColumn[], width: number, name: string | undefined): string {
  const numbers = columns.map((c) => String(counts[c] ?? 0).padStart(width)).join(' ');
  return name === undefined ? `${numbers}\n` : `${numbers} ${name}\n`;
}

// ------------------------------------------------------------------ grep --

/** grep's record prefix: `file:` with several files, `N:` with -n. */
export function grepPrefix(file: string | undefined, line: number | undefined): string {
  return `${file === undefined ? '' : `${file}:`}${line === undefined ? '' : `${line}:`}`;
}

/** Output is handed out in pieces of about this many bytes, so a chunk's worth of records is never one huge string. */
const PIECE = 1 << 16;
const NEWLINE = new Uint8Array([0x0a]);
/** Lines up to this long are copied by a loop that also finds their end. */
const SHORT = 64;

/**
 * grep's output lines, formatted into buffers of about PIECE bytes: the
 * name and the number, each followed by `:` (a selected line) or `-` (a
 * context line), then the record and its newline. Byte by byte, not by
 * strings: a string and a Buffer per line made `grep -n` on many lines
 * several times slower than the lines themselves.
 */
export class GrepLines {
  private buf = Buffer.allocUnsafe(PIECE);
  private pos = 0;
  private readonly name: Buffer | undefined;
  constructor(
    private readonly write: (piece: Uint8Array) => void,
    file: string | undefined,
  ) {
    this.name = file === undefined ? undefined : Buffer.from(file);
  }

  /** The name and the number, each followed by `mark`, at the buffer's position (room for them is made by the caller): returns the position after them. */
  private prefix(number: number | undefined, mark: number): number {
    const buf = this.buf;
    let pos = this.pos;
    if (this.name !== undefined) {
      pos += this.name.copy(buf, pos);
      buf[pos++] = mark;
    }
    if (number !== undefined) {
      pos = writeDigits(buf, pos, number);
      buf[pos++] = mark;
    }
    return pos;
  }

  /** Bytes [start, end) of `data` (a record without its newline), after its prefix. `mark`: 0x3a (`:`) or 0x2d (`-`). */
  record(data: Uint8Array, start: number, end: number, number: number | undefined, mark: number): void {
    const name = this.name;
    const length = end - start;
    const need = (name === undefined ? 0 : name.length + 1) + 18 + length + 1;
    if (this.pos + need > this.buf.length) {
      this.flush();
      if (need > this.buf.length) this.buf = Buffer.allocUnsafe(need);
    }
    const buf = this.buf;
    let pos = this.prefix(number, mark);
    // Short lines by a loop: a native copy's call costs more than it copies.
    if (length <= 32) for (let i = start; i < end; i++) buf[pos++] = data[i];
    else {
      buf.set(data.subarray(start, end), pos);
      pos += length;
    }
    buf[pos++] = 0x0a;
    this.pos = pos;
  }

  /**
   * The record of `data` at `start` (it ends with \n) after its prefix, scanned for its end
   * as it is copied (an indexOf per line costs a runtime call): returns where the next starts.
   */
  line(data: Uint8Array, start: number, number: number | undefined, mark: number): number {
    const name = this.name;
    if (this.pos + (name === undefined ? 0 : name.length + 1) + 18 + SHORT + 1 > this.buf.length) this.flush();
    const buf = this.buf;
    let pos = this.prefix(number, mark);
    const limit = Math.min(data.length, start + SHORT);
    let i = start;
    for (; i < limit; i++) {
      const b = data[i];
      if (b === 0x0a) break;
      buf[pos++] = b;
    }
    if (i === limit && i < data.length && data[i] !== 0x0a) {
      // A long line: the rest in one copy.
      const nl = data.indexOf(0x0a, i);
      const end = nl < 0 ? data.length : nl;
      this.pos = pos;
      if (pos + end - i + 1 > buf.length) {
        this.flush();
        this.write(data.subarray(i, end + 1 > data.length ? end : end + 1));
        if (end + 1 > data.length) this.raw(NEWLINE);
        return end + 1;
      }
      buf.set(data.subarray(i, end), pos);
      pos += end - i;
      i = end;
    }
    buf[pos++] = 0x0a;
    this.pos = pos;
    return i + 1;
  }

  /** Bytes as they are (the group separator and its newline). */
  raw(bytes: Uint8Array): void {
    if (this.pos + bytes.length > this.buf.length) this.flush();
    if (bytes.length > this.buf.length) this.write(bytes);
    else {
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
    }
  }

  /** Hands out what is buffered (the buffer goes with it: a stream may keep it). */
  flush(): void {
    if (this.pos === 0) return;
    this.write(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(PIECE);
    this.pos = 0;
  }
}

/** The decimal digits of `n` (a whole number >= 0) at `pos`; returns the position after them. */
function writeDigits(buf: Buffer, pos: number, n: number): number {
  // Small integers by integer arithmetic: a double's division and floor per digit cost more than the line's copy.
  if (n < 0x80000000) {
    let v = n | 0;
    let digits = 1;
    for (let p = 10; p <= v && digits < 10; p *= 10) digits++;
    let at = pos + digits;
    do {
      const q = (v / 10) | 0;
      buf[--at] = 0x30 + v - q * 10;
      v = q;
    } while (v > 0);
    return pos + digits;
  }
  const text = String(n);
  for (let i = 0; i < text.length; i++) buf[pos + i] = text.charCodeAt(i);
  return pos + text.length;
}

/**
 * Records (each ending with `\n`) with their prefixes, given to `write` in
 * pieces. Without a prefix the records go out as they are.
 */
export function grepRecords(data: Uint8Array, file: string | undefined, numbers: Float64Array | undefined, write: (piece: Uint8Array) => void): void {
  if (file === undefined && numbers === undefined) {
    write(data);
    return;
  }
  const out = new GrepLines(write, file);
  for (let at = 0, k = 0; at < data.length; k++) at = out.line(data, at, numbers?.[k], 0x3a);
  out.flush();
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A record's `"text"` member, or `"bytes"` (base64) when it is not UTF-8. */
function jsonBody(record: Uint8Array): string {
  try {
    return `"text":${JSON.stringify(strictUtf8.decode(record))}`;
  } catch {
    return `"bytes":"${Buffer.from(record.buffer, record.byteOffset, record.length).toString('base64')}"`;
  }
}

/** grep --json with context: one record (without its newline) as a line of its own, `"context":true` for a context line. */
export function grepJsonRecord(file: string, line: number, context: boolean, record: Uint8Array): string {
  return `{"file":${JSON.stringify(file)},"line":${line}${context ? ',"context":true' : ''},${jsonBody(record)}}\n`;
}

/**
 * grep --json: one object per record, a line of its own:
 * `{"file":..,"line":N,"text":..}`, where `text` is the record without its
 * newline; a record that is not valid UTF-8 has `"bytes"` (base64) instead of
 * `"text"`, as `rg --json` does. Given to `write` in pieces.
 */
export function grepJsonLines(data: Uint8Array, file: string, numbers: Float64Array | undefined, write: (text: string) => void): void {
  let out = '';
  let at = 0;
  let k = 0;
  const name = JSON.stringify(file);
  while (at < data.length) {
    const nl = data.indexOf(0x0a, at);
    const end = nl < 0 ? data.length : nl;
    out += `{"file":${name}${numbers ? `,"line":${numbers[k]}` : ''},${jsonBody(data.subarray(at, end))}}\n`;
    if (out.length >= PIECE) {
      write(out);
      out = '';
    }
    at = end + 1;
    k++;
  }
  if (out.length > 0) write(out);
}

// ------------------------------------------------------------ run result --

/**
 * The JSON rules for results: a Map with only string keys becomes an object,
 * any other Map an array of [key, value] entries, a Set an array, a BigInt
 * its decimal string, a typed array an array of numbers; `undefined` as the
 * whole result is `null`.
 */
export function toJson(value: unknown, indent?: number): string {
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Map) {
        const entries = [...v.entries()];
        return entries.every(([k]) => typeof k === 'string') ? Object.fromEntries(entries) : entries;
      }
      if (v instanceof Set) return [...v];
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number | bigint>);
      return v;
    },
    indent,
  );
  return text === undefined ? 'null' : text;
}

/** `run`'s text output: a string as it is (with a final newline), anything else as util.inspect shows it. */
export function resultText(result: unknown): string {
  if (typeof result === 'string') return result.endsWith('\n') ? result : `${result}\n`;
  return `${inspect(result, { depth: null, maxArrayLength: null, maxStringLength: null, breakLength: 100, colors: false })}\n`;
}

// ----------------------------------------------------------- run stats ---

const EXECUTORS: Record<string, string> = {
  kernel: "the job's native kernel on libuv's threadpool, no JS worker",
  workers: "the job's map in Piscina worker threads",
  cluster: 'pagewise workers over Redis: see cluster below',
};

/** The plan's lines (describePlan) that the run's own lines do not say again: the job, the inputs, the executor, prefetch, in place, max record. */
export function planStatsLines(described: string): string[] {
  const repeated = /^(threads|chunk size|split size|release|output) /;
  return described.split('\n').filter((line) => line !== '' && !repeated.test(line));
}

/** `--stats` as text: the plan's lines not repeated below, the run's figures, the output, the cluster, the notes. */
export function runStatsText(s: RunStats, planLines: string[] = []): string {
  // Nothing read in chunks (streams, empty files): no chunk, no worker, no page to release.
  const chunked = s.executor !== 'none';
  const lines = [
    ...planLines.filter((l) => !/^(prefetch|in place|max record) /.test(l)),
    `bytes            ${s.bytes} (${formatBytes(s.bytes)}) in ${s.files} file(s)${chunked ? `, ${s.chunks} chunks of ${formatBytes(s.chunkSize)} (${s.chunkSizeReason})` : ''}`,
    chunked ? `threads          ${s.threads} (${EXECUTORS[s.executor] ?? s.executor})` : `threads          1 (the main thread: nothing was read in chunks)`,
    `wall             ${s.wallSeconds.toFixed(3)} s, ${(s.bytesPerSecond / 1e9).toFixed(2)} GB/s`,
    `cpu              user ${s.cpuSeconds.user.toFixed(3)} s, system ${s.cpuSeconds.system.toFixed(3)} s`,
    `peak rss         ${formatBytes(s.peakRssBytes)}`,
    `page faults      major ${s.pageFaults.major}, minor ${s.pageFaults.minor}`,
    ...(chunked ? [`release          ${s.release} (${s.releaseReason})`] : []),
    ...(s.csvCuts === undefined ? [] : [`csv cuts         ${s.csvCuts === 'guessed' ? 'guessed from a window at each cut, proved as each chunk was read' : 'from a first pass over the files'}`]),
    ...planLines.filter((l) => /^(prefetch|in place|max record) /.test(l)),
    ...(s.output === undefined ? [] : [`output           ${s.output.bytes} bytes (${formatBytes(s.output.bytes)}) to ${s.output.target}`]),
    ...keyedStatsLines(s),
  ];
  return `${lines.join('\n')}\n${clusterStatsText(s)}${(s.notes ?? []).map((n) => `note             ${n}\n`).join('')}`;
}

/** A keyed run's shuffle: its keys, what spilled where, and the largest table (the plan's `keyed tables` line gives the share and why). */
function keyedStatsLines(s: RunStats): string[] {
  const k = s.keyed;
  if (k === undefined) return [];
  const spill = k.spilled
    ? `spilled ${formatBytes(k.spilledBytes)} in ${k.runs} run(s) to ${k.tempDir}, ${k.mergePasses} merge pass(es), ${k.partitions} partition(s)`
    : 'in memory (nothing spilled)';
  return [`keys             ${k.keys}, ${spill}`, `table peak       ${formatBytes(k.peakTableBytes)} per thread, of its ${formatBytes(k.tableShare)} share`];
}

// ---------------------------------------------------------------- errors --

/** An OS error's text without Node's `ENOENT: ..., open 'x'` frame: `No such file or directory`. */
export function systemMessage(message: string): string {
  const m = /^E[A-Z0-9]+: (.*?)(?:, \w+(?: '.*')?)?$/s.exec(message);
  if (!m) return message;
  return m[1].charAt(0).toUpperCase() + m[1].slice(1);
}

/**
 * Where a job's code threw: the first frame of `stack` in a file that is not
 * pagewise's own (nor Node's), as `path:line:column`.
 */
export function jobLocation(stack: string | undefined, ownRoots: readonly string[]): string | undefined {
  if (!stack) return undefined;
  for (const line of stack.split('\n').slice(1)) {
    const m = /(?:\(|^at )((?:file:\/\/)?\/[^\s()]+?):(\d+):(\d+)\)?$/.exec(line.trim());
    if (!m) continue;
    const path = m[1].replace(/^file:\/\//, '');
    if (ownRoots.some((root) => path.startsWith(root)) && !path.includes('/node_modules/')) continue;
    return `${decodeURIComponent(path)}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

// ------------------------------------------------------------ file names --

/*
 * A file name as GNU wc 9.1 prints one that holds a newline (coreutils'
 * `quotef`: gnulib's shell-escape quoting, in C.UTF-8), so that one row stays
 * one line: `'a'$'\n''b'`. Other names are printed as they are, as wc does.
 * The error lines use it too, so that an error stays one line.
 */

interface Kernels {
  printableUtf8: (cp: number) => boolean;
  utf8At: (bytes: Uint8Array, i: number) => { length: number; cp: number };
}
let kernels: Kernels | undefined;

const LETTERS: Record<number, string> = { 7: 'a', 8: 'b', 9: 't', 10: 'n', 11: 'v', 12: 'f', 13: 'r' };

/** One character of a name (its code point and bytes), or a byte that starts none (`cp` undefined). */
interface Unit {
  cp: number | undefined;
  bytes: Uint8Array;
}

export function quoteName(name: string): string {
  // A name from the command line that is not UTF-8 is quoted from its bytes, as GNU tools
  // quote it in their errors (`'caf'$'\\351''.txt'`).
  const raw = argvBytes(name);
  if (!name.includes('\n') && raw === undefined) return name;
  // The code point tables load only for such a name (a synchronous require of the CommonJS kernels).
  kernels ??= createRequire(import.meta.url)('../kernels-js.cjs') as Kernels;
  const units = raw === undefined ? [...name].map((ch) => ({ cp: ch.codePointAt(0), bytes: Buffer.from(ch, 'utf8') })) : bytesUnits(raw, kernels);
  const first = quotePass(units, kernels.printableUtf8, false);
  // gnulib 2022 scans a name holding a quote once more, and that pass starts
  // in the escape state the first one ended in (its pending flag is not
  // reset): wc 9.1 prints `'''a'\'''$'\n'` for "a'\n", and so do we.
  return name.includes("'") ? quotePass(units, kernels.printableUtf8, first.inEscape).text : first.text;
}

/** `bytes` as glibc's mbrtowc reads them (the kernels' decodeUtf8): characters, and bytes that start none. */
function bytesUnits(bytes: Uint8Array, k: Kernels): Unit[] {
  const units: Unit[] = [];
  for (let i = 0; i < bytes.length; ) {
    const { length, cp } = k.utf8At(bytes, i);
    const n = Math.max(length, 1);
    units.push({ cp: length > 0 ? cp : undefined, bytes: bytes.subarray(i, i + n) });
    i += n;
  }
  return units;
}

/** One pass of gnulib's shell-escape-always quoting; `inEscape`: inside `$'...'`. */
function quotePass(units: readonly Unit[], isPrintable: (cp: number) => boolean, inEscape: boolean): { text: string; inEscape: boolean } {
  let text = "'";
  for (const { cp, bytes } of units) {
    if (cp === 0x27) {
      text += "'\\''";
      inEscape = false;
    } else if (cp !== undefined && isPrintable(cp)) {
      if (inEscape) text += "''";
      inEscape = false;
      text += String.fromCodePoint(cp);
    } else {
      if (!inEscape) text += "'$'";
      inEscape = true;
      for (const byte of bytes) text += `\\${LETTERS[byte] ?? byte.toString(8).padStart(3, '0')}`;
    }
  }
  return { text: `${text}'`, inEscape };
}
