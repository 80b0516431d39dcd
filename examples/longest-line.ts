// The longest line of a file and where it starts, in TypeScript.
// Run:  npx pagewise run examples/longest-line.ts big.txt
// Not commutative: merge keeps the first of equally long lines, so it needs
// the file order pagewise guarantees.
// The import is of types only, so it is erased when the job loads: the file
// runs wherever it is copied, with or without pagewise installed next to it
// (the types need it installed, for an editor or tsc).
import type { Job } from 'pagewise';

interface Longest {
  length: number;
  offset: number;
}

export default {
  split: 'lines',
  init: () => ({ length: -1, offset: -1 }),
  map(acc, bytes, info) {
    let start = 0;
    while (start < bytes.length) {
      let end = bytes.indexOf(0x0a, start);
      if (end < 0) end = bytes.length;
      const length = end - start;
      if (length > acc.length) {
        acc.length = length;
        acc.offset = info.start + start;
      }
      start = end + 1;
    }
    return acc;
  },
  merge: (a, b) => (b.length > a.length ? b : a),
} satisfies Job<Longest>;
