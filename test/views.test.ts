/**
 * Views as mappings of their own (issue 12 items 2, 3, 4, 8, 12, 13): writes
 * into a view never crash and never reach the file or another reader; only
 * pagewise's views can be detached; SIGBUS protection never runs out
 * silently; a file that changed gets a fresh mapping; a terminated worker
 * leaks nothing. Cases that crashed the process before run in a child.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { appendFileSync, closeSync, ftruncateSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { constants as bufferConstants } from 'node:buffer';
import { CLI, ROOT, pagewise, tempDir, writeFile } from './helpers.js';
import { job } from './fixtures/reference.js';
import { native } from '../dist/src/native.js';
import { sleep, waitFor } from './fixtures/reliability/support.js';

const { MappedFile } = pagewise;
const dir = tempDir('pagewise-views-');
const PAGE = MappedFile.pageSize;
const INDEX = join(ROOT, 'dist', 'src', 'index.js');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Runs an ES module script in a fresh Node (the library at `INDEX` as `pw`); its exit and output. */
function child(script: string, env: Record<string, string> = {}): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const source = `import * as pw from ${JSON.stringify(INDEX)};\n${script}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', source], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** This process's fds and mappings of `path`. */
function heldOf(path: string): { fds: number; maps: number } {
  let fds = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) fds++;
    } catch {
      // closed meanwhile (readdir's own fd)
    }
  }
  const maps = readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.endsWith(` ${path}`)).length;
  return { fds, maps };
}

afterAll(async () => {
  await pagewise.shutdown();
});

describe('writing into a view (12.2)', () => {
  it('a job that lowercases its bytes in place: no crash, the file unchanged, a second run sees the same bytes', () => {
    const text = 'Alpha BETA gamma AAA a\n'.repeat(20_000);
    const path = writeFile(dir, 'lower.txt', text);
    const before = sha(path);
    const upper = text.split('A').length - 1;
    const lower = (text.toLowerCase().match(/a/g) ?? []).length;
    for (const args of [['--threads', '1', '--chunk-size', '4096'], ['--threads', '2', '--chunk-size', '64KiB'], ['--threads', '2']]) {
      for (let round = 0; round < 2; round++) {
        const r = spawnSync(process.execPath, [CLI, 'run', job('write-bytes.mjs'), path, '--json', ...args], { encoding: 'utf8' });
        expect(r.signal, r.stderr).toBeNull();
        expect(r.status, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout), args.join(' ')).toEqual({ upper, lower });
      }
    }
    expect(sha(path)).toBe(before);
  });

  it('through the library in one process: every run sees the file as it is, never an earlier run\'s writes', async () => {
    const text = 'AbA\n'.repeat(50_000);
    const path = writeFile(dir, 'lower-lib.txt', text);
    for (let round = 0; round < 3; round++) {
      for (const threads of [1, 2]) {
        const result = await pagewise.mapReduce(path, job('write-bytes.mjs'), { threads, chunkSize: 4096 });
        expect(result).toEqual({ upper: 100_000, lower: 100_000 });
      }
    }
    expect(readFileSync(path, 'latin1')).toBe(text);
  });

  it('MappedFile: a write into a view changes that view only, not the file, not another view of the same range', () => {
    const path = writeFile(dir, 'cow.bin', Buffer.alloc(3 * PAGE, 0x61));
    const file = MappedFile.open(path);
    try {
      const a = file.view(PAGE - 10, PAGE);
      const b = file.view(PAGE - 10, PAGE);
      a[0] = 0x41;
      a[PAGE - 1] = 0x42;
      a.fill(0x43, 100, 200);
      expect([a[0], a[PAGE - 1], a[150]]).toEqual([0x41, 0x42, 0x43]);
      expect([b[0], b[PAGE - 1], b[150]]).toEqual([0x61, 0x61, 0x61]);
      expect(readFileSync(path).every((x) => x === 0x61)).toBe(true);
      // A view made after the write, and one in another handle, see the file.
      const after = file.view(PAGE - 10, 1);
      expect(after[0]).toBe(0x61);
      MappedFile.detach(after);
      // Native code reads the process-wide mapping, which no view writes.
      expect(native.find(file.id, 0x41, 0, 3 * PAGE)).toBe(-1);
      MappedFile.detach(a);
      MappedFile.detach(b);
    } finally {
      file.close();
    }
  });

  it('a write into a view does not kill the process (child process: it was SIGSEGV)', () => {
    const path = writeFile(dir, 'segv.bin', Buffer.alloc(2 * PAGE, 0x61));
    const r = child(`
      const f = pw.MappedFile.open(${JSON.stringify(path)});
      const v = f.view();
      v[0] = 65; v[v.length - 1] = 66;
      console.log(JSON.stringify([v[0], v[v.length - 1], f.view(0, 1)[0]]));
      f.close();
    `);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([65, 66, 0x61]);
    expect(readFileSync(path).every((x) => x === 0x61)).toBe(true);
  });

  it('a view kept past detach reads as empty, and detaching it again is harmless', () => {
    const path = writeFile(dir, 'kept.bin', Buffer.alloc(PAGE, 7));
    const file = MappedFile.open(path);
    const view = file.view();
    const sub = view.subarray(10);
    MappedFile.detach(view);
    expect([view.length, view.byteLength, sub.length, view[0]]).toEqual([0, 0, 0, undefined]);
    MappedFile.detach(view);
    MappedFile.detach(sub);
    file.close();
  });

  it('a view larger than 4 GiB where the runtime allows one, with offsets past 4 GiB right', () => {
    const GiB = 2 ** 30;
    const size = 5 * GiB;
    const path = join(dir, 'sparse-5g-view.bin');
    const fd = openSync(path, 'w');
    try {
      ftruncateSync(fd, size);
      writeSync(fd, Buffer.from('high'), 0, 4, 4 * GiB + 100);
      writeSync(fd, Buffer.from('end'), 0, 3, size - 3);
    } finally {
      closeSync(fd);
    }
    const file = MappedFile.open(path);
    try {
      const length = 4.5 * GiB;
      if (bufferConstants.MAX_LENGTH < length) {
        expect(codeOf(() => file.view(0, length))).toBe('ERR_PAGEWISE_INVALID_OPTION');
        return;
      }
      const view = file.view(PAGE, length);
      expect(view.length).toBe(length);
      expect(Buffer.from(view.subarray(4 * GiB + 100 - PAGE, 4 * GiB + 104 - PAGE)).toString()).toBe('high');
      view[4 * GiB] = 1; // copy on write, past 4 GiB of the view
      expect(view[4 * GiB]).toBe(1);
      const tail = file.view(size - 3, 3);
      expect(Buffer.from(tail).toString()).toBe('end');
      MappedFile.detach(view);
      MappedFile.detach(tail);
    } finally {
      file.close();
      rmSync(path, { force: true });
    }
  });
});

describe('only views made by pagewise can be detached (12.3)', () => {
  it('refuses Node buffers, the Buffer pool, other typed arrays, DataViews and non-buffers with ERR_PAGEWISE_NOT_A_VIEW', () => {
    const pooled = Buffer.from('abc');
    const foreign: unknown[] = [pooled, pooled.subarray(0, 0), new Uint8Array(16), new Float64Array(2), new DataView(new ArrayBuffer(8)), new ArrayBuffer(8), {}, 'x', null, undefined];
    for (const value of foreign) expect(codeOf(() => MappedFile.detach(value as Uint8Array)), String(value)).toBe('ERR_PAGEWISE_NOT_A_VIEW');
    for (const value of foreign.slice(0, 6)) expect(codeOf(() => native.detach(value as Uint8Array)), String(value)).toBe('ERR_PAGEWISE_NOT_A_VIEW');
    // Nothing was detached: the pool still works, and so does the console.
    expect(pooled.toString()).toBe('abc');
    expect(Buffer.from('def').toString()).toBe('def');
    // A subarray of a view, its ArrayBuffer or a DataView over it detach the view.
    const path = writeFile(dir, 'detach-kinds.bin', Buffer.alloc(2 * PAGE, 1));
    const file = MappedFile.open(path);
    try {
      for (const pick of [(v: Uint8Array) => v.subarray(5), (v: Uint8Array) => v.buffer, (v: Uint8Array) => new DataView(v.buffer), (v: Uint8Array) => new Uint32Array(v.buffer, 0, 4)]) {
        const view = file.view(1, PAGE);
        MappedFile.detach(pick(view) as Uint8Array);
        expect(view.byteLength).toBe(0);
      }
      // A copy of a view is not a view.
      const view = file.view(0, PAGE);
      expect(codeOf(() => MappedFile.detach(view.slice()))).toBe('ERR_PAGEWISE_NOT_A_VIEW');
      MappedFile.detach(view);
    } finally {
      file.close();
    }
  });

  it('detaching Buffer.from("abc") does not break the process (child process: Node 24 aborted)', () => {
    const r = child(`
      try { pw.MappedFile.detach(Buffer.from('abc')); } catch (e) { console.log(e.code); }
      console.log(Buffer.from('still').toString());
    `);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('ERR_PAGEWISE_NOT_A_VIEW\nstill\n');
  });
});

describe('SIGBUS protection never runs out silently (12.4)', () => {
  it('past 4096 mapped files and views, a truncated file still reads as zeros (child process: it died of SIGBUS)', () => {
    const many = join(dir, 'many');
    const r = child(`
      import { mkdirSync, writeFileSync, truncateSync } from 'node:fs';
      mkdirSync(${JSON.stringify(many)}, { recursive: true });
      const files = [];
      for (let i = 0; i < 4200; i++) {
        const p = ${JSON.stringify(many)} + '/f' + i;
        writeFileSync(p, Buffer.alloc(4 * 4096, 0x61));
        files.push(pw.MappedFile.open(p));
      }
      const last = files[files.length - 1];
      const views = [];
      for (let i = 0; i < 1000; i++) views.push(last.view(0, last.size));
      truncateSync(last.path, 4096);
      let nonZero = 0;
      for (const v of [views[0], views[999]]) for (let i = 4096; i < v.length; i += 512) nonZero += v[i] !== 0;
      console.log(JSON.stringify({ nonZero, truncated: last.truncated(), first: views[999][0] }));
    `);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ nonZero: 0, truncated: true, first: 0x61 });
  });

  it('when no slot is left, open and view refuse with ERR_PAGEWISE_NO_FAULT_SLOT instead of mapping unprotected', () => {
    const testing = native.testing!;
    const path = writeFile(dir, 'slots.bin', Buffer.alloc(PAGE, 1));
    const other = writeFile(dir, 'slots-other.bin', Buffer.alloc(PAGE, 2));
    const { inUse } = testing.faultSlots();
    try {
      testing.faultSlots(inUse + 2);
      const file = MappedFile.open(path); // one slot: the mapping
      const view = file.view(); // the second: the view
      expect(codeOf(() => file.view())).toBe('ERR_PAGEWISE_NO_FAULT_SLOT');
      expect(codeOf(() => MappedFile.open(other))).toBe('ERR_PAGEWISE_NO_FAULT_SLOT');
      // An empty view maps nothing and needs no slot; a second open of the same file shares the mapping.
      expect(file.view(0, 0).length).toBe(0);
      const again = MappedFile.open(path);
      expect(again.id).toBe(file.id);
      again.close();
      MappedFile.detach(view);
      const next = file.view(); // the slot came back
      MappedFile.detach(next);
      file.close();
      expect(testing.faultSlots().inUse).toBe(inUse);
    } finally {
      testing.faultSlots(0);
    }
  });
});

describe('a file that changed gets a fresh mapping (12.12)', () => {
  it('a MappedFile held open does not make runs fail once the file grows', async () => {
    const path = writeFile(dir, 'grows.txt', 'a line\n'.repeat(1000));
    const held = MappedFile.open(path);
    try {
      appendFileSync(path, 'a line\n'.repeat(500));
      for (const nativeKernels of [true, false]) {
        const result = await pagewise.mapReduce(path, pagewise.builtinJobs.wc, { threads: 2, chunkSize: 4096, nativeKernels, params: { lines: true } });
        expect(result).toMatchObject({ lines: 1500, bytes: 1500 * 7 });
      }
      // The old handle keeps its mapping and size; a new one sees the file now.
      expect(held.size).toBe(7000);
      const fresh = MappedFile.open(path);
      expect(fresh.id).not.toBe(held.id);
      expect(fresh.size).toBe(10_500);
      fresh.close();
    } finally {
      held.close();
    }
  });

  it('a same-size rewrite (new mtime) also gets a fresh mapping; an unchanged file is shared', async () => {
    const path = writeFile(dir, 'rewritten.bin', Buffer.alloc(PAGE, 1));
    const a = MappedFile.open(path);
    const b = MappedFile.open(path);
    expect(b.id).toBe(a.id);
    await sleep(20); // past the file system's timestamp granularity
    writeFileSync(path, Buffer.alloc(PAGE, 2));
    const c = MappedFile.open(path);
    expect(c.id).not.toBe(a.id);
    const view = c.view(0, 1);
    expect(view[0]).toBe(2);
    MappedFile.detach(view);
    for (const f of [a, b, c]) f.close();
  });
});

describe('paths and advice names (12.13)', () => {
  it('refuses a NUL in a path even when the part before it names a file', () => {
    const path = writeFile(dir, 'nul', 'x');
    expect(codeOf(() => MappedFile.open(`${path}\0junk`))).toBe('ERR_PAGEWISE_INVALID_OPTION');
    expect(codeOf(() => MappedFile.create(`${path}\0junk`, 1))).toBe('ERR_PAGEWISE_INVALID_OPTION');
    expect(codeOf(() => native.open(`${path}\0junk`))).toBe('ERR_PAGEWISE_INVALID_OPTION');
  });

  it('advice names are own properties only: prototype keys are refused with a code', () => {
    const path = writeFile(dir, 'advice-names.bin', Buffer.alloc(PAGE, 1));
    const file = MappedFile.open(path);
    try {
      for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
        expect(codeOf(() => file.advise(name as never)), name).toBe('ERR_PAGEWISE_INVALID_OPTION');
        expect(codeOf(() => file.fadvise(name as never)), name).toBe('ERR_PAGEWISE_INVALID_OPTION');
      }
      expect(file.advise('random')).toBe(true);
      expect(file.fadvise('noreuse')).toBe(true);
    } finally {
      file.close();
    }
  });
});

describe('state: inode, times and faults of every view (12.8)', () => {
  it('reports the inode and nanosecond mtime/ctime from fstat, and sees a truncate-and-regrow', async () => {
    const path = writeFile(dir, 'stat.bin', Buffer.alloc(4 * PAGE, 1));
    const file = MappedFile.open(path);
    try {
      const st = statSync(path, { bigint: true });
      const s0 = native.state(file.id);
      expect(s0).toMatchObject({ ino: Number(st.ino), dev: Number(st.dev), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, currentSize: 4 * PAGE });
      await sleep(20); // past the file system's timestamp granularity
      truncateSync(path, PAGE);
      const s1 = native.state(file.id);
      expect(s1.currentSize).toBe(PAGE);
      expect(s1.mtimeNs > s0.mtimeNs && s1.ctimeNs > s0.ctimeNs).toBe(true);
      // Pages past the cut read through two views count for the file, once per view.
      const a = file.view(0, 4 * PAGE);
      const b = file.view(PAGE, 3 * PAGE);
      let sum = 0;
      for (let i = PAGE; i < 4 * PAGE; i += PAGE) sum += a[i] + b[i - PAGE];
      expect(sum).toBe(0);
      expect(native.state(file.id).faults).toBe(6);
      // Grown back to its old size: the size alone no longer tells, the times and faults do.
      await sleep(20);
      truncateSync(path, 4 * PAGE);
      const s2 = native.state(file.id);
      expect(s2.currentSize).toBe(4 * PAGE);
      expect(s2.mtimeNs > s1.mtimeNs).toBe(true);
      expect(file.truncated()).toBe(true);
      MappedFile.detach(a);
      MappedFile.detach(b);
    } finally {
      file.close();
    }
  });
});

describe('a terminated worker leaks nothing (env cleanup hook)', () => {
  it('handles and views a worker left open are closed, fds and mappings gone', async () => {
    const path = writeFile(dir, 'worker-left.bin', Buffer.alloc(16 * PAGE, 3));
    const script = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.index).then(({ MappedFile }) => {
        const files = [MappedFile.open(workerData.path), MappedFile.open(workerData.path)];
        const views = [files[0].view(), files[1].view(PAGE, PAGE), files[0].view(0, 10)];
        globalThis.keep = views;
        setInterval(() => views[0][0], 5); // alive until terminated
        parentPort.postMessage(views.reduce((n, v) => n + v[0], 0));
      });
    `.replace(/PAGE/g, String(PAGE));
    const before = native.stats();
    for (let round = 0; round < 3; round++) {
      const worker = new Worker(script, { eval: true, workerData: { index: INDEX, path } });
      const sum = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(sum).toBe(9);
      expect(heldOf(path).fds).toBeGreaterThan(0);
      expect(native.stats().mappings).toBe(before.mappings + 1);
      await worker.terminate();
      await waitFor(() => native.stats().mappings === before.mappings, 5000, 'the worker to release its mappings');
      expect(native.stats()).toEqual(before);
      expect(heldOf(path)).toEqual({ fds: 0, maps: 0 });
    }
  });
});
