// Dropping a file from the page cache for the cold benches, without root:
// posix_fadvise(POSIX_FADV_DONTNEED) over the whole file. Node has no
// fadvise, so pagewise's own MappedFile does it, in a child process: the
// harness never loads the addon nor holds a mapping of the file it times.
//
//   node bench/lib/page-cache.mjs FILE   prints {"before":share,"after":share}, the resident shares
import { spawnSync } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SELF), '..', '..');

/**
 * Evicts `path` from the page cache and returns the share of its pages still
 * resident afterwards (0 when the kernel dropped them all). Throws when the
 * child could not do it (no addon, no fadvise).
 */
export function evict(path, env = process.env) {
  const r = spawnSync(process.execPath, [SELF, path], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`could not evict ${path} from the page cache: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
  return JSON.parse(r.stdout).after;
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  const path = process.argv[2];
  const { MappedFile } = await import(pathToFileURL(join(ROOT, 'dist', 'src', 'index.js')).href);
  // Dirty pages are not dropped by DONTNEED: a file just written must reach the disk first.
  const fd = openSync(path, 'r');
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const file = MappedFile.open(path);
  try {
    const share = () => {
      const r = file.residency();
      return r.pages ? r.resident / r.pages : 0;
    };
    const before = share();
    if (!file.fadvise('dontneed')) throw new Error('posix_fadvise(POSIX_FADV_DONTNEED) was refused');
    process.stdout.write(`${JSON.stringify({ before, after: share() })}\n`);
  } finally {
    file.close();
  }
}
