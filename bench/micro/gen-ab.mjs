// A/B of `pagewise gen`: the parallel generator (every thread formats blocks
// and writes them at their offsets through the writer) against the
// single-threaded double-buffered generator it replaced, alternating A and B
// in one run. The old generator is loaded from a build of an earlier commit:
//   git worktree add /tmp/pw-old 930002d && (cd /tmp/pw-old && npm ci && npm run build:ts)
//   node bench/micro/gen-ab.mjs --old /tmp/pw-old --rows 2e8 --reps 5
// Both write the same bytes (checked: sha-256 of each output). CPU seconds
// (every thread of the process) are given too: on a shared machine they say
// more about the work than the wall time does.
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { old: { type: 'string' }, rows: { type: 'string', default: '2e7' }, reps: { type: 'string', default: '3' }, threads: { type: 'string' } } });
if (!values.old) throw new Error('--old DIR: a build of the commit before the parallel generator');
const rows = Number(values.rows);
const reps = Number(values.reps);
const here = resolve(import.meta.dirname, '..', '..');
const next = await import(join(here, 'dist/src/gen.js'));
const { shutdown } = await import(join(here, 'dist/src/index.js'));
const old = await import(join(resolve(values.old), 'dist/src/gen.js'));
const dir = mkdtempSync(join(tmpdir(), 'pagewise-gen-ab-'));
const sha = (file) => new Promise((res, rej) => { const h = createHash('sha256'); createReadStream(file).on('data', (d) => h.update(d)).on('end', () => res(h.digest('hex'))).on('error', rej); });
const times = { old: [], next: [] };
const cpu = { old: [], next: [] };
let hashes = {};
try {
  for (let r = 0; r < reps; r++) {
    for (const side of r % 2 === 0 ? ['old', 'next'] : ['next', 'old']) {
      const out = join(dir, `${side}.txt`);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      if (side === 'old') await old.generate1brc({ out, rows, seed: 1 });
      else await next.generate1brc({ out, rows, seed: 1, threads: values.threads ? Number(values.threads) : undefined });
      times[side].push((performance.now() - t0) / 1000);
      const c = process.cpuUsage(c0);
      cpu[side].push((c.user + c.system) / 1e6);
      if (r === 0) hashes[side] = await sha(out);
      rmSync(out);
    }
  }
} finally {
  await shutdown();
  rmSync(dir, { recursive: true, force: true });
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(JSON.stringify({ rows, reps, same: hashes.old === hashes.next, old: times.old.map((t) => +t.toFixed(2)), next: times.next.map((t) => +t.toFixed(2)), medianOld: median(times.old), medianNext: median(times.next), ratio: median(times.next) / median(times.old), cpuOld: median(cpu.old), cpuNext: median(cpu.next), load: (await import('node:os')).loadavg()[0] }));
