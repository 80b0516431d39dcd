// Random access by record (issue 16, section 4). Run on purpose, not by CI.
//
//   node bench/micro/record-index.mjs [--lines 1e8] [--reads 1e6] [--lookups 200] [--dir /tmp] [--keep]
//
// 1. Writes a sorted file of `--lines` lines (`<10-digit number> <word>`, in
//    increasing order, ~21 bytes each: 2.1 GB for 1e8) and its index with
//    buildIndex (timed).
// 2. `--reads` random record(i) reads through RecordIndex (a view slice each,
//    summing one byte so nothing is optimized away) against fs.readSync of
//    the same [offset, end) ranges into one buffer; the record numbers are
//    drawn before the clock starts, and both sums must agree.
// 3. `--lookups` keys (half present, half absent) looked up with
//    RecordIndex.search in this process, against `look KEY FILE` (util-linux
//    or bsdmainutils: a process per lookup, as a user runs it); both must
//    list the same lines. A fresh `node` process that opens the index and
//    searches once is timed too, the fair comparison with one `look`.
// Prints one JSON line. Alternates nothing: each part is one side against
// the other on the same warm file; the machine's noise is the caller's to
// judge (run it twice).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { lines: { type: 'string', default: '1e8' }, reads: { type: 'string', default: '1e6' }, lookups: { type: 'string', default: '200' }, dir: { type: 'string', default: '/tmp' }, keep: { type: 'boolean' } },
});
const here = resolve(import.meta.dirname, '..', '..');
const { buildIndex, RecordIndex, comparePrefix, shutdown } = await import(join(here, 'dist/src/index.js'));
const lines = Number(values.lines);
const reads = Number(values.reads);
const lookups = Number(values.lookups);
const dir = mkdtempSync(join(values.dir, 'pagewise-record-index-'));
const file = join(dir, 'sorted.txt');

let seed = 12345;
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
const key = (i) => String(i * 2).padStart(10, '0'); // even numbers present, odd ones absent

const out = { lines, reads, lookups };
try {
  // 1. The sorted file, written in 8 MiB blocks.
  let t0 = performance.now();
  const fd = openSync(file, 'w');
  const block = Buffer.allocUnsafe(8 << 20);
  let used = 0;
  for (let i = 0; i < lines; i++) {
    if (used > block.length - 64) {
      writeSync(fd, block, 0, used);
      used = 0;
    }
    used += block.write(`${key(i)} ${WORDS[i % 8]}\n`, used, 'latin1');
  }
  writeSync(fd, block, 0, used);
  closeSync(fd);
  out.writeSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const built = await buildIndex(file);
  out.indexSeconds = (performance.now() - t0) / 1000;
  out.records = built.result.records;
  out.fileBytes = built.stats.bytes;

  // 2. Random record(i) against readSync at the same ranges.
  const idx = RecordIndex.open(file);
  const picks = new Float64Array(reads);
  for (let k = 0; k < reads; k++) picks[k] = Math.floor(rand() * idx.count);
  const ranges = new Float64Array(reads * 2);
  for (let k = 0; k < reads; k++) {
    const i = picks[k];
    ranges[2 * k] = idx.offset(i);
    ranges[2 * k + 1] = i + 1 < idx.count ? idx.offset(i + 1) : idx.size;
  }
  t0 = performance.now();
  let sumView = 0;
  for (let k = 0; k < reads; k++) {
    const r = idx.record(picks[k]);
    sumView += r[r.length - 1];
  }
  out.recordSeconds = (performance.now() - t0) / 1000;
  const rfd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 16);
  t0 = performance.now();
  let sumRead = 0;
  for (let k = 0; k < reads; k++) {
    const n = readSync(rfd, buf, 0, ranges[2 * k + 1] - ranges[2 * k], ranges[2 * k]);
    sumRead += buf[n - 2]; // the byte before the newline: record(i) leaves the newline out
  }
  out.readSyncSeconds = (performance.now() - t0) / 1000;
  closeSync(rfd);
  out.sumsAgree = sumView === sumRead;
  out.readSyncOverRecord = out.readSyncSeconds / out.recordSeconds;

  // 3. Lookups: RecordIndex.search against look(1).
  const keys = Array.from({ length: lookups }, (_, k) => String(Math.floor(rand() * lines * 2)).padStart(10, '0'));
  const decoder = new TextDecoder();
  const found = [];
  t0 = performance.now();
  for (const k of keys) {
    const kb = Buffer.from(k);
    const lines = [];
    for (let i = idx.search(kb); i >= 0 && i < idx.count && comparePrefix(idx.record(i), kb) === 0; i++) lines.push(decoder.decode(idx.record(i)));
    found.push(lines.join('\n'));
  }
  out.searchMicroseconds = ((performance.now() - t0) * 1000) / lookups;
  idx.close();
  const look = spawnSync('look', ['--version']);
  if (look.error) out.look = 'look not installed (apt-get install -y bsdmainutils, or bsdextrautils)';
  else {
    let same = true;
    t0 = performance.now();
    keys.forEach((k, n) => {
      const r = spawnSync('look', [k, file], { encoding: 'latin1', env: { ...process.env, LC_ALL: 'C' } });
      if (r.stdout.replace(/\n$/, '') !== found[n]) same = false;
    });
    out.lookMilliseconds = (performance.now() - t0) / lookups;
    out.lookAgrees = same;
    const script = `const { RecordIndex } = await import(${JSON.stringify(join(here, 'dist/src/index.js'))}); const idx = RecordIndex.open(process.argv[1]); const i = idx.search(process.argv[2]); process.stdout.write(i >= 0 ? new TextDecoder().decode(idx.record(i)) : '');`;
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    t0 = performance.now();
    for (const k of keys.slice(0, 20)) spawnSync(process.execPath, ['--input-type=module', '-e', script, file, k], { env });
    out.nodeProcessMilliseconds = (performance.now() - t0) / 20;
  }
} finally {
  await shutdown();
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  else out.dir = dir;
}
console.log(JSON.stringify(out));
