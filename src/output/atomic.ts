/**
 * Atomic output files: the bytes go to a temporary file in the target's own
 * directory, which is `fdatasync`ed, renamed over the target and followed by
 * an `fsync` of the directory, so the target is either what it was or the
 * complete new file, after a crash or power loss too. Hadoop's
 * FileOutputCommitter is the model: the temporary has a recognizable name,
 * `.NAME.pagewise-tmp-<pid>-<random>`, and the next writer of the same target
 * removes those whose process is gone (a SIGKILL leaves one behind). Used by
 * runs with `output: path`, `pagewise gen`, `pagewise index`; public for the
 * cluster's and the group-by's outputs.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fdatasync,
  openSync,
  readdirSync,
  unlinkSync,
  writeSync,
  close as closeFd,
} from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCodes, PagewiseError, SystemError, toPagewiseError } from '../errors.js';
import type { AbortSignalLike } from '../types.js';
import { resolveTarget, temporaryError } from './target-file.js';

/** What every temporary's name holds after the target's name. */
export const TEMPORARY_MARK = '.pagewise-tmp-';

/** Longest target name kept as is in a temporary's name (NAME_MAX is 255). */
const LONGEST_NAME = 200;

/** The stem a target's temporaries are named after: `.NAME`, or a hash of a very long NAME. */
function stemOf(target: string): string {
  const name = basename(target);
  return `.${name.length > LONGEST_NAME ? createHash('sha256').update(name).digest('hex').slice(0, 32) : name}`;
}

/** `dir/.NAME.pagewise-tmp-`: the prefix of every temporary of `target`. */
export function temporaryPrefix(target: string): string {
  return join(dirname(target), `${stemOf(target)}${TEMPORARY_MARK}`);
}

/** A fresh temporary name for `target`, owned by process `pid`. */
export function temporaryPath(target: string, pid = process.pid): string {
  return `${temporaryPrefix(target)}${pid}-${randomBytes(6).toString('hex')}`;
}

/** Whether process `pid` exists (EPERM: it does, as another user's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Temporaries of `target` left by processes that are gone (killed, crashed):
 * their owning pid no longer exists. A pid reused since by an unrelated
 * process keeps its temporary until that process is gone too.
 */
export function staleTemporaries(target: string): string[] {
  const prefix = `${stemOf(target)}${TEMPORARY_MARK}`;
  let names: string[];
  try {
    names = readdirSync(dirname(target));
  } catch {
    return [];
  }
  const stale: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length));
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !processAlive(pid)) stale.push(join(dirname(target), name));
  }
  return stale;
}

/** Removes the stale temporaries of `target` (see staleTemporaries); returns their paths. */
export function removeStaleTemporaries(target: string): string[] {
  const removed: string[] = [];
  for (const path of staleTemporaries(target)) {
    try {
      unlinkSync(path);
      removed.push(path);
    } catch {
      // Another process removed it first, or the directory is not ours to clean.
    }
  }
  return removed;
}

// Temporaries of this process not yet committed or aborted: removed if the
// process exits first (the CLI's forced exit after SIGINT, process.exit in a
// callback), so only a SIGKILL or a crash leaves one behind.
const live = new Set<AtomicFile>();
let exitHookInstalled = false;

function track(file: AtomicFile): void {
  live.add(file);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const f of live) {
      try {
        unlinkSync(f.tempPath);
      } catch {
        // Already gone.
      }
    }
  });
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolveSync, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolveSync())));
}

function closeAsync(fd: number): Promise<void> {
  return new Promise((resolveClose, reject) => closeFd(fd, (error) => (error ? reject(error) : resolveClose())));
}

/** Options of `AtomicFile.open`. */
export interface AtomicFileOptions {
  /**
   * Mode of a new file (before the umask); default 0o666. An existing
   * target's mode is kept.
   */
  mode?: number;
}

/**
 * A file written in a temporary and renamed over its target by `commit()`.
 *
 * @example
 * ```ts
 * const file = AtomicFile.open('out.bin');
 * try {
 *   file.write(bytes, 0);
 *   await file.commit();
 * } catch (error) {
 *   await file.abort();
 *   throw error;
 * }
 * ```
 */
export class AtomicFile {
  /** The file `commit()` replaces (a symbolic link's target). */
  readonly path: string;
  /** Where the bytes are until then. */
  readonly tempPath: string;
  /** The temporary's file descriptor (O_WRONLY), until commit or abort. */
  readonly fd: number;
  #state: 'open' | 'committing' | 'committed' | 'aborted' = 'open';

  private constructor(path: string, tempPath: string, fd: number) {
    this.path = path;
    this.tempPath = tempPath;
    this.fd = fd;
  }

  /**
   * Creates the temporary for `path` (removing stale ones of dead processes
   * first).
   * @throws EACCES, ENOENT (no such directory), ENOSPC, ... (fs-shaped);
   * EISDIR when `path` is a directory; ERR_PAGEWISE_NOT_REGULAR_FILE when it
   * is a FIFO, a device or a socket (write those directly, not atomically).
   */
  static open(path: string, options: AtomicFileOptions = {}): AtomicFile {
    const { target, stats } = resolveTarget(path);
    if (stats?.isDirectory()) {
      throw new SystemError('EISDIR', `EISDIR: illegal operation on a directory, open '${path}'`, { path, syscall: 'open', errno: -21 });
    }
    if (stats !== undefined && !stats.isFile()) {
      throw new PagewiseError(ErrorCodes.NOT_REGULAR_FILE, `'${path}' is not a regular file: it cannot be replaced atomically`, { path });
    }
    removeStaleTemporaries(target);
    const tempPath = temporaryPath(target);
    let fd: number;
    try {
      fd = openSync(tempPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, options.mode ?? 0o666);
    } catch (error) {
      throw temporaryError(error, path, tempPath);
    }
    const file = new AtomicFile(target, tempPath, fd);
    track(file);
    try {
      if (stats !== undefined) fchmodSync(fd, stats.mode & 0o7777);
    } catch (error) {
      file.abortSync();
      throw toPagewiseError(error);
    }
    return file;
  }

  /** 'open' until `commit()` or `abort()`. */
  get state(): 'open' | 'committing' | 'committed' | 'aborted' {
    return this.#state;
  }

  /** Writes all of `bytes` at `position` of the temporary (pwrite). */
  write(bytes: Uint8Array, position: number): void {
    if (this.#state !== 'open') throw new PagewiseError(ErrorCodes.CLOSED, `the temporary of '${this.path}' is ${this.#state}`, { path: this.path });
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, position + done);
    } catch (error) {
      throw toPagewiseError(error);
    }
  }

  /**
   * Makes the new content the target's: fdatasync, close, rename over the
   * target, fsync of the directory. If `signal` fires before the rename, the
   * temporary is removed instead and ERR_PAGEWISE_ABORTED thrown. After an
   * error before the rename the temporary is removed and the target is as
   * it was; an error of the directory's fsync comes after the rename (the
   * new content is in place but may not survive a power loss).
   */
  async commit(signal?: AbortSignalLike): Promise<void> {
    if (this.#state !== 'open') throw new PagewiseError(ErrorCodes.CLOSED, `the temporary of '${this.path}' is ${this.#state}`, { path: this.path });
    this.#state = 'committing';
    try {
      await fdatasyncAsync(this.fd);
      await closeAsync(this.fd);
    } catch (error) {
      await this.#remove(true);
      throw toPagewiseError(error);
    }
    if (signal?.aborted) {
      await this.#remove(false);
      throw new PagewiseError(ErrorCodes.ABORTED, 'the run was aborted', { cause: signal.reason });
    }
    try {
      await rename(this.tempPath, this.path);
    } catch (error) {
      await this.#remove(false);
      throw toPagewiseError(error);
    }
    this.#state = 'committed';
    live.delete(this);
    await syncDirectory(dirname(this.path));
  }

  /** Removes the temporary; the target stays as it was. Idempotent; never throws. */
  async abort(): Promise<void> {
    if (this.#state === 'committed' || this.#state === 'aborted') return;
    const open = this.#state === 'open';
    this.#state = 'aborted';
    if (open) await closeAsync(this.fd).catch(() => {});
    await unlink(this.tempPath).catch(() => {});
    live.delete(this);
  }

  /** `abort()`, synchronously (for exit paths). */
  abortSync(): void {
    if (this.#state === 'committed' || this.#state === 'aborted') return;
    const open = this.#state === 'open';
    this.#state = 'aborted';
    try {
      if (open) closeSync(this.fd);
    } catch {
      // Already closed.
    }
    try {
      unlinkSync(this.tempPath);
    } catch {
      // Already gone.
    }
    live.delete(this);
  }

  async #remove(closeFirst: boolean): Promise<void> {
    this.#state = 'aborted';
    if (closeFirst) await closeAsync(this.fd).catch(() => {});
    await unlink(this.tempPath).catch(() => {});
    live.delete(this);
  }
}

/** fsync of a directory, so a rename in it survives a power loss. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch((error: unknown) => {
    throw toPagewiseError(error);
  });
  try {
    await handle.sync().catch((error: NodeJS.ErrnoException) => {
      // Some file systems cannot fsync a directory; their renames are as durable as they get.
      if (error.code !== 'EINVAL' && error.code !== 'ENOTSUP') throw toPagewiseError(error);
    });
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` with `data`, atomically (see AtomicFile).
 * @throws what `AtomicFile.open` and `commit` throw.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options?: AtomicFileOptions): Promise<void> {
  const file = AtomicFile.open(path, options);
  try {
    file.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data, 0);
    await file.commit();
  } catch (error) {
    await file.abort();
    throw error;
  }
}
