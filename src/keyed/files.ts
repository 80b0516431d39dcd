/**
 * The shuffle's files: sequential writers that keep what they wrote out of
 * the page cache (spilled data charged to a memory cgroup as dirty page
 * cache would defeat the point of spilling), and windows over a file for
 * readers, mapped where the addon is and read with pread where not, with
 * what was read dropped behind them. A full disk is ENOSPC naming the
 * directory and the option that picks another.
 */
import { closeSync, fdatasyncSync, mkdirSync, openSync, readSync, constants, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { SystemError, toPagewiseError } from '../errors.js';
import { native, nativeAvailable, Fadvise, Madvise, PAGE_SIZE } from '../native.js';

/** Written bytes between two evictions of what is written back already. */
const EVICT_EVERY = 8 << 20;
/** Written bytes between two fdatasyncs: at most this much dirty data per writer. */
const SYNC_EVERY = 32 << 20;
/** Files smaller than this are not synced and dropped at close. */
const SMALL_FILE = 1 << 20;
/** Bytes a writer buffers before a write(2). */
const WRITE_BUFFER = 1 << 20;

/** Where the failure happened, for the messages of a full disk. */
export interface FileRole {
  /** The option that chose the directory, as CLI users know it: `--temp-dir` or `--output`. */
  flag: string;
  /** The option's name in the API: `tempDir` or `output`. */
  option: string;
}

export const TEMP_ROLE: FileRole = { flag: '--temp-dir', option: 'tempDir' };

/** An OS error of a shuffle file; a full disk says which directory filled and what to do. */
export function fileError(error: unknown, path: string, role: FileRole, written?: number): Error {
  const code = (error as { code?: unknown })?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const dir = dirname(path);
    const what = role.option === 'tempDir' ? 'spilling keyed data' : 'writing the output';
    return new SystemError(
      code,
      `${code}: no space left on device in '${dir}' while ${what}${written === undefined ? '' : ` (${written} bytes written to '${path}')`}: ` +
        `free space there or choose another directory with ${role.flag} (${role.option})`,
      { path, syscall: (error as { syscall?: string }).syscall ?? 'write', errno: (error as { errno?: number }).errno, directory: dir },
    );
  }
  return toPagewiseError(error);
}

/** Drops `[0, upTo)` of the file at `path` from the page cache (what is written back; dirty pages stay). */
export function dropCached(path: string, upTo: number): void {
  if (!nativeAvailable || upTo <= 0) return;
  let id = -1;
  try {
    id = native.open(path).id;
    native.fadvise(id, 0, upTo, Fadvise.dontneed);
  } catch {
    // Advice only: a file system that cannot map keeps its pages cached.
  } finally {
    if (id >= 0) native.close(id);
  }
}

/** Makes `dir` if it is not there (several threads may race to make it). */
export function ensureDir(dir: string, role: FileRole = TEMP_ROLE): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') throw fileError(error, `${dir}/`, role);
  }
}

/**
 * A file written front to back in big writes, kept out of the page cache as
 * it goes: every EVICT_EVERY bytes what is written back is dropped (which
 * also starts the writeback of the rest), every SYNC_EVERY bytes the file
 * is synced first, so a writer holds a bounded amount of dirty data.
 */
export class SequentialFile {
  readonly fd: number;
  /** Bytes handed to the kernel. */
  written = 0;
  #buffer: Buffer;
  #used = 0;
  #evictedAt = 0;
  #syncedAt = 0;
  #closed = false;

  constructor(
    readonly path: string,
    private readonly role: FileRole = TEMP_ROLE,
    private readonly evict = true,
    fd?: number,
  ) {
    try {
      this.fd = fd ?? openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (error) {
      throw fileError(error, path, role);
    }
    this.#buffer = Buffer.allocUnsafeSlow(WRITE_BUFFER);
  }

  /** Bytes written so far (buffered ones included). */
  get size(): number {
    return this.written + this.#used;
  }

  /**
   * Room for `n` more bytes in the buffer: returns where they go in
   * `buffer` (which may be a new one); `commit(n)` takes them.
   */
  ensure(n: number): number {
    if (this.#used + n > this.#buffer.length) {
      this.flush();
      if (n > this.#buffer.length) this.#buffer = Buffer.allocUnsafeSlow(Math.max(n, this.#buffer.length * 2));
    }
    return this.#used;
  }

  /** Writes `text` as UTF-8. */
  writeString(text: string): void {
    const at = this.ensure(text.length * 3);
    this.#used += this.#buffer.write(text, at, 'utf8');
  }

  /** The write buffer (valid until the next `ensure`, `write` or `flush`). */
  get buffer(): Buffer {
    return this.#buffer;
  }

  /** Takes `n` bytes written into `buffer` at the position `ensure` gave. */
  commit(n: number): void {
    this.#used += n;
  }

  write(bytes: Uint8Array): void {
    if (bytes.length >= this.#buffer.length) {
      this.flush();
      this.#writeOut(bytes);
      return;
    }
    if (this.#used + bytes.length > this.#buffer.length) this.flush();
    this.#buffer.set(bytes, this.#used);
    this.#used += bytes.length;
  }

  flush(): void {
    if (this.#used === 0) return;
    this.#writeOut(this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }

  #writeOut(bytes: Uint8Array): void {
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
    } catch (error) {
      throw fileError(error, this.path, this.role, this.written);
    }
    this.written += bytes.length;
    if (!this.evict) return;
    if (this.written - this.#syncedAt >= SYNC_EVERY) {
      this.#sync();
      dropCached(this.path, this.written);
      this.#evictedAt = this.written;
    } else if (this.written - this.#evictedAt >= EVICT_EVERY) {
      dropCached(this.path, this.written);
      this.#evictedAt = this.written;
    }
  }

  #sync(): void {
    try {
      fdatasyncSync(this.fd);
    } catch (error) {
      throw fileError(error, this.path, this.role, this.written);
    }
    this.#syncedAt = this.written;
  }

  /** Writes what is buffered, syncs and drops the file's pages (when evicting), and closes it. */
  close(): void {
    if (this.#closed) return;
    try {
      this.flush();
      // A small file's pages are not worth a sync: they are few, and written back soon.
      if (this.evict && this.written >= SMALL_FILE && this.written > this.#evictedAt) {
        this.#sync();
        dropCached(this.path, this.written);
      }
    } finally {
      this.#closed = true;
      closeSync(this.fd);
    }
  }

  /** Closes without caring for errors (a failed run). */
  discard(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      closeSync(this.fd);
    } catch {
      // Closed already.
    }
  }
}

/** Bytes of a reader's window. */
export const WINDOW = 256 << 10;

/**
 * A window over `[start, end)` of a file: `at(pos, need)` gives bytes from
 * `pos` on (at least `need` of them unless the end comes first), and drops
 * from the page cache what lies before `pos` once the window moves past it.
 */
export interface FileWindow {
  /** The bytes, and the file offset of `bytes[0]`. */
  bytes: Uint8Array;
  base: number;
  /** Makes `[pos, pos + need)` (or up to the end) visible; returns false at the end. */
  at(pos: number, need: number): boolean;
  close(): void;
}

/** A window over a mapping (the process-wide one of that file). */
class MappedWindow implements FileWindow {
  bytes: Uint8Array = new Uint8Array(0);
  base = 0;
  readonly #id: number;
  #dropped: number;

  constructor(
    path: string,
    readonly start: number,
    readonly end: number,
  ) {
    try {
      this.#id = native.open(path).id;
    } catch (error) {
      throw toPagewiseError(error);
    }
    this.#dropped = start - (start % PAGE_SIZE);
    this.base = start;
    // A merge reads many runs at once: the kernel's own readahead (up to
    // read_ahead_kb per file, 8 MiB here) would cache that much of each. So
    // no readahead, and one window asked for ahead of the one being read.
    native.advise(this.#id, this.#dropped, Math.max(0, end - this.#dropped), Madvise.random);
  }

  at(pos: number, need: number): boolean {
    if (pos >= this.end) return false;
    if (need > this.end - pos) need = this.end - pos;
    if (pos >= this.base && pos + need <= this.base + this.bytes.length) return true;
    if (this.bytes.length > 0) native.detach(this.bytes);
    const length = Math.min(this.end - pos, Math.max(WINDOW, need));
    // This window and the next are read in with one request each (the first
    // touch of a page that is not cached would read it alone); the next is
    // in by the time the reader gets there.
    const from = pos - (pos % PAGE_SIZE);
    native.advise(this.#id, from, Math.min(this.end, pos + length + WINDOW) - from, Madvise.willneed);
    this.bytes = native.view(this.#id, pos, length);
    this.base = pos;
    // What lies a page behind the window is read: drop it.
    const upTo = pos - (pos % PAGE_SIZE);
    if (upTo > this.#dropped) {
      native.advise(this.#id, this.#dropped, upTo - this.#dropped, Madvise.dontneed);
      native.fadvise(this.#id, this.#dropped, upTo - this.#dropped, Fadvise.dontneed);
      this.#dropped = upTo;
    }
    return true;
  }

  close(): void {
    if (this.bytes.length > 0) native.detach(this.bytes);
    this.bytes = new Uint8Array(0);
    if (this.end > this.#dropped) {
      native.advise(this.#id, this.#dropped, this.end - this.#dropped, Madvise.dontneed);
      native.fadvise(this.#id, this.#dropped, this.end - this.#dropped, Fadvise.dontneed);
    }
    native.close(this.#id);
  }
}

/** A window filled with positional reads (no addon). */
class ReadWindow implements FileWindow {
  bytes: Uint8Array = new Uint8Array(0);
  base = 0;
  readonly #fd: number;
  #buffer: Uint8Array = new Uint8Array(WINDOW);

  constructor(
    readonly path: string,
    readonly start: number,
    readonly end: number,
  ) {
    try {
      this.#fd = openSync(path, 'r');
    } catch (error) {
      throw toPagewiseError(error);
    }
    this.base = start;
  }

  at(pos: number, need: number): boolean {
    if (pos >= this.end) return false;
    if (need > this.end - pos) need = this.end - pos;
    if (pos >= this.base && pos + need <= this.base + this.bytes.length) return true;
    const length = Math.min(this.end - pos, Math.max(WINDOW, need));
    if (this.#buffer.length < length) this.#buffer = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.#fd, this.#buffer, done, length - done, pos + done);
      if (n === 0) break;
      done += n;
    }
    this.bytes = this.#buffer.subarray(0, done);
    this.base = pos;
    return done > 0;
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** A window over `[start, end)` of the file at `path`. */
export function openWindow(path: string, start: number, end: number): FileWindow {
  return nativeAvailable && end > start ? new MappedWindow(path, start, end) : new ReadWindow(path, start, end);
}
