// Native stress for scripts/asan.sh: drives the addon given in PAGEWISE_ADDON
// (an AddressSanitizer build) directly, from the main thread and from worker
// threads: open / view / detach / close with views outliving their handles,
// every advice value, error paths, the byte kernels on exact-size random
// buffers at every alignment (checked against plain JavaScript), files
// truncated while mapped (the SIGBUS repair path), copy-on-write writes into
// views, detach of buffers that are not views, writable mappings (create,
// write, flush, resize), the fault-slot limit, and workers terminated with
// handles and views open. Exits non-zero on a wrong result; the sanitizer
// reports memory errors on its own.
//
//   PAGEWISE_TEST_HOOKS=1 PAGEWISE_ADDON=build/Release/pagewise.node node --expose-gc scripts/asan-stress.mjs
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const addonPath = isMainThread ? process.env.PAGEWISE_ADDON : workerData.addon;
if (!addonPath) {
  console.error('asan-stress: set PAGEWISE_ADDON to the addon to test');
  process.exit(2);
}
const native = createRequire(import.meta.url)(addonPath);
const PAGE = native.pageSize();
if (!native.testing) {
  console.error('asan-stress: set PAGEWISE_TEST_HOOKS=1 (the addon\'s test hooks)');
  process.exit(2);
}
const ROUNDS = Number(process.env.ASAN_ROUNDS ?? 1);

// ------------------------------------------------------------ utilities --

/** xorshift32: reproducible randomness (seed per thread). */
function rng(seed) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return { next, int: (n) => (n <= 0 ? 0 : next() % n), pick: (arr) => arr[next() % arr.length] };
}

const gc = globalThis.gc ?? (() => {});
const tick = () => new Promise((resolve) => setImmediate(resolve));

async function settle(label) {
  for (let i = 0; i < 200; i++) {
    gc();
    await tick();
    if (native.stats().mappings === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.deepEqual(native.stats(), { mappings: 0, views: 0 }, `${label}: mappings left behind`);
}

function expectThrow(fn, code, label) {
  let threw = false;
  try {
    fn();
  } catch (error) {
    threw = true;
    if (code) assert.equal(error.code ?? error.name, code, `${label}: ${error.message}`);
  }
  assert.ok(threw, `${label}: expected a throw`);
}

// ------------------------------------------------------- JS references --

function clampRange(length, s, e) {
  let start = 0;
  let end = length;
  if (typeof s === 'number') start = s < 0 ? 0 : Math.min(Math.trunc(s), length);
  if (typeof e === 'number') end = e < 0 ? 0 : Math.min(Math.trunc(e), length);
  if (end < start) end = start;
  return [start, end];
}
const refCountByte = (b, v, s, e) => {
  const [a, z] = clampRange(b.length, s, e);
  let n = 0;
  for (let i = a; i < z; i++) n += b[i] === v ? 1 : 0;
  return n;
};
const refIndexOfByte = (b, v, s, e) => {
  const [a, z] = clampRange(b.length, s, e);
  for (let i = a; i < z; i++) if (b[i] === v) return i;
  return -1;
};
const refIndexOf = (b, needle, s, e) => {
  const [a, z] = clampRange(b.length, s, e);
  if (needle.length === 0) return a;
  outer: for (let i = a; i + needle.length <= z; i++) {
    for (let j = 0; j < needle.length; j++) if (b[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
};
const isSpace = (c) => c === 32 || (c >= 9 && c <= 13);
const refCountWords = (b) => {
  let words = 0;
  let prev = true;
  for (const c of b) {
    const s = isSpace(c);
    if (prev && !s) words++;
    prev = s;
  }
  return words;
};
const refCountLinesContaining = (b, needle, term) => {
  // The needle holds no terminator, so a match lies inside one record.
  let count = 0;
  for (let at = 0; at < b.length; ) {
    let end = b.indexOf(term, at);
    end = end < 0 ? b.length : end + 1;
    if (refIndexOf(b.subarray(at, end), needle) >= 0) count++;
    at = end;
  }
  return count;
};

// --------------------------------------------------------------- kernels --

/** An exact-size heap buffer (so reading one byte past it hits a redzone), viewed at an offset. */
function buffer(r, length, alphabet) {
  const offset = r.int(33);
  const whole = new Uint8Array(new ArrayBuffer(offset + length));
  for (let i = 0; i < whole.length; i++) whole[i] = alphabet ? alphabet[r.int(alphabet.length)] : r.int(256);
  return whole.subarray(offset);
}

function kernels(seed, iterations) {
  const r = rng(seed);
  const alphabets = [null, [0x61, 0x62, 0x0a], [0x20, 0x09, 0x0a, 0x0d, 0x61, 0x62, 0x63], [0x0a], [0x61]];
  let checks = 0;
  for (let it = 0; it < iterations; it++) {
    const big = r.int(20) === 0;
    const length = big ? 32_000 + r.int(40_000) : r.int(300);
    const alphabet = r.pick(alphabets);
    const b = buffer(r, length, alphabet);
    const v = alphabet ? r.pick(alphabet) : r.int(256);
    const form = r.int(3);
    const args = form === 0 ? [] : form === 1 ? [r.int(length + 20) - 10] : [r.int(length + 20) - 10, r.int(length + 20) - 10];
    assert.equal(native.countByte(b, v, ...args), refCountByte(b, v, ...args), `countByte len ${length}`);
    assert.equal(native.indexOfByte(b, v, ...args), refIndexOfByte(b, v, ...args), `indexOfByte len ${length}`);
    // Needles: taken from the buffer (hits) or random, 0-40 bytes, also longer than the haystack.
    const m = r.int(41);
    let needle;
    if (length > 0 && r.int(2) === 0) {
      const at = r.int(length);
      needle = b.slice(at, Math.min(length, at + m));
    } else needle = buffer(r, m, alphabet);
    assert.equal(native.indexOf(b, needle, ...args), refIndexOf(b, needle, ...args), `indexOf len ${length} m ${needle.length}`);
    assert.equal(native.countWords(b), refCountWords(b), `countWords len ${length}`);
    if (needle.length > 0 && !needle.includes(0x0a)) {
      assert.equal(native.countLinesContaining(b, needle, 0x0a), refCountLinesContaining(b, needle, 0x0a), `countLinesContaining len ${length}`);
    }
    checks += 5;
  }
  // Detached and empty arrays.
  const gone = new Uint8Array(new ArrayBuffer(100));
  structuredClone(gone.buffer, { transfer: [gone.buffer] });
  assert.equal(native.countByte(gone, 0), 0);
  assert.equal(native.countWords(gone), 0);
  // An empty needle is found where the search starts, even in an array with no memory.
  assert.equal(native.indexOf(gone, new Uint8Array(0)), 0);
  assert.equal(native.indexOf(new Uint8Array(0), new Uint8Array(0)), 0);
  assert.equal(native.indexOfByte(new Uint8Array(0), 1), -1);
  expectThrow(() => native.countByte(new Uint16Array(4), 0), 'TypeError', 'countByte(Uint16Array)');
  return checks;
}

// -------------------------------------------------------------- mappings --

function readRef(content, offset, length) {
  return content.subarray(offset, offset + length);
}

/**
 * One thread's open/view/detach/close loop over `files` ({ path, content }).
 * `exclusive`: no other thread maps these files meanwhile.
 */
function mappings(seed, files, iterations, keep, exclusive) {
  const r = rng(seed);
  let checks = 0;
  for (let it = 0; it < iterations; it++) {
    const { path, content } = r.pick(files);
    const info = native.open(path);
    assert.equal(info.size, content.length);
    const again = r.int(3) === 0 ? native.open(path) : undefined;
    if (again) assert.equal(again.id, info.id, 'a second open shares the mapping');
    const views = [];
    for (let k = 0, n = 1 + r.int(6); k < n; k++) {
      const offset = r.int(content.length + 1);
      const length = r.int(content.length - offset + 1);
      const view = native.view(info.id, offset, length);
      assert.equal(view.length, length);
      if (length > 0) {
        const i = r.int(length);
        assert.equal(view[i], content[offset + i]);
        assert.equal(view[length - 1], content[offset + length - 1]);
        assert.equal(native.countByte(view, 0x0a), refCountByte(readRef(content, offset, length), 0x0a));
        if (r.int(2) === 0) {
          // Copy on write: this view changes, the file and every other reader do not.
          view[i] ^= 0xff;
          view[0] = 0x00;
          assert.equal(view[i], i === 0 ? 0 : content[offset + i] ^ 0xff);
          assert.equal(native.find(info.id, content[offset + i], offset + i, offset + i + 1), offset + i, 'a write into a view reached the mapping');
          for (let k = 0; k < length; k++) view[k] = content[offset + k];
        }
      }
      const byte = r.int(256);
      const from = r.int(content.length + 2);
      const limit = r.int(content.length + 10);
      assert.equal(native.find(info.id, byte, from, limit), refIndexOfByte(content, byte, from, Math.max(from, limit)), 'find');
      views.push({ view, offset });
      checks += 3;
    }
    for (let a = 0; a <= 7; a++) {
      const err = native.advise(info.id, r.int(content.length + 1), r.int(content.length + 1), a === 7 ? 99 : a, r.int(2) ? 0 : PAGE * (1 + r.int(4)));
      if (a === 7) assert.notEqual(err, 0, 'bogus madvise must be refused');
    }
    for (let a = 0; a <= 6; a++) native.fadvise(info.id, r.int(content.length + 1), r.int(content.length + 1), a === 6 ? 99 : a);
    const res = native.residency(info.id, 0, content.length);
    assert.ok(res.resident <= res.pages && res.pages === Math.ceil(content.length / PAGE), 'residency');
    const state = native.state(info.id);
    assert.equal(state.size, content.length);
    assert.equal(state.currentSize, content.length);
    assert.equal(state.faults, 0);
    assert.ok(native.faults(info.id) === 0);
    expectThrow(() => native.view(info.id, content.length + 1, 0), 'RangeError', 'view past the end');
    expectThrow(() => native.view(info.id, 0, content.length + 1), 'RangeError', 'view longer than the file');
    // Views outlive their handle: close first, then read, then detach or drop.
    if (again) native.close(again.id);
    if (exclusive) {
      assert.equal(native.close(info.id), true, 'the last handle');
      assert.equal(native.close(info.id), false, 'a second close is a no-op');
    } else {
      // Other threads share the mapping (one per file per process): this
      // handle may not be the last, and a second close would drop theirs.
      assert.equal(typeof native.close(info.id), 'boolean');
    }
    for (const { view, offset } of views) {
      if (view.length > 0) assert.equal(view[view.length - 1], content[offset + view.length - 1], 'a view read after close');
      const choice = r.int(3);
      if (choice === 0) native.detach(view);
      else if (choice === 1 && keep) keep.push(view);
      // else: dropped, finalized by the garbage collector
    }
    if (exclusive) expectThrow(() => native.view(info.id, 0, 0), 'ERR_PAGEWISE_CLOSED', 'view after close');
  }
  return checks;
}

// ------------------------------------------------------------ truncation --

/** Reads every page of `view` and returns how many bytes were nonzero. */
function touchAll(view) {
  let nonZero = 0;
  for (let i = 0; i < view.length; i += 64) nonZero += view[i] === 0 ? 0 : 1;
  return nonZero;
}

// ------------------------------------------------ views that are not ours --

/** Buffers pagewise did not make are refused, and left intact. */
function detachForeign() {
  const pooled = Buffer.from('abc');
  const foreign = [pooled, pooled.subarray(1), new Uint8Array(16), new Float32Array(4), new DataView(new ArrayBuffer(8)), new ArrayBuffer(8), {}, 7];
  for (const value of foreign) expectThrow(() => native.detach(value), 'ERR_PAGEWISE_NOT_A_VIEW', `detach ${Object.prototype.toString.call(value)}`);
  assert.equal(pooled.toString(), 'abc');
  assert.equal(Buffer.from('def').toString(), 'def');
  // Detached and empty buffers are left alone, ours or not.
  const gone = new ArrayBuffer(8);
  structuredClone(gone, { transfer: [gone] });
  native.detach(gone);
  native.detach(new Uint8Array(0));
  return foreign.length + 2;
}

// ----------------------------------------------------- writable mappings --

async function writable(dir) {
  const r = rng(0x17e);
  let checks = 0;
  const path = join(dir, 'rw.bin');
  expectThrow(() => native.create(path + '\0x', 10), 'ERR_PAGEWISE_INVALID_OPTION', 'create with a NUL');
  let size = 3 * PAGE + 100;
  const m = native.create(path, size, false);
  assert.equal(m.writable, true);
  expectThrow(() => native.create(path, 10, false), 'EEXIST', 'create an existing file');
  let expected = Buffer.alloc(size);
  for (let round = 0; round < 40; round++) {
    const views = [];
    for (let k = 0; k < 1 + r.int(4); k++) {
      const offset = r.int(size);
      const length = 1 + r.int(size - offset);
      const view = native.view(m.id, offset, length);
      const byte = r.int(256);
      const at = r.int(length);
      view[at] = byte;
      expected[offset + at] = byte;
      views.push(view);
      checks++;
    }
    native.flush(m.id, r.int(size), r.int(size + 1));
    native.flush(m.id, 0, size);
    assert.ok(readFileSync(path).equals(expected), `writes reached the file (round ${round})`);
    // Views made on this thread are detached by resize.
    const next = r.int(4) === 0 ? 1 + r.int(PAGE) : PAGE + r.int(8 * PAGE);
    native.resize(m.id, next);
    for (const v of views) assert.equal(v.byteLength, 0, 'resize detached the view');
    const grown = Buffer.alloc(next);
    expected.copy(grown, 0, 0, Math.min(size, next));
    expected = grown;
    size = next;
    assert.equal(statSync(path).size, size);
    assert.equal(native.state(m.id).size, size);
    assert.equal(native.find(m.id, 0x100 - 1, 0, size), expected.indexOf(0xff));
    checks += 3;
  }
  // A view on another thread: resize refuses, and works once it is gone.
  const writer = startWorker({ role: 'writer', id: m.id });
  assert.deepEqual(await writer.next(), { ready: true });
  expectThrow(() => native.resize(m.id, size + PAGE), 'ERR_PAGEWISE_BUSY', 'resize with a view on another thread');
  writer.worker.postMessage('detach');
  assert.deepEqual(await writer.next(), { detached: true });
  await writer.exited;
  native.resize(m.id, size + PAGE);
  // Pages past a shrunken end: writes there fault, are repaired writable and counted.
  const v = native.view(m.id, 0, size + PAGE);
  truncateSync(path, PAGE);
  for (let i = PAGE; i < v.length; i += PAGE) v[i] = 1;
  assert.equal(native.faults(m.id), Math.ceil((size + PAGE) / PAGE) - 1, 'one fault per written page past the end');
  native.detach(v);
  native.close(m.id);
  expectThrow(() => native.flush(m.id, 0, 1), 'ERR_PAGEWISE_CLOSED', 'flush after close');
  const ro = native.open(path);
  expectThrow(() => native.flush(ro.id, 0, 1), 'ERR_PAGEWISE_READ_ONLY', 'flush a read-only mapping');
  expectThrow(() => native.resize(ro.id, 1), 'ERR_PAGEWISE_READ_ONLY', 'resize a read-only mapping');
  native.close(ro.id);
  return checks + 6;
}

// ---------------------------------------------------------- fault slots --

/** Past the slot limit nothing is mapped; past the first slab a truncation is still repaired. */
function faultSlots(dir) {
  const path = join(dir, 'slots.bin');
  writeFileSync(path, Buffer.alloc(4 * PAGE, 0x61));
  const m = native.open(path);
  const { inUse } = native.testing.faultSlots();
  native.testing.faultSlots(inUse + 1);
  const one = native.view(m.id, 0, PAGE);
  expectThrow(() => native.view(m.id, 0, PAGE), 'ERR_PAGEWISE_NO_FAULT_SLOT', 'a view past the limit');
  native.detach(one);
  native.testing.faultSlots(0);
  const views = [];
  for (let i = 0; i < 5000; i++) views.push(native.view(m.id, 0, 4 * PAGE));
  truncateSync(path, PAGE);
  assert.equal(touchAll(views[4999].subarray(PAGE)) + touchAll(views[0].subarray(PAGE)), 0, 'zeros past the end in views past the first slab');
  for (const v of views) native.detach(v);
  native.close(m.id);
  return 2;
}

// ---------------------------------------------------------------- worker --

if (!isMainThread) {
  const { role, seed, files, iterations, path } = workerData;
  const materialized = files?.map((f) => ({ path: f.path, content: new Uint8Array(f.content) }));
  try {
    if (role === 'mappings') {
      const keep = [];
      const checks = mappings(seed, materialized, iterations, keep, false) + kernels(seed ^ 0x5bd1e995, iterations);
      parentPort.postMessage({ checks });
    } else if (role === 'hold') {
      // Views of the main thread's mapping (the engine's pattern), kept until
      // the worker is terminated: its teardown must finalize them.
      const views = [];
      for (let i = 0; i < 64; i++) views.push(native.view(workerData.id, (i * PAGE) % (1 << 20), PAGE));
      // Handles it never closes, read-only and writable, with views: its
      // environment's cleanup hook must release them.
      for (const p of workerData.paths ?? []) {
        const ro = native.open(p);
        const rw = native.open(p, true);
        views.push(native.view(ro.id, 0, PAGE), native.view(rw.id, 0, PAGE));
      }
      parentPort.postMessage({ ready: true });
      setInterval(() => touchAll(views[0]), 1);
    } else if (role === 'writer') {
      // A view of the main thread's writable mapping: resize there must refuse.
      const view = native.view(workerData.id, 0, PAGE);
      view[1] = 0x77;
      parentPort.postMessage({ ready: true });
      parentPort.once('message', () => {
        native.detach(view);
        parentPort.postMessage({ detached: true });
      });
    } else if (role === 'truncated') {
      const info = native.open(path);
      const view = native.view(info.id, 0, info.size);
      parentPort.postMessage({ ready: true });
      parentPort.once('message', () => {
        const nonZero = touchAll(view);
        const count = native.countByte(view, 0x78);
        const found = native.find(info.id, 0x78, 20_000, info.size);
        native.detach(view);
        native.close(info.id);
        parentPort.postMessage({ nonZero, count, found });
      });
    }
  } catch (error) {
    parentPort.postMessage({ error: `${error.stack ?? error}` });
  }
} else {
  await main();
}

function startWorker(data) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { addon: addonPath, ...data } });
  const messages = [];
  const waiters = [];
  worker.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else messages.push(m);
  });
  const next = () => (messages.length > 0 ? Promise.resolve(messages.shift()) : new Promise((resolve) => waiters.push(resolve)));
  const exited = new Promise((resolve, reject) => {
    worker.on('error', reject);
    worker.on('exit', resolve);
  });
  return { worker, next, exited };
}

async function main() {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'pagewise-asan-'));
  try {
    const r = rng(0xc0ffee);
    const sizes = [1, PAGE - 1, PAGE, PAGE + 1, 3 * PAGE + 17, 1 << 20];
    const files = sizes.map((size, i) => {
      const content = Buffer.alloc(size);
      for (let k = 0; k < size; k++) content[k] = r.int(5) === 0 ? 0x0a : 0x61 + r.int(26);
      const path = join(dir, `f${i}.bin`);
      writeFileSync(path, content);
      return { path, content };
    });
    let checks = 0;

    // Error paths and the empty file.
    expectThrow(() => native.open(join(dir, 'missing')), 'ENOENT', 'open missing');
    mkdirSync(join(dir, 'sub'));
    expectThrow(() => native.open(join(dir, 'sub')), 'ERR_PAGEWISE_NOT_REGULAR_FILE', 'open a directory');
    expectThrow(() => native.state(987654), 'ERR_PAGEWISE_CLOSED', 'state of an unknown id');
    writeFileSync(join(dir, 'empty'), '');
    const empty = native.open(join(dir, 'empty'));
    assert.equal(empty.size, 0);
    assert.equal(native.view(empty.id, 0, 0).length, 0);
    assert.equal(native.find(empty.id, 0x0a, 0, 10), -1);
    assert.deepEqual(native.residency(empty.id, 0, 10), { resident: 0, pages: 0 });
    assert.equal(native.advise(empty.id, 0, 0, 4), 0);
    native.close(empty.id);

    for (let round = 0; round < ROUNDS; round++) {
      // Main thread alone. Kernels first: their buffers are exact-size heap
      // allocations, where ASan sees a read one byte too far.
      checks += kernels(7 + round, 3000);
      const keep = [];
      checks += mappings(1 + round, files, 300, keep, true);
      keep.length = 0;
      await settle('main thread');

      // Four workers and the main thread on the same files at once.
      const shared = files.map((f) => {
        const sab = new SharedArrayBuffer(f.content.length);
        new Uint8Array(sab).set(f.content);
        return { path: f.path, content: sab };
      });
      const workers = [1, 2, 3, 4].map((k) => startWorker({ role: 'mappings', seed: 1000 * k + round, files: shared, iterations: 200 }));
      const mainKeep = [];
      checks += mappings(99 + round, files, 200, mainKeep, false);
      for (const w of workers) {
        const m = await w.next();
        if (m.error) throw new Error(`worker: ${m.error}`);
        checks += m.checks;
        await w.exited;
      }
      mainKeep.length = 0;
      await settle('workers');

      // A worker terminated while it holds views of a file the main thread
      // mapped and has closed meanwhile: the mapping lives until the worker's
      // teardown finalizes its views, then goes.
      const held = native.open(files[5].path);
      const holder = startWorker({ role: 'hold', id: held.id, paths: [files[3].path, files[4].path] });
      assert.deepEqual(await holder.next(), { ready: true });
      native.close(held.id);
      assert.equal(native.stats().views >= 64, true, 'the worker holds its views');
      await holder.worker.terminate();
      await settle('terminated worker');
    }

    // Truncation: a 1 MiB file cut to 10,000 bytes while the main thread and a
    // worker both have views of all of it.
    const tpath = join(dir, 'truncated.bin');
    writeFileSync(tpath, Buffer.alloc(1 << 20, 0x78));
    const t = native.open(tpath);
    const tview = native.view(t.id, 0, t.size);
    const reader = startWorker({ role: 'truncated', path: tpath });
    assert.deepEqual(await reader.next(), { ready: true });
    truncateSync(tpath, 10_000);
    reader.worker.postMessage('go');
    const fromWorker = await reader.next();
    if (fromWorker.error) throw new Error(`truncation worker: ${fromWorker.error}`);
    await reader.exited;
    assert.equal(native.countByte(tview, 0x78), 10_000, 'main: bytes before the new end');
    assert.equal(native.find(t.id, 0x78, 10_000, t.size), -1, 'main: nothing past the new end');
    assert.equal(touchAll(tview.subarray(12_288)), 0, 'main: zeros past the new end');
    assert.equal(fromWorker.count, 10_000, 'worker: bytes before the new end');
    assert.equal(fromWorker.found, -1, 'worker: nothing past the new end');
    const pagesPast = (1 << 20) / PAGE - Math.ceil(10_000 / PAGE);
    // Once per mapping that read it: the main thread's view, the worker's, and
    // the process-wide mapping (find): views are mappings of their own.
    assert.equal(native.faults(t.id), 3 * pagesPast, 'each page past the end faulted once per mapping');
    assert.equal(native.state(t.id).currentSize, 10_000);
    native.detach(tview);
    native.close(t.id);
    await settle('truncation');
    checks += 6;

    checks += detachForeign();
    checks += await writable(dir);
    checks += faultSlots(dir);
    await settle('writable mappings');

    // A burst of views in one go, half detached (the platform-facts pattern).
    const big = native.open(files[5].path);
    for (let i = 0; i < 100_000; i++) {
      const view = native.view(big.id, (i * PAGE) % (1 << 20), 64);
      if (i % 2 === 0) native.detach(view);
      // Each view is a mapping: let the collector keep their number under vm.max_map_count.
      if (i % 10_000 === 0) gc();
    }
    native.close(big.id);
    await settle('view burst');

    // Async scans on libuv's threadpool through gates, checked against the JS
    // references, with a close() racing the scans in flight.
    const sr = rng(0x5ca1);
    for (const f of files) {
      const m = native.open(f.path);
      const gate = native.gate(1 + sr.int(3));
      const pending = [];
      for (let i = 0; i < 150; i++) {
        const offset = sr.int(f.content.length + 1);
        const length = sr.int(f.content.length - offset + 1);
        const needle = Buffer.from(['a', 'ab', 'zq', 'abcdefghijklmnopqrstuvwxyz0123456789abcdef'][sr.int(4)]);
        const slice = f.content.subarray(offset, offset + length);
        const expected = [refCountByte(slice, 0x0a, 0, slice.length), refCountLinesContaining(slice, needle, 0x0a), refCountWords(slice)];
        const ops = [{ op: 0, byte: 0x0a }, { op: 1, byte: 0x0a, needle }, { op: 2 }];
        pending.push(native.scan(m.id, offset, length, ops, sr.int(2) ? gate : undefined, sr.int(2) === 1).then((counts) => ({ counts, expected, offset, length })));
      }
      native.close(m.id);
      for (const { counts, expected, offset, length } of await Promise.all(pending)) {
        assert.deepEqual(counts, expected, `scan ${f.path} [${offset}, +${length})`);
        checks++;
      }
    }
    await settle('scans');

    // A scan over a file truncated after it was mapped reads zeros past the
    // new end on a pool thread, and the fault count says so.
    writeFileSync(tpath, Buffer.alloc(1 << 20, 0x78));
    const ts = native.open(tpath);
    truncateSync(tpath, 10_000);
    assert.deepEqual(await native.scan(ts.id, 0, ts.size, [{ op: 0, byte: 0x78 }, { op: 0, byte: 0 }], native.gate(1), true), [10_000, (1 << 20) - 10_000]);
    assert.equal(native.faults(ts.id), pagesPast, 'each page past the end faulted once on the pool thread');
    native.close(ts.id);
    await settle('truncated scan');
    checks += 2;

    console.log(
      `asan-stress: ${checks} checks, ${ROUNDS} round(s), ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        `mappings left: ${native.stats().mappings}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
