/**
 * Bad input and failing jobs: each rejects with its code (never a crash or a
 * hang), and the next normal run still works.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pagewise, ROOT, tempDir, writeFile } from './helpers.js';
import { commutativeReference, job, orderedReference, rng, wcBinary } from './fixtures/reference.js';

const dir = tempDir();
const files: Record<string, string> = {};

beforeAll(() => {
  const next = rng(11);
  let text = '';
  while (text.length < 200_000) text += `${'abcdefgh ij'.slice(0, Math.floor(next() * 11))}${Math.floor(next() * 1e6)}\n`;
  files.text = writeFile(dir, 'text.txt', text);
  files.empty = writeFile(dir, 'empty.txt', '');
  files.small = writeFile(dir, 'small.txt', 'one two\nthree four five\nsix');
  files.partial = writeFile(dir, 'partial.bin', new Uint8Array(16 * 300 + 7));
});

afterAll(async () => {
  await pagewise.shutdown();
});

/** After every test, failed or not, a normal run still works and is right. */
afterEach(async () => {
  const expected = wcBinary(files.text);
  for (const threads of [1, 2]) {
    expect(await pagewise.mapReduce(files.text, pagewise.builtinJobs.wc, { threads, chunkSize: 4096 })).toEqual(expected);
    expect(await pagewise.mapReduce(files.text, job('ordered-lines.mjs'), { threads, chunkSize: 4096 })).toEqual(
      orderedReference([files.text], 'lines'),
    );
  }
});

type Err = Error & { code?: string; path?: string; option?: string; index?: number; start?: number; end?: number; [k: string]: unknown };

async function rejection(promise: Promise<unknown>, ms = 20_000): Promise<Err> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no settlement within ${ms} ms (a hang)`)), ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } catch (error) {
    if ((error as Error).message?.includes('(a hang)')) throw error;
    return error as Err;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('expected a rejection');
}

describe('inputs that are not readable regular files', () => {
  it('a missing file: ENOENT with its path', async () => {
    const missing = join(dir, 'no-such-file.txt');
    for (const o of [{}, { mode: 'read' as const }, { mode: 'mmap' as const }]) {
      const error = await rejection(pagewise.mapReduce(missing, pagewise.builtinJobs.wc, o));
      expect(error.code).toBe('ENOENT');
      expect(error.path).toBe(missing);
    }
    // Also when it is one of several.
    const error = await rejection(pagewise.mapReduce([files.small, missing], pagewise.builtinJobs.wc));
    expect(error.code).toBe('ENOENT');
    expect(error.path).toBe(missing);
  });

  it('a directory: ERR_PAGEWISE_NOT_REGULAR_FILE', async () => {
    for (const o of [{}, { mode: 'read' as const }]) {
      const error = await rejection(pagewise.mapReduce(dir, pagewise.builtinJobs.wc, o));
      expect(error.code).toBe('ERR_PAGEWISE_NOT_REGULAR_FILE');
      expect(error.path).toBe(dir);
    }
  });

  it('permission denied: EACCES with its path (checked as an unprivileged user)', (ctx) => {
    // root reads any file, so the check runs in a child that drops to nobody.
    if (process.getuid?.() !== 0) {
      ctx.skip();
      return;
    }
    const secret = writeFile(dir, 'secret.txt', 'hidden\n');
    chmodSync(secret, 0o000);
    const dirMode = statSync(dir).mode & 0o777;
    chmodSync(dir, 0o755);
    try {
      const script = `
        const [dist, file] = process.argv.slice(1);
        process.setgid(65534);
        process.setuid(65534);
        const pw = await import(dist);
        const out = {};
        for (const mode of ['auto', 'read']) {
          try {
            await pw.mapReduce(file, pw.builtinJobs.wc, { threads: 1, mode });
            out[mode] = 'no error';
          } catch (e) {
            out[mode] = { code: e.code, path: e.path };
          }
        }
        try {
          pw.MappedFile.open(file);
          out.open = 'no error';
        } catch (e) {
          out.open = { code: e.code, path: e.path };
        }
        await pw.shutdown();
        console.log(JSON.stringify(out));
      `;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, join(ROOT, 'dist', 'src', 'index.js'), secret], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      if (child.status !== 0 && /EPERM|setuid|setgid/.test(child.stderr)) {
        console.warn(`skipping the EACCES check: cannot drop privileges here (${child.stderr.trim().split('\n')[0]})`);
        ctx.skip();
        return;
      }
      expect(child.status, child.stderr).toBe(0);
      const out = JSON.parse(child.stdout.trim().split('\n').pop()!);
      expect(out).toEqual({
        auto: { code: 'EACCES', path: secret },
        read: { code: 'EACCES', path: secret },
        open: { code: 'EACCES', path: secret },
      });
    } finally {
      chmodSync(dir, dirMode);
    }
  });

  describe('a FIFO', () => {
    let fifo: string;
    beforeAll(() => {
      fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
    });

    /** Starts a writer that copies `source` into the FIFO; resolves when it exits. */
    function feed(source: string): Promise<number | null> {
      const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', source, fifo], { stdio: 'ignore' });
      return new Promise((resolve) => writer.on('exit', resolve));
    }

    it('is read as a stream, with the same results as the file it carries', async () => {
      let writer = feed(files.text);
      const { result, stats } = await pagewise.runJob(fifo, job('ordered-lines.mjs'));
      expect(await writer).toBe(0);
      expect(result).toEqual(orderedReference([files.text], 'lines'));
      expect(stats.mode).toBe('read');

      writer = feed(files.text);
      expect(await pagewise.mapReduce(fifo, pagewise.builtinJobs.wc)).toEqual(wcBinary(files.text));
      await writer;

      writer = feed(files.text);
      expect(await pagewise.mapReduce(fifo, job('commutative.mjs'))).toEqual(commutativeReference([files.text]));
      await writer;
    });

    it('between mapped files, keeps the order given', async () => {
      const writer = feed(files.small);
      const list = [files.text, fifo, files.small, files.text];
      const { result, stats } = await pagewise.runJob(list, job('ordered-lines.mjs'), { threads: 2, chunkSize: 4096, maxOpenFiles: 1 });
      await writer;
      expect(result).toEqual(orderedReference([files.text, files.small, files.small, files.text], 'lines'));
      expect(stats.mode).toBe('mixed');
    });

    it("cannot be mapped: mode 'mmap' rejects with ERR_PAGEWISE_NOT_REGULAR_FILE", async () => {
      const error = await rejection(pagewise.mapReduce(fifo, pagewise.builtinJobs.wc, { mode: 'mmap' }));
      expect(error.code).toBe('ERR_PAGEWISE_NOT_REGULAR_FILE');
    });
  });

  it('/dev/zero: unbounded without maxBytes; with maxBytes it reads exactly that many bytes', async () => {
    const error = await rejection(pagewise.mapReduce('/dev/zero', pagewise.builtinJobs.wc));
    expect(error.code).toBe('ERR_PAGEWISE_UNBOUNDED_INPUT');
    expect(error.path).toBe('/dev/zero');
    const result = await pagewise.mapReduce<{ lines: number; bytes: number }>('/dev/zero', pagewise.builtinJobs.wc, { maxBytes: 1e6 });
    expect(result.bytes).toBe(1e6);
    expect(result.lines).toBe(0);
    const more = await pagewise.mapReduce<{ lines: number; bytes: number }>('/dev/zero', pagewise.builtinJobs.wc, { maxBytes: 9 * 2 ** 20 + 3 });
    expect(more.bytes).toBe(9 * 2 ** 20 + 3);
  });

  it('an empty file: wc zeros, and every job gets its init value', async () => {
    for (const o of [{ threads: 1 }, { threads: 4, chunkSize: 4096 }, { mode: 'read' as const }]) {
      expect(await pagewise.mapReduce(files.empty, pagewise.builtinJobs.wc, o)).toEqual({ lines: 0, words: 0, bytes: 0 });
      expect(await pagewise.mapReduce(files.empty, job('ordered-lines.mjs'), o)).toEqual(orderedReference([files.empty], 'lines'));
      expect(await pagewise.mapReduce(files.empty, job('commutative.mjs'), o)).toEqual(commutativeReference([files.empty]));
    }
  });
});

describe('jobs that cannot be loaded', () => {
  it.each([
    ['a missing module', 'no-such-job.mjs'],
    ['a module lacking merge', 'no-merge.mjs'],
    ['a module with an unknown split', 'bad-split.mjs'],
    ['a module that does not parse', 'syntax-error.mjs'],
  ])('%s: ERR_PAGEWISE_JOB_LOAD', async (_, module) => {
    for (const o of [{ threads: 2 }, { mode: 'read' as const }]) {
      const error = await rejection(pagewise.mapReduce(files.small, job(module), o));
      expect(error.code).toBe('ERR_PAGEWISE_JOB_LOAD');
    }
  });

  it('a directory as the job: ERR_PAGEWISE_JOB_LOAD', async () => {
    const error = await rejection(pagewise.mapReduce(files.small, dir));
    expect(error.code).toBe('ERR_PAGEWISE_JOB_LOAD');
  });
});

describe('jobs that fail', () => {
  it('map throws: ERR_PAGEWISE_JOB_FAILED with the original as cause and the chunk located', async () => {
    const bytes = readFileSync(files.text);
    const chunk2 = pagewise.planChunks(bytes.length, 4096, 'lines', pagewise.bufferFinder(bytes))[2];
    for (const module of ['throws-map.mjs', 'throws-map-commutative.mjs']) {
      for (const threads of [1, 2, 4]) {
        const error = await rejection(pagewise.mapReduce(files.text, job(module), { threads, chunkSize: 4096 }));
        const label = `${module} threads ${threads}`;
        expect(error.code, label).toBe('ERR_PAGEWISE_JOB_FAILED');
        expect(error).toBeInstanceOf(pagewise.JobFailedError);
        expect((error.cause as Error).message).toBe('map exploded on purpose');
        expect((error.cause as { code?: string }).code).toBe('E_TEST_JOB');
        expect(error.index, label).toBe(2);
        expect(error.start, label).toBe(chunk2.start);
        expect(error.end, label).toBe(chunk2.end);
        expect(error.path).toBe(files.text);
      }
    }
    // The same from the sequential path (its first block is slice 0).
    const error = await rejection(pagewise.mapReduce(files.text, job('throws-map.mjs'), { mode: 'read', params: { failAt: 0 } }));
    expect(error.code).toBe('ERR_PAGEWISE_JOB_FAILED');
    expect((error.cause as Error).message).toBe('map exploded on purpose');
    expect([error.index, error.start, error.end]).toEqual([0, 0, bytes.length]);
  });

  it('init throws: ERR_PAGEWISE_JOB_FAILED, in workers, on the main thread and when streaming', async () => {
    for (const [path, o] of [
      [files.text, { threads: 2, chunkSize: 4096 }],
      [files.empty, { threads: 2 }],
      [files.text, { mode: 'read' as const }],
    ] as const) {
      const error = await rejection(pagewise.mapReduce(path, job('throws-init.mjs'), o));
      expect(error.code, JSON.stringify(o)).toBe('ERR_PAGEWISE_JOB_FAILED');
      expect((error.cause as Error).message).toBe('init exploded on purpose');
    }
  });

  it('merge or finish throws: ERR_PAGEWISE_JOB_FAILED', async () => {
    const merge = await rejection(pagewise.mapReduce(files.text, job('throws-merge.mjs'), { threads: 2, chunkSize: 4096 }));
    expect(merge.code).toBe('ERR_PAGEWISE_JOB_FAILED');
    expect((merge.cause as Error).message).toBe('merge exploded on purpose');
    const finish = await rejection(pagewise.mapReduce(files.text, job('throws-finish.mjs'), { threads: 2, chunkSize: 4096 }));
    expect(finish.code).toBe('ERR_PAGEWISE_JOB_FAILED');
    expect((finish.cause as Error).message).toBe('finish exploded on purpose');
  });

  it('a worker that exits in map: ERR_PAGEWISE_WORKER_DIED, not a hang', async () => {
    for (const threads of [1, 2]) {
      const error = await rejection(pagewise.mapReduce(files.text, job('exit-map.mjs'), { threads, chunkSize: 4096 }), 15_000);
      expect(error.code).toBe('ERR_PAGEWISE_WORKER_DIED');
    }
  });

  it('fixed-size records over a file with a trailing partial record: ERR_PAGEWISE_PARTIAL_RECORD', async () => {
    for (const o of [{ threads: 2, chunkSize: 4096 }, { mode: 'read' as const }]) {
      const error = await rejection(pagewise.mapReduce(files.partial, job('ordered-rec16.mjs'), o));
      expect(error.code, JSON.stringify(o)).toBe('ERR_PAGEWISE_PARTIAL_RECORD');
    }
  });

  it('a file truncated during the run: ERR_PAGEWISE_FILE_TRUNCATED, never zeros reported as data', async () => {
    const path = writeFile(dir, 'shrinks.bin', new Uint8Array(16 * 4096).fill(7));
    const error = await rejection(pagewise.mapReduce(path, job('truncate-self.mjs'), { threads: 1, chunkSize: 4096, params: { to: 4096 } }));
    expect(error.code).toBe('ERR_PAGEWISE_FILE_TRUNCATED');
    expect(error.path).toBe(path);
    // Restored, it reads fine again.
    writeFileSync(path, new Uint8Array(16 * 4096).fill(7));
    // 0x07 is not printable: no word in GNU wc's C.UTF-8 rule (one in POSIX byte words).
    expect(await pagewise.mapReduce(path, pagewise.builtinJobs.wc, { threads: 2, chunkSize: 4096 })).toEqual({ lines: 0, words: 0, bytes: 16 * 4096 });
    expect(await pagewise.mapReduce(path, pagewise.builtinJobs.wc, { threads: 2, chunkSize: 4096, params: { locale: 'C' } })).toEqual({ lines: 0, words: 1, bytes: 16 * 4096 });
  });
});

describe('aborting', () => {
  it('an already aborted signal: ERR_PAGEWISE_ABORTED before any work', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    for (const o of [{}, { mode: 'read' as const }]) {
      const error = await rejection(pagewise.mapReduce(files.text, job('slow.mjs'), { ...o, signal: controller.signal }));
      expect(error.code).toBe('ERR_PAGEWISE_ABORTED');
    }
  });

  it.each(['slow.mjs', 'slow-commutative.mjs'])('%s: aborting mid-run rejects with ERR_PAGEWISE_ABORTED within 2 s', async (module) => {
    // 49 chunks x 50 ms on 2 threads: more than a second of work left when aborted.
    const path = writeFile(dir, `to-abort-${module}.txt`, `${'x'.repeat(99)}\n`.repeat(2000));
    const controller = new AbortController();
    const run = pagewise.mapReduce(path, job(module), { threads: 2, chunkSize: 4096, signal: controller.signal });
    let abortedAt = 0;
    setTimeout(() => {
      abortedAt = performance.now();
      controller.abort();
    }, 200);
    const error = await rejection(run, 10_000);
    const took = performance.now() - abortedAt;
    expect(abortedAt).toBeGreaterThan(0);
    expect(error.code).toBe('ERR_PAGEWISE_ABORTED');
    expect(took).toBeLessThan(2000);
  });
});
