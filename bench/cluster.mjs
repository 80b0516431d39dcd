#!/usr/bin/env node
// The cluster's overhead (issue 18): `pagewise stats` on the 1BRC file run
// by two `pagewise worker --threads 1` processes over a local Redis, against
// a local run with `--threads 2` on the same machine; and the per-split cost,
// from cluster runs at two split sizes. Run on purpose (never by CI):
//
//   npm run build
//   node bench/cluster.mjs --file /data/measurements.txt     # an existing 1BRC file
//   node bench/cluster.mjs --rows 2e8 --tmp /big              # generate it (~2.76 GB) first
//
// Flags: --reps N (5), --split-size SIZE (256MiB), --small-split SIZE (64MiB:
// the second size for the per-split cost), --lock-duration DUR (30s), --keep.
// Needs redis-server on PATH and bullmq + ioredis installed (devDependencies).
// Both sides are timed as whole commands, start-up included, alternately
// (local, cluster, cluster-small, local, ...), each right after the file is
// read through once; the answers must be equal, byte for byte.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, statSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fmtBytes, fmtSeconds, machine, median, timeCommand, warm } from './lib/util.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'pagewise.cjs');
const { values } = parseArgs({
  options: {
    file: { type: 'string' },
    rows: { type: 'string', default: '2e8' },
    tmp: { type: 'string' },
    reps: { type: 'string', default: '5' },
    'split-size': { type: 'string', default: '256MiB' },
    'small-split': { type: 'string', default: '64MiB' },
    'lock-duration': { type: 'string', default: '30s' },
    keep: { type: 'boolean', default: false },
  },
});
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const reps = Number(values.reps);

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function waitFor(what, check, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const work = mkdtempSync(join(values.tmp ?? tmpdir(), 'pagewise-cluster-bench-'));
let file = values.file && resolve(values.file);
const children = [];
try {
  if (!file) {
    file = join(work, 'measurements.txt');
    process.stderr.write(`generating ${values.rows} rows into ${file} ...\n`);
    const g = spawnSync(process.execPath, [CLI, 'gen', '1brc', file, '--rows', String(Number(values.rows))], { env, stdio: 'inherit' });
    if (g.status !== 0) throw new Error('pagewise gen failed');
  }
  const size = statSync(file).size;
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (!which) throw new Error('redis-server is not on PATH (apt-get install redis-server)');
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const log = openSync(join(work, 'processes.log'), 'a');
  // Children write to a file, never to a pipe: the timed runs below block this process.
  children.push(spawn(which, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', log, log] }));
  await waitFor('redis-server', () => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG' || children[0].exitCode !== null);
  for (const name of ['bench-w1', 'bench-w2']) {
    children.push(
      spawn(process.execPath, [CLI, 'worker', '--cluster', url, '--threads', '1', '--name', name, '--lock-duration', values['lock-duration'], '--verbose'], {
        stdio: ['ignore', log, log],
        env,
      }),
    );
  }
  await waitFor('the workers', () => readFileSync(join(work, 'processes.log'), 'utf8').split('connected to').length >= 3);

  const sides = {
    local: ['stats', file, '--threads', '2', '--stats', '--json'],
    cluster: ['stats', file, '--cluster', url, '--split-size', values['split-size'], '--stats', '--json'],
    'cluster-small': ['stats', file, '--cluster', url, '--split-size', values['small-split'], '--stats', '--json'],
  };
  const runs = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
  let answer;
  for (let rep = -1; rep < reps; rep++) {
    for (const [name, args] of Object.entries(sides)) {
      warm(file);
      const r = timeCommand(process.execPath, [CLI, ...args], { env });
      if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
      answer ??= r.stdout;
      if (r.stdout !== answer) throw new Error(`MISMATCH: ${name} answered differently`);
      const stats = JSON.parse(r.stderr.trim().split('\n').at(-1));
      // Rep -1 is a warm-up (workers' first job load, Redis's first scripts): not counted.
      if (rep >= 0) runs[name].push({ seconds: r.seconds, cpu: r.cpuSeconds, stats });
      process.stderr.write(`${rep < 0 ? 'warm-up' : `rep ${rep + 1}`} ${name}: ${fmtSeconds(r.seconds)}\n`);
    }
  }
  const wall = (name) => median(runs[name].map((r) => r.seconds));
  const ratio = median(runs.cluster.map((r, i) => r.seconds / runs.local[i].seconds));
  const splits = (name) => runs[name][0].stats.cluster.splits;
  const perSplit = (wall('cluster-small') - wall('cluster')) / (splits('cluster-small') - splits('cluster'));
  const c = runs.cluster.map((r) => r.stats.cluster);
  const m = machine();
  const out = [
    `## Cluster overhead (bench/cluster.mjs, ${new Date().toISOString().slice(0, 10)})`,
    '',
    `${m.cpu ?? ''} ${m.cores ?? ''} cores; ${fmtBytes(size)} 1BRC file, ${reps} alternated reps, medians, start-up included.`,
    '',
    '| side | wall | splits | per split on a worker (mean) | enqueue to merge (mean) |',
    '|---|---:|---:|---:|---:|',
    `| local \`stats --threads 2\` | ${fmtSeconds(wall('local'))} | – | – | – |`,
    ...['cluster', 'cluster-small'].map((n) => {
      const cs = runs[n].map((r) => r.stats.cluster);
      return `| 2 workers \`--threads 1\`, splits of ${n === 'cluster' ? values['split-size'] : values['small-split']} | ${fmtSeconds(wall(n))} | ${splits(n)} | ${fmtSeconds(median(cs.map((x) => x.splitSeconds.mean)))} | ${fmtSeconds(median(cs.map((x) => x.splitLatencySeconds)))} |`;
    }),
    '',
    `Overhead of the cluster (splits of ${values['split-size']}): **${((ratio - 1) * 100).toFixed(1)}%** (median of per-rep ratios; target ≤ 15%).`,
    `Per-split cost: **${fmtSeconds(perSplit)}** ((wall at ${values['small-split']} − wall at ${values['split-size']}) / (extra splits)).`,
    `Workers: ${c[0].workers.map((w) => `${w.name} ${w.splits} splits`).join(', ')} (first rep).`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  for (const child of children.reverse()) child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1500));
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (!values.keep) rmSync(work, { recursive: true, force: true });
  else process.stderr.write(`kept ${work}\n`);
}
