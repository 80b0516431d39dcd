/**
 * Guessed CSV cuts: the first pass (src/csv/prepare.ts) reads the whole file
 * once before `map` reads it again; most of the time a small window at each
 * cut says where the record boundary is, and the job's own read proves it.
 *
 *   1. At each nominal cut, the strict rules are run over a window under
 *      both starting states (inside or outside quotes); the state the window
 *      refutes first is dropped, and the cut is the first `\n` of the other
 *      state: exactly the first pass's cut when the guess is right.
 *   2. The chunks are read with those cuts. Each view must end outside
 *      quotes with every quote where the rules allow it: known for free when
 *      the job's `csvFields` walker walked the whole view (WALK_TRACK),
 *      checked by the summary kernel otherwise. A wrong guess puts the view
 *      before it inside a quoted field, so it fails this; every view passing
 *      proves every cut, by induction from the file's start.
 *   3. Any failure (a view that fails, the job throwing, a cut too far from
 *      its nominal place) discards the whole pass, and the group runs again
 *      through the first pass: the errors a user sees are the first pass's.
 *
 * docs/decisions.md, "Guessed cuts first", says when a run guesses.
 */
import { chunkCount, readsWholeFile } from '../plan/chunks.js';
import { threadpoolSize } from '../plan/plan.js';
import type { RunContext } from '../run/executors/executor.js';
import type { FileRef } from '../run/messages.js';
import { type CsvCuts, checkCutLengths, each, summarizeOnPool, summaryOp } from './prepare.js';
import { SUMMARY } from './scan.js';
import { csvBytesOf } from './split.js';

/** Bytes looked at after each nominal cut: many records of any CSV worth cutting, a few microseconds of kernel. */
export const GUESS_WINDOW = 64 << 10;

/** Which starting state a window's summary keeps: the one the strict rules refute later (outside when neither is refuted). */
export function guessOdd(s: Float64Array, at = 0): boolean {
  const even = s[at + SUMMARY.badEven];
  const odd = s[at + SUMMARY.badOdd];
  if (odd < 0) return even >= 0;
  if (even < 0) return false;
  return odd > even;
}

/**
 * Guessed cuts of every file of the group, from one window scan per chunk on
 * libuv's threadpool; undefined when a window shorter than its chunk has no
 * boundary of the guessed state (a record longer than the window) or a cut
 * lands farther than `maxRecordLength` from its nominal place: the first pass
 * decides those.
 */
export async function guessCuts(files: FileRef[], ctx: RunContext): Promise<CsvCuts[] | undefined> {
  const { settings, plan } = ctx;
  const { header } = csvBytesOf(settings.split)!;
  const cs = settings.chunkSize;
  const op = summaryOp(settings.split);
  const newline = files.map((f) => new Array<number>(chunkCount(f.size, cs)).fill(-1));
  // The cuts a file's run uses: its chunks' starts and the end of its last (a cluster split reads a span of the grid), and the header's end.
  const steps: { k: number; j: number }[] = [];
  for (const [k, f] of files.entries()) {
    const n = newline[k].length;
    if (n > 0 && header) steps.push({ k, j: 0 });
    for (let j = Math.max(1, f.firstChunk); j <= Math.min(n - 1, f.firstChunk + f.chunks); j++) steps.push({ k, j });
  }
  let unsure = false;
  await each(steps.length, Math.min(plan.threads, threadpoolSize()), ctx, async (i) => {
    if (unsure) return;
    const { k, j } = steps[i];
    const file = files[k];
    // From the byte before the nominal start (a `\n` there makes it a record start), not past the next chunk's.
    const start = j === 0 ? 0 : j * cs - 1;
    const chunkEnd = j + 1 >= newline[k].length ? file.size : (j + 1) * cs - 1;
    // The window does not depend on the chunk size, so two cluster workers guess a split's boundary alike.
    const end = Math.min(start + GUESS_WINDOW, file.size);
    const s = new Float64Array(SUMMARY.size);
    await summarizeOnPool(file, start, end, op, s, 0);
    // Chunk 0 starts outside quotes: its window only finds where the header ends.
    const at = s[j > 0 && guessOdd(s) ? SUMMARY.newlineOdd : SUMMARY.newlineEven];
    if (at >= 0 && at < chunkEnd) newline[k][j] = at;
    // No boundary in the chunk, the window covering it: a record spans it, and
    // the chunk starts where the next does (known here only when the run reads the whole file).
    else if ((at < 0 && end < chunkEnd) || !readsWholeFile(file, cs)) unsure = true;
  });
  if (unsure) return undefined;
  const planned: CsvCuts[] = [];
  for (const [k, file] of files.entries()) {
    const n = newline[k].length;
    const cuts = new Array<number>(n + 1);
    cuts[n] = file.size;
    for (let j = n - 1; j >= 0; j--) cuts[j] = newline[k][j] >= 0 ? newline[k][j] + 1 : cuts[j + 1];
    const headerEnd = n > 0 && header ? cuts[0] : 0;
    if (n > 0) cuts[0] = headerEnd;
    // Outside a span, at their nominal places: never installed, never checked.
    const first = file.firstChunk;
    const last = first + file.chunks;
    for (let j = 1; j < n; j++) if (j < first || j > last) cuts[j] = j * cs;
    try {
      checkCutLengths(cuts, cs, settings.maxRecordLength, file.path);
    } catch {
      return undefined;
    }
    planned.push({ cuts, headerEnd });
  }
  return planned;
}
