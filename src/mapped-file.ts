/**
 * A file mapped read-only, whole, once per process: the building block the
 * engine uses, public for random access and tools. Views are the mapping's own
 * pages, never copies.
 */
import { ErrorCodes, InvalidOptionError, PagewiseError, toPagewiseError } from './errors.js';
import { native, Fadvise, Madvise, PAGE_SIZE } from './native.js';
import { MAX_VIEW_LENGTH } from './options.js';

export type MadviseName = keyof typeof Madvise;
export type FadviseName = keyof typeof Fadvise;

function checkRange(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOptionError('offset', 'a non-negative integer', offset);
  if (!Number.isSafeInteger(length) || length < 0) throw new InvalidOptionError('length', 'a non-negative integer', length);
  if (offset + length > size) {
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, `range [${offset}, ${offset + length}) is outside the file (${size} bytes)`, {
      option: 'offset',
    });
  }
}

/**
 * A read-only mapping of a whole regular file.
 *
 * Safety: views handed out by `view()` stay valid until `detach()`ed or
 * collected; `close()` releases this handle, and the memory is unmapped only
 * once no view remains. A file truncated while mapped reads as zeros past its
 * new end (the addon's SIGBUS handler), and `truncated()` then says so.
 *
 * @example
 * ```ts
 * const file = MappedFile.open('data.bin');
 * const header = file.view(0, 64);
 * file.close();
 * ```
 */
export class MappedFile {
  readonly path: string;
  readonly size: number;
  readonly id: number;
  #closed = false;

  private constructor(path: string, id: number, size: number) {
    this.path = path;
    this.id = id;
    this.size = size;
  }

  /**
   * Maps `path`, or shares this process's existing mapping of the same file.
   * @throws ENOENT, EACCES, ... (fs-shaped), ERR_PAGEWISE_NOT_REGULAR_FILE.
   */
  static open(path: string): MappedFile {
    if (typeof path !== 'string' || path === '') throw new InvalidOptionError('path', 'a non-empty string', path);
    try {
      const info = native.open(path);
      return new MappedFile(path, info.id, info.size);
    } catch (error) {
      throw toPagewiseError(error);
    }
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  #check(): void {
    if (this.#closed) throw new PagewiseError(ErrorCodes.CLOSED, `'${this.path}' is closed`, { path: this.path });
  }

  /**
   * A zero-copy `Uint8Array` over `[offset, offset + length)`.
   * @throws ERR_PAGEWISE_INVALID_OPTION for a range outside the file or longer
   * than the runtime's largest view; ERR_PAGEWISE_CLOSED after close().
   */
  view(offset = 0, length = this.size - offset): Uint8Array {
    this.#check();
    checkRange(offset, length, this.size);
    if (length > MAX_VIEW_LENGTH) throw new InvalidOptionError('length', `at most ${MAX_VIEW_LENGTH} bytes on this runtime`, length);
    return native.view(this.id, offset, length);
  }

  /** Empties a view (byteLength becomes 0), releasing its hold on the mapping. */
  static detach(view: Uint8Array): void {
    native.detach(view);
  }

  /** madvise over the pages covering the range; returns false if the kernel refused. */
  advise(advice: MadviseName, offset = 0, length = this.size - offset): boolean {
    this.#check();
    if (!(advice in Madvise)) throw new InvalidOptionError('advice', `one of ${Object.keys(Madvise).join(', ')}`, advice);
    return native.advise(this.id, offset, length, Madvise[advice]) === 0;
  }

  /** posix_fadvise over the range; returns false if refused or unsupported. */
  fadvise(advice: FadviseName, offset = 0, length = this.size - offset): boolean {
    this.#check();
    if (!(advice in Fadvise)) throw new InvalidOptionError('advice', `one of ${Object.keys(Fadvise).join(', ')}`, advice);
    return native.fadvise(this.id, offset, length, Fadvise[advice]) === 0;
  }

  /** How many of the range's pages are in memory (mincore). */
  residency(offset = 0, length = this.size - offset): { resident: number; pages: number } {
    this.#check();
    return native.residency(this.id, offset, length);
  }

  /** Whether the file changed size since it was mapped, or a page past its end was read. */
  truncated(): boolean {
    this.#check();
    const state = native.state(this.id);
    return state.faults > 0 || state.currentSize !== this.size;
  }

  /** Releases this handle. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.close(this.id);
  }

  /** The page size views and advice are aligned to. */
  static readonly pageSize: number = PAGE_SIZE;
}
