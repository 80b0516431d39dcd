// Instructions per pass of a job's hot loop, under callgrind, for two or more
// versions of the job on the same input: counts that repeat to about 0.1% on
// a shared, noisy machine, where timings do not. Each version runs
// job-loop.mjs with --reps N under `valgrind --tool=callgrind
// --dump-before=getppid` (job-loop.mjs touches process.ppid before each rep,
// so every rep is its own dump) and node --single-threaded (no concurrent
// compiles or GC threads, which would make the counts vary). The last rep is
// the steady state: start-up, compiles and the warm-up fall in earlier ones.
//
//   node bench/micro/callgrind.mjs FILE JOB_MODULE... [--reps 8] [--params JSON] [--chunk BYTES] [--node PATH] [--keep-acc] [--branch-sim]
//     -> per version: instructions of each rep, of the last rep per line of FILE
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = args[at + 1];
  args.splice(at, 2);
  return value;
};
const reps = Number(flag('--reps', '8'));
const params = flag('--params', undefined);
const keepAt = args.indexOf('--keep-acc');
const keep = keepAt >= 0 ? args.splice(keepAt, 1) : [];
const chunk = flag('--chunk', undefined);
const node = flag('--node', process.execPath);
// --branch-sim: also count conditional branches and their mispredictions
// under callgrind's simple predictor (a hint of what branchy code costs in time).
const branchAt = args.indexOf('--branch-sim');
const branchSim = branchAt >= 0;
if (branchSim) args.splice(branchAt, 1);
const [file, ...modules] = args;
if (!file || modules.length === 0) {
  console.error('usage: callgrind.mjs FILE JOB_MODULE... [--reps 8] [--params JSON] [--chunk BYTES] [--node PATH]');
  process.exit(2);
}

const loop = join(dirname(fileURLToPath(import.meta.url)), 'job-loop.mjs');
const bytes = readFileSync(file);
let lines = 0;
for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) lines++;

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

for (const mod of modules) {
  const dir = mkdtempSync(join(tmpdir(), 'pagewise-cg-'));
  const out = join(dir, 'cg.out');
  const loopArgs = [loop, resolve(mod), resolve(file), '--reps', String(reps)];
  if (params !== undefined) loopArgs.push('--params', params);
  if (chunk !== undefined) loopArgs.push('--chunk', chunk);
  loopArgs.push(...keep);
  const r = spawnSync(
    'valgrind',
    ['--tool=callgrind', ...(branchSim ? ['--branch-sim=yes'] : []), '--dump-before=getppid', `--callgrind-out-file=${out}`, node, '--single-threaded', ...loopArgs],
    { env, encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(1);
  }
  const result = JSON.parse(r.stdout.trim().split('\n').pop());
  // Dumps: .1 is start-up, .2 … .(reps+1) the reps, the unnumbered file what came after.
  const counts = [];
  let mispredicted = 0;
  for (let k = 2; k <= reps + 1; k++) {
    const text = readFileSync(`${out}.${k}`, 'utf8');
    const totals = /^totals:\s+([\d ]+)/m.exec(text)[1].trim().split(/\s+/).map(Number);
    counts.push(totals[0]);
    // Events with --branch-sim: Ir Bc Bcm Bi Bim.
    if (branchSim) mispredicted = totals[2] + totals[4];
  }
  rmSync(dir, { recursive: true, force: true });
  const last = counts[counts.length - 1];
  process.stdout.write(
    `${JSON.stringify({ job: mod, digest: result.digest, lines, irPerRep: counts, irPerLine: Math.round((last / lines) * 10) / 10, ...(branchSim ? { mispredictedPerLine: Math.round((mispredicted / lines) * 100) / 100 } : {}) })}\n`,
  );
}
