// The "traditional" parallel 1BRC in Node: worker_threads, each fs.read-ing
// its own byte range into its own buffer, decoding to strings, splitting lines,
// one Map per worker, merged on the main thread. What a careful developer
// writes without mmap or byte-level parsing.
//
//   node bench/peers/traditional-stats.mjs FILE [THREADS]
//     -> JSON [{ name, min, mean, max, count }] sorted by name
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const BLOCK = 4 << 20;

/** The first line start at or after `pos`: just past the first newline at or after pos - 1. */
function lineStartAtOrAfter(fd, pos, size) {
  if (pos <= 0) return 0;
  const probe = Buffer.allocUnsafe(64 << 10);
  for (let at = pos - 1; at < size; at += probe.length) {
    const n = readSync(fd, probe, 0, probe.length, at);
    const i = probe.subarray(0, n).indexOf(0x0a);
    if (i >= 0) return at + i + 1;
    if (n === 0) break;
  }
  return size;
}

/** Summarizes the lines that start in [start, end) of the file. */
function summarize(file, start, end) {
  const fd = openSync(file, 'r');
  const size = fstatSync(fd).size;
  const from = lineStartAtOrAfter(fd, start, size);
  const to = lineStartAtOrAfter(fd, end, size);
  const buf = Buffer.allocUnsafe(BLOCK);
  const stations = new Map();
  let pos = from;
  while (pos < to) {
    const n = readSync(fd, buf, 0, Math.min(BLOCK, to - pos), pos);
    if (n === 0) break;
    // Decode only whole lines; the partial tail is read again with the next block.
    let cut = buf.lastIndexOf(0x0a, n - 1) + 1;
    if (cut === 0 || pos + n === to) cut = n;
    const lines = buf.toString('utf8', 0, cut).split('\n');
    for (const line of lines) {
      if (line === '') continue;
      const semi = line.indexOf(';');
      const name = line.slice(0, semi);
      const value = parseFloat(line.slice(semi + 1));
      const s = stations.get(name);
      if (s === undefined) stations.set(name, { min: value, max: value, sum: value, count: 1 });
      else {
        if (value < s.min) s.min = value;
        if (value > s.max) s.max = value;
        s.sum += value;
        s.count++;
      }
    }
    pos += cut;
  }
  closeSync(fd);
  return stations;
}

if (isMainThread) {
  const file = process.argv[2];
  const threads = Number(process.argv[3] ?? availableParallelism());
  if (!file || !(threads >= 1)) {
    console.error('usage: traditional-stats.mjs FILE [THREADS]');
    process.exit(2);
  }
  const fd = openSync(file, 'r');
  const size = fstatSync(fd).size;
  closeSync(fd);
  const parts = await Promise.all(
    Array.from({ length: threads }, (_, i) => {
      const start = Math.floor((size * i) / threads);
      const end = Math.floor((size * (i + 1)) / threads);
      return new Promise((resolve, reject) => {
        const w = new Worker(new URL(import.meta.url), { workerData: { file, start, end } });
        w.once('message', resolve);
        w.once('error', reject);
      });
    }),
  );
  const all = new Map();
  for (const part of parts) {
    for (const [name, s] of part) {
      const t = all.get(name);
      if (t === undefined) all.set(name, s);
      else {
        if (s.min < t.min) t.min = s.min;
        if (s.max > t.max) t.max = s.max;
        t.sum += s.sum;
        t.count += s.count;
      }
    }
  }
  const rows = [...all].map(([name, s]) => ({ name, min: s.min, mean: s.sum / s.count, max: s.max, count: s.count }));
  rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  process.stdout.write(`${JSON.stringify(rows)}\n`);
} else {
  const { file, start, end } = workerData;
  parentPort.postMessage(summarize(file, start, end));
}
