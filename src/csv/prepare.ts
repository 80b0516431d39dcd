/**
 * The CSV prepare phase, exact: where each chunk's first record starts
 * depends on the quote parity of every byte before it, so before any chunk
 * is cut
 *   1. a first pass summarizes every chunk of the file in parallel, on the
 *      threads that will read it (workers with the JavaScript kernel; the
 *      addon's scan on libuv's threadpool once it has a CSV op): its quote
 *      count and its first `\n` for each of the two states it may start in;
 *   2. a prefix XOR of the quote counts in file order says which state each
 *      chunk really starts in, and so its true first record boundary;
 *   3. every cut goes into the file's shared cut cache, so the second pass
 *      (any executor) cuts through the same code as for lines, with no CSV
 *      code on the read side.
 * The strict checks (src/csv/scan.ts) ride along in the first pass, so a
 * misplaced or unclosed quote is refused before `map` sees anything.
 */
import { ErrorCodes, PagewiseError } from '../errors.js';
import { native } from '../native.js';
import { CutCache, chunkCount } from '../plan/chunks.js';
import { threadpoolSize } from '../plan/plan.js';
import { openSource } from '../run/chunk.js';
import type { RunContext } from '../run/executors/executor.js';
import type { FileRef } from '../run/messages.js';
import { releaseScanned } from '../run/pages.js';
import type { PreparedFiles, SplitPreparer } from '../run/prepare.js';
import { inOrder } from '../run/reducer.js';
import { scanRange } from './first-pass.js';
import { QuoteError, SUMMARY, badQuote } from './scan.js';
import { csvBytesOf } from './split.js';

/** A file's planned cuts: `cuts[j]` is where chunk j of the whole grid starts (`cuts[n]` = size). */
export interface CsvCuts {
  cuts: number[];
  /** End of the header record (0 without a header). */
  headerEnd: number;
}

/**
 * The prefix XOR: from the chunks' summaries (in file order) to every cut.
 * @throws ERR_PAGEWISE_BAD_RECORD for the first quote that breaks the strict
 * rules, or for a quoted field open at the end (offset: its opening quote);
 * ERR_PAGEWISE_RECORD_TOO_LONG when a chunk's first record starts more than
 * maxRecordLength past its nominal start.
 */
export function csvCuts(summaries: Float64Array, size: number, chunkSize: number, header: boolean, maxRecordLength: number, path?: string): CsvCuts {
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
    if (cuts[j] - j * chunkSize > maxRecordLength) {
      const offset = j * chunkSize;
      throw new PagewiseError(
        ErrorCodes.RECORD_TOO_LONG,
        `${path === undefined ? '' : `'${path}': `}a record containing byte offset ${offset} is longer than maxRecordLength (${maxRecordLength} bytes)`,
        { path, offset, maxRecordLength, index: j },
      );
    }
    if (cuts[j + 1] < cuts[j]) throw new PagewiseError(ErrorCodes.INTERNAL, `CSV cuts out of order at chunk ${j} of '${path}'`, { path, index: j });
  }
  return { cuts, headerEnd };
}

/** The addon's CSV scan, once wired (see docs/decisions.md, "CSV"); undefined until then. */
type NativeCsvScan = (id: number, offset: number, length: number, quote: number, delimiter: number, drop?: boolean) => Promise<ArrayLike<number>>;

function nativeScan(): NativeCsvScan | undefined {
  const scan = (native as unknown as { csvScan?: NativeCsvScan }).csvScan;
  return typeof scan === 'function' ? scan : undefined;
}

/** Chunks per worker task of the first pass: at least ~1 MiB of bytes, so a task's cost (~40 µs) stays small. */
function chunksPerTask(chunkSize: number): number {
  return Math.max(1, Math.floor((1 << 20) / chunkSize));
}

/** Runs the first pass over every chunk of every file of the group; one summary array per file. */
async function summarize(files: FileRef[], ctx: RunContext): Promise<Float64Array[]> {
  const { settings, plan } = ctx;
  const { quote, delimiter } = csvBytesOf(settings.split)!;
  const cs = settings.chunkSize;
  const scan = nativeScan();
  const out = files.map((f) => new Float64Array(chunkCount(f.size, cs) * SUMMARY.size));
  const steps: { k: number; first: number; count: number }[] = [];
  for (const [k, f] of files.entries()) {
    const n = chunkCount(f.size, cs);
    const per = scan !== undefined && f.source === 'map' ? 1 : chunksPerTask(cs);
    for (let first = 0; first < n; first += per) steps.push({ k, first, count: Math.min(per, n - first) });
  }
  const tasks = files.some((f) => scan === undefined || f.source !== 'map') ? await ctx.tasks() : undefined;
  const inFlight = tasks !== undefined ? 2 * plan.threads : Math.min(plan.threads, threadpoolSize());
  await inOrder(
    steps.length,
    { inFlight, window: steps.length, signal: ctx.signal },
    async (i) => {
      const { k, first, count } = steps[i];
      const file = files[k];
      if (scan !== undefined && file.source === 'map') {
        const { start, end } = scanRange(first, file.size, cs);
        const summary = await scan(file.mappingId, start, end - start, quote, delimiter, settings.release !== 'keep');
        out[k].set(summary, first * SUMMARY.size);
        if (settings.release === 'evict') releaseScanned(settings, file, start, end);
        return;
      }
      const reply = await tasks!.call({ kind: 'scan', settings, file, first, count, control: tasks!.control });
      out[k].set(reply.summaries, first * SUMMARY.size);
    },
    () => {},
  );
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

export const csvPreparer: SplitPreparer = {
  async prepare(files: FileRef[], ctx: RunContext): Promise<PreparedFiles> {
    const { settings } = ctx;
    const { header } = csvBytesOf(settings.split)!;
    const summaries = await summarize(files, ctx);
    const planned: { file: FileRef; cuts: number[] }[] = [];
    let headerBytes = 0;
    for (const [k, file] of files.entries()) {
      const { cuts, headerEnd } = csvCuts(summaries[k], file.size, settings.chunkSize, header, settings.maxRecordLength, file.path);
      const cache = CutCache.create(file.chunks, file.firstChunk);
      for (let j = file.firstChunk; j <= file.firstChunk + file.chunks; j++) cache.setExact(j, j, cuts[j]);
      file.cuts = cache.entries;
      if (header) {
        file.header = readHeader(file, headerEnd);
        if (file.firstChunk === 0) headerBytes += headerEnd;
      }
      planned.push({ file, cuts });
    }
    return {
      verify(bytesRead: number): void {
        let expected = 0;
        for (const { file, cuts } of planned) {
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
  },
};
