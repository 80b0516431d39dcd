/**
 * Module hooks that let Node 20 import a job written in TypeScript: `.ts`,
 * `.mts` and `.cts` files are transpiled (types erased, no type check) with the
 * `typescript` package as they load. Relative and package imports inside the
 * job resolve from the job's own location, as they would for a `.js` job.
 * Registered only when a TypeScript job is loaded, once per thread.
 *
 * Loading the compiler costs about a second of CPU, and every worker thread
 * loads the job again: the main thread transpiles first and leaves the output
 * in a cache keyed by the source's hash, so workers usually skip the compiler.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

type LoadResult = { format: string; source?: string | Uint8Array; shortCircuit?: boolean };
type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;

const TS_FILE = /\.[cm]?ts$/;
let transpiler: typeof import('typescript') | undefined;
const CACHE_DIR = join(tmpdir(), `pagewise-ts-cache-${process.getuid?.() ?? 'user'}`);

/**
 * The cache is code we will run: use it only if it is a directory of ours
 * that nobody else can write to.
 */
async function privateCacheDir(): Promise<boolean> {
  try {
    await mkdir(CACHE_DIR, { recursive: true, mode: 0o700 });
    const info = await stat(CACHE_DIR);
    return info.isDirectory() && info.uid === process.getuid?.() && (info.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  if (!url.startsWith('file:') || !TS_FILE.test(new URL(url).pathname) || url.includes('/node_modules/')) {
    return nextLoad(url, context);
  }
  const fileName = fileURLToPath(url);
  const source = await readFile(fileName, 'utf8');
  const key = createHash('sha256').update(fileName).update('\0').update(source).digest('hex');
  const cached = join(CACHE_DIR, `${key}.mjs`);
  const cacheUsable = await privateCacheDir();
  if (cacheUsable) {
    try {
      return { format: 'module', source: await readFile(cached, 'utf8'), shortCircuit: true };
    } catch {
      // not cached yet
    }
  }
  transpiler ??= (await import('typescript')).default;
  const ts = transpiler;
  const output = ts.transpileModule(source, {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      sourceMap: false,
      inlineSourceMap: true,
      inlineSources: true,
    },
  });
  if (cacheUsable) {
    try {
      const temp = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`;
      await writeFile(temp, output.outputText, { mode: 0o600 });
      await rename(temp, cached);
    } catch {
      // A cache we cannot write only costs time.
    }
  }
  return { format: 'module', source: output.outputText, shortCircuit: true };
}
