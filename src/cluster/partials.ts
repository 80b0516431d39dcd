/**
 * Split results too large for Redis travel as files on the shared storage,
 * beside the input: written under a temporary name and renamed into place
 * (atomic on POSIX filesystems and NFS), so the coordinator never reads a
 * half-written one. The writer branch's src/output/ has the general atomic
 * file; until it lands in main this is the one small function the cluster
 * needs.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Where split `k` of run `run` over the input at `path` (absolute) has its partial file. */
export function partialPath(path: string, run: string, k: number): string {
  return join(dirname(path), `.pagewise-${run}-${k}.partial`);
}

/** Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync, rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Reads a partial file and removes it. */
export function takePartialFile(path: string): Buffer {
  const bytes = readFileSync(path);
  rmSync(path, { force: true });
  return bytes;
}

/** Removes every partial file (and temporary one) of run `run` in these directories; errors are ignored (cleanup is best effort). */
export function removeRunPartials(dirs: Iterable<string>, run: string): void {
  const marker = `.pagewise-${run}-`;
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) if (name.startsWith(marker) || name.startsWith(`.${marker}`)) rmSync(join(dir, name), { force: true });
  }
}
