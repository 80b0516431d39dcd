// A job's init/map/merge/finish called directly on one thread, without the
// engine: for comparing two versions of a hot loop (instruction counts under
// callgrind, or a quick alternating A/B). The file is read into memory and cut
// at newlines every CHUNK bytes, as the engine would; each rep folds every
// chunk into one accumulator (as a worker does with a commutative job), then
// merges it into a fresh one and finishes.
//
//   node bench/micro/job-loop.mjs JOB_MODULE FILE [--reps N] [--chunk BYTES] [--params JSON] [--keep-acc]
//     -> one JSON line { job, bytes, chunks, reps, msPerRep: [...], cpuMsPerRep: [...], digest }
//
// JOB_MODULE is a compiled job (dist/src/jobs/stats.js, or a copy of an older
// build). The steady-state cost of one pass is the difference between runs
// with --reps 3 and --reps 1, divided by 2: start-up, compiles and the warm-up
// are the same in both and cancel (see bench/micro/callgrind-ab.sh).
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = args[at + 1];
  args.splice(at, 2);
  return value;
};
const reps = Number(flag('--reps', '1'));
const chunk = Number(flag('--chunk', String(4 << 20)));
const paramsText = flag('--params', undefined);
// --keep-acc: map every rep into the same accumulator, so that later reps see
// only known keys, as most of a long run does (freq on 1BRC lines has 825,000).
const keepAt = args.indexOf('--keep-acc');
const keepAcc = keepAt >= 0;
if (keepAcc) args.splice(keepAt, 1);
const params = paramsText === undefined ? undefined : JSON.parse(paramsText);
const [jobPath, file] = args;
if (!jobPath || !file || !(reps >= 1) || !(chunk >= 1)) {
  console.error('usage: job-loop.mjs JOB_MODULE FILE [--reps N] [--chunk BYTES] [--params JSON]');
  process.exit(2);
}

// As in workers/map-worker.ts: the worker detaches every chunk's view, and the
// first detach in a thread throws away optimized code that reads typed arrays,
// so it detaches a throwaway buffer up front. Do the same, so that the code
// compiled here is the code a worker runs.
{
  const spent = new ArrayBuffer(8);
  structuredClone(spent, { transfer: [spent] });
}

const job = (await import(pathToFileURL(resolve(jobPath)).href)).default;
const bytes = new Uint8Array(readFileSync(file));

const cuts = [0];
for (let at = chunk; at < bytes.length; ) {
  const nl = bytes.indexOf(10, at);
  if (nl < 0 || nl + 1 >= bytes.length) break;
  cuts.push(nl + 1);
  at = nl + 1 + chunk;
}
cuts.push(bytes.length);

const msPerRep = [];
const cpuMsPerRep = [];
let result;
let kept;
for (let rep = 0; rep < reps; rep++) {
  // A marker call for callgrind's --dump-before=getppid: one dump per rep.
  void process.ppid;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let acc = keepAcc && kept !== undefined ? kept : job.init(params);
  for (let k = 0; k + 1 < cuts.length; k++) {
    const info = { index: k, start: cuts[k], end: cuts[k + 1], fileIndex: 0, file, params };
    acc = job.map(acc, bytes.subarray(cuts[k], cuts[k + 1]), info);
  }
  if (keepAcc) kept = acc;
  else acc = job.merge(job.init(params), acc);
  result = job.finish ? job.finish(acc, params) : acc;
  msPerRep.push(Math.round((performance.now() - t0) * 10) / 10);
  const c = process.cpuUsage(c0);
  cpuMsPerRep.push(Math.round((c.user + c.system) / 100) / 10);
}
void process.ppid;
const digest = createHash('sha256').update(JSON.stringify(result)).digest('hex').slice(0, 16);
process.stdout.write(`${JSON.stringify({ job: jobPath, bytes: bytes.length, chunks: cuts.length - 1, reps, msPerRep, cpuMsPerRep, digest })}\n`);
