/**
 * Loading and checking job modules, on the main thread and in workers alike.
 */
import { register } from 'node:module';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { JobLoadError } from './errors.js';
import type { AnyJob, FileUrl, Job, JobPath, Key, KeyedJob, Split } from './types.js';
import type { JobHandle } from './run/messages.js';

/**
 * Types a job for TypeScript users; returns it unchanged.
 *
 * @example
 * ```ts
 * import { defineJob } from 'pagewise';
 * export default defineJob({
 *   split: 'lines',
 *   init: () => ({ n: 0 }),
 *   map: (acc, bytes) => { for (const b of bytes) if (b === 0x0a) acc.n++; return acc; },
 *   merge: (a, b) => ({ n: a.n + b.n }),
 * });
 * // A keyed job: bytes per user, every user however many there are.
 * export const perUser = defineJob({
 *   keyed: true,
 *   map(emit: Emit<string, number>, bytes) { emit(userOf(bytes), bytes.length); },
 *   combine: (a, b) => a + b,
 * });
 * ```
 */
export function defineJob<K extends Key, V, R = V, P = unknown>(job: KeyedJob<K, V, R, P>): KeyedJob<K, V, R, P>;
export function defineJob<A, R = A, P = unknown>(job: Job<A, R, P>): Job<A, R, P>;
export function defineJob(job: AnyJob): AnyJob {
  return job;
}

/** Whether `job` is a keyed job (`keyed: true`): a group-by whose result is `[key, value]` pairs in key order. */
export function isKeyedJob(job: unknown): job is KeyedJob<Key, unknown, unknown, unknown> {
  return job !== null && typeof job === 'object' && (job as { keyed?: unknown }).keyed === true;
}

/**
 * A typed reference to a job module, so that `runJob` infers the result and
 * params types: `const countErrors = jobRef<typeof import('./count-errors.js').default>(new URL('./count-errors.js', import.meta.url))`.
 */
export function jobRef<J>(ref: string | FileUrl): JobPath<J> {
  return jobPath(ref) as JobPath<J>;
}

let tsHooksRegistered = false;
const TS_FILE = /\.[cm]?ts$/;

/**
 * Lets this thread import TypeScript (see ts-hooks.ts). Once per thread: each
 * worker registers its own, as hooks are per thread on Node 20.
 */
function registerTypeScriptHooks(): void {
  if (tsHooksRegistered) return;
  register(new URL('./ts-hooks.js', import.meta.url));
  tsHooksRegistered = true;
}

/**
 * Why an import failed, naming `file:line:column` for a syntax error. The
 * TypeScript hooks put it in the message; for JavaScript, V8 keeps it off
 * the error import() rejects with, so the stripper parses the file again.
 */
async function loadFailure(error: unknown, path: string): Promise<string> {
  const message = String((error as { message?: unknown })?.message ?? error);
  if ((error as { name?: unknown })?.name !== 'SyntaxError' || message.includes(`${path}:`)) return message;
  try {
    const { syntaxErrorLocation } = await import('./ts-strip.js');
    const where = syntaxErrorLocation(await readFile(path, 'utf8'), path);
    return where ? `syntax error at ${where}: ${message}` : message;
  } catch {
    return message;
  }
}

/** A job reference as users give it: a path (relative to the cwd), a typed `JobPath`, or a file URL. */
export type JobRef<J = unknown> = JobPath<J> | FileUrl;

/** The absolute file path of a job reference. */
export function jobPath(ref: JobRef<unknown>): string {
  if (typeof ref !== 'string') return fileURLToPath(ref.href);
  if (ref.startsWith('file:')) return fileURLToPath(ref);
  return isAbsolute(ref) ? ref : resolve(ref);
}

/**
 * Imports a job module (its current version, see loadJobForRun) and checks its shape.
 * @throws ERR_PAGEWISE_JOB_LOAD when the module is missing, fails to load
 * (a syntax error names the file and line), or its default export lacks
 * `init`, `map` or `merge`, or has a bad `split`.
 */
export async function loadJob(path: string): Promise<AnyJob> {
  return (await loadJobForRun(path)).job;
}

/** A job loaded for one run: the module, and the handle workers load the same version by. */
export interface LoadedJob {
  job: AnyJob;
  handle: JobHandle;
}

/** The versions hashed so far, by path, with the file's identity when it was read. */
const versions = new Map<string, { identity: string; version: string; hashedAt: number }>();

/**
 * A job file whose ctime is this much older than the moment it was hashed is taken as
 * unchanged while its identity (device, inode, size, mtime, ctime) is: an edit after
 * the hash sets a ctime past it, even on a filesystem with 2-second timestamps.
 */
const SETTLED_MS = 3000;

async function sourceVersion(path: string): Promise<string> {
  // A command over a thousand small files runs a thousand times: reading and hashing the
  // job's source each time was a tenth of its main thread (docs/performance.md, "Many small files").
  let identity: string;
  let hashedAt: number;
  let source: Buffer;
  try {
    const st = await stat(path, { bigint: true });
    identity = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const known = versions.get(path);
    if (known !== undefined && known.identity === identity && Number(st.ctimeNs / 1_000_000n) < known.hashedAt - SETTLED_MS) return known.version;
    hashedAt = Date.now();
    source = await readFile(path);
  } catch (error) {
    throw new JobLoadError(`cannot read job module '${path}'`, { path, cause: error });
  }
  const version = sourceHash(source);
  versions.set(path, { identity, version, hashedAt });
  return version;
}

/**
 * 64 bits of a job's source, as 16 hex digits: two multiply-xorshift lanes
 * (cyrb53's mixing). A version tells edits apart, nobody forges it (who can
 * plant a job runs code anyway), and node:crypto would cost every thread
 * ~2.5 ms of start-up to load (docs/decisions.md, "Start-up").
 */
function sourceHash(bytes: Uint8Array): string {
  let h1 = 0xdeadbeef ^ bytes.length;
  let h2 = 0x41c6ce57 ^ bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    h1 = Math.imul(h1 ^ b, 2654435761);
    h2 = Math.imul(h2 ^ b, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}

/**
 * Loads the job at `path` as one version: the module is imported under a URL
 * that names its source's hash, so a later run of an edited job gets the new
 * code on every thread (ES modules are cached by URL), and every worker of
 * this run loads exactly this version (`loadJobHandle` checks it).
 */
export async function loadJobForRun(path: string): Promise<LoadedJob> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new JobLoadError(`job module '${path}' is not a file`, { path });
  } catch (error) {
    if (error instanceof JobLoadError) throw error;
    throw new JobLoadError(`cannot find job module '${path}'`, { path, cause: error });
  }
  const version = await sourceVersion(path);
  const url = `${pathToFileURL(path).href}?pagewise-version=${version}`;
  const job = await importJob(url, path);
  await checkVersion(path, version);
  return { job, handle: { url, version } };
}

/** Loads the job a run planned with, in a worker; fails if the module changed meanwhile. */
export async function loadJobHandle(handle: JobHandle): Promise<AnyJob> {
  const path = fileURLToPath(handle.url);
  const job = await importJob(handle.url, path);
  await checkVersion(path, handle.version);
  return job;
}

async function checkVersion(path: string, version: string): Promise<void> {
  if ((await sourceVersion(path)) !== version) {
    throw new JobLoadError(`job module '${path}' changed while the run was starting: run it again`, { path });
  }
}

async function importJob(url: string, path: string): Promise<AnyJob> {
  if (TS_FILE.test(path)) registerTypeScriptHooks();
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (error) {
    throw new JobLoadError(`cannot load job module '${path}': ${await loadFailure(error, path)}`, { path, cause: error });
  }
  return checkJob(mod.default, path);
}

/** Checks that `value` has the job contract's shape (a map-reduce job, or a keyed job with `keyed: true`). */
export function checkJob(value: unknown, path: string): AnyJob {
  if (value === null || typeof value !== 'object') {
    throw new JobLoadError(`job module '${path}' must have a default export that is a job object ({ init, map, merge })`, { path });
  }
  const job = value as Record<string, unknown>;
  if (job.keyed !== undefined && job.keyed !== false) return checkKeyedJob(job, path);
  for (const name of ['init', 'map', 'merge'] as const) {
    if (typeof job[name] !== 'function') {
      throw new JobLoadError(`job module '${path}' lacks a \`${name}\` function in its default export`, { path, missing: name });
    }
  }
  if (job.finish !== undefined && typeof job.finish !== 'function') {
    throw new JobLoadError(`job module '${path}': \`finish\` must be a function when present`, { path });
  }
  checkSplit(job.split ?? 'lines', path);
  return value as Job;
}

/**
 * A keyed job: `keyed: true`, `map(emit, bytes, info)`, `combine(a, b)`,
 * optional `finish(key, value)`. The parts of the map-reduce contract it
 * replaces (`init`, `merge`, `kernel`, `commutative`) are refused rather than
 * ignored, so a job that mixes both contracts is told which one it meant.
 */
function checkKeyedJob(job: Record<string, unknown>, path: string): KeyedJob {
  if (job.keyed !== true) throw new JobLoadError(`job module '${path}': \`keyed\` must be true or absent`, { path });
  for (const name of ['map', 'combine'] as const) {
    if (typeof job[name] !== 'function') {
      throw new JobLoadError(`job module '${path}' is keyed but lacks a \`${name}\` function (a keyed job is { keyed: true, map(emit, bytes, info), combine(a, b), finish?(key, value) })`, {
        path,
        missing: name,
      });
    }
  }
  if (job.finish !== undefined && typeof job.finish !== 'function') {
    throw new JobLoadError(`job module '${path}': \`finish\` must be a function when present`, { path });
  }
  for (const name of ['init', 'merge', 'kernel', 'commutative'] as const) {
    if (job[name] !== undefined) {
      throw new JobLoadError(`job module '${path}' is keyed: \`${name}\` belongs to map-reduce jobs (a keyed job has map(emit, ...), combine and finish(key, value))`, {
        path,
        unexpected: name,
      });
    }
  }
  checkSplit(job.split ?? 'lines', path);
  return job as unknown as KeyedJob;
}

function checkSplit(split: unknown, path: string): asserts split is Split {
  if (split === 'lines' || split === 'none' || split === 'csv') return;
  if (split !== null && typeof split === 'object') {
    const s = split as Record<string, unknown>;
    if ('delimiter' in s && Number.isInteger(s.delimiter) && (s.delimiter as number) >= 0 && (s.delimiter as number) <= 255) return;
    if ('recordSize' in s && Number.isSafeInteger(s.recordSize) && (s.recordSize as number) > 0) return;
    if ('csv' in s) return checkCsvSplit(s.csv, path);
  }
  throw new JobLoadError(
    `job module '${path}': split must be 'lines', 'none', 'csv', { delimiter: <byte 0-255> }, { recordSize: <positive integer> } ` +
      `or { csv: { quote, delimiter, header } }`,
    { path },
  );
}

/** `{ csv: { quote?, delimiter?, header? } }`: one ASCII character each (not a line break), quote and delimiter apart. */
function checkCsvSplit(options: unknown, path: string): void {
  const bad = (why: string): never => {
    throw new JobLoadError(`job module '${path}': split { csv: ... }: ${why}`, { path });
  };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) bad('csv must be an object { quote?, delimiter?, header? }');
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) if (key !== 'quote' && key !== 'delimiter' && key !== 'header') bad(`unknown option '${key}' (expected quote, delimiter, header)`);
  for (const key of ['quote', 'delimiter'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length !== 1 || v.charCodeAt(0) > 0x7f || v === '\n' || v === '\r') {
      bad(`${key} must be one ASCII character other than a line break; received ${JSON.stringify(v)}`);
    }
  }
  if ((o.quote ?? '"') === (o.delimiter ?? ',')) bad('quote and delimiter must differ');
  if (o.header !== undefined && typeof o.header !== 'boolean') bad(`header must be true or false; received ${JSON.stringify(o.header)}`);
}
