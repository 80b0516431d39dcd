// The write path's overhead (issue 16, Speed): the filter job of
// bench/jobs/filter-tenth.mjs (~10% of the lines) over a 1BRC file, writing
// its lines to a file (A) against the same job only counting them (B),
// alternating A and B in one run. Also checks the output against the count.
//   node bench/micro/filter-output.mjs FILE [--reps 5] [--threads N]
//   (make FILE with: pagewise gen 1brc FILE --rows 2e8 for the 2.76 GB of the issue)
import { rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { reps: { type: 'string', default: '5' }, threads: { type: 'string' } } });
const [file] = positionals;
if (!file) throw new Error('usage: filter-output.mjs FILE [--reps N] [--threads N]');
const here = resolve(import.meta.dirname, '..', '..');
const { runJob, shutdown } = await import(join(here, 'dist/src/index.js'));
const job = join(here, 'bench/jobs/filter-tenth.mjs');
const out = `${file}.filtered`;
const threads = values.threads ? Number(values.threads) : undefined;
const times = { write: [], count: [] };
let kept;
try {
  await runJob(file, job, { threads }); // warm: page cache, workers, the job
  for (let r = 0; r < Number(values.reps); r++) {
    for (const side of r % 2 === 0 ? ['write', 'count'] : ['count', 'write']) {
      const t0 = performance.now();
      const { result } = await runJob(file, job, { threads, params: { write: side === 'write' }, ...(side === 'write' ? { output: out } : {}) });
      times[side].push((performance.now() - t0) / 1000);
      kept = result;
      if (side === 'write' && statSync(out).size !== result.bytes) throw new Error('the output is not the lines counted');
      if (side === 'write') rmSync(out);
    }
  }
} finally {
  await shutdown();
  rmSync(out, { force: true });
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(JSON.stringify({ file, bytes: statSync(file).size, kept, write: times.write.map((t) => +t.toFixed(3)), count: times.count.map((t) => +t.toFixed(3)), overhead: median(times.write) / median(times.count) }));
