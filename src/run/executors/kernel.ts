/**
 * The kernel executor: for a job whose `kernel` plan says its `map` only
 * counts bytes, the main thread cuts each chunk (a memchr of a few bytes at
 * each cut) and the addon's `scan` runs the plan's byte kernels over it on
 * libuv's threadpool — no JS worker, no view — while the counts are folded in
 * file order.
 *
 * A plan that copies records (grep's plain lines) folds each chunk into an
 * accumulator of its own that is merged at once, so `onMerged` can drain
 * what it copied and memory stays bounded by the reorder window; its
 * `info.write` goes to the run's output from this thread, in file order.
 */
import { native, ScanOps } from '../../native.js';
import { noOutput } from '../../output/chunk-writer.js';
import { threadpoolSize } from '../../plan/plan.js';
import type { KernelOp } from '../../types.js';
import { callFold } from '../calls.js';
import { chunkInfo, openSource, processChunk } from '../chunk.js';
import { inOrder } from '../reducer.js';
import { chunkCursor, type Executor, type InputGroup, type RunContext } from './executor.js';

/** A kernel plan's ops as the addon's scan takes them (op numbers from the addon's own table). */
function scanOps(ops: readonly KernelOp[]): { op: number; byte?: number; needle?: Uint8Array }[] {
  return ops.map((op) => {
    switch (op.op) {
      case 'countRecordsContaining':
      case 'copyRecordsContaining':
        return { op: ScanOps[op.op], byte: op.terminator, needle: op.needle };
      case 'countByte':
        return { op: ScanOps.countByte, byte: op.byte };
      default:
        return { op: ScanOps[op.op] };
    }
  });
}

export const kernelExecutor: Executor = {
  name: 'kernel',
  async run(group: InputGroup, ctx: RunContext): Promise<void> {
    if (group.kind !== 'chunks' || ctx.kernel === undefined) throw new Error('kernel executor: expected mapped files and a kernel plan');
    const { files } = group;
    const { plan, settings, reducer } = ctx;
    const kernel = ctx.kernel;
    const ops = scanOps(kernel.ops);
    const lanes = plan.threads;
    // Each lane has its next chunk queued behind the one it reads (the gate
    // lets only `lanes` read at once), so no pool thread waits for the main
    // thread between chunks. A queued chunk parks a spare pool thread; never
    // more than the pool has. Not under a memory bound: a queued chunk is
    // prefetched, and the working set the plan sized would grow.
    const inFlight = plan.release === 'keep' ? Math.min(2 * lanes, threadpoolSize()) : lanes;
    const gate = native.gate(lanes);
    const sources = new Map(files.map((f) => [f, openSource(f)]));
    const scanAt = chunkCursor(files);
    const foldAt = chunkCursor(files);
    const copies = kernel.ops.some((op) => op.op === 'copyRecordsContaining');
    const out = copies ? ctx.output?.sequential() : undefined;
    // The output's last flush: a stream's consumer with no room holds the next scan back.
    let flushed: Promise<void> | undefined;
    let acc = copies ? undefined : reducer.init();
    await inOrder(
      group.chunks,
      { inFlight, window: lanes * 4, signal: ctx.signal },
      async (g, stopped) => {
        const { file, index } = scanAt(g);
        await flushed;
        const src = sources.get(file)!;
        // No JS view of a scanned range exists, so its page-table entries go
        // as soon as it is read, on the pool thread ("drop").
        return processChunk(src, settings, index, (range) => native.scan(file.mappingId, range.start, range.end - range.start, ops, gate, true), stopped);
      },
      (g, done) => {
        const { file, index } = foldAt(g);
        if (done === undefined) {
          reducer.meter.add(0, 1);
          return;
        }
        const { range, value } = done;
        const info = chunkInfo(file, settings, index, range.start, range.end, out?.write ?? noOutput);
        if (copies) {
          reducer.add(callFold(kernel, reducer.init(), value, info, value.bytes));
          if (out !== undefined) {
            flushed = out.flush();
            flushed.catch(() => {});
          }
        } else acc = callFold(kernel, acc, value, info, undefined);
        reducer.meter.add(range.end - range.start, 1);
      },
    );
    if (!copies) reducer.add(acc);
    else if (out !== undefined) {
      await flushed;
      await out.flush();
    }
  },
};
