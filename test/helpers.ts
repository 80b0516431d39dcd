/**
 * Shared test plumbing: the library as users get it (compiled, from dist/),
 * temporary files, and independent references.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, onTestFinished } from 'vitest';

export * as pagewise from '../dist/src/index.js';
export const ROOT = resolve(import.meta.dirname, '..');
export const CLI = join(ROOT, 'bin', 'pagewise.cjs');

/** A temporary directory removed after the file's tests, or after the test that made it. */
export function tempDir(prefix = 'pagewise-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  // An afterAll registered from inside a test body never runs (the directories leaked).
  if (expect.getState().currentTestName !== undefined) onTestFinished(remove);
  else afterAll(remove);
  return dir;
}

/** Writes `content` to `dir/name` and returns the path. */
export function writeFile(dir: string, name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Resident bytes of this process's mappings of `path` (from /proc/self/smaps). */
export function mappedRss(path: string): number {
  const lines = readFileSync('/proc/self/smaps', 'utf8').split('\n');
  let total = 0;
  for (let i = 0; i < lines.length; i++) {
    if (!/^[0-9a-f]+-[0-9a-f]+ /.test(lines[i]) || !lines[i].endsWith(` ${path}`)) continue;
    for (let j = i + 1; j < lines.length && !/^[0-9a-f]+-[0-9a-f]+ /.test(lines[j]); j++) {
      const rss = /^Rss:\s+(\d+) kB/.exec(lines[j]);
      if (rss) total += Number(rss[1]) * 1024;
    }
  }
  return total;
}
