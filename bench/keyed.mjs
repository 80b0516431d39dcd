// The keyed shuffle's benchmark (issue 17), run on purpose, never by CI:
// `freq --all` on a file of N distinct words (each 1-3 times, spread over
// the file) inside a memory cgroup, against `tr | sort | uniq -c` and DuckDB's
// GROUP BY in the same cgroup, and a custom keyed job; then `freq` (top 10)
// on the usual corpus, classic job against the keyed path. Whole commands
// timed, sides alternated per rep, medians; each side's output is checked.
//
//   node bench/keyed.mjs [--words 2e7] [--limit-mib 1024] [--reps 3] [--threads 2] [--data DIR] [--keep]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeChildCgroup, runCommand } from './lib/memcg.mjs';
import { median, fmtSeconds, fmtBytes } from './lib/util.mjs';
import { expectedHashes, writeDistinctWords } from '../test/fixtures/distinct-words.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const CLI = join(ROOT, 'bin', 'pagewise.cjs');
const DEPS = join(BENCH, '.deps');
const DUCKDB_PACKAGE = '@duckdb/node-api@1.5.6-r.1';

const { values: o } = parseArgs({
  options: {
    words: { type: 'string', default: '2e7' },
    'limit-mib': { type: 'string', default: '1024' },
    reps: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    data: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'no-install': { type: 'boolean', default: false },
  },
});
const N = Number(o.words);
const LIMIT = Number(o['limit-mib']) << 20;
const REPS = Number(o.reps);
const THREADS = o.threads;
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const log = (s) => process.stderr.write(`${s}\n`);

const data = o.data ?? mkdtempSync(join(tmpdir(), 'pagewise-bench-keyed-'));
mkdirSync(data, { recursive: true });
const words = join(data, `distinct-${N}.txt`);
if (!existsSync(words)) {
  log(`generating ${N} distinct words ...`);
  writeDistinctWords(words, N);
}
log('expected outputs ...');
const expected = expectedHashes(N);

function duckdbReady() {
  const ok = () => existsSync(join(DEPS, 'node_modules', '@duckdb', 'node-api', 'package.json'));
  if (!ok() && !o['no-install']) {
    mkdirSync(DEPS, { recursive: true });
    if (!existsSync(join(DEPS, 'package.json'))) writeFileSync(join(DEPS, 'package.json'), '{ "private": true }\n');
    spawnSync('npm', ['install', '--prefix', DEPS, '--no-audit', '--no-fund', '--loglevel=error', DUCKDB_PACKAGE], { stdio: 'inherit' });
  }
  return ok();
}

/** Evicts `path` from the page cache (it is charged to whoever reads it first). */
function cold(path) {
  const script = `import { MappedFile } from ${JSON.stringify(join(ROOT, 'dist/src/index.js'))}; const f = MappedFile.open(${JSON.stringify(path)}); f.fadvise('dontneed'); f.close();`;
  spawnSync(process.execPath, ['--input-type=module', '-e', script], { env });
}

const sha = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** DuckDB writes `n word` unpadded: freq's text with width 1 when every count has one digit (this file's). */
const out = join(data, 'out.txt');
const spill = join(data, 'spill');
mkdirSync(spill, { recursive: true });

const sides = [
  { name: 'pagewise freq --all', cmd: process.execPath, args: [CLI, 'freq', words, '--all', '--output', out, '--threads', THREADS, '--temp-dir', spill], want: expected.freqText },
  { name: 'tr | sort -S 300M --parallel=2 | uniq -c', cmd: 'sh', args: ['-c', `tr -s ' \\n' '\\n\\n' < '${words}' | LC_ALL=C sort -S 300M --parallel=2 -T '${spill}' | uniq -c > '${out}'`], want: undefined },
  { name: 'pagewise run (keyed job, emit per word)', cmd: process.execPath, args: [CLI, 'run', join(ROOT, 'test/fixtures/jobs/keyed-words.mjs'), words, '--output', out, '--threads', THREADS, '--temp-dir', spill], want: expected.keyed },
];
if (duckdbReady()) {
  sides.push({
    name: `DuckDB GROUP BY, memory_limit ${Math.round((LIMIT * 0.6) / 2 ** 20)}MiB`,
    cmd: process.execPath,
    args: [join(BENCH, 'peers', 'duckdb-wordcount.mjs'), words, out, THREADS, `${Math.round((LIMIT * 0.6) / 2 ** 20)}MiB`, spill],
    want: expected.freqText,
  });
} else log('DuckDB is not installed: skipped');

const results = new Map(sides.map((s) => [s.name, { seconds: [], peaks: [], ok: true }]));
for (let rep = 0; rep < REPS; rep++) {
  for (const side of sides) {
    cold(words);
    rmSync(out, { force: true });
    const cg = makeChildCgroup(LIMIT, `pagewise-bench-keyed-${process.pid}`);
    if (cg.error) throw new Error(cg.error);
    let r;
    try {
      r = await runCommand(cg, side.cmd, side.args, { env, discardStdout: true });
      results.get(side.name).peaks.push(cg.peak());
    } finally {
      cg.remove();
    }
    const res = results.get(side.name);
    res.seconds.push(r.seconds);
    if (r.code !== 0) {
      res.ok = false;
      log(`${side.name}: exit ${r.code ?? r.signal}: ${r.stderr.slice(-400)}`);
    } else if (side.want !== undefined && sha(out) !== side.want) {
      res.ok = false;
      log(`${side.name}: wrong output`);
    }
    log(`rep ${rep + 1} ${side.name}: ${fmtSeconds(r.seconds)}, peak ${fmtBytes(results.get(side.name).peaks.at(-1))}`);
  }
}

// freq (top 10) on the usual corpus: the classic commutative job against the keyed path.
const corpus = join(data, 'freq-corpus.txt');
if (!existsSync(corpus)) spawnSync(process.execPath, [CLI, 'gen', '1brc', corpus, '--rows', '5e6', '--seed', '1'], { env, stdio: 'ignore' });
const top = (api) => `import * as pw from ${JSON.stringify(join(ROOT, 'dist/src/index.js'))};
  const rows = ${api === 'classic' ? `(await pw.runJob(${JSON.stringify(corpus)}, pw.builtinJobs.freq, { params: { top: 10 }, threads: ${THREADS} })).result` : `(await pw.runFreq(${JSON.stringify(corpus)}, { top: 10 }, { threads: ${THREADS} })).rows`};
  process.stdout.write(JSON.stringify(rows)); await pw.shutdown();`;
const topTimes = { classic: [], keyed: [] };
const topOut = {};
for (let rep = 0; rep < REPS * 2; rep++) {
  for (const api of ['classic', 'keyed']) {
    const t = performance.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', top(api)], { env, encoding: 'utf8' });
    topTimes[api].push((performance.now() - t) / 1000);
    topOut[api] = r.stdout;
  }
}

const lines = [`keyed bench: ${N} distinct words (${fmtBytes(readFileSync(words).length)}), cgroup ${fmtBytes(LIMIT)}, ${THREADS} threads, ${REPS} reps (medians)`, ''];
lines.push('| side | wall | peak charge | exact |', '|---|---:|---:|---|');
for (const side of sides) {
  const r = results.get(side.name);
  lines.push(`| ${side.name.replaceAll('|', '\\|')} | ${fmtSeconds(median(r.seconds))} | ${fmtBytes(median(r.peaks))} (${((100 * median(r.peaks)) / LIMIT).toFixed(0)}%) | ${side.want === undefined ? 'not checked (uniq -c pads counts)' : r.ok ? 'yes' : 'NO'} |`);
}
const base = median(results.get(sides[1].name).seconds);
lines.push('', `pagewise freq --all / sort|uniq: ${(median(results.get(sides[0].name).seconds) / base).toFixed(2)}`);
lines.push(`freq top 10 on ${corpus}: classic ${fmtSeconds(median(topTimes.classic))}, keyed ${fmtSeconds(median(topTimes.keyed))} (ratio ${(median(topTimes.keyed) / median(topTimes.classic)).toFixed(2)}); same rows: ${topOut.classic === topOut.keyed}`);
process.stdout.write(`${lines.join('\n')}\n`);
if (!o.keep && o.data === undefined) rmSync(data, { recursive: true, force: true });
