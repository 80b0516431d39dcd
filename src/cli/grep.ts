/**
 * `pagewise grep`: GNU grep's output and exit status (0 selected, 1 none, 2
 * an error; -q: 0 at the first selected line). Selected lines are written as
 * soon as they are merged in file order (`onMerged` drains the accumulator),
 * so memory stays bounded by the engine's reorder window, not the output.
 */
import { readFileSync } from 'node:fs';
import { ErrorCodes, InvalidOptionError, PagewiseError } from '../errors.js';
import type { GrepAcc, GrepParams } from '../jobs/grep.js';
import { fromInvalidArgvBytes } from './args.js';
import { grepJsonLines, grepPrefix, grepRecords } from './format.js';
import { statInput } from './inputs.js';
import type { Context } from './main.js';

/** Patterns as bytes, from -e, -f and the first operand; checks what grep would refuse or misread. */
function patternsOf(ctx: Context): { patterns: Uint8Array[]; files: string[] } {
  const v = ctx.values;
  const fromE = (v.regexp as string[] | undefined) ?? [];
  const fromF = (v.file as string[] | undefined) ?? [];
  let files = ctx.positionals;
  const texts: { text: string; flag: string }[] = fromE.map((text) => ({ text, flag: '-e' }));
  if (fromE.length === 0 && fromF.length === 0) {
    texts.push({ text: files[0], flag: 'PATTERN' });
    files = files.slice(1);
  }
  if (files.length === 0) throw new InvalidOptionError('FILE', 'given: pagewise grep [OPTIONS] PATTERN FILE... (- is standard input)');
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

export default async function grep(ctx: Context): Promise<number> {
  const v = ctx.values;
  const { patterns, files } = patternsOf(ctx);
  const quiet = v.quiet === true;
  const listFiles = v['files-with-matches'] === true && !quiet;
  const count = v.count === true && !quiet && !listFiles;
  const json = v.json === true;
  const params: GrepParams = {
    patterns,
    regex: v.regex === true,
    ignoreCase: v['ignore-case'] === true,
    invert: v['invert-match'] === true,
    word: v['word-regexp'] === true,
    only: v['only-matching'] === true,
    lineNumbers: (v['line-number'] === true || json) && !count && !quiet && !listFiles,
    count: count || quiet || listFiles,
    first: quiet || listFiles,
  };
  const { builtinJobs } = await ctx.lib();
  const progress = ctx.display();
  const inputs = files.map(statInput);
  const total = inputs.some((i) => !i.failed && !i.regular) ? undefined : inputs.reduce((n, i) => n + i.size, 0);
  const several = files.length > 1;
  const counts: { file: string; count: number }[] = [];
  let selected = false;
  let base = 0;
  for (const input of inputs) {
    if (ctx.out.stopped) break;
    if (input.failed) {
      ctx.report(input.error, input.path);
      continue;
    }
    const name = input.path === '-' ? '(standard input)' : input.path;
    const prefix = several ? name : undefined;
    // -q and -l need one selected line: the run stops at the first merged one.
    const stop = new AbortController();
    const write = (piece: string | Uint8Array): void => ctx.out.write(piece);
    const emit = (acc: unknown): void => {
      const a = acc as GrepAcc;
      if (params.first) {
        if (a.count > 0) stop.abort(new PagewiseError(ErrorCodes.ABORTED, 'a line was selected'));
        return;
      }
      if (count) return;
      for (let k = 0; k < a.parts.length; k++) {
        const numbers = a.numbers?.[k];
        if (json) grepJsonLines(a.parts[k], name, numbers, write);
        else grepRecords(a.parts[k], prefix, v['line-number'] === true ? numbers : undefined, write);
      }
      a.parts.length = 0;
      if (a.numbers) a.numbers.length = 0;
    };
    let n = 0;
    try {
      const { result } = await ctx.run(input.path, builtinJobs.grep, {
        params,
        onMerged: emit,
        signal: AbortSignal.any([ctx.signal, stop.signal]),
        onProgress: (p) => progress.update(base + p.bytesDone, total),
      });
      emit(result);
      n = (result as GrepAcc).count;
    } catch (error) {
      if (!stop.signal.aborted) {
        ctx.report(error, input.path);
        continue;
      }
      n = 1;
    }
    base += input.size;
    counts.push({ file: name, count: n });
    if (n > 0) selected = true;
    if (quiet && selected) return 0;
    if (listFiles && n > 0) ctx.out.write(json ? `${JSON.stringify({ file: name })}\n` : `${name}\n`);
    if (count && !json) ctx.out.write(`${grepPrefix(prefix, undefined)}${n}\n`);
  }
  if (count && json) ctx.out.write(`${JSON.stringify(several ? { files: counts } : { count: counts[0]?.count ?? 0 })}\n`);
  if (ctx.failed) return 2;
  return selected ? 0 : 1;
}
