/**
 * Where a keyed run's lines go (`output`): a path, written atomically (a
 * temporary beside it, synced and renamed over it once complete); `-`,
 * standard output; or a Node Writable, in order with its backpressure.
 *
 * The file is the writer's kind of atomic file (src/output/atomic.ts: the
 * same temporary naming, its rule for the target, a link followed and an
 * existing mode kept) written in order by one thread, which can drop the
 * written pages as it goes (`evict`, for a run that spilled).
 */
import { closeSync, constants, fchmodSync, fsyncSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { temporaryPath } from '../output/atomic.js';
import { resolveTarget, temporaryError } from '../output/target-file.js';
import type { WritableLike } from '../types.js';
import { ErrorCodes, PagewiseError, SystemError, toPagewiseError } from '../errors.js';
import { fileError, SequentialFile, type FileRole } from './files.js';

const OUTPUT_ROLE: FileRole = { flag: '--output', option: 'output' };

export interface OutputSink {
  /** Writes `bytes` (copied if the sink keeps them past the call). */
  write(bytes: Uint8Array): Promise<void> | void;
  /** The output is complete. */
  commit(): Promise<void>;
  /** The run failed: the target stays as it was. Never throws. */
  abort(): Promise<void>;
}

/** A target whose output is written in order: a path, `-`, or a Writable. */
export type OutputTarget = string | WritableLike;

/** The output for `target`; `evict` drops the written pages from the page cache as they go (a run that spilled). */
export function openOutput(target: OutputTarget, evict: boolean): OutputSink {
  if (target === '-') return writableOutput(process.stdout as WritableLike);
  if (typeof target === 'string') return openFileOutput(target, evict);
  return writableOutput(target);
}

function writableOutput(stream: WritableLike): OutputSink {
  let failure: Error | undefined;
  const onError = (error?: Error): void => {
    failure ??= error ?? new Error('the output stream failed');
  };
  stream.on('error', onError);
  const own = stream !== (process.stdout as unknown) && stream !== (process.stderr as unknown);
  return {
    async write(bytes) {
      if (failure) throw toPagewiseError(failure);
      if (!stream.write(Buffer.from(bytes))) {
        await new Promise<void>((ok, fail) => {
          const done = (): void => {
            stream.off('drain', done);
            stream.off('error', failed);
            ok();
          };
          const failed = (error?: Error): void => {
            stream.off('drain', done);
            fail(toPagewiseError(error));
          };
          stream.once('drain', done);
          stream.once('error', failed);
        });
      }
    },
    async commit() {
      if (failure) throw toPagewiseError(failure);
      if (own) await new Promise<void>((ok) => stream.end(ok));
      stream.off('error', onError);
    },
    async abort() {
      stream.off('error', onError);
    },
  };
}

/** `path` written in a temporary `.NAME.pagewise-tmp-<pid>-<random>` beside it, renamed over it by commit(). */
function openFileOutput(path: string, evict: boolean): OutputSink {
  // As the writer's atomic file: through a symbolic link (the link stays), keeping an existing file's mode.
  const { target, stats } = resolveTarget(path);
  if (stats?.isDirectory()) {
    throw new SystemError('EISDIR', `EISDIR: illegal operation on a directory, open '${path}'`, { path, syscall: 'open', errno: -21 });
  }
  const temp = temporaryPath(target);
  let fd: number;
  try {
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666);
  } catch (error) {
    throw temporaryError(fileError(error, temp, OUTPUT_ROLE), path, temp);
  }
  try {
    if (stats !== undefined) fchmodSync(fd, stats.mode & 0o7777);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw temporaryError(fileError(error, temp, OUTPUT_ROLE), path, temp);
  }
  const file = new SequentialFile(temp, OUTPUT_ROLE, evict, fd);
  let done = false;
  const remove = (): void => {
    try {
      unlinkSync(temp);
    } catch {
      // Gone already.
    }
  };
  process.on('exit', remove);
  return {
    write(bytes) {
      file.write(bytes);
    },
    async commit() {
      if (done) throw new PagewiseError(ErrorCodes.CLOSED, `the output '${path}' is complete already`, { path });
      done = true;
      try {
        file.flush();
        try {
          fsyncSync(file.fd);
        } catch (error) {
          throw fileError(error, temp, OUTPUT_ROLE);
        }
        file.close();
        renameSync(temp, target);
      } catch (error) {
        file.discard();
        remove();
        throw toPagewiseError(error);
      } finally {
        process.off('exit', remove);
      }
      // The rename survives a power loss once the directory is synced.
      try {
        const dirFd = openSync(dirname(target), 'r');
        try {
          fsyncSync(dirFd);
        } finally {
          closeSync(dirFd);
        }
      } catch {
        // Some file systems cannot sync a directory.
      }
    },
    async abort() {
      if (done) return;
      done = true;
      file.discard();
      remove();
      process.off('exit', remove);
    },
  };
}
