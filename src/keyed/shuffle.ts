/**
 * The keyed reducer: the main thread's side of the shuffle. It takes what
 * every thread's map made (runs on disk, or tables kept in memory), and
 * when the input is read, makes the result in key order:
 *
 * - nothing spilled: the threads' sorted tables are merged in memory (a heap
 *   over them), on this thread;
 * - something spilled: the tables still in memory are spilled too; while
 *   there are more runs than one merge reads at once (the fan-in), the
 *   smallest are merged into one (tasks on the pool); then the key space is
 *   cut into ranges by the runs' sparse indexes (quantiles of their bytes),
 *   every range is merged from the same range of every run by a task of its
 *   own, in parallel, and the ranges' results are read (or written to the
 *   output) in key order.
 *
 * A range's merge holds one window per run whatever its size, so no range
 * is ever too big to merge; what bounds memory is the fan-in, kept by merge
 * passes. The run directory is removed once the results are read, and on
 * every failure.
 */
import { unlinkSync } from 'node:fs';
import pLimit from 'p-limit';
import { ErrorCodes, PagewiseError } from '../errors.js';
import { callKeyedFinish, combineError } from '../run/calls.js';
import {
  CLOSED,
  SPILLED,
  type JobHandle,
  type KeyedMapOutcome,
  type KeyedMergeOutcome,
  type KeyedMergeTask,
  type KeyedSettings,
  type ResultMode,
  type RunInfo,
  type RunSection,
  type ValueBlock,
} from '../run/messages.js';
import type { RunTasks } from '../run/pool.js';
import { deserialize } from '../run/wire.js';
import type { AbortSignalLike, Key, KeyedJob, KeyedResult, KeyedStats } from '../types.js';

export type { KeyedStats };
import { batchBytes, compareKeyBytes, sortBatch, type KeyBatch } from './batch.js';
import { ensureDir, openWindow, WINDOW } from './files.js';
import { tableHooksOf, type TableHooks } from './hooks.js';
import { KeyedMapper, nextRunPath, writeBatch } from './mapper.js';
import { BatchCursor, Merger } from './merge.js';
import { openOutput, type OutputSink, type OutputTarget } from './output.js';
import { keyValue, MemorySink, orderByValue, rangeResults, TopRows, wordJsonLine, type ValueOrder } from './results.js';
import { RunCursor, seekRun, seekRunEnd } from './runs.js';
import { RunDir } from './tempdir.js';

/** What a keyed run's shuffle needs from the run. */
export interface ShuffleSettings {
  job: KeyedJob;
  handle: JobHandle;
  params: unknown;
  threads: number;
  /** Bytes each thread's table may hold. */
  share: number;
  tempDir: string;
  mode: ResultMode;
  output: OutputTarget | undefined;
  /** Use the job's table hooks. */
  table: boolean;
  signal: AbortSignalLike | undefined;
  tasks(): Promise<RunTasks>;
}

/** Most runs one merge reads at once. */
function fanIn(share: number): number {
  return Math.max(16, Math.min(128, Math.floor(share / (4 * WINDOW))));
}

/** A failed or aborted run's merge tasks stop here. */
function checkSignal(signal: AbortSignalLike | undefined): void {
  if (signal?.aborted) throw new PagewiseError(ErrorCodes.ABORTED, 'the run was aborted', { cause: signal.reason });
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone with its directory, or never made.
  }
}

export class KeyedShuffle {
  readonly runDir: RunDir;
  readonly keyed: KeyedSettings;
  readonly stats: KeyedStats;
  readonly #hooks: TableHooks | undefined;
  readonly #combine: (a: unknown, b: unknown) => unknown;
  readonly #runs: RunInfo[] = [];
  /** Tables kept in memory: sorted batches, or the hooks' tables. */
  readonly #held: (KeyBatch | unknown)[] = [];
  #heldBytes = 0;
  #closed = false;
  /** Merge tasks queued at once: the pool runs `threads`; one more each keeps it busy. */
  readonly #limit: ReturnType<typeof pLimit>;

  constructor(private readonly s: ShuffleSettings) {
    const shared = new Int32Array(new SharedArrayBuffer(12));
    this.runDir = new RunDir(s.tempDir, shared);
    this.#limit = pLimit(Math.max(1, s.threads) * 2);
    this.#hooks = s.table ? tableHooksOf(s.job) : undefined;
    this.keyed = { runDir: this.runDir.path, share: s.share, shared, table: this.#hooks !== undefined };
    const job = s.job;
    this.#combine = (a, b) => {
      try {
        return job.combine(a, b);
      } catch (error) {
        return combineError(error);
      }
    };
    this.stats = {
      keys: 0,
      spilled: false,
      spilledBytes: 0,
      runs: 0,
      mergePasses: 0,
      partitions: 0,
      peakTableBytes: 0,
      tableShare: s.share,
      tempDir: s.tempDir,
    };
  }

  /** A mapper for this thread (streams are read here). */
  mapper(): KeyedMapper {
    return new KeyedMapper(this.s.job, this.s.params, this.keyed);
  }

  /** What one thread's map made. */
  add(outcome: KeyedMapOutcome): void {
    this.stats.peakTableBytes = Math.max(this.stats.peakTableBytes, outcome.peakBytes);
    this.stats.spilledBytes += outcome.spilledBytes;
    this.stats.runs += outcome.runs.length;
    this.#runs.push(...outcome.runs);
    if (outcome.table === undefined) return;
    const table = deserialize(outcome.table, outcome.buffers);
    if (this.#hooks !== undefined) {
      // The hooks' tables fold into one, as commutative partials do.
      if (this.#held.length === 0) this.#held.push(table);
      else this.#held[0] = this.#hooks.merge(this.#held[0], table);
      this.#heldBytes = this.#hooks.bytesAfter(this.#held[0], 0);
    } else {
      const batch = table as KeyBatch;
      this.#held.push(batch);
      this.#heldBytes += batchBytes(batch.n, batch.keys.length);
    }
    // More than the whole keyed budget held here (many groups of inputs): to disk.
    if (this.#heldBytes > this.s.share * this.s.threads) this.#spillHeld();
  }

  /** Writes the tables held in memory as runs (this thread). */
  #spillHeld(): void {
    if (this.#held.length === 0) return;
    if (Atomics.load(this.keyed.shared, CLOSED) !== 0) throw new PagewiseError(ErrorCodes.ABORTED, 'the run was stopped');
    ensureDir(this.runDir.path);
    for (const held of this.#held) {
      const batch = this.#hooks !== undefined ? this.#hooks.toBatch(held) : (held as KeyBatch);
      if (batch.n === 0) continue;
      const run = writeBatch(batch, nextRunPath(this.keyed, 'held'));
      this.#runs.push(run);
      this.stats.spilledBytes += run.bytes;
      this.stats.runs++;
    }
    this.#held.length = 0;
    this.#heldBytes = 0;
    Atomics.store(this.keyed.shared, SPILLED, 1);
  }

  /**
   * The result, once every input is mapped: a `KeyedResult` (mode 'pairs'),
   * the best rows (mode 'by-value' with `top`), or undefined when the lines
   * went to the output.
   */
  async finish(): Promise<unknown> {
    if (this.#runs.length === 0) return this.#inMemory();
    this.#spillHeld();
    this.stats.spilled = true;
    return this.#onDisk();
  }

  /** Removes the run directory (a failed run: after its tasks stopped). */
  abort(): void {
    this.#closed = true;
    this.runDir.remove();
  }

  // ------------------------------------------------------------ in memory --

  async #inMemory(): Promise<unknown> {
    const { mode } = this.s;
    this.stats.partitions = 1;
    let cursors: BatchCursor[];
    if (this.#hooks !== undefined) {
      const table = this.#held[0] ?? this.#hooks.create(this.s.params);
      if (mode.kind === 'by-value' && mode.top !== undefined && this.#hooks.top !== undefined) {
        this.stats.keys = this.#hooks.size(table);
        this.#done();
        return this.#hooks.top(table, mode.top);
      }
      const batch = this.#hooks.toBatch(table);
      this.#held.length = 0;
      if (mode.kind === 'by-value' && mode.top === undefined) return this.#tableByValue(batch, mode.format);
      // One table: its keys are distinct, and a top-K needs no order.
      if (mode.kind === 'by-value' && mode.top !== undefined) batch.order = Int32Array.from({ length: batch.n }, (_, i) => i);
      else sortBatch(batch, undefined, false);
      cursors = [new BatchCursor(batch)];
    } else {
      cursors = (this.#held as KeyBatch[]).map((b) => new BatchCursor(b));
    }
    this.#held.length = 0;
    const merger = new Merger(cursors, this.#combine);
    const job = this.#hooks !== undefined ? undefined : this.s.job;
    if (mode.kind === 'pairs') return this.#memoryPairs(merger, job);
    if (mode.kind === 'by-value' && mode.top !== undefined) {
      const results = rangeResults(mode, job, {});
      while (merger.next()) results.add(merger);
      this.stats.keys = merger.count;
      this.#done();
      return results.end().top;
    }
    const memory = new MemorySink();
    const sink = openOutput(this.s.output!, false);
    try {
      const results = rangeResults(mode, job, { sink: memory });
      let n = 0;
      while (merger.next()) {
        results.add(merger);
        if (mode.kind === 'json' && ++n % 4096 === 0) {
          checkSignal(this.s.signal);
          for (const chunk of memory.take()) await sink.write(chunk);
        }
      }
      const done = results.end();
      this.stats.keys = done.keys;
      if (mode.kind === 'json') {
        for (const chunk of memory.take()) await sink.write(chunk);
      } else {
        const bytes = concat(memory.take());
        await assembleByValue([{ blocks: done.blocks!, read: (offset, length) => bytes.subarray(offset, offset + length), close: () => {} }], mode.format, sink, this.s.signal);
      }
      await sink.commit();
    } catch (error) {
      await sink.abort();
      throw error;
    }
    this.#done();
    return this.#written();
  }

  /**
   * Every key of the one in-memory table, by value, to the output: sorted by
   * key once and then ordered by value, written as `assembleByValue` writes
   * the ranges' blocks, without the merge and the blocks several ranges need.
   */
  async #tableByValue(batch: KeyBatch, format: 'text' | 'json'): Promise<undefined> {
    const byValue = orderByValue(batch.num, sortBatch(batch, undefined, false), batch.n);
    const sink = openOutput(this.s.output!, false);
    try {
      await writeByValue(batch, byValue, format, sink, this.s.signal);
      await sink.commit();
    } catch (error) {
      await sink.abort();
      throw error;
    }
    this.stats.keys = batch.n;
    this.#done();
    return undefined;
  }

  /** What a run whose pairs went to the output gives: a result with nothing left to read, and its size. */
  #written(): KeyedResult | undefined {
    if (this.s.mode.kind !== 'json') return undefined;
    return keyedResult(this.stats.keys, async function* () {}, () => {});
  }

  #memoryPairs(merger: Merger, job: KeyedJob | undefined): KeyedResult {
    // The keys are counted as they are read; `size` is known only after a full
    // pass, so the pairs are merged once here and held as one sorted batch.
    const { keys, ends, flags, num, objs, count } = collect(merger, job);
    this.stats.keys = count;
    this.#done();
    const self = this;
    return keyedResult(count, async function* () {
      for (let i = 0; i < count; i++) {
        const start = i === 0 ? 0 : ends[i - 1];
        const key = keyValue(keys.subarray(start), ends[i] - start, (flags[i] & 1) !== 0);
        yield [key, (flags[i] & 2) !== 0 ? objs[i] : num[i]] as [Key, unknown];
      }
    }, () => self.#done());
  }

  #done(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.runDir.remove();
  }

  // -------------------------------------------------------------- on disk --

  async #merge(task: Omit<KeyedMergeTask, 'kind' | 'job' | 'params' | 'control' | 'table'>): Promise<KeyedMergeOutcome> {
    return this.#limit(async () => {
      checkSignal(this.s.signal);
      const tasks = await this.s.tasks();
      if (tasks.stopped) throw new PagewiseError(ErrorCodes.ABORTED, 'the run was stopped');
      const reply = await tasks.call({ kind: 'keyed-merge', job: this.s.handle, params: this.s.params, control: tasks.control, table: this.#hooks !== undefined, ...task });
      return reply.keyed as KeyedMergeOutcome;
    });
  }

  /** Merges the smallest runs together until one merge can read them all. */
  async #lowerFanIn(): Promise<void> {
    const limit = fanIn(this.s.share);
    while (this.#runs.length > limit) {
      this.stats.mergePasses++;
      const runs = this.#runs.sort((a, b) => a.bytes - b.bytes);
      const groups: RunInfo[][] = [];
      let excess = runs.length - limit;
      let at = 0;
      while (excess > 0) {
        const take = Math.min(limit, excess + 1);
        groups.push(runs.slice(at, at + take));
        at += take;
        excess -= take - 1;
      }
      const rest = runs.slice(at);
      const merged = await Promise.all(
        groups.map(async (group) => {
          const out = await this.#merge({
            sections: group.map((run) => ({ run, start: seekRun(run, undefined), end: run.bytes })),
            lo: undefined,
            hi: undefined,
            out: { kind: 'run', path: nextRunPath(this.keyed, 'merged') },
          });
          for (const run of group) removeFile(run.path);
          this.stats.spilledBytes += out.run!.bytes;
          return out.run!;
        }),
      );
      this.#runs.length = 0;
      this.#runs.push(...rest, ...merged);
    }
  }

  async #onDisk(): Promise<unknown> {
    await this.#lowerFanIn();
    const { mode, threads, share } = this.s;
    const runs = this.#runs;
    const total = runs.reduce((n, r) => n + r.bytes, 0);
    // Ranges for the pool's threads (several each, for balance); freq's
    // full order holds a range's keys in memory (about 3 bytes per byte of
    // run, twice while its arrays grow), so its ranges also fit a share.
    let parts = threads * 4;
    if (mode.kind === 'by-value' && mode.top === undefined) parts = Math.max(parts, Math.ceil((total * 6) / share));
    const ranges = planRanges(runs, parts);
    this.stats.partitions = ranges.length;
    let failed: (error: unknown) => void = () => {};
    const failure = new Promise<never>((_, reject) => {
      failed = reject;
    });
    failure.catch(() => {});
    const outs = ranges.map((range, i) => {
      const sections: RunSection[] = [];
      for (const run of runs) {
        const start = seekRun(run, range.lo);
        const end = seekRunEnd(run, range.hi);
        if (start < end) sections.push({ run, start, end });
      }
      const path = `${this.runDir.path}/range-${i}.out`;
      const done = this.#merge({ sections, lo: range.lo, hi: range.hi, out: { kind: 'result', path, mode } }).then((out) => ({ out, path }));
      done.catch(failed);
      return done;
    });
    const inOrder = async (i: number): Promise<{ out: KeyedMergeOutcome; path: string }> => Promise.race([outs[i], failure]);
    // On a failure the pipeline stops the tasks still running, then removes the directory.
    if (mode.kind === 'pairs') {
      const done = await Promise.all(outs.map((_, i) => inOrder(i)));
      for (const run of runs) removeFile(run.path);
      this.stats.keys = done.reduce((n, d) => n + d.out.keys, 0);
      return this.#diskPairs(done.map((d) => d.out.run!));
    }
    if (mode.kind === 'by-value' && mode.top !== undefined) {
      const top = new TopRows(mode.top);
      for (let i = 0; i < outs.length; i++) {
        const { out } = await inOrder(i);
        this.stats.keys += out.keys;
        for (const row of out.top!) top.offer(row.key, row.key.length, row.value);
      }
      this.#done();
      return top.rows();
    }
    const sink = openOutput(this.s.output!, true);
    try {
      if (mode.kind === 'json') {
        for (let i = 0; i < outs.length; i++) {
          const { out, path } = await inOrder(i);
          this.stats.keys += out.keys;
          await copyFile(path, out.bytes, sink, this.s.signal);
          removeFile(path);
        }
      } else {
        const done = await Promise.all(outs.map((_, i) => inOrder(i)));
        for (const run of runs) removeFile(run.path);
        this.stats.keys = done.reduce((n, d) => n + d.out.keys, 0);
        const sources = done.map(({ out, path }) => fileSource(path, out.bytes, out.blocks!));
        await assembleByValue(sources, mode.format, sink, this.s.signal);
      }
      await sink.commit();
    } catch (error) {
      await sink.abort();
      throw error;
    }
    this.#done();
    return this.#written();
  }

  #diskPairs(ranges: RunInfo[]): KeyedResult {
    const self = this;
    return keyedResult(this.stats.keys, async function* () {
      for (const run of ranges) {
        const cursor = new RunCursor(run);
        try {
          while (cursor.next()) {
            yield [keyValue(cursor.key, cursor.keyLen, cursor.str), cursor.numeric ? cursor.num : cursor.object()] as [Key, unknown];
          }
        } finally {
          cursor.close();
        }
        removeFile(run.path);
      }
    }, () => self.#done());
  }
}

/** The merged pairs of an in-memory merge, finished, as one batch in order. */
function collect(merger: Merger, job: KeyedJob | undefined): { keys: Uint8Array; ends: Uint32Array; flags: Uint8Array; num: Float64Array; objs: unknown[]; count: number } {
  let keys: Uint8Array = new Uint8Array(1 << 12);
  let used = 0;
  let ends: Uint32Array = new Uint32Array(256);
  let flags: Uint8Array = new Uint8Array(256);
  let num: Float64Array = new Float64Array(256);
  const objs: unknown[] = [];
  let n = 0;
  while (merger.next()) {
    if (n === ends.length) {
      ends = grow(ends, Uint32Array) as Uint32Array;
      flags = grow(flags, Uint8Array) as Uint8Array;
      num = grow(num, Float64Array) as Float64Array;
    }
    const len = merger.keyLen;
    if (used + len > keys.length) {
      const bigger = new Uint8Array(Math.max(keys.length * 2, used + len));
      bigger.set(keys.subarray(0, used));
      keys = bigger;
    }
    keys.set(merger.key.subarray(0, len), used);
    used += len;
    ends[n] = used;
    let value = merger.value();
    if (job?.finish !== undefined) value = callKeyedFinish(job, keyValue(merger.key, len, merger.str), value);
    let f = merger.str ? 1 : 0;
    if (typeof value === 'number') num[n] = value;
    else {
      f |= 2;
      objs[n] = value;
    }
    flags[n] = f;
    n++;
  }
  return { keys, ends, flags, num, objs, count: n };
}

function grow(a: Uint32Array | Uint8Array | Float64Array, Kind: typeof Uint32Array | typeof Uint8Array | typeof Float64Array): Uint32Array | Uint8Array | Float64Array {
  const b = new Kind(a.length * 2);
  b.set(a as never);
  return b;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A `KeyedResult` over `pairs`, read once; `close` runs when the loop ends or leaves early. */
function keyedResult(size: number, pairs: () => AsyncGenerator<[Key, unknown]>, close: () => void): KeyedResult {
  let used = false;
  return {
    size,
    async close() {
      used = true;
      close();
    },
    [Symbol.asyncIterator]() {
      if (used) throw new PagewiseError(ErrorCodes.CLOSED, 'a keyed result can be read once (and not after close())');
      used = true;
      const inner = pairs();
      return {
        async next() {
          try {
            const step = await inner.next();
            if (step.done) close();
            return step;
          } catch (error) {
            close();
            throw error;
          }
        },
        async return(value?: unknown) {
          close();
          await inner.return(undefined);
          return { done: true, value: value as never };
        },
      };
    },
  };
}

/**
 * Cuts the key space into at most `parts` ranges of about the same number of
 * run bytes, at keys of the runs' sparse indexes.
 */
export function planRanges(runs: RunInfo[], parts: number): { lo: Uint8Array | undefined; hi: Uint8Array | undefined }[] {
  const samples: { key: Uint8Array; weight: number }[] = [];
  let total = 0;
  for (const run of runs) {
    const { offsets, keys } = run.index;
    for (let i = 0; i < keys.length; i++) {
      const weight = (i + 1 < offsets.length ? offsets[i + 1] : run.bytes) - offsets[i];
      samples.push({ key: keys[i], weight });
      total += weight;
    }
  }
  samples.sort((a, b) => compareKeyBytes(a.key, a.key.length, b.key, b.key.length));
  const bounds: Uint8Array[] = [];
  let acc = 0;
  for (const s of samples) {
    if (bounds.length + 1 >= parts) break;
    if (acc >= (total * (bounds.length + 1)) / parts) {
      const last = bounds[bounds.length - 1];
      if (last === undefined || compareKeyBytes(last, last.length, s.key, s.key.length) < 0) bounds.push(s.key);
    }
    acc += s.weight;
  }
  const ranges: { lo: Uint8Array | undefined; hi: Uint8Array | undefined }[] = [];
  for (let i = 0; i <= bounds.length; i++) ranges.push({ lo: i === 0 ? undefined : bounds[i - 1], hi: i < bounds.length ? bounds[i] : undefined });
  return ranges;
}

/** Copies the file at `path` (`bytes` long) to `sink`. */
async function copyFile(path: string, bytes: number, sink: OutputSink, signal: AbortSignalLike | undefined): Promise<void> {
  if (bytes === 0) return;
  const w = openWindow(path, 0, bytes);
  try {
    for (let pos = 0; pos < bytes; pos += w.bytes.length) {
      checkSignal(signal);
      w.at(pos, WINDOW * 4);
      await sink.write(w.bytes);
    }
  } finally {
    w.close();
  }
}

/** A range's `by-value` blocks and how to read them. */
interface BlockSource {
  blocks: ValueBlock[];
  /** `length` bytes at `offset` (valid until the next read). */
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

function fileSource(path: string, bytes: number, blocks: ValueBlock[]): BlockSource {
  const w = bytes > 0 ? openWindow(path, 0, bytes) : undefined;
  return {
    blocks,
    read(offset, length) {
      w!.at(offset, length);
      const from = offset - w!.base;
      return w!.bytes.subarray(from, from + length);
    },
    close() {
      w?.close();
      removeFile(path);
    },
  };
}

/** Output bytes assembled before a write. */
const ASSEMBLE_BUFFER = 1 << 20;

/** A text line's count column: `value` right-aligned to `width`, and a space. */
function countColumn(value: number, width: number): Buffer {
  return Buffer.from(`${String(value).padStart(width)} `);
}

/**
 * Writes the entries of `batch` in the order `byValue` gives, as
 * `assembleByValue` writes its blocks: text lines with the count column in
 * front, or JSON lines `{"word":...,"count":...}`.
 */
async function writeByValue(batch: KeyBatch, byValue: ValueOrder, format: 'text' | 'json', sink: OutputSink, signal: AbortSignalLike | undefined): Promise<void> {
  const lines = new ByValueLines(batch, byValue, format);
  let out = Buffer.allocUnsafe(ASSEMBLE_BUFFER);
  for (;;) {
    checkSignal(signal);
    const used = lines.fill(out);
    if (used > 0) await sink.write(out.subarray(0, used));
    if (lines.done) return;
    // A line longer than the buffer: room for it.
    if (used === 0) out = Buffer.allocUnsafe(lines.nextLength());
  }
}

/** The lines of `writeByValue`, made a buffer at a time by a loop that never waits (so it stays optimized). */
class ByValueLines {
  /** Position in the order, and its group. */
  #k = 0;
  #g = 0;
  #prefix: Buffer | undefined;
  readonly #width: number;

  constructor(
    private readonly batch: KeyBatch,
    private readonly byValue: ValueOrder,
    private readonly format: 'text' | 'json',
  ) {
    this.#width = byValue.values.length > 0 ? String(byValue.values[0]).length : 0;
  }

  get done(): boolean {
    return this.#k >= this.byValue.order.length;
  }

  /** The length of the next line. */
  nextLength(): number {
    const i = this.byValue.order[this.#k];
    const line = this.#line(i);
    if (line !== undefined) return line.length;
    const { ends } = this.batch;
    return this.#prefixOf(this.#g).length + ends[i] - (i === 0 ? 0 : ends[i - 1]) + 1;
  }

  /** The whole next line as bytes for JSON; undefined for a text line (its word's own bytes), which `fill` copies itself. */
  #line(i: number): Uint8Array | undefined {
    if (this.format === 'text') return undefined;
    const { keys, ends, num } = this.batch;
    return Buffer.from(wordJsonLine(keys.subarray(i === 0 ? 0 : ends[i - 1], ends[i]), num[i]));
  }

  #prefixOf(g: number): Buffer {
    this.#prefix ??= countColumn(this.byValue.values[g], this.#width);
    return this.#prefix;
  }

  /** Fills `out` with whole lines from where the last call stopped; returns the bytes used. */
  fill(out: Buffer): number {
    const { keys, ends } = this.batch;
    const { order, groupEnds } = this.byValue;
    let used = 0;
    let k = this.#k;
    let g = this.#g;
    while (k < order.length) {
      while (k >= groupEnds[g]) {
        g++;
        this.#prefix = undefined;
      }
      this.#g = g;
      const i = order[k];
      const line = this.#line(i);
      if (line !== undefined) {
        if (used + line.length > out.length) break;
        out.set(line, used);
        used += line.length;
      } else {
        const prefix = this.#prefixOf(g);
        const start = i === 0 ? 0 : ends[i - 1];
        const end = ends[i];
        if (used + prefix.length + end - start + 1 > out.length) break;
        for (let q = 0; q < prefix.length; q++) out[used++] = prefix[q];
        for (let q = start; q < end; q++) out[used++] = keys[q];
        out[used++] = 0x0a;
      }
      k++;
    }
    this.#k = k;
    return used;
  }
}

/**
 * Interleaves the ranges' `by-value` blocks into one order (value
 * descending; within a value the ranges in key order, so keys ascend) and
 * writes them: JSON lines as they are, text lines with freq's count column
 * in front (`count` right-aligned to the width of the highest).
 */
export async function assembleByValue(sources: BlockSource[], format: 'text' | 'json', sink: OutputSink, signal: AbortSignalLike | undefined): Promise<void> {
  const values = [...new Set(sources.flatMap((s) => s.blocks.map((b) => b.value)))].sort((a, b) => b - a);
  const width = values.length > 0 ? String(values[0]).length : 0;
  const next = sources.map(() => 0);
  let out = Buffer.allocUnsafe(ASSEMBLE_BUFFER);
  let used = 0;
  const flush = async (): Promise<void> => {
    if (used === 0) return;
    await sink.write(out.subarray(0, used));
    out = Buffer.allocUnsafe(ASSEMBLE_BUFFER);
    used = 0;
  };
  try {
    for (const value of values) {
      checkSignal(signal);
      const prefix = countColumn(value, width);
      for (let r = 0; r < sources.length; r++) {
        const src = sources[r];
        const block = src.blocks[next[r]];
        if (block === undefined || block.value !== value) continue;
        next[r]++;
        let done = 0;
        while (done < block.bytes) {
          const bytes = src.read(block.offset + done, Math.min(block.bytes - done, ASSEMBLE_BUFFER));
          if (format === 'json') {
            await flush();
            await sink.write(bytes);
            done += bytes.length;
            continue;
          }
          // Whole lines of this piece (a line longer than the piece is read whole).
          let end = bytes.lastIndexOf(0x0a) + 1;
          let piece = bytes;
          if (end === 0) {
            const nl = src.read(block.offset + done, block.bytes - done).indexOf(0x0a);
            piece = src.read(block.offset + done, nl + 1);
            end = piece.length;
          }
          let at = 0;
          while (at < end) {
            let nl = at;
            while (piece[nl] !== 0x0a) nl++;
            const need = prefix.length + nl + 1 - at;
            if (used + need > out.length) {
              await flush();
              if (need > out.length) out = Buffer.allocUnsafe(need);
            }
            for (let k = 0; k < prefix.length; k++) out[used++] = prefix[k];
            for (let k = at; k <= nl; k++) out[used++] = piece[k];
            at = nl + 1;
          }
          done += end;
        }
      }
    }
    await flush();
  } finally {
    for (const s of sources) s.close();
  }
}
