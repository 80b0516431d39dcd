/**
 * The `pagewise` command line. Results go to stdout; progress (only on a TTY,
 * or with --progress) and errors go to stderr as `pagewise: <message> (<CODE>)`.
 * Exit status: 0 success, 1 runtime failure, 2 usage error, 130/143 on
 * SIGINT/SIGTERM.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runJob, type RunStats } from './run/pipeline.js';
import { isKeyedJob, loadJob } from './job.js';
import { runFreq } from './keyed/freq-command.js';
import { shutdown } from './run/shutdown.js';
import { ErrorCodes, InvalidOptionError, PagewiseError, toPagewiseError } from './errors.js';
import { builtinJobs } from './jobs/index.js';
import { formatBytes, parseSize, type MapReduceOptions } from './options.js';
import type { Progress } from './types.js';

const USAGE = `Usage: pagewise <command> [options]

Commands:
  run JOB FILE...          run a job module (.mjs, .js, .ts) and print its result; a keyed
                           job prints one JSON line ["key",value] per key (--output PATH)
  wc FILE...               count lines, words and bytes (like wc); --lines for lines only
  stats FILE               One Billion Row Challenge: min/mean/max per station (--sep ';')
  grep PATTERN FILE...     print lines containing PATTERN (like grep -F -a); --count, --regex
  freq FILE...             most frequent words (--top K, default 10); --all for every word
                           (--output PATH; --json: JSON lines)
  tune FILE                time a job at several chunk sizes and recommend one (--job NAME|PATH)
  gen 1brc OUT             generate a 1BRC file (--rows N, --stations 413|10000, --seed S)
  demo                     generate a sample and run stats on it (--rows N, --keep)
  info                     versions, page size, byte kernels, memory budget, threadpool

Options for every command that reads files:
  --threads N              worker threads (default: all cores)
  --chunk-size SIZE        bytes per chunk: a page multiple like 64KiB, 8MiB, 1GiB, or auto
  --json                   print the result as JSON
  --progress, --no-progress  progress on stderr (default: only when stderr is a terminal)
  --stats                  print run statistics to stderr (JSON with --json)
  --release POLICY         auto | keep | unmap | evict: what happens to pages behind the scan
  --prefetch N             chunks to prefetch ahead (default 1)
  --advice MODE            sequential | normal | random | hugepage (default sequential)
  --max-bytes N            read at most N bytes from a stream or device
  --no-native-kernels      run a job's JS map in worker threads even where it has a
                           native kernel (wc, grep --count run on native threads by default)
  --params JSON            (run) parameters passed to the job
  --temp-dir DIR           (run, freq) where keyed runs spill beyond memory (default: the system's)
  --output PATH            (run, freq) write the result to PATH atomically instead of stdout
  -h, --help               this help;  -v, --version  the version
`;

type Values = Record<string, string | boolean | undefined>;

const COMMON: ParseArgsConfig['options'] = {
  threads: { type: 'string' },
  'chunk-size': { type: 'string' },
  json: { type: 'boolean' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  stats: { type: 'boolean' },
  release: { type: 'string' },
  prefetch: { type: 'string' },
  advice: { type: 'string' },
  'max-bytes': { type: 'string' },
  'no-native-kernels': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** Thrown for usage errors: exit status 2. */
class UsageError extends PagewiseError {
  constructor(message: string, option?: string) {
    super(ErrorCodes.INVALID_OPTION, message, { option });
  }
}

function parse(args: string[], extra: ParseArgsConfig['options'] = {}): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options: { ...COMMON, ...extra }, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (error) {
    const e = error as { code?: string; message: string };
    const flag = /'(-[^']+)'/.exec(e.message)?.[1];
    throw new UsageError(e.message.replace(/\. To specify a positional argument.*$/, ''), flag);
  }
}

function intOption(values: Values, name: string, min: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = typeof raw === 'string' && /^\d+(\.\d+)?(e\d+)?$/i.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidOptionError(`--${name}`, `an integer >= ${min}, such as 1000000 or 1e8`, raw);
  return n;
}

function runOptions(values: Values): MapReduceOptions {
  const options: MapReduceOptions = {};
  const threads = intOption(values, 'threads', 1);
  if (threads !== undefined) options.threads = threads;
  if (values['chunk-size'] !== undefined) {
    const raw = values['chunk-size'] as string;
    options.chunkSize = raw === 'auto' ? 'auto' : (parseSize(raw) ?? raw);
  }
  if (values.release !== undefined) options.release = values.release as MapReduceOptions['release'];
  const prefetch = intOption(values, 'prefetch', 0);
  if (prefetch !== undefined) options.prefetch = prefetch;
  if (values.advice !== undefined) options.advice = values.advice as MapReduceOptions['advice'];
  if (values['max-bytes'] !== undefined) {
    const n = parseSize(values['max-bytes'] as string);
    if (n === undefined) throw new InvalidOptionError('--max-bytes', 'a byte count like 1000000 or 64MiB', values['max-bytes']);
    options.maxBytes = n;
  }
  if (values['no-native-kernels']) options.nativeKernels = false;
  return options;
}

/** Renames `options.x` to `--x` in option errors, so CLI users see their flag. */
function asFlagError(error: unknown): unknown {
  const e = error as PagewiseError & { option?: string };
  if (e?.code === ErrorCodes.INVALID_OPTION && typeof e.option === 'string' && e.option.startsWith('options.')) {
    const flag = `--${e.option.slice('options.'.length).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    const wrapped = new UsageError(e.message.replace(e.option, flag), flag);
    return wrapped;
  }
  return error;
}

class ProgressLine {
  private shown = false;
  constructor(private readonly enabled: boolean) {}

  update(p: Progress): void {
    if (!this.enabled) return;
    const rate = p.bytesPerSecond;
    const pct = p.bytesTotal > 0 ? Math.min(100, (100 * p.bytesDone) / p.bytesTotal) : 0;
    const eta = rate > 0 && p.bytesTotal > p.bytesDone ? (p.bytesTotal - p.bytesDone) / rate : 0;
    const line =
      `${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}  ${pct.toFixed(0).padStart(3)}%  ` +
      `${(rate / 1e9).toFixed(2)} GB/s  ETA ${eta.toFixed(1)}s`;
    process.stderr.write(`\r\x1b[K${line}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

interface Context {
  signal: AbortSignal;
  out: (text: string) => void;
}

async function execute(
  ctx: Context,
  values: Values,
  input: string | string[],
  job: string,
  extra: MapReduceOptions = {},
  runner: (input: string | string[], options: MapReduceOptions) => Promise<{ result: unknown; stats: RunStats }> = (i, o) => runJob(i, job, o),
): Promise<{ result: unknown; stats: RunStats }> {
  const wantProgress = values['no-progress'] ? false : values.progress ? true : process.stderr.isTTY === true;
  const progress = new ProgressLine(wantProgress);
  try {
    const report = await runner(input, { ...runOptions(values), ...extra, signal: ctx.signal, onProgress: (p) => progress.update(p) });
    progress.done();
    if (values.stats) {
      process.stderr.write(values.json ? `${JSON.stringify(report.stats)}\n` : formatRunStats(report.stats));
    }
    return report;
  } catch (error) {
    progress.done();
    throw asFlagError(error);
  }
}

const EXECUTORS: Record<RunStats['executor'], string> = {
  kernel: "the job's native kernel on libuv's threadpool, no JS worker",
  workers: "the job's map in Piscina worker threads",
  none: 'nothing was mapped',
};

function formatRunStats(s: RunStats): string {
  const k = s.keyed;
  return (
    [
      ...(k === undefined
        ? []
        : [
            `keys             ${k.keys}, ${k.spilled ? `spilled ${formatBytes(k.spilledBytes)} in ${k.runs} run(s) to ${k.tempDir}, ${k.mergePasses} merge pass(es), ${k.partitions} partition(s)` : 'in memory (nothing spilled)'}`,
            `keyed tables     peak ${formatBytes(k.peakTableBytes)} per thread (share ${formatBytes(k.tableShare)})`,
          ]),
      `bytes            ${s.bytes} (${formatBytes(s.bytes)}) in ${s.files} file(s), ${s.chunks} chunks of ${formatBytes(s.chunkSize)} (${s.chunkSizeReason})`,
      `threads          ${s.threads} (${EXECUTORS[s.executor]})`,
      `wall             ${s.wallSeconds.toFixed(3)} s, ${(s.bytesPerSecond / 1e9).toFixed(2)} GB/s`,
      `cpu              user ${s.cpuSeconds.user.toFixed(3)} s, system ${s.cpuSeconds.system.toFixed(3)} s`,
      `peak rss         ${formatBytes(s.peakRssBytes)}`,
      `page faults      major ${s.pageFaults.major}, minor ${s.pageFaults.minor}`,
      `release          ${s.release} (${s.releaseReason})`,
    ].join('\n') + '\n'
  );
}

function needFiles(positionals: string[], min: number, usage: string): void {
  if (positionals.length < min) throw new UsageError(`missing argument: ${usage}`);
}

// ----------------------------------------------------------------- commands --

async function cmdRun(ctx: Context, args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { params: { type: 'string' }, output: { type: 'string' }, 'temp-dir': { type: 'string' } });
  needFiles(positionals, 2, 'pagewise run JOB FILE...');
  let params: unknown;
  if (values.params !== undefined) {
    try {
      params = JSON.parse(values.params as string);
    } catch {
      throw new InvalidOptionError('--params', 'valid JSON', values.params);
    }
  }
  const [job, ...files] = positionals;
  const keyedOptions = values['temp-dir'] === undefined ? {} : { tempDir: values['temp-dir'] as string };
  if (isKeyedJob(await loadJob(resolve(job)))) {
    // One JSON line per key, in key order, straight to the output.
    await execute(ctx, values, files, resolve(job), { params, ...keyedOptions, output: (values.output as string | undefined) ?? process.stdout });
    return;
  }
  if (values.output !== undefined || values['temp-dir'] !== undefined) {
    throw new UsageError(`${values.output !== undefined ? '--output' : '--temp-dir'} is for keyed jobs (keyed: true)`, values.output !== undefined ? '--output' : '--temp-dir');
  }
  const { result } = await execute(ctx, values, files, resolve(job), { params });
  if (values.json) ctx.out(`${JSON.stringify(result)}\n`);
  else ctx.out(typeof result === 'string' ? (result.endsWith('\n') ? result : `${result}\n`) : `${JSON.stringify(result, null, 2)}\n`);
}

async function cmdWc(ctx: Context, args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { lines: { type: 'boolean', short: 'l' } });
  needFiles(positionals, 1, 'pagewise wc FILE...');
  const linesOnly = values.lines === true;
  const rows: { file: string; lines: number; words: number; bytes: number }[] = [];
  for (const file of positionals) {
    const { result } = await execute(ctx, values, file, builtinJobs.wc, { params: { lines: linesOnly } });
    rows.push({ file, ...(result as { lines: number; words: number; bytes: number }) });
  }
  const total = rows.reduce((t, r) => ({ lines: t.lines + r.lines, words: t.words + r.words, bytes: t.bytes + r.bytes }), { lines: 0, words: 0, bytes: 0 });
  const pick = (r: { lines: number; words: number; bytes: number }): Record<string, number> =>
    linesOnly ? { lines: r.lines } : { lines: r.lines, words: r.words, bytes: r.bytes };
  if (values.json) {
    if (rows.length === 1) ctx.out(`${JSON.stringify(pick(rows[0]))}\n`);
    else ctx.out(`${JSON.stringify({ files: rows.map((r) => ({ file: r.file, ...pick(r) })), total: pick(total) })}\n`);
    return;
  }
  // GNU wc: one column width for all numbers, the digits of the total size;
  // a single number for a single file is printed unpadded; stdin widens to 7.
  const columns = linesOnly ? 1 : 3;
  let width = columns === 1 && rows.length === 1 ? 1 : String(total.bytes).length;
  if (positionals.includes('-') && !(columns === 1 && rows.length === 1)) width = Math.max(width, 7);
  const line = (r: { lines: number; words: number; bytes: number }, name: string): string =>
    Object.values(pick(r))
      .map((n) => String(n).padStart(width))
      .join(' ') + (name === '-' ? '' : ` ${name}`);
  for (const r of rows) ctx.out(`${line(r, r.file)}\n`);
  if (rows.length > 1) ctx.out(`${line(total, 'total')}\n`);
}

async function cmdStats(ctx: Context, args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { sep: { type: 'string' } });
  needFiles(positionals, 1, 'pagewise stats FILE');
  const sepText = (values.sep as string | undefined) ?? ';';
  const sepBytes = Buffer.from(sepText, 'utf8');
  if (sepBytes.length !== 1 || sepBytes[0] === 0x0a) throw new InvalidOptionError('--sep', 'a single byte other than newline', sepText);
  const { result } = await execute(ctx, values, positionals, builtinJobs.stats, { params: { sep: sepBytes[0] } });
  const { formatStats } = (await import('./jobs/stats.js')) as { formatStats: (rows: unknown) => string };
  if (values.json) ctx.out(`${JSON.stringify(result)}\n`);
  else ctx.out(formatStats(result));
}

async function cmdGrep(ctx: Context, args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { count: { type: 'boolean', short: 'c' }, regex: { type: 'boolean', short: 'E' } });
  needFiles(positionals, 2, 'pagewise grep PATTERN FILE...');
  const [pattern, ...files] = positionals;
  if (pattern.includes('\n')) throw new InvalidOptionError('PATTERN', 'a single line (no newline)', pattern);
  if (values.regex) {
    try {
      new RegExp(pattern);
    } catch (error) {
      throw new InvalidOptionError('PATTERN', `a valid JavaScript RegExp (${(error as Error).message})`, pattern);
    }
  }
  const params = { pattern, count: values.count === true, regex: values.regex === true };
  const counts: { file: string; count: number }[] = [];
  let matchedAny = false;
  for (const file of files) {
    const prefix = files.length > 1 ? Buffer.from(`${file}:`) : undefined;
    // Matching lines are written as soon as they are merged in file order,
    // so grep's memory stays bounded by the reorder window, not the output.
    const emit = (acc: unknown): void => {
      const a = acc as { parts: Uint8Array[] };
      if (params.count || values.json) return;
      for (const part of a.parts) writeLines(part, prefix);
      a.parts.length = 0;
    };
    const { result } = await execute(ctx, values, file, builtinJobs.grep, { params, onMerged: emit });
    const acc = result as { count: number; parts: Uint8Array[] };
    emit(acc);
    counts.push({ file, count: acc.count });
    if (acc.count > 0) matchedAny = true;
  }
  await drainStdout();
  if (values.json) ctx.out(`${JSON.stringify(files.length === 1 ? { count: counts[0].count } : { files: counts })}\n`);
  else if (params.count) for (const c of counts) ctx.out(files.length > 1 ? `${c.file}:${c.count}\n` : `${c.count}\n`);
  // grep's convention: 1 when nothing matched.
  if (!matchedAny) process.exitCode = 1;
}

/** Writes whole lines; with several files each line gets grep's `file:` prefix. */
function writeLines(part: Uint8Array, prefix: Buffer | undefined): void {
  if (!prefix) {
    process.stdout.write(part);
    return;
  }
  let at = 0;
  while (at < part.length) {
    let nl = part.indexOf(0x0a, at);
    if (nl < 0) nl = part.length - 1;
    process.stdout.write(Buffer.concat([prefix, part.subarray(at, nl + 1)]));
    at = nl + 1;
  }
}

function drainStdout(): Promise<void> {
  return new Promise((resolveDrain) => {
    if (!process.stdout.writableNeedDrain) resolveDrain();
    else process.stdout.once('drain', () => resolveDrain());
  });
}

async function cmdFreq(ctx: Context, args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { top: { type: 'string' }, all: { type: 'boolean' }, output: { type: 'string' }, 'temp-dir': { type: 'string' } });
  needFiles(positionals, 1, 'pagewise freq FILE...');
  if (values.all && values.top !== undefined) throw new UsageError('--all and --top exclude each other', '--top');
  const top = intOption(values, 'top', 1) ?? 10;
  const request = {
    all: values.all === true,
    top,
    format: values.json ? ('json' as const) : ('text' as const),
    output: (values.output as string | undefined) ?? (values.all ? process.stdout : undefined),
  };
  const extra = values['temp-dir'] === undefined ? {} : { tempDir: values['temp-dir'] as string };
  const { result } = await execute(ctx, values, positionals, builtinJobs.wordCounts, extra, async (input, options) => {
    const { rows, stats } = await runFreq(input, request, options);
    return { result: rows, stats };
  });
  if (request.output !== undefined) return;
  const { formatFreqRows } = await import('./keyed/freq-command.js');
  ctx.out(formatFreqRows(result as { word: string; count: number }[], request.format));
}

const TUNE_SIZES = [256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20];

async function cmdTune(ctx: Context, args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { job: { type: 'string' }, params: { type: 'string' } });
  needFiles(positionals, 1, 'pagewise tune FILE [--job NAME|PATH]');
  if (values['chunk-size'] !== undefined) throw new UsageError('tune chooses the chunk size itself: drop --chunk-size', '--chunk-size');
  const file = positionals[0];
  const jobName = (values.job as string | undefined) ?? 'wc';
  const job = jobName in builtinJobs ? builtinJobs[jobName as keyof typeof builtinJobs] : resolve(jobName);
  let params: unknown = jobName === 'wc' ? { lines: false } : jobName === 'grep' ? { pattern: 'e', count: true } : jobName === 'stats' ? { sep: 0x3b } : undefined;
  if (values.params !== undefined) params = JSON.parse(values.params as string);
  const quiet = { ...values, progress: false, 'no-progress': true, stats: false };
  // One untimed pass warms the page cache and the workers, so every trial
  // measures the same thing.
  await execute(ctx, quiet, file, job, { params });
  const trials: { chunkSize: number; seconds: number; bytesPerSecond: number }[] = [];
  for (const chunkSize of TUNE_SIZES) {
    let best = Infinity;
    let bytes = 0;
    for (let rep = 0; rep < 3; rep++) {
      const { stats } = await execute(ctx, quiet, file, job, { params, chunkSize });
      best = Math.min(best, stats.wallSeconds);
      bytes = stats.bytes;
    }
    trials.push({ chunkSize, seconds: best, bytesPerSecond: best > 0 ? bytes / best : 0 });
    if (!values.json && (values.progress || process.stderr.isTTY)) process.stderr.write(`tried ${formatBytes(chunkSize)}\n`);
  }
  // The smallest size within 5% of the fastest: the same speed for less
  // memory per thread and smoother load balance.
  const fastest = Math.min(...trials.map((t) => t.seconds));
  const recommended = trials.find((t) => t.seconds <= fastest * 1.05)!.chunkSize;
  if (values.json) {
    ctx.out(`${JSON.stringify({ recommended, trials })}\n`);
    return;
  }
  ctx.out(`chunk size     seconds     GB/s\n`);
  for (const t of trials) {
    const mark = t.chunkSize === recommended ? '  <- recommended' : '';
    ctx.out(`${formatBytes(t.chunkSize).padEnd(12)} ${t.seconds.toFixed(4).padStart(9)} ${(t.bytesPerSecond / 1e9).toFixed(2).padStart(8)}${mark}\n`);
  }
  ctx.out(`\nrecommended: --chunk-size ${formatBytes(recommended).replace(' ', '')} (smallest size within 5% of the fastest)\n`);
}

async function cmdGen(ctx: Context, args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { rows: { type: 'string' }, stations: { type: 'string' }, seed: { type: 'string' } });
  if (positionals[0] !== '1brc') throw new UsageError(`unknown generator '${positionals[0] ?? ''}': try pagewise gen 1brc OUT`);
  needFiles(positionals, 2, 'pagewise gen 1brc OUT');
  const rows = intOption(values, 'rows', 0) ?? 1_000_000;
  const stations = values.stations === undefined ? 413 : Number(values.stations);
  if (stations !== 413 && stations !== 10000) throw new InvalidOptionError('--stations', '413 or 10000', values.stations);
  const seed = intOption(values, 'seed', 0) ?? 1;
  const { generate1brc } = await import('./gen.js');
  const started = performance.now();
  const progress = new ProgressLine(values['no-progress'] ? false : values.progress ? true : process.stderr.isTTY === true);
  const out = await generate1brc({
    out: positionals[1],
    rows,
    stations: stations as 413 | 10000,
    seed,
    onProgress: (done: number) =>
      progress.update({
        bytesDone: done, bytesTotal: rows, chunksDone: 0, chunksTotal: 0, filesDone: 0, filesTotal: 1,
        elapsedSeconds: (performance.now() - started) / 1000, bytesPerSecond: 0,
      }),
  });
  progress.done();
  const seconds = (performance.now() - started) / 1000;
  if (values.json) ctx.out(`${JSON.stringify({ file: positionals[1], rows: out.rows, bytes: out.bytes, seconds })}\n`);
  else ctx.out(`wrote ${out.rows} rows (${formatBytes(out.bytes)}) to ${positionals[1]} in ${seconds.toFixed(1)} s\n`);
}

async function cmdDemo(ctx: Context, args: string[]): Promise<void> {
  const { values } = parse(args, { rows: { type: 'string' }, keep: { type: 'boolean' } });
  const rows = intOption(values, 'rows', 0) ?? 20_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'pagewise-demo-'));
  const file = join(dir, 'measurements.txt');
  try {
    const say = (text: string): void => {
      if (!values.json) ctx.out(text);
    };
    say(`pagewise demo: generating ${rows} rows of One Billion Row Challenge data...\n`);
    const { generate1brc } = await import('./gen.js');
    const genStart = performance.now();
    const out = await generate1brc({ out: file, rows, stations: 413, seed: 1 });
    say(`  ${formatBytes(out.bytes)} in ${((performance.now() - genStart) / 1000).toFixed(1)} s: ${file}\n`);
    say(`running stats over it on ${values.threads ?? 'all'} threads...\n`);
    const { result, stats } = await execute(ctx, values, file, builtinJobs.stats, { params: { sep: 0x3b } });
    const { formatStats } = (await import('./jobs/stats.js')) as { formatStats: (rows: unknown) => string };
    const all = result as { name: string }[];
    if (values.json) {
      ctx.out(`${JSON.stringify({ file: values.keep ? file : null, rows, bytes: stats.bytes, seconds: stats.wallSeconds, bytesPerSecond: stats.bytesPerSecond, stations: all.length, first: all.slice(0, 5) })}\n`);
    } else {
      const text = formatStats(all.slice(0, 8));
      say(`\nfirst stations of ${all.length}: ${text.slice(0, -2)}, ...}\n`);
      say(`\n${stats.bytes} bytes in ${stats.wallSeconds.toFixed(3)} s: ${(stats.bytesPerSecond / 1e9).toFixed(2)} GB/s, ` +
        `${((rows / stats.wallSeconds) / 1e6).toFixed(1)} M rows/s on ${stats.threads} threads (chunks of ${formatBytes(stats.chunkSize)})\n`);
      say(values.keep ? `the file stays at ${file}\n` : `removing ${file} (keep it with --keep)\n`);
    }
  } finally {
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `pagewise info`: what this process sees (for bug reports and for checking
 * a setup): versions, page size, which byte kernels run, the memory budget,
 * and libuv's threadpool as configured and as measured (native kernels read
 * with one pool thread each).
 */
async function cmdInfo(ctx: Context, args: string[]): Promise<void> {
  const { values } = parse(args);
  const [{ native }, { memoryBudget }, { threadpoolSize }, os] = await Promise.all([
    import('./native.js'),
    import('./memory.js'),
    import('./plan/plan.js'),
    import('node:os'),
  ]);
  const configured = threadpoolSize();
  const info = {
    pagewise: version(),
    node: process.version,
    napi: process.versions.napi,
    platform: `${process.platform} ${os.release()} ${process.arch}`,
    cores: os.availableParallelism(),
    pageSize: native.pageSize(),
    kernels: native.kernelFlavor(),
    memoryBudget: memoryBudget(),
    threadpool: { configured, running: await native.threadpoolConcurrency(configured, 250) },
  };
  if (values.json) {
    ctx.out(`${JSON.stringify(info)}\n`);
    return;
  }
  ctx.out(
    [
      `pagewise      ${info.pagewise} (Node ${info.node}, Node-API ${info.napi})`,
      `platform      ${info.platform}, ${info.cores} cores, page size ${info.pageSize} B`,
      `byte kernels  ${info.kernels}`,
      `memory budget ${formatBytes(info.memoryBudget.bytes)} (${info.memoryBudget.source})`,
      `threadpool    ${info.threadpool.running} threads running at once (UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? 'unset'}: ${configured})`,
    ].join('\n') + '\n',
  );
}

const COMMANDS: Record<string, (ctx: Context, args: string[]) => Promise<void>> = {
  info: cmdInfo,
  run: cmdRun,
  wc: cmdWc,
  stats: cmdStats,
  grep: cmdGrep,
  freq: cmdFreq,
  tune: cmdTune,
  gen: cmdGen,
  demo: cmdDemo,
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the CLI with `argv` (without `node` and the script); resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = signal;
    controller.abort(new PagewiseError(ErrorCodes.ABORTED, `interrupted by ${signal}`));
    // Whatever is still running, leave within the promised two seconds.
    setTimeout(() => process.exit(signal === 'SIGINT' ? 130 : 143), 1500).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const ctx: Context = { signal: controller.signal, out: (text) => void process.stdout.write(text) };
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (command === '-v' || command === '--version') {
      process.stdout.write(`${version()}\n`);
      return 0;
    }
    if (rest.includes('-h') || rest.includes('--help')) {
      process.stdout.write(USAGE);
      return 0;
    }
    const handler = COMMANDS[command];
    if (!handler) throw new UsageError(`unknown command '${command}' (try pagewise --help)`);
    await handler(ctx, rest);
    return signalled ? (signalled === 'SIGINT' ? 130 : 143) : ((process.exitCode as number | undefined) ?? 0);
  } catch (error) {
    if (signalled) return signalled === 'SIGINT' ? 130 : 143;
    const e = toPagewiseError(error);
    let message = e.message;
    if (e.code === ErrorCodes.JOB_FAILED && e.cause instanceof Error && !message.includes(e.cause.message)) {
      message += `: ${e.cause.message}`;
    }
    process.stderr.write(`pagewise: ${message} (${e.code})\n`);
    return e.code === ErrorCodes.INVALID_OPTION ? 2 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await shutdown();
  }
}
