// A job that reads nothing: its run is start-up, the split's cutting (for
// CSV, the guessed cuts' windows, and since it never walks its records, the
// summary kernel's proof of each chunk) and one call per chunk. The
// csv-first-pass bench times it against csv-noop-lines.mjs.
export function noopJob(split) {
  return {
    split,
    commutative: true,
    init: () => ({ bytes: 0 }),
    map(acc, bytes) {
      acc.bytes += bytes.length;
      return acc;
    },
    merge: (a, b) => ({ bytes: a.bytes + b.bytes }),
  };
}
export default noopJob('csv');
