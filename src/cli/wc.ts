/** `pagewise wc`: GNU wc's counts and columns, a row per file as each is done. */
import { WC_ORDER, quoteName, wcRow, wcWidth, type WcColumn } from './format.js';
import { statInput, totalBytes } from './inputs.js';
import type { Context } from './main.js';

type Counts = Partial<Record<WcColumn, number>>;

export default async function wc(ctx: Context): Promise<void> {
  const v = ctx.values;
  let columns = WC_ORDER.filter((c) => v[c] === true);
  if (columns.length === 0) columns = ['lines', 'words', 'bytes'];
  const params = { words: columns.includes('words'), chars: columns.includes('chars'), locale: 'C.UTF-8' };
  const { builtinJobs } = await ctx.lib();
  const inputs = ctx.positionals.map(statInput);
  const width = wcWidth(columns.length, inputs);
  const progress = ctx.display();
  const total = totalBytes(inputs.filter((i) => !i.failed));
  const sum: Counts = {};
  const rows: (Counts & { file: string })[] = [];
  let base = 0;
  for (const input of inputs) {
    if (ctx.out.stopped) break;
    if (input.failed) {
      ctx.report(input.error, input.path);
      // GNU wc opens a directory, fails to read it, and prints its row of zeros.
      if (input.directory && !v.json && !ctx.explaining) ctx.out.write(wcRow({}, columns, width, quoteName(input.path)));
      continue;
    }
    if (ctx.explaining) {
      // One run per file: the plan of each.
      await ctx.explain(input.path, builtinJobs.wc, { params });
      continue;
    }
    let counts: Counts;
    try {
      const { result } = await ctx.run(input.path, builtinJobs.wc, {
        params,
        onProgress: (p) => progress.update(base + p.bytesDone, total),
      });
      counts = result as Counts;
    } catch (error) {
      ctx.report(error, input.path);
      continue;
    }
    base += counts.bytes ?? 0;
    const picked: Counts = {};
    for (const c of columns) {
      picked[c] = counts[c] ?? 0;
      sum[c] = (sum[c] ?? 0) + (counts[c] ?? 0);
    }
    rows.push({ file: input.path, ...picked });
    if (!v.json) ctx.out.write(wcRow(picked, columns, width, quoteName(input.path)));
  }
  if (ctx.explaining) return;
  if (v.json) {
    if (inputs.length === 1) {
      if (rows.length === 1) ctx.out.write(`${JSON.stringify({ ...rows[0], file: undefined })}\n`);
    } else ctx.out.write(`${JSON.stringify({ files: rows, total: sum })}\n`);
  } else if (inputs.length > 1) ctx.out.write(wcRow(sum, columns, width, 'total'));
}
