/**
 * A keyed run's temporary files: removed after SIGINT and SIGTERM of a
 * process that has no handler of its own (pagewise removes its run
 * directory and lets the signal end the process); left by SIGKILL under a
 * name holding the pid, and removed by the next keyed run in that
 * directory; and a temporary directory that fills up is ENOSPC naming it and
 * --temp-dir, with nothing left behind (a small tmpfs, as root).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pagewise, ROOT, tempDir, writeFile } from './helpers.js';
import { job, rng } from './fixtures/reference.js';

const dir = tempDir('pagewise-keyedtest-cleanup-');

afterAll(async () => {
  await pagewise.shutdown();
});

function distinctWords(name: string, n: number): { path: string; distinct: number } {
  const r = rng(n);
  const words = Array.from({ length: n }, () => `w${Math.floor(r() * 1e9)}`);
  const path = writeFile(dir, name, words.map((w, i) => `${w}${i % 10 === 9 ? '\n' : ' '}`).join(''));
  return { path, distinct: new Set(words).size };
}

const { path: big, distinct } = distinctWords('big.txt', 300_000);

/** A child that runs a spilling keyed job through the API (no signal handler of its own) and says when it has spilled. */
function spawnRun(temp: string): ReturnType<typeof spawn> {
  const script = `
    import * as pw from ${JSON.stringify(join(ROOT, 'dist/src/index.js'))};
    import { readdirSync } from 'node:fs';
    const temp = ${JSON.stringify(temp)};
    const timer = setInterval(() => {
      const [d] = readdirSync(temp);
      if (d !== undefined && readdirSync(temp + '/' + d).length > 0) { process.stdout.write('spilled\\n'); clearInterval(timer); }
    }, 20);
    await pw.runJob(${JSON.stringify(big)}, ${JSON.stringify(job('keyed-slow.mjs'))}, { threads: 2, memoryBudget: 1, tempDir: temp, chunkSize: 16384 });
    process.stdout.write('done\\n');
  `;
  return spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function until(child: ReturnType<typeof spawn>, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(text)) resolve();
    });
    child.on('exit', (code, signal) => reject(new Error(`exited (${code ?? signal}) before '${text}': ${out}`)));
  });
}

function exited(child: ReturnType<typeof spawn>): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

describe('signals', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} of a process without handlers: the run directory goes, the signal ends the process`, async () => {
      const temp = mkdtempSync(join(dir, 'sig-'));
      const child = spawnRun(temp);
      await until(child, 'spilled');
      child.kill(signal);
      const end = await exited(child);
      expect(end.signal).toBe(signal);
      expect(readdirSync(temp)).toEqual([]);
    });
  }

  it('SIGKILL leaves the run directory under a name with the pid; the next keyed run removes it', async () => {
    const temp = mkdtempSync(join(dir, 'kill-'));
    const child = spawnRun(temp);
    await until(child, 'spilled');
    child.kill('SIGKILL');
    await exited(child);
    const left = readdirSync(temp);
    expect(left).toEqual([expect.stringMatching(new RegExp(`^${pagewise.RUN_DIR_PREFIX}${child.pid}-[0-9a-f]+$`))]);
    expect(pagewise.staleRunDirs(temp)).toEqual([join(temp, left[0])]);
    // A directory of a live process is not stale.
    mkdirSync(join(temp, `${pagewise.RUN_DIR_PREFIX}${process.pid}-abc123`));
    const { result } = await pagewise.runJob(big, job('keyed-words.mjs'), { threads: 2, memoryBudget: 1, tempDir: temp });
    await result.close();
    expect(readdirSync(temp)).toEqual([`${pagewise.RUN_DIR_PREFIX}${process.pid}-abc123`]);
  });
});

describe('a full temporary directory', () => {
  const mount = join(dir, 'tmpfs');
  mkdirSync(mount);
  const mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mount]).status === 0;
  afterAll(() => {
    if (mounted) spawnSync('umount', [mount]);
    rmSync(mount, { recursive: true, force: true });
  });

  it('is ENOSPC naming the directory and --temp-dir; nothing is left in it', async (ctx) => {
    if (!mounted) ctx.skip('mounting a tmpfs needs root');
    const error = await pagewise.runJob(big, job('keyed-words.mjs'), { threads: 2, memoryBudget: 1, tempDir: mount }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ENOSPC' });
    expect(String((error as Error).message)).toContain('--temp-dir');
    expect(String((error as Error).message)).toContain(mount);
    expect(readdirSync(mount)).toEqual([]);
    // The same run with room succeeds.
    const { result } = await pagewise.runJob(big, job('keyed-words.mjs'), { threads: 2, memoryBudget: 1, tempDir: dir });
    expect(result.size).toBe(distinct);
    await result.close();
    expect(existsSync(mount)).toBe(true);
  });
});
