/**
 * Files that change size under a run: truncated (pages past the new end raise
 * SIGBUS, which the addon repairs with zero pages and counts) or grown. The
 * run must fail with ERR_PAGEWISE_FILE_TRUNCATED, never crash the process and
 * never report the zeros as data.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { appendFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pagewise, tempDir, writeFile } from './helpers.js';
import { native } from '../dist/src/native.js';
import { LINE, fixture, linesBuffer, sleep, spawnCli, waitFor, waitForFile, withTimeout } from './fixtures/reliability/support.js';

const dir = tempDir('pagewise-truncation-');
const SIZE = 64 << 20;
const CONTENT = linesBuffer(SIZE);
const NEW_SIZE = 1_000_000;
const PAGE = pagewise.PAGE_SIZE;

const JOBS = [
  ['an ordered', fixture('slow-pages.mjs')],
  ['a commutative', fixture('slow-pages-commutative.mjs')],
] as const;

let serial = 0;
/** A fresh 64 MiB line file and a path for the job's "started" marker. */
function freshFile(): { file: string; started: string } {
  const n = serial++;
  const file = join(dir, `big-${n}.txt`);
  writeFileSync(file, CONTENT);
  return { file, started: join(dir, `started-${n}`) };
}

/** Waits until every mapping the runs made is gone (views are finalized asynchronously). */
async function expectNoMappings(): Promise<void> {
  await waitFor(() => native.stats().mappings === 0, 5000, 'every mapping to be released');
  expect(native.stats()).toEqual({ mappings: 0, views: 0 });
}

afterAll(async () => {
  await pagewise.shutdown();
});

describe('a file truncated during a run (API)', () => {
  it.each(JOBS)('%s job: rejects with ERR_PAGEWISE_FILE_TRUNCATED, sizes and path attached', async (_kind, job) => {
    const { file, started } = freshFile();
    // 64 chunks of 1 MiB, ~16 ms each: about half a second of work on 2 threads.
    const run = pagewise.runJob(file, job, { chunkSize: '1MiB', threads: 2, params: { msPer64k: 1, started } });
    const settled = run.then(
      () => undefined,
      (error: unknown) => error,
    );
    await waitForFile(started);
    await sleep(150);
    truncateSync(file, NEW_SIZE);
    const error = (await withTimeout(settled, 20_000, 'the truncated run')) as Record<string, unknown> | undefined;
    expect(error, 'the run must not succeed over a truncated file').toBeInstanceOf(pagewise.PagewiseError);
    expect(error!.code).toBe('ERR_PAGEWISE_FILE_TRUNCATED');
    expect(error!.path).toBe(file);
    expect(error!.sizeAtStart).toBe(SIZE);
    expect(error!.sizeNow).toBe(NEW_SIZE);
    expect(String(error!.message)).toContain(String(NEW_SIZE));
    await expectNoMappings();
  });

  it.each(JOBS)('%s job: a file that grows during the run is reported with the same code', async (_kind, job) => {
    const { file, started } = freshFile();
    const run = pagewise.runJob(file, job, { chunkSize: '1MiB', threads: 2, params: { msPer64k: 1, started } });
    const settled = run.then(
      () => undefined,
      (error: unknown) => error,
    );
    await waitForFile(started);
    await sleep(150);
    appendFileSync(file, LINE);
    const error = (await withTimeout(settled, 20_000, 'the grown run')) as Record<string, unknown> | undefined;
    expect(error, 'the run must not succeed over a file that grew').toBeInstanceOf(pagewise.PagewiseError);
    expect(error!.code).toBe('ERR_PAGEWISE_FILE_TRUNCATED');
    expect(error!.sizeAtStart).toBe(SIZE);
    expect(error!.sizeNow).toBe(SIZE + LINE.length);
    await expectNoMappings();
  });

  it('a run after a truncated one works, and gives the right answer', async () => {
    const file = writeFile(dir, 'after.txt', linesBuffer(4 << 20));
    const result = await pagewise.mapReduce<{ lines: number; bytes: number }>(file, pagewise.builtinJobs.wc, { threads: 2, chunkSize: '1MiB' });
    expect(result.lines).toBe((4 << 20) / LINE.length);
    expect(result.bytes).toBe(4 << 20);
  });
});

describe('a file truncated during a run (CLI)', () => {
  it.each(JOBS)('%s job: exits 1 with (ERR_PAGEWISE_FILE_TRUNCATED) on stderr, not by a signal', async (_kind, job) => {
    const { file, started } = freshFile();
    // ~1 s of work on 2 threads; truncate well inside it.
    const params = JSON.stringify({ msPer64k: 2, started });
    const { exit } = spawnCli(['run', job, file, '--chunk-size', '1MiB', '--threads', '2', '--params', params]);
    await waitForFile(started);
    await sleep(100);
    truncateSync(file, NEW_SIZE);
    const result = await withTimeout(exit, 20_000, 'the CLI over a truncated file');
    expect(result.signal, `killed by a signal; stderr: ${result.stderr}`).toBeNull();
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('(ERR_PAGEWISE_FILE_TRUNCATED)');
    expect(result.stderr).toMatch(/^pagewise: /);
    expect(result.stdout).toBe('');
  });
});

describe('MappedFile over a truncated file', () => {
  it('reads zeros past the new end from the main thread, counts the faults, and says truncated()', async () => {
    const size = 1 << 20;
    const cut = 100_000;
    const file = writeFile(dir, 'mapped.bin', Buffer.alloc(size, 0x61));
    const f = pagewise.MappedFile.open(file);
    const view = f.view(0, size);
    expect(view[size - 1]).toBe(0x61);
    expect(f.truncated()).toBe(false);

    truncateSync(file, cut);
    expect(f.truncated()).toBe(true);
    // The page holding the new end is zero-filled past it by the kernel; every
    // page after it raises SIGBUS once and is replaced by a zero page.
    expect(view[cut - 1]).toBe(0x61);
    expect(view[cut]).toBe(0);
    let nonZero = 0;
    for (let i = cut; i < size; i += 512) nonZero += view[i] === 0 ? 0 : 1;
    expect(nonZero).toBe(0);
    const pagesPastEnd = size / PAGE - Math.ceil(cut / PAGE);
    expect(native.faults(f.id)).toBe(pagesPastEnd);
    expect(native.state(f.id)).toMatchObject({ size, currentSize: cut, faults: pagesPastEnd });

    // Growing the file back to its old size does not make it whole again.
    truncateSync(file, size);
    expect(f.truncated()).toBe(true);
    expect(view[size - 1]).toBe(0);

    pagewise.MappedFile.detach(view);
    f.close();
    await expectNoMappings();
  });

  it('native kernels that fault inside C++ read zeros too (no crash)', async () => {
    const size = 2 << 20;
    const file = writeFile(dir, 'kernels.bin', Buffer.alloc(size, 0x0a));
    const f = pagewise.MappedFile.open(file);
    const view = f.view();
    truncateSync(file, 3 * PAGE + 10);
    // countByte and indexOfByte walk the whole view, page after page, in C++.
    expect(native.countByte(view, 0x0a)).toBe(3 * PAGE + 10);
    expect(native.indexOfByte(view, 0x0a, 3 * PAGE + 10)).toBe(-1);
    expect(native.faults(f.id)).toBe(size / PAGE - 4);
    // find reads the process-wide mapping, not the view (a mapping of its
    // own): each page past the end faults once more there, counted for the file.
    expect(native.find(f.id, 0x0a, 3 * PAGE + 10, size)).toBe(-1);
    expect(native.faults(f.id)).toBe(2 * (size / PAGE - 4));
    expect(f.truncated()).toBe(true);
    pagewise.MappedFile.detach(view);
    f.close();
    await expectNoMappings();
  });

  it('a truncated file can be mapped again afresh, with its new size', () => {
    const file = writeFile(dir, 'again.bin', Buffer.alloc(64 * PAGE, 1));
    const first = pagewise.MappedFile.open(file);
    truncateSync(file, 8 * PAGE);
    first.close();
    const second = pagewise.MappedFile.open(file);
    try {
      expect(second.size).toBe(8 * PAGE);
      expect(second.truncated()).toBe(false);
    } finally {
      second.close();
      rmSync(file);
    }
  });
});
