// Count, min, max and mean of one numeric column of a CSV file, found by its
// name in the header. Records are RFC 4180 (quoted fields may hold commas,
// quotes and newlines), cut exactly whatever the chunk size and thread count.
// Run:  npx pagewise run examples/csv-column-stats.mjs data.csv --params '{"column":"price"}'
// The field walker reads the column's number straight from the bytes: no
// string and no allocation per row. A field that is empty or not a number
// (and a record too short to have the column) is counted as skipped.
import { csvColumns, csvFields } from 'pagewise';

export default {
  split: { csv: { header: true } },
  commutative: true, // sums, counts, min and max combine in any order
  init: () => ({ count: 0, sum: 0, min: Infinity, max: -Infinity, skipped: 0 }),
  map(acc, bytes, info) {
    const name = info.params?.column;
    const column = csvColumns(info.header, info).indexOf(name);
    if (column < 0) throw new Error(`no column named ${JSON.stringify(name)} in the header (give it as --params '{"column":"NAME"}')`);
    const fields = csvFields(bytes, info);
    while (fields.nextRecord()) {
      const value = fields.skipFields(column) && fields.nextField() ? fields.number() : NaN;
      if (Number.isNaN(value)) {
        acc.skipped++;
        continue;
      }
      acc.count++;
      acc.sum += value;
      if (value < acc.min) acc.min = value;
      if (value > acc.max) acc.max = value;
    }
    return acc;
  },
  merge: (a, b) => ({
    count: a.count + b.count,
    sum: a.sum + b.sum,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    skipped: a.skipped + b.skipped,
  }),
  finish: (acc, params) => ({
    column: params?.column,
    count: acc.count,
    min: acc.count > 0 ? acc.min : null,
    max: acc.count > 0 ? acc.max : null,
    mean: acc.count > 0 ? acc.sum / acc.count : null,
    skipped: acc.skipped,
  }),
};
