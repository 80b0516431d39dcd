/**
 * The stream executor merges as it reads: an ordered job's accumulator of
 * each block goes to the reducer after the block (so `onMerged` sees the
 * input as it goes and what it drains is not held to the end), with the same
 * result as a mapped run and the reference; a commutative job keeps one
 * accumulator per stream.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pagewise, tempDir, writeFile } from './helpers.js';
import { commutativeReference, grepLines, job, orderedReference } from './fixtures/reference.js';

const dir = tempDir('pagewise-stream-merge-');
// About 13 MB: four blocks of the stream executor's 4 MiB reads of a file.
const text = writeFile(dir, 'text.txt', Array.from({ length: 400_000 }, (_, i) => `${i} ${i % 13 === 0 ? 'Hamburg' : 'Oslo'} ${'x'.repeat(i % 50)}`).join('\n'));
const empty = writeFile(dir, 'empty.txt', '');

afterAll(async () => {
  await pagewise.shutdown();
});

describe("mode: 'read' (the stream executor over a file)", () => {
  it('an ordered job: one merge per block, the result of the mapped run and the reference', async () => {
    let merges = 0;
    const { result, stats } = await pagewise.runJob(text, job('ordered-lines.mjs'), { mode: 'read', onMerged: () => merges++ });
    expect(stats.inputs[0].kind).toBe('stream');
    expect(result).toEqual(orderedReference([text], 'lines'));
    expect(result).toEqual((await pagewise.runJob(text, job('ordered-lines.mjs'), { threads: 2, chunkSize: 65536 })).result);
    expect(merges).toBeGreaterThanOrEqual(4);
  });

  it('grep: onMerged drains the lines block by block, in order, and nothing drained comes back', async () => {
    const drained: Uint8Array[] = [];
    let merges = 0;
    let largest = 0;
    const { result } = await pagewise.runJob(text, pagewise.builtinJobs.grep, {
      mode: 'read',
      params: { pattern: 'Hamburg' },
      onMerged: (acc: unknown) => {
        const a = acc as { parts: Uint8Array[] };
        merges++;
        const held = a.parts.reduce((n, p) => n + p.length, 0);
        largest = Math.max(largest, held);
        drained.push(...a.parts);
        a.parts.length = 0;
      },
    });
    drained.push(...(result as { parts: Uint8Array[] }).parts);
    expect(Buffer.concat(drained).equals(grepLines('Hamburg', text))).toBe(true);
    expect(merges).toBeGreaterThanOrEqual(4);
    // Each merge holds one block's lines, not everything selected so far.
    expect(largest).toBeLessThan(grepLines('Hamburg', text).length / 2);
  });

  it('a commutative job keeps one accumulator per stream: one merge per input', async () => {
    let merges = 0;
    const { result } = await pagewise.runJob([text, text], job('commutative.mjs'), { mode: 'read', onMerged: () => merges++ });
    expect(result).toEqual(commutativeReference([text, text]));
    expect(merges).toBe(2);
  });

  it('an empty stream still contributes its (empty) accumulator, once', async () => {
    let merges = 0;
    const { result } = await pagewise.runJob(empty, job('ordered-lines.mjs'), { mode: 'read', onMerged: () => merges++ });
    expect(result).toEqual(orderedReference([empty], 'lines'));
    expect(merges).toBe(1);
  });
});
