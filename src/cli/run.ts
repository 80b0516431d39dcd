/** `pagewise run JOB FILE...`: your own job; the result as text (util.inspect) or JSON. */
import { resolve } from 'node:path';
import { resultText, toJson } from './format.js';
import { goodInputs, totalBytes } from './inputs.js';
import type { Context } from './main.js';

export default async function run(ctx: Context): Promise<void> {
  const [job, ...files] = ctx.positionals;
  const inputs = goodInputs(ctx, files);
  if (inputs.length === 0) return;
  const progress = ctx.display();
  const total = totalBytes(inputs);
  const { result } = await ctx.run(
    inputs.map((i) => i.path),
    resolve(job),
    { params: ctx.values.params, onProgress: (p) => progress.update(p.bytesDone, total) },
  );
  progress.finish();
  ctx.out.write(ctx.values.json ? `${toJson(result)}\n` : resultText(result));
}
