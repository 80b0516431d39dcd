/**
 * The CSV first pass as it runs on a thread that reads (a worker, for files
 * that are not mapped): summaries of chunks of a file, through the same
 * ChunkSource, prefetch and release as the chunk lifecycle. Each is one pass
 * that makes the strict checks too: the addon's CsvSummaryChecked, or
 * without it summarizeCsv (the same answer). Planning from the summaries is
 * src/csv/prepare.ts.
 */
import { native, nativeAvailable } from '../native.js';
import { chunkCount } from '../plan/chunks.js';
import type { ChunkSource } from '../run/chunk.js';
import type { ChunkSettings } from '../run/messages.js';
import { releaseScanned } from '../run/pages.js';
import { SUMMARY, summarizeCsv } from './scan.js';
import { csvBytesOf } from './split.js';

/**
 * The range the first pass summarizes for chunk j: from the byte before its
 * nominal start (a `\n` there makes the nominal start a record start) to the
 * byte before the next chunk's; the last one runs to the end. The ranges
 * tile the file, so their parities add up.
 */
export function scanRange(j: number, size: number, chunkSize: number): { start: number; end: number } {
  const start = j === 0 ? 0 : j * chunkSize - 1;
  const end = j >= chunkCount(size, chunkSize) - 1 ? size : (j + 1) * chunkSize - 1;
  return { start, end };
}

/**
 * Summarizes chunks [first, first + count) of the source's file into `out`
 * (SUMMARY.size numbers each), in a worker.
 */
export function scanChunks(src: ChunkSource, settings: ChunkSettings, first: number, count: number, out: Float64Array): void {
  const { quote, delimiter } = csvBytesOf(settings.split)!;
  const { size } = src.file;
  for (let k = 0; k < count; k++) {
    const j = first + k;
    const { start, end } = scanRange(j, size, settings.chunkSize);
    src.checkIntact();
    src.prefetch(settings, j);
    // The strict checks look at the byte before a quote and the two after it.
    const viewStart = Math.max(0, start - 1);
    const bytes = src.bytes(viewStart, Math.min(size, end + 2));
    try {
      const summarize = nativeAvailable ? native.csvSummaryChecked : summarizeCsv;
      summarize(bytes, start - viewStart, end - viewStart, quote, delimiter, viewStart, out, k * SUMMARY.size);
    } finally {
      src.drop(bytes);
    }
    // Pages read back to zeros after a truncation would make a wrong summary: say what happened instead.
    src.checkIntact();
    releaseScanned(settings, src.file, start, end);
  }
}

