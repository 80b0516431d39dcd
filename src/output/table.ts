/**
 * The output table of one group of chunks, in shared memory: the prefix sum
 * that tells each chunk where its output starts. A chunk's thread publishes
 * its output's size as soon as `map` is done (before it waits for anything),
 * then writes at its offset once the offsets of all earlier chunks are known.
 * Publishing never waits, so the earliest chunk whose size is unknown is
 * always one a thread is still mapping, and the prefix always advances: no
 * chunk can wait for a later one.
 *
 * The prefix advances lock-free: any thread that sees `sizes[c]` known for
 * the first unknown offset c stores `offsets[c + 1]` (every thread computes
 * the same value) and moves `state[KNOWN]` from c to c + 1 with a
 * compare-and-swap. A publisher stores its size before it reads KNOWN, and an
 * advancer reads the size after it read KNOWN (sequentially consistent
 * Atomics), so of the two at least one sees the other: no size is left
 * unadvanced.
 */
import { wakeAll } from '../run/control.js';

/** state[KNOWN]: offsets[0..KNOWN] are final. */
export const KNOWN = 0;
/** state[CONSUMED] (forward output): chunks the main thread has handed to the consumer. */
export const CONSUMED = 1;

export interface OutputTable {
  state: Int32Array;
  sizes: BigInt64Array;
  offsets: BigInt64Array;
}

/** A table for `chunks` chunks whose output starts at byte `base` of the file. */
export function createTable(chunks: number, base: number): OutputTable {
  const state = new Int32Array(new SharedArrayBuffer(8));
  const sizes = new BigInt64Array(new SharedArrayBuffer(8 * Math.max(1, chunks)));
  sizes.fill(-1n);
  const offsets = new BigInt64Array(new SharedArrayBuffer(8 * (chunks + 1)));
  offsets[0] = BigInt(base);
  return { state, sizes, offsets };
}

/** Number of chunks a table covers. */
export function tableChunks(t: OutputTable): number {
  return t.offsets.length - 1;
}

/** Moves the known prefix as far as the published sizes allow. */
function advance(t: OutputTable): boolean {
  const n = tableChunks(t);
  let moved = false;
  for (;;) {
    const c = Atomics.load(t.state, KNOWN);
    if (c >= n) return moved;
    const size = Atomics.load(t.sizes, c);
    if (size < 0n) return moved;
    Atomics.store(t.offsets, c + 1, Atomics.load(t.offsets, c) + size);
    if (Atomics.compareExchange(t.state, KNOWN, c, c + 1) === c) moved = true;
  }
}

/**
 * Chunk `g`'s output is `size` bytes. Each chunk is published exactly once
 * (a chunk that is skipped or empty publishes 0). Wakes the run's waiters
 * when offsets became known.
 */
export function publishSize(t: OutputTable, g: number, size: number, control: Int32Array): void {
  if (Atomics.compareExchange(t.sizes, g, -1n, BigInt(size)) !== -1n) {
    throw new Error(`output table: the size of chunk ${g} was published twice`);
  }
  if (advance(t)) wakeAll(control);
}

/** Where chunk `g`'s output starts, if all earlier sizes are known yet. */
export function offsetIfKnown(t: OutputTable, g: number): number | undefined {
  return Atomics.load(t.state, KNOWN) >= g ? Number(Atomics.load(t.offsets, g)) : undefined;
}

/** Total output of the table's chunks, once every size is published (else undefined). */
export function tableEnd(t: OutputTable): number | undefined {
  return offsetIfKnown(t, tableChunks(t));
}
