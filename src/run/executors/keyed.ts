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
import { CURSOR, STOP } from '../messages.js';
import type { Executor, InputGroup, RunContext } from './executor.js';
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
    const { meter } = ctx.reducer;
    Atomics.store(tasks.control, CURSOR, 0);
    const progress = new BigInt64Array(new SharedArrayBuffer(16));
    const task: KeyedMapTask = { kind: 'keyed-map', job: ctx.handle, settings: ctx.settings, files: group.files, control: tasks.control, progress, keyed: shuffle.keyed };
    const bytesBefore = meter.bytesDone;
    const chunksBefore = meter.chunksDone;
    const update = (): void => {
      meter.bytesDone = bytesBefore + Number(Atomics.load(progress, 0));
      meter.chunksDone = chunksBefore + Number(Atomics.load(progress, 1));
    };
    let failure: { error: unknown } | undefined;
    let failRun = (_error: unknown): void => {};
    const failed = new Promise<never>((_, reject) => {
      failRun = reject;
    });
    failed.catch(() => {});
    const poll = setInterval(() => {
      update();
      try {
        meter.report();
      } catch (error) {
        failure ??= { error };
        Atomics.store(tasks.control, STOP, 1);
        failRun(error);
      }
    }, 100);
    const aborted = abortPromise(ctx.signal);
    try {
      const workers = Math.min(ctx.plan.threads, group.chunks);
      const runs = Array.from({ length: workers }, () =>
        tasks.call(task).catch((error: unknown) => {
          Atomics.store(tasks.control, STOP, 1);
          throw error;
        }),
      );
      const replies = await Promise.race([Promise.all(runs), aborted.promise, failed]);
      if (failure !== undefined) throw failure.error;
      for (const reply of replies) if (reply.keyed !== undefined) shuffle.add(reply.keyed as KeyedMapOutcome);
    } finally {
      clearInterval(poll);
      aborted.dispose();
      update();
    }
  },
};
