// Count, min, max, sum and mean of one CSV column (params.index), the same
// loop whatever the split: the csv-* benches time this with split: 'csv'
// (and a header) against the same job with split: 'lines' (csv-column-lines.mjs)
// on a file without newlines inside quotes, so that the difference is the
// price of exact CSV cutting. examples/csv-column-stats.mjs is the same loop,
// finding its column by name.
import { csvFields } from 'pagewise';

export function columnJob(split) {
  const lines = split === 'lines';
  return {
    split,
    commutative: true,
    init: () => ({ count: 0, sum: 0, min: Infinity, max: -Infinity }),
    map(acc, bytes, info) {
      const column = info.params.index;
      const f = csvFields(bytes, info);
      // With split 'lines' the header is the first record of the file.
      if (lines && info.start === 0) f.nextRecord();
      while (f.nextRecord()) {
        if (!(f.skipFields(column) && f.nextField())) continue;
        const v = f.number();
        if (v !== v) continue; // NaN: empty or not a number
        acc.count++;
        acc.sum += v;
        if (v < acc.min) acc.min = v;
        if (v > acc.max) acc.max = v;
      }
      return acc;
    },
    merge: (a, b) => ({ count: a.count + b.count, sum: a.sum + b.sum, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) }),
    finish: (acc) => ({ ...acc, mean: acc.count ? acc.sum / acc.count : null }),
  };
}

export default columnJob({ csv: { header: true } });
