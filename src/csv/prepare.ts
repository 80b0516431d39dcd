/**
 * The CSV prepare phase, exact: where each chunk's first record starts
 * depends on the quote parity of every byte before it, so before any chunk
 * is cut
 *   1. a first pass summarizes every chunk of the file in parallel, on the
 *      threads that will read it (libuv's threadpool through the addon's
 *      scan op csvSummaryChecked for a mapped file; workers otherwise, with
 *      the addon's CsvSummaryChecked or without it the JavaScript kernel):
 *      its quote count, its first `\n` for each of the two states it may
 *      start in, and the strict checks under both states (src/csv/scan.ts);
 *   2. a prefix XOR of the quote counts in file order says which state each
 *      chunk really starts in, and so its true first record boundary and
 *      which of its checks hold: a misplaced or unclosed quote is refused
 *      before `map` sees anything;
 *   3. every cut goes into the file's shared cut cache, so the second pass
 *      (any executor) cuts through the same code as for lines, with no CSV
 *      code on the read side.
 */
import { ErrorCodes, PagewiseError } from '../errors.js';
import { ScanOps, native, nativeAvailable } from '../native.js';
import { CutCache, chunkCount } from '../plan/chunks.js';
import { threadpoolSize } from '../plan/plan.js';
import { openSource } from '../run/chunk.js';
import type { RunContext } from '../run/executors/executor.js';
import type { ChunkSettings, FileRef } from '../run/messages.js';
import { releaseScanned } from '../run/pages.js';
import type { PreparedFiles, SplitPreparer } from '../run/prepare.js';
import { inOrder } from '../run/reducer.js';
import { scanRange } from './first-pass.js';
import { QuoteError, SUMMARY, badQuote, summaryFromScan } from './scan.js';
import { csvBytesOf } from './split.js';

/** A file's planned cuts: `cuts[j]` is where chunk j of the whole grid starts (`cuts[n]` = size). */
export interface CsvCuts {
  cuts: number[];
  /** End of the header record (0 without a header). */
  headerEnd: number;
}

/**
 * The prefix XOR: from the chunks' summaries (in file order) to every cut,
 * with the checks of the state each chunk really starts in.
 * @throws ERR_PAGEWISE_BAD_RECORD for the first quote that breaks the strict
 * rules, or for a quoted field open at the end (offset: its opening quote).
 */
export function csvCuts(summaries: Float64Array, size: number, chunkSize: number, header: boolean, path?: string): CsvCuts {
  const n = chunkCount(size, chunkSize);
  const S = SUMMARY.size;
  const newline = new Array<number>(n);
  let odd = 0;
  let lastOpen = -1;
  for (let j = 0; j < n; j++) {
    const at = j * S;
    const bad = summaries[at + (odd ? SUMMARY.badOdd : SUMMARY.badEven)];
    if (bad >= 0) throw badQuote(path, bad, summaries[at + (odd ? SUMMARY.badOddKind : SUMMARY.badEvenKind)]);
    newline[j] = summaries[at + (odd ? SUMMARY.newlineOdd : SUMMARY.newlineEven)];
    const open = summaries[at + (odd ? SUMMARY.openOdd : SUMMARY.openEven)];
    if (open >= 0) lastOpen = open;
    odd ^= summaries[at + SUMMARY.quotes] & 1;
  }
  if (odd) throw badQuote(path, lastOpen, QuoteError.unterminated);
  // Chunk j starts at the first record boundary at or after its nominal start.
  const cuts = new Array<number>(n + 1);
  cuts[n] = size;
  for (let j = n - 1; j >= 0; j--) cuts[j] = newline[j] >= 0 ? newline[j] + 1 : cuts[j + 1];
  const headerEnd = header ? cuts[0] : 0;
  cuts[0] = headerEnd;
  for (let j = 0; j < n; j++) {
    if (cuts[j + 1] < cuts[j]) throw new PagewiseError(ErrorCodes.INTERNAL, `CSV cuts out of order at chunk ${j} of '${path}'`, { path, index: j });
  }
  return { cuts, headerEnd };
}

/** ERR_PAGEWISE_RECORD_TOO_LONG when a chunk's first record starts more than maxRecordLength past its nominal start (or the header is longer). */
export function checkCutLengths(cuts: number[], chunkSize: number, maxRecordLength: number, path?: string): void {
  for (let j = 0; j < cuts.length - 1; j++) {
    if (cuts[j] - j * chunkSize <= maxRecordLength) continue;
    const offset = j * chunkSize;
    throw new PagewiseError(
      ErrorCodes.RECORD_TOO_LONG,
      `${path === undefined ? '' : `'${path}': `}a record containing byte offset ${offset} is longer than maxRecordLength (${maxRecordLength} bytes)`,
      { path, offset, maxRecordLength, index: j },
    );
  }
}

/** Chunks per worker task of the first pass: at least ~1 MiB of bytes, so a task's cost (~40 µs) stays small. */
function chunksPerTask(chunkSize: number): number {
  return Math.max(1, Math.floor((1 << 20) / chunkSize));
}

/**
 * Runs `steps` (tasks for workers, or scans for the threadpool), at most
 * `inFlight` at once; stops at the first error.
 */
export async function each(count: number, inFlight: number, ctx: RunContext, step: (i: number) => Promise<void>): Promise<void> {
  await inOrder(count, { inFlight, window: count, signal: ctx.signal }, step, () => {});
}

/** The addon's scan op that summarizes a CSV range (csvSummaryChecked) with the split's quote and delimiter. */
export function summaryOp(split: ChunkSettings['split']): { op: number; byte: number; needle: Uint8Array } {
  const { quote, delimiter } = csvBytesOf(split)!;
  return { op: ScanOps.csvSummaryChecked, byte: quote, needle: Uint8Array.of(delimiter) };
}

/**
 * Summarizes `[start, end)` of a mapped file on libuv's threadpool into
 * `out[at, at + SUMMARY.size)`. The scan drops its pages' entries from the
 * shared mapping whatever the release policy: kept, they made RSS the file's
 * size until the end.
 */
export async function summarizeOnPool(file: FileRef, start: number, end: number, op: ReturnType<typeof summaryOp>, out: Float64Array, at: number): Promise<void> {
  const counts = await native.scan(file.mappingId, start, end - start, [op], undefined, true);
  summaryFromScan(counts, start, out, at);
}

/** The first pass over every chunk of every file of the group; one summary array per file. */
async function summarize(files: FileRef[], ctx: RunContext): Promise<Float64Array[]> {
  const { settings, plan } = ctx;
  const cs = settings.chunkSize;
  const out = files.map((f) => new Float64Array(chunkCount(f.size, cs) * SUMMARY.size));
  const onPool = (f: FileRef): boolean => nativeAvailable && f.source === 'map';
  const op = summaryOp(settings.split);
  const steps: { k: number; first: number; count: number }[] = [];
  for (const [k, f] of files.entries()) {
    const n = chunkCount(f.size, cs);
    const per = onPool(f) ? 1 : chunksPerTask(cs);
    for (let first = 0; first < n; first += per) steps.push({ k, first, count: Math.min(per, n - first) });
  }
  const tasks = files.some((f) => !onPool(f)) ? await ctx.tasks() : undefined;
  await each(steps.length, tasks !== undefined ? 2 * plan.threads : Math.min(plan.threads, threadpoolSize()), ctx, async (i) => {
    const { k, first, count } = steps[i];
    const file = files[k];
    if (onPool(file)) {
      const { start, end } = scanRange(first, file.size, cs);
      await summarizeOnPool(file, start, end, op, out[k], first * SUMMARY.size);
      if (settings.release === 'evict') releaseScanned(settings, file, start, end);
      return;
    }
    const reply = await tasks!.call({ kind: 'scan', settings, file, first, count, control: tasks!.control });
    out[k].set(reply.summaries, first * SUMMARY.size);
  });
  return out;
}

/** The file's header record, copied off the mapping (or read). */
function readHeader(file: FileRef, end: number): Uint8Array {
  const src = openSource(file);
  try {
    const view = src.bytes(0, end);
    try {
      return view.slice();
    } finally {
      src.drop(view);
    }
  } finally {
    src.close();
  }
}

/**
 * Puts each file's cuts (`planned[k]` for `files[k]`) into its shared cut
 * cache and reads its header; the returned `verify` holds the executor's
 * chunks to exactly those cuts. Shared by the first pass and the guessed cuts.
 */
export function installCuts(files: FileRef[], planned: CsvCuts[], ctx: RunContext): PreparedFiles {
  const { header } = csvBytesOf(ctx.settings.split)!;
  let headerBytes = 0;
  for (const [k, file] of files.entries()) {
    const { cuts, headerEnd } = planned[k];
    const cache = CutCache.create(file.chunks, file.firstChunk);
    for (let j = file.firstChunk; j <= file.firstChunk + file.chunks; j++) cache.setExact(j, j, cuts[j]);
    file.cuts = cache.entries;
    if (header) {
      file.header = readHeader(file, headerEnd);
      if (file.firstChunk === 0) headerBytes += headerEnd;
    }
  }
  return {
    verify(bytesRead: number): void {
      let expected = 0;
      for (const [k, file] of files.entries()) {
        const { cuts } = planned[k];
        const first = file.firstChunk;
        const last = first + file.chunks;
        expected += cuts[last] - cuts[first];
        const cache = new CutCache(file.cuts!, first);
        for (let j = first; j <= last; j++) {
          if (cache.exact(j) !== cuts[j]) {
            throw new PagewiseError(ErrorCodes.INTERNAL, `'${file.path}': chunk ${j} was cut at ${cache.exact(j)}, not at the planned ${cuts[j]}`, { path: file.path, index: j });
          }
        }
      }
      if (bytesRead !== expected) {
        throw new PagewiseError(ErrorCodes.INTERNAL, `the chunks covered ${bytesRead} bytes of records, not the planned ${expected}: a gap or an overlap`, {});
      }
      // The headers were read too, only not given to map.
      ctx.reducer.meter.add(headerBytes, 0);
    },
  };
}

export const csvPreparer: SplitPreparer = {
  async prepare(files: FileRef[], ctx: RunContext): Promise<PreparedFiles> {
    const { settings } = ctx;
    const { header } = csvBytesOf(settings.split)!;
    const summaries = await summarize(files, ctx);
    const planned = files.map((file, k) => {
      const cuts = csvCuts(summaries[k], file.size, settings.chunkSize, header, file.path);
      checkCutLengths(cuts.cuts, settings.chunkSize, settings.maxRecordLength, file.path);
      return cuts;
    });
    return installCuts(files, planned, ctx);
  },
};
