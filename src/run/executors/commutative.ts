/**
 * The commutative executor: one long task per worker pulls chunk numbers from
 * a shared atomic cursor and folds every chunk it reads into one accumulator
 * (Piscina has no per-worker teardown hook, so the task is the worker's
 * lifetime for the group); the main thread merges once per worker, in no
 * particular order. Jobs with millions of keys are then not bottlenecked by
 * copying a partial per chunk. The output is still in file order: each chunk
 * writes at its own offset (or posts its bytes to the sink, which writes
 * them in order), whichever worker read it.
 */
import { stopRun } from '../control.js';
import { CURSOR, type DrainTask } from '../messages.js';
import { abortPromise } from '../reducer.js';
import { deserialize } from '../wire.js';
import { pollWorkerProgress, type Executor, type InputGroup, type RunContext } from './executor.js';

export const commutativeExecutor: Executor = {
  name: 'commutative',
  async run(group: InputGroup, ctx: RunContext): Promise<void> {
    if (group.kind !== 'chunks') throw new Error('commutative executor: expected files read in chunks');
    const tasks = await ctx.tasks();
    const { reducer } = ctx;
    Atomics.store(tasks.control, CURSOR, 0);
    const progress = pollWorkerProgress(ctx, tasks.control);
    const out = ctx.output?.group(group.chunks, tasks.control);
    const task: DrainTask = { kind: 'drain', job: ctx.handle, settings: ctx.settings, files: group.files, control: tasks.control, progress: progress.counters };
    const aborted = abortPromise(ctx.signal);
    try {
      const workers = Math.min(ctx.plan.threads, group.chunks);
      const runs = Array.from({ length: workers }, () => {
        const output = out?.drainRef();
        return tasks.call(output === undefined ? task : { ...task, output: output.ref }, output?.transfer).catch((error: unknown) => {
          // The first failure stops the other workers of the group at their next chunk (and wakes the waiting ones).
          stopRun(tasks.control);
          throw error;
        });
      });
      const replies = await Promise.race([Promise.all(runs), aborted.promise, progress.failed]);
      progress.throwIfFailed();
      for (const reply of replies) if (reply.partial !== undefined) reducer.add(deserialize(reply.partial, reply.buffers));
      if (out !== undefined) await Promise.race([out.finish(), aborted.promise]);
    } finally {
      progress.stop();
      aborted.dispose();
    }
  },
};
