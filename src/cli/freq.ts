/**
 * `pagewise freq`: the most frequent words of all files together, or with
 * `--all` every word. Both run the keyed word count (runFreq), so any number
 * of distinct words fits in bounded memory; `--all` writes its rows as they
 * come out of the merge, to stdout or atomically to `--output`.
 */
import { UsageError } from './args.js';
import { everyInput, totalBytes } from './inputs.js';
import type { Context } from './main.js';

export default async function freq(ctx: Context): Promise<void> {
  const all = ctx.values.all === true;
  if (all && ctx.values.top !== undefined) throw new UsageError("--all prints every word: drop --top (or --all)", '--top', 'freq');
  const top = (ctx.values.top as number | undefined) ?? 10;
  const format = ctx.values.json === true ? 'json' : 'text';
  const flag = ctx.values.output as string | undefined;
  const inputs = everyInput(ctx, ctx.positionals);
  if (inputs.length === 0) return;
  const paths = inputs.map((i) => i.path);
  ctx.startWorkers(inputs);
  const { builtinJobs } = await ctx.lib();
  const { runFreq, formatFreqRows } = await import('../keyed/freq-command.js');
  if (ctx.explaining) return ctx.explain(paths, builtinJobs.wordCounts, {});
  // --all streams its rows through the keyed writer; stdout is '-' there, so a closed stdout must fail before the run.
  const output = flag ?? (all ? '-' : undefined);
  if (output === '-' && !ctx.out.checkOpen()) return;
  const progress = ctx.display();
  const total = totalBytes(inputs);
  const { rows } = await ctx.call((_lib, options) => runFreq(paths, { all, top, format, output }, options), {
    onProgress: (p) => progress.update(p.bytesDone, total),
  });
  progress.finish();
  if (output === undefined && rows !== undefined) ctx.out.write(formatFreqRows(rows, format));
}
