/**
 * Writable mappings (issue 16, section 1): open({ write: true }), create with
 * the space reserved, flush, resize, SIGBUS protection of writable pages, and
 * `using`. The full-disk cases run on a 1 MiB tmpfs (root only).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, truncateSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { pagewise, ROOT, tempDir, writeFile } from './helpers.js';
import { native } from '../dist/src/native.js';

const { MappedFile } = pagewise;
const dir = tempDir('pagewise-writable-');
const PAGE = MappedFile.pageSize;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/** A 1 MiB tmpfs, or undefined where it cannot be mounted (not root). */
let small: string | undefined;
beforeAll(() => {
  const at = join(dir, 'tiny');
  mkdirSync(at);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', at], { stdio: 'ignore' });
    small = at;
  } catch {
    small = undefined;
  }
});
afterAll(async () => {
  if (small) execFileSync('umount', ['-l', small], { stdio: 'ignore' });
  await pagewise.shutdown();
});

describe('MappedFile.open(path, { write: true })', () => {
  it('views are writable, writes reach the file, flush syncs them, other views see them', () => {
    const path = writeFile(dir, 'rw.bin', Buffer.alloc(4 * PAGE, 0x61));
    const file = MappedFile.open(path, { write: true });
    try {
      expect(file.writable).toBe(true);
      const a = file.view(PAGE - 3, 2 * PAGE);
      const b = file.view(0, 4 * PAGE);
      a[0] = 0x41;
      a.fill(0x42, 100, 200);
      a[2 * PAGE - 1] = 0x43;
      file.flush();
      file.flush(PAGE, 10);
      const now = readFileSync(path);
      expect([now[PAGE - 3], now[PAGE - 3 + 150], now[3 * PAGE - 4], now[0]]).toEqual([0x41, 0x42, 0x43, 0x61]);
      expect(b[PAGE - 3]).toBe(0x41);
      // A read-only handle of the same file is a mapping of its own, and sees the writes.
      const reader = MappedFile.open(path);
      expect(reader.id).not.toBe(file.id);
      expect(reader.view(PAGE - 3, 1)[0]).toBe(0x41);
      reader.close();
      MappedFile.detach(a);
      MappedFile.detach(b);
    } finally {
      file.close();
    }
  });

  it('two writable handles are not shared, and neither shares a read-only mapping', () => {
    const path = writeFile(dir, 'rw-two.bin', Buffer.alloc(PAGE, 1));
    const ro = MappedFile.open(path);
    const w1 = MappedFile.open(path, { write: true });
    const w2 = MappedFile.open(path, { write: true });
    expect(new Set([ro.id, w1.id, w2.id]).size).toBe(3);
    for (const f of [ro, w1, w2]) f.close();
  });

  it('flush and resize on a read-only handle, and bad options, are refused with codes', () => {
    const path = writeFile(dir, 'ro.bin', Buffer.alloc(PAGE, 1));
    const file = MappedFile.open(path);
    expect(file.writable).toBe(false);
    expect(codeOf(() => file.flush())).toBe('ERR_PAGEWISE_READ_ONLY');
    expect(codeOf(() => file.resize(2 * PAGE))).toBe('ERR_PAGEWISE_READ_ONLY');
    file.close();
    expect(codeOf(() => MappedFile.open(path, { writable: true } as never))).toBe('ERR_PAGEWISE_INVALID_OPTION');
    expect(codeOf(() => MappedFile.open(path, { write: 'yes' } as never))).toBe('ERR_PAGEWISE_INVALID_OPTION');
    expect(codeOf(() => MappedFile.create(join(dir, 'neg.bin'), -1))).toBe('ERR_PAGEWISE_INVALID_OPTION');
    expect(codeOf(() => MappedFile.open(dir, { write: true }))).toBe('EISDIR');
  });
});

describe('MappedFile.create', () => {
  it('makes a file of zeros of that size, writable; refuses an existing one unless overwrite', () => {
    const path = join(dir, 'created.bin');
    const file = MappedFile.create(path, 3 * PAGE + 5);
    try {
      expect(statSync(path).size).toBe(3 * PAGE + 5);
      const view = file.view();
      expect(view.every((b) => b === 0)).toBe(true);
      view.set(Buffer.from('hello'), 3 * PAGE);
      file.flush();
      expect(readFileSync(path).subarray(3 * PAGE).toString()).toBe('hello');
      MappedFile.detach(view);
    } finally {
      file.close();
    }
    expect(codeOf(() => MappedFile.create(path, PAGE))).toBe('EEXIST');
    expect(readFileSync(path).subarray(3 * PAGE).toString()).toBe('hello');
    const again = MappedFile.create(path, PAGE, { overwrite: true });
    expect(statSync(path).size).toBe(PAGE);
    expect(readFileSync(path).every((b) => b === 0)).toBe(true);
    again.close();
    const empty = MappedFile.create(join(dir, 'created-empty.bin'), 0);
    expect(empty.view().length).toBe(0);
    empty.close();
  });

  it('on a full disk: ENOSPC at once, and no file left behind', (ctx) => {
    if (!small) return ctx.skip();
    const path = join(small, 'too-big.bin');
    expect(codeOf(() => MappedFile.create(path, 4 << 20))).toBe('ENOSPC');
    expect(existsSync(path)).toBe(false);
    // What fits is reserved: the pages are there, writes into them cannot fault.
    const fits = MappedFile.create(join(small, 'fits.bin'), 512 << 10);
    const view = fits.view();
    view.fill(0x5a);
    fits.flush();
    expect(fits.truncated()).toBe(false);
    // Growing past the disk is ENOSPC too, and leaves the file as it was.
    expect(codeOf(() => fits.resize(4 << 20))).toBe('ENOSPC');
    expect(statSync(join(small, 'fits.bin')).size).toBe(512 << 10);
    expect(fits.size).toBe(512 << 10);
    MappedFile.detach(view);
    fits.close();
    rmSync(join(small, 'fits.bin'));
  });

  it('writes into a sparse file on a full disk fault (SIGBUS), are counted and fail flush instead of killing the process', (ctx) => {
    if (!small) return ctx.skip();
    const path = join(small, 'sparse.bin');
    writeFileSync(path, '');
    truncateSync(path, 4 << 20); // a hole: no page allocated yet
    const file = MappedFile.open(path, { write: true });
    try {
      const view = file.view();
      for (let i = 0; i < view.length; i += PAGE) view[i] = 1;
      expect(codeOf(() => file.flush())).toBe('ERR_PAGEWISE_WRITE_FAILED');
      // Reported once: a second flush with no new fault succeeds.
      file.flush();
      MappedFile.detach(view);
    } finally {
      file.close();
      rmSync(path);
    }
  });
});

describe('resize', () => {
  it('grows and shrinks; views made before are detached; fs.statSync sees the new size', () => {
    const path = writeFile(dir, 'resize.bin', Buffer.alloc(2 * PAGE, 0x61));
    const file = MappedFile.open(path, { write: true });
    try {
      const before = [file.view(), file.view(PAGE, 10)];
      file.resize(5 * PAGE + 1);
      for (const v of before) expect(v.byteLength).toBe(0);
      expect(file.size).toBe(5 * PAGE + 1);
      expect(statSync(path).size).toBe(5 * PAGE + 1);
      const grown = file.view();
      expect(grown[0]).toBe(0x61);
      expect(grown[5 * PAGE]).toBe(0);
      grown[5 * PAGE] = 0x7a;
      file.flush();
      expect(readFileSync(path)[5 * PAGE]).toBe(0x7a);
      // Native code sees the new mapping too.
      expect(native.find(file.id, 0x7a, 0, file.size)).toBe(5 * PAGE);
      file.resize(PAGE);
      expect(grown.byteLength).toBe(0);
      expect(statSync(path).size).toBe(PAGE);
      expect(file.truncated()).toBe(false);
      expect(codeOf(() => file.view(0, PAGE + 1))).toBe('ERR_PAGEWISE_INVALID_OPTION');
      file.resize(0);
      expect(file.view().length).toBe(0);
      file.resize(3);
      const small3 = file.view();
      expect([...small3]).toEqual([0, 0, 0]);
      MappedFile.detach(small3);
    } finally {
      file.close();
    }
    expect(readFileSync(path)).toEqual(Buffer.alloc(3));
  });

  it('refuses with ERR_PAGEWISE_BUSY while another thread holds a view of the file', async () => {
    const path = writeFile(dir, 'resize-busy.bin', Buffer.alloc(2 * PAGE, 1));
    const file = MappedFile.open(path, { write: true });
    const addon = join(ROOT, 'build', 'Release', 'pagewise.node');
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const addon = require(workerData.addon);
       const view = addon.view(workerData.id, 0, 10);
       parentPort.on('message', () => { addon.detach(view); parentPort.postMessage('detached'); });
       parentPort.postMessage('ready');`,
      { eval: true, workerData: { addon, id: file.id } },
    );
    const next = () => new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
    try {
      expect(await next()).toBe('ready');
      const mine = file.view();
      expect(codeOf(() => file.resize(4 * PAGE))).toBe('ERR_PAGEWISE_BUSY');
      expect(mine.byteLength).toBe(2 * PAGE); // nothing was done
      expect(statSync(path).size).toBe(2 * PAGE);
      worker.postMessage('detach');
      expect(await next()).toBe('detached');
      file.resize(4 * PAGE);
      expect(mine.byteLength).toBe(0);
    } finally {
      await worker.terminate();
      file.close();
    }
  });
});

describe('using', () => {
  it('[Symbol.dispose] closes the file', () => {
    const path = writeFile(dir, 'dispose.bin', Buffer.alloc(PAGE, 1));
    let kept: InstanceType<typeof MappedFile>;
    {
      using file = MappedFile.open(path);
      kept = file;
      expect(file.closed).toBe(false);
    }
    expect(kept.closed).toBe(true);
    const f = MappedFile.open(path);
    f[Symbol.dispose]();
    expect(f.closed).toBe(true);
  });
});
