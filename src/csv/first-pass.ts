/**
 * The CSV first pass as it runs on a thread that reads (a worker): summaries
 * of chunks of a file, through the same ChunkSource, prefetch and release as
 * the chunk lifecycle, and the strict checks of the records they cut.
 * With the addon, the summaries are its CsvChunkSummary (AVX2, parity only)
 * and the checks its CsvCheckQuotes over each chunk's records once the prefix
 * XOR has placed them; without it, one JavaScript pass does both
 * (summarizeCsv). Planning from the summaries is src/csv/prepare.ts.
 */
import { native, nativeAvailable } from '../native.js';
import { chunkCount } from '../plan/chunks.js';
import type { ChunkSource } from '../run/chunk.js';
import type { ChunkSettings } from '../run/messages.js';
import { releaseScanned } from '../run/pages.js';
import { QuoteError, SUMMARY, parityOnlySummary, summarizeCsv } from './scan.js';
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
 * (SUMMARY.size numbers each): the JavaScript first pass, run in a worker.
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
      if (nativeAvailable) {
        const s = native.csvChunkSummary(bytes.subarray(start - viewStart, end - viewStart), quote);
        parityOnlySummary(s.quotes, s.firstNewlineEven, s.firstNewlineOdd, start, out, k * SUMMARY.size);
      } else {
        summarizeCsv(bytes, start - viewStart, end - viewStart, quote, delimiter, viewStart, out, k * SUMMARY.size);
      }
    } finally {
      src.drop(bytes);
    }
    // Pages read back to zeros after a truncation would make a wrong summary: say what happened instead.
    src.checkIntact();
    releaseScanned(settings, src.file, start, end);
  }
}


/**
 * The strict checks of whole records `[start, end)` (a record start to a
 * record end, or the file's end): the first bad quote's file offset and its
 * kind (QuoteError), or -1 and 0. A range longer than `piece` (a record of
 * many chunks) is checked piece by piece with the JavaScript kernel, parity
 * carried, so that no view has to hold it whole.
 */
export function checkRecords(src: ChunkSource, settings: ChunkSettings, start: number, end: number, piece: number): [number, number] {
  const { quote, delimiter } = csvBytesOf(settings.split)!;
  if (end - start <= piece && nativeAvailable) {
    const bytes = src.bytes(start, end);
    try {
      const e = native.csvCheckQuotes(bytes, quote, delimiter);
      return e.kind === QuoteError.none ? [-1, 0] : [start + e.offset, e.kind];
    } finally {
      src.drop(bytes);
    }
  }
  const size = src.file.size;
  const out = new Float64Array(SUMMARY.size);
  let odd = false;
  let open = -1;
  for (let at = start; at < end; at += piece) {
    const to = Math.min(end, at + piece);
    // The range's first byte starts a record: it has no byte before it to look at.
    const viewStart = at === start ? at : at - 1;
    const bytes = src.bytes(viewStart, Math.min(size, to + 2));
    try {
      // The checks look past `end` only at the file's end or at the record's `\n`.
      summarizeCsv(bytes, at - viewStart, to - viewStart, quote, delimiter, viewStart, out, 0);
    } finally {
      src.drop(bytes);
    }
    const bad = out[odd ? SUMMARY.badOdd : SUMMARY.badEven];
    if (bad >= 0) return [bad, out[odd ? SUMMARY.badOddKind : SUMMARY.badEvenKind]];
    const opened = out[odd ? SUMMARY.openOdd : SUMMARY.openEven];
    if (opened >= 0) open = opened;
    if (out[SUMMARY.quotes] % 2 === 1) odd = !odd;
  }
  return odd ? [open, QuoteError.unterminated] : [-1, 0];
}
