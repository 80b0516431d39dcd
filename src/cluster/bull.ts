/**
 * What the coordinator (src/run/executors/remote.ts) and the workers
 * (src/cluster/worker.ts) share: loading BullMQ lazily (an optional peer
 * dependency, so a user who never asks for a cluster never loads it), the
 * connection options a Redis URL stands for, the run's keys, and the shapes
 * of the data that travel through Redis.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ErrorCodes, PagewiseError } from '../errors.js';
import type { WireError } from '../run/messages.js';

export type BullMQ = typeof import('bullmq');

let bullmq: Promise<BullMQ> | undefined;

function notFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * BullMQ, loaded on first use: next to pagewise, else from the current
 * directory's project (where `npm install bullmq ioredis` puts it for a
 * global pagewise). Its CommonJS build: it loads in about a third of the
 * time of its ES module build (hundreds of small files; docs/cluster.md).
 * @throws ERR_PAGEWISE_CLUSTER_UNAVAILABLE when neither has it.
 */
export function loadBullmq(): Promise<BullMQ> {
  bullmq ??= (async () => {
    let first: unknown;
    for (const from of [import.meta.url, join(process.cwd(), 'package.json')]) {
      try {
        return createRequire(from)('bullmq') as BullMQ;
      } catch (error) {
        if (!notFound(error)) throw error;
        first ??= error;
      }
    }
    throw new PagewiseError(ErrorCodes.CLUSTER_UNAVAILABLE, 'cluster mode needs the packages bullmq and ioredis, which are optional: npm install bullmq ioredis', {
      cause: first,
    });
  })();
  bullmq.catch(() => {
    bullmq = undefined;
  });
  return bullmq;
}

/** ioredis connection options for a (checked) Redis URL; the password may also come from PAGEWISE_REDIS_PASSWORD. */
export function connectionOf(url: string): Record<string, unknown> {
  const u = new URL(url);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const password = u.password !== '' ? decodeURIComponent(u.password) : process.env.PAGEWISE_REDIS_PASSWORD || undefined;
  return {
    host,
    port: u.port === '' ? 6379 : Number(u.port),
    username: u.username === '' ? undefined : decodeURIComponent(u.username),
    password,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? { servername: host } : undefined,
    // BullMQ's workers need it; commands then wait for a reconnect instead of failing.
    maxRetriesPerRequest: null,
  };
}

/**
 * `text` with the URL's password (if it has one of 3 or more characters,
 * shorter ones would mask unrelated text) replaced by `***`: for messages
 * that come from the Redis client or from BullMQ.
 */
export function redact(text: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    /* not a URL: nothing known to hide */
  }
  const secrets = [password, process.env.PAGEWISE_REDIS_PASSWORD ?? ''].filter((s) => s.length >= 3);
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}

/** BullMQ's default key prefix; the run's own keys live under the queue's. */
const PREFIX = 'bull';

/** The Redis keys of one run: its spec (also its liveness: workers drop splits of a run whose spec is gone) and its results. */
export function runKeys(queue: string, run: string): { spec: string; results: string } {
  const base = `${PREFIX}:${queue}:pagewise:${run}`;
  return { spec: `${base}:spec`, results: `${base}:results` };
}

/** The BullMQ job id of split `k` of a run (BullMQ refuses `:` and all-digit custom ids). */
export function splitJobId(run: string, k: number): string {
  return `pw-${run}-${k}`;
}

/** How long a run's spec lives without the coordinator renewing it; renewed every SPEC_RENEW_MS. */
export const SPEC_TTL_MS = 60_000;
export const SPEC_RENEW_MS = 5_000;

/** Serialized split results up to this size travel in Redis; larger ones are written to a file on shared storage. */
export const INLINE_LIMIT = 16 << 20;

/** The options of a run that its workers apply to each split (never the coordinator's threads: each worker has its own). */
export interface SplitOptions {
  chunkSize?: number;
  maxRecordLength?: number;
  release?: 'keep' | 'unmap' | 'evict';
  prefetch?: number;
  advice?: 'sequential' | 'normal' | 'random' | 'hugepage';
  mode?: 'auto' | 'mmap' | 'pread';
  memoryBudget?: number;
  nativeKernels?: boolean;
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number; stackSizeMb?: number };
}

/** What every split of a run shares, stored once (v8-serialized) under the run's spec key. */
export interface RunSpec {
  v: 1;
  /** A built-in job by name (each worker loads its own copy), or a module at the same absolute path everywhere. */
  job: { path: string; builtin?: string; version: string };
  options: SplitOptions;
  params: unknown;
  splitSize: number;
  inlineLimit: number;
  /** Where the coordinator runs, for workers' logs. */
  coordinator: string;
}

/** One split's BullMQ job data (JSON). */
export interface SplitData {
  run: string;
  /** The split's number in the run, in file order. */
  k: number;
  /** The absolute path every worker opens, and the path as the coordinator was given it (what the run reports). */
  path: string;
  label: string;
  fileIndex: number;
  /** The file as the coordinator saw it: a worker that sees another size or mtime refuses the split. */
  size: number;
  mtimeNs: string;
  start: number;
  end: number;
  /** A CSV split run again because its guessed first cut was not where the split before it ended: cut it from a first pass. */
  csvCuts?: 'first pass';
}

/** What a worker saw of the file. */
export interface SeenFile {
  size: number;
  mtimeNs: string;
}

/** A CSV split's first and last cut, and whether its run guessed them: the coordinator holds each split's first cut to the last of the split before. */
export interface SplitCuts {
  start: number;
  end: number;
  guessed: boolean;
}

/** A split's result as it travels (v8-serialized through src/run/wire.ts), in Redis or in a file. */
export type SplitResult =
  | {
      ok: true;
      k: number;
      worker: string;
      seen: SeenFile;
      /** The split's merged accumulator, unfinished; absent when `file` holds the whole result. */
      acc?: unknown;
      /** False when no record starts in the split (a longer one covers it): nothing to merge, as a local run merges nothing there. */
      merged: boolean;
      /** A file on shared storage holding this result with its `acc` (it was larger than the inline limit). */
      file?: string;
      bytes: number;
      chunks: number;
      seconds: number;
      threads: number;
      executor: string;
      chunkSize: number;
      /** A CSV split: its first and last cut, which the coordinator holds to the splits around it. */
      cuts?: SplitCuts;
    }
  | { ok: false; k: number; worker: string; error: WireError };

/** What the BullMQ job returns (JSON, also in the completed event): small, the result itself is in the run's results hash. */
export interface SplitReturn {
  k: number;
  worker: string;
  cancelled?: boolean;
}

/** The error of a worker that sees another file than the coordinator. */
export function fileMismatchError(worker: string, path: string, expected: SeenFile, seen: SeenFile): PagewiseError {
  return new PagewiseError(
    ErrorCodes.CLUSTER_FILE_MISMATCH,
    `worker ${worker} sees another '${path}' than the coordinator: ${seen.size} bytes with mtime ${seen.mtimeNs} ns, ` +
      `the coordinator ${expected.size} bytes with mtime ${expected.mtimeNs} ns (inputs must be the same file at the same path on every machine)`,
    { worker, path, size: expected.size, mtimeNs: expected.mtimeNs, workerSize: seen.size, workerMtimeNs: seen.mtimeNs },
  );
}

/** Whether two views of a file agree. */
export function sameFile(a: SeenFile, b: SeenFile): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs;
}
