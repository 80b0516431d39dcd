/** `pagewise demo`: generate a sample, run stats over it, show the throughput. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatStats } from '../jobs/stats.js';
import { formatBytes } from './format.js';
import type { Context } from './main.js';

export default async function demo(ctx: Context): Promise<void> {
  const v = ctx.values;
  const rows = (v.rows as number | undefined) ?? 20_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'pagewise-demo-'));
  const file = join(dir, 'measurements.txt');
  const say = (text: string): void => {
    if (!v.json) ctx.out.write(text);
  };
  try {
    say(`pagewise demo: generating ${rows} rows of One Billion Row Challenge data...\n`);
    const { generate1brc } = await import('../gen.js');
    const progress = ctx.display({ name: 'rows' });
    const genStart = performance.now();
    const out = await generate1brc({ out: file, rows, stations: 413, seed: 1, onProgress: (done: number) => progress.update(done, rows) });
    progress.finish();
    say(`  ${formatBytes(out.bytes)} in ${((performance.now() - genStart) / 1000).toFixed(1)} s: ${file}\n`);
    say(`running stats over it on ${v.threads ?? 'all'} threads...\n`);
    const { builtinJobs } = await ctx.lib();
    const bytesDisplay = ctx.display();
    const { result, stats } = await ctx.run(file, builtinJobs.stats, { params: { sep: 0x3b }, onProgress: (p) => bytesDisplay.update(p.bytesDone, out.bytes) });
    bytesDisplay.finish();
    const all = result as Parameters<typeof formatStats>[0];
    if (v.json) {
      ctx.out.write(
        `${JSON.stringify({ file: v.keep ? file : null, rows, bytes: stats.bytes, seconds: stats.wallSeconds, bytesPerSecond: stats.bytesPerSecond, stations: all.length, first: all.slice(0, 5) })}\n`,
      );
    } else {
      const text = formatStats(all.slice(0, 8));
      say(`\nfirst stations of ${all.length}: ${text.slice(0, -2)}, ...}\n`);
      say(
        `\n${stats.bytes} bytes in ${stats.wallSeconds.toFixed(3)} s: ${(stats.bytesPerSecond / 1e9).toFixed(2)} GB/s, ` +
          `${(rows / stats.wallSeconds / 1e6).toFixed(1)} M rows/s on ${stats.threads} threads (chunks of ${formatBytes(stats.chunkSize)})\n`,
      );
      say(v.keep ? `the file stays at ${file}\n` : `removing ${file} (keep it with --keep)\n`);
    }
  } finally {
    if (!v.keep) rmSync(dir, { recursive: true, force: true });
  }
}
