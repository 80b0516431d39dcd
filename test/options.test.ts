/**
 * Options are checked up front: every bad value rejects with
 * ERR_PAGEWISE_INVALID_OPTION naming the option, before any work starts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pagewise, tempDir, writeFile } from './helpers.js';
import { job } from './fixtures/reference.js';

const dir = tempDir();
let file: string;

beforeAll(() => {
  file = writeFile(dir, 'small.txt', 'one two\nthree\n');
});

afterAll(async () => {
  await pagewise.shutdown();
});

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; option?: string; name?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; option?: string };
  }
  throw new Error('expected a rejection');
}

/** The option named in `.option` (e.g. 'options.threads' names 'threads'). */
function names(option: string | undefined, name: string): boolean {
  return option === name || (option ?? '').split('.').pop() === name;
}

const BAD: [string, Record<string, unknown>][] = [
  ['threads', { threads: 0 }],
  ['threads', { threads: 1.5 }],
  ['threads', { threads: -2 }],
  ['threads', { threads: '2' }],
  ['threads', { threads: Number.NaN }],
  ['chunkSize', { chunkSize: 1000 }],
  ['chunkSize', { chunkSize: '12XB' }],
  ['chunkSize', { chunkSize: -1 }],
  ['chunkSize', { chunkSize: 0 }],
  ['chunkSize', { chunkSize: '1000' }],
  ['chunkSize', { chunkSize: 4096.5 }],
  ['chunkSize', { chunkSize: '2GiB' }],
  ['chunkSize', { chunkSize: {} }],
  ['release', { release: 'nope' }],
  ['prefetch', { prefetch: -1 }],
  ['prefetch', { prefetch: 0.5 }],
  ['advice', { advice: 'x' }],
  ['mode', { mode: 'x' }],
  ['signal', { signal: {} }],
  ['signal', { signal: 'abort' }],
  ['maxRecordLength', { maxRecordLength: 0 }],
  ['maxOpenFiles', { maxOpenFiles: 0 }],
  ['maxBytes', { maxBytes: -5 }],
  ['memoryBudget', { memoryBudget: 0 }],
  ['onProgress', { onProgress: 'yes' }],
  ['resourceLimits', { resourceLimits: 5 }],
];

describe('bad option values', () => {
  it.each(BAD)('%s: %j rejects with ERR_PAGEWISE_INVALID_OPTION naming it', async (name, options) => {
    const error = await rejection(pagewise.mapReduce(file, pagewise.builtinJobs.wc, options as never));
    expect(error.code).toBe('ERR_PAGEWISE_INVALID_OPTION');
    expect(error.option, JSON.stringify(error.option)).toSatisfy((o: string) => names(o, name));
    expect(error).toBeInstanceOf(pagewise.PagewiseError);
  });

  it('input: [] rejects naming input', async () => {
    const error = await rejection(pagewise.mapReduce([], pagewise.builtinJobs.wc));
    expect(error.code).toBe('ERR_PAGEWISE_INVALID_OPTION');
    expect(names(error.option, 'input')).toBe(true);
  });

  it('input: an empty path or a non-string rejects naming input', async () => {
    for (const input of ['', [file, ''], [file, 5], 5]) {
      const error = await rejection(pagewise.mapReduce(input as never, pagewise.builtinJobs.wc));
      expect(error.code, JSON.stringify(input)).toBe('ERR_PAGEWISE_INVALID_OPTION');
      expect(names(error.option, 'input')).toBe(true);
    }
  });

  it('job: something that is not a path rejects naming job', async () => {
    const error = await rejection(pagewise.mapReduce(file, 42 as never));
    expect(error.code).toBe('ERR_PAGEWISE_INVALID_OPTION');
    expect(names(error.option, 'job')).toBe(true);
  });

  it('options that are not an object reject', async () => {
    const error = await rejection(pagewise.mapReduce(file, pagewise.builtinJobs.wc, 7 as never));
    expect(error.code).toBe('ERR_PAGEWISE_INVALID_OPTION');
    expect(names(error.option, 'options')).toBe(true);
  });

  it('a bad option is reported before the input is looked at', async () => {
    // The file does not exist: the option error still comes first.
    const error = await rejection(pagewise.mapReduce(`${dir}/does-not-exist`, pagewise.builtinJobs.wc, { threads: 0 }));
    expect(error.code).toBe('ERR_PAGEWISE_INVALID_OPTION');
  });
});

describe('good option values', () => {
  it.each([
    [{ chunkSize: 4096 }],
    [{ chunkSize: '64KiB' }],
    [{ chunkSize: '8M' }],
    [{ chunkSize: 'auto' }],
    [{ threads: 1, prefetch: 0, release: 'keep', advice: 'random' }],
    [{ threads: 3, release: 'evict', advice: 'normal', prefetch: 4 }],
    [{ release: 'unmap', advice: 'hugepage' }],
    [{ mode: 'mmap' }],
    [{ mode: 'read' }],
    [{ signal: new AbortController().signal, onProgress: () => {} }],
    [{ maxRecordLength: 100, maxOpenFiles: 1, memoryBudget: 1 << 20 }],
  ])('%j works and gives the right counts', async (options) => {
    expect(await pagewise.mapReduce(file, pagewise.builtinJobs.wc, options as never)).toEqual({ lines: 2, words: 3, bytes: 14 });
  });

  it('chunkSize and the auto reason are reported in stats', async () => {
    const given = await pagewise.runJob(file, job('commutative.mjs'), { chunkSize: '64KiB', threads: 1 });
    expect(given.stats.chunkSize).toBe(65536);
    const auto = await pagewise.runJob(file, job('commutative.mjs'), { threads: 2 });
    expect(auto.stats.chunkSize).toBe(1 << 20);
    expect(auto.stats.threads).toBe(2);
  });
});

describe('parseSize', () => {
  it.each([
    ['64KiB', 65536],
    ['64kib', 65536],
    ['64K', 65536],
    ['8MiB', 8 * 2 ** 20],
    ['8M', 8 * 2 ** 20],
    ['8MB', 8 * 2 ** 20],
    ['1GiB', 2 ** 30],
    ['65536', 65536],
    ['0', 0],
    [' 4 KiB ', 4096],
    ['1.5KiB', 1536],
    [65536, 65536],
  ] as const)('%j is %d bytes', (text, bytes) => {
    expect(pagewise.parseSize(text)).toBe(bytes);
  });

  it.each(['', 'KiB', '12XB', '-1', '1e3', 'abc', '1 2', '0x10', '1.5', '64 KiBs'] as const)('%j is not a size', (text) => {
    expect(pagewise.parseSize(text)).toBeUndefined();
  });

  it.each([-1, 1.5, Number.NaN, Infinity])('the number %d is not a size', (n) => {
    expect(pagewise.parseSize(n)).toBeUndefined();
  });
});

describe('formatBytes', () => {
  it('formats with binary units', () => {
    expect(pagewise.formatBytes(512)).toBe('512 B');
    expect(pagewise.formatBytes(65536)).toBe('64 KiB');
    expect(pagewise.formatBytes(1.5 * 2 ** 30)).toBe('1.5 GiB');
  });
});
