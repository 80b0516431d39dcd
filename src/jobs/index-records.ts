/**
 * The `index` job: the byte offset of every record, as little-endian u64, in
 * file order, through the run's output (`pagewise index FILE --output
 * FILE.idx`; read it back with `RecordIndex`). params:
 * `{ terminator?: number, recordSize?: number }` (default: lines, 0x0a); the
 * run's split must be the same record kind (the CLI and `buildIndex` set
 * both). Commutative: each chunk writes its own offsets at its place in the
 * output whichever worker reads it, and the accumulator is only a count.
 */
import { native } from '../native.js';
import type { Job } from '../types.js';

export interface IndexParams {
  terminator?: number;
  recordSize?: number;
}

export interface IndexAcc {
  records: number;
}

const TWO_32 = 4294967296;

const index: Job<IndexAcc> = {
  split: 'lines',
  commutative: true,
  init: () => ({ records: 0 }),
  map(acc, bytes, info) {
    const p = (info.params ?? {}) as IndexParams;
    const n = bytes.length;
    if (n === 0) return acc;
    let out: DataView;
    let count = 0;
    const put = (offset: number): void => {
      out.setUint32(count * 8, offset % TWO_32, true);
      out.setUint32(count * 8 + 4, Math.floor(offset / TWO_32), true);
      count++;
    };
    if (p.recordSize !== undefined) {
      const records = Math.ceil(n / p.recordSize);
      out = new DataView(new ArrayBuffer(records * 8));
      for (let at = 0; at < n; at += p.recordSize) put(info.start + at);
    } else {
      const term = p.terminator ?? 0x0a;
      // A record starts at the slice's start (slices hold whole records) and
      // after every terminator but a last one at the slice's end.
      const records = 1 + native.countByte(bytes, term, 0, n - 1);
      out = new DataView(new ArrayBuffer(records * 8));
      put(info.start);
      for (let i = 0; i < n - 1; i++) if (bytes[i] === term) put(info.start + i + 1);
    }
    info.write(new Uint8Array(out.buffer, 0, count * 8));
    acc.records += count;
    return acc;
  },
  merge: (a, b) => ({ records: a.records + b.records }),
};

export default index;
