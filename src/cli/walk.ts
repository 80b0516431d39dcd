/**
 * grep -r and -R: the files under directory operands, as GNU grep finds them,
 * in a fixed order (docs/decisions.md, "grep -r"). A directory's entries are
 * taken in byte order of their names, depth first; only regular files found
 * in a directory are read (devices, FIFOs and sockets are skipped, as grep
 * skips them while recursing). -r follows symbolic links given on the command
 * line only, -R every one, with a warning for a link back to a directory on
 * the current path. Operands that are not directories are kept as given.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { ErrorCodes, PagewiseError, toPagewiseError } from '../errors.js';
import { nameFilter, type NameFilter } from './glob.js';
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

/** --include, --exclude (and the globs of --exclude-from files), in the order given, and --exclude-dir; undefined when none is given. */
function nameFilterOf(given: { flag: string; value: unknown }[]): NameFilter | undefined {
  const rules: { include: boolean; glob: string }[] = [];
  const dirs: string[] = [];
  for (const { flag, value } of given) {
    if (flag === 'include' || flag === 'exclude') rules.push({ include: flag === 'include', glob: value as string });
    else if (flag === 'exclude-dir') dirs.push(value as string);
    else if (flag === 'exclude-from') {
      let text: string;
      try {
        text = readFileSync(value as string, 'utf8');
      } catch (error) {
        throw Object.assign(error as Error, { path: value });
      }
      // One glob per line, as grep reads them: trailing white space goes, a blank line is no pattern.
      for (const line of text.split('\n')) {
        const glob = line.replace(/[ \t\n\v\f\r]+$/, '');
        if (glob !== '') rules.push({ include: false, glob });
      }
    }
  }
  return rules.length === 0 && dirs.length === 0 ? undefined : nameFilter(rules, dirs);
}

/** An input that cannot be read, shown as `path`. */
function failed(path: string, error: unknown): Input {
  return { path, failed: true, error: toPagewiseError(Object.assign(error as Error, { path })), regular: false, size: 0 };
}

export interface WalkOptions {
  /** -r or -R: directory operands are searched through; else they are inputs (that fail). */
  recursive: boolean;
  /** -R: links found in directories are followed too. */
  followAll: boolean;
  /** Every flag with a value, in order (Context.given): --include, --exclude, --exclude-from and --exclude-dir among them choose the names. */
  given: { flag: string; value: unknown }[];
}

/**
 * The inputs grep reads for `operands`. With -r or -R, the files under the directories among
 * them; none given means `.`, whose files are then named without the `./`, as grep names them.
 * Names the filter skips are left out, as grep leaves them: silently (standard input never is).
 */
export function grepInputs(operands: string[], o: WalkOptions): Walked {
  const filter = nameFilterOf(o.given);
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
      inputs.push(failed(shown || '.', error));
      return;
    }
    entries.sort((a, b) => Buffer.compare(a.name, b.name));
    for (const entry of entries) {
      let name: string;
      try {
        name = utf8.decode(entry.name);
      } catch {
        const path = join(shown, escapedName(entry.name));
        inputs.push(failed(path, new PagewiseError(ErrorCodes.UNSUPPORTED, `'${path}': the name is not valid UTF-8, which Node.js cannot pass on: skipped (read it as standard input, - < FILE)`)));
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
          inputs.push(failed(show, error));
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
      inputs.push(failed(shown || '.', error));
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

  // No operand (with -r): grep searches `.`, names its files without the `./`, and never excludes it.
  const implicit = operands.length === 0;
  for (const operand of implicit ? ['.'] : operands) {
    const input = statInput(operand);
    const directory = input.directory === true;
    if (operand !== '-' && !implicit && filter !== undefined && (directory ? filter.skipsDir(operand, true) : filter.skipsFile(operand, true))) continue;
    if (!directory || !o.recursive) {
      inputs.push(input);
      continue;
    }
    descended = true;
    enter(operand, implicit ? '' : operand, new Set());
  }
  return { inputs, warnings, descended };
}
