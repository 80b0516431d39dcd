/**
 * Running the command as a user does, and the tools it is compared with.
 */
import { spawnSync } from 'node:child_process';
import { CLI } from './helpers.js';

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
  raw: Buffer;
}

const ENV = { ...process.env };
delete ENV.NODE_EXTRA_CA_CERTS;

/** `pagewise ARGS` with stdout and stderr piped. */
export function pagewise(args: string[], options: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Ran {
  const r = spawnSync(process.execPath, [CLI, ...args], { input: options.input, env: { ...ENV, ...options.env }, cwd: options.cwd, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), raw: r.stdout };
}

/** A reference tool (grep, wc) in the given locale. */
export function tool(cmd: string, args: string[], locale = 'C', input?: string | Buffer): Ran {
  const r = spawnSync(cmd, args, { input, env: { ...ENV, LC_ALL: locale }, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), raw: r.stdout };
}

/** A shell command line (bash), for pipes and redirections. */
export function shell(line: string, env: NodeJS.ProcessEnv = {}): Ran & { ms: number } {
  const started = performance.now();
  const r = spawnSync('bash', ['-c', line], { env: { ...ENV, ...env }, maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), raw: r.stdout, ms: performance.now() - started };
}

/** `node bin/pagewise.cjs`, quoted for a shell line. */
export const PW = `'${process.execPath}' '${CLI}'`;
