/**
 * The plan on the command line (issue 15: "`--stats` prints it; an
 * `--explain` that prints the plan without running is worth having"):
 * `--explain` prints what `describePlan(planJob(...))` says and exits 0
 * without reading any input (a FIFO nobody writes, a job whose map throws),
 * opening any output or connecting to a cluster; `--stats` adds the plan's
 * lines the run's figures do not repeat, and the run's notes, such as a
 * refused mapping.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, pagewise as lib, tempDir, writeFile } from './helpers.js';
import { pagewise } from './cli-helpers.js';
import { job } from './fixtures/reference.js';

const dir = tempDir('pagewise-cli-plan-');
const text = writeFile(dir, 'text.txt', Array.from({ length: 20_000 }, (_, i) => `line ${i} Hamburg;${i % 10}.5`).join('\n') + '\n');

afterAll(async () => {
  await lib.shutdown();
});

function fifo(name: string): string {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
}

/** The CLI with a deadline: a run that read the FIFO would wait for a writer forever. */
function timed(args: string[], env: NodeJS.ProcessEnv = {}) {
  const started = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE_EXTRA_CA_CERTS: '', ...env } });
  return { ...r, ms: performance.now() - started };
}

describe('--explain', () => {
  it('prints describePlan(planJob(...)) of the run and reads nothing: a FIFO nobody writes to returns at once, exit 0', () => {
    const pipe = fifo('nobody-writes');
    for (const args of [
      ['wc', '--explain', pipe],
      ['grep', '--explain', 'x', pipe],
      ['stats', '--explain', pipe],
      ['freq', '--explain', pipe],
      ['run', job('ordered-lines.mjs'), pipe, '--explain'],
    ]) {
      const r = timed(args);
      expect(r.signal, `${args.join(' ')}: killed by the deadline`).toBeNull();
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`^input 0 +${pipe}: stream \\(`, 'm'));
      expect(r.stdout).toMatch(/^executor +\w+ \(/m);
      // No worker, chunk or mapping serves a stream: those lines would describe another run.
      expect(r.stdout).toMatch(/^threads +1 \(every input is a stream: the main thread reads it/m);
      expect(r.stdout).not.toMatch(/^(chunk size|release|prefetch) /m);
    }
    // With a file among them, the file's chunks are planned and said.
    const mixed = timed(['stats', '--explain', pipe, text, '--threads', '2']);
    expect(mixed.stdout).toMatch(/^threads +2 \(/m);
    expect(mixed.stdout).toMatch(/^chunk size +.*, 1 chunks \(/m);
    expect(mixed.stdout).toMatch(/^prefetch +/m);
  });

  it('--stats of a run over standard input names no chunk, worker or release', () => {
    const r = spawnSync('sh', ['-c', `printf 'Oslo;1.0\\nRiga;-2.5\\n' | '${process.execPath}' '${CLI}' stats --stats -`], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('{Oslo=1.0/1.0/1.0, Riga=-2.5/-2.5/-2.5}\n');
    expect(r.stderr).toMatch(/^bytes +19 \(19 B\) in 1 file\(s\)$/m);
    expect(r.stderr).toMatch(/^threads +1 \(the main thread: nothing was read in chunks\)$/m);
    expect(r.stderr).not.toMatch(/^(chunk size|release|prefetch) /m);
  });

  it('is the library’s plan, as text and as JSON', async () => {
    const params = { sep: 0x3b };
    const plan = await lib.planJob(text, lib.builtinJobs.stats, { params, threads: 2, chunkSize: 65536 });
    const r = pagewise(['stats', text, '--explain', '--threads', '2', '--chunk-size', '64KiB']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(lib.describePlan(plan));
    const json = pagewise(['stats', text, '--explain', '--threads', '2', '--chunk-size', '64KiB', '--json']);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(JSON.stringify(plan)));
    // wc runs once per file: a plan for each.
    const two = pagewise(['wc', text, text, '--explain']);
    expect(two.stdout.match(/^job /gm)).toHaveLength(2);
  });

  it('prefetches one chunk per worker thread by default (the next chunks are the other threads\'), 1 on the kernel path, or what is given', async () => {
    for (const threads of [1, 2, 3]) {
      const plan = await lib.planJob(text, lib.builtinJobs.stats, { threads });
      expect([plan.executor, plan.prefetch, plan.prefetchReason]).toEqual(['commutative', threads, 'auto: one per thread']);
    }
    const kernel = await lib.planJob(text, lib.builtinJobs.wc, { threads: 2 });
    expect([kernel.executor, kernel.prefetch, kernel.prefetchReason]).toEqual(['kernel', 1, 'auto: 1 on the kernel path']);
    const given = await lib.planJob(text, lib.builtinJobs.stats, { threads: 2, prefetch: 0 });
    expect([given.prefetch, given.prefetchReason]).toEqual([0, 'given']);
    expect(lib.describePlan(given)).toMatch(/^prefetch +0 chunk\(s\) ahead \(given\)/m);
  });

  it('a job whose map throws is planned, not run; --output is not created; a cluster is not contacted', () => {
    const throws = job('throws-map.mjs');
    const ran = timed(['run', throws, text, '--params', '{"failAt":0}']);
    expect(ran.status).toBe(1);
    expect(ran.stderr).toContain('(ERR_PAGEWISE_JOB_FAILED)');
    const explained = timed(['run', throws, text, '--params', '{"failAt":0}', '--explain']);
    expect(explained.status, explained.stderr).toBe(0);
    expect(explained.stdout).toMatch(/^executor +ordered /m);
    const target = join(dir, 'never-written.txt');
    const out = timed(['run', job('write-lines.mjs'), text, '-o', target, '--explain']);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^output +${target}$`, 'm'));
    expect(existsSync(target)).toBe(false);
    const grepOut = timed(['grep', 'Hamburg', text, '--output', target, '--explain']);
    expect(grepOut.status, grepOut.stderr).toBe(0);
    expect(existsSync(target)).toBe(false);
    // Nothing listens on port 1: a run would fail with ERR_PAGEWISE_CLUSTER_CONNECT.
    const cluster = timed(['stats', text, '--cluster', 'redis://:secret@127.0.0.1:1', '--explain']);
    expect(cluster.status, cluster.stderr).toBe(0);
    expect(cluster.stdout).toMatch(/^executor +remote \(splits read by pagewise workers on queue 'pagewise' at redis:\/\/:\*\*\*@127\.0\.0\.1:1/m);
    expect(cluster.stdout).not.toContain('secret');
  });

  it('bad inputs are still reported (exit 1); tune and demo refuse it with a reason', () => {
    const r = pagewise(['wc', '--explain', text, join(dir, 'missing.txt')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('(ENOENT)');
    expect(r.stdout.match(/^job /gm)).toHaveLength(1);
    for (const args of [['tune', text, '--explain'], ['demo', '--explain']]) {
      const refused = pagewise(args);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/--explain.*\(ERR_PAGEWISE_INVALID_OPTION\)/s);
    }
  });
});

describe('--stats', () => {
  it('a refused mapping: the input is a stream, the note says why, the answer is the same', () => {
    const refused = writeFile(dir, 'refuse-me.txt', 'a b\nc\n');
    const env = { PAGEWISE_TEST_REFUSE_MMAP: 'refuse-me' };
    const r = pagewise(['wc', refused, '--stats'], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(pagewise(['wc', refused]).stdout);
    expect(r.stderr).toMatch(new RegExp(`^input 0 +${refused}: stream, 6 B \\(its mapping was refused \\(mmap failed\\): read sequentially\\)$`, 'm'));
    expect(r.stderr).toContain(`\nnote             '${refused}': its mapping was refused (mmap failed): read sequentially\n`);
    expect(r.stderr).toMatch(/^executor +kernel \(/m);
    expect(r.stderr).toMatch(/^job +.*wc\.js/m);
    // Not said twice: the run's own threads line stays, the plan's is left out; nothing was
    // mapped in the end, so no release line.
    expect(r.stderr.match(/^threads /gm)).toHaveLength(1);
    expect(r.stderr).toMatch(/^threads +1 \(the main thread: nothing was read in chunks\)$/m);
    expect(r.stderr).not.toMatch(/^release /m);
    const json = pagewise(['wc', refused, '--stats', '--json'], { env });
    const stats = JSON.parse(json.stderr.trim().split('\n').at(-1)!);
    expect(stats.notes).toEqual([`'${refused}': its mapping was refused (mmap failed): read sequentially`]);
    expect(stats.inputs).toEqual([{ path: refused, kind: 'stream', reason: 'its mapping was refused (mmap failed): read sequentially' }]);
    expect(stats.plan.executor).toBe('kernel');
    // Without the hook: mapped, no note.
    const mapped = pagewise(['wc', refused, '--stats']);
    expect(mapped.stderr).toMatch(/^input 0 +.*: map, /m);
    expect(mapped.stderr).not.toContain('note ');
  });

  it('standard input alone: the executor line says the map runs on the main thread (it said worker threads)', () => {
    for (const [args, merge] of [[['grep', 'Hamburg;3'], 'each block a partial merged in order'], [['stats'], 'into one accumulator']] as const) {
      for (const flag of ['--stats', '--explain']) {
        const r = pagewise([...args, '-', flag], { input: 'Hamburg;3.5\n' });
        expect(r.status, r.stderr).toBe(0);
        const line = `${r.stdout}${r.stderr}`.split('\n').find((l) => l.startsWith('executor '));
        expect(line, `${args[0]} ${flag}`).toContain(`(every input is a stream: the job's map on the main thread, block by block as the input arrives, ${merge}`);
        expect(line).not.toContain('worker');
      }
    }
    // A file still maps in workers (or, for plain lines, on the kernel path), and says so.
    expect(pagewise(['grep', '-i', 'Hamburg;3', text, '--explain']).stdout).toMatch(/^executor +ordered \(.*: the job's map in worker threads, one task per chunk, merged in file order\)$/m);
    expect(pagewise(['grep', 'Hamburg;3', text, '--explain']).stdout).toMatch(/^executor +kernel \(the job's native kernel runs on libuv's threadpool, no JS worker\)$/m);
  });

  it('the output line: bytes written and where', () => {
    const target = join(dir, 'filtered.txt');
    const r = pagewise(['run', job('write-lines.mjs'), text, '--params', '{"needle":"Hamburg;3"}', '-o', target, '--stats']);
    expect(r.status, r.stderr).toBe(0);
    const expected = execFileSync('grep', ['-F', 'Hamburg;3', text]);
    expect(r.stderr).toContain(`\noutput           ${expected.length} bytes (`);
    expect(r.stderr).toContain(`) to ${target}\n`);
    expect(r.stderr).toMatch(/^output +.*filtered\.txt$/m);
  });
});
