/**
 * The keyed shuffle's memory bound, inside a child memory cgroup: a words
 * file with more distinct words than the cgroup's budget lets the tables
 * hold (each word 1-3 times, spread over the file) runs to an exact result,
 * `freq --all` and a custom keyed job alike, spilling, with the cgroup's peak
 * charge at or under 60% of its limit; and SIGINT of the CLI while it
 * spills leaves no temporary file.
 *
 * The full size (20 million distinct words in 1 GiB) takes minutes
 * on two shared cores; it is `node bench/keyed.mjs` (docs/keyed.md has its
 * figures). This case is the same shape at a tenth of the words and half the
 * limit, which still makes every table spill many times.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, pagewise, tempDir } from './helpers.js';
import { job } from './fixtures/reference.js';
import { expectedHashes, writeDistinctWords } from './fixtures/distinct-words.mjs';
import { makeChildCgroup, runCommand } from '../bench/lib/memcg.mjs';

const dir = tempDir('pagewise-keyedtest-memory-');
const MiB = 1 << 20;
const LIMIT = 512 * MiB;
const WORDS = 2_000_000;

afterAll(async () => {
  await pagewise.shutdown();
});

interface Cgroup {
  dir: string;
  peak(): number;
  remove(): void;
  procsFile: string;
}

let serial = 0;
function cgroup(): Cgroup | { error: string } {
  return makeChildCgroup(LIMIT, `pagewise-keyedtest-${process.pid}-${serial++}`) as Cgroup | { error: string };
}

/** Drops a written (and synced) file from the page cache, so its pages are not charged to whoever reads it. */
function makeCold(path: string): boolean {
  const f = pagewise.MappedFile.open(path);
  try {
    f.fadvise('dontneed');
    return f.residency().resident <= f.residency().pages / 100;
  } finally {
    f.close();
  }
}

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

async function runCli(args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string; peak: number }> {
  const cg = cgroup();
  if ('error' in cg) throw new Error(cg.error);
  try {
    const out = await runCommand(cg, process.execPath, [CLI, ...args], { env, discardStdout: true, timeoutMs: 10 * 60_000 });
    return { code: out.code, signal: out.signal, stderr: out.stderr, peak: cg.peak() };
  } finally {
    cg.remove();
  }
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe(`${WORDS} distinct words in a ${LIMIT / MiB} MiB memory cgroup`, () => {
  const probe = cgroup();
  const unavailable = 'error' in probe ? probe.error : undefined;
  if (!('error' in probe)) probe.remove();
  const file = join(dir, 'words.txt');
  let expected: ReturnType<typeof expectedHashes> | undefined;
  const prepare = (): ReturnType<typeof expectedHashes> => {
    if (expected === undefined) {
      writeDistinctWords(file, WORDS);
      expected = expectedHashes(WORDS);
    }
    makeCold(file);
    return expected;
  };

  it('freq --all --json: exact, spilled, peak charge <= 60% of the limit', async (ctx) => {
    if (unavailable) ctx.skip(`no child memory cgroup can be made here: ${unavailable}`);
    const want = prepare();
    const temp = mkdtempSync(join(dir, 'spill-'));
    const out = join(dir, 'freq.jsonl');
    const run = await runCli(['freq', file, '--all', '--json', '--stats', '--output', out, '--temp-dir', temp, '--threads', '2']);
    expect(run.code, run.stderr).toBe(0);
    expect(sha256(out)).toBe(want.freqJson);
    const stats = JSON.parse(run.stderr.trim().split('\n').pop()!) as { keyed: { spilled: boolean; runs: number; keys: number }; memoryBudget: { bytes: number } };
    expect(stats.memoryBudget.bytes).toBe(LIMIT);
    expect(stats.keyed.keys).toBe(WORDS);
    expect(stats.keyed.spilled).toBe(true);
    expect(stats.keyed.runs).toBeGreaterThan(4);
    expect(run.peak, `peak charge ${(run.peak / MiB).toFixed(1)} MiB of ${LIMIT / MiB} MiB`).toBeLessThanOrEqual(0.6 * LIMIT);
    expect(readdirSync(temp)).toEqual([]);
  });

  it('freq --all (text): exact, peak charge <= 60% of the limit', async (ctx) => {
    if (unavailable) ctx.skip(`no child memory cgroup can be made here: ${unavailable}`);
    const want = prepare();
    const out = join(dir, 'freq.txt');
    const run = await runCli(['freq', file, '--all', '--output', out, '--threads', '2']);
    expect(run.code, run.stderr).toBe(0);
    expect(sha256(out)).toBe(want.freqText);
    expect(run.peak, `peak charge ${(run.peak / MiB).toFixed(1)} MiB of ${LIMIT / MiB} MiB`).toBeLessThanOrEqual(0.6 * LIMIT);
  });

  it('a custom keyed job (string keys, emit per word): exact JSON lines, peak charge <= 60% of the limit', async (ctx) => {
    if (unavailable) ctx.skip(`no child memory cgroup can be made here: ${unavailable}`);
    const want = prepare();
    const temp = mkdtempSync(join(dir, 'spill-'));
    const out = join(dir, 'keyed.jsonl');
    const run = await runCli(['run', job('keyed-words.mjs'), file, '--output', out, '--temp-dir', temp, '--threads', '2', '--stats']);
    expect(run.code, run.stderr).toBe(0);
    expect(sha256(out)).toBe(want.keyed);
    expect(run.stderr).toMatch(/spilled/);
    expect(run.peak, `peak charge ${(run.peak / MiB).toFixed(1)} MiB of ${LIMIT / MiB} MiB`).toBeLessThanOrEqual(0.6 * LIMIT);
    expect(readdirSync(temp)).toEqual([]);
  });

  it('SIGINT of pagewise run while it spills: exit 130, no temporary file left', async (ctx) => {
    if (unavailable) ctx.skip(`no child memory cgroup can be made here: ${unavailable}`);
    prepare();
    const temp = mkdtempSync(join(dir, 'spill-'));
    const cg = cgroup();
    if ('error' in cg) throw new Error(cg.error);
    try {
      // A job slow enough (a pause per 64 KiB chunk) that the run is still going once it has spilled.
      const running = runCommand(cg, process.execPath, [CLI, 'run', job('keyed-slow.mjs'), file, '--temp-dir', temp, '--threads', '2', '--chunk-size', '64KiB'], { env });
      let ended: { code: number | null; stderr: string } | undefined;
      void running.then((r: { code: number | null; stderr: string }) => (ended = r));
      // Until the run directory holds a run (a run that ended first fails below).
      for (let i = 0; i < 1200 && ended === undefined; i++) {
        const [d] = readdirSync(temp);
        if (d !== undefined && readdirSync(join(temp, d)).length > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(ended, 'the run ended before it spilled').toBeUndefined();
      expect(readdirSync(temp).length).toBe(1);
      const pid = Number(readFileSync(cg.procsFile, 'utf8').trim().split('\n')[0]);
      process.kill(pid, 'SIGINT');
      const end = await running;
      expect(end.code, end.stderr).toBe(130);
      expect(readdirSync(temp)).toEqual([]);
    } finally {
      cg.remove();
    }
  });
});
