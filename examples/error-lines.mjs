// Lines, and lines containing params.needle (default "ERROR"), in a log:
// `grep -c` and `wc -l` in one pass. `map` counts in JavaScript; `kernel`
// says the same counts can come from the addon's byte kernels, so on a mapped
// file pagewise runs them on native threads and starts no worker.
//
//   npx pagewise run examples/error-lines.mjs app.log --json
//   npx pagewise run examples/error-lines.mjs app.log --json --params '{"needle":"WARN"}'
const encoder = new TextEncoder();

function needleOf(params) {
  return encoder.encode(params?.needle ?? 'ERROR');
}

export default {
  split: 'lines',
  commutative: true,
  init: () => ({ lines: 0, matching: 0 }),
  map(acc, bytes, info) {
    const needle = Buffer.from(needleOf(info.params));
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf(0x0a, start);
      if (end < 0) end = text.length;
      else acc.lines++;
      if (text.subarray(start, end).includes(needle)) acc.matching++;
      start = end + 1;
    }
    return acc;
  },
  kernel(params) {
    return {
      ops: [
        { op: 'countByte', byte: 0x0a },
        { op: 'countRecordsContaining', needle: needleOf(params), terminator: 0x0a },
      ],
      fold(acc, [lines, matching]) {
        acc.lines += lines;
        acc.matching += matching;
        return acc;
      },
    };
  },
  merge: (a, b) => ({ lines: a.lines + b.lines, matching: a.matching + b.matching }),
};
