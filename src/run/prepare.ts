/**
 * The prepare phase: what a split kind must learn about a whole file before
 * any of its chunks can be cut, run by the pipeline on a group's opened files
 * right before their executor. Lines, delimiters, fixed-size records and
 * 'none' cut each chunk on its own: they have no preparer and pay nothing.
 * CSV has one: a record boundary depends on the quote parity of everything
 * before it, a prefix over the file (src/csv/prepare.ts). A preparer leaves
 * what it learned in the files' shared cut caches (and headers), so the
 * executors and the chunk lifecycle need no split-specific code.
 */
import { isCsv } from '../csv/split.js';
import { csvPreparer } from '../csv/prepare.js';
import type { Split } from '../types.js';
import type { RunContext } from './executors/executor.js';
import type { FileRef } from './messages.js';

/** What a preparer planned for one group of files. */
export interface PreparedFiles {
  /**
   * Called after the executor read the group (`bytesRead`: what its chunks
   * covered): throws ERR_PAGEWISE_INTERNAL unless the chunks covered exactly
   * the planned records, no gap and no overlap, before any result is returned.
   */
  verify(bytesRead: number): void;
}

export interface SplitPreparer {
  /** Learns what cutting `files` needs (with their mappings open) and leaves it in their FileRefs. */
  prepare(files: FileRef[], ctx: RunContext): Promise<PreparedFiles>;
}

/** The preparer of a split kind, or undefined when its chunks cut on their own. */
export function preparerFor(split: Split): SplitPreparer | undefined {
  return isCsv(split) ? csvPreparer : undefined;
}
