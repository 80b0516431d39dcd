/**
 * The map side of the shuffle, the same on every thread (a worker's keyed
 * drain, the main thread's streams): a keyed job's pairs go into this
 * thread's table until it would pass its share of the memory budget; then
 * the table is sorted and written as a run to the run directory, cleared,
 * and filled again. At the end a thread hands back its runs, and its table
 * as it is if nothing in the run spilled (so keys that fit never touch the
 * disk).
 */
import { noOutput } from '../output/chunk-writer.js';
import { ErrorCodes, PagewiseError } from '../errors.js';
import { terminatorOf } from '../plan/chunks.js';
import { callKeyedMap, combineError } from '../run/calls.js';
import { mapRange, type ChunkSource } from '../run/chunk.js';
import { CLOSED, SERIAL, SPILLED, type ChunkSettings, type KeyedMapOutcome, type KeyedSettings, type RunInfo } from '../run/messages.js';
import { ownBuffers, serialize } from '../run/wire.js';
import type { ChunkInfo, Emit, KeyedJob } from '../types.js';
import type { ChunkRange } from '../plan/chunks.js';
import { batchBytes, sortBatch, type KeyBatch, SortScratch } from './batch.js';
import { ensureDir } from './files.js';
import { tableHooksOf, type TableHooks } from './hooks.js';
import { RunWriter } from './runs.js';
import { KeyTable, type TableOwner } from './table.js';

/** Input bytes a table-hooks map is given at a time, so its table never grows past the share within one call. */
const PIECE = 64 << 10;

/**
 * What a thread's table itself may hold of the thread's share: half. The
 * other half is for what a spill needs besides (the batch and its sort,
 * about 0.7 of the table at its load), and for the tables a growth leaves
 * to the collector, which frees them only at its next full collection.
 */
function tableLimit(share: number): number {
  return Math.floor(share / 2);
}

/** The path of the next file in the run directory, unique across the run's threads. */
export function nextRunPath(keyed: KeyedSettings, kind: string): string {
  return `${keyed.runDir}/${kind}-${Atomics.add(keyed.shared, SERIAL, 1)}.run`;
}

/** Sorts `batch` and writes it as a run at `path`. */
export function writeBatch(batch: KeyBatch, path: string, scratch = new SortScratch()): RunInfo {
  sortBatch(batch, scratch);
  const writer = new RunWriter(path);
  try {
    writer.addBatch(batch, scratch);
    return writer.finish();
  } catch (error) {
    writer.discard();
    throw error;
  }
}

export class KeyedMapper implements TableOwner {
  readonly runs: RunInfo[] = [];
  spilledBytes = 0;
  peakBytes = 0;
  readonly #hooks: TableHooks | undefined;
  #table: KeyTable | undefined;
  #hooked: unknown;
  readonly #emit: Emit;
  /** An engine failure (a spill) inside `emit`: it is the run's error even if the job's map caught it. */
  #failure: unknown;
  /** The last spill's batch and sort arrays, reused by the next. */
  #batch: KeyBatch | undefined;
  #scratch: SortScratch | undefined;

  constructor(
    private readonly job: KeyedJob,
    private readonly params: unknown,
    private readonly keyed: KeyedSettings,
  ) {
    this.#hooks = keyed.table ? tableHooksOf(job) : undefined;
    if (this.#hooks !== undefined) {
      this.#hooked = this.#hooks.create(params);
      this.#emit = () => {
        throw new PagewiseError(ErrorCodes.INTERNAL, 'emit is not available to a table-hooks map');
      };
    } else {
      const combine = job.combine;
      const table = new KeyTable((a, b) => combine.call(job, a, b), tableLimit(keyed.share), this, combineError);
      this.#table = table;
      this.#emit = (key, value) => table.add(key, value);
    }
  }

  /** The table is full: spill it. Called by the table, from inside `emit`. */
  full(table: KeyTable): void {
    try {
      const batch = (this.#batch = table.toBatch(this.#batch));
      this.#account(table.bytes() + batchBytes(batch.ends.length, batch.keys.length));
      this.#spill(batch);
      table.clear();
    } catch (error) {
      this.#failure ??= error;
      throw error;
    }
  }

  #account(bytes: number): void {
    if (bytes > this.peakBytes) this.peakBytes = bytes;
  }

  #spill(batch: KeyBatch): void {
    if (batch.n === 0) return;
    // The run directory is being removed (a signal, an abort): never make it again.
    if (Atomics.load(this.keyed.shared, CLOSED) !== 0) throw new PagewiseError(ErrorCodes.ABORTED, 'the run was stopped');
    if (this.runs.length === 0) ensureDir(this.keyed.runDir);
    this.#scratch ??= new SortScratch();
    const run = writeBatch(batch, nextRunPath(this.keyed, 'spill'), this.#scratch);
    this.runs.push(run);
    this.spilledBytes += run.bytes;
    Atomics.store(this.keyed.shared, SPILLED, 1);
  }

  #rethrow(error: unknown): never {
    throw this.#failure ?? error;
  }

  /** Maps one chunk's range (through the chunk lifecycle's `mapRange`). */
  mapChunk(src: ChunkSource, settings: ChunkSettings, range: ChunkRange): void {
    try {
      if (this.#hooks === undefined) {
        mapRange(this.job, this.#emit, src, settings, range, noOutput, (job, emit, bytes, info) => callKeyedMap(job, emit as Emit, bytes, info));
      } else {
        // One view of the chunk, fed to the table in pieces (a view per piece was an mmap and
        // an munmap, with its TLB shootdown, every 64 KiB).
        this.#hooked = mapRange(this.#hooks, this.#hooked, src, settings, range, noOutput, (_hooks, table, bytes, info) => {
          this.#hooked = table;
          this.#mapPieces(bytes, info, settings.split);
          return this.#hooked;
        });
      }
    } catch (error) {
      this.#rethrow(error);
    }
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Maps one block of whole records read from a stream. */
  mapBlock(bytes: Uint8Array, info: ChunkInfo, split: ChunkSettings['split']): void {
    try {
      if (this.#hooks === undefined) {
        callKeyedMap(this.job, this.#emit, bytes, info);
      } else {
        this.#mapPieces(bytes, info, split);
      }
    } catch (error) {
      this.#rethrow(error);
    }
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Maps whole records of `bytes` into the hooks' table in pieces of about PIECE bytes, with room made before each. */
  #mapPieces(bytes: Uint8Array, info: ChunkInfo, split: ChunkSettings['split']): void {
    const hooks = this.#hooks!;
    const term = terminatorOf(split);
    let at = 0;
    while (at < bytes.length) {
      let cut = bytes.length;
      if (term >= 0 && at + PIECE < bytes.length) {
        const p = bytes.indexOf(term, at + PIECE - 1);
        if (p >= 0) cut = p + 1;
      }
      this.#room(cut - at);
      const piece = at === 0 && cut === bytes.length ? info : { ...info, start: info.start + at, end: info.start + cut };
      this.#hooked = hooks.map(this.#hooked, bytes.subarray(at, cut), piece);
      at = cut;
    }
  }

  /** Spills the hooks' table before a piece that could take it past the share. */
  #room(pieceBytes: number): void {
    const hooks = this.#hooks!;
    const after = hooks.bytesAfter(this.#hooked, pieceBytes);
    if (after <= tableLimit(this.keyed.share) || hooks.size(this.#hooked) === 0) {
      this.#account(after);
      return;
    }
    const batch = (this.#batch = hooks.toBatch(this.#hooked, this.#batch));
    this.#account(hooks.bytesAfter(this.#hooked, 0) + batchBytes(batch.ends.length, batch.keys.length));
    this.#spill(batch);
    hooks.clear(this.#hooked);
  }

  /** Keys in the table now. */
  get keys(): number {
    return this.#hooks !== undefined ? this.#hooks.size(this.#hooked) : this.#table!.size;
  }

  /**
   * The end of this thread's part: if anything in the run spilled, the
   * table is spilled too and only runs are handed back; else the table
   * (sorted, or the hooks' own), serialized.
   */
  end(forceSpill = false): KeyedMapOutcome {
    if (this.#table !== undefined) this.#account(this.#table.peak);
    const keys = this.keys;
    const spill = forceSpill || this.runs.length > 0 || Atomics.load(this.keyed.shared, SPILLED) !== 0;
    let table: Uint8Array | undefined;
    // The table's arrays move with it (this thread is done with them) instead of being copied twice.
    let buffers: ArrayBuffer[] = [];
    if (keys > 0) {
      if (this.#hooks !== undefined) {
        if (spill) this.#spill(this.#hooks.toBatch(this.#hooked));
        else table = serialize(this.#hooked, 'the keyed table', 'of one thread', (buffers = ownBuffers(this.#hooked as object)));
      } else {
        const batch = this.#table!.toBatch();
        if (spill) this.#spill(batch);
        else {
          sortBatch(batch, undefined, false);
          table = serialize(batch, 'the keyed table', 'of one thread', (buffers = ownBuffers(batch)));
        }
      }
    }
    return { kind: 'map', runs: this.runs, table, buffers, keys: table === undefined ? 0 : keys, spilledBytes: this.spilledBytes, peakBytes: this.peakBytes };
  }
}
