/**
 * Module hooks that let every supported Node import a job written in
 * TypeScript: `.ts` and `.mts` files load as ES modules, `.cts` files as
 * CommonJS, wherever they are (under node_modules/ too). Types are erased,
 * never checked (see ts-strip.ts). A syntax error fails the load with the
 * file, line and column in the message.
 *
 * A URL's query (`job.ts?v=<hash>`, so that one run uses one version of a
 * job on every thread) is kept in the module's URL and ignored for reading.
 *
 * Worker threads load the job again: the main thread's output is kept in a
 * per-user cache (see ts-cache.ts) so that workers skip loading the stripper.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { cacheKey, readCached, writeCached } from './ts-cache.js';
import { stripTypeScript, stripperId } from './ts-strip.js';

type LoadResult = { format: string; source?: string | Uint8Array; shortCircuit?: boolean };
type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;

const TS_FILE = /\.([cm]?)ts$/;

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  if (!url.startsWith('file:')) return nextLoad(url, context);
  const ext = TS_FILE.exec(new URL(url).pathname);
  if (!ext) return nextLoad(url, context);
  const format = ext[1] === 'c' ? 'commonjs' : 'module';
  // fileURLToPath drops the query and the fragment: the file is read as it
  // is; the URL (and so the module's identity) keeps them.
  const fileName = fileURLToPath(url);
  const source = await readFile(fileName, 'utf8');
  const key = cacheKey([stripperId(), 'strip|transform+inline-map', format, fileName, source]);
  const cached = readCached(key);
  if (cached !== undefined) return { format, source: cached, shortCircuit: true };
  const { code } = stripTypeScript(source, fileName);
  writeCached(key, code);
  return { format, source: code, shortCircuit: true };
}
