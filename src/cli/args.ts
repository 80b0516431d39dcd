/**
 * The command line's one table: every command, its flags (with their value
 * checks and defaults), positionals and examples. Parsing, `--help` and the
 * README's Usage section are all read from it (test/cli-help.test.ts checks
 * the README against the help), so they cannot drift apart.
 *
 * This module imports nothing from the library: `--help` and usage errors must
 * work without the addon.
 */
import { readFileSync } from 'node:fs';
import { ErrorCodes, InvalidOptionError, PagewiseError } from '../errors.js';
import { checkLockDuration, checkQueueName } from '../options.js';

/** One flag. A flag with `value` takes an argument; without, it is a switch. */
export interface Flag {
  /** Long name without dashes: `chunk-size`. */
  long: string;
  /** One-letter alias: `l` for `-l`. */
  short?: string;
  /** Name of the argument in help (`N`, `SIZE`); absent for a switch. */
  value?: string;
  /** One line for `--help`. */
  help: string;
  /** The default as help shows it. */
  default?: string;
  /** A switch that also has a `--no-NAME` form (`--progress`, `--no-progress`). */
  negatable?: boolean;
  /** May be given several times; the values are collected in order. */
  repeat?: boolean;
  /** Checks and converts the argument; throws InvalidOptionError naming the flag. */
  parse?: (raw: string, flag: string) => unknown;
  /** The library option this flag sets (`chunkSize`): a library error about it is shown as this flag. */
  option?: string;
}

/** One command of the table. */
export interface Command {
  name: string;
  /** One line, for the global help. */
  summary: string;
  /** Argument synopsis after `pagewise NAME`. */
  synopsis: string;
  /** A few sentences under the synopsis in `--help`. */
  description: string;
  flags: Flag[];
  /** Fewest and most positionals (`Infinity`: no limit). */
  positionals: { min: number; max: number; missing: string };
  /** Flags refused with a reason instead of "unknown option". */
  refused?: Record<string, string>;
  /** The flag a run of digits in a short cluster sets, as grep's -NUM (`-2` is `--context 2`). */
  digits?: string;
  /** Two or more `[command line, what it does]`. */
  examples: [string, string][];
}

// ------------------------------------------------------------ value checks --

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4 };

/** A byte count: `65536`, `64KiB`, `8M`, `1GiB` (binary units), or undefined. */
export function sizeOf(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/.exec(raw.trim());
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** grep -m: an integer; a negative one, or one too large to hold, is no limit (Infinity), as grep documents. */
function maxCount(raw: string, flag: string): number {
  if (!/^[-+]?\d+$/.test(raw.trim())) throw new InvalidOptionError(flag, 'an integer, such as 1 (below 0: no limit)', raw);
  const n = Number(raw);
  return n < 0 || !Number.isSafeInteger(n) ? Infinity : n;
}

/** grep -A, -B, -C: a number of lines >= 0 (blanks before it and a + are accepted, as grep's strtoimax does); one too large to hold is every line (Infinity). */
function contextLines(raw: string, flag: string): number {
  if (!/^[ \t\n\v\f\r]*\+?\d+$/.test(raw)) throw new InvalidOptionError(flag, 'a number of lines >= 0, such as 2', raw);
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : Infinity;
}

/** An integer in [min, max], written as digits or like `1e8`. */
function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string, flag: string): number => {
    const n = /^\d+(\.\d+)?(e\d+)?$/i.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      throw new InvalidOptionError(flag, `an integer ${range}, such as ${Math.max(min, 1)}${max >= 1e8 ? ' or 1e8' : ''}`, raw);
    }
    return n;
  };
}

function oneOf(...allowed: string[]) {
  return (raw: string, flag: string): string => {
    if (!allowed.includes(raw)) throw new InvalidOptionError(flag, `one of ${allowed.join(', ')}`, raw);
    return raw;
  };
}

function json(raw: string, flag: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new InvalidOptionError(flag, `valid JSON (${(error as Error).message})`, raw);
  }
}

function byteSize(raw: string, flag: string): number {
  const n = sizeOf(raw);
  if (n === undefined) throw new InvalidOptionError(flag, 'a byte count like 1000000, 64KiB or 1GiB', raw);
  return n;
}

// The page-multiple rule needs the page size, which only the addon knows: the
// library checks it, and its error is shown as this flag (see Flag.option).
function chunkSize(raw: string, flag: string): number | 'auto' {
  if (raw === 'auto') return 'auto';
  const n = sizeOf(raw);
  if (n === undefined || n <= 0 || n > 1024 ** 3) {
    throw new InvalidOptionError(flag, "'auto' or a page multiple up to 1GiB, like 64KiB, 8MiB, 1GiB", raw);
  }
  return n;
}

function text(raw: string): string {
  return raw;
}

/** A path or a name: an empty one is a mistake (a shell variable that was not set), never "the default". */
function nonEmpty(what: string) {
  return (raw: string, flag: string): string => {
    if (raw === '') throw new InvalidOptionError(flag, what, raw);
    return raw;
  };
}

/** A path on the command line: not empty, and valid UTF-8 (checkPath). */
function path(what: string) {
  return (raw: string, flag: string): string => checkPath(nonEmpty(what)(raw, flag), flag);
}

/**
 * A path as given, unless it held bytes that are not UTF-8: Node decoded them (U+FFFD), so the
 * string names another file, which an output would then create. Input files are refused by
 * statInput, with their bytes quoted.
 */
export function checkPath(raw: string, flag: string): string {
  if (fromInvalidArgvBytes(raw)) throw new InvalidOptionError(flag, 'a path that is valid UTF-8 (Node.js decodes the command line, so this one would name another file)', raw);
  return raw;
}

// ------------------------------------------------------------------ flags --

const json_ = (help: string): Flag => ({ long: 'json', help });

/** Flags of every command that reads files through the engine. */
export const RUN_FLAGS: Flag[] = [
  { long: 'threads', value: 'N', help: 'threads that read the input (1-1024)', default: 'all cores', parse: integer(1, 1024), option: 'threads' },
  { long: 'chunk-size', value: 'SIZE', help: 'bytes per chunk: a page multiple like 64KiB, 8MiB, 1GiB, or auto', default: 'auto', parse: chunkSize, option: 'chunkSize' },
  { long: 'progress', negatable: true, help: 'show progress on stderr (--no-progress: never)', default: 'when stderr is a terminal' },
  { long: 'stats', help: 'print run statistics to stderr (JSON with --json)' },
  { long: 'release', value: 'POLICY', help: 'pages behind the scan: auto, keep, unmap or evict', default: 'auto', parse: oneOf('auto', 'keep', 'unmap', 'evict'), option: 'release' },
  { long: 'prefetch', value: 'N', help: 'chunks to prefetch ahead (0-64)', default: 'one per thread', parse: integer(0, 64), option: 'prefetch' },
  { long: 'advice', value: 'MODE', help: 'madvise for the mapping: sequential, normal, random or hugepage', default: 'sequential', parse: oneOf('sequential', 'normal', 'random', 'hugepage'), option: 'advice' },
  { long: 'max-bytes', value: 'SIZE', help: 'read at most SIZE bytes of a stream or device', default: 'no limit', parse: byteSize, option: 'maxBytes' },
  { long: 'no-native-kernels', help: "run the job's JavaScript map in workers even where it has a native kernel", option: 'nativeKernels' },
  { long: 'explain', help: 'print the plan (how each input is read, the executor, threads, chunk size, release, and why) and exit without reading' },
  { long: 'verbose', help: 'on an error, print the whole stack of its cause' },
  // Cluster mode (src/cluster/cli.ts makes the `cluster` option of them; the library checks the values).
  { long: 'cluster', value: 'URL', help: 'run on pagewise workers over Redis: redis://[:PASSWORD@]HOST[:PORT][/DB] (or the password in PAGEWISE_REDIS_PASSWORD); needs npm install bullmq ioredis', default: 'run here', parse: text },
  { long: 'split-size', value: 'SIZE', help: 'bytes per split of a cluster run, a multiple of the chunk size', default: '256MiB', parse: text },
  { long: 'cluster-timeout', value: 'DUR', help: 'give up when no split made progress for DUR (30, 30s, 500ms, 2m)', default: 'wait', parse: text },
  { long: 'queue', value: 'NAME', help: "the workers' queue", default: 'pagewise', parse: checkQueueName },
];

/** The flags of cluster mode, which only the commands that read FILEs through one run take. */
const CLUSTER_FLAG_NAMES = ['cluster', 'split-size', 'cluster-timeout', 'queue'];

/** Where keyed runs spill (run with a keyed job, freq). */
const TEMP_DIR_FLAG: Flag = {
  long: 'temp-dir',
  value: 'DIR',
  help: 'where a keyed run (freq, a keyed job) spills sorted runs once its tables reach their share of memory',
  default: '$TMPDIR or /tmp',
  parse: path('a directory'),
  option: 'tempDir',
};

/** Flags every command has. */
export const HELP_FLAG: Flag = { long: 'help', short: 'h', help: 'print this help' };

function runFlags(except: string[] = []): Flag[] {
  return RUN_FLAGS.filter((f) => !except.includes(f.long));
}

// --------------------------------------------------------------- commands --

export const COMMANDS: Command[] = [
  {
    name: 'wc',
    summary: 'count lines, words, characters and bytes, like wc',
    synopsis: '[OPTIONS] FILE...',
    description:
      'Prints one row per FILE and a total for several, in the columns of GNU wc: lines, words, characters, bytes ' +
      '(the ones asked for, in that order; -l -w -c without any). Words and characters follow GNU wc in the C.UTF-8 ' +
      'locale: a word is a run of printable characters between white space; bytes that are not valid UTF-8 are ' +
      'neither characters nor word breaks. FILE - is standard input.',
    flags: [
      { long: 'lines', short: 'l', help: 'count lines (newline bytes)' },
      { long: 'words', short: 'w', help: 'count words' },
      { long: 'chars', short: 'm', help: 'count characters (UTF-8)' },
      { long: 'bytes', short: 'c', help: 'count bytes' },
      json_('print {"lines":..,"words":..,"bytes":..}; with several files, per file and a total'),
      ...runFlags(),
    ],
    refused: {
      ...Object.fromEntries(['L', 'max-line-length'].map((f) => [f, 'pagewise wc has no -L: the longest line\'s width depends on tabs and wide characters; wc -L FILE has it'])),
      'files0-from': 'pagewise wc takes the files as operands: xargs -0 pagewise wc < LIST',
    },
    positionals: { min: 1, max: Infinity, missing: 'FILE' },
    examples: [
      ['pagewise wc big.log', 'lines, words and bytes, like wc'],
      ['pagewise wc -l --json big.log', '{"lines":123456789}'],
      ['cat big.log | pagewise wc -m -', 'characters of standard input'],
    ],
  },
  {
    name: 'grep',
    summary: 'print the lines that contain a string, like grep -F -a',
    synopsis: '[OPTIONS] PATTERN FILE...\n       pagewise grep [OPTIONS] (-e PATTERN | -f FILE)... FILE...\n       pagewise grep -r [OPTIONS] PATTERN [DIR|FILE]...',
    description:
      'Prints the lines of each FILE that contain PATTERN, in file order (file: before each with several files, or with -r, the ' +
      'files under each DIR, depth first, each directory in byte order of its names), with -A, -B or -C ' +
      'the lines around them too, as grep does (context lines are exact across chunks and threads). ' +
      'Patterns are bytes, as for grep -F -a; several (-e, -f) select a line matching any. -i folds ASCII letters only ' +
      '(as grep does in the C locale). Exit status: 0 a line was selected, 1 none was, 2 an error (even if some line was ' +
      'selected; with -q a selected line means 0).',
    flags: [
      { long: 'regexp', short: 'e', value: 'PATTERN', repeat: true, help: 'a pattern (may start with -); may be repeated' },
      { long: 'file', short: 'f', value: 'FILE', repeat: true, help: 'read patterns from FILE as raw bytes, one per line', parse: path('a file (- for standard input)') },
      { long: 'regex', short: 'E', help: 'patterns are JavaScript regular expressions, matched per line decoded as UTF-8' },
      // grep's and rg's spellings of what pagewise grep always does: accepted so that habits work.
      { long: 'fixed-strings', short: 'F', help: 'patterns are strings (the default; not with -E)' },
      { long: 'text', short: 'a', help: 'read every file as text (always so, as grep -a)' },
      { long: 'ignore-case', short: 'i', help: 'ignore case (ASCII letters; JavaScript RegExp i with -E)' },
      { long: 'invert-match', short: 'v', help: 'select lines that do not match' },
      { long: 'word-regexp', short: 'w', help: 'match whole words only ([A-Za-z0-9_] are word characters)' },
      { long: 'line-regexp', short: 'x', help: 'match whole lines only (then -w is ignored, as in grep)' },
      { long: 'line-number', short: 'n', help: 'prefix each line with its line number' },
      { long: 'only-matching', short: 'o', help: 'print only the matched parts, one per line' },
      { long: 'with-filename', short: 'H', help: 'print the file name before each line or count (the default with several files)' },
      { long: 'no-filename', help: "print no file names (grep's -h: -h is help here)" },
      { long: 'count', short: 'c', help: 'print the number of selected lines per file' },
      { long: 'files-with-matches', short: 'l', help: 'print only the names of files with a selected line' },
      { long: 'files-without-match', short: 'L', help: 'print only the names of files without one (the exit status is still 0 when a line was selected, as in grep 3.5+)' },
      { long: 'quiet', short: 'q', help: 'print nothing; exit 0 at the first selected line' },
      { long: 'max-count', short: 'm', value: 'NUM', help: 'stop reading a file after NUM selected lines (-m 0: read nothing and exit 1; below 0: no limit)', parse: maxCount },
      { long: 'after-context', short: 'A', value: 'NUM', help: 'print NUM lines of context after each selected line (file-NUM- before a context line where a selected one has file:NUM:)', parse: contextLines },
      { long: 'before-context', short: 'B', value: 'NUM', help: 'print NUM lines of context before each selected line', parse: contextLines },
      { long: 'context', short: 'C', value: 'NUM', help: 'NUM lines of context before and after (-A and -B win over it; -NUM is the same, as in grep)', parse: contextLines },
      { long: 'group-separator', value: 'SEP', help: 'the line printed between groups of lines that are not adjacent, with context', default: '--' },
      { long: 'no-group-separator', help: 'print no line between groups' },
      { long: 'recursive', short: 'r', help: 'read the files under each directory operand (none: the current directory), in name order; symbolic links only on the command line' },
      { long: 'dereference-recursive', short: 'R', help: 'as -r, following every symbolic link' },
      { long: 'include', value: 'GLOB', repeat: true, help: 'read only files whose base name matches GLOB (*, ?, [...]); on the command line, any part of the name after a /' },
      { long: 'exclude', value: 'GLOB', repeat: true, help: 'skip files whose base name matches GLOB (with --include, the last one that matches decides)' },
      { long: 'exclude-from', value: 'FILE', repeat: true, help: 'skip files whose base name matches a GLOB of FILE, one per line', parse: path('a file') },
      { long: 'exclude-dir', value: 'GLOB', repeat: true, help: 'do not enter directories whose base name matches GLOB' },
      { long: 'no-messages', short: 's', help: 'print no error for a missing or unreadable file (it still makes the exit status 2)' },
      json_('with --count, {"count":N} ({"files":[{"file","count"}, ...]} with several files); with -l, one {"file"} per file; otherwise one JSON object per selected line: {"file","line","text"}, with "bytes" (base64) for "text" when the line is not UTF-8'),
      {
        long: 'output',
        value: 'PATH',
        help: 'write the output to PATH, atomically (a FIFO or a device: in order); the lines alone are written by the threads at their offsets. No -o: that is --only-matching',
        default: 'stdout',
        parse: path('a path (- for standard output)'),
      },
      ...runFlags(),
    ],
    positionals: { min: 1, max: Infinity, missing: 'PATTERN and FILE' },
    refused: {
      ...Object.fromEntries(
        ['G', 'P', 'basic-regexp', 'perl-regexp'].map((f) => [f, 'patterns are fixed strings, or JavaScript regular expressions with -E: there are no basic or Perl ones']),
      ),
      ...Object.fromEntries(['z', 'null-data'].map((f) => [f, 'lines end with \\n: NUL-separated records (-z) are not supported'])),
      ...Object.fromEntries(['color', 'colour'].map((f) => [f, 'pagewise grep prints no colours: drop --color'])),
    },
    digits: 'context',
    examples: [
      ['pagewise grep --count ERROR big.log', 'the number of lines containing ERROR, like grep -c -F -a'],
      ["pagewise grep -n -w 'user=42' a.log b.log", 'matching lines as file:line:text'],
      ['pagewise grep -f patterns.txt big.log', 'lines containing any line of patterns.txt (raw bytes)'],
      ['pagewise grep -n -C 2 panic app.log', 'each match with 2 lines around it, groups split by --'],
      ['pagewise grep ERROR big.log --output errors.log', 'the lines into a file, written in parallel, atomically'],
      ["pagewise grep -r -c --include='*.log' ERROR logs/", 'a count per log file under logs/, in name order'],
    ],
  },
  {
    name: 'stats',
    summary: 'One Billion Row Challenge: min/mean/max per station',
    synopsis: '[OPTIONS] FILE...',
    description: 'Reads lines of NAME;VALUE and prints {name=min/mean/max, ...} sorted by name bytes, one decimal, as the 1BRC does.',
    flags: [
      { long: 'sep', value: 'BYTE', help: 'the separator between name and value: one byte other than newline (a character, \\t, \\r, \\0 or 0xNN)', default: ';', parse: text },
      json_('print [{"name","min","mean","max","count"}, ...]'),
      ...runFlags(),
    ],
    positionals: { min: 1, max: Infinity, missing: 'FILE' },
    examples: [
      ['pagewise stats measurements.txt', '{Abha=-31.1/18.0/66.5, ...}'],
      ["pagewise stats --sep ',' --json readings.csv", 'comma-separated input, JSON output'],
    ],
  },
  {
    name: 'freq',
    summary: 'the most frequent words (as wc counts words)',
    synopsis: '[OPTIONS] FILE...',
    description:
      'Counts every word (runs of bytes other than space, \\t, \\n, \\v, \\f, \\r) of all FILEs together and prints the most frequent, ' +
      'count descending, ties by word bytes. Each word is printed as its bytes, as uniq -c does. It runs as a keyed job, so any number of distinct words fits: tables spill sorted runs to --temp-dir.',
    flags: [
      { long: 'top', value: 'K', help: 'how many words to print', default: '10', parse: integer(1) },
      { long: 'all', help: 'print every word, in the same order, in bounded memory (spills to --temp-dir); not with --top' },
      {
        long: 'output',
        short: 'o',
        value: 'PATH',
        help: 'write the rows to PATH, atomically: PATH is replaced once they are complete',
        default: 'stdout',
        parse: path('a path (- for standard output)'),
      },
      TEMP_DIR_FLAG,
      json_('print [{"word","count"}, ...]; with --all, one {"word","count"} per line; a word that is not UTF-8 is {"bytes","count"}, base64 as in grep --json'),
      ...runFlags(),
    ],
    positionals: { min: 1, max: Infinity, missing: 'FILE' },
    examples: [
      ['pagewise freq corpus.txt', 'the 10 most frequent words'],
      ['pagewise freq --top 100 --json a.txt b.txt', 'the top 100 over both files, as JSON'],
      ['pagewise freq --all corpus.txt -o counts.txt', 'every word with its count, however many there are'],
    ],
  },
  {
    name: 'run',
    summary: 'run a job module (.mjs, .js, .ts) and print its result',
    synopsis: '[OPTIONS] JOB FILE...',
    description:
      "Runs the job module JOB over the FILEs and prints its result: a string as it is, anything else as util.inspect shows it. " +
      'A keyed job (keyed: true) prints one JSON line ["key",value] per key, in ascending byte order of the key, to stdout or --output PATH. ' +
      'With --json: JSON, where a Map with string keys becomes an object, any other Map an array of [key, value], a Set an array, a BigInt a string. ' +
      'What map writes (info.write) goes to stdout, or to --output PATH; when the job wrote to stdout, stdout holds exactly those bytes and the result goes to stderr (not at all when it is undefined).',
    flags: [
      { long: 'params', value: 'JSON', help: "parameters for the job's init(params) and info.params", default: 'none', parse: json },
      {
        long: 'output',
        short: 'o',
        value: 'PATH',
        help: 'write what map writes (info.write) to PATH, atomically: PATH is replaced once the output is complete (a FIFO, a device or -: in order)',
        default: 'stdout',
        parse: path('a path (- for standard output)'),
        option: 'output',
      },
      { long: 'in-place', help: 'map the inputs writable: map updates records in place (each chunk flushed before it is done; not atomic)', option: 'inPlace' },
      TEMP_DIR_FLAG,
      json_('print the result as JSON (a keyed job always prints JSON lines)'),
      ...runFlags(),
    ],
    positionals: { min: 2, max: Infinity, missing: 'JOB and FILE' },
    examples: [
      ['pagewise run ./my-job.mjs logs/*.log', 'your own job over several files'],
      ['pagewise run job.mjs --params \'{"needle":"ERROR"}\' --json a.log', 'with parameters; JSON'],
      ['pagewise run filter.mjs big.log -o errors.log', 'what map writes goes to errors.log, atomically'],
      ['pagewise run bump.mjs counters.bin --in-place', 'map updates the file through writable views'],
      ['pagewise run bytes-per-user.mjs access.log -o users.jsonl', 'a keyed job: one ["key",value] line per key, in key order'],
    ],
  },
  {
    name: 'tune',
    summary: 'time a job at several chunk sizes and recommend one',
    synopsis: '[OPTIONS] FILE',
    description:
      'Warms up once, then times the job over FILE at chunk sizes from 256 KiB to 64 MiB (best of 3; sizes past the ' +
      "file's size are skipped) and recommends the smallest within 5% of the fastest. FILE must be a non-empty regular file.",
    flags: [
      { long: 'job', value: 'NAME|PATH', help: 'wc, grep, stats, freq or a job module', default: 'wc', parse: text },
      { long: 'params', value: 'JSON', help: "parameters for the job (the built-ins have defaults)", default: "the job's", parse: json },
      json_('print {"recommended", "trials": [{"chunkSize","seconds","bytesPerSecond"}]}'),
      ...runFlags(['chunk-size', 'explain']),
    ],
    refused: {
      'chunk-size': 'tune chooses the chunk size itself: drop --chunk-size',
      explain: 'tune runs the job 16 times at sizes it picks: pagewise run --explain JOB FILE (or wc, grep, stats, freq) shows one run\'s plan',
    },
    positionals: { min: 1, max: 1, missing: 'FILE' },
    examples: [
      ['pagewise tune big.log', 'chunk sizes for wc'],
      ['pagewise tune measurements.txt --job stats --threads 2', 'for stats on 2 threads'],
    ],
  },
  {
    name: 'gen',
    summary: 'generate a One Billion Row Challenge file',
    synopsis: '[OPTIONS] 1brc OUT',
    description: 'Writes ROWS lines of STATION;TEMPERATURE to OUT, the same bytes for the same --seed, on every thread; OUT is replaced once it is complete.',
    flags: [
      { long: 'rows', value: 'N', help: 'lines to write', default: '1000000', parse: integer(0) },
      { long: 'stations', value: 'N', help: "the station set: the challenge's 413, or 10000", default: '413', parse: oneOf('413', '10000') },
      { long: 'seed', value: 'S', help: 'seed of the generator', default: '1', parse: integer(0) },
      { ...RUN_FLAGS[0], help: 'threads that generate rows (1-1024); the bytes are the same for any number' },
      json_('print {"file","rows","bytes","seconds"}'),
      { long: 'progress', negatable: true, help: 'show progress on stderr (--no-progress: never)', default: 'when stderr is a terminal' },
    ],
    positionals: { min: 2, max: 2, missing: '1brc and OUT' },
    examples: [
      ['pagewise gen 1brc measurements.txt --rows 1e8', '100 million rows (about 1.4 GB)'],
      ['pagewise gen 1brc small.txt --rows 1000 --stations 10000 --seed 7', 'a small file with 10,000 stations'],
    ],
  },
  {
    name: 'demo',
    summary: 'generate a sample and run stats on it',
    synopsis: '[OPTIONS]',
    description: 'Generates a 1BRC sample in a temporary directory, runs stats over it, prints the first stations and the throughput, and removes the sample.',
    flags: [
      { long: 'rows', value: 'N', help: 'lines to generate', default: '20000000', parse: integer(0) },
      { long: 'keep', help: 'keep the generated file (its path is printed)' },
      json_('print {"file","rows","bytes","seconds","bytesPerSecond","stations", "first"}'),
      ...runFlags(['explain']),
    ],
    refused: { explain: 'demo generates its sample before it reads it: pagewise stats --explain FILE shows the plan of its run' },
    positionals: { min: 0, max: 0, missing: '' },
    examples: [
      ['pagewise demo', '20 million rows, then stats'],
      ['pagewise demo --rows 1e6 --keep', 'a smaller sample, kept'],
    ],
  },
  {
    name: 'index',
    summary: "write every record's byte offset, for random access",
    synopsis: '[OPTIONS] FILE',
    description:
      "Writes the offset of every record of FILE as a little-endian u64 to FILE.idx (or --output PATH), in parallel and atomically: " +
      'records end with a newline, with --delimiter, or are --record-size bytes each. RecordIndex.open(FILE) reads it.',
    flags: [
      { long: 'output', short: 'o', value: 'PATH', help: 'where the index goes', default: 'FILE.idx', parse: path('a path') },
      { long: 'delimiter', value: 'C', help: 'records end with this byte: a character, \\n, \\t, \\r, \\0 or 0xNN', default: '\\n', parse: text },
      { long: 'record-size', value: 'N', help: 'records are N bytes each (not with --delimiter)', parse: integer(1) },
      json_('print {"file","index","records","bytes"}'),
      ...runFlags(['explain', ...CLUSTER_FLAG_NAMES]),
    ],
    refused: {
      explain: "index writes FILE.idx: --explain is for the commands that only read (wc, grep, stats, freq, run)",
      ...Object.fromEntries(CLUSTER_FLAG_NAMES.map((f) => [f, 'index writes its output here, and a cluster run cannot write output yet: drop the cluster flags'])),
    },
    positionals: { min: 1, max: 1, missing: 'FILE' },
    examples: [
      ['pagewise index words.txt', 'words.txt.idx: the offset of every line'],
      ["pagewise index names.bin --delimiter '\\0' -o names.idx", 'NUL-terminated records'],
      ['pagewise index records.bin --record-size 128 --json', 'fixed-size records, JSON'],
    ],
  },
  {
    name: 'worker',
    summary: 'take splits of cluster runs from Redis and read them here',
    synopsis: '--cluster URL [OPTIONS]',
    description:
      'Takes splits of cluster runs from the queue and reads them with this machine\'s threads, until SIGTERM or SIGINT: then the running ' +
      'split is handed back to the queue and the worker exits 0. Inputs and job modules must be at the same absolute path on every machine ' +
      '(docs/cluster.md). A worker runs whatever job module a coordinator names: keep the queue reachable by trusted users only. ' +
      'Needs npm install bullmq ioredis.',
    flags: [
      { long: 'cluster', value: 'URL', help: 'redis://[:PASSWORD@]HOST[:PORT][/DB] (or the password in PAGEWISE_REDIS_PASSWORD)', parse: text },
      { long: 'threads', value: 'N', help: 'threads that read each split (1-1024)', default: 'all cores', parse: integer(1, 1024) },
      { long: 'queue', value: 'NAME', help: 'the queue to take splits from', default: 'pagewise', parse: checkQueueName },
      { long: 'name', value: 'NAME', help: "this worker's name in errors and --stats", default: 'HOSTNAME:PID', parse: nonEmpty('a name') },
      { long: 'lock-duration', value: 'DUR', help: "a dead worker's split goes to another after about twice this", default: '30s', parse: (raw, flag) => (checkLockDuration(raw, flag), raw) },
      { long: 'verbose', help: 'a line on stderr per split' },
    ],
    positionals: { min: 0, max: 0, missing: '' },
    examples: [
      ['pagewise worker --cluster redis://q:6379', 'on each machine: read splits until SIGTERM'],
      ['pagewise worker --cluster redis://q:6379 --threads 8 --queue big', 'eight threads, another queue'],
    ],
  },
  {
    name: 'info',
    summary: 'versions, page size, byte kernels, memory budget, threadpool',
    synopsis: '[OPTIONS]',
    description: "What this process sees, for bug reports: versions, the platform, the addon's byte kernels, the memory budget and libuv's threadpool (configured and measured).",
    flags: [
      json_('print the same as JSON'),
      { ...RUN_FLAGS[0], help: "size libuv's threadpool as a reading command given --threads N does" },
    ],
    positionals: { min: 0, max: 0, missing: '' },
    examples: [
      ['pagewise info', 'as text'],
      ['pagewise info --threads 8', 'the threadpool a run with --threads 8 gets'],
      ['UV_THREADPOOL_SIZE=8 pagewise info --json', 'as JSON, with a larger threadpool'],
    ],
  },
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** Every flag a command accepts, `--help` included. */
export function flagsOf(command: Command): Flag[] {
  return [...command.flags, HELP_FLAG];
}

// ---------------------------------------------------------------- parsing --

/** What `parseArgs` found. `values` is keyed by long name; repeated flags give arrays. */
export interface Parsed {
  values: Record<string, unknown>;
  positionals: string[];
  help: boolean;
  /** When each flag was last given (flags counted in order): for flags of which the last one wins (grep -H and --no-filename, -l and -L). */
  order: Record<string, number>;
  /** Every flag with a value, in the order given: for flags whose order among each other matters (grep --include and --exclude). */
  given: { flag: string; value: unknown }[];
}

/** A usage error (exit status 2): ERR_PAGEWISE_INVALID_OPTION, naming the flag when there is one. */
export class UsageError extends PagewiseError {
  constructor(message: string, option?: string, readonly command?: string) {
    super(ErrorCodes.INVALID_OPTION, message, { option });
  }
}

/**
 * Parses a command's arguments as GNU getopt_long does (options and operands
 * in any order, `--name=value`, `--name value`, `-abc`, `-fFILE`, `--` ends
 * options, `-` is an operand), without its abbreviations: an unknown flag is
 * refused with the nearest known one suggested.
 */
export function parseArgs(command: Command, args: readonly string[]): Parsed {
  const flags = flagsOf(command);
  const values: Record<string, unknown> = {};
  const order: Record<string, number> = {};
  const sequence: { flag: string; value: unknown }[] = [];
  // Counts flags, not arguments: in `-Ll` the l comes after the L.
  let given = 0;
  const positionals: string[] = [];
  let help = false;
  const set = (flag: Flag, raw: string | undefined, shown: string): void => {
    if (flag === HELP_FLAG) {
      help = true;
      return;
    }
    order[flag.long] = given++;
    let value: unknown = true;
    if (flag.value !== undefined) {
      value = flag.parse ? flag.parse(raw!, shown) : raw;
      sequence.push({ flag: flag.long, value });
    }
    if (flag.repeat) ((values[flag.long] ??= []) as unknown[]).push(value);
    else values[flag.long] = value;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const inline = eq < 0 ? undefined : arg.slice(eq + 1);
      let flag = flags.find((f) => f.long === name);
      let negated = false;
      if (!flag && name.startsWith('no-')) {
        flag = flags.find((f) => f.negatable && f.long === name.slice(3));
        negated = flag !== undefined;
      }
      if (!flag) throw unknownFlag(command, `--${name}`, flags);
      if (flag.value === undefined) {
        if (inline !== undefined) throw new UsageError(`option '--${name}' takes no value`, `--${name}`, command.name);
        if (negated) {
          values[flag.long] = false;
          order[flag.long] = given++;
        } else set(flag, undefined, `--${name}`);
        continue;
      }
      let raw = inline;
      if (raw === undefined) {
        if (i + 1 >= args.length) throw missingValue(command, `--${name}`, flag);
        raw = args[++i];
      }
      set(flag, raw, `--${name}`);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let k = 1; k < arg.length; k++) {
        const letter = arg[k];
        const digitsFlag = command.digits === undefined ? undefined : flags.find((f) => f.long === command.digits);
        if (digitsFlag && letter >= '0' && letter <= '9') {
          // grep -NUM: the digits that follow each other in this argument are one number.
          let end = k;
          while (end < arg.length && arg[end] >= '0' && arg[end] <= '9') end++;
          set(digitsFlag, arg.slice(k, end), `-${arg.slice(k, end)}`);
          k = end - 1;
          continue;
        }
        const flag = flags.find((f) => f.short === letter);
        if (!flag) throw unknownFlag(command, `-${letter}`, flags);
        if (flag.value === undefined) {
          set(flag, undefined, `-${letter}`);
          continue;
        }
        let raw = arg.slice(k + 1);
        if (raw === '') {
          if (i + 1 >= args.length) throw missingValue(command, `-${letter}`, flag);
          raw = args[++i];
        }
        set(flag, raw, `-${letter}`);
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  if (!help) {
    const p = command.positionals;
    if (positionals.length < p.min) {
      // Name only what is missing: `run JOB` lacks FILE, not JOB and FILE.
      const names = p.missing.split(' and ');
      const left = names.length === p.min ? names.slice(positionals.length) : names;
      throw new UsageError(`missing ${left.join(' and ')}: pagewise ${command.name} ${command.synopsis.split('\n')[0]}`, undefined, command.name);
    }
    if (positionals.length > p.max) {
      throw new UsageError(`unexpected argument '${positionals[p.max]}': pagewise ${command.name} ${command.synopsis.split('\n')[0]}`, undefined, command.name);
    }
  }
  return { values, positionals, help, order, given: sequence };
}

function missingValue(command: Command, shown: string, flag: Flag): UsageError {
  return new UsageError(`option '${shown}' needs a value (${flag.value})`, shown, command.name);
}

function unknownFlag(command: Command, shown: string, flags: Flag[]): UsageError {
  const refusedReason = command.refused?.[shown.replace(/^-+/, '')];
  if (refusedReason) return new UsageError(refusedReason, shown, command.name);
  const names = flags.flatMap((f) => [`--${f.long}`, ...(f.negatable ? [`--no-${f.long}`] : []), ...(f.short ? [`-${f.short}`] : [])]);
  // Every letter is one edit from every other: a short flag gets no guess (-r is not -e).
  const hint = shown.startsWith('--') ? suggest(shown, names.filter((n) => n.startsWith('--'))) : undefined;
  const where = findCommand(command.name) ? ` for 'pagewise ${command.name}'` : '';
  return new UsageError(`unknown option '${shown}'${where}${hint ? `. Did you mean '${hint}'?` : ''}`, shown, command.name);
}

/**
 * The nearest candidate to `word`, or undefined when none is near: optimal
 * string alignment distance (an adjacent swap is one edit, as git counts),
 * within a third of the word's length (at least 1, at most 3), as cargo and
 * git suggest; a candidate that starts with the word wins (`--thr`).
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const prefixed = candidates.filter((c) => c.startsWith(word) && word.replace(/^-+/, '').length >= 2);
  if (prefixed.length === 1) return prefixed[0];
  const limit = Math.min(3, Math.max(1, Math.floor(word.replace(/^-+/, '').length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d <= limit && d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** A command that does not exist, with the nearest one suggested. */
export function unknownCommand(name: string): UsageError {
  const hint = suggest(name, COMMANDS.map((c) => c.name).concat('help'));
  return new UsageError(`unknown command '${name}'${hint ? `. Did you mean '${hint}'?` : ''}`, undefined);
}

/** The flag a library option error is about (`options.chunkSize` → `--chunk-size`), from the table. */
export function flagOfOption(option: string): string | undefined {
  const name = option.replace(/^options\./, '');
  const flag = RUN_FLAGS.find((f) => f.option === name);
  return flag ? `--${flag.long}` : undefined;
}

// ------------------------------------------------------------------- help --

function flagLabel(f: Flag): string {
  const long = `--${f.long}${f.value ? ` ${f.value}` : ''}`;
  const names = f.negatable ? `${long}, --no-${f.long}` : long;
  return f.short ? `-${f.short}, ${names}` : `    ${names}`;
}

function flagLines(flags: Flag[]): string {
  const labels = flags.map(flagLabel);
  const width = Math.min(30, Math.max(...labels.map((l) => l.length)) + 2);
  const indent = ' '.repeat(width + 2);
  return flags
    .map((f, i) => {
      const help = wrap(f.default !== undefined ? `${f.help} [default: ${f.default}]` : f.help, 78, indent).trimStart();
      const label = labels[i];
      return label.length + 2 > width ? `  ${label}\n${indent}${help}` : `  ${label.padEnd(width)}${help}`;
    })
    .join('\n');
}

function wrap(textToWrap: string, width = 78, indent = ''): string {
  const out: string[] = [];
  let line = indent;
  for (const word of textToWrap.split(/\s+/)) {
    if (line.trim() && line.length + 1 + word.length > width) {
      out.push(line);
      line = indent + word;
    } else line = line.trim() ? `${line} ${word}` : indent + word;
  }
  if (line.trim()) out.push(line);
  return out.join('\n');
}

/** `pagewise CMD --help`: synopsis, description, every flag with its default, examples. */
export function commandHelp(command: Command): string {
  const own = command.flags.filter((f) => !RUN_FLAGS.includes(f));
  const shared = command.flags.filter((f) => RUN_FLAGS.includes(f));
  const parts = [
    `pagewise ${command.name}: ${command.summary}`,
    `Usage: pagewise ${command.name} ${command.synopsis}`,
    wrap(command.description),
    `Options:\n${flagLines([...own, HELP_FLAG])}`,
  ];
  if (shared.length > 0) parts.push(`Run options:\n${flagLines(shared)}`);
  const exampleWidth = Math.max(...command.examples.map(([c]) => c.length)) + 2;
  parts.push(
    `Examples:\n${command.examples.map(([c, what]) => (2 + exampleWidth + what.length > 79 ? `  ${c}\n      ${what}` : `  ${c.padEnd(exampleWidth)}${what}`)).join('\n')}`,
  );
  return `${parts.join('\n\n')}\n`;
}

/** `pagewise --help`: the commands and where to read more. */
export function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 4;
  return (
    [
      'pagewise: map-reduce over files larger than RAM, on every core of one machine',
      'Usage: pagewise <command> [OPTIONS] [ARGS]...',
      `Commands:\n${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}\n  ${'help'.padEnd(width)}help CMD: the options of CMD (same as CMD --help)`,
      `Options:\n  -h, --help      print this help (pagewise CMD --help: the options of CMD)\n  -V, --version   print the version`,
      wrap('Exit status: 0 success, 1 a failure, 2 a usage error (grep: 0 selected, 1 none, 2 an error), 141 when the reader of the output went away, 130/143 on SIGINT/SIGTERM (a worker: 0).'),
    ].join('\n\n') + '\n'
  );
}

// ------------------------------------------------------------ raw argv ---

/** The arguments that are not UTF-8: as Node decoded them, and their bytes. */
let lossyArgv: { text: string; bytes: Buffer }[] | undefined;

/**
 * Whether `text` (an argument or part of one) contains a U+FFFD that Node
 * put there for a byte of argv that is not UTF-8, rather than one the user
 * typed. Read from /proc/self/cmdline (the raw bytes); where that cannot be
 * read, any U+FFFD counts as such.
 */
export function fromInvalidArgvBytes(text: string): boolean {
  if (!text.includes('\uFFFD')) return false;
  if (lossyArgv === undefined) {
    try {
      const raw = readFileSync('/proc/self/cmdline');
      const strict = new TextDecoder('utf-8', { fatal: true });
      lossyArgv = [];
      let at = 0;
      while (at < raw.length) {
        let end = raw.indexOf(0, at);
        if (end < 0) end = raw.length;
        const arg = raw.subarray(at, end);
        try {
          strict.decode(arg);
        } catch {
          lossyArgv.push({ text: arg.toString('utf8'), bytes: Buffer.from(arg) });
        }
        at = end + 1;
      }
    } catch {
      return true;
    }
  }
  return lossyArgv.some((arg) => arg.text.includes(text));
}

/** The bytes of the whole argument that Node decoded as `text` when they were not UTF-8, or undefined. */
export function argvBytes(text: string): Buffer | undefined {
  if (!fromInvalidArgvBytes(text)) return undefined;
  return lossyArgv?.find((arg) => arg.text === text)?.bytes;
}
