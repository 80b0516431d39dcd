/**
 * The ordered executor: one Piscina task per chunk, at most 2 x threads in
 * flight and at most 4 x threads between the next chunk to merge and the last
 * dispatched, so a million-chunk file neither queues a million tasks nor holds
 * a million partials. Partials are merged strictly in file order.
 *
 * With an output written at offsets, each task takes its chunk from the
 * run's cursor when it starts (a pull task): a worker that waits for earlier
 * chunks' output sizes then never waits for a chunk still queued behind it,
 * whatever order the pool starts tasks in. With a forward output, chunks'
 * bytes come back in the replies and go to the sink in order; no task is
 * dispatched while the sink's consumer has no room.
 */
import { knownEmpty } from '../../plan/chunks.js';
import { cutCacheOf } from '../chunk.js';
import { CURSOR, type ChunkTask, type PullTask, type TaskReply } from '../messages.js';
import { inOrder, pulledSteps } from '../reducer.js';
import { deserialize } from '../wire.js';
import { chunkCursor, type Executor, type InputGroup, type RunContext } from './executor.js';

type Reply = Extract<TaskReply, { ok: true }> | undefined;

export const orderedExecutor: Executor = {
  name: 'ordered',
  async run(group: InputGroup, ctx: RunContext): Promise<void> {
    if (group.kind !== 'chunks') throw new Error('ordered executor: expected files read in chunks');
    const tasks = await ctx.tasks();
    const { plan, settings, reducer } = ctx;
    const out = ctx.output?.group(group.chunks, tasks.control);
    const limits = { inFlight: plan.threads * 2, window: plan.threads * 4, signal: ctx.signal };
    const consume = (k: number, reply: Reply): void => {
      if (out?.mode === 'forward') out.deliver(k, reply?.output);
      if (reply?.partial !== undefined) reducer.add(deserialize(reply.partial, reply.buffers));
      reducer.meter.add(reply?.bytes ?? 0, 1);
    };
    if (out?.mode === 'positional') {
      Atomics.store(tasks.control, CURSOR, 0);
      const task: PullTask = { kind: 'pull', job: ctx.handle, settings, files: group.files, control: tasks.control, output: out.ref };
      await inOrder(group.chunks, limits, pulledSteps<Reply & object>(() => tasks.call(task)), consume);
    } else {
      const taskAt = chunkCursor(group.files);
      await inOrder(
        group.chunks,
        limits,
        async (k): Promise<Reply> => {
          const { file, index } = taskAt(k);
          // A chunk inside a long record that started before it is not dispatched at all.
          if (knownEmpty(index, file.size, settings.chunkSize, cutCacheOf(file))) return undefined;
          // Backpressure: nothing more is read while the output's consumer is full.
          await out?.room();
          const task: ChunkTask = { kind: 'chunk', job: ctx.handle, settings, file, index, seq: k, control: tasks.control, output: out?.ref };
          return tasks.call(task);
        },
        consume,
      );
    }
    await out?.finish();
  },
};
