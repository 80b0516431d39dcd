/**
 * The few raw Redis commands pagewise's cluster runs issue itself (the run's
 * spec and results), on the client BullMQ already holds: typed here, since
 * BullMQ types its client by its own adapter interface.
 */
export interface RedisCommands {
  getBuffer(key: string): Promise<Buffer | null>;
  set(key: string, value: Buffer | string, px: 'PX', ms: number): Promise<unknown>;
  pexpire(key: string, ms: number): Promise<number>;
  exists(...keys: string[]): Promise<number>;
  del(...keys: string[]): Promise<number>;
  hkeys(key: string): Promise<string[]>;
  hgetBuffer(key: string, field: string): Promise<Buffer | null>;
  hdel(key: string, ...fields: string[]): Promise<number>;
  eval(script: string, keys: number, ...args: (string | Buffer | number)[]): Promise<unknown>;
  xrevrange(key: string, end: string, start: string, count: 'COUNT', n: number): Promise<[string, string[]][]>;
}

/** The raw client behind a BullMQ Queue or Worker. */
export async function commandsOf(owner: { backend: unknown }): Promise<RedisCommands> {
  return (await (owner.backend as { client: Promise<unknown> }).client) as RedisCommands;
}

/**
 * A split's result is stored only while its run is alive (its spec key
 * exists), in one step: a worker that finishes after the run has ended (it
 * was stalled, or the run failed) leaves nothing behind.
 * KEYS: spec, results; ARGV: field, value, results' time to live (ms).
 */
export const PUBLISH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return 1
end
return 0`;

/** Result hashes outlive a coordinator that died without cleaning up by at most this long. */
export const RESULTS_TTL_MS = 24 * 3600 * 1000;
