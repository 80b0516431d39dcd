/**
 * Cluster runs (issue 18) against a real Redis and real `pagewise worker`
 * processes: each answer equals the local run's and an independent
 * reference; a worker SIGKILLed or SIGTERMed mid-run changes nothing; a
 * file that differs on a worker, a job that throws, an interrupted
 * coordinator, no worker at all and a duplicate delivery each end as
 * documented, with nothing left in Redis.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, pagewise, tempDir, writeFile } from './helpers.js';
import { childEnv, emptyQueue, queueLeftovers, startRedis, startWorker, type RedisServer, type WorkerProcess } from './redis.js';
import { commutativeCsvReference, csvWithQuotelessField, generateCsv, orderedCsvReference, pythonRows, referenceRecords } from './fixtures/csv.js';
import { commutativeReference, freqReference, grepCount, grepLines, job, orderedReference, rng, statsReference, wcBinary } from './fixtures/reference.js';

const INTERNAL = Symbol.for('pagewise.internal');
const dir = tempDir('pagewise-cluster-');
const LOCK = '2s';

function text(seed: number, bytes: number, extra = ''): string {
  const next = rng(seed);
  const words = ['alpha', 'beta', 'Hamburg', 'x', 'lorem', 'ipsum', '0123456789', 'zz', 'dolor'];
  const out: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = Math.floor(next() * 12);
    const line = Array.from({ length: n }, () => words[Math.floor(next() * words.length)]).join(next() < 0.2 ? '\t' : ' ');
    const piece = line + (next() < 0.1 ? '\r\n' : '\n');
    out.push(piece);
    size += piece.length;
  }
  // A record longer than a split (300 KB > 256 KiB): the split inside it holds no record start.
  return `${out.join('')}${'long '.repeat(60_000)}line\n${extra}last line without newline Hamburg`;
}

function measurements(seed: number, rows: number): string {
  const next = rng(seed);
  const names = ['Oslo', 'Hamburg', 'Zürich', 'São Paulo', 'A', 'Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch'];
  const out: string[] = [];
  for (let i = 0; i < rows; i++) {
    const t = Math.floor(next() * 1999) - 999;
    out.push(`${names[Math.floor(next() * names.length)]};${t < 0 ? '-' : ''}${Math.floor(Math.abs(t) / 10)}.${Math.abs(t) % 10}\n`);
  }
  return out.join('');
}

const texts = [writeFile(dir, 'a.txt', text(1, 1_500_000)), writeFile(dir, 'b.txt', text(2, 700_000)), writeFile(dir, 'c.txt', text(3, 90_000))];
const statsFile = writeFile(dir, 'measurements.txt', measurements(4, 150_000));
const SPLIT = '256KiB';

let redis: RedisServer;
let workers: WorkerProcess[] = [];
const extra: WorkerProcess[] = [];
/** Every queue this file's runs use. */
const QUEUES = ['pagewise', 'mismatch', 'dup', 'nobody'];
/** What a test started and has not seen end (a run, a coordinator process): ended after the test, pass or fail. */
const loose: (() => Promise<void>)[] = [];

function cluster(queue = 'pagewise', more: Record<string, unknown> = {}): Record<string, unknown> {
  return { url: redis.url, queue, splitSize: SPLIT, ...more };
}

beforeAll(async () => {
  redis = await startRedis();
  workers = await Promise.all(['w1', 'w2', 'w3'].map((name) => startWorker(redis.url, name, ['--threads', '1', '--lock-duration', LOCK])));
});

// A test that fails mid-run must not leave its run's splits to the next test (which would find them in Redis, or wait behind them).
afterEach(async () => {
  for (const end of loose.splice(0)) await end();
  for (const queue of QUEUES) await emptyQueue(redis.client, queue);
});

afterAll(async () => {
  for (const w of [...workers, ...extra]) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  await pagewise.shutdown();
  await redis?.stop();
});

async function local(input: string | string[], jobPath: string, params?: unknown): Promise<unknown> {
  return (await pagewise.runJob(input, jobPath, { params, threads: 2 })).result;
}

async function onCluster(input: string | string[], jobPath: string, params?: unknown, more: Record<string | symbol, unknown> = {}, queue = 'pagewise') {
  return pagewise.runJob(input, jobPath, { params, cluster: cluster(queue), ...more } as never);
}

describe('cluster runs equal local runs', () => {
  it('stats (commutative built-in): the local answer and the reference, over several workers', async () => {
    const params = { sep: 0x3b };
    const progress: { bytesDone: number; bytesTotal: number; chunksDone: number; chunksTotal: number }[] = [];
    const { result, stats } = await onCluster(statsFile, pagewise.builtinJobs.stats, params, { onProgress: (p: (typeof progress)[number]) => progress.push(p) });
    expect(result).toEqual(await local(statsFile, pagewise.builtinJobs.stats, params));
    expect(result).toEqual(statsReference(readFileSync(statsFile)));
    expect(stats.executor).toBe('cluster');
    expect(stats.bytes).toBe(readFileSync(statsFile).length);
    const c = stats.cluster!;
    expect(c.splits).toBe(Math.ceil(readFileSync(statsFile).length / (256 << 10)));
    expect(stats.chunks).toBe(c.splits);
    expect(c.workers.reduce((n, w) => n + w.splits, 0)).toBe(c.splits);
    expect(c.workers.reduce((n, w) => n + w.bytes, 0)).toBe(stats.bytes);
    expect(c.workers.length).toBeGreaterThan(1);
    // Progress counts splits and bytes, and ends complete.
    expect(progress.at(-1)).toMatchObject({ bytesDone: stats.bytes, bytesTotal: stats.bytes, chunksDone: c.splits, chunksTotal: c.splits });
    expect(progress.every((p, i) => i === 0 || p.bytesDone >= progress[i - 1].bytesDone)).toBe(true);
    expect(await queueLeftovers(redis.client, 'pagewise')).toEqual({ jobs: [], keys: [] });
  });

  it('a custom ordered job whose merge is not commutative, over several files: the local answer', async () => {
    const { result, stats } = await onCluster(texts, job('ordered-lines.mjs'));
    expect(result).toEqual(await local(texts, job('ordered-lines.mjs')));
    expect(result).toEqual(orderedReference(texts, 'lines'));
    expect(stats.cluster!.splits).toBe(texts.reduce((n, t) => n + Math.ceil(readFileSync(t).length / (256 << 10)), 0));
  });

  it('the ordered job with chunks smaller than a split (64 KiB), and with the workers reading by pread', async () => {
    for (const more of [{ chunkSize: '64KiB' }, { mode: 'pread' }]) {
      const { result } = await onCluster(texts, job('ordered-lines.mjs'), undefined, more);
      expect(result, JSON.stringify(more)).toEqual(orderedReference(texts, 'lines'));
    }
  });

  it('a custom commutative job over several files: the local answer', async () => {
    const { result } = await onCluster(texts, job('commutative.mjs'));
    expect(result).toEqual(await local(texts, job('commutative.mjs')));
    expect(result).toEqual(commutativeReference(texts));
  });

  it('wc over several files from the CLI: the local output and wc(1); the workers run the native kernel', () => {
    const args = ['wc', ...texts];
    const run = (more: string[]) => spawnSync(process.execPath, [CLI, ...args, ...more], { encoding: 'utf8', env: childEnv() });
    const remote = run(['--cluster', redis.url, '--split-size', SPLIT]);
    const here = run([]);
    expect(remote.stderr).toBe('');
    expect(remote.status).toBe(0);
    expect(remote.stdout).toBe(here.stdout);
    const totals = texts.map(wcBinary);
    expect(remote.stdout.trim().split('\n').at(-1)!.trim().split(/\s+/).slice(0, 3).map(Number)).toEqual([
      totals.reduce((n, t) => n + t.lines, 0),
      totals.reduce((n, t) => n + t.words, 0),
      totals.reduce((n, t) => n + t.bytes, 0),
    ]);
  });

  it('wc, grep --count, grep lines and freq through the library: the local answers', async () => {
    const cases: [string, unknown, (r: unknown) => unknown][] = [
      [pagewise.builtinJobs.wc, { lines: false }, (r) => r],
      [pagewise.builtinJobs.grep, { pattern: 'Hamburg', count: true }, (r) => r],
      [pagewise.builtinJobs.freq, { top: 25 }, (r) => r],
    ];
    for (const [jobPath, params] of cases) {
      const { result, stats } = await onCluster(texts[0], jobPath, params);
      expect(result, jobPath).toEqual(await local(texts[0], jobPath, params));
      if (jobPath !== pagewise.builtinJobs.freq) expect(stats.cluster!.workers.every((w) => w.executor === 'kernel'), jobPath).toBe(true);
    }
    expect((await onCluster(texts[0], pagewise.builtinJobs.wc, { lines: false })).result).toEqual(wcBinary(texts[0]));
    expect(((await onCluster(texts[0], pagewise.builtinJobs.grep, { pattern: 'Hamburg', count: true })).result as { count: number }).count).toBe(
      grepCount('Hamburg', texts[0]),
    );
    expect((await onCluster(texts[0], pagewise.builtinJobs.freq, { top: 25 })).result).toEqual(freqReference(readFileSync(texts[0]), 25));
    // grep's lines stream out through onMerged in file order, as locally.
    const parts: Buffer[] = [];
    const onMerged = (acc: unknown) => {
      const a = acc as { parts: Uint8Array[] };
      for (const p of a.parts) parts.push(Buffer.from(p));
      a.parts.length = 0;
    };
    await onCluster(texts, pagewise.builtinJobs.grep, { pattern: 'Hamburg' }, { onMerged });
    expect(Buffer.concat(parts).equals(Buffer.concat(texts.map((t) => grepLines('Hamburg', t))))).toBe(true);
  });

  it('partials larger than the inline limit travel as files beside the input, and none is left there', async () => {
    const { result } = await onCluster(texts, job('ordered-lines.mjs'), undefined, { [INTERNAL]: { clusterInlineLimit: 0 } });
    expect(result).toEqual(orderedReference(texts, 'lines'));
    expect(readdirSync(dir).filter((n) => n.startsWith('.pagewise-'))).toEqual([]);
  });

  it('--stats names the workers and the splits, and a password in the URL is never printed', () => {
    const url = redis.url.replace('redis://', 'redis://:pw-s3cret-word@');
    const r = spawnSync(process.execPath, [CLI, 'stats', statsFile, '--cluster', url, '--split-size', SPLIT, '--stats'], { encoding: 'utf8', env: childEnv() });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/cluster +redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ queue 'pagewise': \d+ splits of 256 KiB, [23] worker\(s\)/);
    expect(r.stderr).toMatch(/worker +w[123]: \d+ splits/);
    const json = spawnSync(process.execPath, [CLI, 'stats', statsFile, '--cluster', url, '--split-size', SPLIT, '--stats', '--json'], { encoding: 'utf8', env: childEnv() });
    expect(json.status).toBe(0);
    for (const out of [r.stdout, r.stderr, json.stdout, json.stderr]) expect(out).not.toContain('s3cret');
    const refused = spawnSync(process.execPath, [CLI, 'stats', statsFile, '--cluster', 'redis://:pw-s3cret-word@127.0.0.1:1'], { encoding: 'utf8', env: childEnv() });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('(ERR_PAGEWISE_CLUSTER_CONNECT)');
    expect(refused.stderr).toContain('redis://:***@127.0.0.1:1');
    expect(refused.stderr).not.toContain('s3cret');
  });
});

describe('CSV over the cluster: each split guesses its first cut, and the coordinator holds it to the split before', () => {
  const plain = generateCsv(31, 1_500_000);
  const plainFile = writeFile(dir, 'plain.csv', plain.text);
  const PLAIN = readFileSync(plainFile);
  // The quoteless quoted field (640 KB) covers the whole second split: that split proves every cut of its own
  // from a wrong first cut, and only the coordinator's check finds it.
  const trapFile = writeFile(dir, 'trap.csv', csvWithQuotelessField(PLAIN));
  const TRAP = readFileSync(trapFile);
  const splits = (b: Buffer): number => Math.ceil(b.length / (256 << 10));

  it('an ordered job with a header and a commutative job: the local answers and Python, no split run twice', async () => {
    const rows = pythonRows(plainFile);
    const a = await onCluster(plainFile, job('csv-rows-header.mjs'));
    expect((a.result as { rows: string[][] }).rows).toEqual(rows.slice(1));
    // The slices map saw differ (a split's chunks are not the local run's); the header each call got does not.
    expect((a.result as { headers: unknown }).headers).toEqual({ 0: PLAIN.subarray(0, referenceRecords(PLAIN)[0].end).toString() });
    expect(a.stats.cluster).toMatchObject({ splits: splits(PLAIN), redone: 0 });
    const c = await onCluster(plainFile, job('csv-commutative.mjs'));
    expect(c.result).toEqual(commutativeCsvReference([PLAIN]));
    expect(c.stats.cluster).toMatchObject({ splits: splits(PLAIN), redone: 0 });
  });

  it('a split whose guessed first cut is not where the split before ended runs again from a first pass; its wrong attempt is never merged', async () => {
    for (const name of ['csv-ordered.mjs', 'csv-commutative.mjs']) {
      const progress: { bytesDone: number }[] = [];
      const r = await onCluster(trapFile, job(name), undefined, { onProgress: (p: { bytesDone: number }) => progress.push(p) });
      expect(r.result, name).toEqual(name === 'csv-ordered.mjs' ? orderedCsvReference([TRAP], false) : commutativeCsvReference([TRAP]));
      expect(r.stats.cluster!.redone, name).toBeGreaterThanOrEqual(1);
      expect(r.stats.cluster!.splits, name).toBe(splits(TRAP) + r.stats.cluster!.redone);
      expect(r.stats.bytes, name).toBe(TRAP.length);
      expect(progress.at(-1)!.bytesDone, name).toBe(TRAP.length);
      const exact = await onCluster(trapFile, job(name), undefined, { [INTERNAL]: { csvCuts: 'first pass' } });
      expect(exact.result, name).toEqual(r.result);
      expect(exact.stats.cluster!.redone, name).toBe(0);
    }
    expect(await queueLeftovers(redis.client, 'pagewise')).toEqual({ jobs: [], keys: [] });
  });
});

describe('rules and failures', () => {
  it('a chunk size that does not divide the split size, a bad URL and a keyed job are refused before anything is enqueued', async () => {
    await expect(onCluster(texts[0], job('commutative.mjs'), undefined, { chunkSize: '96KiB' })).rejects.toMatchObject({ code: 'ERR_PAGEWISE_INVALID_OPTION', option: 'options.chunkSize' });
    await expect(pagewise.runJob(texts[0], job('commutative.mjs'), { cluster: { url: 'http://:pw@x' } } as never)).rejects.toMatchObject({
      code: 'ERR_PAGEWISE_INVALID_OPTION',
      option: 'options.cluster.url',
      message: expect.not.stringContaining(':pw@'),
    });
    await expect(pagewise.runJob(texts[0], job('commutative.mjs'), { cluster: { url: redis.url, splitSize: '100000' } } as never)).rejects.toMatchObject({
      code: 'ERR_PAGEWISE_INVALID_OPTION',
      option: 'options.cluster.splitSize',
    });
    await expect(onCluster(texts[0], job('keyed.mjs'))).rejects.toMatchObject({ code: 'ERR_PAGEWISE_CLUSTER_UNSUPPORTED', feature: 'keyed' });
    await expect(pagewise.clusterWorker({ url: redis.url, lockDuration: '10ms' })).rejects.toMatchObject({ code: 'ERR_PAGEWISE_INVALID_OPTION', option: 'options.lockDuration' });
    await expect(pagewise.clusterWorker({ url: 'redis://h', queue: 'a:b' })).rejects.toMatchObject({ code: 'ERR_PAGEWISE_INVALID_OPTION', option: 'options.queue' });
    for (const args of [['worker'], ['worker', '--cluster', redis.url, '--lock-duration', 'soon'], ['wc', texts[2], '--split-size', '1MiB'], ['wc', texts[2], '--cluster', redis.url, '--cluster-timeout', 'x']]) {
      const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: childEnv() });
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('(ERR_PAGEWISE_INVALID_OPTION)');
    }
    expect(await queueLeftovers(redis.client, 'pagewise')).toEqual({ jobs: [], keys: [] });
  });

  it('a job that throws on one split fails the run with ERR_PAGEWISE_JOB_FAILED: file, byte range, cause, worker; nothing is left', async () => {
    const needleFile = writeFile(dir, 'needle.txt', text(5, 1_000_000, 'a line with BOOM in it\n'));
    const at = readFileSync(needleFile).indexOf('BOOM');
    const localError = await pagewise.runJob(needleFile, job('throws-on.mjs'), { threads: 2 }).catch((e: unknown) => e);
    const error = (await onCluster(needleFile, job('throws-on.mjs')).catch((e: unknown) => e)) as Record<string, unknown> & { cause: { message: string; code: string } };
    expect(localError).toMatchObject({ code: 'ERR_PAGEWISE_JOB_FAILED', file: needleFile });
    expect(error).toMatchObject({ code: 'ERR_PAGEWISE_JOB_FAILED', file: needleFile, path: needleFile });
    expect(error.worker).toMatch(/^w[123]$/);
    expect(error.start as number).toBeLessThanOrEqual(at);
    expect(error.end as number).toBeGreaterThan(at);
    expect(error.cause).toMatchObject({ message: 'map met the needle', code: 'E_TEST_NEEDLE' });
    expect(await queueLeftovers(redis.client, 'pagewise')).toEqual({ jobs: [], keys: [] });
  });

  it('a file that differs on one worker fails with ERR_PAGEWISE_CLUSTER_FILE_MISMATCH naming the worker and the file', async () => {
    const other = join(dir, 'other');
    mkdirSync(other);
    writeFile(other, 'a.txt', text(9, 1_500_000));
    const w = await startWorker(redis.url, 'odd', ['--threads', '1', '--queue', 'mismatch'], { PAGEWISE_TEST_WORKER_REMAP: `${dir}/=${other}/` });
    extra.push(w);
    const error = await onCluster(texts[0], job('commutative.mjs'), undefined, {}, 'mismatch').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PAGEWISE_CLUSTER_FILE_MISMATCH', worker: 'odd', path: texts[0], size: readFileSync(texts[0]).length });
    // Same size, another mtime: still another file.
    writeFile(other, 'a.txt', readFileSync(texts[0]));
    utimesSync(join(other, 'a.txt'), new Date(1e12), new Date(1e12));
    await expect(onCluster(texts[0], job('commutative.mjs'), undefined, {}, 'mismatch')).rejects.toMatchObject({ code: 'ERR_PAGEWISE_CLUSTER_FILE_MISMATCH', worker: 'odd' });
    expect(await queueLeftovers(redis.client, 'mismatch')).toEqual({ jobs: [], keys: [] });
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('a result delivered twice (a stalled worker finishing late) is counted once', async () => {
    const w = await startWorker(redis.url, 'twice', ['--threads', '1', '--queue', 'dup'], { PAGEWISE_TEST_WORKER_REPUBLISH: '1' });
    extra.push(w);
    const { result, stats } = await onCluster(texts, job('ordered-lines.mjs'), undefined, {}, 'dup');
    expect(result).toEqual(orderedReference(texts, 'lines'));
    expect(stats.cluster!.duplicates).toBeGreaterThanOrEqual(1);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(await queueLeftovers(redis.client, 'dup')).toEqual({ jobs: [], keys: [] });
  });

  it('with no worker connected the coordinator says so, and --cluster-timeout gives up with ERR_PAGEWISE_CLUSTER_TIMEOUT, leaving nothing', async () => {
    const notices: string[] = [];
    const started = Date.now();
    const error = await pagewise
      .runJob(texts[0], job('commutative.mjs'), { cluster: { url: redis.url, queue: 'nobody', splitSize: SPLIT, timeout: '4s', onNotice: (m: string) => notices.push(m) } } as never)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PAGEWISE_CLUSTER_TIMEOUT', queue: 'nobody' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3900);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/no pagewise worker is connected to queue 'nobody'/);
    expect(await queueLeftovers(redis.client, 'nobody')).toEqual({ jobs: [], keys: [] });
  });
});

describe('bullmq and ioredis are optional', () => {
  // A preload that makes bullmq and ioredis unresolvable (as if not installed) and notes in a file when they are asked for.
  const asked = join(dir, 'asked.log');
  const hook = writeFile(
    dir,
    'no-bullmq.cjs',
    `const Module = require('node:module');
const { appendFileSync } = require('node:fs');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'bullmq' || request === 'ioredis') {
    appendFileSync(${JSON.stringify(asked)}, request + ' ');
    const error = new Error("Cannot find module '" + request + "'");
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolve.call(this, request, ...rest);
};
`,
  );
  const run = (args: string[]) => {
    writeFile(dir, 'asked.log', '');
    const r = spawnSync(process.execPath, ['--require', hook, CLI, ...args], { encoding: 'utf8', env: childEnv(), cwd: dir });
    return { ...r, asked: readFileSync(asked, 'utf8') };
  };

  it('--version, --help and a local run never ask for them', () => {
    for (const args of [['--version'], ['--help'], ['wc', texts[2]], ['worker', '--help']]) {
      const r = run(args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.asked).toBe('');
    }
  });

  it('without them a cluster run and a worker fail with ERR_PAGEWISE_CLUSTER_UNAVAILABLE, saying what to install', () => {
    for (const args of [['wc', texts[2], '--cluster', redis.url], ['worker', '--cluster', redis.url]]) {
      const r = run(args);
      expect(r.status, r.stderr).toBe(1);
      expect(r.asked).toContain('bullmq');
      expect(r.stderr).toContain('npm install bullmq ioredis (ERR_PAGEWISE_CLUSTER_UNAVAILABLE)');
    }
  });
});

describe('workers that die, stop, and a coordinator interrupted', () => {
  // About 23 splits of one 64 KiB chunk each, 150 ms per chunk: a second or two on three workers.
  const slowFile = writeFile(dir, 'slow.txt', text(6, 24 * 64 * 1024 - 400_000));
  const slow = { ms: 150 };
  const slowCluster = (queue = 'pagewise') => ({ cluster: { ...cluster(queue), splitSize: '64KiB' }, params: slow });
  let generation = 0;

  // Three live workers for each test: one that a test killed is replaced here, whether the test passed or not.
  beforeEach(async () => {
    generation++;
    workers = await Promise.all(
      workers.map((w, i) => (w.child.exitCode === null && w.child.signalCode === null ? w : startWorker(redis.url, `w${i + 1}r${generation}`, ['--threads', '1', '--lock-duration', LOCK]))),
    );
  });

  /**
   * Starts the slow job on the cluster with its first mapped slice held (see
   * cluster-slow.mjs), and resolves once a worker holds it: that worker is
   * known to be mid-split until the hold is released or the worker dies.
   * Which worker takes which split is the queue's business, so the test
   * learns the holder from the pid the job writes.
   */
  async function runWithHeldSplit(name: string) {
    const hold = { marker: join(dir, `${name}.held`), release: join(dir, `${name}.release`) };
    const stop = new AbortController();
    const run = pagewise.runJob(slowFile, job('cluster-slow.mjs'), { ...slowCluster(), params: { ...slow, hold }, signal: stop.signal } as never);
    loose.push(async () => {
      writeFile(dir, `${name}.release`, '');
      stop.abort();
      await run.catch(() => {});
    });
    const deadline = Date.now() + 20_000;
    while (!existsSync(hold.marker)) {
      if (Date.now() > deadline) throw new Error('no worker took a split');
      await new Promise((r) => setTimeout(r, 20));
    }
    const pid = Number(readFileSync(hold.marker, 'utf8'));
    const holder = workers.find((w) => w.child.pid === pid);
    if (holder === undefined) throw new Error(`the split is held by pid ${pid}, none of the workers ${workers.map((w) => w.child.pid).join(', ')}`);
    return { run, holder };
  }

  it('a worker SIGKILLed mid-split: its split goes to another worker and the answer is the same', async () => {
    const { run, holder } = await runWithHeldSplit('sigkill');
    holder.child.kill('SIGKILL');
    const { result, stats } = await run;
    expect(result).toEqual(orderedReference([slowFile], 'lines'));
    expect(stats.cluster!.splits).toBe(Math.ceil(readFileSync(slowFile).length / 65536));
    // The killed worker held a split: the queue took it back when its lock expired.
    expect(stats.cluster!.stalled).toBeGreaterThanOrEqual(1);
    expect(await holder.exited).toBe('SIGKILL');
    expect(await queueLeftovers(redis.client, 'pagewise')).toEqual({ jobs: [], keys: [] });
  });

  it('a worker SIGTERMed mid-split hands it back and exits 0 promptly; the run finishes with the same answer', async () => {
    const { run, holder } = await runWithHeldSplit('sigterm');
    const stopped = Date.now();
    holder.child.kill('SIGTERM');
    expect(await holder.exited).toBe(0);
    expect(Date.now() - stopped).toBeLessThan(4000);
    expect(holder.log()).toMatch(/split \d+ of run \w+ handed back to the queue/);
    const { result, stats } = await run;
    expect(result).toEqual(orderedReference([slowFile], 'lines'));
    // Handed back, not left to the stall check: no split waited for a dead worker's lock to expire.
    expect(stats.cluster!.stalled).toBe(0);
    expect(await queueLeftovers(redis.client, 'pagewise')).toEqual({ jobs: [], keys: [] });
  });

  it('the coordinator interrupted with SIGINT exits 130 and leaves no job of its run in Redis', async () => {
    const child = spawn(process.execPath, [CLI, 'run', job('cluster-slow.mjs'), slowFile, '--params', JSON.stringify(slow), '--cluster', redis.url, '--split-size', '64KiB'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(),
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    loose.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    // Wait until splits are running.
    const deadline = Date.now() + 15_000;
    while ((await redis.client.llen('bull:pagewise:active')) === 0) {
      if (Date.now() > deadline) throw new Error(`no split became active: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    expect(await exited, err).toBe(130);
    expect(await queueLeftovers(redis.client, 'pagewise')).toEqual({ jobs: [], keys: [] });
  });

  it('SIGTERM to every worker: each exits 0 promptly', async () => {
    const started = Date.now();
    for (const w of workers) w.child.kill('SIGTERM');
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
