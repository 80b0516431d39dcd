/**
 * A real Redis for a test file: redis-server from PATH on 127.0.0.1 and a
 * free port, persistence off, stopped when the file's tests end; and
 * `pagewise worker` processes on it. redis-server missing is a failure, not a
 * skip: .ci/run installs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { CLI } from './helpers.js';

export interface RedisServer {
  port: number;
  url: string;
  client: Redis;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts redis-server; throws (failing the tests) when it is not on PATH. */
export async function startRedis(): Promise<RedisServer> {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status !== 0 || which.stdout.trim() === '') {
    throw new Error('redis-server is not on PATH: the cluster tests need a real Redis (apt-get install redis-server; .ci/run installs it)');
  }
  const port = await freePort();
  const server = spawn(which.stdout.trim(), ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  server.stdout!.on('data', (d) => (log += d));
  server.stderr!.on('data', (d) => (log += d));
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  client.on('error', () => {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (error) {
      if (server.exitCode !== null || Date.now() > deadline) {
        server.kill('SIGKILL');
        throw new Error(`redis-server did not start on port ${port}: ${(error as Error).message}\n${log}`);
      }
      client.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    client,
    async stop() {
      client.disconnect();
      if (server.exitCode === null) {
        server.kill('SIGTERM');
        await once(server, 'exit');
      }
    },
  };
}

/** The environment for timed and spawned processes: no per-start CA loading. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  log: () => string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/** Starts `pagewise worker` and waits until it says it is connected. */
export async function startWorker(url: string, name: string, flags: string[] = [], env: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [CLI, 'worker', '--cluster', url, '--name', name, ...flags], { stdio: ['ignore', 'ignore', 'pipe'], env: childEnv(env) });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const deadline = Date.now() + 15_000;
  while (!log.includes('connected to')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`worker ${name} did not connect:\n${log}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return { name, child, log: () => log, exited };
}

/** The ids of every job a queue holds in any state, and its keys that are not the queue's own bookkeeping. */
export async function queueLeftovers(client: Redis, queue: string): Promise<{ jobs: string[]; keys: string[] }> {
  const base = `bull:${queue}`;
  const jobs = new Set<string>();
  for (const list of ['wait', 'active', 'paused']) for (const id of await client.lrange(`${base}:${list}`, 0, -1)) jobs.add(id);
  for (const set of ['delayed', 'prioritized', 'completed', 'failed', 'waiting-children']) for (const id of await client.zrange(`${base}:${set}`, 0, -1)) jobs.add(id);
  const own = new Set(['meta', 'id', 'events', 'stalled-check', 'marker', 'stalled', 'pc', 'metrics', 'limiter']);
  const keys = (await client.keys(`${base}:*`)).filter((k) => !own.has(k.slice(base.length + 1)));
  return { jobs: [...jobs], keys };
}

/**
 * Waits (up to `ms`) for a queue to hold no job and no run key, as a run
 * that was stopped leaves it once the workers drop its splits; then deletes
 * whatever is still there, so a test that failed mid-run leaves nothing for
 * the next. Returns what it had to delete.
 */
export async function emptyQueue(client: Redis, queue: string, ms = 5000): Promise<{ jobs: string[]; keys: string[] }> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = await queueLeftovers(client, queue);
    if (left.jobs.length === 0 && left.keys.length === 0) return left;
    if (Date.now() > deadline) {
      // The whole queue, its bookkeeping too (as BullMQ's obliterate): the workers on it carry on with an empty queue.
      const all = await client.keys(`bull:${queue}:*`);
      if (all.length > 0) await client.del(...all);
      return left;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
