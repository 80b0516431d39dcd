// Dropping a file from the page cache for the cold benches, without root:
// posix_fadvise(POSIX_FADV_DONTNEED) over the whole file. Node has no
// fadvise, so pagewise's own MappedFile does it, in a child process: the
// harness never loads the addon nor holds a mapping of the file it times.
//
//   node bench/lib/page-cache.mjs FILE          prints {"before":share,"after":share}, the resident shares
//   node bench/lib/page-cache.mjs --folios FILE prints {"resident":share,"pmd":share}: how much of the
//                                               file is cached, and in 2 MiB folios (a populate of a
//                                               mapping maps those by one PMD entry: FilePmdMapped)
import { spawnSync } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, readFileSync } from 'node:fs';
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

/**
 * How much of `path` is in the page cache, and how much of it in 2 MiB
 * folios, which the same file scans up to 2.5x faster from
 * (docs/performance.md): {resident, pmd} as shares of the file, or undefined
 * when the child could not tell. Populating a mapping of cached pages maps
 * each 2 MiB folio by one PMD entry. Only a file at least 99% cached is
 * measured (`pmd` undefined otherwise): a populate reads the rest.
 */
export function folioShares(path, env = process.env) {
  const r = spawnSync(process.execPath, [SELF, '--folios', path], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  return r.status === 0 ? JSON.parse(r.stdout) : undefined;
}

async function folios(path) {
  const { MappedFile } = await import(pathToFileURL(join(ROOT, 'dist', 'src', 'index.js')).href);
  const file = MappedFile.open(path);
  try {
    const r = file.residency();
    const resident = r.pages ? r.resident / r.pages : 0;
    // Only a file that is (nearly) all cached: a populate reads the rest from the disk.
    let pmd;
    if (resident >= 0.99 && file.size > 0 && file.advise('populateRead')) {
      const smaps = readFileSync('/proc/self/smaps', 'utf8').split('\n');
      let bytes = 0;
      for (let i = 0; i < smaps.length; i++) {
        if (!/^[0-9a-f]+-[0-9a-f]+ /.test(smaps[i]) || !smaps[i].endsWith(` ${resolve(path)}`)) continue;
        for (let j = i + 1; j < smaps.length && !/^[0-9a-f]+-[0-9a-f]+ /.test(smaps[j]); j++) {
          const m = /^FilePmdMapped:\s+(\d+) kB/.exec(smaps[j]);
          if (m) bytes += Number(m[1]) * 1024;
        }
      }
      pmd = bytes / file.size;
    }
    process.stdout.write(`${JSON.stringify({ resident, pmd })}\n`);
  } finally {
    file.close();
  }
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url && process.argv[2] === '--folios') {
  await folios(process.argv[3]);
} else if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
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
