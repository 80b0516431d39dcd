/**
 * The rules every atomic output shares, apart from src/output/atomic.ts so
 * that its declarations (part of the package's types) need no Node types:
 * which file a write to a path replaces, and how a failure to create its
 * temporary is named.
 */
import { lstatSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type PagewiseError, toPagewiseError } from '../errors.js';

/**
 * An error creating the temporary of `path`, named by `path` (what the user
 * gave; `temporary` keeps the name of the file that could not be created).
 */
export function temporaryError(error: unknown, path: string, tempPath: string): PagewiseError {
  const e = toPagewiseError(error);
  e.message = e.message.split(tempPath).join(path);
  return Object.assign(e, { path, temporary: tempPath });
}

/**
 * The file a write to `path` must replace: `path` itself, or what a symbolic
 * link at `path` points to (the link stays a link to the new content, as
 * `cp` and `>` leave it; `sed -i` would replace the link).
 */
export function resolveTarget(path: string): { target: string; stats: Stats | undefined } {
  const absolute = resolve(path);
  let link: Stats;
  try {
    link = lstatSync(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { target: absolute, stats: undefined };
    throw toPagewiseError(error);
  }
  if (!link.isSymbolicLink()) return { target: absolute, stats: link };
  try {
    const target = realpathSync(absolute);
    return { target, stats: statSync(target) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw toPagewiseError(error);
    // A dangling link: create what it names.
    return { target: resolve(dirname(absolute), readlinkSync(absolute)), stats: undefined };
  }
}
