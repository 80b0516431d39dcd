/**
 * Type stripping for TypeScript jobs: Node's own `module.stripTypeScriptTypes`
 * where the runtime has one (22.13+, 23.2+), elsewhere the `amaro` package
 * (the same stripper, which Node bundles; an optional peer dependency that
 * the user installs on Node 20). Plain stripping keeps every
 * position; syntax that needs code generated (enums, namespaces, parameter
 * properties) is transformed instead, with an inline source map. Errors are
 * SyntaxErrors whose message names `file:line:column`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as nodeModule from 'node:module';
import { dirname, join } from 'node:path';

type Mode = 'strip' | 'transform';

interface Stripper {
  /** Name and version, part of the cache key. */
  id: string;
  strip(source: string, fileName: string, mode: Mode): string;
}

/** Thrown by a stripper for syntax that needs `transform` mode (an enum, say). */
function needsTransform(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'UnsupportedSyntax' || code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX';
}

let stripper: Stripper | undefined;

function loadStripper(): Stripper {
  const builtin = (nodeModule as { stripTypeScriptTypes?: (code: string, options: object) => string }).stripTypeScriptTypes;
  if (typeof builtin === 'function') {
    return {
      id: `node@${process.version}/amaro@${process.versions.amaro ?? '?'}`,
      strip: (source, fileName, mode) => withoutExperimentalWarning(() => builtin(source, { mode, sourceMap: mode === 'transform', sourceUrl: fileName })),
    };
  }
  let amaro: { transformSync(code: string, options: object): { code: string; map?: string } };
  let version: string;
  try {
    const main = resolveAmaro();
    amaro = createRequire(main)(main) as typeof amaro;
    version = amaroVersion(main);
  } catch (cause) {
    throw new Error(
      `TypeScript jobs need Node 22.13 or later, or the 'amaro' package on Node ${process.version}: run \`npm install amaro\` in your project (or use a .mjs job)`,
      { cause },
    );
  }
  return {
    id: `amaro@${version}`,
    strip(source, fileName, mode) {
      const out = amaro.transformSync(source, { mode: mode === 'strip' ? 'strip-only' : 'transform', sourceMap: mode === 'transform', filename: fileName });
      if (!out.map) return out.code;
      return `${out.code}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(out.map).toString('base64')}\n`;
    },
  };
}

/** Node 22/24 warn that stripTypeScriptTypes is experimental; the user did not call it. */
function withoutExperimentalWarning<T>(f: () => T): T {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'ExperimentalWarning' && String(warning).includes('stripTypeScriptTypes')) return;
    (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return f();
  } finally {
    process.emitWarning = emit;
  }
}

/** A SyntaxError whose message names `file:line:column`, from either stripper's error. */
function syntaxError(error: unknown, fileName: string): SyntaxError {
  const e = error as { message?: string; startLine?: number; startColumn?: number; stack?: string };
  let where = fileName;
  if (typeof e.startLine === 'number') {
    // amaro: 1-based line, 0-based column
    where += `:${e.startLine}${typeof e.startColumn === 'number' ? `:${e.startColumn + 1}` : ''}`;
  } else {
    // Node's own stripper puts "<sourceUrl>:<line>" on the stack's first line.
    const line = /:(\d+)$/.exec(String(e.stack ?? '').split('\n')[0]);
    if (line) where += `:${line[1]}`;
  }
  const result = new SyntaxError(`TypeScript syntax error at ${where}: ${e.message ?? String(error)}`);
  (result as { code?: string }).code = 'ERR_INVALID_TYPESCRIPT_SYNTAX';
  return result;
}

/** Strips the types from `source`. @throws SyntaxError naming `fileName:line:column`. */
export function stripTypeScript(source: string, fileName: string): { code: string; mode: Mode } {
  stripper ??= loadStripper();
  try {
    return { code: stripper.strip(source, fileName, 'strip'), mode: 'strip' };
  } catch (error) {
    if (!needsTransform(error)) throw syntaxError(error, fileName);
  }
  try {
    return { code: stripper.strip(source, fileName, 'transform'), mode: 'transform' };
  } catch (error) {
    throw syntaxError(error, fileName);
  }
}

/**
 * Where amaro is: next to pagewise (a peer dependency, optional because
 * only Node before 22.13 needs it), else in the project the command runs in.
 */
function resolveAmaro(): string {
  try {
    return createRequire(import.meta.url).resolve('amaro');
  } catch {
    return createRequire(join(process.cwd(), 'package.json')).resolve('amaro');
  }
}

/** amaro's version (its package.json is not among its exports). */
function amaroVersion(main = resolveAmaro()): string {
  return (JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** The id of the stripper this thread would use (for the cache key), without loading amaro. */
export function stripperId(): string {
  if (stripper) return stripper.id;
  if (typeof (nodeModule as { stripTypeScriptTypes?: unknown }).stripTypeScriptTypes === 'function') {
    return `node@${process.version}/amaro@${process.versions.amaro ?? '?'}`;
  }
  try {
    return `amaro@${amaroVersion()}`;
  } catch {
    return 'amaro@missing';
  }
}


/**
 * Where a JavaScript module's syntax error is (`file:line:column`), found by
 * parsing it again with the stripper: V8 keeps that location off the error
 * that import() rejects with. Undefined when the stripper finds no error.
 */
export function syntaxErrorLocation(source: string, fileName: string): string | undefined {
  try {
    stripTypeScript(source, fileName);
    return undefined;
  } catch (error) {
    const where = /^TypeScript syntax error at (.*?): /.exec((error as Error).message);
    return where?.[1];
  }
}
