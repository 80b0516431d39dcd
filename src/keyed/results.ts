/**
 * What the final merge makes of a key range, by result mode: finished
 * `[key, value]` pairs as a run (the API's iterable reads them), JSON lines,
 * or for `freq` the keys ordered by value (count descending, then key
 * bytes): the best `top` of them, or every one, grouped by value so that the
 * main thread can interleave the ranges' groups into one order without
 * sorting again. Range tasks run these in the workers; a run that never
 * spilled runs them on the main thread over its in-memory tables.
 */
import { callKeyedFinish } from '../run/calls.js';
import type { ResultMode, RunInfo, ValueBlock } from '../run/messages.js';
import { freqRow, freqRowJson } from '../jobs/freq.js';
import type { KeyedJob } from '../types.js';
import type { Merger } from './merge.js';
import { RunWriter } from './runs.js';

/** Where text results go: a file, or memory on the main thread. */
export interface ByteSink {
  write(bytes: Uint8Array): void;
  writeString(text: string): void;
  /** Bytes written so far. */
  readonly size: number;
}

/** A byte sink in memory: chunks of up to 1 MiB, taken by `take()`. */
export class MemorySink implements ByteSink {
  size = 0;
  #chunks: Uint8Array[] = [];
  #buffer = Buffer.allocUnsafeSlow(1 << 20);
  #used = 0;

  write(bytes: Uint8Array): void {
    if (this.#used + bytes.length > this.#buffer.length) this.#spillBuffer(bytes.length);
    this.#buffer.set(bytes, this.#used);
    this.#used += bytes.length;
    this.size += bytes.length;
  }

  writeString(text: string): void {
    if (this.#used + text.length * 3 > this.#buffer.length) this.#spillBuffer(text.length * 3);
    const n = this.#buffer.write(text, this.#used, 'utf8');
    this.#used += n;
    this.size += n;
  }

  #spillBuffer(need: number): void {
    if (this.#used > 0) this.#chunks.push(this.#buffer.subarray(0, this.#used));
    this.#buffer = Buffer.allocUnsafeSlow(Math.max(1 << 20, need));
    this.#used = 0;
  }

  /** Everything written since the last `take()`. */
  take(): Uint8Array[] {
    if (this.#used > 0) this.#spillBuffer(0);
    const out = this.#chunks;
    this.#chunks = [];
    return out;
  }
}

/** The key the job sees: a string if it was emitted as one, else a copy of its bytes. */
export function keyValue(key: Uint8Array, len: number, str: boolean): string | Uint8Array {
  return str ? Buffer.from(key.buffer, key.byteOffset, len).toString('utf8') : key.slice(0, len);
}

/** What a range's results came to. */
export interface RangeDone {
  keys: number;
  bytes: number;
  run: RunInfo | undefined;
  blocks: ValueBlock[] | undefined;
  top: { key: Uint8Array; value: number }[] | undefined;
}

/** Takes the merge's keys one at a time. */
export interface RangeResults {
  /** The merger's current key. */
  add(m: Merger): void;
  end(): RangeDone;
  discard(): void;
}

/** Finished pairs as a run: the API's iterable reads it back. */
class PairsResults implements RangeResults {
  readonly #writer: RunWriter;
  #keys = 0;
  constructor(
    path: string,
    private readonly job: KeyedJob | undefined,
  ) {
    this.#writer = new RunWriter(path);
  }

  add(m: Merger): void {
    this.#keys++;
    if (this.job?.finish === undefined) {
      this.#writer.add(m.key, 0, m.keyLen, m.str, m.numeric, m.num, m.obj, m.ser);
      return;
    }
    const value = callKeyedFinish(this.job, keyValue(m.key, m.keyLen, m.str), m.value());
    this.#writer.add(m.key, 0, m.keyLen, m.str, typeof value === 'number', value as number, value);
  }

  end(): RangeDone {
    const run = this.#writer.finish();
    return { keys: this.#keys, bytes: run.bytes, run, blocks: undefined, top: undefined };
  }

  discard(): void {
    this.#writer.discard();
  }
}

/** JSON lines `["key",value]`; a byte key is shown decoded as UTF-8. */
class JsonResults implements RangeResults {
  #keys = 0;
  constructor(
    private readonly sink: ByteSink,
    private readonly job: KeyedJob | undefined,
    private readonly close: () => void,
  ) {}

  add(m: Merger): void {
    this.#keys++;
    const key = Buffer.from(m.key.buffer, m.key.byteOffset, m.keyLen).toString('utf8');
    let value = m.value();
    if (this.job?.finish !== undefined) value = callKeyedFinish(this.job, m.str ? key : m.key.slice(0, m.keyLen), value);
    this.sink.writeString(`${JSON.stringify([key, value === undefined ? null : value])}\n`);
  }

  end(): RangeDone {
    this.close();
    return { keys: this.#keys, bytes: this.sink.size, run: undefined, blocks: undefined, top: undefined };
  }

  discard(): void {
    this.close();
  }
}

/** Byte order of `a` and `b`. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const m = Math.min(a.length, b.length);
  for (let k = 0; k < m; k++) {
    const x = a[k] - b[k];
    if (x !== 0) return x;
  }
  return a.length - b.length;
}

/** Row x ranks below row y: a lower value, or the same value and greater key bytes. */
function worse(vx: number, kx: Uint8Array, vy: number, ky: Uint8Array): boolean {
  return vx < vy || (vx === vy && compareBytes(kx, ky) > 0);
}

/** The best `k` rows (value descending, then key bytes), of any number offered, in O(k) memory. */
export class TopRows {
  readonly #keys: Uint8Array[] = [];
  readonly #values: number[] = [];
  constructor(readonly k: number) {}

  offer(key: Uint8Array, len: number, value: number): void {
    const keys = this.#keys;
    const values = this.#values;
    const k = this.k;
    if (k === 0) return;
    if (keys.length === k) {
      // Cheap refusal: below the worst kept, without copying the key.
      if (value < values[0]) return;
      if (value === values[0] && compareBytes(key.subarray(0, len), keys[0]) >= 0) return;
    }
    const row = key.slice(0, len);
    let at: number;
    if (keys.length < k) {
      at = keys.length;
      keys.push(row);
      values.push(value);
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!worse(value, row, values[parent], keys[parent])) break;
        keys[at] = keys[parent];
        values[at] = values[parent];
        at = parent;
      }
    } else {
      at = 0;
      for (;;) {
        let child = 2 * at + 1;
        if (child >= k) break;
        if (child + 1 < k && worse(values[child + 1], keys[child + 1], values[child], keys[child])) child++;
        if (!worse(values[child], keys[child], value, row)) break;
        keys[at] = keys[child];
        values[at] = values[child];
        at = child;
      }
    }
    keys[at] = row;
    values[at] = value;
  }

  /** The rows kept, best first. */
  rows(): { key: Uint8Array; value: number }[] {
    const rows = this.#keys.map((key, i) => ({ key, value: this.#values[i] }));
    rows.sort((x, y) => y.value - x.value || compareBytes(x.key, y.key));
    return rows;
  }
}

/** freq's JSON line for a word's bytes and its count (freqRowJson's; `"bytes"` for a word that is not UTF-8). */
export function wordJsonLine(word: Uint8Array, count: number): string {
  return `${freqRowJson(freqRow(word, count))}\n`;
}

/** Entries ordered by value: `order[groupEnds[g - 1] .. groupEnds[g])` have the value `values[g]`, highest first. */
export interface ValueOrder {
  order: Int32Array;
  values: number[];
  groupEnds: number[];
}

/**
 * A stable counting sort of `n` entries by `value[i]`, highest first; `within`
 * is their order before (key order), or the identity when undefined.
 */
export function orderByValue(value: Float64Array, within: Int32Array | undefined, n: number): ValueOrder {
  // Each entry's group once (one Map lookup per entry), then positions by group.
  const group = new Int32Array(n);
  const ids = new Map<number, number>();
  const seen: number[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = value[i];
    let g = ids.get(v);
    if (g === undefined) {
      g = seen.length;
      ids.set(v, g);
      seen.push(v);
      sizes.push(0);
    }
    sizes[g]++;
    group[i] = g;
  }
  const ranked = seen.map((_, g) => g).sort((a, b) => seen[b] - seen[a]);
  const next = new Int32Array(seen.length);
  const groupEnds: number[] = [];
  let at = 0;
  for (const g of ranked) {
    next[g] = at;
    at += sizes[g];
    groupEnds.push(at);
  }
  const order = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const i = within === undefined ? k : within[k];
    order[next[group[i]]++] = i;
  }
  return { order, values: ranked.map((g) => seen[g]), groupEnds };
}

/**
 * Keys ordered by value: with `top`, the best `top` rows; else every key,
 * written grouped by value (highest first; within a value in key order, as
 * they came) as `word\n` (text; the main thread puts each count in front)
 * or as whole JSON lines `{"word":...,"count":...}`.
 */
class ByValueResults implements RangeResults {
  #keys = 0;
  readonly #top: TopRows | undefined;
  #bytes = new Uint8Array(1 << 16);
  #used = 0;
  #ends = new Uint32Array(1 << 12);
  #values = new Float64Array(1 << 12);

  constructor(
    private readonly mode: Extract<ResultMode, { kind: 'by-value' }>,
    private readonly sink: ByteSink | undefined,
    private readonly close: () => void,
  ) {
    if (mode.top !== undefined) this.#top = new TopRows(mode.top);
  }

  add(m: Merger): void {
    const value = m.numeric ? m.num : Number(m.value());
    if (this.#top !== undefined) {
      this.#keys++;
      this.#top.offer(m.key, m.keyLen, value);
      return;
    }
    const n = this.#keys++;
    if (n === this.#ends.length) {
      const ends = new Uint32Array(n * 2);
      ends.set(this.#ends);
      this.#ends = ends;
      const values = new Float64Array(n * 2);
      values.set(this.#values);
      this.#values = values;
    }
    const word = m.key.subarray(0, m.keyLen);
    if (this.#used + word.length > this.#bytes.length) {
      const bigger = new Uint8Array(Math.max(this.#bytes.length * 2, this.#used + word.length));
      bigger.set(this.#bytes.subarray(0, this.#used));
      this.#bytes = bigger;
    }
    this.#bytes.set(word, this.#used);
    this.#used += word.length;
    this.#ends[n] = this.#used;
    this.#values[n] = value;
  }

  end(): RangeDone {
    if (this.#top !== undefined) {
      this.close();
      return { keys: this.#keys, bytes: 0, run: undefined, blocks: undefined, top: this.#top.rows() };
    }
    const n = this.#keys;
    const ends = this.#ends;
    const bytes = this.#bytes;
    // Keys came in byte order.
    const { order, values: distinct, groupEnds } = orderByValue(this.#values, undefined, n);
    const sink = this.sink!;
    const blocks: ValueBlock[] = [];
    let k = 0;
    for (let g = 0; g < distinct.length; g++) {
      const v = distinct[g];
      const lines = groupEnds[g] - k;
      const offset = sink.size;
      for (let q = 0; q < lines; q++, k++) {
        const i = order[k];
        const start = i === 0 ? 0 : ends[i - 1];
        const word = bytes.subarray(start, ends[i]);
        if (this.mode.format === 'text') {
          sink.write(word);
          sink.write(NEWLINE);
        } else {
          sink.writeString(wordJsonLine(word, v));
        }
      }
      blocks.push({ value: v, lines, offset, bytes: sink.size - offset });
    }
    this.close();
    return { keys: n, bytes: sink.size, run: undefined, blocks, top: undefined };
  }

  discard(): void {
    this.close();
  }
}

const NEWLINE = new Uint8Array([0x0a]);

/**
 * The results of one range in `mode`, into `sink` (text modes) or a run at
 * `path` (pairs). `job` is undefined for the table-hooks path (no finish).
 */
export function rangeResults(mode: ResultMode, job: KeyedJob | undefined, out: { path?: string; sink?: ByteSink; close?: () => void }): RangeResults {
  const close = out.close ?? (() => {});
  if (mode.kind === 'pairs') return new PairsResults(out.path!, job);
  if (mode.kind === 'json') return new JsonResults(out.sink!, job, close);
  return new ByValueResults(mode, out.sink, close);
}
