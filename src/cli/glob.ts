/**
 * grep's --include, --exclude and --exclude-dir: shell wildcards as fnmatch(3)
 * reads them without flags (`*` and `?` match `/` and a leading `.` too,
 * `[...]` with `!` or `^`, ranges and ASCII classes, `\` quotes), and gnulib's
 * rules for which one decides (docs/decisions.md, "grep -r"). `?` and a
 * bracket match one character, not one byte: names are UTF-8 here.
 */

const CLASSES: Record<string, string> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: '0-9A-Za-z',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\v\\f\\r',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  xdigit: '0-9A-Fa-f',
  cntrl: '\\x00-\\x1f\\x7f',
  print: ' -~',
  graph: '!-~',
};

/** `ch` as a RegExp (u flag) matches it literally: outside a class, and inside one (where `-` is special too). */
const literal = (ch: string): string => (/[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch);
const member = (ch: string): string => (ch === '-' ? '\\-' : literal(ch));

/** The RegExp of a wildcard pattern, matching a whole name. */
export function globRegExp(glob: string): RegExp {
  const chars = [...glob];
  let source = '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '*') source += '[^]*';
    else if (ch === '?') source += '[^]';
    else if (ch === '\\' && i + 1 < chars.length) source += literal(chars[++i]);
    else if (ch === '[') {
      const bracket = readBracket(chars, i);
      if (bracket === undefined) source += '\\[';
      else {
        source += bracket.source;
        i = bracket.end;
      }
    } else source += literal(ch);
  }
  return new RegExp(`^${source}$`, 'u');
}

/** A bracket expression starting at `chars[start]` (`[`), or undefined when it is not closed (then `[` is literal). */
function readBracket(chars: string[], start: number): { source: string; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (chars[i] === '!' || chars[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  // The last single character read, which a following `-X` makes a range from.
  let last: string | undefined;
  // A `]` right after the opening (and its `!`) is a member, not the end.
  for (let first = true; i < chars.length; i++, first = false) {
    let ch = chars[i];
    if (ch === ']' && !first) return { source: body === '' ? (negate ? '[^]' : '[]') : `[${negate ? '^' : ''}${body}]`, end: i };
    if (ch === '[' && chars[i + 1] === ':') {
      const close = chars.indexOf(':', i + 2);
      const name = close > 0 && chars[close + 1] === ']' ? chars.slice(i + 2, close).join('') : undefined;
      if (name !== undefined && CLASSES[name] !== undefined) {
        body += CLASSES[name];
        i = close + 1;
        last = undefined;
        continue;
      }
    }
    if (ch === '-' && last !== undefined && i + 1 < chars.length && chars[i + 1] !== ']') {
      let hi = chars[++i];
      if (hi === '\\' && i + 1 < chars.length) hi = chars[++i];
      // A range out of order matches nothing, as in fnmatch: its first end, added alone, goes.
      body = body.slice(0, body.length - member(last).length);
      if (last.codePointAt(0)! <= hi.codePointAt(0)!) body += `${member(last)}-${member(hi)}`;
      last = undefined;
      continue;
    }
    if (ch === '\\' && i + 1 < chars.length) ch = chars[++i];
    body += member(ch);
    last = ch;
  }
  return undefined;
}

export interface NameFilter {
  /** Whether a file found while recursing (by its base name) or given on the command line (by any suffix of its name after a `/`) is skipped. */
  skipsFile(name: string, commandLine: boolean): boolean;
  /** The same for a directory (--exclude-dir). */
  skipsDir(name: string, commandLine: boolean): boolean;
}

interface Rule {
  include: boolean;
  re: RegExp;
}

/** The name itself, then every part after a `/` that does not start with one: gnulib's unanchored match. */
function matches(re: RegExp, name: string, anchored: boolean): boolean {
  if (re.test(name)) return true;
  if (anchored) return false;
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    if (name[i + 1] !== '/' && name[i + 1] !== undefined && re.test(name.slice(i + 1))) return true;
  }
  return false;
}

/**
 * gnulib's excluded_file_name: the last rule (in command-line order) whose pattern matches
 * decides; when none matches, the name is skipped only if the first rule is an --include.
 */
function skipped(rules: Rule[], name: string, anchored: boolean): boolean {
  if (rules.length === 0) return false;
  for (let k = rules.length - 1; k >= 0; k--) if (matches(rules[k].re, name, anchored)) return !rules[k].include;
  return rules[0].include;
}

/** The filter of `given` (--include/--exclude globs in command-line order) and `dirs` (--exclude-dir globs). */
export function nameFilter(given: { include: boolean; glob: string }[], dirs: string[]): NameFilter {
  const files = given.map((g) => ({ include: g.include, re: globRegExp(g.glob) }));
  // grep strips the trailing slashes of an --exclude-dir pattern.
  const directories = dirs.map((d) => ({ include: false, re: globRegExp(d.length > 1 ? d.replace(/\/+$/, '') || '/' : d) }));
  return {
    skipsFile: (name, commandLine) => skipped(files, name, !commandLine),
    skipsDir: (name, commandLine) => skipped(directories, name, !commandLine),
  };
}
