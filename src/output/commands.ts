/**
 * What the command line needs of the write path, in one place the CLI calls
 * (src/cli.ts, or the commands of src/cli/): `--output` for `run` and
 * `grep`, how `run`'s result shares the terminal with the job's output, the
 * exit status of a reader that went away, and the `index` command.
 * docs/decisions.md has the rules.
 */
import type { Writable } from 'node:stream';
import { InvalidOptionError, hasCode } from '../errors.js';
import type { RunReport } from '../run/pipeline.js';
import type { BuildIndexOptions } from './record-index.js';

/** 128 + SIGPIPE: the status of a command whose stdout reader went away (as coreutils get from SIGPIPE). */
export const EXIT_BROKEN_PIPE = 141;

/** The run's `output` for `--output VALUE`: the path, or standard output when absent or `-`. */
export function runOutput(flag: string | undefined, stdout: Writable = process.stdout): { output: string | Writable; toStdout: boolean } {
  if (flag === undefined || flag === '-') return { output: stdout, toStdout: true };
  return { output: flag, toStdout: false };
}

/**
 * Where `run` prints the job's result. When the job's output went to
 * standard output (no --output) and the job wrote something, stdout holds
 * exactly those bytes and the result goes to stderr (not at all when it is
 * undefined); otherwise the result goes to stdout as it always has.
 */
export function resultStream(toStdout: boolean, outputBytes: number): 'stdout' | 'stderr' {
  return toStdout && outputBytes > 0 ? 'stderr' : 'stdout';
}

/** Whether a command failed because its stdout reader went away (EPIPE): exit 141, no message. */
export function isBrokenPipe(error: unknown): boolean {
  return hasCode(error, 'EPIPE');
}

/** grep's params when its matching lines go to an output (`file:` prefixes when `named`: several files, or -H, as grep). */
export function grepOutputParams<P extends object>(params: P, named: boolean): P & { write: true; withFilename: boolean } {
  return { ...params, write: true, withFilename: named };
}

/** `pagewise index FILE [--output PATH] [--delimiter C | --record-size N]`. */
export interface IndexCommand {
  file: string;
  output?: string;
  /** A single byte: a character, or its number (0-255). Default newline. */
  delimiter?: string;
  recordSize?: number;
}

/** Parses `--delimiter`: one character (one byte in UTF-8), `\\n`, `\\t`, `\\r`, `\\0`, or a byte as `0xNN`. */
export function parseDelimiter(value: string): number | undefined {
  const escapes: Record<string, number> = { '\\n': 0x0a, '\\t': 0x09, '\\0': 0x00, '\\r': 0x0d };
  if (value in escapes) return escapes[value];
  if (/^0x[0-9a-f]{1,2}$/i.test(value)) return parseInt(value.slice(2), 16);
  const bytes = Buffer.from(value, 'utf8');
  return bytes.length === 1 ? bytes[0] : undefined;
}

/** Runs `pagewise index`; returns the text to print (or the JSON value). */
export async function indexCommand(cmd: IndexCommand, options: Omit<BuildIndexOptions, 'output' | 'terminator' | 'recordSize'>): Promise<{ report: RunReport<{ records: number }>; path: string }> {
  const path = cmd.output ?? `${cmd.file}.idx`;
  const terminator = cmd.delimiter === undefined ? undefined : parseDelimiter(cmd.delimiter);
  if (cmd.delimiter !== undefined && terminator === undefined) {
    throw new InvalidOptionError('--delimiter', "one byte: a character, \\n, \\t, \\r, \\0 or 0xNN", cmd.delimiter);
  }
  if (cmd.delimiter !== undefined && cmd.recordSize !== undefined) {
    throw new InvalidOptionError('--record-size', 'given without --delimiter (records are delimited or of a fixed size, not both)', cmd.recordSize);
  }
  // Imported here: grep and run import this module, and the record index brings MappedFile.
  const { buildIndex } = await import('./record-index.js');
  const report = await buildIndex(cmd.file, { ...options, output: path, terminator, recordSize: cmd.recordSize });
  return { report, path };
}
