// A quick alternating A/B of two or more versions of a job on one thread:
// job-loop.mjs runs each version in turn (A B A B …), ROUNDS times, and the
// median over rounds of each process's best steady-state rep is printed, with
// the spread. Meant for choosing between two designs on a shared machine, not
// for figures to publish: other processes still steal time from either side.
//
//   node bench/micro/ab.mjs FILE JOB_MODULE... [--rounds 7] [--reps 6] [--params JSON] [--keep-acc]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = args[at + 1];
  args.splice(at, 2);
  return value;
};
const rounds = Number(flag('--rounds', '7'));
const reps = Number(flag('--reps', '6'));
const params = flag('--params', undefined);
const keepAt = args.indexOf('--keep-acc');
const keep = keepAt >= 0 ? args.splice(keepAt, 1) : [];
const [file, ...modules] = args;
if (!file || modules.length < 1) {
  console.error('usage: ab.mjs FILE JOB_MODULE... [--rounds 7] [--reps 6] [--params JSON]');
  process.exit(2);
}
const loop = join(dirname(fileURLToPath(import.meta.url)), 'job-loop.mjs');
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

const best = modules.map(() => []);
for (let round = 0; round < rounds; round++) {
  for (let m = 0; m < modules.length; m++) {
    const extra = params === undefined ? [] : ['--params', params];
    const r = spawnSync(process.execPath, [loop, modules[m], file, '--reps', String(reps), ...extra, ...keep], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const out = JSON.parse(r.stdout);
    // The later half of the reps is past the compiles; the least CPU time of them is the least disturbed.
    const steady = out.cpuMsPerRep.slice(Math.floor(reps / 2));
    best[m].push(Math.min(...steady));
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const base = median(best[0]);
for (let m = 0; m < modules.length; m++) {
  const s = [...best[m]].sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({ job: modules[m], cpuMs: { median: median(s), min: s[0], max: s[s.length - 1] }, vsFirst: Math.round((median(s) / base) * 1000) / 1000 })}\n`,
  );
}
