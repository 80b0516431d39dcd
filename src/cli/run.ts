/**
 * `pagewise run JOB FILE...`: your own job; the result as text (util.inspect)
 * or JSON. What `map` writes (`info.write`) goes to stdout or `--output PATH`
 * (atomically); when it went to stdout and the job wrote something, stdout
 * holds exactly those bytes and the result goes to stderr (docs/decisions.md,
 * "Write path"). `--in-place` maps the inputs writable. A keyed job's
 * result is its pairs, written as JSON lines to the same output.
 */
import { resolve } from 'node:path';
import { resultStream, runOutput } from '../output/commands.js';
import { checkPath } from './args.js';
import { resultText, toJson } from './format.js';
import { everyInput, totalBytes } from './inputs.js';
import type { Context } from './main.js';

export default async function run(ctx: Context): Promise<void> {
  const [job, ...files] = ctx.positionals;
  checkPath(job, 'JOB');
  const inputs = everyInput(ctx, files);
  if (inputs.length === 0) return;
  ctx.startWorkers(inputs);
  const flag = ctx.values.output as string | undefined;
  const { toStdout } = runOutput(flag);
  // A cluster run cannot write output yet (the library refuses one): without
  // --output it runs with none, and a job that writes fails with ERR_PAGEWISE_NO_OUTPUT.
  const noOutput = toStdout && ctx.values.cluster !== undefined;
  // '-' rather than the stdout Writable runOutput gives: the same target, named 'standard output' in --stats and --explain.
  const output = noOutput ? undefined : toStdout ? '-' : flag;
  const options = { params: ctx.values.params, output, inPlace: ctx.values['in-place'] === true };
  const paths = inputs.map((i) => i.path);
  if (ctx.explaining) return ctx.explain(paths, resolve(job), options);
  // The job writes to fd 1 itself: a closed stdout must fail before, not lose the output.
  if (output === '-' && !ctx.out.checkOpen()) return;
  const progress = ctx.display();
  const total = totalBytes(inputs);
  const { result, stats } = await ctx.run(paths, resolve(job), { ...options, onProgress: (p) => progress.update(p.bytesDone, total) });
  progress.finish();
  // A keyed job wrote its JSON lines to the output itself; it has no other result to print.
  if (stats.keyed !== undefined) return;
  const text = ctx.values.json ? `${toJson(result)}\n` : resultText(result);
  if (resultStream(toStdout && !noOutput, stats.output?.bytes ?? 0) === 'stdout') ctx.out.write(text);
  else if (result !== undefined) ctx.note(text);
}
