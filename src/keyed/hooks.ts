/**
 * An internal fast path for built-in keyed jobs whose values are numbers and
 * whose `map` already keeps its own typed-array table (`freq`'s word table):
 * the engine drives that table instead of calling `emit` per word, and still
 * spills it, merges it and orders it like any keyed table. The job's own
 * `map(emit, ...)` and `combine` stay the reference (used when
 * `keyedTable: false` is asked for in tests, and they must agree).
 */
import type { KeyBatch } from './batch.js';
import type { ChunkInfo } from '../types.js';

/** The property of a keyed job that carries its table hooks. */
export const KEYED_TABLE: unique symbol = Symbol.for('pagewise.keyedTable') as never;

export interface TableHooks<T = unknown> {
  /** A fresh, empty table. */
  create(params: unknown): T;
  /** Counts one slice of whole records into the table (may grow it); returns the table. */
  map(table: T, bytes: Uint8Array, info: ChunkInfo): T;
  /** Distinct keys in the table. */
  size(table: T): number;
  /**
   * The most bytes the table may hold after mapping `pieceBytes` more bytes
   * of input (a growth doubles its slots while the old ones are still
   * there). The engine spills before a piece that could pass its share.
   */
  bytesAfter(table: T, pieceBytes: number): number;
  /** Every key with its (numeric) value, unsorted (into `reuse` when it is large enough: see newBatch). */
  toBatch(table: T, reuse?: KeyBatch): KeyBatch;
  /** Empties the table, keeping its memory (a table that spilled fills again at its size). */
  clear(table: T): void;
  /** Folds `b` into `a` (tables kept in memory, on the main thread). */
  merge(a: T, b: T): T;
  /** Optional: the `k` keys with the highest values (ties by key bytes), best first, straight from a table. */
  top?(table: T, k: number): { key: Uint8Array; value: number }[];
}

/** The hooks of `job`, if it has any. */
export function tableHooksOf(job: object): TableHooks | undefined {
  return (job as { [KEYED_TABLE]?: TableHooks })[KEYED_TABLE];
}
