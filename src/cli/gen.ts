/** `pagewise gen 1brc OUT`: deterministic One Billion Row Challenge data. */
import { UsageError } from './args.js';
import { formatBytes } from './format.js';
import type { Context } from './main.js';

export default async function gen(ctx: Context): Promise<void> {
  const v = ctx.values;
  const [kind, out] = ctx.positionals;
  if (kind !== '1brc') throw new UsageError(`unknown generator '${kind}': the one there is is 1brc (pagewise gen 1brc OUT)`, undefined, 'gen');
  const rows = (v.rows as number | undefined) ?? 1_000_000;
  const stations = Number((v.stations as string | undefined) ?? 413) as 413 | 10000;
  const seed = (v.seed as number | undefined) ?? 1;
  const { generate1brc } = await import('../gen.js');
  const progress = ctx.display({ name: 'rows' });
  const started = performance.now();
  const written = await generate1brc({ out, rows, stations, seed, onProgress: (done: number) => progress.update(done, rows) });
  progress.finish();
  const seconds = (performance.now() - started) / 1000;
  if (v.json) ctx.out.write(`${JSON.stringify({ file: out, rows: written.rows, bytes: written.bytes, seconds })}\n`);
  else ctx.out.write(`wrote ${written.rows} rows (${formatBytes(written.bytes)}) to ${out} in ${seconds.toFixed(1)} s\n`);
}
