/** `pagewise stats`: the One Billion Row Challenge summary. */
import { InvalidOptionError } from '../errors.js';
import { formatStats } from '../jobs/stats.js';
import { toJson } from './format.js';
import { everyInput, totalBytes } from './inputs.js';
import type { Context } from './main.js';

export default async function stats(ctx: Context): Promise<void> {
  const sepText = (ctx.values.sep as string | undefined) ?? ';';
  const sep = Buffer.from(sepText, 'utf8');
  if (sep.length !== 1 || sep[0] === 0x0a) throw new InvalidOptionError('--sep', 'a single byte other than newline', sepText);
  const inputs = everyInput(ctx, ctx.positionals);
  if (inputs.length === 0) return;
  ctx.startWorkers(inputs);
  const { builtinJobs } = await ctx.lib();
  const params = { sep: sep[0] };
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
