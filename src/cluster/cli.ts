/**
 * The command line's cluster parts, kept in one place so they can move into
 * any CLI structure: the flags every reading command takes (`--cluster`,
 * `--split-size`, `--cluster-timeout`, `--queue`) and what they become as
 * the `cluster` library option, the `pagewise worker` command, and the
 * `--stats` lines of a cluster run. Nothing here loads BullMQ: only a run
 * with `--cluster` or the worker command does.
 */
import { parseArgs } from 'node:util';
import { ErrorCodes, InvalidOptionError, PagewiseError } from '../errors.js';
import { formatBytes, type ClusterOptions } from '../options.js';
import type { RunStats } from '../run/pipeline.js';

/** Flags of every reading command (and `run`), for node:util's parseArgs. */
export const CLUSTER_FLAGS = {
  cluster: { type: 'string' },
  'split-size': { type: 'string' },
  'cluster-timeout': { type: 'string' },
  queue: { type: 'string' },
} as const;

/** The help lines of those flags. */
export const CLUSTER_USAGE = `  --cluster URL            run on pagewise workers over Redis (redis://[:PASSWORD@]HOST[:PORT][/DB],
                           or the password in PAGEWISE_REDIS_PASSWORD); needs npm install bullmq ioredis
  --split-size SIZE        bytes per split of a cluster run, a multiple of the chunk size (default 256MiB)
  --cluster-timeout DUR    give up when no split made progress for DUR (30, 30s, 500ms, 2m; default: wait)
  --queue NAME             the workers' queue (default pagewise)
`;

/** The `cluster` option the flags ask for (undefined without --cluster); checked by the library (src/options.ts). */
export function clusterOptionOf(values: Record<string, unknown>, onNotice: (message: string) => void): ClusterOptions | undefined {
  const url = values.cluster as string | undefined;
  if (url === undefined) {
    for (const flag of ['split-size', 'cluster-timeout', 'queue']) {
      if (values[flag] !== undefined) throw new PagewiseError(ErrorCodes.INVALID_OPTION, `--${flag} needs --cluster URL`, { option: `--${flag}` });
    }
    return undefined;
  }
  const cluster: ClusterOptions = { url, onNotice };
  if (values.queue !== undefined) cluster.queue = values.queue as string;
  if (values['split-size'] !== undefined) cluster.splitSize = values['split-size'] as string;
  if (values['cluster-timeout'] !== undefined) cluster.timeout = values['cluster-timeout'] as string;
  return cluster;
}

/** Library option names under `cluster` as the flags users typed. */
export function clusterFlagOf(option: string): string | undefined {
  return (
    {
      'options.cluster.url': '--cluster',
      'options.cluster.queue': '--queue',
      'options.cluster.splitSize': '--split-size',
      'options.cluster.timeout': '--cluster-timeout',
      'options.cluster': '--cluster',
    } as Record<string, string>
  )[option];
}

/** `--stats` lines of a cluster run. */
export function clusterStatsText(s: RunStats): string {
  const c = s.cluster;
  if (c === undefined) return '';
  const lines = [
    `cluster          ${c.url} queue '${c.queue}': ${c.splits} splits of ${formatBytes(c.splitSize)}, ${c.workers.length} worker(s), ${c.stalled} re-run after a worker stalled, ${c.duplicates} duplicate result(s) dropped${c.redone > 0 ? `, ${c.redone} CSV split(s) cut again from a first pass` : ''}`,
    `per split        ${c.splitSeconds.mean.toFixed(3)} s mean on a worker (slowest ${c.splitSeconds.max.toFixed(3)} s), ${c.splitLatencySeconds.toFixed(3)} s mean from enqueue to merge`,
    ...c.workers.map(
      (w) => `worker           ${w.name}: ${w.splits} splits, ${formatBytes(w.bytes)} in ${w.seconds.toFixed(3)} s (${w.threads} thread(s), ${w.executor}, chunks of ${formatBytes(w.chunkSize)})`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

export const WORKER_USAGE = `Usage: pagewise worker --cluster URL [--threads N] [--queue NAME] [--name NAME] [--lock-duration DUR] [--verbose]

Takes splits of cluster runs from the queue and reads them with this machine's threads, until
SIGTERM or SIGINT: then the running split is handed back to the queue and the worker exits 0.
Inputs and job modules must be at the same absolute path on every machine (docs/cluster.md).
A worker runs whatever job module a coordinator names: keep the queue reachable by trusted users only.

  --cluster URL        redis://[:PASSWORD@]HOST[:PORT][/DB] (or the password in PAGEWISE_REDIS_PASSWORD)
  --threads N          threads that read each split (default: all cores)
  --queue NAME         the queue to take splits from (default pagewise)
  --name NAME          this worker's name in errors and --stats (default HOSTNAME:PID)
  --lock-duration DUR  a dead worker's split goes to another after about twice this (default 30s)
  --verbose            a line on stderr per split
`;

/**
 * `pagewise worker`: runs a cluster worker until `signal` (SIGTERM/SIGINT)
 * aborts; resolves to the exit status (0 after a clean close).
 * `linger(ms)` asks the CLI to wait that long after a signal before it forces
 * the exit, so the running split can be handed back.
 */
export async function workerCommand(args: string[], signal: AbortSignal, log: (line: string) => void, linger: (ms: number, code: number) => void): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        cluster: { type: 'string' },
        threads: { type: 'string' },
        queue: { type: 'string' },
        name: { type: 'string' },
        'lock-duration': { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (error) {
    throw new PagewiseError(ErrorCodes.INVALID_OPTION, (error as Error).message.replace(/\. To specify a positional argument.*$/, ''), {});
  }
  if (values.help) {
    process.stdout.write(WORKER_USAGE);
    return 0;
  }
  if (values.cluster === undefined) throw new PagewiseError(ErrorCodes.INVALID_OPTION, 'missing --cluster URL: pagewise worker --cluster redis://HOST:PORT', { option: '--cluster' });
  let threads: number | undefined;
  if (values.threads !== undefined) {
    threads = /^\d+$/.test(values.threads as string) ? Number(values.threads) : NaN;
    if (!Number.isSafeInteger(threads) || threads < 1 || threads > 1024) throw new InvalidOptionError('--threads', 'an integer from 1 to 1024', values.threads);
  }
  const { clusterWorker } = await import('./worker.js');
  const verbose = values.verbose === true;
  const flagOf: Record<string, string> = { 'options.url': '--cluster', 'options.queue': '--queue', 'options.threads': '--threads', 'options.name': '--name', 'options.lockDuration': '--lock-duration' };
  let worker;
  try {
    worker = await clusterWorker({
      url: values.cluster as string,
      queue: values.queue as string | undefined,
      threads,
      name: values.name as string | undefined,
      lockDuration: values['lock-duration'] as string | undefined,
      signal,
      onEvent: ({ type, message }) => {
        if (type !== 'split' || verbose) log(message);
      },
    });
  } catch (error) {
    const e = error as PagewiseError & { option?: string };
    if (e?.code === ErrorCodes.INVALID_OPTION && typeof e.option === 'string' && flagOf[e.option]) {
      throw new PagewiseError(ErrorCodes.INVALID_OPTION, e.message.replace(e.option, flagOf[e.option]), { option: flagOf[e.option] });
    }
    throw error;
  }
  // Handing back the running split takes the run's stop (at most about a second) and a Redis call.
  linger(5000, 143);
  await worker.closed;
  return 0;
}
