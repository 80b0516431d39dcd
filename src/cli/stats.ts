/** `pagewise stats`: the One Billion Row Challenge summary. */
import { InvalidOptionError } from '../errors.js';
import { formatStats } from '../jobs/stats.js';
import { parseDelimiter } from '../output/commands.js';
import { toJson } from './format.js';
import { everyInput, totalBytes } from './inputs.js';
import type { Context } from './main.js';

export default async function stats(ctx: Context): Promise<void> {
  const sepText = (ctx.values.sep as string | undefined) ?? ';';
  // Spelled as index's --delimiter is: a tab is easier to give as \t than as a literal one.
  const sep = parseDelimiter(sepText);
  if (sep === undefined || sep === 0x0a) throw new InvalidOptionError('--sep', 'one byte other than newline: a character, \\t, \\r, \\0 or 0xNN', sepText);
  const inputs = everyInput(ctx, ctx.positionals);
  if (inputs.length === 0) return;
  ctx.startWorkers(inputs);
  const { builtinJobs } = await ctx.lib();
  const params = { sep };
  if (ctx.explaining) return ctx.explain(inputs.map((i) => i.path), builtinJobs.stats, { params });
  const progress = ctx.display();
  const total = totalBytes(inputs);
  const { result } = await ctx.run(
    inputs.map((i) => i.path),
    builtinJobs.stats,
    { params, onProgress: (p) => progress.update(p.bytesDone, total) },
  );
  progress.finish();
  ctx.out.write(ctx.values.json ? `${toJson(result)}\n` : formatStats(result as Parameters<typeof formatStats>[0]));
}
