/**
 * What happens to a mapped chunk's pages around its processing: prefetching
 * the chunks after it, and releasing its pages behind it by the run's release
 * policy (`unmap`: MADV_DONTNEED; `evict`: also POSIX_FADV_DONTNEED, in an
 * order that never evicts what a running chunk may still read).
 */
import { native, Madvise, Fadvise, PAGE_SIZE } from '../native.js';
import type { ChunkSettings, FileRef } from './messages.js';

/** How far behind a released chunk `release: 'evict'` sweeps the page cache again. */
const SWEEP_BEHIND = 16 << 20;

/**
 * How far past its end a running chunk may still read: its last faults read
 * ahead (one readahead window, read_ahead_kb: 8 MiB on the reference VM, and
 * the kernel may start the next window early) and its last record may end
 * beyond it. `release: 'evict'` keeps that stretch cached until the chunk is
 * done. A record whose tail plus readahead reaches further than this (records
 * of many MiB) can still have a few pages read twice; results never change.
 */
const HEAD = 16 << 20;

/** Applies the run's release policy to the pages chunk `index` touched. */
export function releaseBehind(settings: ChunkSettings, file: FileRef, index: number, range: { start: number; end: number }): void {
  // The pages this chunk touched: its nominal range, plus the neighbours'
  // pages read to find its record boundaries (the byte before its start, the
  // tail of its last record). Page-aligned, since fadvise drops whole pages only.
  const nominal = index * settings.chunkSize;
  let start = Math.max(0, Math.min(nominal, range.start) - 1);
  start -= start % PAGE_SIZE;
  let end = Math.max(Math.min(file.size, nominal + settings.chunkSize), range.end);
  end = Math.min(file.size, Math.ceil(end / PAGE_SIZE) * PAGE_SIZE);
  // Every policy, `keep` too, drops the shared mapping's page-table entries
  // of the chunk: the job read its own view, but the cuts read the shared
  // mapping, and a fault there maps the whole large folio of the page cache
  // around it (MiBs on ext4), which left RSS growing with the file. The pages
  // stay in the page cache (and charged to the cgroup); only the fadvise
  // below (`evict`) frees them.
  native.advise(file.mappingId, start, end - start, Madvise.dontneed);
  if (settings.release !== 'evict') return;
  const state = file.releaseState;
  if (state === undefined) {
    native.fadvise(file.mappingId, start, end - start, Fadvise.dontneed);
    return;
  }
  evictInOrder(settings, file, state, index, start, end);
}

/**
 * Evicts what chunk `index` read without making a chunk that is still running
 * read any of it back (measured before: with 2 threads, evict read 3497 MiB
 * from disk for a 3073 MiB file, and 315 MiB of a fully cached one). Chunks
 * are handed out in order but finish in any order, and a running chunk j
 * reads up to HEAD past its end (its last faults' readahead, its last
 * record). So a page is evicted only once the chunk holding it is done and
 * it lies outside every guard [j * chunkSize, (j + 1) * chunkSize + HEAD) of a
 * chunk j still running. A chunk that finishes evicts:
 * - its own pages outside the guards;
 * - pages of done chunks above it that its own guard kept cached;
 * - the done chunks right below it (up to SWEEP_BEHIND back), for pages a
 *   neighbour's boundary search read back.
 * `state[k]` is 1 once chunk k is done. Each thread marks its chunk done
 * before it looks at the others (sequentially consistent Atomics), so of two
 * chunks finishing together at least one sees the other done: no page is
 * left to nobody. Pages another thread still has mapped are left alone by the
 * kernel anyway, and the engine sweeps the whole file once more at the end,
 * failed runs included (on the kernel path a scan still in flight when a run
 * fails can read pages back after that sweep).
 */
function evictInOrder(settings: ChunkSettings, file: FileRef, state: Int32Array, index: number, start: number, end: number): void {
  const { mappingId, size: fileSize } = file;
  const size = settings.chunkSize;
  // `state` covers this run's chunks of the file, [base, base + chunks); a
  // chunk outside it (another split's) counts as never done here.
  const base = file.firstChunk;
  const top = base + file.chunks;
  const done = (k: number): boolean => k >= base && k < top && Atomics.load(state, k - base) === 1;
  // Chunks whose guard can reach past the end of a chunk `reach` below them.
  const reach = Math.ceil(HEAD / size) + 1;
  Atomics.store(state, index - base, 1);
  /** End of the guards of chunks below `k` still running (0 if none reaches). */
  const guardBelow = (k: number): number => {
    for (let j = k - 1; j >= Math.max(0, k - reach); j--) {
      if (!done(j)) return Math.min(fileSize, (j + 1) * size + HEAD);
    }
    return 0;
  };
  const evict = (from: number, to: number): void => {
    if (from < to) native.fadvise(mappingId, from, to - from, Fadvise.dontneed);
  };
  // Upward: our own pages, the done chunks above that our guard kept, and
  // our last record's tail, up to the first chunk above not done yet (what
  // lies in it is its own to evict, from the byte before its start). Every
  // chunk from here to there is done, so one guard from below holds for all.
  let above = index + 1;
  while (above < top && done(above) && (above <= index + reach || above * size < end)) above++;
  evict(Math.max(start, guardBelow(index)), Math.min(fileSize, above * size));
  // Behind: the done chunks right below this one, under the guard of the
  // chunk below them still running, if it reaches.
  const limit = start - Math.max(SWEEP_BEHIND, 4 * size);
  let behind = index;
  while (behind > base && (behind - 1) * size >= limit && done(behind - 1)) behind--;
  if (behind < index) evict(Math.max(behind * size, guardBelow(behind)), start);
}

/** Pages sampled in each prefetch step to tell whether it is already in the page cache. */
const RESIDENCY_SAMPLES = 4;

/**
 * Asks the kernel to read the `prefetch` chunks after chunk `index`, one
 * readahead window (`prefetchStep`) per call, skipping each window whose
 * sampled pages are all in the page cache already: on cached pages
 * MADV_WILLNEED only costs the asking thread time, and deciding per window
 * rather than per chunk keeps a few evicted stretches of a warm file from
 * sending whole chunks to it (figures in docs/memory.md).
 */
export function prefetchAhead(settings: ChunkSettings, file: FileRef, index: number): void {
  if (settings.prefetch === 0) return;
  const start = (index + 1) * settings.chunkSize;
  const end = Math.min(file.size, start + settings.prefetch * settings.chunkSize);
  const step = settings.prefetchStep;
  let from = -1; // start of the current run of windows to read
  for (let at = start; at < end; at += step) {
    const cached = isProbablyResident(file.mappingId, at, Math.min(step, end - at));
    if (!cached && from < 0) from = at;
    if (cached && from >= 0) {
      native.advise(file.mappingId, from, at - from, Madvise.willneed, step);
      from = -1;
    }
  }
  if (from >= 0) native.advise(file.mappingId, from, end - from, Madvise.willneed, step);
}

/** True when every one of a few pages spread over the range is in the page cache (mincore). */
export function isProbablyResident(id: number, start: number, length: number): boolean {
  const pages = Math.ceil(length / PAGE_SIZE);
  const samples = Math.min(RESIDENCY_SAMPLES, pages);
  for (let i = 0; i < samples; i++) {
    const page = Math.floor(((i + 0.5) * pages) / samples);
    if (native.residency(id, start + page * PAGE_SIZE, 1).resident === 0) return false;
  }
  return true;
}

/**
 * Applies the run's release policy to a range a split's first pass read
 * (CSV: `[start, end)` of a mapping, before any chunk is cut). No chunk is
 * marked done: the second pass reads the range again, and evicts in order.
 */
export function releaseScanned(settings: ChunkSettings, file: FileRef, start: number, end: number): void {
  if (settings.release === 'keep' || file.source !== 'map') return;
  const from = start - (start % PAGE_SIZE);
  const to = Math.min(file.size, Math.ceil(end / PAGE_SIZE) * PAGE_SIZE);
  if (to <= from) return;
  native.advise(file.mappingId, from, to - from, Madvise.dontneed);
  if (settings.release === 'evict') native.fadvise(file.mappingId, from, to - from, Fadvise.dontneed);
}
