/**
 * grep -r and -R: the files under directory operands, as GNU grep finds them,
 * in a fixed order (docs/decisions.md, "grep -r"). A directory's entries are
 * taken in byte order of their names, depth first; only regular files found
 * in a directory are read (devices, FIFOs and sockets are skipped, as grep
 * skips them while recursing). -r follows symbolic links given on the command
 * line only, -R every one, with a warning for a link back to a directory on
 * the current path. Operands that are not directories are kept as given.
 */
import { readdirSync, statSync } from 'node:fs';
import { ErrorCodes, PagewiseError, toPagewiseError } from '../errors.js';
import type { NameFilter } from './glob.js';
import { statInput, type Input } from './inputs.js';

export interface Walked {
  /** The inputs in the order they are read; a directory that could not be read is a failed one. */
  inputs: Input[];
  /** Warnings to print first (a directory loop under -R), each a whole line. */
  warnings: string[];
  /** An operand was a directory (or there was none): grep then names the files it prints. */
  descended: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A name that is not UTF-8, shown with its other bytes as octal escapes (`caf\351.txt`). */
function escapedName(raw: Buffer): string {
  let text = '';
  for (let i = 0; i < raw.length; ) {
    let n = 1;
    // The longest valid UTF-8 sequence starting here, or a single byte.
    for (let len = Math.min(4, raw.length - i); len >= 1; len--) {
      try {
        const ch = utf8.decode(raw.subarray(i, i + len));
        if ([...ch].length === 1) {
          text += ch;
          n = len;
          break;
        }
      } catch {
        // not a sequence of this length
      }
      if (len === 1) text += `\\${raw[i].toString(8).padStart(3, '0')}`;
    }
    i += n;
  }
  return text;
}

export interface WalkOptions {
  /** -r or -R: directory operands are searched through; else they are inputs (that fail). */
  recursive: boolean;
  /** -R: links found in directories are followed too. */
  followAll: boolean;
  /** --include, --exclude, --exclude-dir (none: every name). */
  filter?: NameFilter;
}

/**
 * The inputs grep reads for `operands`. With -r or -R, the files under the directories among
 * them; none given means `.`, whose files are then named without the `./`, as grep names them.
 * Names the filter skips are left out, as grep leaves them: silently (standard input never is).
 */
export function grepInputs(operands: string[], o: WalkOptions): Walked {
  const filter = o.filter;
  const followAll = o.followAll;
  const inputs: Input[] = [];
  const warnings: string[] = [];
  let descended = false;
  const join = (dir: string, name: string): string => (dir === '' ? name : dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`);

  // `ancestors`: dev:ino of the directories from the operand down to this one.
  const walk = (dir: string, shown: string, ancestors: Set<string>): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true, encoding: 'buffer' });
    } catch (error) {
      inputs.push({ path: shown || '.', failed: true, error: toPagewiseError(Object.assign(error as Error, { path: shown || '.' })), regular: false, size: 0 });
      return;
    }
    entries.sort((a, b) => Buffer.compare(a.name, b.name));
    for (const entry of entries) {
      let name: string;
      try {
        name = utf8.decode(entry.name);
      } catch {
        const path = join(shown, escapedName(entry.name));
        const error = new PagewiseError(ErrorCodes.UNSUPPORTED, `'${path}': the name is not valid UTF-8, which Node.js cannot pass on: skipped (read it as standard input, - < FILE)`, { path });
        inputs.push({ path, failed: true, error, regular: false, size: 0 });
        continue;
      }
      const path = join(dir, name);
      const show = join(shown, name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        if (!followAll) continue;
        let st;
        try {
          st = statSync(path);
        } catch (error) {
          // A dangling link, or one to a place that cannot be reached: grep -R says so.
          inputs.push({ path: show, failed: true, error: toPagewiseError(Object.assign(error as Error, { path: show })), regular: false, size: 0 });
          continue;
        }
        isDir = st.isDirectory();
        isFile = st.isFile();
      }
      if (isDir) {
        if (filter?.skipsDir(name, false) !== true) enter(path, show, ancestors);
      } else if (isFile && filter?.skipsFile(name, false) !== true) inputs.push({ ...statInput(path), path: show });
    }
  };

  const enter = (dir: string, shown: string, ancestors: Set<string>): void => {
    let id: string;
    try {
      const st = statSync(dir);
      id = `${st.dev}:${st.ino}`;
    } catch (error) {
      inputs.push({ path: shown, failed: true, error: toPagewiseError(Object.assign(error as Error, { path: shown })), regular: false, size: 0 });
      return;
    }
    if (ancestors.has(id)) {
      warnings.push(`pagewise: ${shown}: warning: recursive directory loop`);
      return;
    }
    ancestors.add(id);
    walk(dir, shown, ancestors);
    ancestors.delete(id);
  };

  if (!o.recursive) {
    for (const operand of operands) {
      const input = statInput(operand);
      if (operand === '-' || filter === undefined || !(input.directory === true ? filter.skipsDir(operand, true) : filter.skipsFile(operand, true))) inputs.push(input);
    }
    return { inputs, warnings, descended };
  }
  for (const operand of operands.length === 0 ? ['.'] : operands) {
    const input = statInput(operand);
    if (input.directory !== true) {
      if (operand === '-' || filter?.skipsFile(operand, true) !== true) inputs.push(input);
      continue;
    }
    // The `.` grep searches when given no operand is never excluded.
    if (operands.length > 0 && filter?.skipsDir(operand, true) === true) continue;
    descended = true;
    // No operand: grep searches `.` and names its files without the `./`.
    enter(operand, operands.length === 0 ? '' : operand, new Set());
  }
  return { inputs, warnings, descended };
}
