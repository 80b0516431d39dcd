// Random access: READS random 4-byte reads at uniformly random offsets of a
// file, either with one fs.readSync per read or through a MappedFile view
// (one view of the whole file, read with a DataView). The offsets are drawn
// from a seeded generator before the clock starts; both modes sum what they
// read, so the harness can check that they agree.
//
//   node bench/micro/random-access.mjs make FILE BYTES        write BYTES of pseudo-random data
//   node bench/micro/random-access.mjs readSync|view FILE [READS] [SEED]
//     -> JSON { mode, reads, bytes, seconds, checksum }
import { openSync, readSync, closeSync, fstatSync, writeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';

const [mode, file, arg3, arg4] = process.argv.slice(2);

if (mode === 'make') {
  const total = Number(arg3);
  const fd = openSync(file, 'w');
  const buf = Buffer.allocUnsafe(16 << 20);
  for (let done = 0; done < total; ) {
    const n = Math.min(buf.length, total - done);
    randomFillSync(buf, 0, n);
    writeSync(fd, buf, 0, n);
    done += n;
  }
  closeSync(fd);
  process.exit(0);
}

if ((mode !== 'readSync' && mode !== 'view') || !file) {
  console.error('usage: random-access.mjs make FILE BYTES | random-access.mjs readSync|view FILE [READS] [SEED]');
  process.exit(2);
}
const reads = Number(arg3 ?? 1_000_000);
let seed = Number(arg4 ?? 42) >>> 0 || 1;

const fd0 = openSync(file, 'r');
const size = fstatSync(fd0).size;
closeSync(fd0);
if (size < 4) throw new Error('file too small');

// xorshift32 -> offsets in [0, size - 4]
const offsets = new Float64Array(reads);
const span = size - 3;
for (let i = 0; i < reads; i++) {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  // two draws for offsets beyond 2^32
  let hi = seed;
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  offsets[i] = Math.floor(((hi * 4294967296 + seed) / 18446744073709551616) * span);
}

let checksum = 0;
let seconds;
if (mode === 'readSync') {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(4);
  const t0 = performance.now();
  for (let i = 0; i < reads; i++) {
    readSync(fd, buf, 0, 4, offsets[i]);
    checksum = (checksum + buf.readUInt32LE(0)) >>> 0;
  }
  seconds = (performance.now() - t0) / 1000;
  closeSync(fd);
} else {
  const { MappedFile } = await import(new URL('../../dist/src/index.js', import.meta.url).href);
  const t0 = performance.now();
  const mf = MappedFile.open(file);
  const view = mf.view(0, mf.size);
  const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
  for (let i = 0; i < reads; i++) {
    checksum = (checksum + dv.getUint32(offsets[i], true)) >>> 0;
  }
  seconds = (performance.now() - t0) / 1000;
  MappedFile.detach(view);
  mf.close();
}
process.stdout.write(`${JSON.stringify({ mode, reads, bytes: size, seconds, checksum })}\n`);
