/**
 * The keyed executor: the map side of a keyed job's shuffle. Like the
 * commutative executor, one long task per worker pulls chunk numbers from the
 * shared cursor; each worker folds its pairs into its own table, spilling
 * sorted runs when it fills (src/keyed/mapper.ts), and hands its runs (or its
 * table) to the run's keyed reducer (src/keyed/shuffle.ts), which makes the
 * result in key order once every input is read. Streams are mapped into a
 * table on the calling thread.
 */
import type { KeyedMapTask } from '../messages.js';
import { abortPromise } from '../reducer.js';
import { stopRun } from '../control.js';
import { CURSOR } from '../messages.js';
import { pollWorkerProgress, type Executor, type InputGroup, type RunContext } from './executor.js';
import { readStreamRecords } from './stream.js';
import type { KeyedMapOutcome } from '../messages.js';

export const keyedExecutor: Executor = {
  name: 'keyed',
  async run(group: InputGroup, ctx: RunContext): Promise<void> {
    const shuffle = ctx.keyed;
    if (shuffle === undefined) throw new Error('keyed executor: the run has no keyed reducer');
    if (group.kind === 'stream') {
      const mapper = shuffle.mapper();
      await readStreamRecords(group.input, ctx, (bytes, info) => mapper.mapBlock(bytes, info, ctx.settings.split));
      shuffle.add(mapper.end());
      return;
    }
    const tasks = await ctx.tasks();
    Atomics.store(tasks.control, CURSOR, 0);
    const progress = pollWorkerProgress(ctx, tasks.control);
    const task: KeyedMapTask = { kind: 'keyed-map', job: ctx.handle, settings: ctx.settings, files: group.files, control: tasks.control, progress: progress.counters, keyed: shuffle.keyed };
    const aborted = abortPromise(ctx.signal);
    try {
      const workers = Math.min(ctx.plan.threads, group.chunks);
      const runs = Array.from({ length: workers }, () =>
        tasks.call(task).catch((error: unknown) => {
          stopRun(tasks.control);
          throw error;
        }),
      );
      const replies = await Promise.race([Promise.all(runs), aborted.promise, progress.failed]);
      progress.throwIfFailed();
      for (const reply of replies) if (reply.keyed !== undefined) shuffle.add(reply.keyed as KeyedMapOutcome);
    } finally {
      progress.stop();
      aborted.dispose();
    }
  },
};
