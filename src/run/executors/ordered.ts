/**
 * The ordered executor: one Piscina task per chunk, at most 2 x threads in
 * flight and at most 4 x threads between the next chunk to merge and the last
 * dispatched, so a million-chunk file neither queues a million tasks nor holds
 * a million partials. Partials are merged strictly in file order.
 */
import { knownEmpty } from '../../plan/chunks.js';
import { cutCacheOf } from '../chunk.js';
import type { ChunkTask } from '../messages.js';
import { inOrder } from '../reducer.js';
import { deserialize } from '../wire.js';
import { chunkCursor, type Executor, type InputGroup, type RunContext } from './executor.js';

type Reply = { partial: Uint8Array | undefined; bytes: number } | undefined;

export const orderedExecutor: Executor = {
  name: 'ordered',
  async run(group: InputGroup, ctx: RunContext): Promise<void> {
    if (group.kind !== 'chunks') throw new Error('ordered executor: expected files read in chunks');
    const tasks = await ctx.tasks();
    const { plan, settings, reducer } = ctx;
    const taskAt = chunkCursor(group.files);
    await inOrder(
      group.chunks,
      { inFlight: plan.threads * 2, window: plan.threads * 4, signal: ctx.signal },
      async (k): Promise<Reply> => {
        const { file, index } = taskAt(k);
        // A chunk inside a long record that started before it is not dispatched at all.
        if (knownEmpty(index, file.size, settings.chunkSize, cutCacheOf(file))) return undefined;
        const task: ChunkTask = { kind: 'chunk', job: ctx.handle, settings, file, index, control: tasks.control };
        return tasks.call(task);
      },
      (_k, reply) => {
        if (reply?.partial !== undefined) reducer.add(deserialize(reply.partial));
        reducer.meter.add(reply?.bytes ?? 0, 1);
      },
    );
  },
};
