/** `pagewise index FILE`: every record's offset as u64 LE, to FILE.idx or --output, in parallel and atomically. */
import { indexCommand } from '../output/commands.js';
import { totalBytes, statInput } from './inputs.js';
import type { Context } from './main.js';

export default async function index(ctx: Context): Promise<void> {
  const v = ctx.values;
  const [file] = ctx.positionals;
  const input = statInput(file);
  if (input.failed) throw input.error;
  // Loaded through the context, so --stats can describe the plan and the CLI's exit shuts the pool down.
  await ctx.lib();
  const progress = ctx.display();
  const total = totalBytes([input]);
  const { report, path } = await indexCommand(
    { file, output: v.output as string | undefined, delimiter: v.delimiter as string | undefined, recordSize: v['record-size'] as number | undefined },
    { ...ctx.runOptions(), signal: ctx.signal, onProgress: (p) => progress.update(p.bytesDone, total) },
  );
  progress.finish();
  ctx.showStats(report.stats);
  const { records } = report.result;
  if (v.json) ctx.out.write(`${JSON.stringify({ file, index: path, records, bytes: report.stats.output?.bytes ?? 0 })}\n`);
  else ctx.out.write(`indexed ${records} records of ${file} into ${path}\n`);
}
