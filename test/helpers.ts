/**
 * Shared test plumbing: the library as users get it (compiled, from dist/),
 * temporary files, and independent references.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';

export * as pagewise from '../dist/src/index.js';
export const ROOT = resolve(import.meta.dirname, '..');
export const CLI = join(ROOT, 'bin', 'pagewise.cjs');

/** A temporary directory removed after the file's tests. */
export function tempDir(prefix = 'pagewise-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `content` to `dir/name` and returns the path. */
export function writeFile(dir: string, name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
