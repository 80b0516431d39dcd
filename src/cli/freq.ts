/** `pagewise freq`: the most frequent words of all files together. */
import { toJson } from './format.js';
import { goodInputs, totalBytes } from './inputs.js';
import type { Context } from './main.js';

export default async function freq(ctx: Context): Promise<void> {
  const top = (ctx.values.top as number | undefined) ?? 10;
  const inputs = goodInputs(ctx, ctx.positionals);
  if (inputs.length === 0) return;
  const { builtinJobs } = await ctx.lib();
  const progress = ctx.display();
  const total = totalBytes(inputs);
  const { result } = await ctx.run(
    inputs.map((i) => i.path),
    builtinJobs.freq,
    { params: { top }, onProgress: (p) => progress.update(p.bytesDone, total) },
  );
  progress.finish();
  const rows = result as { word: string; count: number }[];
  if (ctx.values.json) {
    ctx.out.write(`${toJson(rows)}\n`);
    return;
  }
  const width = rows.length > 0 ? String(rows[0].count).length : 1;
  ctx.out.write(rows.map((r) => `${String(r.count).padStart(width)} ${r.word}\n`).join(''));
}
