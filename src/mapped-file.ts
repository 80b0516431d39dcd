/// <reference lib="esnext.disposable" preserve="true" />
/**
 * A file mapped whole, once per process (read-only) or on its own (writable):
 * the building block the engine uses, public for random access, tools and
 * writing files through a mapping. Views are the file's pages, never copies.
 */
import { ErrorCodes, InvalidOptionError, PagewiseError, toPagewiseError } from './errors.js';
import { native, Fadvise, Madvise, PAGE_SIZE, type FadviseName, type MadviseName } from './native.js';
import { MAX_VIEW_LENGTH } from './options.js';

export type { FadviseName, MadviseName } from './native.js';

/** Options of `MappedFile.open`. */
export interface OpenOptions {
  /** Map the file read-write (MAP_SHARED): its views are writable and writes reach the file. */
  write?: boolean;
}

/** Options of `MappedFile.create`. */
export interface CreateOptions {
  /** Replace an existing file (its content is lost) instead of failing with EEXIST. */
  overwrite?: boolean;
}

// Node 20.4+ and every Node 22/24 have Symbol.dispose; an older 20.x gets the
// symbol its polyfills agree on.
const disposeSymbol: typeof Symbol.dispose = (Symbol as { dispose?: typeof Symbol.dispose }).dispose ?? (Symbol.for('nodejs.dispose') as typeof Symbol.dispose);

function checkRange(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOptionError('offset', 'a non-negative integer', offset);
  if (!Number.isSafeInteger(length) || length < 0) throw new InvalidOptionError('length', 'a non-negative integer', length);
  if (offset + length > size) {
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, `range [${offset}, ${offset + length}) is outside the file (${size} bytes)`, {
      option: 'offset',
    });
  }
}

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path === '') throw new InvalidOptionError('path', 'a non-empty string', path);
  // open(2) would stop at the NUL and open another file than the one named.
  if (path.includes('\0')) throw new InvalidOptionError('path', 'a path without NUL bytes', path);
}

function checkOptions(options: unknown, keys: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object', options);
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) throw new InvalidOptionError(`options.${key}`, `one of the known options (${keys.join(', ')})`);
  }
  for (const key of keys) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined && typeof value !== 'boolean') throw new InvalidOptionError(`options.${key}`, 'a boolean', value);
  }
  return options as Record<string, unknown>;
}

function checkSize(size: unknown): asserts size is number {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new InvalidOptionError('size', 'a non-negative integer', size);
}

/**
 * A mapping of a whole regular file.
 *
 * Safety: each view handed out by `view()` is a mapping of its own and stays
 * valid until `detach()`ed or collected; `close()` releases this handle.
 * Views of a read-only file are copy-on-write: writing into one changes that
 * view only, never the file nor another view. Views of a writable file write
 * the file (durable after `flush()`). A file truncated while mapped reads as
 * zeros past its new end (the addon's SIGBUS handler), and `truncated()` then
 * says so.
 *
 * @example
 * ```ts
 * using file = MappedFile.open('data.bin');
 * const header = file.view(0, 64);
 * ```
 */
export class MappedFile implements Disposable {
  readonly path: string;
  readonly id: number;
  /** Opened with `{ write: true }` or made by `create`. */
  readonly writable: boolean;
  #size: number;
  #closed = false;
  #faultsSeen = 0;

  private constructor(path: string, id: number, size: number, writable: boolean) {
    this.path = path;
    this.id = id;
    this.#size = size;
    this.writable = writable;
  }

  /**
   * Maps `path`. Read-only, it shares this process's mapping of the same
   * unchanged file (device, inode, size, mtime and ctime); a file changed
   * since gets a fresh mapping. With `{ write: true }` it is mapped
   * read-write, on its own.
   * @throws ENOENT, EACCES, ... (fs-shaped), ERR_PAGEWISE_NOT_REGULAR_FILE,
   * ERR_PAGEWISE_INVALID_OPTION (a NUL in the path, an unknown option),
   * ERR_PAGEWISE_NO_FAULT_SLOT (no SIGBUS protection left for a new mapping).
   */
  static open(path: string, options?: OpenOptions): MappedFile {
    checkPath(path);
    const write = checkOptions(options, ['write']).write === true;
    try {
      const info = native.open(path, write);
      return new MappedFile(path, info.id, info.size, info.writable);
    } catch (error) {
      throw toPagewiseError(error);
    }
  }

  /**
   * Creates `path` with `size` bytes (zeros), reserves its space
   * (posix_fallocate: a full disk is ENOSPC now, never a SIGBUS later) and
   * maps it writable. On any failure no file is left at `path`.
   * @throws EEXIST (unless `overwrite`), ENOSPC, EACCES, ... (fs-shaped),
   * ERR_PAGEWISE_INVALID_OPTION.
   */
  static create(path: string, size: number, options?: CreateOptions): MappedFile {
    checkPath(path);
    checkSize(size);
    const overwrite = checkOptions(options, ['overwrite']).overwrite === true;
    try {
      const info = native.create(path, size, overwrite);
      return new MappedFile(path, info.id, info.size, true);
    } catch (error) {
      throw toPagewiseError(error);
    }
  }

  /** The mapping's length: the file's size when mapped, or after `resize`. */
  get size(): number {
    return this.#size;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  #check(): void {
    if (this.#closed) throw new PagewiseError(ErrorCodes.CLOSED, `'${this.path}' is closed`, { path: this.path });
  }

  #checkWritable(): void {
    this.#check();
    if (!this.writable) throw new PagewiseError(ErrorCodes.READ_ONLY, `'${this.path}' is mapped read-only: open it with { write: true }`, { path: this.path });
  }

  /**
   * A zero-copy `Uint8Array` over `[offset, offset + length)`: a mapping of
   * its own, copy-on-write for a read-only file, shared for a writable one.
   * @throws ERR_PAGEWISE_INVALID_OPTION for a range outside the file or longer
   * than the runtime's largest view; ERR_PAGEWISE_CLOSED after close();
   * ERR_PAGEWISE_NO_FAULT_SLOT; ENOMEM (mmap).
   */
  view(offset = 0, length = this.#size - offset): Uint8Array {
    this.#check();
    checkRange(offset, length, this.#size);
    if (length > MAX_VIEW_LENGTH) throw new InvalidOptionError('length', `at most ${MAX_VIEW_LENGTH} bytes on this runtime`, length);
    try {
      return native.view(this.id, offset, length);
    } catch (error) {
      throw toPagewiseError(error);
    }
  }

  /**
   * Empties a view made by `view()` (byteLength becomes 0) and unmaps it.
   * A view already detached is left alone.
   * @throws ERR_PAGEWISE_NOT_A_VIEW for any buffer pagewise did not make.
   */
  static detach(view: ArrayBufferView | ArrayBuffer): void {
    if (!ArrayBuffer.isView(view) && !(view instanceof ArrayBuffer)) {
      throw new PagewiseError(ErrorCodes.NOT_A_VIEW, 'only views made by pagewise can be detached');
    }
    try {
      native.detach(view);
    } catch (error) {
      throw toPagewiseError(error);
    }
  }

  /** madvise over the pages covering the range; returns false if the kernel refused. */
  advise(advice: MadviseName, offset = 0, length = this.#size - offset): boolean {
    this.#check();
    if (typeof advice !== 'string' || !Object.hasOwn(Madvise, advice)) {
      throw new InvalidOptionError('advice', `one of ${Object.keys(Madvise).join(', ')}`, advice);
    }
    return native.advise(this.id, offset, length, Madvise[advice]) === 0;
  }

  /** posix_fadvise over the range; returns false if refused or unsupported. */
  fadvise(advice: FadviseName, offset = 0, length = this.#size - offset): boolean {
    this.#check();
    if (typeof advice !== 'string' || !Object.hasOwn(Fadvise, advice)) {
      throw new InvalidOptionError('advice', `one of ${Object.keys(Fadvise).join(', ')}`, advice);
    }
    return native.fadvise(this.id, offset, length, Fadvise[advice]) === 0;
  }

  /** How many of the range's pages are in memory (mincore). */
  residency(offset = 0, length = this.#size - offset): { resident: number; pages: number } {
    this.#check();
    return native.residency(this.id, offset, length);
  }

  /** Whether the file changed size since it was mapped, or a page past its end was read. */
  truncated(): boolean {
    this.#check();
    const state = native.state(this.id);
    return state.faults > 0 || state.currentSize !== this.#size;
  }

  /**
   * Writes the range's dirty pages to the disk and waits (msync MS_SYNC).
   * After an error, take what was written to the range as lost: Linux may
   * drop pages it failed to write back, and a later flush can succeed
   * without them (see docs/design.md, "Writable mappings").
   * @throws EIO, ENOSPC, ... (the msync error); ERR_PAGEWISE_WRITE_FAILED
   * when a write faulted since the last flush (the file system could not
   * allocate a page: that write went nowhere); ERR_PAGEWISE_FILE_TRUNCATED
   * when the file shrank under the mapping; ERR_PAGEWISE_READ_ONLY.
   */
  flush(offset = 0, length = this.#size - offset): void {
    this.#checkWritable();
    checkRange(offset, length, this.#size);
    try {
      native.flush(this.id, offset, length);
    } catch (error) {
      throw toPagewiseError(error);
    }
    const state = native.state(this.id);
    if (state.faults > this.#faultsSeen) {
      const lost = state.faults - this.#faultsSeen;
      this.#faultsSeen = state.faults;
      if (state.currentSize < this.#size) {
        throw new PagewiseError(ErrorCodes.FILE_TRUNCATED, `'${this.path}' shrank to ${state.currentSize} bytes under its mapping of ${this.#size}: ${lost} pages were lost`, {
          path: this.path,
          sizeNow: state.currentSize,
        });
      }
      throw new PagewiseError(
        ErrorCodes.WRITE_FAILED,
        `${lost} pages of '${this.path}' could not be written (the file system could not allocate them: disk full?); their writes are lost`,
        { path: this.path, pages: lost },
      );
    }
  }

  /**
   * Grows (reserving the space) or shrinks the file to `size` bytes and
   * remaps it. Every view of this file made on this thread is detached first,
   * so none can point past the end.
   * @throws ENOSPC, ... (fs-shaped); ERR_PAGEWISE_BUSY when views of it made
   * on other threads are alive or a native call is reading it;
   * ERR_PAGEWISE_READ_ONLY; ERR_PAGEWISE_CLOSED.
   */
  resize(size: number): void {
    this.#checkWritable();
    checkSize(size);
    try {
      native.resize(this.id, size);
    } catch (error) {
      throw toPagewiseError(error);
    }
    this.#size = size;
  }

  /** Releases this handle. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.close(this.id);
  }

  /** `close()`, for `using file = MappedFile.open(...)`. */
  [disposeSymbol](): void {
    this.close();
  }

  /** The page size views and advice are aligned to. */
  static readonly pageSize: number = PAGE_SIZE;
}
