/** `pagewise gen 1brc OUT`: deterministic One Billion Row Challenge data. */
import { UsageError, checkPath } from './args.js';
import { namesStandardOutput } from '../output/target.js';
import { formatBytes } from './format.js';
import type { Context } from './main.js';

export default async function gen(ctx: Context): Promise<void> {
  const v = ctx.values;
  const [kind, out] = ctx.positionals;
  if (kind !== '1brc') throw new UsageError(`unknown generator '${kind}': the one there is is 1brc (pagewise gen 1brc OUT)`, undefined, 'gen');
  checkPath(out, 'OUT');
  const rows = (v.rows as number | undefined) ?? 1_000_000;
  const stations = Number((v.stations as string | undefined) ?? 413) as 413 | 10000;
  const seed = (v.seed as number | undefined) ?? 1;
  const { generate1brc } = await import('../gen.js');
  // gen runs on the library's worker pool: loaded through the context, so the CLI's exit shuts it down.
  await ctx.lib();
  const progress = ctx.display({ name: 'rows' });
  const started = performance.now();
  const written = await generate1brc({ out, rows, stations, seed, threads: v.threads as number | undefined, signal: ctx.signal, onProgress: (done: number) => progress.update(done, rows) });
  progress.finish();
  const seconds = (performance.now() - started) / 1000;
  const summary = v.json ? JSON.stringify({ file: out, rows: written.rows, bytes: written.bytes, seconds }) : `wrote ${written.rows} rows (${formatBytes(written.bytes)}) to ${out} in ${seconds.toFixed(1)} s`;
  // The rows went to standard output: the summary must not follow them into the pipe.
  if (namesStandardOutput(out)) ctx.note(summary);
  else ctx.out.write(`${summary}\n`);
}
