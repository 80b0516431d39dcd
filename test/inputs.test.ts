/**
 * Map or read (issue 13 §1): every input gives the right answer or a clear
 * error. procfs and sysfs files report sizes that are not their contents',
 * a mapping can be refused, /dev/null is empty: each is checked against
 * coreutils (wc, grep) or a plain read, alone and mixed with mapped files.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, pagewise, tempDir, writeFile } from './helpers.js';
import { job, orderedReference } from './fixtures/reference.js';
import { withTimeout } from './fixtures/reliability/support.js';

const dir = tempDir('pagewise-inputs-');
const CPUINFO = '/proc/cpuinfo';
const SYSFS = '/sys/kernel/mm/transparent_hugepage/enabled';
const mapped = writeFile(dir, 'mapped.txt', 'alpha processor beta\ngamma\n'.repeat(5000));
const refused = writeFile(dir, 'refused-mmap.txt', 'one processor\ntwo\nthree processor four\n'.repeat(3000));
const ENV = { ...process.env, NO_COLOR: '1', PAGEWISE_TEST_REFUSE_MMAP: 'refused-mmap' };

function cli(args: string[], env: NodeJS.ProcessEnv = ENV, stdin: 'ignore' | number = 'ignore'): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, stdio: [stdin, 'pipe', 'pipe'] });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** GNU wc's numbers for these files, with its total line (in C.UTF-8, whose word rule pagewise wc follows). */
function gnuWc(files: string[], flags: string[] = []): string[][] {
  return execFileSync('wc', [...flags, ...files], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/));
}

function grepCount(pattern: string, files: string[]): string {
  return spawnSync('grep', ['-c', '-F', '-a', pattern, ...files], { encoding: 'utf8' }).stdout;
}

const words = (out: string): string[][] => out.trim().split('\n').map((line) => line.trim().split(/\s+/));

afterAll(async () => {
  await pagewise.shutdown();
});

describe('files whose size is not their content', () => {
  for (const file of [CPUINFO, SYSFS]) {
    it(`wc ${file} equals GNU wc`, () => {
      const r = cli(['wc', file]);
      expect(r.status, r.stderr).toBe(0);
      expect(words(r.stdout)).toEqual(gnuWc([file]));
    });
  }

  it('grep --count processor /proc/cpuinfo equals grep -c (exit 0)', () => {
    const r = cli(['grep', '--count', 'processor', CPUINFO]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(grepCount('processor', [CPUINFO]));
    expect(Number(r.stdout)).toBeGreaterThan(0);
  });

  it('a custom ordered job over /proc/cpuinfo and a /proc/self file equals a plain read', async () => {
    for (const file of [CPUINFO, '/proc/self/cmdline']) {
      const { result, stats } = await pagewise.runJob(file, job('ordered-lines.mjs'), { threads: 2, chunkSize: 4096 });
      expect(result, file).toEqual(orderedReference([file], 'lines'));
      expect(stats.inputs[0].kind).toBe('stream');
      expect(stats.inputs[0].reason).toMatch(/procfs/);
    }
  });

  it('mixed with mapped files, in any order: rows and total equal GNU wc', () => {
    const files = [mapped, CPUINFO, SYSFS, mapped];
    const r = cli(['wc', ...files]);
    expect(r.status, r.stderr).toBe(0);
    expect(words(r.stdout)).toEqual(gnuWc(files));
  });
});

describe('a file whose mapping is refused is read instead, with the same answer', () => {
  it('wc, wc --lines and grep --count equal coreutils, alone and mixed', () => {
    for (const files of [[refused], [mapped, refused, CPUINFO, mapped]]) {
      expect(words(cli(['wc', ...files]).stdout)).toEqual(gnuWc(files));
      expect(words(cli(['wc', '--lines', ...files]).stdout)).toEqual(gnuWc(files, ['-l']));
      const r = cli(['grep', '--count', 'processor', ...files]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(grepCount('processor', files));
    }
  });

  it('a custom job gives the plain read\'s answer, and stats say why the file was read', async () => {
    process.env.PAGEWISE_TEST_REFUSE_MMAP = 'refused-mmap';
    try {
      for (const files of [[refused], [mapped, refused, mapped]]) {
        const { result, stats } = await pagewise.runJob(files, job('ordered-lines.mjs'), { threads: 2, chunkSize: 4096 });
        expect(result).toEqual(orderedReference(files, 'lines'));
        const input = stats.inputs[files.indexOf(refused)];
        expect(input.kind).toBe('stream');
        expect(input.reason).toMatch(/mmap failed/);
        expect(stats.notes.join('\n')).toContain(refused);
      }
      // mode: 'mmap' still fails loudly.
      await expect(pagewise.runJob(refused, job('ordered-lines.mjs'), { mode: 'mmap' })).rejects.toMatchObject({ code: 'ENODEV', syscall: 'mmap' });
    } finally {
      delete process.env.PAGEWISE_TEST_REFUSE_MMAP;
    }
  });
});

describe('streams', () => {
  it('stats over a generated file behind a FIFO equals stats over the file mapped', async () => {
    const data = join(dir, 'm.txt');
    expect(cli(['gen', '1brc', data, '--rows', '200000']).status).toBe(0);
    const direct = cli(['stats', data]);
    expect(direct.status, direct.stderr).toBe(0);
    const fifo = join(dir, 'm.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `cat '${data}' > '${fifo}'`]);
    const child = spawn(process.execPath, [CLI, 'stats', fifo], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const code = await withTimeout(new Promise<number | null>((resolve) => child.on('close', resolve)), 30_000, 'stats over a FIFO');
    writer.kill();
    expect(code).toBe(0);
    expect(out).toBe(direct.stdout);
  });

  it('/dev/null is an empty input, and so is /dev/stdin when stdin is /dev/null', () => {
    expect(words(cli(['wc', '/dev/null']).stdout)).toEqual(gnuWc(['/dev/null']));
    const fd = openSync('/dev/null', 'r');
    const r = cli(['wc', '/dev/stdin'], ENV, fd);
    expect(r.status, r.stderr).toBe(0);
    expect(words(r.stdout)).toEqual([['0', '0', '0', '/dev/stdin']]);
  });

  it('devices that never end still need maxBytes', async () => {
    await expect(pagewise.runJob('/dev/zero', pagewise.builtinJobs.wc)).rejects.toMatchObject({ code: 'ERR_PAGEWISE_UNBOUNDED_INPUT' });
    const { result } = await pagewise.runJob('/dev/zero', pagewise.builtinJobs.wc, { maxBytes: 1 << 20 });
    expect(result).toMatchObject({ lines: 0, bytes: 1 << 20 });
  });

  it('a real empty file still counts as empty (read, one read of 0 bytes)', async () => {
    const empty = writeFile(dir, 'empty.txt', '');
    const { result, stats } = await pagewise.runJob(empty, pagewise.builtinJobs.wc);
    expect(result).toEqual({ lines: 0, words: 0, bytes: 0 });
    expect(stats.inputs[0].kind).toBe('stream');
    expect(readFileSync(empty).length).toBe(0);
  });
});
