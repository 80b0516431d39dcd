#!/usr/bin/env node
// pagewise benchmark harness: pagewise against the tools people use today
// (wc, grep, ripgrep, GNU parallel, sort | uniq -c, a readline script, a
// worker_threads script, DuckDB, the fastest published Node.js 1BRC program
// when given) and against the physical limit (an AVX2 C newline counter).
// Run on purpose (`npm run bench`), never by CI. See bench/README.md.
//
//   node bench/run.mjs [--rows N] [--reps N] [--only a,b] [--skip a,b] [--threads N]
//                      [--chunk-size SIZE] [--keep] [--tmp DIR] [--no-install]
//                      [--no-docs] [--docs-dir DIR] [--json-out FILE] [--data DIR] [--keep-node-env]
//                      [--node-1brc PATH] [--billion] [--list] [--help]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, openSync, closeSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { colors, fmtBytes, fmtRate, fmtRatio, fmtSeconds, hasCommand, hasGnuTime, loadAverage, machine, median, stealSeconds, timeCommand, versionOf, warm } from './lib/util.mjs';
import { barChart, lineChart } from './lib/svg.mjs';
import { evict, folioShares } from './lib/page-cache.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const PAGEWISE = join(ROOT, 'bin', 'pagewise.cjs');
const DOCS = join(ROOT, 'docs');
const DEPS = join(BENCH, '.deps');
const DUCKDB_PACKAGE = '@duckdb/node-api@1.5.6-r.1';
const DEFAULT_ROWS = 2e8;
const NODE = process.execPath;
const C_ENV = { ...process.env, LC_ALL: 'C' };
/**
 * The environment of every Node process timed (pagewise and the Node peers
 * alike): without NODE_EXTRA_CA_CERTS unless --keep-node-env. Node 20 loads
 * that bundle eagerly at start-up (Node 22+ lazily); no bench uses TLS.
 */
const NODE_ENV_VARS = (keep) => {
  const env = { ...process.env };
  if (!keep) delete env.NODE_EXTRA_CA_CERTS;
  return env;
};
/** 2e8, 1e6, 1.5e7: short scientific notation for row counts. */
const exp = (n) => n.toExponential().replace(/\.?0*e\+?/, 'e');

const HELP = `Usage: node bench/run.mjs [options]

Generates 1BRC data with \`pagewise gen\` in a temporary directory, warms the page
cache, runs each pagewise/peer pair alternately (A B A B ...), and reports the
medians and the median of the pair ratios. Writes docs/performance.md and
docs/*.svg.

Options:
  --rows N           rows of the main file (default 2e8, ~2.76 GB); every other
                     file scales with it (stats 1/2, readline 1/4, 10k stations 1/4)
  --reps N           timed runs of each side of a pair (default 3, at least 1)
  --only LIST        benches to run, comma separated; '*' globs (e.g. 'stats-*')
  --skip LIST        benches to leave out
  --threads N        threads for pagewise and the parallel peers (default: all cores)
  --chunk-size SIZE  pass --chunk-size to pagewise (default: its auto choice)
  --seed S           generator seed (default 1)
  --tmp DIR          where the temporary directory goes (default: os.tmpdir())
  --keep             keep the generated data (its path is printed)
  --data DIR         keep the data in DIR and reuse what an earlier run with the
                     same --rows and --seed generated there (never removed)
  --keep-node-env    leave NODE_EXTRA_CA_CERTS set for the Node processes timed
                     (by default it is unset: Node 20 parses that CA bundle at
                     every start, ~90 ms here, before any code of the command runs)
  --no-install       never install missing peers (apt-get ripgrep/parallel/time, npm DuckDB)
  --no-docs          print the table, but do not write docs/performance.md or the SVGs
  --docs-dir DIR     write performance.md and the SVGs into DIR instead of docs/
  --json-out FILE    also write every measurement as JSON
  --node-1brc PATH   the built dist/cjs/index.cjs of github.com/havelessbemore/1brc-nodejs
                     (or PAGEWISE_BENCH_NODE_1BRC): the stats-node-1brc peer, skipped
                     without it. Never downloaded: bench/README.md says how to build it
  --billion          also run stats-1e9: a 1e9-row file (13.8 GB, needs 16 GB free;
                     reused with --data), pagewise stats alone and against --node-1brc,
                     at most 3 reps
  --billion-rows N   rows of that file instead of 1e9 (to try the code path quickly)
  --prepare          generate the data the selected benches need (into --data, to
                     reuse it), install the missing peers, and stop before any bench
  --list             list the benches and exit
  -h, --help         this help
`;

// ------------------------------------------------------------------ options --

function parseCli() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        rows: { type: 'string' },
        reps: { type: 'string' },
        only: { type: 'string', multiple: true },
        skip: { type: 'string', multiple: true },
        threads: { type: 'string' },
        'chunk-size': { type: 'string' },
        seed: { type: 'string' },
        tmp: { type: 'string' },
        keep: { type: 'boolean' },
        data: { type: 'string' },
        'keep-node-env': { type: 'boolean' },
        'no-install': { type: 'boolean' },
        'no-docs': { type: 'boolean' },
        'docs-dir': { type: 'string' },
        'json-out': { type: 'string' },
        'node-1brc': { type: 'string' },
        billion: { type: 'boolean' },
        'billion-rows': { type: 'string' },
        list: { type: 'boolean' },
        prepare: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    });
  } catch (error) {
    console.error(`bench: ${error.message}\n\n${HELP}`);
    process.exit(2);
  }
  const v = parsed.values;
  const num = (name, fallback, min) => {
    if (v[name] === undefined) return fallback;
    const n = Number(v[name]);
    if (!Number.isFinite(n) || !Number.isInteger(n) || n < min) {
      console.error(`bench: --${name} must be an integer >= ${min}, got '${v[name]}'`);
      process.exit(2);
    }
    return n;
  };
  const list = (xs) => (xs ?? []).flatMap((x) => x.split(/[,\s]+/)).filter(Boolean);
  return {
    rows: num('rows', DEFAULT_ROWS, 1000),
    reps: num('reps', 3, 1),
    only: list(v.only),
    skip: list(v.skip),
    threads: num('threads', os.availableParallelism(), 1),
    chunkSize: v['chunk-size'],
    seed: num('seed', 1, 0),
    tmp: v.tmp ?? os.tmpdir(),
    keep: v.keep === true,
    data: v.data,
    keepNodeEnv: v['keep-node-env'] === true,
    install: v['no-install'] !== true,
    docs: v['no-docs'] !== true,
    docsDir: v['docs-dir'],
    jsonOut: v['json-out'],
    node1brc: v['node-1brc'] ?? (process.env.PAGEWISE_BENCH_NODE_1BRC || undefined),
    billion: v.billion === true || v['billion-rows'] !== undefined,
    billionRows: num('billion-rows', 1e9, 1000),
    list: v.list === true,
    prepare: v.prepare === true,
    help: v.help === true,
  };
}

const opts = parseCli();
if (opts.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const log = (text) => process.stderr.write(`${text}\n`);
const pwFlags = () => ['--threads', String(opts.threads), '--no-progress', ...(opts.chunkSize ? ['--chunk-size', opts.chunkSize] : [])];

// -------------------------------------------------------- answer checking --

const num = (text) => {
  const n = Number(String(text).trim().split(/\s+/)[0]);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${JSON.stringify(String(text).slice(0, 80))}`);
  return n;
};
const sumLines = (text) =>
  text
    .split('\n')
    .filter((l) => l.trim())
    .reduce((t, l) => t + num(l), 0);

function equalAnswers(a, b) {
  return JSON.stringify(a) === JSON.stringify(b) ? null : `${JSON.stringify(a)} != ${JSON.stringify(b)}`;
}

/** Stations and counts must be equal, min/max equal, means within rounding (pagewise rounds half up to 0.1). */
function compareStats(pw, peer) {
  if (!Array.isArray(pw) || !Array.isArray(peer)) return 'not a list of stations';
  if (pw.length !== peer.length) return `${pw.length} stations vs ${peer.length}`;
  const byName = new Map(peer.map((r) => [r.name, r]));
  let bad = 0;
  let first = '';
  for (const r of pw) {
    const p = byName.get(r.name);
    let why = '';
    if (!p) why = `station ${JSON.stringify(r.name)} missing from the peer`;
    else if (r.count !== p.count) why = `${r.name}: count ${r.count} vs ${p.count}`;
    else if (Math.abs(r.min - p.min) > 1e-9 || Math.abs(r.max - p.max) > 1e-9) why = `${r.name}: min/max ${r.min}/${r.max} vs ${p.min}/${p.max}`;
    else if (Math.abs(r.mean - p.mean) > 0.05 + 1e-6) why = `${r.name}: mean ${r.mean} vs ${p.mean}`;
    if (why) {
      bad++;
      first ||= why;
    }
  }
  return bad ? `${bad} station(s) differ, e.g. ${first}` : null;
}
const statsSummary = (rows) => ({ stations: rows.length, rows: rows.reduce((t, r) => t + r.count, 0) });
/** `{Abha=-31.3/18.0/68.1, ...}`, the 1BRC's own output: how many stations it lists. */
const statsTextSummary = (text) => ({ stations: (text.match(/=-?\d+\.\d\/-?\d+\.\d\/-?\d+\.\d(?=, |\}\n?$)/g) ?? []).length, bytes: Buffer.byteLength(text) });
/** Byte-identical text, or where the two first differ. */
function compareText(a, b) {
  if (a === b) return null;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const around = (t) => JSON.stringify(t.slice(Math.max(0, i - 30), i + 30));
  return `the outputs differ at character ${i} (of ${a.length} and ${b.length}): ${around(a)} vs ${around(b)}`;
}
/** The station count in the text must be the file's. */
const stationsInFile = (text, file) => {
  const n = statsTextSummary(text).stations;
  return n === file.stations ? undefined : `${n} stations in the output, the file has ${file.stations}`;
};

/** The counts must add up to GNU wc's word count of the file (a third opinion, off the clock). */
function wordsInFile(answer, file) {
  const r = spawnSync('wc', ['-w', file.path], { encoding: 'utf8', env: C_ENV });
  if (r.status !== 0) return undefined;
  const words = Number(r.stdout.trim().split(/\s+/)[0]);
  return answer.total === words ? undefined : `the counts add up to ${answer.total}, wc -w says ${words}`;
}

/**
 * `count word` lines (right-aligned or not) as a comparable answer: how many
 * words, their total, whether the lines came in freq's order (count
 * descending, then word bytes), and a digest of the (word, count) multiset.
 * Whole outputs are not kept: a reader's buffer of them per rep adds up.
 */
function wordCounts(text) {
  const rows = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^ *(\d+) (.+)$/.exec(line);
    if (!m) throw new Error(`not a 'count word' line: ${JSON.stringify(line.slice(0, 80))}`);
    rows.push({ count: Number(m[1]), word: m[2], bytes: Buffer.from(m[2]) });
  }
  const before = (x, y) => x.count > y.count || (x.count === y.count && Buffer.compare(x.bytes, y.bytes) < 0);
  let ordered = true;
  for (let i = 1; i < rows.length && ordered; i++) ordered = before(rows[i - 1], rows[i]);
  if (!ordered) rows.sort((x, y) => (before(x, y) ? -1 : before(y, x) ? 1 : 0));
  const hash = createHash('sha256');
  for (const r of rows) hash.update(`${r.count} ${r.word}\n`);
  return { words: rows.length, total: rows.reduce((t, r) => t + r.count, 0), ordered, sha256: hash.digest('hex').slice(0, 16) };
}

// ------------------------------------------------------------------ benches --

const R = opts.rows;
const FILES = {
  main: { rows: R, stations: 413, what: 'main file' },
  stats: { rows: Math.max(1, Math.round(R / 2)), stations: 413, from: 'main', what: 'stats file (1e8 rows at full scale)' },
  readline: { rows: Math.max(1, Math.round(R / 4)), stations: 413, from: 'main', what: 'readline file (5e7 rows at full scale)' },
  s10k: { rows: Math.max(1, Math.round(R / 4)), stations: 10000, what: '10,000 stations' },
  freq: { rows: Math.max(1, Math.round(R / 40)), stations: 413, from: 'main', what: 'freq tune file (freq is slow)' },
  random: { bytes: Math.max(64 << 20, Math.round(((1 << 30) * Math.min(1, R / DEFAULT_ROWS)) / 4096) * 4096), what: 'random bytes for random access' },
  // 2 GB at full scale; bench/gen-csv.mjs. The plain one has the same rows without newlines inside quotes.
  csv: { bytes: Math.max(1 << 20, Math.round(2e9 * (R / DEFAULT_ROWS))), csv: 'quoted', what: 'CSV, quoted fields, newlines inside ~2% of them' },
  csvplain: { bytes: Math.max(1 << 20, Math.round(2e9 * (R / DEFAULT_ROWS))), csv: 'plain', what: 'the same CSV without newlines inside quotes' },
  // --billion only; not scaled by --rows. Generated whole: it is longer than the main file.
  billion: { rows: opts.billionRows, stations: 413, what: `${exp(opts.billionRows)} rows (--billion)` },
};
/** Free space the billion file needs before it is generated: its ~13.8 bytes a row and room to spare. */
const BILLION_NEED = 16e9 * (opts.billionRows / 1e9);

const pw = (label, args, parse) => ({ label, cmd: NODE, args: (f) => [PAGEWISE, ...args, ...pwFlags(), f], parse, pagewise: true });
const NODE_ENV = NODE_ENV_VARS(opts.keepNodeEnv);
const wcLines = () => pw('pagewise wc --lines', ['wc', '--lines', '--json'], (o) => JSON.parse(o).lines);
const pwStats = () => pw('pagewise stats', ['stats', '--json'], (o) => JSON.parse(o));
const pwStatsText = () => pw('pagewise stats', ['stats'], (o) => o);
const NODE_1BRC = opts.node1brc ? resolve(opts.node1brc) : undefined;
const NODE_1BRC_BUILT = NODE_1BRC !== undefined && existsSync(NODE_1BRC);
// One worker per core, its own choice (availableParallelism): --threads does not reach it.
const node1brc = () => ({ label: 'havelessbemore/1brc-nodejs', cmd: NODE, args: (f) => [NODE_1BRC, f], parse: (o) => o, needs: 'node1brc' });
const scale = R / DEFAULT_ROWS;
// The csv-* benches: one column's count, min, max, sum and mean (column 2, 'price').
const csvJob = (label, name) => pw(label, ['run', join(BENCH, 'jobs', name), '--json', '--params', '{"index":2}'], JSON.parse);
/** Counts and extremes equal, sums and means within float reassociation (chunks add up in any order). */
function compareColumn(a, b) {
  if (!a || !b) return 'no answer';
  if (a.count !== b.count) return `count ${a.count} vs ${b.count}`;
  if (a.min !== b.min || a.max !== b.max) return `min/max ${a.min}/${a.max} vs ${b.min}/${b.max}`;
  const close = (x, y) => Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  if (!close(a.sum, b.sum) || !close(a.mean, b.mean)) return `sum/mean ${a.sum}/${a.mean} vs ${b.sum}/${b.mean}`;
  return null;
}
const columnSummary = (r) => ({ rows: r.count, mean: r.mean });
const shq = (word) => `'${String(word).replace(/'/g, `'\\''`)}'`;
/**
 * A command whose stdout goes through a pipe into cksum (`bash -c 'set -o
 * pipefail; CMD | cksum'`): a real reader, where GNU grep would stop at the
 * first match if it saw /dev/null, and the answer is the CRC and length of
 * every byte written. pipefail, which dash lacks, keeps CMD's exit status.
 */
const throughCksum = (label, argv, extra) => ({
  label: `${label} | cksum`,
  cmd: 'bash',
  args: (f) => ['-c', `set -o pipefail; ${argv(f).map(shq).join(' ')} | cksum`],
  parse: (o) => {
    const [crc, bytes] = o.trim().split(/\s+/).map(Number);
    if (!Number.isFinite(crc) || !Number.isFinite(bytes)) throw new Error(`not cksum's output: ${JSON.stringify(o.slice(0, 80))}`);
    return { crc, bytes };
  },
  okStatus: [0, 1], // 1: no line matched
  ...extra,
});
const grepLines = () => throughCksum('pagewise grep e', (f) => [NODE, PAGEWISE, 'grep', 'e', ...pwFlags(), f], { env: { ...NODE_ENV, LC_ALL: 'C' }, pagewise: true });
// The cold benches' `before` hooks: the file out of the page cache (and how much of it stayed), or all of it in.
const evictFile = (file) => ({ resident: evict(file.path, NODE_ENV) });
const warmFile = (file) => void warm(file.path);

const BENCHES = [
  {
    name: 'wc-lines',
    title: 'count lines',
    file: 'main',
    a: wcLines(),
    b: { label: 'wc -l', cmd: 'wc', args: (f) => ['-l', f], env: C_ENV, parse: num, needs: 'wc' },
    expect: (files) => files.main.rows,
    target: { op: '<=', value: 0.6, text: 'pw/peer ≤ 0.60' },
  },
  {
    name: 'wc-lines-limit',
    title: 'count lines: physical limit',
    file: 'main',
    a: wcLines(),
    b: { label: 'C AVX2 limit', tool: 'limit', args: (f) => [f, String(opts.threads)], parse: num, needs: 'limit', limit: true },
    expect: (files) => files.main.rows,
    target: { op: '<=', value: 1.25, text: 'pw/limit ≤ 1.25' },
  },
  {
    name: 'wc-lines-parallel',
    title: 'count lines: GNU parallel',
    file: 'main',
    a: wcLines(),
    b: {
      label: 'parallel --pipepart wc -l',
      cmd: 'parallel',
      args: (f) => ['--will-cite', '--pipepart', '-a', f, '--block', '-1', '-j', String(opts.threads), 'wc', '-l'],
      env: C_ENV,
      parse: sumLines,
      needs: 'parallel',
    },
    expect: (files) => files.main.rows,
  },
  {
    name: 'grep-rg',
    title: 'count matching lines: ripgrep',
    file: 'main',
    a: pw('pagewise grep --count', ['grep', '--count', '--json', 'Hamburg'], (o) => JSON.parse(o).count),
    b: { label: 'rg -c -F', cmd: 'rg', args: (f) => ['-c', '-F', '-j', String(opts.threads), 'Hamburg', f], env: C_ENV, parse: num, needs: 'rg', okStatus: [0, 1] },
    target: { op: '<=', value: 0.6, text: 'pw/peer ≤ 0.60' },
  },
  {
    name: 'grep-gnu',
    title: 'count matching lines: GNU grep',
    file: 'main',
    a: pw('pagewise grep --count', ['grep', '--count', '--json', 'Hamburg'], (o) => JSON.parse(o).count),
    b: { label: 'grep -c -F', cmd: 'grep', args: (f) => ['-c', '-F', 'Hamburg', f], env: C_ENV, parse: num, needs: 'grep', okStatus: [0, 1] },
  },
  {
    name: 'grep-lines-gnu',
    title: 'print matching lines into a pipe: GNU grep',
    file: 'stats',
    a: grepLines(),
    b: throughCksum('grep -F -a e', (f) => ['grep', '-F', '-a', 'e', f], { env: C_ENV, needs: 'grep' }),
    target: { op: '<=', value: 0.5, text: 'pw/peer ≤ 0.50' },
  },
  {
    name: 'grep-lines-rg',
    title: 'print matching lines into a pipe: ripgrep',
    file: 'stats',
    a: grepLines(),
    b: throughCksum('rg -F -a e', (f) => ['rg', '-F', '-a', 'e', f], { env: C_ENV, needs: 'rg' }),
    target: { op: '<=', value: 1.0, text: 'pw/peer ≤ 1.0' },
  },
  // Numbered lines and context lines (-n, -C): the main thread formats every prefix.
  ...[
    ['grep-n-gnu', 'print numbered matching lines into a pipe: GNU grep', ['-n'], 'grep', ['-F', '-a']],
    ['grep-n-rg', 'print numbered matching lines into a pipe: ripgrep', ['-n'], 'rg', ['-F', '-a']],
    ['grep-context-gnu', 'print matching lines with a line of context each side (-n -C1): GNU grep', ['-n', '-C1'], 'grep', ['-F', '-a']],
    ['grep-context-rg', 'print matching lines with a line of context each side (-n -C1): ripgrep', ['-n', '-C1'], 'rg', ['-F', '-a']],
  ].map(([name, title, flags, peer, peerFlags]) => ({
    name,
    title,
    file: 'stats',
    a: throughCksum(`pagewise grep ${flags.join(' ')} e`, (f) => [NODE, PAGEWISE, 'grep', ...flags, 'e', ...pwFlags(), f], { env: { ...NODE_ENV, LC_ALL: 'C' }, pagewise: true }),
    b: throughCksum(`${peer} ${[...peerFlags, ...flags].join(' ')} e`, (f) => [peer, ...peerFlags, ...flags, 'e', f], { env: C_ENV, needs: peer }),
  })),
  {
    name: 'wc',
    title: 'lines, words, bytes',
    file: 'main',
    a: pw('pagewise wc', ['wc', '--json'], (o) => JSON.parse(o)),
    b: {
      label: 'wc',
      cmd: 'wc',
      args: (f) => [f],
      env: C_ENV,
      parse: (o) => {
        const [lines, words, bytes] = o.trim().split(/\s+/).map(Number);
        return { lines, words, bytes };
      },
      needs: 'wc',
    },
    target: { op: '<=', value: 0.1, text: 'pw/peer ≤ 0.10' },
  },
  {
    name: 'freq-all-sort',
    title: 'every word with its count: sort | uniq -c',
    file: 'freq',
    a: pw('pagewise freq --all', ['freq', '--all'], wordCounts),
    b: {
      label: "tr | grep -v '^$' | sort | uniq -c | sort -k1,1nr -k2",
      cmd: 'bash',
      args: (f) => ['-c', `set -o pipefail; tr -s ' \\t\\n\\r\\v\\f' '\\n' < ${shq(f)} | grep -v '^$' | sort | uniq -c | sort -k1,1nr -k2`],
      env: C_ENV,
      parse: wordCounts,
    },
    check: wordsInFile,
    target: { op: '<=', value: 0.5, text: 'pw/peer ≤ 0.50' },
  },
  {
    name: 'freq-all-duckdb',
    title: 'every word with its count: DuckDB GROUP BY',
    file: 'freq',
    a: pw('pagewise freq --all', ['freq', '--all'], wordCounts),
    b: {
      label: 'DuckDB GROUP BY, ORDER BY',
      // COPY TO opens its output by name, and the harness's stdout is a socket, which /dev/stdout cannot open: a pipe to cat can.
      cmd: 'bash',
      args: (f) => ['-c', `set -o pipefail; ${[NODE, join(BENCH, 'peers', 'duckdb-wordcount.mjs'), f, '/dev/stdout', String(opts.threads), `${Math.floor(os.totalmem() / 2 / 2 ** 20)}MiB`, join(dirname(f), 'duckdb-spill')].map(shq).join(' ')} | cat`],
      env: NODE_ENV,
      parse: wordCounts,
      needs: 'duckdb',
    },
    check: wordsInFile,
  },
  {
    name: 'stats-readline',
    title: '1BRC stats: readline script',
    file: 'readline',
    a: pwStats(),
    b: { label: 'readline + split + Map', cmd: NODE, args: (f) => [join(BENCH, 'peers', 'readline-stats.mjs'), f], parse: JSON.parse },
    compare: compareStats,
    summary: statsSummary,
    expectRows: (files) => files.readline.rows,
    target: { op: '<=', value: 0.04, text: 'pw/peer ≤ 0.04' },
  },
  {
    name: 'stats-abs',
    title: '1BRC stats, absolute',
    file: 'stats',
    a: pwStats(),
    summary: statsSummary,
    expectRows: (files) => files.stats.rows,
    absolute: true,
    target: (files) => {
      const value = 3.5 * (files.stats.rows / 1e8);
      return files.stats.rows === 1e8
        ? { op: '<=', value, text: '≤ 3.5 s at 1e8 rows', seconds: true }
        : { op: '<=', value, text: `≤ ${Number(value.toPrecision(3))} s (3.5 s × ${exp(files.stats.rows)}/1e8 rows, scaled)`, seconds: true };
    },
  },
  {
    name: 'stats-duckdb',
    title: '1BRC stats: DuckDB',
    file: 'stats',
    a: pwStats(),
    b: { label: 'DuckDB read_csv GROUP BY', cmd: NODE, args: (f) => [join(BENCH, 'peers', 'duckdb-stats.mjs'), f, String(opts.threads)], parse: JSON.parse, needs: 'duckdb' },
    compare: compareStats,
    summary: statsSummary,
    expectRows: (files) => files.stats.rows,
  },
  {
    name: 'stats-traditional',
    title: '1BRC stats: worker_threads + fs.read',
    file: 'stats',
    a: pwStats(),
    b: { label: 'worker_threads + fs.read + strings', cmd: NODE, args: (f) => [join(BENCH, 'peers', 'traditional-stats.mjs'), f, String(opts.threads)], parse: JSON.parse },
    compare: compareStats,
    summary: statsSummary,
    expectRows: (files) => files.stats.rows,
  },
  {
    name: 'stats-node-1brc',
    title: '1BRC stats: the fastest published Node.js program',
    file: 'main',
    a: pwStatsText(),
    b: node1brc(),
    compare: compareText,
    summary: statsTextSummary,
    check: stationsInFile,
    target: { op: '<=', value: 0.33, text: 'pw/peer ≤ 0.33' },
  },
  {
    name: 'stats-1e9',
    title: `1BRC stats, ${exp(opts.billionRows)} rows${NODE_1BRC_BUILT ? ': the fastest published Node.js program' : ''}`,
    file: 'billion',
    optIn: 'billion',
    maxReps: 3,
    // Against the peer the text must be byte-identical; alone, the JSON's stations and counts are checked.
    ...(NODE_1BRC_BUILT
      ? { a: pwStatsText(), b: node1brc(), compare: compareText, summary: statsTextSummary, check: stationsInFile }
      : { a: pwStats(), summary: statsSummary, expectRows: (files) => files.billion.rows, check: (rows, file) => (rows.length === file.stations ? undefined : `${rows.length} stations, the file has ${file.stations}`) }),
    absolute: true,
    target: (files) => {
      const value = 20 * (files.billion.rows / 1e9);
      return files.billion.rows === 1e9
        ? { op: '<=', value, text: '≤ 20 s at 1e9 rows', seconds: true }
        : { op: '<=', value, text: `≤ ${Number(value.toPrecision(3))} s (20 s × ${exp(files.billion.rows)}/1e9 rows, scaled)`, seconds: true };
    },
  },
  {
    name: 'stats-10k-duckdb',
    title: '1BRC stats, 10,000 stations: DuckDB',
    file: 's10k',
    a: pwStats(),
    b: { label: 'DuckDB read_csv GROUP BY', cmd: NODE, args: (f) => [join(BENCH, 'peers', 'duckdb-stats.mjs'), f, String(opts.threads)], parse: JSON.parse, needs: 'duckdb' },
    compare: compareStats,
    summary: statsSummary,
    expectRows: (files) => files.s10k.rows,
  },
  {
    name: 'stats-10k-traditional',
    title: '1BRC stats, 10,000 stations: worker_threads + fs.read',
    file: 's10k',
    a: pwStats(),
    b: { label: 'worker_threads + fs.read + strings', cmd: NODE, args: (f) => [join(BENCH, 'peers', 'traditional-stats.mjs'), f, String(opts.threads)], parse: JSON.parse },
    compare: compareStats,
    summary: statsSummary,
    expectRows: (files) => files.s10k.rows,
  },
  {
    name: 'csv-duckdb',
    title: 'CSV column stats (quoted newlines): DuckDB',
    file: 'csv',
    a: csvJob('pagewise run csv-column.mjs', 'csv-column.mjs'),
    b: { label: 'DuckDB read_csv', cmd: NODE, args: (f) => [join(BENCH, 'peers', 'duckdb-csv-column.mjs'), f, 'price', String(opts.threads)], parse: JSON.parse, needs: 'duckdb' },
    compare: compareColumn,
    summary: columnSummary,
    expectRows: (files) => files.csv.priced,
    target: { op: '<=', value: 0.5, text: 'pw/peer ≤ 0.5' },
  },
  {
    name: 'csv-exact',
    title: "CSV column stats: split 'csv' vs 'lines' (the price of exactness)",
    file: 'csvplain',
    a: csvJob("split: 'csv'", 'csv-column.mjs'),
    b: csvJob("split: 'lines'", 'csv-column-lines.mjs'),
    compare: compareColumn,
    summary: columnSummary,
    expectRows: (files) => files.csvplain.priced,
    target: { op: '<=', value: 1.1, text: 'csv/lines ≤ 1.10' },
  },
  {
    name: 'csv-first-pass',
    title: "a job that reads nothing, split 'csv' vs 'lines': the first pass alone",
    file: 'csvplain',
    a: pw("no-op, split: 'csv'", ['run', join(BENCH, 'jobs', 'csv-noop.mjs'), '--json'], JSON.parse),
    b: pw("no-op, split: 'lines'", ['run', join(BENCH, 'jobs', 'csv-noop-lines.mjs'), '--json'], JSON.parse),
  },
  {
    name: 'scaling',
    title: 'CPU-bound job, 2 threads vs 1',
    file: 'stats',
    a: { label: 'cpu-bound --threads 2', cmd: NODE, args: (f) => [PAGEWISE, 'run', join(BENCH, 'jobs', 'cpu-bound.mjs'), '--json', '--no-progress', '--threads', '2', f], parse: JSON.parse, pagewise: true },
    b: { label: 'cpu-bound --threads 1', cmd: NODE, args: (f) => [PAGEWISE, 'run', join(BENCH, 'jobs', 'cpu-bound.mjs'), '--json', '--no-progress', '--threads', '1', f], parse: JSON.parse, pagewise: true },
    invert: true, // the figure is throughput(2)/throughput(1) = wall(1)/wall(2)
    noLimit: true, // CPU-bound by design: a fraction of the scan limit means nothing
    target: { op: '>=', value: 1.85, text: 'wall 1T / wall 2T ≥ 1.85' },
    needsCores: 2,
  },
  {
    name: 'scaling-c',
    title: 'the same CPU-bound work in C, 2 threads vs 1: the machine\'s own scaling',
    file: 'stats',
    a: { label: 'cpu_bound.c, 2 threads', tool: 'cpuBound', args: (f) => [f, '2'], parse: JSON.parse, needs: 'cpuBound' },
    b: { label: 'cpu_bound.c, 1 thread', tool: 'cpuBound', args: (f) => [f, '1'], parse: JSON.parse, needs: 'cpuBound' },
    invert: true,
    noLimit: true,
    needsCores: 2,
  },
  {
    name: 'wc-lines-cold',
    title: 'count lines, cold page cache: reading the disk',
    file: 'main',
    cold: true,
    needs: 'evict',
    before: evictFile,
    a: wcLines(),
    b: { label: 'cat FILE > /dev/null', cmd: 'sh', args: (f) => ['-c', 'cat "$1" > /dev/null', 'sh', f], env: C_ENV, parse: () => undefined, noAnswer: true },
    expect: (files) => files.main.rows,
    noLimit: true, // the C limit is measured warm
    target: { op: '<=', value: 1.1, text: 'pw/peer ≤ 1.10' },
  },
  {
    name: 'stats-cold',
    title: '1BRC stats, cold page cache vs warm: bound by the CPU or by the disk',
    file: 'main',
    cold: true,
    needs: 'evict',
    a: { ...pwStats(), label: 'pagewise stats, cold', before: evictFile },
    b: { ...pwStats(), label: 'pagewise stats, warm', before: warmFile },
    compare: compareStats,
    summary: statsSummary,
    expectRows: (files) => files.main.rows,
    noLimit: true,
    target: { op: '<=', value: 1.1, text: 'cold/warm ≤ 1.10' },
  },
  {
    name: 'random',
    title: `1M random 4-byte reads in ${fmtBytes(FILES.random.bytes)}`,
    file: 'random',
    a: { label: 'MappedFile view + DataView', cmd: NODE, args: (f) => [join(BENCH, 'micro', 'random-access.mjs'), 'view', f, '1000000', String(opts.seed)], parse: JSON.parse, inner: true, pagewise: true },
    b: { label: 'fs.readSync per read', cmd: NODE, args: (f) => [join(BENCH, 'micro', 'random-access.mjs'), 'readSync', f, '1000000', String(opts.seed)], parse: JSON.parse, inner: true },
    answer: (r) => r.checksum,
    invert: true,
    target: { op: '>=', value: 10, text: 'readSync / view ≥ 10' },
  },
];

const TUNE_JOBS = [
  { job: 'wc', file: 'main' },
  { job: 'grep', file: 'main', params: { pattern: 'Hamburg', count: true } },
  { job: 'stats', file: 'stats' },
  { job: 'freq', file: 'freq' },
];

if (opts.list) {
  for (const b of BENCHES) process.stdout.write(`${b.name.padEnd(22)} ${b.title}\n`);
  process.stdout.write(`${'tune'.padEnd(22)} pagewise tune for ${TUNE_JOBS.map((t) => t.job).join(', ')} (chunk-size charts)\n`);
  process.exit(0);
}

const matches = (name, patterns) => patterns.some((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(name));
const allNames = [...BENCHES.map((b) => b.name), 'tune'];
for (const p of [...opts.only, ...opts.skip]) {
  if (!allNames.some((n) => matches(n, [p]))) {
    console.error(`bench: no bench matches '${p}' (try --list)`);
    process.exit(2);
  }
}
const selected = (name) => (opts.only.length === 0 || matches(name, opts.only)) && !matches(name, opts.skip);
const benches = BENCHES.filter((b) => selected(b.name));
const runTune = selected('tune');

// -------------------------------------------------------------- preflight --

if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
  console.error('bench: dist/ is missing; build first: npx tsc -p tsconfig.json (or npm run build)');
  process.exit(1);
}

function newestMtime(dir, ext) {
  let newest = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(ext)) newest = Math.max(newest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
}
const staleNote =
  Math.max(newestMtime(join(ROOT, 'src'), '.ts'), newestMtime(join(ROOT, 'workers'), '.ts')) > newestMtime(join(ROOT, 'dist'), '.js') + 1000
    ? 'dist/ is older than src/ or workers/: rebuild (npx tsc -p tsconfig.json) to measure the current code'
    : undefined;
if (staleNote) log(colors.yellow(`bench: warning: ${staleNote}`));

const notes = [];
const tools = {};

function aptInstall(packages) {
  if (!opts.install) return false;
  if (process.getuid?.() !== 0 || !hasCommand('apt-get', ['--version'])) return false;
  log(`bench: installing ${packages.join(' ')} with apt-get (only because they are missing) ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'pipe'], env, encoding: 'utf8' });
  if (update.status !== 0) log(`bench: apt-get update failed: ${(update.stderr ?? '').trim().split('\n').pop()}`);
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { stdio: ['ignore', 'ignore', 'pipe'], env, encoding: 'utf8' });
  if (install.status !== 0) log(`bench: apt-get install failed: ${(install.stderr ?? '').trim().split('\n').pop()}`);
  return install.status === 0;
}

function duckdbInstalled() {
  return existsSync(join(DEPS, 'node_modules', '@duckdb', 'node-api', 'package.json'));
}

function preparePeers(tmp) {
  const needed = new Set(benches.flatMap((b) => [b.needs, b.a.needs, b.b?.needs]).filter(Boolean));
  for (const cmd of ['wc', 'grep']) if (needed.has(cmd)) tools[cmd] = hasCommand(cmd);
  const apt = [];
  if (needed.has('rg') && !hasCommand('rg')) apt.push('ripgrep');
  if (needed.has('parallel') && !hasCommand('parallel')) apt.push('parallel');
  if (!hasGnuTime()) apt.push('time');
  if (apt.length) aptInstall(apt);
  if (!hasGnuTime(true)) notes.push('GNU time is not installed at /usr/bin/time (apt-get install time): no peak RSS figures.');
  if (needed.has('rg')) tools.rg = hasCommand('rg');
  if (needed.has('parallel')) tools.parallel = hasCommand('parallel');
  if (needed.has('duckdb')) {
    if (!duckdbInstalled() && opts.install) {
      log(`bench: installing ${DUCKDB_PACKAGE} into bench/.deps ...`);
      mkdirSync(DEPS, { recursive: true });
      if (!existsSync(join(DEPS, 'package.json'))) writeFileSync(join(DEPS, 'package.json'), '{ "private": true, "description": "peers for bench/run.mjs; git-ignored" }\n');
      const r = spawnSync('npm', ['install', '--prefix', DEPS, '--no-audit', '--no-fund', '--loglevel=error', DUCKDB_PACKAGE], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
      if (r.status !== 0) log(`bench: npm install ${DUCKDB_PACKAGE} failed: ${(r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-2).join(' ')}`);
    }
    tools.duckdb = duckdbInstalled();
  }
  const cc = hasCommand('cc', ['--version']);
  tools.limit = cc && buildC(tmp, 'count_newlines', '-O3');
  tools.cpuBound = cc && buildC(tmp, 'cpu_bound', '-O2');
  let evictFailed;
  if (needed.has('evict')) {
    // Tried once on a file of its own, so that a missing addon skips the cold benches instead of failing them.
    const probe = join(tmp, 'evict-probe.txt');
    writeFileSync(probe, 'x\n');
    try {
      evict(probe, NODE_ENV);
      tools.evict = true;
    } catch (error) {
      evictFailed = error.message;
    } finally {
      rmSync(probe, { force: true });
    }
  }
  if (needed.has('node1brc')) tools.node1brc = NODE_1BRC_BUILT;
  const why = {
    node1brc: NODE_1BRC ? `${NODE_1BRC} does not exist (build it: bench/README.md)` : 'no --node-1brc PATH, the built index.cjs of havelessbemore/1brc-nodejs (bench/README.md says how to build it)',
    evict: `cannot evict a file from the page cache: ${evictFailed}`,
    cpuBound: 'no C compiler (cc) to build bench/c/cpu_bound.c',
    rg: 'ripgrep is not installed (apt-get install ripgrep)', parallel: 'GNU parallel is not installed (apt-get install parallel)', duckdb: `DuckDB is not installed (npm install --prefix bench/.deps ${DUCKDB_PACKAGE})`, limit: 'no C compiler (cc) to build bench/c/count_newlines.c', wc: 'wc is not installed', grep: 'grep is not installed' };
  return why;
}

/** Compiles bench/c/NAME.c into TMP; its path, or false (with a note) if it did not compile. */
function buildC(tmp, name, optimize) {
  const exe = join(tmp, name);
  const r = spawnSync('cc', [optimize, '-pthread', '-o', exe, join(BENCH, 'c', `${name}.c`)], { encoding: 'utf8' });
  if (r.status === 0) return exe;
  notes.push(`${name}.c did not compile: ${(r.stderr ?? '').trim().split('\n').slice(0, 2).join(' ')}`);
  return false;
}

// ------------------------------------------------------------------- data --

const identityOf = (spec) => ({ rows: spec.rows, stations: spec.stations, bytes: spec.bytes, seed: opts.seed, from: spec.from, csv: spec.csv });
/** With --data, what an earlier run wrote for the same spec (its sidecar), if the file is still whole. */
function reusable(tmp, key) {
  const path = join(tmp, `${key}.txt`);
  const sidecar = join(tmp, `${key}.json`);
  if (!opts.data || !existsSync(path) || !existsSync(sidecar)) return undefined;
  const saved = JSON.parse(readFileSync(sidecar, 'utf8'));
  return JSON.stringify(saved.identity) === JSON.stringify(identityOf(FILES[key])) && statSync(path).size === saved.size ? saved : undefined;
}

function generate(tmp, needed) {
  const files = {};
  const order = ['main', 'stats', 'readline', 'freq', 's10k', 'random', 'csv', 'csvplain', 'billion'];
  const want = new Set(needed);
  for (const key of [...want]) if (FILES[key].from) want.add(FILES[key].from);
  for (const key of order) {
    if (!want.has(key)) continue;
    const spec = FILES[key];
    const path = join(tmp, `${key}.txt`);
    const t0 = performance.now();
    // With --data, a file an earlier run made from the same spec is reused.
    const sidecar = join(tmp, `${key}.json`);
    const identity = identityOf(spec);
    const saved = reusable(tmp, key);
    if (saved) {
      files[key] = { key, path, bytes: saved.size, rows: spec.rows ?? saved.rows, priced: saved.priced, stations: spec.stations, what: spec.what };
      log(`bench: ${key.padEnd(8)} reused from ${tmp}`);
      continue;
    }
    let generated = {};
    if (key === 'random') {
      const r = spawnSync(NODE, [join(BENCH, 'micro', 'random-access.mjs'), 'make', path, String(spec.bytes)], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error('could not write the random-access file');
    } else if (spec.csv) {
      const flags = spec.csv === 'plain' ? ['--no-quoted-newlines'] : [];
      const r = spawnSync(NODE, [join(BENCH, 'gen-csv.mjs'), path, String(spec.bytes), String(opts.seed), ...flags], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      if (r.status !== 0) throw new Error(`bench/gen-csv.mjs failed for ${key}`);
      generated = JSON.parse(r.stdout);
    } else if (spec.from && spec.rows < FILES[spec.from].rows) {
      // The first rows of the main file: a 1BRC file in its own right, faster than generating.
      const fd = openSync(path, 'w');
      const r = spawnSync('head', ['-n', String(spec.rows), files[spec.from].path], { stdio: ['ignore', fd, 'inherit'] });
      closeSync(fd);
      if (r.status !== 0) throw new Error(`head -n ${spec.rows} failed`);
    } else if (spec.from) {
      files[key] = { ...files[spec.from], key, what: spec.what };
      continue;
    } else {
      const seed = key === 's10k' ? opts.seed + 1 : opts.seed;
      const r = spawnSync(NODE, [PAGEWISE, 'gen', '1brc', path, '--rows', String(spec.rows), '--stations', String(spec.stations), '--seed', String(seed), '--json', '--no-progress'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      if (r.status !== 0) throw new Error(`pagewise gen failed for ${key}`);
    }
    const bytes = statSync(path).size;
    files[key] = { key, path, bytes, rows: spec.rows ?? generated.rows, priced: generated.priced, stations: spec.stations, what: spec.what };
    if (opts.data) writeFileSync(sidecar, JSON.stringify({ identity, size: bytes, rows: generated.rows, priced: generated.priced }));
    log(`bench: ${key.padEnd(8)} ${fmtBytes(bytes).padStart(10)}${spec.rows ? `, ${spec.rows.toLocaleString('en-US')} rows` : ''} in ${fmtSeconds((performance.now() - t0) / 1000)}`);
  }
  return files;
}

// ------------------------------------------------------------------ running --

/**
 * Runs one side once. `before(file)`, a field of the side or else of the
 * bench, runs first, off the clock (the cold benches evict the file there);
 * what it returns is kept with the rep.
 */
function runSide(side, file, bench) {
  const hook = side.before ?? bench.before;
  const prepared = hook ? hook(file) : undefined;
  // `tool`: a program this harness built (bench/c), by its key in `tools`.
  const cmd = side.tool ? tools[side.tool] : side.cmd;
  const r = timeCommand(cmd, side.args(file.path), { env: side.env ?? (cmd === NODE ? NODE_ENV : undefined), okStatus: side.okStatus ?? [0] });
  let answer;
  let raw;
  if (!r.error) {
    try {
      raw = side.parse(r.stdout);
      answer = raw;
    } catch (error) {
      r.error = `could not read ${side.label}'s output: ${error.message}`;
    }
  }
  const seconds = side.inner && raw ? raw.seconds : r.seconds;
  // Steal as a share of the CPU time the machine had during the command.
  const stolen = r.steal / (r.seconds * os.availableParallelism());
  return { seconds, wall: r.seconds, cpu: r.cpuSeconds, stolen, rss: r.maxRssBytes, error: r.error, answer, prepared };
}

const limitRates = new Map();
/** The C limit's throughput on this file (bytes/s): the median of `reps` runs. */
function limitRate(file) {
  if (!tools.limit || !file.rows) return NaN;
  if (limitRates.has(file.key)) return limitRates.get(file.key);
  const times = [];
  for (let i = 0; i < Math.max(3, opts.reps); i++) {
    const r = timeCommand(tools.limit, [file.path, String(opts.threads)]);
    if (r.error) break;
    times.push(r.seconds);
  }
  const rate = times.length ? file.bytes / median(times) : NaN;
  limitRates.set(file.key, rate);
  return rate;
}

function checkTarget(target, value) {
  if (!target || !Number.isFinite(value)) return undefined;
  return target.op === '<=' ? value <= target.value : value >= target.value;
}

/** Files that cannot be made here (no room on the disk), with why: their benches are skipped. */
const fileSkips = {};

/** Why a bench cannot run here (a peer is missing), or undefined. */
function skipReason(bench, why) {
  for (const needs of [bench.needs, bench.a.needs, bench.b?.needs].filter(Boolean)) {
    if (!tools[needs]) return why[needs] ?? `${needs} is not available`;
  }
  if (bench.needsCores && os.availableParallelism() < bench.needsCores) return `needs ${bench.needsCores} cores`;
  if (bench.optIn && !opts[bench.optIn]) return `opt-in: --${bench.optIn}`;
  if (fileSkips[bench.file]) return fileSkips[bench.file];
  return undefined;
}

function runBench(bench, files, why) {
  const file = files[bench.file];
  const result = { name: bench.name, title: bench.title, cold: bench.cold === true, file: bench.file, bytes: file?.bytes, a: bench.a.label, b: bench.b?.label, bPagewise: bench.b?.pagewise === true, reps: [], problems: [], mismatch: [] };
  const target = typeof bench.target === 'function' ? bench.target(FILES) : bench.target;
  result.target = target;
  result.skipped = skipReason(bench, why);
  if (result.skipped) {
    log(colors.yellow(`\n[${bench.name}] skipped: ${result.skipped}`));
    return result;
  }
  log(`\n[${bench.name}] ${bench.title}: ${bench.a.label}${bench.b ? ` vs ${bench.b.label}` : ''} on ${file.key} (${fmtBytes(file.bytes)})`);
  // A cold bench sets each run's cache itself, in its `before` hooks.
  if (!bench.cold) warm(file.path);
  // How much of the file sits in 2 MiB folios: the same file scans up to
  // 2.5x faster for the kernel-path peers in that state.
  if (!bench.cold) {
    result.folios = folioShares(file.path, NODE_ENV)?.pmd;
    if (result.folios !== undefined) log(`  ${fmtPct(result.folios)} of the file in 2 MiB folios`);
  }
  const answerOf = bench.answer ?? ((x) => x);
  let firstA;
  let firstB;
  const reps = Math.min(opts.reps, bench.maxReps ?? Infinity);
  for (let i = 0; i < reps; i++) {
    const rep = { a: runSide(bench.a, file, bench) };
    if (bench.b && !rep.a.error) rep.b = runSide(bench.b, file, bench);
    result.reps.push(rep);
    const errors = [rep.a.error, rep.b?.error].filter(Boolean);
    if (errors.length) {
      result.problems.push(...errors);
      log(colors.red(`  rep ${i + 1}: ERROR ${errors.join('; ')}`));
      break;
    }
    // Every answer must equal the first pagewise answer (and the peer's).
    const a = answerOf(rep.a.answer);
    const b = rep.b ? answerOf(rep.b.answer) : undefined;
    const compare = bench.compare ?? equalAnswers;
    if (i === 0) {
      firstA = a;
      firstB = b;
      if (bench.b && !bench.b.noAnswer) {
        const diff = compare(a, b);
        if (diff) result.mismatch.push(`${bench.a.label} vs ${bench.b.label}: ${diff}`);
      }
      const expect = bench.expect?.(files);
      if (expect !== undefined && a !== expect) result.mismatch.push(`${bench.a.label} says ${a}, the file has ${expect}`);
      const why = bench.check?.(a, file);
      if (why) result.mismatch.push(`${bench.a.label}: ${why}`);
      const expectRows = bench.expectRows?.(files);
      if (expectRows !== undefined && bench.summary && bench.summary(a).rows !== expectRows) result.mismatch.push(`${bench.a.label} counted ${bench.summary(a).rows} rows, the file has ${expectRows}`);
      result.answer = bench.summary ? bench.summary(a) : a;
      result.checked = true;
    } else {
      const diffA = compare(a, firstA);
      if (diffA) result.mismatch.push(`${bench.a.label} rep ${i + 1} differs from rep 1: ${diffA}`);
      if (bench.b && !bench.b.noAnswer) {
        const diffB = compare(firstA, b);
        if (diffB) result.mismatch.push(`${bench.b.label} rep ${i + 1} differs: ${diffB}`);
      }
    }
    const ratio = rep.b ? (bench.invert ? rep.b.seconds / rep.a.seconds : rep.a.seconds / rep.b.seconds) : undefined;
    rep.ratio = ratio;
    log(
      `  rep ${i + 1}/${reps}: ${bench.a.label} ${fmtSeconds(rep.a.seconds)} (steal ${fmtPct(rep.a.stolen)}, ${fmtRss(rep.a.rss)})${
        rep.b ? `, ${bench.b.label} ${fmtSeconds(rep.b.seconds)} (steal ${fmtPct(rep.b.stolen)}, ${fmtRss(rep.b.rss)}), ratio ${fmtRatio(ratio)}` : ''
      }`,
    );
  }
  void firstB;
  const ok = result.reps.filter((r) => !r.a.error && (!bench.b || (r.b && !r.b.error)));
  result.aMedian = median(ok.map((r) => r.a.seconds));
  result.bMedian = bench.b ? median(ok.map((r) => r.b.seconds)) : undefined;
  result.ratio = bench.b ? median(ok.map((r) => r.ratio)) : undefined;
  result.aRange = spread(ok.map((r) => r.a.seconds));
  result.bRange = bench.b ? spread(ok.map((r) => r.b.seconds)) : undefined;
  result.ratioRange = bench.b ? spread(ok.map((r) => r.ratio)) : undefined;
  const residues = result.reps.flatMap((r) => [r.a.prepared?.resident, r.b?.prepared?.resident]).filter(Number.isFinite);
  if (residues.length) result.residue = Math.max(...residues);
  if (result.residue > 0.05) notes.push(`\`${bench.name}\`: up to ${fmtPct(result.residue)} of the file stayed in the page cache after eviction, so its cold runs were partly warm.`);
  result.aRss = median(ok.map((r) => r.a.rss));
  result.bRss = bench.b ? median(ok.map((r) => r.b.rss)) : undefined;
  result.value = bench.absolute ? result.aMedian : result.ratio;
  result.pass = checkTarget(target, result.value);
  result.inner = bench.a.inner === true;
  if (bench.a.pagewise && !bench.a.inner && !bench.noLimit && file.rows) {
    const rate = limitRate(file);
    result.limitFraction = Number.isFinite(rate) ? file.bytes / result.aMedian / rate : undefined;
    result.limitRate = rate;
  }
  if (bench.b?.limit) result.limitFraction = result.bMedian / result.aMedian;
  if (result.mismatch.length) for (const m of result.mismatch) log(colors.red(`  MISMATCH: ${m}`));
  else if (ok.length) log(colors.green('  answers agree'));
  return result;
}

function runTunes(files) {
  const out = [];
  for (const t of TUNE_JOBS) {
    const file = files[t.file];
    log(`\n[tune] pagewise tune --job ${t.job} on ${file.key} (${fmtBytes(file.bytes)})`);
    warm(file.path);
    const args = [PAGEWISE, 'tune', file.path, '--job', t.job, '--json', '--no-progress', '--threads', String(opts.threads)];
    if (t.params) args.push('--params', JSON.stringify(t.params));
    const r = timeCommand(NODE, args, { env: NODE_ENV });
    if (r.error) {
      out.push({ job: t.job, file: t.file, bytes: file.bytes, error: r.error });
      log(colors.red(`  ERROR ${r.error}`));
      continue;
    }
    const parsed = JSON.parse(r.stdout);
    out.push({ job: t.job, file: t.file, bytes: file.bytes, rows: file.rows, seconds: r.seconds, limitRate: limitRate(file), ...parsed });
    log(`  ${parsed.trials.map((x) => `${fmtBytes(x.chunkSize)} ${fmtRate(x.bytesPerSecond)}`).join(', ')}; recommended ${fmtBytes(parsed.recommended)}`);
  }
  return out;
}

// ------------------------------------------------------------------ report --

function resultCell(r) {
  if (r.skipped) return 'skipped';
  if (r.problems.length) return '**ERROR**';
  if (r.mismatch.length) return '**MISMATCH**';
  if (r.pass === undefined) return 'info';
  return r.pass ? 'pass' : '**miss**';
}

/** A label as a Markdown table cell: a pipeline's `|` would end the cell. */
const cell = (text) => String(text).replace(/\|/g, '\\|');

function markdownTable(results) {
  const lines = [
    '| bench | pagewise side | median | peer | median | ratio | target | result | % of limit | peak RSS | answers |',
    '|---|---|---:|---|---:|---:|---|---|---:|---:|---|',
  ];
  for (const r of results) {
    const answers = r.skipped ? '–' : r.mismatch.length ? '**MISMATCH**' : r.checked ? 'agree' : '–';
    const ratioText = r.ratio === undefined ? '–' : `${fmtRatio(r.ratio)}${r.ratioRange ? ` (${fmtRatio(r.ratioRange[0])}–${fmtRatio(r.ratioRange[1])})` : ''}`;
    const time = (m, range) => `${fmtSeconds(m)}${r.inner ? '¹' : ''}${range ? ` (${fmtSecondsRange(range)})` : ''}`;
    const limit = r.limitFraction !== undefined && Number.isFinite(r.limitFraction) ? `${(r.limitFraction * 100).toFixed(0)}%` : '–';
    const rss = r.skipped ? '–' : [r.aRss, ...(r.b ? [r.bRss] : [])].map(fmtRss).join(' / ');
    lines.push(
      `| \`${r.name}\` | ${cell(r.a)} | ${r.skipped ? '–' : time(r.aMedian, r.aRange)} | ${r.b === undefined ? '–' : cell(r.b)} | ${r.b && !r.skipped ? time(r.bMedian, r.bRange) : '–'} | ${ratioText} | ${r.target?.text ?? '–'} | ${resultCell(r)}${r.skipped ? ` (${r.skipped})` : ''} | ${limit} | ${rss} | ${answers} |`,
    );
  }
  return lines.join('\n');
}

function rawTimes(results) {
  const out = [];
  for (const r of results) {
    if (r.skipped || r.reps.length === 0) continue;
    out.push(`### \`${r.name}\`: ${r.title}`, '');
    out.push(`File: ${r.file} (${fmtBytes(r.bytes)}). Answer: \`${JSON.stringify(r.answer)?.slice(0, 160) ?? '–'}\`.`, '');
    if (r.residue !== undefined) out.push(`Evicted from the page cache before each cold run: at most ${(100 * r.residue).toFixed(1)}% of its pages were still resident when the run started.`, '');
    if (r.folios !== undefined) out.push(`Page cache of the file in 2 MiB folios when the bench started: ${fmtPct(r.folios)} (docs/performance.md, "Analysis").`, '');
    const hasB = r.reps.some((x) => x.b);
    out.push(hasB ? `| rep | ${cell(r.a)} wall | cpu | steal | peak RSS | ${cell(r.b)} wall | cpu | steal | peak RSS | ratio |` : `| rep | ${cell(r.a)} wall | cpu | steal | peak RSS |`);
    out.push(hasB ? '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|' : '|---:|---:|---:|---:|---:|');
    r.reps.forEach((x, i) => {
      const a = x.a.error ? 'error' : `${x.a.seconds.toFixed(3)} s${r.inner ? ` (process ${x.a.wall.toFixed(3)} s)` : ''}`;
      const b = !x.b ? '–' : x.b.error ? 'error' : `${x.b.seconds.toFixed(3)} s${r.inner ? ` (process ${x.b.wall.toFixed(3)} s)` : ''}`;
      out.push(
        hasB
          ? `| ${i + 1} | ${a} | ${fmtCpu(x.a.cpu)} | ${fmtPct(x.a.stolen)} | ${fmtRss(x.a.rss)} | ${b} | ${x.b ? fmtCpu(x.b.cpu) : '–'} | ${x.b ? fmtPct(x.b.stolen) : '–'} | ${fmtRss(x.b?.rss)} | ${x.ratio === undefined ? '–' : fmtRatio(x.ratio)} |`
          : `| ${i + 1} | ${a} | ${fmtCpu(x.a.cpu)} | ${fmtPct(x.a.stolen)} | ${fmtRss(x.a.rss)} |`,
      );
    });
    for (const p of r.problems) out.push('', `Error: ${p}`);
    for (const m of r.mismatch) out.push('', `**MISMATCH**: ${m}`);
    out.push('');
  }
  return out.join('\n');
}
/** [min, max] of the finite values, or undefined with fewer than two (a single rep has no spread). */
function spread(values) {
  const v = values.filter(Number.isFinite);
  return v.length > 1 ? [Math.min(...v), Math.max(...v)] : undefined;
}
/** "1.20–1.31 s", the unit once when both ends share it. */
function fmtSecondsRange([lo, hi]) {
  const a = fmtSeconds(lo);
  const b = fmtSeconds(hi);
  const unit = (t) => t.slice(t.indexOf(' '));
  return unit(a) === unit(b) ? `${a.slice(0, a.indexOf(' '))}–${b}` : `${a}–${b}`;
}
const fmtCpu = (s) => (Number.isFinite(s) ? `${s.toFixed(2)} s` : '–');
const fmtRss = (bytes) => (Number.isFinite(bytes) ? fmtBytes(bytes) : '–');
/** A share as a percentage, for steal time. */
function fmtPct(x) {
  return Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : '–';
}

function peersChart(results) {
  const groups = [];
  for (const r of results) {
    if (r.skipped || r.problems.length || !Number.isFinite(r.aMedian) || r.inner) continue;
    if (r.name === 'wc-lines-limit') continue; // folded into wc-lines
    if (r.name === 'scaling-c') continue; // the machine's scaling, not a peer
    const bars = [{ name: r.a, value: r.bytes / r.aMedian / 1e9, kind: 'pagewise' }];
    if (r.b && Number.isFinite(r.bMedian)) bars.push({ name: r.b, value: r.bytes / r.bMedian / 1e9, kind: r.bPagewise ? 'pagewise' : 'peer' });
    if (r.name === 'wc-lines') {
      const lim = results.find((x) => x.name === 'wc-lines-limit' && Number.isFinite(x.bMedian));
      if (lim) bars.push({ name: 'C AVX2 limit', value: lim.bytes / lim.bMedian / 1e9, kind: 'limit' });
    }
    for (const b of bars) b.text = `${b.value >= 1 ? b.value.toFixed(2) : b.value.toPrecision(2)} GB/s`;
    groups.push({ label: `${r.name} (${fmtBytes(r.bytes)})`, bars });
  }
  if (!groups.length) return undefined;
  return barChart({
    title: 'pagewise vs peers: throughput (file bytes / median wall time)',
    subtitle: `${opts.threads} threads, warm page cache unless the bench says cold, whole commands timed (process start included)`,
    footer: provenance,
    unit: 'GB/s',
    groups,
  });
}

function tuneChart(t) {
  const points = t.trials.map((x) => ({ x: x.chunkSize, y: x.bytesPerSecond / 1e9 }));
  return lineChart({
    title: `pagewise tune --job ${t.job}: throughput vs chunk size`,
    subtitle: `${fmtBytes(t.bytes)} file (${t.file}), ${opts.threads} threads, best of 3 per size`,
    footer: provenance,
    xLabel: 'chunk size',
    yLabel: 'GB/s',
    series: [{ name: t.job, points }],
    xTick: (x) => fmtBytes(x).replace('.0 ', ' '),
    marks: [{ series: t.job, x: t.recommended, label: 'recommended' }],
  });
}

// -------------------------------------------------------------------- main --

const base = resolve(opts.tmp);
mkdirSync(base, { recursive: true });
const tmp = opts.data ? resolve(opts.data) : mkdtempSync(join(base, 'pagewise-bench-'));
if (opts.data) mkdirSync(tmp, { recursive: true });
let cleaned = false;
const cleanup = () => {
  if (cleaned) return;
  cleaned = true;
  if (opts.keep || opts.data) log(`bench: kept the data in ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

const started = new Date();
const stealAtStart = stealSeconds();
const mach = machine();
// The code measured is the tree as it is now; docs/ is left out of "dirty" because this harness rewrites it.
const git = (...args) => spawnSync('git', ['-C', ROOT, ...args], { encoding: 'utf8' });
const commit = git('rev-parse', '--short', 'HEAD').stdout?.trim() || undefined;
const dirty = commit !== undefined && git('status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)docs').stdout?.trim() !== '';
const commitText = commit ? `commit ${commit}${dirty ? ' with uncommitted changes' : ''}` : 'commit unknown (not a git checkout)';
/** Under every table and chart: a figure copied out of the report still says where, when and what was measured. */
const provenance = `${mach.cpu}, ${mach.cores} cores, ${fmtBytes(mach.ramBytes)} RAM, Node ${mach.node}; ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC; ${commitText}`;
// What Node's own start costs here, with and without the CA bundle variable.
const nodeStart = (env) => median(Array.from({ length: 7 }, () => timeCommand(NODE, ['-e', '0'], { env }).seconds));
const startup = { clean: nodeStart(NODE_ENV_VARS(false)), withCa: process.env.NODE_EXTRA_CA_CERTS ? nodeStart(NODE_ENV_VARS(true)) : undefined };
const loadBefore = loadAverage();
log(`bench: ${mach.cpu}, ${mach.cores} cores, ${fmtBytes(mach.ramBytes)} RAM, ${mach.kernel}, Node ${mach.node}; load average ${loadBefore}`);
log(`bench: ${benches.length} bench(es)${runTune ? ' + tune' : ''}, ${opts.reps} rep(s) each, ${opts.threads} threads, data in ${tmp}`);

const why = preparePeers(tmp);
// After preparePeers, which may have installed it: what running each command under /usr/bin/time adds to its wall time.
const bareTrue = (rss) => median(Array.from({ length: 7 }, () => timeCommand('true', [], { rss }).seconds));
const gnuTimeCost = hasGnuTime() ? bareTrue(true) - bareTrue(false) : undefined;
const freeBytes = (() => {
  const df = spawnSync('df', ['-B1', '--output=avail', tmp], { encoding: 'utf8' });
  return df.status === 0 ? Number(df.stdout.trim().split('\n').pop()) : NaN;
})();
const billionNew = opts.billion && benches.some((b) => b.file === 'billion') && !reusable(tmp, 'billion');
if (billionNew && Number.isFinite(freeBytes) && freeBytes < BILLION_NEED) {
  fileSkips.billion = `${(freeBytes / 1e9).toFixed(1)} GB free in ${tmp}, the ${exp(opts.billionRows)}-row file needs ${Math.ceil(BILLION_NEED / 1e9)} GB`;
}
const neededFiles = new Set([...benches.filter((b) => !skipReason(b, why)).map((b) => b.file), ...(runTune ? TUNE_JOBS.map((t) => t.file) : [])]);
const roughNeed = R * 13.8 * 2.2 + (neededFiles.has('billion') && billionNew ? opts.billionRows * 13.8 : 0) + FILES.random.bytes + (neededFiles.has('csv') ? FILES.csv.bytes : 0) + (neededFiles.has('csvplain') ? FILES.csvplain.bytes : 0);
if (Number.isFinite(freeBytes) && freeBytes < roughNeed) log(colors.yellow(`bench: warning: ${fmtBytes(freeBytes)} free in ${tmp}, the data may need ~${fmtBytes(roughNeed)}`));

const files = generate(tmp, neededFiles);
if (opts.prepare) {
  log(`bench: --prepare: the data is in ${tmp}; no bench was run`);
  if (!opts.data && !opts.keep) rmSync(tmp, { recursive: true, force: true });
  process.exit(0);
}
const results = [];
for (const bench of benches) {
  try {
    results.push(runBench(bench, files, why));
  } catch (error) {
    log(colors.red(`[${bench.name}] crashed: ${error.stack}`));
    results.push({ name: bench.name, title: bench.title, a: bench.a.label, b: bench.b?.label, reps: [], problems: [`harness error: ${error.message}`], mismatch: [], bytes: files[bench.file]?.bytes });
  }
}
const tunes = runTune ? runTunes(files) : [];
const loadAfter = loadAverage();
const stealShare = (stealSeconds() - stealAtStart) / (((Date.now() - started.getTime()) / 1000) * mach.cores);
const finished = new Date();

// --- print and write -----------------------------------------------------------

const table = markdownTable(results);
const versions = {
  wc: versionOf('wc'),
  grep: versionOf('grep', ['-V']),
  rg: versionOf('rg'),
  parallel: versionOf('parallel', ['--version']),
  duckdb: duckdbInstalled() ? `@duckdb/node-api ${JSON.parse(readFileSync(join(DEPS, 'node_modules', '@duckdb', 'node-api', 'package.json'), 'utf8')).version}` : undefined,
  cc: versionOf('cc'),
  time: hasGnuTime() ? versionOf('/usr/bin/time') : undefined,
  'node-1brc': node1brcVersion(),
};
/** The peer's package name and version, from the nearest package.json above it, and a digest of the file run. */
function node1brcVersion() {
  if (!NODE_1BRC || !existsSync(NODE_1BRC)) return undefined;
  let pkg = '';
  for (let dir = dirname(NODE_1BRC); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      pkg = `${p.name}@${p.version}, `;
      break;
    }
  }
  return `${pkg}${NODE_1BRC} (sha256 ${createHash('sha256').update(readFileSync(NODE_1BRC)).digest('hex').slice(0, 12)})`;
}
const pagewiseVersion = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
const dryRun = R < DEFAULT_ROWS;
const mismatches = results.filter((r) => r.mismatch.length);
const errors = results.filter((r) => r.problems.length);

process.stdout.write(`\n${mach.cpu}, ${mach.cores} cores, ${fmtBytes(mach.ramBytes)} RAM, ${mach.kernel}, Node ${mach.node}; load average ${loadBefore} before, ${loadAfter} after\n\n${table}\n\n_${provenance}_\n\n`);
if (dryRun) process.stdout.write(`Scaled-down run (--rows ${exp(R)}): process start-up dominates; the targets are meant for the default ${exp(DEFAULT_ROWS)} rows.\n`);
if (mismatches.length) process.stdout.write(colors.red(`ANSWERS DIFFER in: ${mismatches.map((r) => r.name).join(', ')} (see above)\n`));
if (errors.length) process.stdout.write(colors.red(`ERRORS in: ${errors.map((r) => r.name).join(', ')}\n`));

const md = [];
md.push('# Performance', '');
md.push(`Generated by \`npm run bench\` (\`node bench/run.mjs${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}\`) on ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, in ${fmtSeconds((finished - started) / 1000)}. Do not edit by hand: rerun the harness. How to run it and what each bench measures: [bench/README.md](../bench/README.md).`, '');
if (dryRun) md.push(`> **Scaled-down run**: \`--rows ${exp(R)}\` instead of the default ${exp(DEFAULT_ROWS)}. At this size process start-up (Node, and for pagewise a worker pool and the JIT warming up each job) dominates, so the ratios say little about the targets, which are meant for the full-size run (\`npm run bench\`).`, '');
if (staleNote) md.push(`> Warning: ${staleNote}.`, '');
md.push('## Machine', '');
md.push('| | |', '|---|---|');
md.push(`| CPU | ${mach.cpu}${mach.avx2 ? ' (AVX2)' : ''} |`);
md.push(`| cores | ${mach.cores} (benches use ${opts.threads} threads) |`);
md.push(`| RAM | ${fmtBytes(mach.ramBytes)} |`);
md.push(`| kernel | ${mach.kernel}${mach.distro ? ` (${mach.distro})` : ''} |`);
md.push(`| Node.js | ${mach.node} (${mach.arch}) |`);
md.push(`| pagewise | ${pagewiseVersion} (${commitText})${opts.chunkSize ? `, --chunk-size ${opts.chunkSize}` : ', chunk size auto'} |`);
md.push(`| load average (1, 5, 15 min) | ${loadBefore} before, ${loadAfter} after |`);
md.push(`| CPU stolen by the hypervisor | ${fmtPct(stealShare)} of the CPU time over the whole run (per command in Raw times) |`);
md.push(
  `| Node start (\`node -e 0\`, median of 7) | ${fmtSeconds(startup.clean)}${
    startup.withCa === undefined
      ? ''
      : `; ${fmtSeconds(startup.withCa)} with NODE_EXTRA_CA_CERTS, which this environment sets (${opts.keepNodeEnv ? 'kept for the runs: --keep-node-env' : 'unset for every Node process timed; --keep-node-env keeps it'})`
  } |`,
);
md.push(
  `| peak RSS | ${
    gnuTimeCost === undefined
      ? 'not measured: no GNU time at /usr/bin/time'
      : `GNU time \`-f %M\`; running each command under it adds ${fmtSeconds(gnuTimeCost)} to its wall time (\`/usr/bin/time true\` − \`true\`, medians of 7)`
  } |`,
);
for (const [k, v] of Object.entries(versions)) md.push(`| ${k} | ${v ?? 'not installed'} |`);
md.push('');
const loadMax = Math.max(...`${loadBefore} ${loadAfter}`.split(' ').map(Number));
if (loadMax > mach.cores * 0.5) md.push(`> The machine was busy (load average up to ${loadMax.toFixed(2)} on ${mach.cores} cores): other processes competed for the CPU, so these times are noisy.`, '');
md.push('## Data', '');
md.push('| file | rows | stations | size |', '|---|---:|---:|---:|');
for (const f of Object.values(files)) md.push(`| ${f.key}: ${f.what} | ${f.rows ? f.rows.toLocaleString('en-US') : '–'} | ${f.stations ?? '–'} | ${fmtBytes(f.bytes)} |`);
md.push('', `Generated with \`pagewise gen 1brc --seed ${opts.seed}\` (the 10,000-station file with seed ${opts.seed + 1}); the smaller 413-station files are the first rows of the main file (\`head -n\`)${files.billion ? ', the --billion file is generated whole with the same seed' : ''}; the CSV files with \`bench/gen-csv.mjs\` (rows: records after the header).`, '');
md.push('## Results', '');
md.push(table, '', `_${provenance}._`, '');
md.push(
  '- **median**: median wall time of the whole command (spawnSync, performance.now(): process start-up included), page cache warm unless the bench says cold; in parentheses the fastest and slowest rep.',
  '- **ratio**: the median of the per-pair ratios (rep *i* of A against rep *i* of B, run back to back): pagewise wall / peer wall unless the target says otherwise; in parentheses the lowest and highest pair ratio.',
  '- **peak RSS**: the median over the reps of the command\'s peak resident set size (GNU time `%M`), pagewise / peer. For a pipeline or a script that starts others it is the largest single process, not their sum; for pagewise, its worker threads are in the one process.',
  '- **% of limit**: pagewise throughput as a fraction of `bench/c/count_newlines.c` (mmap + AVX2 newline count on the same threads, the fastest any scan of the file can be) on the same file.',
  '- **scaling-c**: the scaling bench\'s work written in C (`bench/c/cpu_bound.c`, same answer) at 2 and 1 threads in the same run: how this machine itself scales when both cores are busy, the ceiling for `scaling`.',
  '- **answers**: every run\'s output is checked against the peer\'s and against the known row count; stats compares every station (count, min, max exactly; mean within 0.05); `stats-node-1brc` and `stats-1e9` with a peer compare the two texts byte for byte; `grep-lines-*` the CRC and length of everything printed; `freq-all-*` the (word, count) pairs, their order and their total (against `wc -w`); `wc-lines-cold` checks pagewise\'s count only (`cat` prints nothing).',
  '- ¹ random access: time of the read loop inside the process (offsets drawn before the clock starts), not of the whole command.',
  "- **csv-***: one column's count, min, max, sum and mean through `csvFields`. `csv-exact` runs the same loop with `split: 'csv'` and `split: 'lines'` on a CSV without newlines inside quotes (where both are right): the ratio is the price of exact CSV cutting: the guessed cuts' windows, and the first pass over the file wherever a guess fails (none does on these files). `csv-first-pass` times the same with a job that reads nothing, which never walks its records, so every chunk is also proved by the summary kernel (`csvSummaryChecked`, parity and the strict checks in one read) in its worker (docs/decisions.md, \"Guessed cuts first\").",
  '- Coreutils, grep, ripgrep and GNU parallel run with `LC_ALL=C` (their fastest mode; the same byte-wise word and line rules as pagewise).',
  '',
);
const notesOut = [...notes, ...results.filter((r) => r.skipped).map((r) => `\`${r.name}\` skipped: ${r.skipped}.`), ...errors.flatMap((r) => r.problems.map((p) => `\`${r.name}\` error: ${p}`)), ...mismatches.flatMap((r) => r.mismatch.map((m) => `**MISMATCH** \`${r.name}\`: ${m}`))];
if (notesOut.length) md.push('### Notes', '', ...notesOut.map((n) => `- ${n}`), '');

const svgs = [];
const peers = peersChart(results);
if (peers) svgs.push({ name: 'perf-peers.svg', svg: peers, alt: 'pagewise vs peers, throughput' });
for (const t of tunes) if (!t.error) svgs.push({ name: `perf-tune-${t.job}.svg`, svg: tuneChart(t), alt: `throughput vs chunk size, ${t.job}` });
if (svgs.length) {
  md.push('## Charts', '');
  for (const s of svgs) md.push(`![${s.alt}](${s.name})`, '');
}
if (tunes.length) {
  md.push('## Chunk size (`pagewise tune`)', '');
  md.push(`\`pagewise tune FILE --job NAME --json --threads ${opts.threads}\`: one warm-up pass, then the best of 3 runs per size, timed inside the process (\`runJob\` stats: no start-up). In parentheses: the fraction of the C limit on the same file.`, '');
  md.push(`_${provenance}._`, '');
  const sizes = [...new Set(tunes.flatMap((t) => t.trials?.map((x) => x.chunkSize) ?? []))].sort((a, b) => a - b);
  md.push(`| job | file | ${sizes.map((s) => fmtBytes(s)).join(' | ')} | recommended | C limit on the file |`);
  md.push(`|---|---|${sizes.map(() => '---:|').join('')}---|---:|`);
  for (const t of tunes) {
    if (t.error) {
      md.push(`| ${t.job} | ${t.file} | ${sizes.map(() => '–').join(' | ')} | error: ${t.error} | – |`);
      continue;
    }
    const cells = sizes.map((s) => {
      const x = t.trials.find((y) => y.chunkSize === s);
      return x ? `${fmtRate(x.bytesPerSecond)}${Number.isFinite(t.limitRate) ? ` (${((100 * x.bytesPerSecond) / t.limitRate).toFixed(0)}%)` : ''}` : '–';
    });
    md.push(`| ${t.job} | ${t.file} (${fmtBytes(t.bytes)}) | ${cells.join(' | ')} | ${fmtBytes(t.recommended)} | ${fmtRate(t.limitRate)} |`);
  }
  md.push('');
}
const capped = benches.filter((b) => b.maxReps < opts.reps && results.some((r) => r.name === b.name && !r.skipped));
md.push(
  '## Raw times',
  '',
  `_${provenance}._`,
  '',
  `${opts.reps} rep(s) per side${capped.length ? ` (${capped.map((b) => `\`${b.name}\` at most ${b.maxReps}`).join(', ')})` : ''}, alternating A B A B; cpu = user + system time of the command and its children; steal = CPU time the hypervisor gave to other guests during the command, as a share of the ${mach.cores} CPUs x wall time (\`/proc/stat\`). Steal hits commands that use every core harder than single-threaded peers.`,
  '',
);
md.push(rawTimes(results));
md.push('## Method', '');
md.push(
  '- Data: `pagewise gen 1brc` into a fresh temporary directory (removed at the end unless `--keep`).',
  '- Before each bench its file is read through once (`cat FILE > /dev/null`), so every run reads from the page cache.',
  '- The cold benches (`*-cold`) instead drop the file from the page cache before each cold run, off the clock: `bench/lib/page-cache.mjs` calls `fdatasync` and then `posix_fadvise(POSIX_FADV_DONTNEED)` over the whole file (through pagewise\'s `MappedFile.fadvise`, no root needed) and checks with `mincore` what stayed (Raw times). `stats-cold` reads the file through again before each warm run. Cold means out of this machine\'s page cache; on a VM the host may still cache the disk.',
  '- Each pair runs alternately, A B A B ..., so that drifting background load hits both sides alike; the ratio reported is the median of the per-pair ratios.',
  '- Whole commands are timed with `spawnSync` and `performance.now()`: what a user waits for, Node start-up and worker-pool start included.',
  '- Peak RSS: each command runs as `/usr/bin/time -f %M -o FILE cmd args...` (when GNU time is there). The clock then also covers the exec of `time` and its `wait4`, the same small cost on both sides of a pair (measured in the Machine table). `time` writes its one-line file before it exits; the harness reads it after the clock has stopped.',
  '- Peers: `wc`, `grep -F`, `rg -F`, `grep -F -a` and `rg -F -a` printing lines into a pipe read by `cksum` (`bash -c \'set -o pipefail; CMD | cksum\'`, pagewise likewise), `parallel --pipepart --block -1 wc -l` (summed), `bench/peers/readline-stats.mjs` (readline + split + Map), `bench/peers/traditional-stats.mjs` (worker_threads, fs.read into per-worker buffers, strings, Map per worker), `bench/peers/duckdb-stats.mjs` (DuckDB `read_csv` + `GROUP BY`), `--node-1brc`: the fastest published Node.js 1BRC program (github.com/havelessbemore/1brc-nodejs, built by whoever runs the bench, never copied here; one worker per core of its own choosing; its output must be byte-identical to `pagewise stats`), `bench/peers/duckdb-csv-column.mjs` (DuckDB `read_csv` of the CSV files of `bench/gen-csv.mjs`), `tr | grep -v | sort | uniq -c | sort -k1,1nr -k2` and `bench/peers/duckdb-wordcount.mjs` (DuckDB `GROUP BY` + `ORDER BY`) for `freq --all`, `cat FILE > /dev/null` cold, `bench/c/count_newlines.c` (the physical limit), `bench/jobs/cpu-bound.mjs` (scaling), `bench/micro/random-access.mjs` (random reads).',
  '',
);
// The "Analysis" (what limits each figure, what was tried) and "Hot loops"
// sections are written by hand: carry them over from the file being replaced.
if (existsSync(join(DOCS, 'performance.md'))) {
  const previous = readFileSync(join(DOCS, 'performance.md'), 'utf8');
  for (const title of ['Analysis', 'Hot loops']) {
    const kept = new RegExp(`^## ${title}\\n[\\s\\S]*?(?=^## |(?![\\s\\S]))`, 'm').exec(previous);
    if (kept) md.push(kept[0].trimEnd(), '');
  }
}
const mdText = `${md.join('\n')}\n`;

if (opts.docs) {
  const out = opts.docsDir ? resolve(opts.docsDir) : DOCS;
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'performance.md'), mdText);
  for (const s of svgs) writeFileSync(join(out, s.name), s.svg);
  process.stdout.write(`wrote performance.md${svgs.length ? ` and ${svgs.map((s) => s.name).join(', ')}` : ''} in ${relative(process.cwd(), out) || '.'}\n`);
}
if (opts.jsonOut) {
  writeFileSync(opts.jsonOut, `${JSON.stringify({ started, finished, machine: mach, loadBefore, loadAfter, options: opts, versions, files, results, tunes, limitRates: Object.fromEntries(limitRates) }, null, 2)}\n`);
  process.stdout.write(`wrote ${opts.jsonOut}\n`);
}
process.exitCode = mismatches.length || errors.length ? 1 : 0;
