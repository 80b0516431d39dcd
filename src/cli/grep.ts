/**
 * `pagewise grep`: GNU grep's output and exit status (0 selected, 1 none, 2
 * an error; -q: 0 at the first selected line). Selected lines are written as
 * soon as they are merged in file order (`onMerged` drains the accumulator),
 * so memory stays bounded by the engine's reorder window, not the output.
 *
 * `--output PATH`: the plain lines (no -n, -c, -l, -q, --json) are one run
 * over every file whose workers write them at their offsets (the job's
 * `write`); anything else is the same formatted output as on stdout, written
 * into PATH as it comes (an atomic file, or a FIFO or device in order). A
 * run that fails leaves PATH as it was, in both cases.
 */
import { readFileSync } from 'node:fs';
import { ErrorCodes, InvalidOptionError, PagewiseError, hasCode } from '../errors.js';
import { copiesNatively, type GrepAcc, type GrepParams } from '../jobs/grep.js';
import { grepOutputParams } from '../output/commands.js';
import { UsageError, fromInvalidArgvBytes } from './args.js';
import { GrepLines, grepJsonLines, grepJsonRecord, grepPrefix, grepRecords } from './format.js';
import { readableInputs, statInput, totalBytes, type Input } from './inputs.js';
import type { Context } from './main.js';
import { openDestination, type Destination } from './output.js';

/** Patterns as bytes, from -e, -f and the first operand; checks what grep would refuse or misread. */
function patternsOf(ctx: Context): { patterns: Uint8Array[]; files: string[] } {
  const v = ctx.values;
  // As GNU grep: two kinds of pattern asked for is an error, not the last one winning.
  if (v.regex === true && v['fixed-strings'] === true) throw new UsageError('conflicting matchers: -E (--regex) and -F (--fixed-strings)', '-F', 'grep');
  const fromE = (v.regexp as string[] | undefined) ?? [];
  const fromF = (v.file as string[] | undefined) ?? [];
  let files = ctx.positionals;
  const texts: { text: string; flag: string }[] = fromE.map((text) => ({ text, flag: '-e' }));
  if (fromE.length === 0 && fromF.length === 0) {
    texts.push({ text: files[0], flag: 'PATTERN' });
    files = files.slice(1);
  }
  if (files.length === 0 && !recursive(ctx)) throw new InvalidOptionError('FILE', 'given: pagewise grep [OPTIONS] PATTERN FILE... (- is standard input; with -r, none is the current directory)');
  const patterns: Uint8Array[] = [];
  for (const { text, flag } of texts) {
    // Node decodes argv as UTF-8: an invalid byte arrives as U+FFFD and would
    // be searched for as such. Patterns from -f are read as raw bytes.
    if (fromInvalidArgvBytes(text)) {
      throw new InvalidOptionError(flag, 'valid UTF-8 on the command line (it held a byte that is not); put the pattern in a file and use -f FILE, which reads raw bytes', text);
    }
    patterns.push(...splitLines(Buffer.from(text, 'utf8')));
  }
  for (const path of fromF) {
    let data: Buffer;
    try {
      data = readFileSync(path === '-' ? 0 : path);
    } catch (error) {
      throw Object.assign(error as Error, { path });
    }
    // One pattern per line, as grep -f: a final newline ends the last pattern, it does not add an empty one.
    const lines = splitLines(data);
    if (lines.length > 0 && lines[lines.length - 1].length === 0) lines.pop();
    patterns.push(...lines);
  }
  if (v.regex) {
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    for (const p of patterns) {
      let source: string;
      try {
        source = utf8.decode(p);
      } catch {
        throw new InvalidOptionError('--regex', 'given patterns that are valid UTF-8 (a RegExp is matched against decoded text)', Buffer.from(p).toString('latin1'));
      }
      try {
        new RegExp(source);
      } catch (error) {
        throw new InvalidOptionError('PATTERN', `a valid JavaScript RegExp (${(error as Error).message})`, source);
      }
    }
  }
  return { patterns, files };
}

/**
 * Where to cut `part` (records ending with \n, `numbers` their line numbers) so that it holds
 * at most `left` more lines, the line before it being `lastLine`: the records and bytes kept,
 * the lines they add and the last one's number.
 */
function cutAfterLines(part: Uint8Array, numbers: Float64Array, left: number, lastLine: number): { records: number; bytes: number; lines: number; lastLine: number } {
  let lines = 0;
  let at = 0;
  for (let r = 0; r < numbers.length; r++) {
    if (numbers[r] !== lastLine) {
      if (lines === left) return { records: r, bytes: at, lines, lastLine };
      lines++;
      lastLine = numbers[r];
    }
    const nl = part.indexOf(0x0a, at);
    at = nl < 0 ? part.length : nl + 1;
  }
  return { records: numbers.length, bytes: part.length, lines, lastLine };
}

function splitLines(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const nl = bytes.indexOf(0x0a, at);
    if (nl < 0) {
      out.push(bytes.subarray(at));
      return out;
    }
    out.push(bytes.subarray(at, nl));
    at = nl + 1;
  }
}

/** The flags whose globs choose which names are read (src/cli/walk.ts). */
const NAME_FLAGS: ReadonlySet<string> = new Set(['include', 'exclude', 'exclude-from', 'exclude-dir']);

/** -r or -R: directory operands are searched through (src/cli/walk.ts). */
function recursive(ctx: Context): boolean {
  return ctx.values.recursive === true || ctx.values['dereference-recursive'] === true;
}

/** Of two flags that undo each other, the one given last (grep's rule), or undefined when neither was. */
function lastOf<T extends string>(ctx: Context, a: T, b: T): T | undefined {
  const at = (f: T): number => (ctx.values[f] === true ? ctx.order[f] : -1);
  if (at(a) < 0 && at(b) < 0) return undefined;
  return at(a) > at(b) ? a : b;
}

export default async function grep(ctx: Context): Promise<number> {
  const v = ctx.values;
  const { patterns, files } = patternsOf(ctx);
  const quiet = v.quiet === true;
  const list = quiet ? undefined : lastOf(ctx, 'files-with-matches', 'files-without-match');
  const listFiles = list !== undefined;
  const count = v.count === true && !quiet && !listFiles;
  const json = v.json === true;
  // A negative or huge -m is no limit (maxCount).
  const max = v['max-count'] === Infinity ? undefined : (v['max-count'] as number | undefined);
  let outputPath = v.output as string | undefined;
  if (outputPath === '-') outputPath = undefined;
  // grep 3.8 (grep.c, main): with -m 0, or when no line can be selected (-v of only empty
  // patterns; no pattern at all, -f /dev/null, without -v), it reads nothing, prints nothing,
  // reports no missing file and exits 1; -L still lists files. (--json still gives its counts.)
  const none = patterns.length === 0;
  const selectsNothing = (v['invert-match'] === true) !== none && patterns.every((p) => p.length === 0) && (none || (v['line-regexp'] !== true && v['word-regexp'] !== true));
  if ((max === 0 || selectsNothing) && list !== 'files-without-match' && !json && !ctx.explaining) {
    // An output file is left empty, as by any run that selects nothing.
    if (outputPath !== undefined) await (await openDestination(outputPath, ctx.signal)).finish(ctx.signal);
    return 1;
  }
  // Lines are counted (and printed) up to `max`, then the file's run stops: -o prints a record
  // per match, so the cut needs line numbers.
  const capped = max !== undefined && !quiet && !listFiles;
  // Context lines (-A, -B, -C, -NUM; -A and -B win over -C), only where lines are printed.
  const after = (v['after-context'] ?? v.context) as number | undefined;
  const before = (v['before-context'] ?? v.context) as number | undefined;
  const context = (after !== undefined || before !== undefined) && !count && !quiet && !listFiles;
  const params: GrepParams = {
    patterns,
    regex: v.regex === true,
    ignoreCase: v['ignore-case'] === true,
    invert: v['invert-match'] === true,
    word: v['word-regexp'] === true,
    line: v['line-regexp'] === true,
    only: v['only-matching'] === true,
    lineNumbers: ((v['line-number'] === true || json) && !count && !quiet && !listFiles) || capped,
    count: (count && !capped) || quiet || listFiles,
    first: quiet || listFiles,
  };
  if (context) {
    // The job keeps context lines whole; -o takes the matches out of them here (matchedParts).
    params.only = false;
    params.before = before ?? 0;
    params.after = after ?? 0;
  }
  ctx.quietFileErrors = v['no-messages'] === true;
  // The walk and the globs load only when asked for: each module is start-up (docs/decisions.md, "Start-up").
  const walked =
    recursive(ctx) || ctx.given.some((g) => NAME_FLAGS.has(g.flag))
      ? // -R follows every link, whether or not -r is given too (as in grep).
        (await import('./walk.js')).grepInputs(files, { recursive: recursive(ctx), followAll: v['dereference-recursive'] === true, given: ctx.given })
      : { inputs: files.map(statInput), warnings: [], descended: false };
  if (!ctx.quietFileErrors) for (const warning of walked.warnings) ctx.note(warning);
  const inputs = walked.inputs;
  // As grep: names with several operands, or with -r through a directory.
  const several = files.length > 1 || walked.descended;
  // -H and --no-filename: the last one given wins, as in grep; else names with several files.
  const named = (lastOf(ctx, 'with-filename', 'no-filename') ?? (several ? 'with-filename' : 'no-filename')) === 'with-filename';
  // The job names standard input '<stdin>', grep '(standard input)': prefixes with it are the CLI's.
  const plain = v['line-number'] !== true && !count && !listFiles && !quiet && !json && max === undefined && !context && !(named && inputs.some((i) => i.path === '-'));
  // Lines are selected by the job's map in worker threads, unless they are counted or copied natively.
  const runParams = outputPath !== undefined && plain ? grepOutputParams(params, named) : params;
  if (!params.count && (v['no-native-kernels'] === true || !copiesNatively(runParams))) ctx.startWorkers(inputs);
  const { builtinJobs } = await ctx.lib();
  if (outputPath !== undefined && plain) return grepIntoOutput(ctx, builtinJobs.grep, params, inputs, outputPath, named);
  let dest: Destination | undefined;
  if (outputPath !== undefined && !ctx.explaining) dest = await openDestination(outputPath, ctx.signal);
  const out = dest ?? ctx.out;
  // A run that failed (not a file that could not be opened) keeps PATH as it was, as the library does.
  let runFailed = false;
  const finish = async (status: number): Promise<number> => {
    if (dest === undefined) return status;
    // finish() also throws the output's own failure (ENOSPC, EPIPE).
    if ((runFailed || ctx.signal.aborted) && !dest.stopped) await dest.abort();
    else await dest.finish(ctx.signal);
    return status;
  };
  try {
    return await finish(await grepFiles());
  } catch (error) {
    await dest?.abort();
    throw error;
  }

  async function grepFiles(): Promise<number> {
    const progress = ctx.display();
    const total = inputs.some((i) => !i.failed && !i.regular) ? undefined : inputs.reduce((n, i) => n + i.size, 0);
    const counts: { file: string; count: number }[] = [];
    let selected = false;
    // Context: whether a line was printed yet (for any file: grep puts the separator between files' groups too).
    const printed = { any: false };
    const matched = context && v['only-matching'] === true ? (await import('../jobs/grep.js')).matchedParts : undefined;
    let base = 0;
    // A file read, with `n` selected lines: its count, or its name when listed.
    const fileDone = (name: string, n: number): void => {
      counts.push({ file: name, count: n });
      if (n > 0) selected = true;
      if (listFiles && (list === 'files-with-matches') === n > 0) out.write(json ? `${JSON.stringify({ file: name })}\n` : `${name}\n`);
      if (count && !json) out.write(`${grepPrefix(named ? name : undefined, undefined)}${n}\n`);
    };
    for (const input of inputs) {
      if (out.stopped || ctx.signal.aborted) break;
      if (input.failed) {
        ctx.report(input.error, input.path);
        // As GNU grep: a directory is reported, then counted as a file without a selected line.
        if (input.directory === true && !ctx.explaining) fileDone(input.path, 0);
        continue;
      }
      if (ctx.explaining) {
        await ctx.explain(input.path, builtinJobs.grep, { params });
        continue;
      }
      const name = input.path === '-' ? '(standard input)' : input.path;
      const prefix = named ? name : undefined;
      // -q and -l need one selected line: the run stops at the first merged one.
      const stop = new AbortController();
      const write = (piece: string | Uint8Array): void => out.write(piece);
      // -m: the lines printed so far, and the number of the last one (-o gives a line several records).
      let taken = 0;
      let lastLine = -1;
      const printer = context
        ? contextPrinter({ params, name, prefix, numbers: v['line-number'] === true, json, matched, separator: groupSeparator(ctx), max, after: params.after!, printed }, write)
        : undefined;
      const emit = (acc: unknown): void => {
        const a = acc as GrepAcc;
        if (printer) {
          if (printer.emit(a)) stop.abort(new PagewiseError(ErrorCodes.ABORTED, `${max} lines were selected`));
          taken = printer.taken;
          return;
        }
        if (params.first) {
          if (a.count > 0) stop.abort(new PagewiseError(ErrorCodes.ABORTED, 'a line was selected'));
          return;
        }
        if (stop.signal.aborted || (count && !capped)) return;
        for (let k = 0; k < a.parts.length; k++) {
          let part = a.parts[k];
          let numbers = a.numbers?.[k];
          if (capped) {
            const cut = cutAfterLines(part, numbers!, max - taken, lastLine);
            taken += cut.lines;
            lastLine = cut.lastLine;
            part = part.subarray(0, cut.bytes);
            numbers = numbers!.subarray(0, cut.records);
            // The max-th line ends the run at once: `tail -f log | grep -m 1` must not wait for another.
            if (taken === max) stop.abort(new PagewiseError(ErrorCodes.ABORTED, `${max} lines were selected`));
          }
          // -c -m: counted above, nothing printed.
          if (!count) {
            if (json) grepJsonLines(part, name, numbers, write);
            else grepRecords(part, prefix, v['line-number'] === true ? numbers : undefined, write);
          }
          if (stop.signal.aborted) break;
        }
        a.parts.length = 0;
        if (a.numbers) a.numbers.length = 0;
      };
      let n = 0;
      try {
        if (max === 0) throw new PagewiseError(ErrorCodes.ABORTED, 'grep -m 0 reads nothing');
        const { result } = await ctx.run(input.path, builtinJobs.grep, {
          params,
          onMerged: emit,
          signal: AbortSignal.any([ctx.signal, stop.signal, ...(dest ? [dest.signal] : [])]),
          onProgress: (p) => progress.update(base + p.bytesDone, total),
        });
        emit(result);
        n = (result as GrepAcc).count;
      } catch (error) {
        // The output failed: finish() says why.
        if (dest?.stopped) break;
        if (!stop.signal.aborted && max !== 0) {
          runFailed = true;
          ctx.report(error, input.path);
          continue;
        }
        // Stopped on purpose: at the first selected line (-q, -l, -L), at the -m-th, or -m 0.
        n = max === 0 ? 0 : capped ? taken : 1;
      }
      if (max !== undefined) n = Math.min(n, max);
      base += input.size;
      fileDone(name, n);
      if (quiet && selected) return 0;
    }
    if (ctx.explaining) return ctx.failed ? 2 : 0;
    // Stopped by a signal: the status says so, and a partial result is not printed.
    if (count && json && !ctx.signal.aborted) out.write(`${JSON.stringify(several ? { files: counts } : { count: counts[0]?.count ?? 0 })}\n`);
    if (ctx.failed) return 2;
    return selected ? 0 : 1;
  }
}

/**
 * grep --output PATH without a flag that formats: one run over every file
 * that can be read, its workers writing the selected lines (with `file:`
 * when named: several files, or -H) at their offsets into PATH, atomically.
 */
async function grepIntoOutput(ctx: Context, job: string, params: GrepParams, all: Input[], output: string, named: boolean): Promise<number> {
  const inputs = readableInputs(ctx, all);
  if (inputs.length === 0) {
    if (ctx.failed) return 2;
    // Nothing to read (an empty tree, every name excluded): PATH is left empty, as by a run that selects nothing.
    if (!ctx.explaining) await (await openDestination(output, ctx.signal)).finish(ctx.signal);
    return ctx.explaining ? 0 : 1;
  }
  const paths = inputs.map((i) => i.path);
  const options = { params: grepOutputParams(params, named), output };
  if (ctx.explaining) {
    await ctx.explain(paths, job, options);
    return ctx.failed ? 2 : 0;
  }
  const progress = ctx.display();
  const total = totalBytes(inputs);
  let count: number;
  try {
    const { result } = await ctx.run(paths, job, { ...options, onProgress: (p) => progress.update(p.bytesDone, total) });
    count = (result as GrepAcc).count;
  } catch (error) {
    // The reader of a FIFO went away: exit 141, silently.
    if (hasCode(error, 'EPIPE')) throw error;
    ctx.report(error);
    return 2;
  }
  progress.finish();
  if (ctx.failed) return 2;
  return count > 0 ? 0 : 1;
}

/** The line between groups: --group-separator SEP (default `--`), none with --no-group-separator; the last one given wins. */
function groupSeparator(ctx: Context): string | undefined {
  const none = ctx.values['no-group-separator'] === true ? ctx.order['no-group-separator'] : -1;
  const sep = ctx.values['group-separator'] as string | undefined;
  if (sep !== undefined && ctx.order['group-separator'] > none) return sep;
  return none >= 0 ? undefined : '--';
}

interface ContextOutput {
  params: GrepParams;
  /** The file as --json names it, and as the prefix shows it (undefined: no name). */
  name: string;
  prefix: string | undefined;
  numbers: boolean;
  json: boolean;
  /** -o: the matches of a line (context lines are kept whole by the job). */
  matched: ((params: GrepParams, line: Uint8Array) => Uint8Array[]) | undefined;
  separator: string | undefined;
  max: number | undefined;
  after: number;
  /** Shared by the files of one command: grep separates one file's groups from the next's. */
  printed: { any: boolean };
}

/**
 * Prints one file's selected and context lines as grep does: `:` after the
 * name and number of a selected line, `-` after those of a context line, the
 * separator before a line that does not follow the last one printed. With
 * -m, the lines within -A of the NUM-th selected line are its context, as in
 * grep (selected or not); `emit` says when they are all out.
 */
function contextPrinter(o: ContextOutput, write: (piece: string | Uint8Array) => void): { emit(acc: GrepAcc): boolean; readonly taken: number } {
  const invert = o.params.invert === true;
  let last = -Infinity;
  let taken = 0;
  // With -m: the last line of the NUM-th selected line's trailing context (-1: not reached).
  let trailingTo = -1;
  let done = false;
  const lines = new GrepLines(write, o.prefix);
  let json = '';
  const line = (record: Uint8Array, start: number, end: number, number: number, isContext: boolean): void => {
    if (!o.json) lines.record(record, start, end, o.numbers ? number : undefined, isContext ? 0x2d : 0x3a);
    else {
      json += grepJsonRecord(o.name, number, isContext, record.subarray(start, end));
      if (json.length >= 1 << 16) flush();
    }
  };
  const flush = (): void => {
    lines.flush();
    if (json.length > 0) write(json);
    json = '';
  };
  const plain = !o.json && o.matched === undefined;
  const separator = o.separator === undefined || o.json ? undefined : Buffer.from(`${o.separator}\n`);
  // One record, at `start` of `part`: returns where the next one starts.
  const one = (part: Uint8Array, start: number, number: number, mark: number): number => {
    let isContext = mark === 1;
    if (trailingTo >= 0) isContext = true;
    else if (!isContext && o.max !== undefined && ++taken === o.max) trailingTo = number + o.after;
    if (separator !== undefined && o.printed.any && number > last + 1) lines.raw(separator);
    last = number;
    o.printed.any = true;
    if (plain) return lines.line(part, start, o.numbers ? number : undefined, isContext ? 0x2d : 0x3a);
    const end = part.indexOf(0x0a, start);
    if (o.matched === undefined) line(part, start, end, number, isContext);
    // grep -o prints the matches of the lines it prints: the selected ones, or with -v the context ones (those that match).
    else if (isContext === invert) for (const m of o.matched(o.params, part.subarray(start, end))) line(m, 0, m.length, number, isContext);
    return end + 1;
  };
  return {
    get taken() {
      return taken;
    },
    emit(a) {
      for (let k = 0; k < a.parts.length && !done; k++) {
        const part = a.parts[k];
        const numbers = a.numbers![k];
        const marks = a.marks![k];
        for (let r = 0, at = 0; r < numbers.length; r++) {
          if (trailingTo >= 0 && numbers[r] > trailingTo) {
            done = true;
            break;
          }
          at = one(part, at, numbers[r], marks[r]);
          if (trailingTo >= 0 && numbers[r] >= trailingTo) {
            done = true;
            break;
          }
        }
      }
      // Every line up to the end of the trailing context has been merged.
      if (trailingTo >= 0 && (a.lines ?? 0) >= trailingTo) done = true;
      a.parts.length = 0;
      if (a.numbers) a.numbers.length = 0;
      if (a.marks) a.marks.length = 0;
      flush();
      return done;
    },
  };
}
