/**
 * The addon and MappedFile: views show the file's own pages (zero copy), one
 * registry mapping per file per process shared by every thread, views are
 * detached after their chunk, closing is safe while views live, offsets past
 * 4 GiB work, and the binding's tables and test hooks come from the addon.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { closeSync, ftruncateSync, openSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { spawnSync } from 'node:child_process';
import { mappedRss, pagewise, ROOT, tempDir, writeFile } from './helpers.js';
import { Fadvise, Madvise, ScanOps, native } from '../dist/src/native.js';
import { job, rng } from './fixtures/reference.js';

const { MappedFile } = pagewise;
const dir = tempDir();
const PAGE = MappedFile.pageSize;

function randomBytes(seed: number, length: number): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256);
  return out;
}

/** pwrite: changes the file through the file, never through a view. */
function pwrite(path: string, position: number, bytes: Uint8Array): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, position);
  } finally {
    closeSync(fd);
  }
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

afterAll(async () => {
  await pagewise.shutdown();
});

describe('MappedFile', () => {
  it('views show the file, at any offset', () => {
    const content = randomBytes(1, 5 * PAGE + 77);
    const path = writeFile(dir, 'views.bin', content);
    const file = MappedFile.open(path);
    try {
      expect(file.size).toBe(content.length);
      expect(Buffer.from(file.view()).equals(Buffer.from(content))).toBe(true);
      expect(Buffer.from(file.view(PAGE + 123, 3000)).equals(Buffer.from(content.subarray(PAGE + 123, PAGE + 3123)))).toBe(true);
      expect(Buffer.from(file.view(content.length - 1, 1))[0]).toBe(content[content.length - 1]);
      expect(file.view(content.length, 0).byteLength).toBe(0);
    } finally {
      file.close();
    }
  });

  it('zero copy: a write to the file shows through a view made before it', () => {
    const content = randomBytes(2, 3 * PAGE);
    const path = writeFile(dir, 'zero-copy.bin', content);
    const file = MappedFile.open(path);
    try {
      const whole = file.view();
      const middle = file.view(PAGE + 10, 100);
      const at = PAGE + 50;
      const next = (content[at] + 1) & 0xff;
      expect(whole[at]).toBe(content[at]);
      pwrite(path, at, Uint8Array.of(next));
      expect(whole[at]).toBe(next);
      expect(middle[40]).toBe(next);
      // And the last page, at its last byte.
      pwrite(path, 3 * PAGE - 1, Uint8Array.of(0xaa, 0xbb).subarray(0, 1));
      expect(whole[3 * PAGE - 1]).toBe(0xaa);
    } finally {
      file.close();
    }
  });

  it('rejects ranges outside the file and use after close, with codes', () => {
    const path = writeFile(dir, 'ranges.bin', randomBytes(3, 100));
    const file = MappedFile.open(path);
    expect(codeOf(() => file.view(99, 2))).toBe('ERR_PAGEWISE_INVALID_OPTION');
    expect(codeOf(() => file.view(-1, 1))).toBe('ERR_PAGEWISE_INVALID_OPTION');
    expect(codeOf(() => file.view(0.5, 1))).toBe('ERR_PAGEWISE_INVALID_OPTION');
    expect(codeOf(() => file.view(101))).toBe('ERR_PAGEWISE_INVALID_OPTION');
    file.close();
    expect(file.closed).toBe(true);
    expect(codeOf(() => file.view(0, 1))).toBe('ERR_PAGEWISE_CLOSED');
    expect(codeOf(() => MappedFile.open(join(dir, 'missing.bin')))).toBe('ENOENT');
    expect(codeOf(() => MappedFile.open(dir))).toBe('ERR_PAGEWISE_NOT_REGULAR_FILE');
  });

  it('maps an empty file', () => {
    const path = writeFile(dir, 'empty.bin', '');
    const file = MappedFile.open(path);
    expect(file.size).toBe(0);
    expect(file.view().byteLength).toBe(0);
    file.close();
  });

  it('closing while views exist is safe: the views stay readable until detached; close twice is fine', () => {
    const content = randomBytes(4, 4 * PAGE);
    const path = writeFile(dir, 'close-with-views.bin', content);
    const file = MappedFile.open(path);
    const view = file.view(PAGE, 2 * PAGE);
    const sub = view.subarray(10, 20);
    file.close();
    file.close();
    expect(file.closed).toBe(true);
    // Still the file's bytes after close: the memory is kept while a view lives.
    expect(Buffer.from(view).equals(Buffer.from(content.subarray(PAGE, 3 * PAGE)))).toBe(true);
    let sum = 0;
    for (let i = 0; i < view.length; i++) sum += view[i];
    expect(sum).toBe(content.subarray(PAGE, 3 * PAGE).reduce((a, b) => a + b, 0));
    MappedFile.detach(view);
    expect(view.byteLength).toBe(0);
    expect(view.length).toBe(0);
    expect(sub.length).toBe(0);
    expect(view[0]).toBeUndefined();
    // Detaching twice is harmless.
    MappedFile.detach(view);
    expect(view.byteLength).toBe(0);
  });

  it('opening the same file twice shares one mapping; each handle closes on its own', () => {
    const content = randomBytes(5, 2 * PAGE);
    const path = writeFile(dir, 'shared.bin', content);
    const a = MappedFile.open(path);
    const b = MappedFile.open(path);
    expect(b.id).toBe(a.id);
    a.close();
    expect(Buffer.from(b.view(0, 16)).equals(Buffer.from(content.subarray(0, 16)))).toBe(true);
    b.close();
    // Reopened after the last close: a fresh, working mapping.
    const c = MappedFile.open(path);
    expect(Buffer.from(c.view()).equals(Buffer.from(content))).toBe(true);
    c.close();
  });

  it('advice, residency and truncation state', () => {
    const path = writeFile(dir, 'advice.bin', randomBytes(6, 8 * PAGE));
    const file = MappedFile.open(path);
    try {
      expect(file.advise('sequential')).toBe(true);
      expect(file.advise('willneed', 0, 4 * PAGE)).toBe(true);
      expect(file.fadvise('sequential')).toBe(true);
      const r = file.residency();
      expect(r.pages).toBe(8);
      expect(r.resident).toBeGreaterThanOrEqual(0);
      expect(r.resident).toBeLessThanOrEqual(8);
      expect(file.truncated()).toBe(false);
      expect(codeOf(() => file.advise('bogus' as never))).toBe('ERR_PAGEWISE_INVALID_OPTION');
    } finally {
      file.close();
    }
  });

  it('a view asked to populate maps its cached pages at once, and leaves a range not cached to the faults', () => {
    const content = randomBytes(11, 64 * PAGE + 100);
    const path = writeFile(dir, 'populate.bin', content);
    readFileSync(path); // cached
    const m = native.open(path);
    try {
      const populated = native.view(m.id, 0, content.length, true);
      expect(mappedRss(path)).toBeGreaterThanOrEqual(64 * PAGE);
      expect(Buffer.from(populated).equals(Buffer.from(content))).toBe(true);
      native.detach(populated);
      const lazy = native.view(m.id, PAGE, 32 * PAGE);
      expect(mappedRss(path)).toBe(0);
      native.detach(lazy);
      // Out of the page cache: a populate would wait for the disk, so it is not asked for.
      native.fadvise(m.id, 0, m.size, Fadvise.dontneed);
      if (native.residency(m.id, 0, m.size).resident === 0) {
        const cold = native.view(m.id, 0, content.length, true);
        expect(mappedRss(path)).toBe(0);
        expect(Buffer.from(cold).equals(Buffer.from(content))).toBe(true);
        native.detach(cold);
      }
    } finally {
      native.close(m.id);
    }
  });

  it('a file truncated under a view reads as zeros past its new end instead of crashing, and says so', () => {
    const content = randomBytes(7, 4 * PAGE).map((b) => b | 1);
    const path = writeFile(dir, 'truncated.bin', content);
    const file = MappedFile.open(path);
    try {
      const view = file.view();
      expect(view[3 * PAGE]).toBe(content[3 * PAGE]);
      truncateSync(path, PAGE);
      // The page past the new end is gone from the file: this read would be SIGBUS.
      expect(view[3 * PAGE + 5]).toBe(0);
      expect(view[10]).toBe(content[10]);
      expect(file.truncated()).toBe(true);
      MappedFile.detach(view);
    } finally {
      file.close();
    }
  });
});

describe('the binding', () => {
  it('tables come from the addon; test hooks exist only with PAGEWISE_TEST_HOOKS=1 at load', () => {
    expect(Madvise).toEqual(native.constants.madvise);
    expect(Fadvise).toEqual(native.constants.fadvise);
    expect(ScanOps).toEqual({ countByte: 0, countRecordsContaining: 1, countWords: 2, countWcUtf8: 3, csvSummaryChecked: 4, copyRecordsContaining: 5 });
    expect(Object.keys(Madvise)).toEqual(['normal', 'random', 'sequential', 'willneed', 'dontneed', 'populateRead', 'hugepage']);
    const addon = join(ROOT, 'build', 'Release', 'pagewise.node');
    const probe = `const b = require(${JSON.stringify(addon)}); console.log(JSON.stringify([typeof b.testing, typeof b.gateMostActive, typeof b.constants.scanOps]))`;
    for (const [flag, testing] of [[undefined, 'undefined'], ['0', 'undefined'], ['1', 'object']] as const) {
      const env = { ...process.env };
      if (flag === undefined) delete env.PAGEWISE_TEST_HOOKS;
      else env.PAGEWISE_TEST_HOOKS = flag;
      const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout), String(flag)).toEqual([testing, 'undefined', 'object']);
    }
  });
});

describe('views in worker threads', () => {
  const WORKER = `
    const { parentPort, workerData } = require('node:worker_threads');
    const addon = require(workerData.addon);
    const info = addon.open(workerData.path);
    const view = addon.view(info.id, workerData.offset, workerData.length);
    const hex = () => Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('hex');
    parentPort.on('message', (m) => {
      if (m === 'read') parentPort.postMessage({ id: info.id, hex: hex() });
      if (m === 'close') {
        addon.detach(view);
        addon.close(info.id);
        parentPort.postMessage({ closed: true, byteLength: view.byteLength });
        parentPort.close();
      }
    });
    parentPort.postMessage({ ready: true });
  `;

  function ask(worker: Worker, message: string): Promise<{ id: number; hex: string; closed?: boolean; byteLength?: number }> {
    return new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage(message);
    });
  }

  it('two workers and the main thread view the same range of one mapping at the same time', async () => {
    const content = randomBytes(8, 5 * PAGE);
    const path = writeFile(dir, 'threads.bin', content);
    const offset = PAGE + 123;
    const length = 3000;
    const file = MappedFile.open(path);
    const mine = file.view(offset, length);
    const addon = join(ROOT, 'build', 'Release', 'pagewise.node');
    const workers = [0, 1].map(() => new Worker(WORKER, { eval: true, workerData: { addon, path, offset, length } }));
    try {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise((resolve, reject) => {
              w.once('message', resolve);
              w.once('error', reject);
            }),
        ),
      );
      const expected = Buffer.from(content.subarray(offset, offset + length)).toString('hex');
      const first = await Promise.all(workers.map((w) => ask(w, 'read')));
      for (const r of first) {
        // One mapping per process: the workers got the main thread's.
        expect(r.id).toBe(file.id);
        expect(r.hex).toBe(expected);
      }
      expect(Buffer.from(mine).toString('hex')).toBe(expected);
      // A write to the file shows in all three views: they are the same pages.
      pwrite(path, offset + 7, Uint8Array.of(content[offset + 7] ^ 0xff));
      const changed = Buffer.from(readFileSync(path).subarray(offset, offset + length)).toString('hex');
      expect(changed).not.toBe(expected);
      for (const r of await Promise.all(workers.map((w) => ask(w, 'read')))) expect(r.hex).toBe(changed);
      expect(Buffer.from(mine).toString('hex')).toBe(changed);
      for (const r of await Promise.all(workers.map((w) => ask(w, 'close')))) expect(r.byteLength).toBe(0);
      // The workers' close left the main thread's handle and view alone.
      expect(Buffer.from(mine).toString('hex')).toBe(changed);
      expect(Buffer.from(file.view(0, 10)).equals(readFileSync(path).subarray(0, 10))).toBe(true);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
      MappedFile.detach(mine);
      file.close();
    }
  });
});

describe('views inside jobs', () => {
  it("zero copy: a byte written to the file during map shows through map's own view (and the run fails: the file changed)", async () => {
    const content = randomBytes(9, 4 * PAGE + 500);
    const path = writeFile(dir, 'job-zero-copy.bin', content);
    const log = join(dir, 'job-zero-copy.log');
    await expect(pagewise.mapReduce(path, job('zero-copy.mjs'), { threads: 1, chunkSize: PAGE, params: { log } })).rejects.toMatchObject({
      code: 'ERR_PAGEWISE_FILE_CHANGED',
    });
    const seen = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { index: number; position: number; before: number; wrote: number; after: number });
    // The change is seen at the first chunk's end; that chunk's view showed the write.
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen[0].index).toBe(0);
    const now = readFileSync(path);
    for (const s of seen) {
      expect(s.before).toBe(content[s.position]);
      expect(s.after).toBe(s.wrote);
      expect(now[s.position]).toBe(s.wrote);
    }
  });

  it.each([
    ['ordered', 'keep-view.mjs'],
    ['commutative', 'keep-view-commutative.mjs'],
  ])('%s: a view kept past its chunk is detached (byteLength 0) by the next chunk', async (_, module) => {
    const path = writeFile(dir, `keep-${module}.bin`, randomBytes(10, 12 * PAGE));
    for (const threads of [1, 2]) {
      const result = await pagewise.mapReduce<{ seen: Record<string, unknown>[]; chunks: number }>(path, job(module), { threads, chunkSize: PAGE });
      expect(result.chunks).toBe(12);
      // Every chunk after a worker's first saw the previous chunk's view.
      expect(result.seen.length).toBeGreaterThanOrEqual(12 - 2 * threads);
      for (const s of result.seen) expect(s).toEqual({ byteLength: 0, length: 0, subLength: 0, bufferByteLength: 0, readable: false });
    }
  });
});

describe('a sparse file over 4 GiB', () => {
  it('maps, views its last page and a page past 4 GiB, and counts its lines', async () => {
    const GiB = 2 ** 30;
    const size = 5 * GiB;
    const path = join(dir, 'sparse-5g.bin');
    // Newlines just before each 64 MiB boundary (so resolving a chunk finds
    // its start at once, keeping the run short), plus a few past 4 GiB.
    const chunk = 64 * 2 ** 20;
    const positions = new Set<number>();
    for (let p = chunk - 1; p < size; p += chunk) positions.add(p);
    for (const p of [4 * GiB, 4 * GiB + 12_345, size - 100, size - 2]) positions.add(p);
    const fd = openSync(path, 'w');
    try {
      ftruncateSync(fd, size);
      for (const p of positions) writeSync(fd, Buffer.from('\n'), 0, 1, p);
      writeSync(fd, Buffer.from('TAIL'), 0, 4, size - 6);
    } finally {
      closeSync(fd);
    }
    try {
      const file = MappedFile.open(path);
      try {
        expect(file.size).toBe(size);
        const last = file.view(size - PAGE, PAGE);
        expect(last.length).toBe(PAGE);
        expect(Buffer.from(last.subarray(PAGE - 6, PAGE - 2)).toString('latin1')).toBe('TAIL');
        expect(last[PAGE - 100]).toBe(0x0a);
        expect(last[PAGE - 2]).toBe(0x0a);
        expect(last[PAGE - 1]).toBe(0x0a); // the last 64 MiB boundary
        expect(last[0]).toBe(0);
        const past4g = file.view(4 * GiB + 12_340, 10);
        expect([...past4g]).toEqual([0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0]);
        expect(file.view(4 * GiB - 1, 2)[1]).toBe(0x0a);
      } finally {
        file.close();
      }
      for (const nativeKernels of [true, false]) {
        const { result, stats } = await pagewise.runJob<{ lines: number; bytes: number }>(path, pagewise.builtinJobs.wc, {
          threads: 2,
          chunkSize: '64MiB',
          release: 'evict',
          params: { lines: true },
          nativeKernels,
        });
        expect(result.lines).toBe(positions.size);
        expect(result.bytes).toBe(size);
        expect(stats.executor).toBe(nativeKernels ? 'kernel' : 'workers');
        expect(stats.chunks).toBe(80);
      }
    } finally {
      rmSync(path, { force: true });
    }
  });
});
