/**
 * The read side of guessed CSV cuts (src/csv/speculate.ts): after `map` read
 * a view, proof that the view ends where a record does, or an error that
 * sends the run back to the first pass.
 */
import { ErrorCodes, PagewiseError } from '../errors.js';
import { native } from '../native.js';
import type { ChunkSettings, FileRef } from '../run/messages.js';
import type { ChunkInfo } from '../types.js';
import { WALK_TRACK, type WalkTrack } from './fields.js';
import { SUMMARY } from './scan.js';
import { csvBytesOf } from './split.js';

/** What a guessed attempt says when the job writes: its bytes could not be taken back, so the first pass cuts. */
export const GUESSED_WRITE = 'the job writes output (info.write)';

const guessedWrite = (): PagewiseError => new PagewiseError(ErrorCodes.INTERNAL, GUESSED_WRITE, { reason: 'guessedWrite' });

/** A view's proof in the making: the walker's part, and whether the job tried to write. */
export interface GuessTrack extends WalkTrack {
  wrote: boolean;
}

/**
 * `info.write` while the cuts are guessed: the attempt stops at once, before
 * any byte leaves the worker (and after `map`, should the job have caught this).
 */
export function writeWhileGuessing(track: GuessTrack): () => never {
  return () => {
    track.wrote = true;
    throw guessedWrite();
  };
}

/** Sets up `info` so that a `csvFields` walker over the whole of `track.bytes` reports having walked it. */
export function trackWalk(info: ChunkInfo, track: GuessTrack): void {
  Object.defineProperty(info, WALK_TRACK, { value: track, enumerable: false });
}

/**
 * After `map` read `[start, end)` of a mapped file whose cuts were guessed
 * (a mapped file: the addon is there):
 * throws unless those bytes, starting outside quotes, end outside them with
 * no quote that breaks the strict rules (proved already when the job's
 * walker walked all of its view).
 */
export function checkGuessedView(file: FileRef, settings: ChunkSettings, start: number, end: number, track: GuessTrack): void {
  if (track.wrote) throw guessedWrite();
  if (track.done) return;
  const { quote, delimiter } = csvBytesOf(settings.split)!;
  const s = new Float64Array(SUMMARY.size);
  // A view of its own, not the job's: the job may have written into its
  // (copy-on-write) view, and the proof is about the file's bytes.
  const bytes = native.view(file.mappingId, start, end - start);
  try {
    native.csvSummaryChecked(bytes, 0, bytes.length, quote, delimiter, start, s, 0);
  } finally {
    native.detach(bytes);
  }
  if ((s[SUMMARY.quotes] & 1) === 0 && s[SUMMARY.badEven] < 0) return;
  // Never seen by a user: the run goes again through the first pass.
  throw new PagewiseError(ErrorCodes.INTERNAL, `'${file.path}': the chunk read up to byte offset ${end} does not end outside quotes`, { path: file.path, offset: end });
}
