// pwrite against a writable mapping for the writer's job: blocks of output
// written at their offsets in a new file, then made durable. A: pwrite
// (fs.writeSync at a position) of each block, fdatasync. B: the file made at
// its final size (MappedFile.create: posix_fallocate), each block copied into
// a view of its range, msync (flush). B needs the addon's writable mappings
// (MappedFile.create); it is skipped without them. One thread; alternating
// A and B; the file is removed between runs.
//   node bench/micro/write-path.mjs --size 1GiB --block 8MiB --reps 5 [--dir /tmp]
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { size: { type: 'string', default: '1GiB' }, block: { type: 'string', default: '8MiB' }, reps: { type: 'string', default: '5' }, dir: { type: 'string', default: '/tmp' } } });
const here = resolve(import.meta.dirname, '..', '..');
const { MappedFile, parseSize } = await import(join(here, 'dist/src/index.js'));
const size = parseSize(values.size);
const blockSize = parseSize(values.block);
const reps = Number(values.reps);
const path = join(values.dir, `pagewise-write-path-${process.pid}.bin`);
const block = Buffer.alloc(blockSize, 'pagewise writes this block\n');

function pwrite() {
  const fd = openSync(path, 'w');
  try {
    for (let at = 0; at < size; at += blockSize) {
      const n = Math.min(blockSize, size - at);
      let done = 0;
      while (done < n) done += writeSync(fd, block, done, n - done, at + done);
    }
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function mapped() {
  const file = MappedFile.create(path, size, { overwrite: true });
  try {
    for (let at = 0; at < size; at += blockSize) {
      const n = Math.min(blockSize, size - at);
      const view = file.view(at, n);
      view.set(block.subarray(0, n));
      MappedFile.detach(view);
    }
    file.flush();
  } finally {
    file.close();
  }
}

const sides = { pwrite, ...(typeof MappedFile.create === 'function' ? { mapped } : {}) };
const times = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
for (let r = 0; r < reps; r++) {
  const order = r % 2 === 0 ? Object.keys(sides) : Object.keys(sides).reverse();
  for (const name of order) {
    const t0 = performance.now();
    sides[name]();
    times[name].push((performance.now() - t0) / 1000);
    rmSync(path, { force: true });
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const result = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, { median: +median(v).toFixed(3), runs: v.map((t) => +t.toFixed(3)), gbPerSecond: +(size / median(v) / 1e9).toFixed(2) }]));
console.log(JSON.stringify({ size, blockSize, reps, ...result }));
