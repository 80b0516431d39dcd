/**
 * The cache of stripped TypeScript jobs, for the module hooks in ts-hooks.ts.
 * What is in it is code we will run, so it is used only when no directory on
 * the way to it could have been changed by another user:
 *
 * - It lives in `$XDG_CACHE_HOME/pagewise`, else `~/.cache/pagewise`, else
 *   (no usable home) `<tmpdir>/pagewise-cache-<uid>`.
 * - The path is walked from `/` one directory at a time, each opened with
 *   O_DIRECTORY|O_NOFOLLOW relative to the one before (through
 *   /proc/self/fd, Node has no openat) and checked with fstat: every
 *   ancestor belongs to root or to us and is not writable by others unless
 *   sticky (as /tmp is); the cache directory itself is ours, made 0700.
 *   Nothing is followed, so a symlink swapped in at any moment makes the
 *   walk fail, and pagewise goes on without a cache.
 * - Entries are opened relative to that directory's fd with O_NOFOLLOW and
 *   must be regular files of ours; new ones are written to an O_EXCL temp
 *   file and renamed into place, both relative to the same fd.
 * - Keys hash the stripper's name and version, its options, the path and
 *   the source. Past MAX_FILES entries or MAX_BYTES the least recently used
 *   go.
 *
 * Linux only (it needs /proc/self/fd); elsewhere there is no cache and each
 * thread strips its job itself (about 40 ms).
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  futimesSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, isAbsolute } from 'node:path';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW } = constants;

/** Entries kept at most; one per job version and Node version. */
export const MAX_FILES = 256;
/** Bytes kept at most. */
export const MAX_BYTES = 32 * 1024 * 1024;

const S_ISVTX = 0o1000;
// Only names pagewise makes are ever removed.
const ENTRY_NAME = /^[0-9a-f]{64}\.js$/;
const TEMP_NAME = /^[0-9a-f]{64}\.\d+\.[0-9a-z]+\.tmp$/;

/** A path that names `name` inside the directory open as `dirFd`, resolved by the kernel from the fd. */
const at = (dirFd: number, name: string): string => `/proc/self/fd/${dirFd}/${name}`;

/** The cache entry's name for these inputs. */
export function cacheKey(parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}

/** Where the cache may be, best first: an existing base directory and the names below it to create. */
export function cacheCandidates(env: NodeJS.ProcessEnv = process.env): { base: string; sub: string[] }[] {
  const list: { base: string; sub: string[] }[] = [];
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) {
    // The spec lets us make XDG_CACHE_HOME itself (0700) when it is missing.
    list.push({ base: dirname(xdg), sub: [basename(xdg), 'pagewise'] });
  } else {
    let home = env.HOME;
    if (!home) {
      try {
        home = homedir();
      } catch {
        home = undefined;
      }
    }
    if (home && isAbsolute(home)) list.push({ base: home, sub: ['.cache', 'pagewise'] });
  }
  const uid = process.getuid?.();
  if (uid !== undefined) list.push({ base: tmpdir(), sub: [`pagewise-cache-${uid}`] });
  return list;
}

function trustedAncestor(st: Stats, uid: number): boolean {
  if (!st.isDirectory()) return false;
  if (st.uid !== 0 && st.uid !== uid) return false;
  return (st.mode & 0o022) === 0 || (st.mode & S_ISVTX) !== 0;
}

/**
 * Opens `base/sub[0]/sub[1]/...` as described above, creating the `sub`
 * directories that are missing (0700; `base` must exist), or returns
 * undefined. The caller closes the fd.
 */
export function openCacheDir(base: string, sub: string[]): number | undefined {
  const uid = process.getuid?.();
  if (uid === undefined || process.platform !== 'linux' || !isAbsolute(base) || sub.length === 0) return undefined;
  // Resolve the base once (a home may sit behind a symlink that root made),
  // then walk the result without following anything. The names below it
  // are never resolved: a symlink there (say the one name another user
  // could place in a sticky /tmp) fails the walk.
  let resolved: string;
  try {
    resolved = realpathSync(base);
  } catch {
    return undefined;
  }
  const existing = resolved.split('/').filter(Boolean);
  const names = [...existing, ...sub.filter(Boolean)];
  let fd = -1;
  try {
    fd = openSync('/', O_RDONLY | O_DIRECTORY);
    if (!trustedAncestor(fstatSync(fd), uid)) return undefined;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      let next: number;
      try {
        next = openSync(at(fd, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || i < existing.length) return undefined;
        try {
          mkdirSync(at(fd, name), 0o700);
        } catch (made) {
          if ((made as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
        }
        next = openSync(at(fd, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      }
      closeSync(fd);
      fd = next;
      const st = fstatSync(fd);
      const last = i === names.length - 1;
      if (last ? !(st.isDirectory() && st.uid === uid) : !trustedAncestor(st, uid)) return undefined;
      if (last && (st.mode & 0o077) !== 0) fchmodSync(fd, 0o700);
    }
    const result = fd;
    fd = -1;
    return result;
  } catch {
    return undefined;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Runs `use` with the first usable cache directory's fd; undefined when there is none. */
function withCacheDir<T>(use: (dirFd: number) => T): T | undefined {
  for (const { base, sub } of cacheCandidates()) {
    const dirFd = openCacheDir(base, sub);
    if (dirFd === undefined) continue;
    try {
      return use(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
  return undefined;
}

/** The cached code under `key`, or undefined. */
export function readCached(key: string): string | undefined {
  return withCacheDir((dirFd) => {
    let fd: number;
    try {
      fd = openSync(at(dirFd, `${key}.js`), O_RDONLY | O_NOFOLLOW);
    } catch {
      return undefined;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0) return undefined;
      const code = readFileSync(fd, 'utf8');
      // Recently used entries are the last to go.
      const now = new Date();
      futimesSync(fd, now, now);
      return code;
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  });
}

/** Stores `code` under `key`; a cache that cannot be written only costs time. */
export function writeCached(key: string, code: string): void {
  withCacheDir((dirFd) => {
    const temp = `${key}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      const fd = openSync(at(dirFd, temp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      try {
        writeSync(fd, code);
      } finally {
        closeSync(fd);
      }
      renameSync(at(dirFd, temp), at(dirFd, `${key}.js`));
    } catch {
      try {
        unlinkSync(at(dirFd, temp));
      } catch {
        // never made
      }
      return;
    }
    evict(dirFd);
  });
}

/**
 * Removes the least recently used entries beyond `maxFiles` or `maxBytes`,
 * and temp files left by a process that died while writing.
 */
export function evict(dirFd: number, maxFiles = MAX_FILES, maxBytes = MAX_BYTES): void {
  let names: string[];
  try {
    names = readdirSync(`/proc/self/fd/${dirFd}`);
  } catch {
    return;
  }
  const entries: { name: string; size: number; mtime: number }[] = [];
  const now = Date.now();
  for (const name of names) {
    try {
      const st = lstatSync(at(dirFd, name));
      if (!st.isFile()) continue;
      if (TEMP_NAME.test(name)) {
        if (now - st.mtimeMs > 60_000) unlinkSync(at(dirFd, name));
        continue;
      }
      if (ENTRY_NAME.test(name)) entries.push({ name, size: st.size, mtime: st.mtimeMs });
    } catch {
      // gone meanwhile
    }
  }
  entries.sort((a, b) => b.mtime - a.mtime);
  let bytes = 0;
  entries.forEach((entry, i) => {
    bytes += entry.size;
    if (i < maxFiles && bytes <= maxBytes) return;
    try {
      unlinkSync(at(dirFd, entry.name));
    } catch {
      // gone meanwhile
    }
  });
}
