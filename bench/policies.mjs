#!/usr/bin/env node
// Release policies, cold and warm: throughput and peak memory-cgroup charge of
// `pagewise wc --lines` over a file larger than its cgroup, for
// --release keep | unmap | evict | auto. Writes docs/memory.md.
// Run on purpose, never by CI: it writes a 3 GiB file. See bench/README.md.
//
//   node bench/policies.mjs [--size 3GiB] [--limit 1GiB] [--reps N] [--policies LIST]
//                           [--states LIST] [--advice LIST] [--prefetch-sweep LIST]
//                           [--threads N] [--tmp DIR] [--keep] [--no-docs] [--json-out FILE]
//   node bench/policies.mjs --render FILE   # rewrite docs/memory.md from a --json-out file
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, fsyncSync, mkdtempSync, symlinkSync, openSync, readFileSync, readSync, realpathSync, rmSync, statSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { colors, loadAverage, machine, median } from './lib/util.mjs';
import { makeChildCgroup, runCommand } from './lib/memcg.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
/** The CLI that is measured: a snapshot of bin/, dist/ and the addon taken at start (see snapshot()). */
let PAGEWISE = join(ROOT, 'bin', 'pagewise.cjs');
const DOC = join(ROOT, 'docs', 'memory.md');
const NODE = process.execPath;
const MiB = 1 << 20;
const GiB = 1 << 30;
const POLICIES = ['keep', 'unmap', 'evict', 'auto'];
const STATES = ['cold', 'warm'];
const ADVICE = ['sequential', 'normal', 'random', 'hugepage'];
/** The acceptance bound: the peak charge of the default run stays under 60% of the limit (614 MiB of 1 GiB). */
const BOUND_FRACTION = 0.6;

const HELP = `Usage: node bench/policies.mjs [options]

Generates a 1BRC file (pagewise gen 1brc, concatenated to --size) in a temporary
directory, then runs \`pagewise wc --lines --json --stats FILE --release P\` for each
release policy, on a cold file (evicted first) and a warm one (read once first, from
outside the cgroup), each run in a fresh child memory cgroup limited to --limit.
Reports wall time, GB/s, peak cgroup charge, major faults and the answer (checked
against wc -l); checks the acceptance scenario; writes docs/memory.md.

Options:
  --size SIZE            file size (default 3GiB; suffixes KiB MiB GiB, K M G)
  --limit SIZE           memory limit of each child cgroup (default 1GiB)
  --reps N               runs of each row (default 1): wall is the median, peak the maximum
  --policies LIST        release policies (default keep,unmap,evict,auto)
  --states LIST          cold, warm or both (default cold,warm)
  --advice LIST          --advice values for every row (default sequential; when not
                         given, one extra row: evict, cold, hugepage)
  --prefetch-sweep LIST  extra evict/cold/sequential rows with these --prefetch values
                         (default 0,2; 'none' for no extra rows; every other row uses 1)
  --threads N            pass --threads N to pagewise (default: its own, all cores)
  --tmp DIR              where the temporary directory goes (default: os.tmpdir())
  --keep                 keep the generated files (their path is printed)
  --no-docs              print only; leave docs/memory.md alone
  --json-out FILE        also write every measurement as JSON
  --render FILE          measure nothing: rewrite docs/memory.md from a --json-out file
  -h, --help             this help

Exit status: 0 when every answer was right and the acceptance checks passed,
1 otherwise, 2 on a bad flag.
`;

// ------------------------------------------------------------------ options --

function parseBytes(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$/i.exec(text);
  if (!m) return NaN;
  const unit = { '': 1, k: 1024, m: MiB, g: GiB, t: 1024 * GiB }[m[2].toLowerCase()];
  return Math.round(Number(m[1]) * unit);
}

function parseCli() {
  let v;
  try {
    v = parseArgs({
      options: {
        size: { type: 'string' },
        limit: { type: 'string' },
        reps: { type: 'string' },
        policies: { type: 'string' },
        states: { type: 'string' },
        advice: { type: 'string' },
        'prefetch-sweep': { type: 'string' },
        threads: { type: 'string' },
        tmp: { type: 'string' },
        keep: { type: 'boolean' },
        'no-docs': { type: 'boolean' },
        'json-out': { type: 'string' },
        render: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }).values;
  } catch (error) {
    console.error(`policies: ${error.message}\n\n${HELP}`);
    process.exit(2);
  }
  const fail = (message) => {
    console.error(`policies: ${message}`);
    process.exit(2);
  };
  const list = (name, allowed, fallback) => {
    if (v[name] === undefined) return fallback;
    const xs = v[name].split(/[,\s]+/).filter(Boolean);
    for (const x of xs) if (!allowed.includes(x)) fail(`--${name}: '${x}' is not one of ${allowed.join(', ')}`);
    if (xs.length === 0) fail(`--${name} is empty`);
    return [...new Set(xs)];
  };
  const bytes = (name, fallback, min) => {
    if (v[name] === undefined) return fallback;
    const n = parseBytes(v[name]);
    if (!Number.isFinite(n) || n < min) fail(`--${name} must be a size of at least ${min} bytes, got '${v[name]}'`);
    return n;
  };
  const int = (name, fallback, min) => {
    if (v[name] === undefined) return fallback;
    const n = Number(v[name]);
    if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got '${v[name]}'`);
    return n;
  };
  let sweep = [0, 2];
  if (v['prefetch-sweep'] !== undefined) {
    sweep = v['prefetch-sweep'] === 'none' ? [] : v['prefetch-sweep'].split(/[,\s]+/).filter(Boolean).map(Number);
    if (sweep.some((n) => !Number.isInteger(n) || n < 0)) fail(`--prefetch-sweep must list integers >= 0 (or 'none'), got '${v['prefetch-sweep']}'`);
  }
  return {
    size: bytes('size', 3 * GiB, MiB),
    limit: bytes('limit', GiB, 64 * MiB),
    reps: int('reps', 1, 1),
    policies: list('policies', POLICIES, POLICIES),
    states: list('states', STATES, STATES),
    advice: list('advice', ADVICE, ['sequential']),
    adviceGiven: v.advice !== undefined,
    sweep: sweep.filter((n) => n !== 1),
    threads: v.threads === undefined ? undefined : int('threads', undefined, 1),
    tmp: v.tmp ?? os.tmpdir(),
    keep: v.keep === true,
    docs: v['no-docs'] !== true,
    jsonOut: v['json-out'],
    render: v.render,
    help: v.help === true,
  };
}

const opts = parseCli();
if (opts.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const log = (text) => process.stderr.write(`${text}\n`);

if (!existsSync(join(ROOT, 'dist', 'src', 'index.js'))) {
  console.error('policies: dist/ is missing: run `npm run build` first');
  process.exit(2);
}
// pagewise's library (MappedFile for eviction and residency, the addon for the
// hint experiments): loaded from the snapshot in main().
let MappedFile;
let native;
let Madvise;
let PAGE = 4096;

/**
 * Copies bin/, dist/, the built addon, data/ and package.json into `dir` (node_modules
 * is linked), so that a rebuild of the working tree while the benchmark runs (other
 * people run \`npm run build\`) can neither break a run half-way nor mix two versions.
 */
async function snapshot(dir) {
  const root = join(dir, 'pagewise');
  for (const part of ['bin', 'dist', 'data', 'package.json']) cpSync(join(ROOT, part), join(root, part), { recursive: true });
  for (const kind of ['Release', 'Debug']) {
    const addon = join(ROOT, 'build', kind, 'pagewise.node');
    if (existsSync(addon)) {
      cpSync(addon, join(root, 'build', kind, 'pagewise.node'));
      break;
    }
  }
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  PAGEWISE = join(root, 'bin', 'pagewise.cjs');
  ({ MappedFile } = await import(pathToFileURL(join(root, 'dist', 'src', 'index.js')).href));
  ({ native, Madvise } = await import(pathToFileURL(join(root, 'dist', 'src', 'native.js')).href));
  PAGE = MappedFile.pageSize;
  let commit = '';
  try {
    commit = spawnSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' }).stdout.trim();
  } catch {}
  return { root, commit };
}

// --------------------------------------------------------------- machine --

/** The block device under `dir` and its read_ahead_kb, and the file system type. */
function storageOf(dir) {
  const out = { device: 'unknown', readAheadKb: NaN, fsType: 'unknown', mountPoint: '' };
  try {
    const real = realpathSync(dir);
    let best = -1;
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [pre, post] = line.split(' - ');
      if (!post) continue;
      const f = pre.split(' ');
      const mp = f[4];
      const inside = real === mp || real.startsWith(mp.endsWith('/') ? mp : `${mp}/`);
      if (inside && mp.length > best) {
        best = mp.length;
        out.mountPoint = mp;
        out.majMin = f[2];
        out.fsType = post.split(' ')[0];
        out.source = post.split(' ')[1];
      }
    }
    // stat's st_dev is the authority (mountinfo's major:minor can be a btrfs anonymous device).
    const dev = statSync(real).dev;
    const major = Math.floor(dev / 256) & 0xfff;
    const minor = (dev & 0xff) | (Math.floor(dev / 4096) & ~0xff);
    let sys = `/sys/dev/block/${major}:${minor}`;
    if (existsSync(sys)) {
      sys = realpathSync(sys);
      if (existsSync(join(sys, 'partition'))) sys = dirname(sys);
      out.device = `/dev/${sys.split('/').pop()} (${major}:${minor})`;
      out.readAheadKb = Number(readFileSync(join(sys, 'queue', 'read_ahead_kb'), 'utf8').trim());
    } else {
      out.device = `${out.source ?? '?'} (${major}:${minor}, no block device)`;
    }
  } catch {}
  return out;
}

/** Active DAMON-based reclaim (kdamonds with a pageout scheme): it evicts cold page cache on its own. */
function damonReclaim() {
  const base = '/sys/kernel/mm/damon/admin/kdamonds';
  const out = [];
  try {
    const n = Number(readFileSync(join(base, 'nr_kdamonds'), 'utf8'));
    for (let k = 0; k < n; k++) {
      const d = join(base, String(k));
      if (readFileSync(join(d, 'state'), 'utf8').trim() !== 'on') continue;
      const ctx = join(d, 'contexts', '0');
      const ops = readFileSync(join(ctx, 'operations'), 'utf8').trim();
      const ns = Number(readFileSync(join(ctx, 'schemes', 'nr_schemes'), 'utf8'));
      for (let i = 0; i < ns; i++) {
        const sc = join(ctx, 'schemes', String(i));
        const action = readFileSync(join(sc, 'action'), 'utf8').trim();
        const rd = (f) => readFileSync(join(sc, f), 'utf8').trim();
        out.push({ ops, action, minAge: Number(rd('access_pattern/age/min')), maxAccesses: Number(rd('access_pattern/nr_accesses/max')), quotaBytes: Number(rd('quotas/bytes')), quotaMs: Number(rd('quotas/ms')) });
      }
    }
  } catch {}
  try {
    if (/^Y/.test(readFileSync('/sys/module/damon_reclaim/parameters/enabled', 'utf8'))) out.push({ ops: 'paddr', action: 'pageout (DAMON_RECLAIM module)' });
  } catch {}
  return out;
}

function thpSetting() {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unavailable';
  }
}

// ------------------------------------------------------------ page cache --

/** Drops the file's pages from the page cache; returns the fraction still resident. */
function evict(path) {
  const f = MappedFile.open(path);
  try {
    f.fadvise('dontneed');
    const r = f.residency();
    return r.pages ? r.resident / r.pages : 0;
  } finally {
    f.close();
  }
}

function residentFraction(path) {
  const f = MappedFile.open(path);
  try {
    const r = f.residency();
    return r.pages ? r.resident / r.pages : 0;
  } finally {
    f.close();
  }
}

/** Reads the file through once (charged to this process's cgroup, not the child's). */
function warmUp(path) {
  const t0 = performance.now();
  const r = spawnSync('cat', [path], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.error || r.status !== 0) {
    const fd = openSync(path, 'r');
    const buf = Buffer.allocUnsafe(8 * MiB);
    try {
      while (readSync(fd, buf, 0, buf.length, null) > 0);
    } finally {
      closeSync(fd);
    }
  }
  return (performance.now() - t0) / 1000;
}

// -------------------------------------------------------------- the data --

function generate(dir) {
  // One part of at most 256 MiB with pagewise gen, then copies of it up to --size.
  const part = join(dir, 'part.txt');
  const partTarget = Math.min(opts.size, 256 * MiB);
  const rows = Math.ceil(partTarget / 13.79); // ~13.8 bytes per row with 413 stations
  const t0 = performance.now();
  const g = spawnSync(NODE, [PAGEWISE, 'gen', '1brc', part, '--rows', String(rows), '--seed', '1'], { encoding: 'utf8' });
  if (g.status !== 0) throw new Error(`pagewise gen failed: ${g.stderr || g.error?.message}`);
  const partBytes = statSync(part).size;
  const copies = Math.max(1, Math.ceil(opts.size / partBytes));
  const big = join(dir, `big-${copies}x.txt`);
  const buf = readFileSync(part);
  const out = openSync(big, 'w');
  try {
    for (let i = 0; i < copies; i++) {
      for (let at = 0; at < buf.length; ) at += writeSync(out, buf, at, buf.length - at);
    }
    fsyncSync(out);
  } finally {
    closeSync(out);
  }
  // The small file: the first whole lines of the part, 48 MiB or a little less.
  let cut = Math.min(48 * MiB, buf.length);
  while (cut > 0 && buf[cut - 1] !== 0x0a) cut--;
  const small = join(dir, 'small-48MiB.txt');
  const sfd = openSync(small, 'w');
  try {
    writeSync(sfd, buf, 0, cut);
    fsyncSync(sfd);
  } finally {
    closeSync(sfd);
  }
  rmSync(part);
  return { big, size: statSync(big).size, rows: rows * copies, copies, small, smallSize: cut, genSeconds: (performance.now() - t0) / 1000 };
}

function wcLines(path) {
  const t0 = performance.now();
  const r = spawnSync('wc', ['-l', path], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (r.status !== 0) throw new Error(`wc -l failed: ${r.stderr}`);
  return { lines: Number(r.stdout.trim().split(/\s+/)[0]), seconds: (performance.now() - t0) / 1000 };
}

// ------------------------------------------------------------ hint facts --

/**
 * Bytes this process and its reaped children asked the block layer to read
 * (/proc/self/io read_bytes: a child's I/O is added to its parent's when it is
 * waited for), so the difference around one run is what that run read from disk.
 */
function diskReadBytes() {
  try {
    return Number(/^read_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls residency of a range until it stops growing (readahead is asynchronous). */
async function settledResidency(f, offset, length) {
  let last = -1;
  let same = 0;
  for (let i = 0; i < 100 && same < 4; i++) {
    const r = f.residency(offset, length).resident;
    same = r === last ? same + 1 : 0;
    last = r;
    await sleep(25);
  }
  return last;
}

/**
 * Small in-process experiments on a 64 MiB range of the file that show the
 * kernel behaviour the defaults rest on. Residency is mincore on the mapping,
 * i.e. whether a page is in the page cache, mapped by us or not.
 */
async function hintFacts(path) {
  const size = statSync(path).size;
  const len = Math.min(64 * MiB, Math.floor(size / PAGE) * PAGE);
  const pages = len / PAGE;
  const off = Math.max(0, Math.min(256 * MiB, Math.floor((size - len) / PAGE) * PAGE)); // away from the start
  const out = { range: len };
  evict(path);
  const f = MappedFile.open(path);
  try {
    // 1. One fault on a cold file: how much does the kernel read?
    for (const advice of ['sequential', 'normal']) {
      const tries = [];
      for (let i = 0; i < 3; i++) {
        f.fadvise('dontneed', off, len);
        f.advise(advice, off, len);
        const v = f.view(off + Math.floor(len / 4 / PAGE) * PAGE, PAGE);
        void v[0];
        MappedFile.detach(v);
        tries.push((await settledResidency(f, off, len)) * PAGE);
        f.advise('dontneed', off, len);
        f.fadvise('dontneed', off, len);
      }
      out[`faultReads_${advice}`] = Math.max(...tries);
      out[`faultReads_${advice}_tries`] = tries;
    }
    f.advise('sequential', off, len);
    // 2. MADV_WILLNEED over 64 MiB: one call, then calls of one readahead window (8 MiB).
    // Readahead is best effort (its page allocations may fail under pressure from other
    // processes), so each is tried three times and the most it read is kept.
    out.willneedOneCallTries = [];
    out.willneedSteppedTries = [];
    for (let i = 0; i < 3; i++) {
      f.fadvise('dontneed', off, len);
      native.advise(f.id, off, len, Madvise.willneed, 0);
      out.willneedOneCallTries.push((await settledResidency(f, off, len)) * PAGE);
      f.fadvise('dontneed', off, len);
      native.advise(f.id, off, len, Madvise.willneed, 8 * MiB);
      out.willneedSteppedTries.push((await settledResidency(f, off, len)) * PAGE);
    }
    out.willneedOneCall = Math.max(...out.willneedOneCallTries);
    out.willneedStepped = Math.max(...out.willneedSteppedTries);
    // 3. Mapped and touched, then: FADV_DONTNEED alone; MADV_DONTNEED alone; MADV_DONTNEED then FADV_DONTNEED.
    const touch = () => {
      const v = f.view(off, len);
      let s = 0;
      for (let i = 0; i < len; i += PAGE) s += v[i];
      MappedFile.detach(v);
      return s;
    };
    f.fadvise('dontneed', off, len);
    touch();
    out.touched = f.residency(off, len).resident / pages;
    f.fadvise('dontneed', off, len);
    out.afterFadviseAlone = f.residency(off, len).resident / pages;
    f.advise('dontneed', off, len);
    out.afterMadviseAlone = f.residency(off, len).resident / pages;
    f.fadvise('dontneed', off, len);
    out.afterMadviseThenFadvise = f.residency(off, len).resident / pages;
  } finally {
    f.close();
  }
  evict(path);
  return out;
}

// ---------------------------------------------------------------- a run --

let cgSerial = 0;
const cgName = () => `pagewise-policies-${process.pid}-${cgSerial++}`;
const liveCgroups = new Set();

/**
 * Prepares the page cache (cold: evicted; warm: evicted, then read once from
 * this process's cgroup), runs pagewise in a fresh child cgroup, measures.
 */
async function measure({ file, state, args, expectLines, command }) {
  const evictedTo = evict(file);
  let warmSeconds = NaN;
  if (state === 'warm') warmSeconds = warmUp(file);
  const residentBefore = residentFraction(file);
  const made = makeChildCgroup(opts.limit, cgName());
  const cg = made.error ? undefined : made;
  if (cg) liveCgroups.add(cg);
  try {
    const io0 = diskReadBytes();
    const r = command ? await runCommand(cg, command[0], command.slice(1), { discardStdout: true }) : await runCommand(cg, NODE, [PAGEWISE, ...args]);
    const m = {
      diskRead: diskReadBytes() - io0,
      state,
      args,
      evictedTo,
      warmSeconds,
      residentBefore,
      cgroup: cg ? `v${cg.version}` : `none: ${made.error}`,
      code: r.code,
      signal: r.signal,
      commandSeconds: r.seconds,
      peak: cg ? cg.peak() : NaN,
      leftCharged: cg ? cg.current() : NaN,
      limitHits: cg ? cg.limitHits() : NaN,
      cgStat: cg ? pickStat(cg.stat()) : {},
      residentAfter: residentFraction(file),
    };
    try {
      m.lines = JSON.parse(r.stdout).lines;
    } catch {
      m.lines = undefined;
    }
    try {
      m.stats = JSON.parse(r.stderr.trim().split('\n').pop());
    } catch {
      m.stats = undefined;
    }
    if (command) m.lines = expectLines; // a reference command: only its exit status is checked
    m.ok = r.code === 0 && m.lines === expectLines;
    if (!m.ok) m.stderrTail = r.stderr.trim().split('\n').slice(-30).join('\n');
    if (!m.ok) m.error = `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}, lines ${m.lines} (wc -l: ${expectLines}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
    return m;
  } finally {
    // Drop what the run left cached (and charged to the child) before removing the cgroup.
    evict(file);
    if (cg) {
      cg.remove();
      liveCgroups.delete(cg);
    }
  }
}

function pickStat(s) {
  // v1 total_* (hierarchical) or v2 names.
  const get = (...keys) => keys.map((k) => s[k]).find((x) => x !== undefined);
  return { cache: get('total_cache', 'file'), rss: get('total_rss', 'anon'), mappedFile: get('total_mapped_file', 'file_mapped') };
}

function cleanupCgroups() {
  for (const cg of liveCgroups) {
    try {
      cg.remove();
    } catch {}
  }
  liveCgroups.clear();
}

// -------------------------------------------------------------- formatting --

const mib = (b) => (Number.isFinite(b) ? (b / MiB).toFixed(0) : '–');
const pct = (x) => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : '–');
const secs = (s) => (Number.isFinite(s) ? s.toFixed(2) : '–');
const gbps = (bytes, s) => (Number.isFinite(s) && s > 0 ? (bytes / s / 1e9).toFixed(2) : '–');
const maxOf = (xs) => (xs.some(Number.isFinite) ? Math.max(...xs.filter(Number.isFinite)) : NaN);

/** One table row from the reps of one configuration. */
function summarize(row, allReps, size) {
  // Figures come from the runs that worked; failures are reported in the answer column.
  const reps = allReps.some((m) => m.ok) ? allReps.filter((m) => m.ok) : allReps;
  const walls = reps.map((m) => m.stats?.wallSeconds ?? (row.reference ? m.commandSeconds : NaN));
  const wall = median(walls);
  const peak = maxOf(reps.map((m) => m.peak));
  const s = reps.find((m) => m.stats)?.stats;
  return {
    ...row,
    chosen: s?.release ?? (row.reference ? '–' : '?'),
    releaseReason: s?.releaseReason ?? '',
    chunkSize: s?.chunkSize,
    wall,
    commandSeconds: median(reps.map((m) => m.commandSeconds)),
    cpu: median(reps.map((m) => (m.stats ? m.stats.cpuSeconds.user + m.stats.cpuSeconds.system : NaN))),
    gbps: Number.isFinite(wall) && wall > 0 ? size / wall / 1e9 : NaN,
    peak,
    peakMin: Math.min(...reps.map((m) => m.peak).filter(Number.isFinite)),
    ofLimit: peak / opts.limit,
    withinBound: Number.isFinite(peak) ? peak <= BOUND_FRACTION * opts.limit : undefined,
    limitHits: maxOf(reps.map((m) => m.limitHits)),
    majorFaults: median(reps.map((m) => m.stats?.pageFaults.major ?? NaN)),
    peakRss: maxOf(reps.map((m) => m.stats?.peakRssBytes ?? NaN)),
    leftCharged: maxOf(reps.map((m) => m.leftCharged)),
    diskRead: median(reps.map((m) => m.diskRead)),
    residentAfter: median(reps.map((m) => m.residentAfter)),
    lines: reps[0]?.lines,
    ok: allReps.every((m) => m.ok),
    reps: allReps,
  };
}

function label(r) {
  if (r.reference) return r.reference;
  const p = r.policy === 'auto' ? `auto → ${r.chosen}` : r.policy;
  return `\`${p}\``;
}

/** The answer column: the lines counted and whether every run got them right (or how it failed). */
function answerCell(r, expectLines) {
  const bad = r.reps.filter((m) => !m.ok);
  if (bad.length === 0) return r.reference ? '(exit 0)' : `${r.lines} ✓`;
  const wrong = bad.filter((m) => m.code === 0);
  const what = wrong.length ? `${wrong.map((m) => m.lines).join(', ')} ≠ ${expectLines}` : `exit ${bad.map((m) => m.code ?? m.signal).join(', ')}`;
  return `**${bad.length} of ${r.reps.length} runs failed: ${what}**`;
}

function markdownTable(rows, expectLines, haveCgroup) {
  const head = [
    'release',
    'file',
    'advice',
    'prefetch',
    'chunk',
    'wall s',
    'GB/s',
    haveCgroup ? 'peak charge MiB' : 'peak charge',
    '% of limit',
    'limit hits',
    'major faults',
    'peak RSS MiB',
    'disk read MiB',
    'cached after',
    'lines',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 4 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    lines.push(
      `| ${[
        label(r),
        r.state,
        r.advice ?? '–',
        r.prefetch ?? '–',
        r.chunkSize ? `${r.chunkSize / MiB} MiB` : '–',
        secs(r.wall),
        Number.isFinite(r.gbps) ? r.gbps.toFixed(2) : '–',
        haveCgroup ? `${mib(r.peak)}${r.withinBound === false ? ' ✗' : ''}` : 'n/a (RSS only)',
        pct(r.ofLimit),
        Number.isFinite(r.limitHits) ? String(r.limitHits) : '–',
        Number.isFinite(r.majorFaults) ? String(Math.round(r.majorFaults)) : '–',
        mib(r.peakRss),
        mib(r.diskRead),
        pct(r.residentAfter),
        answerCell(r, expectLines),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

// ------------------------------------------------------------------- main --

async function main() {
  const startedAt = new Date();
  const load0 = loadAverage();
  const mach = machine();
  const storage = storageOf(opts.tmp);
  const df = spawnSync('df', ['-h', opts.tmp], { encoding: 'utf8' }).stdout?.trim().split('\n').pop() ?? '';
  const probe = makeChildCgroup(opts.limit, cgName());
  const cgroupInfo = probe.error ? { available: false, why: probe.error } : { available: true, version: probe.version, parent: dirname(probe.dir) };
  if (!probe.error) probe.remove();
  log(`machine: ${mach.cpu}, ${mach.cores} cores, ${(mach.ramBytes / GiB).toFixed(1)} GiB, ${mach.kernel}, Node ${mach.node}`);
  log(`temp dir: ${opts.tmp} on ${storage.device}, ${storage.fsType}, read_ahead_kb ${storage.readAheadKb}; df: ${df}`);
  log(`cgroup: ${cgroupInfo.available ? `v${cgroupInfo.version} under ${cgroupInfo.parent}, limit ${mib(opts.limit)} MiB` : `none (${cgroupInfo.why}): RSS only`}`);
  log(`load average: ${load0}`);

  const free = (() => {
    try {
      const s = spawnSync('df', ['-B1', '--output=avail', opts.tmp], { encoding: 'utf8' }).stdout.trim().split('\n').pop();
      return Number(s);
    } catch {
      return NaN;
    }
  })();
  if (Number.isFinite(free) && free < opts.size * 1.1 + 512 * MiB) throw new Error(`not enough space in ${opts.tmp}: ${mib(free)} MiB free, ${mib(opts.size)} MiB needed`);

  const dir = mkdtempSync(join(opts.tmp, 'pagewise-policies-'));
  let exitCode = 0;
  // Whatever ends this process (an error, a signal), leave no cgroup and no data behind.
  const cleanup = () => {
    cleanupCgroups();
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  const onSignal = (signal) => {
    log(`policies: ${signal}, cleaning up`);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const snap = await snapshot(dir);
    log(`measuring a snapshot of the build (${snap.commit || 'no git'}) in ${snap.root}`);
    log(`generating ${mib(opts.size)} MiB in ${dir} ...`);
    const data = generate(dir);
    log(`  ${data.big}: ${data.size} bytes, ${data.copies} copies of ${data.rows / data.copies} rows (${data.genSeconds.toFixed(1)} s)`);
    const wc = wcLines(data.big);
    const wcSmall = wcLines(data.small);
    if (wc.lines !== data.rows) throw new Error(`wc -l says ${wc.lines} lines, the generator wrote ${data.rows}`);
    log(`  wc -l: ${wc.lines} (${wc.seconds.toFixed(2)} s, warm)`);

    log('hint facts (in-process, 64 MiB of the file) ...');
    const facts = await hintFacts(data.big);
    log(`  ${JSON.stringify(facts)}`);

    // The matrix.
    const rows = [];
    for (const policy of opts.policies)
      for (const state of opts.states) for (const advice of opts.advice) rows.push({ policy, state, advice, prefetch: 1 });
    if (!opts.adviceGiven && opts.policies.includes('evict') && opts.states.includes('cold')) rows.push({ policy: 'evict', state: 'cold', advice: 'hugepage', prefetch: 1 });
    if (opts.policies.includes('evict') && opts.states.includes('cold'))
      for (const n of opts.sweep) rows.push({ policy: 'evict', state: 'cold', advice: 'sequential', prefetch: n, sweep: true });
    const threadArgs = opts.threads ? ['--threads', String(opts.threads)] : [];

    const results = [];
    // Reference: plain read(2) of the cold file in the same kind of cgroup (disk speed; what it charges).
    if (opts.states.includes('cold')) {
      const row = { reference: '`cat FILE > /dev/null`', state: 'cold' };
      const reps = [];
      for (let i = 0; i < opts.reps; i++) {
        const m = await measure({ file: data.big, state: 'cold', command: ['cat', data.big], expectLines: wc.lines });
        reps.push(m);
        log(`  cat   cold: ${secs(m.commandSeconds)} s, peak ${mib(m.peak)} MiB, read ${mib(m.diskRead)} MiB, hits ${m.limitHits}${m.ok ? '' : colors.red(`  FAILED: ${m.error}`)}`);
      }
      const r = summarize(row, reps, data.size);
      r.lines = undefined;
      if (!r.ok) exitCode = 1;
      results.push(r);
    }
    for (const row of rows) {
      const args = ['wc', '--lines', '--json', '--stats', data.big, '--release', row.policy, '--advice', row.advice, ...threadArgs];
      if (row.prefetch !== 1) args.push('--prefetch', String(row.prefetch));
      const reps = [];
      for (let i = 0; i < opts.reps; i++) {
        const m = await measure({ file: data.big, state: row.state, args, expectLines: wc.lines });
        reps.push(m);
        log(
          `  ${row.policy.padEnd(5)} ${row.state} ${row.advice.padEnd(10)} prefetch ${row.prefetch}: ${secs(m.stats?.wallSeconds)} s, ` +
            `peak ${mib(m.peak)} MiB, read ${mib(m.diskRead)} MiB, hits ${m.limitHits}, major ${m.stats?.pageFaults.major}, left ${mib(m.leftCharged)} MiB, ` +
            `resident before/after ${pct(m.residentBefore)}/${pct(m.residentAfter)}${m.ok ? '' : colors.red(`  FAILED: ${m.error}`)}`,
        );
      }
      const s = summarize(row, reps, data.size);
      if (!s.ok) exitCode = 1;
      results.push(s);
    }

    // Acceptance 1: defaults, cold, in the cgroup: right answer, peak <= 60% of the limit.
    log('acceptance: cold file, default options ...');
    const accReps = [];
    for (let i = 0; i < opts.reps; i++) {
      accReps.push(await measure({ file: data.big, state: 'cold', args: ['wc', '--lines', '--json', '--stats', data.big, ...threadArgs], expectLines: wc.lines }));
    }
    const acc = summarize({ policy: 'default', state: 'cold', advice: 'default', prefetch: 'default' }, accReps, data.size);
    // Without a cgroup the charge cannot be measured: only the answer is checked.
    acc.pass = cgroupInfo.available ? acc.ok && acc.withinBound === true : acc.ok ? undefined : false;
    const verdict = (p) => (p === undefined ? colors.yellow('charge not measurable (no cgroup)') : p ? colors.green('PASS') : colors.red('FAIL'));
    log(`  peak ${mib(acc.peak)} MiB of ${mib(opts.limit)} (bound ${mib(BOUND_FRACTION * opts.limit)}), ${acc.ok ? 'right answer' : 'WRONG'}: ${verdict(acc.pass)}`);
    if (acc.pass === false) exitCode = 1;

    // Acceptance 2: a 48 MiB file, cold, two runs with default options (in a cgroup): fully resident after.
    log('acceptance: 48 MiB file, two default runs ...');
    const small = await smallFileCheck(data.small, wcSmall.lines);
    log(`  resident ${small.resident}/${small.pages}, release ${small.release}: ${small.pass ? colors.green('PASS') : colors.red('FAIL')}`);
    if (!small.pass) exitCode = 1;

    const load1 = loadAverage();
    const report = {
      startedAt: startedAt.toISOString(),
      commit: snap.commit,
      tmp: opts.tmp,
      machine: mach,
      storage,
      thp: thpSetting(),
      damon: damonReclaim(),
      swapBytes: (() => {
        try {
          return 1024 * Number(/^SwapTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))[1]);
        } catch {
          return NaN;
        }
      })(),
      cgroup: cgroupInfo,
      limit: opts.limit,
      bound: BOUND_FRACTION * opts.limit,
      reps: opts.reps,
      threads: opts.threads ?? mach.cores,
      load: [load0, load1],
      data: { size: data.size, rows: data.rows, copies: data.copies, genSeconds: data.genSeconds, wcSeconds: wc.seconds },
      facts,
      results,
      acceptance: { cold: acc, small },
    };
    const table = markdownTable(results, wc.lines, cgroupInfo.available);
    process.stdout.write(`\n${table}\n\n`);
    process.stdout.write(
      `acceptance: default options, cold ${mib(data.size)} MiB file in a ${mib(opts.limit)} MiB cgroup: peak ${mib(acc.peak)} MiB ` +
        `(bound ${mib(BOUND_FRACTION * opts.limit)} MiB), ${acc.pass === undefined ? 'not measurable' : acc.pass ? 'PASS' : 'FAIL'}; 48 MiB file resident after two runs: ` +
        `${small.resident}/${small.pages} pages, ${small.pass ? 'PASS' : 'FAIL'}\nload average ${load0} -> ${load1}\n`,
    );
    if (opts.jsonOut) writeFileSync(opts.jsonOut, JSON.stringify(report, null, 2));
    if (opts.docs) {
      writeFileSync(DOC, renderDoc(report, table));
      log(`wrote ${relative(process.cwd(), DOC) || DOC}`);
    }
  } finally {
    cleanupCgroups();
    if (opts.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  return exitCode;
}

async function smallFileCheck(file, expectLines) {
  evict(file);
  const cold = residentFraction(file);
  const made = makeChildCgroup(opts.limit, cgName());
  const cg = made.error ? undefined : made;
  if (cg) liveCgroups.add(cg);
  const runs = [];
  try {
    for (let i = 0; i < 2; i++) {
      const r = await runCommand(cg, NODE, [PAGEWISE, 'wc', '--lines', '--json', '--stats', file]);
      let lines;
      let stats;
      try {
        lines = JSON.parse(r.stdout).lines;
        stats = JSON.parse(r.stderr.trim().split('\n').pop());
      } catch {}
      runs.push({ code: r.code, lines, release: stats?.release, releaseReason: stats?.releaseReason, majorFaults: stats?.pageFaults.major, wall: stats?.wallSeconds });
    }
    const f = MappedFile.open(file);
    let res;
    try {
      res = f.residency();
    } finally {
      f.close();
    }
    const peak = cg ? cg.peak() : NaN;
    return {
      size: statSync(file).size,
      coldBefore: cold,
      runs,
      resident: res.resident,
      pages: res.pages,
      release: runs.at(-1)?.release,
      releaseReason: runs.at(-1)?.releaseReason,
      peak,
      pass: runs.every((r) => r.code === 0 && r.lines === expectLines) && res.resident === res.pages,
    };
  } finally {
    evict(file);
    if (cg) {
      cg.remove();
      liveCgroups.delete(cg);
    }
  }
}

// ------------------------------------------------------------------- docs --

function renderDoc(rep, table) {
  const L = rep.limit;
  const R = rep.results;
  const find = (policy, state, advice = 'sequential', prefetch = 1) =>
    R.find((r) => !r.reference && r.policy === policy && r.state === state && r.advice === advice && r.prefetch === prefetch);
  const ref = R.find((r) => r.reference);
  const g = (r) => (r && Number.isFinite(r.gbps) ? `${r.gbps.toFixed(2)} GB/s` : 'not measured');
  const M = (b) => (Number.isFinite(b) ? `${mib(b)} MiB` : 'n/a');
  const m = rep.machine;
  const st = rep.storage;
  const f = rep.facts;
  const acc = rep.acceptance.cold;
  const small = rep.acceptance.small;
  const fileMiB = M(rep.data.size);
  const keepCold = find('keep', 'cold');
  const keepWarm = find('keep', 'warm');
  const unmapCold = find('unmap', 'cold');
  const evictCold = find('evict', 'cold');
  const evictWarm = find('evict', 'warm');
  // Cold evict reading noticeably more than the file: pages read twice.
  const rereads = evictCold !== undefined && evictCold.diskRead - rep.data.size > 0.02 * rep.data.size;
  const autoCold = find('auto', 'cold');
  const autoWarm = find('auto', 'warm');
  const huge = find('evict', 'cold', 'hugepage');
  const sweep = [0, 1, 2, 3, 4].map((n) => find('evict', 'cold', 'sequential', n)).filter(Boolean);
  const have = rep.cgroup.available;
  const chunkMiB = (r) => (r?.chunkSize ? `${r.chunkSize / MiB} MiB` : '?');
  const windowMiB = Number.isFinite(st.readAheadKb) ? st.readAheadKb / 1024 : 8;
  const lines = [];
  const w = (text = '') => lines.push(text);

  w('# Memory: release policies on a file larger than its memory cgroup');
  w();
  w(`Generated by \`node bench/policies.mjs\` (${rep.startedAt.slice(0, 10)}; ${rep.reps} run${rep.reps > 1 ? 's' : ''} per row).`);
  w('It answers the "Larger than RAM" question with measurements: what each `--release` policy');
  w('costs in time and in memory-cgroup charge, on a cold file and on a warm one, and why the');
  w("defaults are what they are. The README's [Memory and larger-than-RAM files](../README.md#memory-and-larger-than-ram-files)");
  w('section describes the policies; this page is the evidence.');
  w();
  w('```sh');
  w('npm run build                                   # the script runs bin/pagewise.cjs -> dist/');
  w('node bench/policies.mjs                         # 3 GiB file, 1 GiB cgroups; writes this page (as root)');
  w('node bench/policies.mjs --size 512MiB --limit 128MiB --no-docs   # quick look');
  w('node bench/policies.mjs --help                  # --reps, --policies, --states, --advice, --prefetch-sweep, ...');
  w('```');
  w();
  w('## What was measured');
  w();
  w(`- **File**: ${fileMiB} of 1BRC text (\`pagewise gen 1brc\`, ${rep.data.copies > 1 ? `${rep.data.copies} copies of a ${rep.data.rows / rep.data.copies}-row part` : 'one part'}; ${rep.data.rows} lines), in \`${rep.tmp ?? opts.tmp}\`.`);
  w(`- **Build**: a copy of \`bin/\`, \`dist/\` and the addon taken when the script started (${rep.commit ? `\`git describe\`: \`${rep.commit}\`` : 'no git'}), so that a rebuild during the run cannot change what is measured.`);
  w(`- **Command**: \`node bin/pagewise.cjs wc --lines --json --stats FILE --release P --advice A\` (\`--prefetch N\` where the row says so), ${rep.threads} threads (the default: every core).`);
  w(
    have
      ? `- **Cgroup**: every run gets a fresh child memory cgroup (v${rep.cgroup.version}, made under the benchmark's own, \`${rep.cgroup.parent}\`) with a limit of ${M(L)}; \`sh\` writes its pid to \`cgroup.procs\` and then execs node, so the run is charged from its first instruction. **Peak charge** is \`${rep.cgroup.version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak'}\`. The acceptance bound is ${Math.round(BOUND_FRACTION * 100)}% of the limit: ${M(rep.bound)}.`
      : `- **Cgroup**: none could be made (${rep.cgroup.why}), so only the runs' own peak RSS is reported: the page-cache charge is not measured.`,
  );
  w("- **cold**: the file's pages are dropped first (`MappedFile.open(FILE).fadvise('dontneed')`, then 0% resident by `residency()`).");
  w('- **warm**: dropped, then read once with `cat FILE > /dev/null` *from the benchmark process\'s own cgroup*, so 100% resident.');
  w('  **A page in the page cache is charged to the cgroup that first read it**: these pages are charged');
  w("  to the parent, not to the run's cgroup, so a warm row's peak charge is only what the run");
  w('  allocated itself (Node, the workers) plus the pages it had to read again. A cgroup that reads');
  w('  the file itself pays for every page it keeps: that is what the cold rows show.');
  w('- **Columns**: *wall s* is `stats.wallSeconds` (the run inside the process: loading the job, the');
  w('  pool, the scan; not Node start-up), *GB/s* is bytes / wall; *limit hits* is `memory.failcnt`');
  w('  (how often a charge hit the limit and the kernel had to reclaim inside the cgroup); *major faults*');
  w('  from `getrusage` (faults that waited for a page: not a measure of I/O volume); *peak RSS* counts');
  w("  mapped file pages too, whoever they are charged to; *disk read* is the run's `read_bytes` from");
  w("  `/proc/self/io` (a reaped child's I/O is added to its parent's), i.e. what it read from the device;");
  w('  *cached after* is the share of the file resident after the run (`mincore`): what the next run');
  w('  finds. The answer is checked against `wc -l`.');
  if (rep.reps > 1) w(`- With ${rep.reps} runs per row: wall and GB/s are medians, peak charge and limit hits the maximum, disk read and faults medians.`);
  w();
  w('## Machine');
  w();
  w(`- ${m.cpu}, ${m.cores} cores${m.avx2 ? ' (AVX2)' : ''}, ${(m.ramBytes / GiB).toFixed(1)} GiB RAM, ${rep.swapBytes > 0 ? `${M(rep.swapBytes)} swap` : 'no swap'}`);
  w(`- ${m.kernel}${m.distro ? `, ${m.distro}` : ''}, Node ${m.node}`);
  w(`- temp dir on ${st.device}, ${st.fsType}, **read_ahead_kb ${Number.isFinite(st.readAheadKb) ? st.readAheadKb : 'unknown'}** (one readahead window = ${windowMiB} MiB)`);
  w(`- transparent huge pages: \`${rep.thp}\``);
  if (rep.damon?.length) {
    const d = rep.damon[0];
    w(
      `- **DAMON proactive reclaim is on** (\`${d.ops}\`, action \`${d.action}\`${Number.isFinite(d.minAge) ? `, regions idle for >= ${d.minAge} aggregation intervals, quota ${M(d.quotaBytes)} / ${d.quotaMs} ms` : ''}):`,
    );
    w('  the kernel pages out cold page cache by itself, so a warm file slowly loses pages while nobody');
    w('  reads it (we saw 10 MiB of a 3 GiB file go in 12 idle seconds). Warm rows can read a little from disk for that reason.');
  }
  w(`- cgroup: ${have ? `v${rep.cgroup.version}` : 'none'}`);
  w(`- load average (1, 5, 15 min) before: ${rep.load[0]}; after: ${rep.load[1]}. Other jobs were running on this`);
  w('  machine, so CPU-bound figures (wall, GB/s) are noisy; the peak charges, disk reads and residency');
  w('  are not CPU-sensitive. For cold throughput, the `cat` row gives the disk\'s speed for plain `read(2)`.');
  w();
  w('## Results');
  w();
  w(`Cold and warm ${fileMiB} file, ${have ? `${M(L)} cgroup` : 'no cgroup'}. ✗ marks a peak above the ${M(rep.bound)} bound.`);
  if (ref) w('The `cat` row is plain `read(2)` of the cold file in the same kind of cgroup: the speed of the disk, and the charge of a reader that leaves its pages cached.');
  w();
  w(table);
  w();
  w('## Acceptance');
  w();
  w(
    `- \`pagewise wc --lines --json\` with **default options** on the cold ${fileMiB} file in a ${M(L)} cgroup: ` +
      `peak charge **${M(acc.peak)}** (${pct(acc.ofLimit)} of the limit; bound ${M(rep.bound)}), answer ${acc.ok ? 'right' : '**wrong**'}, ` +
      `${Number.isFinite(acc.wall) ? `${acc.wall.toFixed(2)} s` : ''}: **${acc.pass === undefined ? 'charge not measurable without a cgroup' : acc.pass ? 'pass' : 'FAIL'}**. ` +
      `The run chose \`${acc.chosen}\`: "${acc.releaseReason}"; chunk ${chunkMiB(acc)}.`,
  );
  w(
    `- A ${M(small.size)} file, cold, then two runs with default options (in a ${M(L)} cgroup): ` +
      `**${small.resident} of ${small.pages} pages resident** afterwards: **${small.pass ? 'pass' : 'FAIL'}**. ` +
      `${small.runs.every((r) => r.release === small.release) ? 'Both runs' : 'The last run'} chose \`${small.release}\` ("${small.releaseReason}"); the second run took ` +
      `${Number.isFinite(small.runs[1]?.wall) ? `${small.runs[1].wall.toFixed(2)} s` : '?'} with ${small.runs[1]?.majorFaults ?? '?'} major faults (the first: ` +
      `${Number.isFinite(small.runs[0]?.wall) ? `${small.runs[0].wall.toFixed(2)} s` : '?'}, ${small.runs[0]?.majorFaults ?? '?'}).`,
  );
  w();
  w('## What the kernel does with the hints');
  w();
  w(`Measured in the benchmark process on ${M(f.range)} of the file (residency by \`mincore\`, which reports`);
  w('page-cache residency of a file mapping whether or not the page is mapped):');
  w();
  w('| experiment | result |');
  w('|---|---|');
  w(`| one page fault on the cold range, \`MADV_SEQUENTIAL\` | ${M(f.faultReads_sequential)} read in |`);
  w(`| one page fault on the cold range, \`MADV_NORMAL\` | ${M(f.faultReads_normal)} read in (read-around) |`);
  w(`| one \`MADV_WILLNEED\` call over the ${M(f.range)} | ${M(f.willneedOneCall)} read in |`);
  w(`| \`MADV_WILLNEED\` in ${windowMiB} MiB steps over the same range | ${M(f.willneedStepped)} read in |`);
  w(`| range touched through the mapping | ${pct(f.touched)} resident |`);
  w(`| then \`POSIX_FADV_DONTNEED\` alone (pages still mapped) | ${pct(f.afterFadviseAlone)} resident |`);
  w(`| then \`MADV_DONTNEED\` alone | ${pct(f.afterMadviseAlone)} resident (unmapped, still cached and charged) |`);
  w(`| then \`POSIX_FADV_DONTNEED\` after \`MADV_DONTNEED\` | ${pct(f.afterMadviseThenFadvise)} resident |`);
  w();
  w('## Why the defaults are what they are');
  w();
  w('**`auto` evicts only when the file is larger than the memory budget** (the smaller of physical');
  w("memory and the tightest cgroup limit above the process; here the run's cgroup,");
  w(`${M(L)}, so \`auto\` chose \`${autoCold?.chosen ?? acc.chosen}\` for the ${fileMiB} file and \`${small.release}\` for the ${M(small.size)} one).`);
  w();
  w(
    `- A file that fits should stay cached: on the warm file \`keep\` ran at ${g(keepWarm)}, read ${M(keepWarm?.diskRead)} from disk and left ` +
      `${pct(keepWarm?.residentAfter)} of it cached for the next run. \`evict\` on the same warm file ran at ${g(evictWarm)} and left ` +
      `${pct(evictWarm?.residentAfter)} cached: the next run starts cold (${g(evictCold)} here). Evicting a file that fits throws away the cache that makes the next run fast.`,
  );
  w(
    `- A file that does not fit gains little from being kept: at most the limit's worth stays cached (${pct(keepCold?.residentAfter)} of the file after a cold \`keep\` run), ` +
      'and it is the tail, which the next scan from the start reaches last. Meanwhile `keep` drives the cgroup to its limit: peak ' +
      `${M(keepCold?.peak)} (${pct(keepCold?.ofLimit)}), the limit hit ${keepCold?.limitHits ?? '?'} times (reclaim inside the cgroup on nearly every charge), ` +
      `and ${M(keepCold?.leftCharged)} still charged after the process exited: every other process in that cgroup loses its own cache and pays for the reclaim. ` +
      'It does not OOM (clean page cache is reclaimable), and it saves no I/O: a cold `keep` run reads the whole file like any other, and the next run reads most of it again.',
  );
  if (keepCold && evictCold && ref) {
    const slower = evictCold.gbps < 0.9 * keepCold.gbps;
    w(
      `- Cold throughput: \`keep\` ${g(keepCold)}, \`unmap\` ${g(unmapCold)}, \`evict\` ${g(evictCold)}` +
        (huge ? ` (${g(huge)} with \`--advice hugepage\`)` : '') +
        `, plain \`read(2)\` (\`cat\`) ${g(ref)}. ` +
        (slower
          ? `\`evict\` pays for its bound here: it read ${M(evictCold.diskRead)} for the ${fileMiB} file${rereads ? ' (see the known cost below)' : ''} and waited on ` +
            `${Math.round(evictCold.majorFaults)} major faults against ${Math.round(keepCold.majorFaults)} for \`keep\`. `
          : '`evict` costs no throughput here. ') +
        (Math.max(keepCold.gbps, unmapCold?.gbps ?? 0, evictCold.gbps) < 0.7 * ref.gbps
          ? "No mmap scan reaches `cat`'s speed on this virtual disk: a fault-driven scan waits on its reads where `read(2)` keeps its readahead going. "
          : '') +
        'Cold figures on this VM also swing between runs (we saw `cat` anywhere from 0.5 to 1.9 GB/s within an hour), so compare rows of one run, not runs.',
    );
  }
  w(
    `- \`evict\` keeps the charge near the working set: ${M(evictCold?.peak)} cold (${pct(evictCold?.ofLimit)} of the limit), ${M(evictWarm?.peak)} warm, ` +
      `with nothing left charged after the run (${M(evictCold?.leftCharged)}).`,
  );
  w();
  w(
    `**\`unmap\` is not enough.** \`MADV_DONTNEED\` behind the scan drops only this process's page-table entries: peak RSS falls from ` +
      `${M(keepCold?.peakRss)} (\`keep\`, cold) to ${M(unmapCold?.peakRss)}, but the pages stay in the page cache and stay charged: ` +
      `peak charge ${M(unmapCold?.peak)}, limit hits ${unmapCold?.limitHits ?? '?'}, ${M(unmapCold?.leftCharged)} still charged after the exit. RSS is the wrong measure for a mapped file; the cgroup charge is the one that matters.`,
  );
  w();
  w(
    `**\`POSIX_FADV_DONTNEED\` must follow \`MADV_DONTNEED\`.** The kernel's invalidation skips pages that are still mapped: fadvise alone left ` +
      `${pct(f.afterFadviseAlone)} of a touched range resident, madvise alone left ${pct(f.afterMadviseAlone)}, madvise then fadvise ${pct(f.afterMadviseThenFadvise)}. ` +
      'So each worker first zaps its own mappings of the chunk it finished, then fadvises the same range; the engine sweeps the whole file with ' +
      'fadvise once every worker is done. Pages another worker still has mapped are left alone by the kernel, which is what makes the sweep safe.',
  );
  w();
  w(
    `**Chunk size under \`evict\`/\`unmap\`.** The working set is threads x (1 + prefetch) chunks plus one readahead window per thread; the planner caps the chunk ` +
      `so that this stays under a quarter of the budget: the largest power of two <= (budget / (4 x threads) - 8 MiB) / (1 + prefetch), ` +
      `8 MiB being the engine's \`READAHEAD_WINDOW\`${windowMiB === 8 ? ' (this machine\'s read_ahead_kb)' : ` (**this machine's read_ahead_kb is ${st.readAheadKb}**, so the cap and the prefetch steps do not match its window)`}. ` +
      `With a ${M(L)} budget, ${rep.threads} threads and prefetch 1 that is ${chunkMiB(evictCold)} (\`keep\` is not capped: ${chunkMiB(keepCold)}), i.e. ` +
      `${rep.threads} x 2 x ${chunkMiB(evictCold)} + ${rep.threads} x 8 MiB = ${evictCold?.chunkSize ? M(rep.threads * 2 * evictCold.chunkSize + rep.threads * 8 * MiB) : '?'} of file pages at most, ` +
      `plus Node itself (~${M(keepWarm?.peak)}: the warm \`keep\` row, whose file pages are charged elsewhere). Measured: ${M(evictCold?.peak)}. ` +
      'Under `evict` the guard kept past each running chunk (below) can add up to 16 MiB per thread of done chunks\' pages that the cap does not count; ' +
      'with small budgets that is most of the working set (the 96 MiB cgroup test in test/memory.test.ts, 2 threads: 23-28 MiB peak), and the cap stays a quarter of the budget, so there is room.',
  );
  w();
  if (sweep.length > 1) {
    w(
      `**Prefetch 1, in readahead-window steps.** One \`MADV_WILLNEED\` call reads at most one readahead window (${M(f.willneedOneCall)} of ${M(f.range)} above), ` +
        `so the workers issue it in 8 MiB steps (\`prefetchStep\`), or a prefetch of a ${chunkMiB(evictCold)} chunk would read only its first window. ` +
        'Evict, cold, by prefetch depth (the cap divides by 1 + prefetch, rounded down to a power of two, so a deeper prefetch can mean smaller chunks):',
    );
    w();
    w('| prefetch | chunk | wall s | GB/s | peak charge | major faults | disk read |');
    w('|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of sweep) w(`| ${r.prefetch} | ${chunkMiB(r)} | ${secs(r.wall)} | ${g(r).replace(' GB/s', '')} | ${M(r.peak)} | ${Math.round(r.majorFaults)} | ${M(r.diskRead)} |`);
    w();
    const fastest = sweep.reduce((a, b) => (b.wall < a.wall ? b : a));
    const p0 = sweep.find((r) => r.prefetch === 0);
    const p1 = sweep.find((r) => r.prefetch === 1);
    w(
      (p0 && p1
        ? `Prefetch cuts the faults a worker waits on (major faults: ${sweep.map((r) => `${Math.round(r.majorFaults)} at ${r.prefetch}`).join(', ')}): ` +
          'each window already read is a fault that does not block. '
        : '') +
        (fastest.prefetch === 1
          ? 'Prefetch 1 was also the fastest in this run. '
          : `In wall time, prefetch ${fastest.prefetch} was the fastest in this run (${secs(fastest.wall)} s against ${secs(p1?.wall)} s for 1): ` +
            'on this VM the fault savings did not turn into time' +
            (rereads ? ', and with prefetch the scan read more of the file twice (disk read column, see the known cost below). ' : '. ')) +
        'Prefetch 1 is the default as the smallest depth that overlaps reading with scanning; deeper prefetch adds pages in flight ' +
        `and, through the cap, smaller chunks. Its peak charge was ${M(p1?.peak)}` +
        (p0 ? ` against ${M(p0.peak)} without prefetch, whose cap allows ${chunkMiB(p0)} chunks` : '') +
        '. What is not in doubt is the step: a prefetch issued as one call would read one window per chunk and no more.',
    );
    w();
  }
  if (huge) {
    w(
      `**Advice.** \`sequential\` (the default) makes the kernel read ahead of each fault instead of around it (one window either way, see above); \`hugepage\` (\`MADV_HUGEPAGE\`, then sequential) ` +
        `on the cold file: ${g(huge)} vs ${g(evictCold)}, major faults ${Math.round(huge.majorFaults)} vs ${Math.round(evictCold?.majorFaults)}, peak ${M(huge.peak)} vs ${M(evictCold?.peak)}. ` +
        (huge.gbps && evictCold?.gbps && Math.abs(huge.gbps / evictCold.gbps - 1) < 0.15
        ? 'Within the noise of this machine. '
        : `${Math.abs(Math.round(100 * (huge.gbps / evictCold.gbps - 1)))}% ${huge.gbps > evictCold.gbps ? 'faster' : 'slower'} in this run. `) +
      (evictCold && Math.abs(huge.diskRead - evictCold.diskRead) > 0.02 * rep.data.size
        ? `It also read ${huge.diskRead < evictCold.diskRead ? 'less' : 'more'} from disk: ${M(huge.diskRead)} against ${M(evictCold.diskRead)}. `
        : `It read as much from disk: ${M(huge.diskRead)} against ${M(evictCold?.diskRead)}. `) +
      `It stays an opt-in: whether a file's page cache can use huge pages depends on the kernel and the file system (here ${st.fsType}, ${m.kernel}, THP \`${rep.thp}\`).`,
    );
    w();
  }
  const extra = evictCold ? evictCold.diskRead - rep.data.size : NaN;
  if (!rereads && evictCold) {
    w('## `evict` reads each page once, with any number of workers');
    w();
    w(
      `Cold, \`evict\` read ${M(evictCold.diskRead)} from disk for the ${fileMiB} file, and ${M(evictWarm?.diskRead)} on the warm one ` +
        `(\`keep\`: ${M(keepWarm?.diskRead)}). Chunks are handed out in order but finish in any order, and a chunk still running reads past its end: ` +
        `its last faults read ahead one window (${windowMiB} MiB) and its last record may end in the next chunk. So a finished chunk evicts only pages ` +
        'outside the guard of every chunk still running (its own range plus 16 MiB after it), and the chunk whose guard kept pages cached evicts them ' +
        'when it is done; the threads share which chunks are done through a SharedArrayBuffer. (A record whose tail plus readahead reaches further ' +
        'than that guard, i.e. records of many MiB, can still have a few pages read twice.) Before this, a finished chunk evicted its whole range at ' +
        'once, the kernel\'s readahead for a slower neighbour read up to a window of it back in, and `evict` read 3497 MiB for the 3073 MiB file cold ' +
        '(+14%) and 315 MiB of the warm file, with the same peak charge.',
    );
    w();
  }
  if (rereads) {
    w('## Known cost: `evict` reads part of the file twice with several workers');
    w();
    w(
      `Cold, \`evict\` read ${M(evictCold.diskRead)} from disk for a ${fileMiB} file (+${((100 * extra) / rep.data.size).toFixed(0)}%), ` +
        `and on the warm file it read ${M(evictWarm?.diskRead)} although every page was cached (\`keep\` and \`unmap\` read ${M(keepWarm?.diskRead)} there; ` +
        'with `--threads 1` evict read nothing in our checks). Chunks are handed out in order, so the worker on chunk k can finish after ' +
        'the worker on chunk k+1 has finished and evicted its chunk; the kernel\'s readahead for the faults near the end of chunk k then reads up to one ' +
        `window (${windowMiB} MiB) of chunk k+1 back in, and the sweep-behind evicts it again. The sweep-behind (max(16 MiB, 4 chunks) behind each finished chunk) ` +
        'can also evict pages of a slower worker\'s chunk that it has not reached yet. The memory bound holds either way; the cost is extra I/O, ' +
        'and it grows with the number of chunk boundaries a worker can trail a finished neighbour at' +
        (sweep.length > 1 ? ` (disk read by prefetch depth above: ${sweep.map((r) => `${M(r.diskRead)} with prefetch ${r.prefetch} and ${chunkMiB(r)} chunks`).join(', ')})` : '') +
        '. ' +
        'In a one-off experiment with a patched build, leaving each chunk\'s first 16 MiB cached until the previous chunk is done ' +
        '(whichever of the two workers finishes second evicts it) and stopping the sweep below the lowest chunk still in flight ' +
        'brought the reads down to the file size exactly (3158 of 3158 MiB cold, 10-64 MiB warm) at the same peak charge.',
    );
    w();
  }
  return `${lines.join('\n')}\n`;
}

/** --render: the page from a saved report (after a wording change, without measuring again). */
function renderFromJson(file) {
  const rep = JSON.parse(readFileSync(file, 'utf8'));
  const table = markdownTable(rep.results, rep.data.rows, rep.cgroup.available);
  writeFileSync(DOC, renderDoc(rep, table));
  log(`wrote ${relative(process.cwd(), DOC) || DOC} from ${file}`);
  return 0;
}

try {
  process.exitCode = opts.render ? renderFromJson(opts.render) : await main();
} catch (error) {
  cleanupCgroups();
  console.error(colors.red(`policies: ${error.stack ?? error}`));
  process.exitCode = 1;
}
