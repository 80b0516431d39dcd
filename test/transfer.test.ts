/**
 * info.transfer: buffers a job hands over move to the main thread with the
 * accumulator instead of being copied. Results equal grep's on every path;
 * `moved` (see fixtures/jobs/transfer-core.mjs) proves the buffers left the
 * worker; what must not move is refused with ERR_PAGEWISE_NOT_TRANSFERABLE.
 */
import { describe, expect, it } from 'vitest';
import { pagewise, tempDir, writeFile } from './helpers.js';
import { grepLines, job, rng } from './fixtures/reference.js';

const dir = tempDir();

function text(seed: number, lines: number): string {
  const next = rng(seed);
  const words = ['alpha', 'beta', 'gamma', 'x', 'zz', 'lorem', 'dolor', 'q'];
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const n = Math.floor(next() * 8);
    const line: string[] = [];
    for (let k = 0; k < n; k++) line.push(words[Math.floor(next() * words.length)]);
    out.push(line.join(' '));
  }
  return `${out.join('\n')}\nlast line, no newline, with an e`;
}

const sortedLines = (s: string): string[] => s.split('\n').filter((l) => l !== '').sort();

describe('info.transfer', () => {
  const file = writeFile(dir, 'words.txt', text(7, 40_000));
  const reference = grepLines('e', file).toString('latin1');

  it('ordered: the lines are exact and the buffers moved (1, 2 and 3 threads, several chunk sizes)', async () => {
    for (const threads of [1, 2, 3]) {
      for (const chunkSize of [4096, 65536]) {
        const { result } = await pagewise.runJob(file, job('transfer.mjs'), { threads, chunkSize });
        const r = result as { text: string; moved: number };
        expect(r.text).toBe(reference);
        // A worker sees the buffers of its earlier chunks empty: they left the thread.
        expect(r.moved).toBeGreaterThan(0);
      }
    }
  });

  it('commutative: the lines are exact, and the buffers of the first run are gone from the workers in the second', async () => {
    const runs = [];
    for (let i = 0; i < 2; i++) runs.push(((await pagewise.runJob(file, job('transfer-commutative.mjs'), { threads: 2, chunkSize: 8192 })).result as { text: string; moved: number }));
    for (const r of runs) expect(sortedLines(r.text)).toEqual(sortedLines(reference));
    expect(runs[1].moved).toBeGreaterThan(0);
  });

  it('on the main thread (a stream) it moves nothing and the result is the same', async () => {
    const { result, stats } = await pagewise.runJob(file, job('transfer.mjs'), { mode: 'read' });
    expect(stats.executor).toBe('none');
    expect(result).toEqual({ text: reference, moved: 0 });
  });

  it('the built-in grep job hands its lines over and stays exact', async () => {
    const { result } = await pagewise.runJob(file, pagewise.builtinJobs.grep, { threads: 2, chunkSize: 4096, params: { pattern: 'e' } });
    const r = result as { count: number; parts: Uint8Array[] };
    expect(Buffer.concat(r.parts).toString('latin1')).toBe(reference);
    expect(r.count).toBe(sortedLines(reference).length);
  });

  for (const [misuse, path, name] of [
    ['input', 'transfer.mjs', "the input's bytes"],
    ['shared', 'transfer.mjs', 'a SharedArrayBuffer'],
    ['part', 'transfer.mjs', 'a view of part of a buffer (a small Buffer)'],
    ['header', 'transfer-csv-header.mjs', 'the CSV header'],
  ] as const) {
    it(`refuses ${name} with ERR_PAGEWISE_NOT_TRANSFERABLE, in workers and on the main thread`, async () => {
      const csv = writeFile(dir, `h-${misuse}.csv`, 'a,b\n1,2\n3,e\n');
      const input = misuse === 'header' ? csv : file;
      for (const mode of [undefined, 'read'] as const) {
        await expect(pagewise.runJob(input, job(path), { threads: 2, chunkSize: 4096, mode, params: { misuse } })).rejects.toMatchObject({
          code: 'ERR_PAGEWISE_NOT_TRANSFERABLE',
        });
      }
    });
  }
});
