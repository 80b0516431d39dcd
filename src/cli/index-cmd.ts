/** `pagewise index FILE`: every record's offset as u64 LE, to FILE.idx or --output, in parallel and atomically. */
import { indexCommand } from '../output/commands.js';
import { namesStandardOutput } from '../output/target.js';
import { UsageError } from './args.js';
import { totalBytes, statInput } from './inputs.js';
import type { Context } from './main.js';

export default async function index(ctx: Context): Promise<void> {
  const v = ctx.values;
  const [file] = ctx.positionals;
  const input = statInput(file);
  if (input.failed) throw input.error;
  // FILE.idx beside a regular file only: not ./-.idx for stdin, nor /dev/null.idx in /dev.
  if (v.output === undefined && (file === '-' || !input.regular)) {
    throw new UsageError(`'${file}' is not a regular file, so its index has no place beside it: give --output PATH (- for standard output)`, '--output', 'index');
  }
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
  const summary = v.json ? JSON.stringify({ file, index: path, records, bytes: report.stats.output?.bytes ?? 0 }) : `indexed ${records} records of ${file} into ${path}`;
  // The index went to standard output: the summary must not follow it into the pipe.
  if (namesStandardOutput(path)) ctx.note(summary);
  else ctx.out.write(`${summary}\n`);
}
