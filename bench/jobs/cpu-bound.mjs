// A CPU-bound pagewise job for the scaling bench: real arithmetic on every
// byte (a multiply-xorshift hash per line, murmur-style mixing per byte), so
// that memory bandwidth is never the limit and two threads should do twice
// the work of one. Commutative: the result is a count and an XOR/sum of
// per-line hashes, independent of how the file is cut.
//
//   pagewise run bench/jobs/cpu-bound.mjs FILE --threads N --json
export default {
  split: 'lines',
  commutative: true,
  init: () => ({ lines: 0, xor: 0, sum: 0 }),
  map(acc, bytes) {
    let h = 0x811c9dc5 | 0;
    let xor = acc.xor | 0;
    let sum = acc.sum | 0;
    let lines = acc.lines;
    const n = bytes.length;
    let j = 0; // position in the line: chunks start on line boundaries, so this is cut-independent
    for (let i = 0; i < n; i++) {
      const b = bytes[i];
      if (b === 0x0a) {
        // finalize (murmur3 fmix32) and fold the line's hash in
        h ^= h >>> 16;
        h = Math.imul(h, 0x85ebca6b);
        h ^= h >>> 13;
        h = Math.imul(h, 0xc2b2ae35);
        h ^= h >>> 16;
        xor ^= h;
        sum = (sum + h) | 0;
        lines++;
        h = 0x811c9dc5 | 0;
        j = 0;
      } else {
        let k = Math.imul(b + j++, 0xcc9e2d51);
        k = (k << 15) | (k >>> 17);
        k = Math.imul(k, 0x1b873593);
        h ^= k;
        h = (h << 13) | (h >>> 19);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      }
    }
    acc.xor = xor;
    acc.sum = sum;
    acc.lines = lines;
    return acc;
  },
  merge(a, b) {
    return { lines: a.lines + b.lines, xor: a.xor ^ b.xor, sum: (a.sum + b.sum) | 0 };
  },
  finish: (acc) => ({ lines: acc.lines, xor: acc.xor >>> 0, sum: acc.sum >>> 0 }),
};
