/** `pagewise tune FILE`: times a job at several chunk sizes and recommends one. */
import { resolve } from 'node:path';
import { InvalidOptionError } from '../errors.js';
import { formatBytes } from './format.js';
import { statInput } from './inputs.js';
import type { Context } from './main.js';

const SIZES = [256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20];
const REPS = 3;

const DEFAULT_PARAMS: Record<string, unknown> = {
  wc: { words: true, locale: 'C.UTF-8' },
  grep: { pattern: 'e', count: true },
  stats: { sep: 0x3b },
  freq: { top: 10 },
};

export default async function tune(ctx: Context): Promise<void> {
  const v = ctx.values;
  const file = ctx.positionals[0];
  // A recommendation needs bytes to time, read the same way each trial.
  if (file === '-') throw new InvalidOptionError('FILE', 'a regular file: tune reads it 16 times, and standard input can be read once', file);
  const input = statInput(file);
  if (input.failed) throw input.error;
  if (!input.regular) throw new InvalidOptionError('FILE', 'a regular file: tune reads it 16 times, and a pipe or device can be read once', file);
  if (input.size === 0) throw new InvalidOptionError('FILE', 'a non-empty file: there is nothing to time in an empty one', file);
  const { builtinJobs } = await ctx.lib();
  const jobName = (v.job as string | undefined) ?? 'wc';
  const job = jobName in builtinJobs ? builtinJobs[jobName as keyof typeof builtinJobs] : resolve(jobName);
  const params = v.params !== undefined ? v.params : DEFAULT_PARAMS[jobName];
  // Sizes past the file's size all read it as one chunk: the first of them stands for the rest.
  const cover = SIZES.findIndex((s) => s >= input.size);
  const sizes = cover < 0 ? SIZES : SIZES.slice(0, Math.max(cover + 1, 1));
  const progress = ctx.display({ name: 'runs' });
  const runs = 1 + sizes.length * REPS;
  let done = 0;
  const quiet = { params, onProgress: undefined };
  // One untimed pass warms the page cache and the workers, so every trial measures the same thing.
  await ctx.run(file, job, quiet);
  progress.update(++done, runs);
  const trials: { chunkSize: number; seconds: number; bytesPerSecond: number }[] = [];
  for (const chunkSize of sizes) {
    let best = Infinity;
    let bytes = 0;
    for (let rep = 0; rep < REPS; rep++) {
      const { stats } = await ctx.run(file, job, { ...quiet, chunkSize });
      best = Math.min(best, stats.wallSeconds);
      bytes = stats.bytes;
      progress.update(++done, runs);
    }
    trials.push({ chunkSize, seconds: best, bytesPerSecond: best > 0 ? bytes / best : 0 });
  }
  progress.finish();
  // The smallest size within 5% of the fastest: the same speed for less
  // memory per thread and smoother load balance.
  const fastest = Math.min(...trials.map((t) => t.seconds));
  const recommended = trials.find((t) => t.seconds <= fastest * 1.05)!.chunkSize;
  if (v.json) {
    ctx.out.write(`${JSON.stringify({ recommended, trials })}\n`);
    return;
  }
  let text = 'chunk size     seconds     GB/s\n';
  for (const t of trials) {
    const mark = t.chunkSize === recommended ? '  <- recommended' : '';
    text += `${formatBytes(t.chunkSize).padEnd(12)} ${t.seconds.toFixed(4).padStart(9)} ${(t.bytesPerSecond / 1e9).toFixed(2).padStart(8)}${mark}\n`;
  }
  text += `\nrecommended: --chunk-size ${formatBytes(recommended).replace(' ', '')} (smallest size within 5% of the fastest)\n`;
  ctx.out.write(text);
}
