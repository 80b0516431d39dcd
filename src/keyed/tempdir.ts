/**
 * The run directory: where one keyed run spills, `<tempDir>/pagewise-keyed-
 * <pid>-<random>`, made by the first thread that spills (keys that fit never
 * touch the disk) and removed when the run ends, fails or is aborted, and on
 * the process's exit (the CLI's forced exit after SIGINT or SIGTERM, a
 * `process.exit` in a callback). A process with no SIGINT/SIGTERM handler of
 * its own would die of those signals without an exit event, so while a run
 * directory exists pagewise listens for them, removes the directories and
 * raises the signal again (the default action then ends the process as it
 * would have). After a SIGKILL the directory stays; its name holds the pid,
 * and the next keyed run in the same temporary directory removes those whose
 * process is gone.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ErrorCodes, PagewiseError, toPagewiseError } from '../errors.js';
import { CLOSED } from '../run/messages.js';

export const RUN_DIR_PREFIX = 'pagewise-keyed-';

/** Run directories of this process, with the flag word their threads look at before they make one. */
const live = new Map<string, Int32Array>();
let exitHook = false;
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
let signalsHooked = false;

/**
 * Removes every run directory of this process, now (an exit, a signal): the
 * runs' threads are told first, and the removal is repeated after a moment
 * for a thread that was making its directory just then.
 */
function removeLive(): void {
  // Every run ended and removed its own: nothing to wait for (the pause below cost each keyed exit 20 ms).
  if (live.size === 0) return;
  for (const flags of live.values()) Atomics.store(flags, CLOSED, 1);
  const remove = (): void => {
    for (const dir of live.keys()) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // A file appeared while it was removed: the second pass takes it.
      }
    }
  };
  remove();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  remove();
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Someone else handles the signal (the CLI aborts its run, which removes
  // the directory): leave it to them.
  if (process.listenerCount(signal) > 1) return;
  removeLive();
  unhookSignals();
  process.kill(process.pid, signal);
}

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const s of SIGNALS) process.on(s, onSignal);
}

function unhookSignals(): void {
  if (!signalsHooked) return;
  signalsHooked = false;
  for (const s of SIGNALS) process.off(s, onSignal);
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

/** Run directories in `tempDir` left by processes that are gone; returns their paths. */
export function staleRunDirs(tempDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(tempDir);
  } catch {
    return [];
  }
  const stale: string[] = [];
  for (const name of names) {
    if (!name.startsWith(RUN_DIR_PREFIX)) continue;
    const m = /^(\d+)-[0-9a-f]+$/.exec(name.slice(RUN_DIR_PREFIX.length));
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !processAlive(pid)) stale.push(join(tempDir, name));
  }
  return stale;
}

/** Removes the run directories of dead processes in `tempDir` (see staleRunDirs); returns them. */
export function removeStaleRunDirs(tempDir: string): string[] {
  const removed: string[] = [];
  for (const dir of staleRunDirs(tempDir)) {
    try {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Not ours to remove (another user's), or removed meanwhile.
    }
  }
  return removed;
}

/**
 * Checks that `tempDir` is a directory.
 * @throws ENOENT, ENOTDIR, EACCES naming it.
 */
export function checkTempDir(tempDir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(tempDir).isDirectory();
  } catch (error) {
    const e = toPagewiseError(error);
    e.message = `the temporary directory '${tempDir}' (tempDir, --temp-dir) cannot be used: ${e.message}`;
    throw e;
  }
  if (!isDir) {
    throw new PagewiseError('ENOTDIR', `the temporary directory '${tempDir}' (tempDir, --temp-dir) is not a directory`, { path: tempDir, option: 'tempDir' });
  }
}

/** One run's directory (not made yet). */
export class RunDir {
  readonly path: string;
  #removed = false;

  /** A run directory in `tempDir`; those of dead processes there are removed first. */
  constructor(
    readonly tempDir: string,
    private readonly flags: Int32Array,
  ) {
    removeStaleRunDirs(tempDir);
    // Required here: every run loads this module (plan.ts checks the temp dir), only keyed runs make a directory.
    const { randomBytes } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
    this.path = join(tempDir, `${RUN_DIR_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    live.set(this.path, flags);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', removeLive);
    }
    hookSignals();
  }

  /** Removes the directory and everything in it. Idempotent. */
  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    Atomics.store(this.flags, CLOSED, 1);
    live.delete(this.path);
    if (live.size === 0) unhookSignals();
    try {
      rmSync(this.path, { recursive: true, force: true });
    } catch (error) {
      throw new PagewiseError(ErrorCodes.INTERNAL, `cannot remove the run directory '${this.path}': ${(error as Error).message}`, { path: this.path, cause: error });
    }
  }
}
