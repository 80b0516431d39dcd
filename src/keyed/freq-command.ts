/**
 * `pagewise freq` over the keyed shuffle, so that it works for any number
 * of distinct words in bounded memory: `--top K` keeps the K best rows of
 * each key range (no full sort), `--all` writes every word in freq's order
 * (count descending, then word bytes ascending) as text lines or JSON lines.
 * What the CLI's `freq` command calls.
 */
import { ErrorCodes, PagewiseError } from '../errors.js';
import { builtinJobs } from '../jobs/index.js';
import { freqRow, freqRowJson, type FreqRow } from '../jobs/freq.js';
import { INTERNAL, type MapReduceOptions } from '../options.js';
import { runJob, type RunStats } from '../run/pipeline.js';
import { openOutput, type OutputTarget } from './output.js';

/** What `runFreq` is asked for. */
export interface FreqRequest {
  /** The K most frequent words (default 10); ignored with `all`. */
  top?: number;
  /** Every word, written to `output` (required then). */
  all?: boolean;
  /** `'text'` (freq's `count word` lines, the counts right-aligned) or `'json'`. Default text. */
  format?: 'text' | 'json';
  /** Where the rows go: a path (written atomically), `'-'` or a Node Writable. Without `all`, optional. */
  output?: OutputTarget;
}

/**
 * freq's output of `rows` as bytes: text lines (counts right-aligned to the
 * widest, each word's own bytes, as `uniq -c` prints them) or one JSON array
 * (a word that is not UTF-8 as `"bytes"`, base64).
 */
export function formatFreqRows(rows: readonly FreqRow[], format: 'text' | 'json'): Uint8Array {
  if (format === 'json') return Buffer.from(`[${rows.map(freqRowJson).join(',')}]\n`);
  const width = rows.length > 0 ? String(rows[0].count).length : 1;
  return Buffer.concat(rows.flatMap((r) => [Buffer.from(`${String(r.count).padStart(width)} `), r.bytes ?? Buffer.from(r.word), NEWLINE]));
}

const NEWLINE = Buffer.from('\n');

/**
 * Word frequencies of `input`: the `top` rows (returned, and written to
 * `output` if given, in freq's usual format: text lines, or one JSON array),
 * or with `all` every word written to `output` (text lines, or JSON lines
 * `{"word":...,"count":...}`). Spills to `options.tempDir` beyond the memory
 * budget.
 * @throws what `runJob` throws; ERR_PAGEWISE_INVALID_OPTION for `all` without `output`.
 */
export async function runFreq(
  input: string | readonly string[],
  request: FreqRequest,
  options: Omit<MapReduceOptions, 'output' | 'params'> = {},
): Promise<{ rows: FreqRow[] | undefined; stats: RunStats }> {
  const format = request.format ?? 'text';
  const top = request.all ? undefined : (request.top ?? 10);
  if (request.all && request.output === undefined) {
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, 'runFreq with all: true writes every word: give it an output', { option: 'output' });
  }
  if (top !== undefined && !(Number.isSafeInteger(top) && top >= 0)) {
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, `top must be a non-negative integer, got ${String(top)}`, { option: 'top' });
  }
  const internal = { keyedResult: { kind: 'by-value' as const, format, top } };
  const report = await runJob(input, builtinJobs.wordCounts, {
    ...options,
    ...(request.all ? { output: request.output } : {}),
    [INTERNAL]: { ...((options as Record<symbol, unknown>)[INTERNAL] as object | undefined), ...internal },
  } as MapReduceOptions);
  if (top === undefined) return { rows: undefined, stats: report.stats };
  const best = report.result as unknown as { key: Uint8Array; value: number }[];
  const rows = best.map((r) => freqRow(r.key, r.value));
  if (request.output !== undefined) {
    const sink = openOutput(request.output, false);
    try {
      await sink.write(formatFreqRows(rows, format));
      await sink.commit();
    } catch (error) {
      await sink.abort();
      throw error;
    }
  }
  return { rows, stats: report.stats };
}
