/**
 * `pagewise worker --cluster URL`: takes splits of cluster runs from Redis
 * until SIGTERM/SIGINT (src/cluster/cli.ts runs it). It handles signals
 * itself: the running split is handed back, which may take longer than the
 * CLI's usual 1.5 s, and it exits 0.
 */
import { workerCommand } from '../cluster/cli.js';
import type { Context } from './main.js';

const FORWARDED = ['cluster', 'threads', 'queue', 'name', 'lock-duration'];

export default async function worker(ctx: Context): Promise<number> {
  // The table has checked the flags; workerCommand reads them again in its own form (--name=value keeps a value that starts with -).
  const args = FORWARDED.filter((f) => ctx.values[f] !== undefined).map((f) => `--${f}=${String(ctx.values[f])}`);
  if (ctx.values.verbose === true) args.push('--verbose');
  // The worker runs the library's pipeline: loaded here, so the CLI's exit shuts its pool down.
  await ctx.lib();
  return workerCommand(args, ctx.signal, (line) => ctx.note(`pagewise worker: ${line}`), (ms, code) => ctx.linger(ms, code));
}
