// A/B of view designs (docs/design.md, "Views"): what one chunk's view costs
// to make, read (one byte per page: the faults) and release, and what stays
// mapped after a pass over the file. Designs, alternated within each round:
//   slice       a slice of the shared read-only mapping (the design before
//               per-view mappings), page-table entries kept until close
//   slice+drop  the same, MADV_DONTNEED behind each chunk (release: 'unmap')
//   view        a private mapping per view, munmap at detach on the caller
//               (a design handing munmap to a reaper thread was measured
//               too, with this script at commit 6f277e7; docs/design.md)
//   sab         one SharedArrayBuffer over the shared mapping, a Uint8Array
//               per chunk, entries kept (Node 24.16+ only)
//   sab+drop    the same, MADV_DONTNEED behind each chunk
// Every design starts each pass with the shared mapping's entries dropped, so
// each pass faults every page once, as one run does.
//
//   PAGEWISE_TEST_HOOKS=1 node scripts/bench-views.mjs [--size 1GiB] [--rounds 5] [--busy] [--file PATH]
//
// --busy runs a second thread of the process that keeps reading, so that an
// munmap has another CPU's TLB to shoot down, as it has with several workers.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const { native, Madvise } = await import(new URL('../dist/src/native.js', import.meta.url).href);
const testing = native.testing;
if (!testing) {
  console.error('bench-views: run with PAGEWISE_TEST_HOOKS=1');
  process.exit(2);
}
const PAGE = native.pageSize();

if (!isMainThread) {
  // The busy sibling: reads its own views of the file until told to stop.
  const m = native.open(workerData.path);
  const stop = new Int32Array(workerData.stop);
  let sum = 0;
  while (Atomics.load(stop, 0) === 0) {
    const v = native.view(m.id, 0, Math.min(m.size, 1 << 20));
    for (let i = 0; i < v.length; i += PAGE) sum += v[i];
    native.detach(v);
  }
  native.close(m.id);
  parentPort.postMessage(sum);
} else {
  await main();
}

function parseSize(text) {
  const m = /^(\d+)(KiB|MiB|GiB)?$/.exec(text);
  if (!m) throw new Error(`bad size ${text}`);
  return Number(m[1]) * { undefined: 1, KiB: 1024, MiB: 1 << 20, GiB: 1 << 30 }[m[2]];
}

function rssBytes() {
  return process.memoryUsage().rss;
}

function touch(view) {
  let sum = 0;
  for (let i = 0; i < view.length; i += PAGE) sum += view[i];
  return sum;
}

/** One pass over the file in views of `size` bytes; ns per view, CPU ns per view, RSS after. */
function pass(design, m, size, sab) {
  native.advise(m.id, 0, m.size, Madvise.dontneed);
  const rss0 = rssBytes();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let views = 0;
  for (let at = 0; at + size <= m.size; at += size) {
    let v;
    if (design.startsWith('slice')) v = testing.sliceView(m.id, at, size);
    else if (design.startsWith('sab')) v = new Uint8Array(sab, at, size);
    else v = native.view(m.id, at, size);
    touch(v);
    if (design.startsWith('slice')) testing.detachAny(v);
    else if (design.startsWith('view')) native.detach(v);
    if (design.endsWith('+drop')) native.advise(m.id, at, size, Madvise.dontneed);
    views++;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  return { perView: ns / views, cpuPerView: ((cpu.user + cpu.system) * 1000) / views, rssGrowth: rssBytes() - rss0 };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const { values } = parseArgs({ options: { size: { type: 'string', default: '1GiB' }, rounds: { type: 'string', default: '5' }, busy: { type: 'boolean' }, file: { type: 'string' } } });
  const fileSize = parseSize(values.size);
  const rounds = Number(values.rounds);
  const dir = values.file ? undefined : mkdtempSync(join(tmpdir(), 'pagewise-bench-views-'));
  const path = values.file ?? join(dir, 'data.bin');
  let busy;
  try {
    if (!values.file) {
      const fd = openSync(path, 'w');
      const block = Buffer.alloc(1 << 20, 0x61);
      for (let at = 0; at < fileSize; at += block.length) writeSync(fd, block);
      closeSync(fd);
    }
    // Warm: every page in the page cache before any timing.
    const fd = openSync(path, 'r');
    const block = Buffer.alloc(1 << 20);
    while (readSync(fd, block) > 0);
    closeSync(fd);
    const m = native.open(path);
    let sab;
    try {
      sab = testing.sharedBuffer(m.id);
    } catch {
      sab = undefined;
    }
    if (values.busy) {
      const stop = new SharedArrayBuffer(4);
      busy = { stop: new Int32Array(stop), worker: new Worker(new URL(import.meta.url), { workerData: { path, stop } }) };
    }
    const designs = ['slice', 'slice+drop', 'view', ...(sab ? ['sab', 'sab+drop'] : [])];
    console.log(`# ${process.version}, file ${fileSize >> 20} MiB, ${rounds} rounds, busy sibling: ${Boolean(values.busy)}`);
    console.log('| view size | design | µs per view (median) | CPU µs per view | µs per MiB | RSS growth after a pass |');
    console.log('|---|---|---|---|---|---|');
    for (const size of [16 << 20, 64 << 10]) {
      const results = new Map(designs.map((d) => [d, []]));
      for (let round = 0; round < rounds; round++) {
        // Rotate the order each round so no design always runs first or last.
        for (let k = 0; k < designs.length; k++) {
          const design = designs[(k + round) % designs.length];
          results.get(design).push(pass(design, m, size, sab));
        }
      }
      for (const d of designs) {
        const r = results.get(d);
        const us = median(r.map((x) => x.perView)) / 1000;
        const cpu = median(r.map((x) => x.cpuPerView)) / 1000;
        const rss = median(r.map((x) => x.rssGrowth));
        // Process CPU: with a busy sibling it counts the sibling too.
        const cpuText = values.busy ? '-' : cpu.toFixed(1);
        console.log(`| ${size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`} | ${d} | ${us.toFixed(1)} | ${cpuText} | ${(us / (size / (1 << 20))).toFixed(1)} | ${(rss / (1 << 20)).toFixed(0)} MiB |`);
      }
    }
    native.close(m.id);
  } finally {
    if (busy) {
      Atomics.store(busy.stop, 0, 1);
      await new Promise((r) => busy.worker.once('exit', r));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
