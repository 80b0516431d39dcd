/**
 * The CSV split kind's options: what a job declares (`'csv'` or
 * `{ csv: { quote, delimiter, header } }`) and the bytes the scanners use.
 */
import type { CsvSplitOptions, Split } from '../types.js';

/** A CSV split with every option filled in (what a run's plan holds). */
export interface ResolvedCsvSplit {
  csv: Required<CsvSplitOptions>;
}

/** The CSV options as bytes, for the scanners. */
export interface CsvBytes {
  quote: number;
  delimiter: number;
  header: boolean;
}

export const CSV_DEFAULTS: Required<CsvSplitOptions> = { quote: '"', delimiter: ',', header: false };

/** True for both CSV forms. */
export function isCsv(split: Split): split is 'csv' | ResolvedCsvSplit {
  return split === 'csv' || (typeof split === 'object' && split !== null && 'csv' in split);
}

/** The split with every CSV option filled in; other kinds unchanged. */
export function resolveSplit(split: Split): Split {
  if (!isCsv(split)) return split;
  const given = split === 'csv' ? {} : split.csv;
  return { csv: { ...CSV_DEFAULTS, ...given } };
}

/** The CSV options of a CSV split as bytes; undefined for other kinds. */
export function csvBytesOf(split: Split): CsvBytes | undefined {
  if (!isCsv(split)) return undefined;
  const o = split === 'csv' ? CSV_DEFAULTS : { ...CSV_DEFAULTS, ...split.csv };
  return { quote: o.quote.charCodeAt(0), delimiter: o.delimiter.charCodeAt(0), header: o.header };
}
