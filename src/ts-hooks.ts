/**
 * Module hooks that let Node 20 import a job written in TypeScript: `.ts`,
 * `.mts` and `.cts` files are transpiled (types erased, no type check) with the
 * `typescript` package as they load. Relative and package imports inside the
 * job resolve from the job's own location, as they would for a `.js` job.
 * Registered only when a TypeScript job is loaded, once per thread.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

type LoadResult = { format: string; source?: string | Uint8Array; shortCircuit?: boolean };
type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;

const TS_FILE = /\.[cm]?ts$/;
let transpiler: typeof import('typescript') | undefined;

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  if (!url.startsWith('file:') || !TS_FILE.test(new URL(url).pathname) || url.includes('/node_modules/')) {
    return nextLoad(url, context);
  }
  transpiler ??= (await import('typescript')).default;
  const ts = transpiler;
  const fileName = fileURLToPath(url);
  const source = await readFile(fileName, 'utf8');
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
  return { format: 'module', source: output.outputText, shortCircuit: true };
}
