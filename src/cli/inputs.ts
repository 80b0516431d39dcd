/**
 * Inputs as the commands see them before a run: which exist, which are
 * regular files (for honest progress totals and wc's column width). A bad
 * one is reported; the per-file commands (wc, grep) skip it and go on, as GNU
 * tools do, while the ones whose result combines every file refuse to run,
 * as sort does (docs/decisions.md, "Several files, one bad").
 */
import { fstatSync, statSync } from 'node:fs';
import { ErrorCodes, PagewiseError, toPagewiseError } from '../errors.js';
import { argvBytes } from './args.js';
import type { Context } from './main.js';

export interface Input {
  path: string;
  /** stat failed or the path is a directory; `error` says why. */
  failed: boolean;
  error?: PagewiseError;
  regular: boolean;
  /** A directory: stat works, reading does not (GNU wc still prints its row of zeros). */
  directory?: boolean;
  size: number;
}

export function statInput(path: string): Input {
  // Node hands the command line on decoded: the name it gives is not the file's.
  if (path !== '-' && argvBytes(path) !== undefined) {
    const error = new PagewiseError(
      ErrorCodes.UNSUPPORTED,
      `'${path}': the name is not valid UTF-8, which Node.js cannot pass on: read the file as standard input (- < FILE) or through a link whose name is UTF-8`,
      { path },
    );
    return { path, failed: true, error, regular: false, size: 0 };
  }
  try {
    const st = path === '-' ? fstatSync(0) : statSync(path);
    if (st.isDirectory()) {
      const error = new PagewiseError(ErrorCodes.NOT_REGULAR_FILE, `'${path}' is a directory, not a regular file`, { path });
      return { path, failed: true, error, regular: false, directory: true, size: 0 };
    }
    return { path, failed: false, regular: st.isFile(), size: st.isFile() ? st.size : 0 };
  } catch (error) {
    return { path, failed: true, error: toPagewiseError(error), regular: false, size: 0 };
  }
}

/** What grep -s keeps quiet: a file that is missing, unreadable or a directory (grep's "nonexistent or unreadable files"), or whose name cannot be opened (not UTF-8). */
const FILE_ACCESS = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'ELOOP', 'ENAMETOOLONG', 'EISDIR', 'ENXIO', ErrorCodes.NOT_REGULAR_FILE, ErrorCodes.UNSUPPORTED]);

/** Whether `error` says a file could not be found or opened. */
export function isFileAccessError(error: unknown): boolean {
  return FILE_ACCESS.has((error as { code?: string })?.code ?? '');
}

/** The inputs that can be read; each other one is reported on stderr (and the command will exit non-zero). */
export function goodInputs(ctx: Context, paths: string[]): Input[] {
  return readableInputs(ctx, paths.map(statInput));
}

/** `inputs` less the failed ones, each of which is reported (goodInputs for inputs already stat'ed). */
export function readableInputs(ctx: Context, inputs: Input[]): Input[] {
  for (const input of inputs) if (input.failed) ctx.report(input.error, input.path);
  return inputs.filter((i) => !i.failed);
}

/**
 * Every input, or none when one of them cannot be read: a result combined
 * over the rest would look whole and be wrong. Each bad one is reported.
 */
export function everyInput(ctx: Context, paths: string[]): Input[] {
  const good = goodInputs(ctx, paths);
  return good.length === paths.length ? good : [];
}

/** The bytes a run over `inputs` will read, or undefined when one is not a regular file (unknown). */
export function totalBytes(inputs: Input[]): number | undefined {
  if (inputs.some((i) => !i.regular)) return undefined;
  return inputs.reduce((n, i) => n + i.size, 0);
}
