/**
 * The `pagewise` command line: finds the command in the table (args.ts),
 * parses its flags, and runs it with a Context that owns stdout, stderr, the
 * progress display, signals and the exit status.
 *
 * Results go to stdout; progress and errors go to stderr, errors as
 * `pagewise: <message> (<CODE>)`. Exit status: 0 success, 1 a failure (for
 * grep: 0 selected, 1 nothing selected, 2 an error), 2 a usage error, 141
 * when stdout's reader went away, 130/143 on SIGINT/SIGTERM.
 *
 * The library is imported only inside commands, so `--help`, `--version` and
 * usage errors never load the addon.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, InvalidOptionError, PagewiseError, hasCode, toPagewiseError } from '../errors.js';
import type { MapReduceOptions } from '../options.js';
import type { RunReport, RunStats } from '../run/pipeline.js';
import { clusterFlagOf, clusterOptionOf } from '../cluster/cli.js';
import { resolveOptions } from '../options.js';
import { COMMANDS, UsageError, commandHelp, findCommand, flagOfOption, globalHelp, parseArgs, unknownCommand, type Command } from './args.js';
import { jobLocation, planStatsLines, quoteName, runStatsText, systemMessage } from './format.js';
import { EXIT_BROKEN_PIPE, Output } from './output.js';
import { ProgressDisplay, wantsProgress, type ProgressOptions } from './progress.js';
import { isFileAccessError, type Input } from './inputs.js';

type Library = typeof import('./library.js');

/** What a command is given. */
export interface Context {
  command: Command;
  values: Record<string, unknown>;
  positionals: string[];
  /** Where each flag was last given (Parsed.order). */
  order: Record<string, number>;
  /** Every flag with a value, in order (Parsed.given). */
  given: { flag: string; value: unknown }[];
  /** Aborted on SIGINT/SIGTERM and when stdout fails. */
  signal: AbortSignal;
  out: Output;
  /** Prints an error line for one input (or the whole command) and marks the run failed; goes on. */
  report(error: unknown, file?: string): void;
  /** grep -s: a file that is missing or unreadable still fails the run, without its line. */
  quietFileErrors?: boolean;
  /** An error was reported. */
  readonly failed: boolean;
  /** Writes a line to stderr (erasing the progress display first). */
  note(text: string): void;
  /** A new progress display (it replaces the one before), erased before each write to the same terminal. */
  display(unit?: ProgressOptions['unit']): ProgressDisplay;
  /** The library, loaded on first use. */
  lib(): Promise<Library>;
  /**
   * The command's job maps in worker threads: start them now, so that they
   * boot while the library loads (the run takes this pool). Nothing for
   * --explain, a cluster run, or inputs with no bytes of a regular file to
   * map ('-' is read on the main thread even when it is one).
   */
  startWorkers(inputs: Input[]): void;
  /** The library options set by the run flags. */
  runOptions(): MapReduceOptions;
  /**
   * runJob with the run flags, the signal, and --stats; library option errors
   * are shown as the flag that set them.
   */
  run(input: string | string[], job: string, extra?: MapReduceOptions): Promise<RunReport>;
  /** As `run`, for a library call other than runJob (runFreq): `start` is given the options `run` would pass. */
  call<T extends { stats: RunStats }>(start: (lib: Library, options: MapReduceOptions) => Promise<T>, extra?: MapReduceOptions): Promise<T>;
  /** `--explain` was given: commands print `explain(...)` of each run they would start, and read nothing. */
  readonly explaining: boolean;
  /** Prints the plan of the run `run(input, job, extra)` would start (JSON with --json), without reading any input. */
  explain(input: string | string[], job: string, extra?: MapReduceOptions): Promise<void>;
  /** Prints a run's --stats (when asked for): for runs a command starts through the library itself. */
  showStats(stats: RunStats): void;
  /**
   * The command handles SIGINT/SIGTERM itself (the cluster worker): after a
   * signal the CLI waits up to `ms` (not the usual 1.5 s) before it forces
   * the exit with `code`, and the status the command returns stands.
   */
  linger(ms: number, code: number): void;
}

/** pagewise's own compiled files and its bin script: frames there are not the job's. */
const OWN_ROOTS = [fileURLToPath(new URL('../../', import.meta.url)), fileURLToPath(new URL('../../../bin/', import.meta.url))];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

type Handler = (ctx: Context) => Promise<number | void>;

const HANDLERS: Record<string, () => Promise<{ default: Handler }>> = {
  wc: () => import('./wc.js'),
  grep: () => import('./grep.js'),
  stats: () => import('./stats.js'),
  freq: () => import('./freq.js'),
  run: () => import('./run.js'),
  tune: () => import('./tune.js'),
  gen: () => import('./gen.js'),
  demo: () => import('./demo.js'),
  index: () => import('./index-cmd.js'),
  worker: () => import('./worker.js'),
  info: () => import('./info.js'),
};

/** The text of an error for stderr: `pagewise: message (CODE)`, with the job's location and, verbose, the stack. */
export function errorText(error: unknown, verbose: boolean, file?: string): string {
  const e = toPagewiseError(error);
  let message = e.message;
  const cause = e.cause as (Error & { code?: unknown }) | undefined;
  if (/^E[A-Z0-9]+$/.test(e.code)) {
    message = systemMessage(message);
    const path = (e as { path?: string }).path ?? file;
    if (path !== undefined && !message.includes(path)) message = `${path}: ${message}`;
  } else if (file !== undefined && !message.includes(file)) message = `${file}: ${message}`;
  // A name holding a newline is shown quoted, as GNU tools do, so that the error stays one line;
  // one given that is not UTF-8 is shown as its bytes, quoted the same way.
  for (const name of new Set([file, (e as { path?: string }).path])) {
    if (name === undefined) continue;
    const quoted = quoteName(name);
    if (quoted !== name) message = message.split(`'${name}'`).join(quoted).split(name).join(quoted);
  }
  let excerpt = '';
  if (e.code === ErrorCodes.JOB_FAILED || e.code === ErrorCodes.JOB_LOAD) {
    if (cause instanceof Error && !message.includes(cause.message)) message += `: ${cause.message}`;
    let at = jobLocation(cause?.stack, OWN_ROOTS);
    const path = (e as { path?: string }).path;
    // The loader may name the line itself (its message then holds path:line).
    if (at === undefined && cause?.name === 'SyntaxError' && path !== undefined && !message.includes(`${path}:`)) {
      const where = syntaxErrorAt(path);
      at = where?.at;
      excerpt = where?.excerpt ?? '';
    }
    if (at !== undefined) message += ` (at ${at})`;
  }
  let text = `pagewise: ${message} (${e.code})\n${excerpt}`;
  if (error instanceof UsageError && error.command) text += `Try 'pagewise ${error.command} --help' for its options.\n`;
  if (verbose) {
    const stack = cause instanceof Error ? cause.stack : e.stack;
    if (stack) text += `${stack}\n`;
  }
  return text;
}

/**
 * Where a JavaScript job module fails to parse: Node's ESM loader keeps the
 * line out of the SyntaxError's stack, but `node --check` prints it (the file,
 * the line, a caret). Run only on this error path.
 */
function syntaxErrorAt(path: string): { at: string; excerpt: string } | undefined {
  if (!/\.[cm]?js$/.test(path)) return undefined;
  // Required here: child_process (and what it loads) is start-up time every run would pay.
  const { spawnSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
  const lines = (r.stderr ?? '').split('\n');
  const m = /^(?:file:\/\/)?(\/.+):(\d+)$/.exec(lines[0] ?? '');
  if (!m) return undefined;
  const excerpt = lines.slice(1, 3).filter((l) => l.trim() !== '').map((l) => `  ${l}\n`).join('');
  return { at: `${decodeURIComponent(m[1])}:${m[2]}`, excerpt };
}

/** A library option error named as the flag that set it (the table knows which; the cluster's, src/cluster/cli.ts). */
function asFlagError(error: unknown, command: Command): unknown {
  const e = error as PagewiseError & { option?: string };
  if (e?.code !== ErrorCodes.INVALID_OPTION || typeof e.option !== 'string') return error;
  const flag = flagOfOption(e.option) ?? clusterFlagOf(e.option);
  if (flag === undefined) return error;
  return new UsageError(e.message.replace(e.option, flag), flag, command.name);
}

/** Runs the CLI with `argv` (without `node` and the script); resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(globalHelp());
    return 2;
  }
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  let lingerFor: { ms: number; code: number } | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    library?.signalSeen();
    if (signalled) return;
    signalled = signal;
    controller.abort(new PagewiseError(ErrorCodes.ABORTED, `interrupted by ${signal}`));
    // Whatever is still running, leave within the promised two seconds
    // (a worker handing back its split: the time it asked for).
    setTimeout(() => process.exit(lingerFor?.code ?? (signal === 'SIGINT' ? 130 : 143)), lingerFor?.ms ?? 1500).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const out = new Output(() => controller.abort(new PagewiseError(ErrorCodes.ABORTED, 'standard output failed')));
  let library: Library | undefined;
  let progress: ProgressDisplay | undefined;
  let command: Command | undefined;
  let verbose = false;
  let explained = 0;
  let failed = false;
  const exitFor = (status: number): number => (command?.name === 'grep' && status === 1 ? 2 : status);
  // What stdout's own state makes of the run: 141 when its reader went away, an error line and
  // `failedStatus` when a write failed (/dev/full), undefined when every write went through.
  const outputStatus = (failedStatus: number): number | undefined => {
    if (out.broken) return EXIT_BROKEN_PIPE;
    if (out.failure === undefined) return undefined;
    process.stderr.write(errorText(out.failure, verbose));
    return failedStatus;
  };
  // Help and the version are written as any output is.
  const printed = async (text: string): Promise<number> => {
    out.write(text);
    await out.flush();
    return outputStatus(1) ?? 0;
  };
  try {
    if (name === '-h' || name === '--help') return await printed(globalHelp());
    if (name === '-V' || name === '--version') return await printed(`${version()}\n`);
    if (name === 'help') {
      if (rest.length === 0) return await printed(globalHelp());
      const target = findCommand(rest[0]);
      if (!target) throw unknownCommand(rest[0]);
      return await printed(commandHelp(target));
    }
    command = findCommand(name);
    if (!command) throw unknownCommand(name);
    const parsed = parseArgs(command, rest);
    if (parsed.help) return await printed(commandHelp(command));
    verbose = parsed.values.verbose === true;
    const cmd = command;
    const ctx: Context = {
      command: cmd,
      values: parsed.values,
      positionals: parsed.positionals,
      order: parsed.order,
      given: parsed.given,
      signal: controller.signal,
      out,
      report(error, file) {
        failed = true;
        if (this.quietFileErrors === true && file !== undefined && isFileAccessError(error)) return;
        // An abort the run caused itself (stdout failed, a signal) is said by the exit status alone.
        if ((out.stopped || signalled) && (error as { code?: string })?.code === ErrorCodes.ABORTED) return;
        this.note(errorText(asFlagError(error, cmd), verbose, file));
      },
      get failed() {
        return failed;
      },
      note(text) {
        progress?.suspend();
        process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
      },
      display(unit) {
        // One display at a time: a new one (another unit, another phase) replaces the last.
        progress?.finish();
        progress = new ProgressDisplay({ enabled: wantsProgress(parsed.values.progress), unit });
        out.attach(progress);
        return progress;
      },
      startWorkers(inputs) {
        const v = parsed.values;
        if (v.explain === true || v.cluster !== undefined || !inputs.some((i) => i.path !== '-' && i.regular && i.size > 0)) return;
        // A pool that fails to start is the run's to report: it starts its own.
        import('../run/pool.js')
          .then((m) => void m.prestartPool(v.threads as number | undefined))
          .catch(() => {});
      },
      async lib() {
        if (library === undefined) {
          library = await import('./library.js');
          // From now on a SIGINT/SIGTERM the handler below has not seen within two seconds ends
          // the process, even while a job's map holds the main thread (native/signals.cc).
          library.guardSignals();
        }
        return library;
      },
      runOptions() {
        const v = parsed.values;
        const o: MapReduceOptions = {};
        if (v.threads !== undefined) o.threads = v.threads as number;
        if (v['chunk-size'] !== undefined) o.chunkSize = v['chunk-size'] as number | 'auto';
        if (v.release !== undefined) o.release = v.release as MapReduceOptions['release'];
        if (v.prefetch !== undefined) o.prefetch = v.prefetch as number;
        if (v.advice !== undefined) o.advice = v.advice as MapReduceOptions['advice'];
        if (v['max-bytes'] !== undefined) o.maxBytes = v['max-bytes'] as number;
        if (v['no-native-kernels'] === true) o.nativeKernels = false;
        if (v['temp-dir'] !== undefined) o.tempDir = v['temp-dir'] as string;
        let cluster;
        try {
          cluster = clusterOptionOf(v, (message) => this.note(`pagewise: ${message}`));
        } catch (error) {
          const e = error as PagewiseError & { option?: string };
          throw new UsageError(e.message, e.option, cmd.name);
        }
        if (cluster !== undefined) o.cluster = cluster;
        return o;
      },
      run(input, job, extra = {}) {
        return this.call((lib, options) => lib.runJob(input, job, options), extra);
      },
      async call(start, extra = {}) {
        const lib = await this.lib();
        try {
          const report = await start(lib, { ...this.runOptions(), ...extra, signal: extra.signal ?? controller.signal });
          this.showStats(report.stats);
          return report;
        } catch (error) {
          throw asFlagError(error, cmd);
        }
      },
      explaining: parsed.values.explain === true,
      async explain(input, job, extra = {}) {
        const lib = await this.lib();
        let plan;
        try {
          plan = await lib.planJob(input, job, { ...this.runOptions(), ...extra, signal: extra.signal ?? controller.signal });
        } catch (error) {
          throw asFlagError(error, cmd);
        }
        // Several runs (wc, grep: one per file): a blank line between their plans.
        out.write(parsed.values.json ? `${JSON.stringify(plan)}\n` : `${explained++ > 0 ? '\n' : ''}${lib.describePlan(plan)}`);
      },
      showStats(stats) {
        if (!parsed.values.stats) return;
        if (parsed.values.json) {
          this.note(JSON.stringify(stats));
          return;
        }
        // The run's own view of its inputs: a refused mapping shows as the stream it became.
        const plan = { ...stats.plan, inputs: stats.plan.inputs.map((i, k) => ({ ...i, kind: stats.inputs[k]?.kind ?? i.kind, reason: stats.inputs[k]?.reason ?? i.reason })) };
        this.note(runStatsText(stats, planStatsLines(library!.describePlan(plan))));
      },
      linger(ms, code) {
        lingerFor = { ms, code };
      },
    };
    // A chunk size must be a page multiple, which only the addon can tell:
    // checked before the command does any work (demo generates first).
    const chunk = parsed.values['chunk-size'];
    if (typeof chunk === 'number') {
      const { PAGE_SIZE } = await ctx.lib();
      if (chunk % PAGE_SIZE !== 0) {
        throw new InvalidOptionError('--chunk-size', `'auto' or a multiple of the page size (${PAGE_SIZE} bytes) up to 1GiB, like 64KiB, 8MiB`, String(chunk));
      }
    }
    // The cluster flags' rules (--split-size needs --cluster) and values are
    // usage errors before any work, not one per file.
    if (cmd.flags.some((f) => f.long === 'split-size')) {
      const options = ctx.runOptions();
      if (options.cluster !== undefined) {
        const { PAGE_SIZE } = await ctx.lib();
        try {
          resolveOptions(options, PAGE_SIZE);
        } catch (error) {
          throw asFlagError(error, cmd);
        }
      }
    }
    const handler = (await HANDLERS[cmd.name]()).default;
    const status = await handler(ctx);
    progress?.finish();
    await out.flush();
    // A command that handles signals itself (the worker) says how it ended.
    if (lingerFor !== undefined && typeof status === 'number') return status;
    if (signalled) return signalled === 'SIGINT' ? 130 : 143;
    return outputStatus(exitFor(1)) ?? status ?? (failed ? exitFor(1) : 0);
  } catch (error) {
    progress?.finish();
    if (signalled) return signalled === 'SIGINT' ? 130 : 143;
    // The reader of stdout, or of the run's output (a FIFO), went away: silent, as coreutils are.
    // (isBrokenPipe's rule, src/output/commands.ts; that module loads the library, this one must not.)
    if (hasCode(error, 'EPIPE')) return EXIT_BROKEN_PIPE;
    const fromOutput = outputStatus(exitFor(1));
    if (fromOutput !== undefined) return fromOutput;
    const e = command ? asFlagError(error, command) : error;
    process.stderr.write(errorText(e, verbose));
    return (e as { code?: string })?.code === ErrorCodes.INVALID_OPTION ? 2 : exitFor(1);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (library) await library.shutdown();
  }
}

export { COMMANDS };
