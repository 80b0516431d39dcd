/**
 * Output to pipes: stdout in a pipe closed early (EPIPE), a FIFO (with a
 * reader, a reader that leaves, no reader at all), a character device, and a
 * library Writable that fails or goes away. Each ends promptly, with its
 * documented status or code, no stack trace, and nothing left running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CLI, pagewise, tempDir } from './helpers.js';
import { job } from './fixtures/reference.js';
import { linesBuffer, sleep, spawnCli, withTimeout } from './fixtures/reliability/support.js';

const INTERNAL = Symbol.for('pagewise.internal');
const dir = tempDir('pagewise-pipes-');
const COPY = job('write-slow.mjs');
const COPY_COMMUTATIVE = job('write-slow-commutative.mjs');
const input = join(dir, 'input.txt');
const FAST = '{"msPer64k":0}';

beforeAll(() => {
  writeFileSync(input, linesBuffer(16 << 20));
});

afterAll(async () => {
  await pagewise.shutdown();
});

let serial = 0;
function fifo(): string {
  const path = join(dir, `fifo-${serial++}`);
  execFileSync('mkfifo', [path]);
  return path;
}

/** Reads `path` with cat; `limit` bytes, then closes its end (the writer then gets EPIPE). */
function reader(path: string, limit = Infinity): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const cat = spawn('head', ['-c', String(limit === Infinity ? 1e15 : limit), path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const parts: Buffer[] = [];
    cat.stdout.on('data', (d: Buffer) => parts.push(d));
    cat.on('error', reject);
    cat.on('close', () => resolve(Buffer.concat(parts)));
  });
}

describe('the CLI', () => {
  it.each([
    ['ordered', COPY],
    ['commutative', COPY_COMMUTATIVE],
  ])('run (%s) to stdout in a pipe closed early: exit 141, nothing on stderr', async (_kind, jobPath) => {
    const child = spawn(process.execPath, [CLI, 'run', jobPath, input, '--threads', '2', '--chunk-size', '256KiB', '--params', FAST], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await withTimeout(new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c))), 10_000, 'the CLI after its reader left');
    expect(code).toBe(141);
    expect(stderr).toBe('');
  });

  it('run to stdout: the job’s bytes on stdout, the result on stderr', async () => {
    const { exit } = spawnCli(['run', COPY, input, '--threads', '2', '--params', FAST, '--json']);
    const r = await withTimeout(exit, 30_000, 'run to stdout');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBe(16 << 20);
    expect(r.stdout === readFileSync(input, 'latin1')).toBe(true);
    expect(JSON.parse(r.stderr)).toMatchObject({ bytes: 16 << 20 });
  });

  it('run --output FIFO with a reader: the reader gets every byte; exit 0', async () => {
    const path = fifo();
    const got = reader(path);
    // --json: the result's text is util.inspect's otherwise (src/cli/format.ts).
    const { exit } = spawnCli(['run', COPY, input, '--threads', '2', '--chunk-size', '1MiB', '--params', FAST, '--output', path, '--json']);
    const r = await withTimeout(exit, 30_000, 'run into a FIFO');
    expect(r.code, r.stderr).toBe(0);
    expect((await got).equals(readFileSync(input))).toBe(true);
    // The output went to the FIFO, so the result is on stdout as usual.
    expect(JSON.parse(r.stdout)).toMatchObject({ bytes: 16 << 20 });
  });

  it('run --output FIFO whose reader leaves early: exit 141, no stack trace', async () => {
    const path = fifo();
    const got = reader(path, 100_000);
    const { exit } = spawnCli(['run', COPY, input, '--threads', '2', '--chunk-size', '256KiB', '--params', FAST, '--output', path]);
    const r = await withTimeout(exit, 30_000, 'run into a FIFO closed early');
    expect((await got).length).toBe(100_000);
    expect(r.code, r.stderr).toBe(141);
    expect(r.stderr).toBe('');
  });

  it('run --output FIFO that nobody opens: SIGINT still ends it (130) within 2 s', async () => {
    const path = fifo();
    const { child, exit } = spawnCli(['run', COPY, input, '--params', FAST, '--output', path]);
    await sleep(700);
    const sentAt = performance.now();
    child.kill('SIGINT');
    const r = await withTimeout(exit, 10_000, 'run waiting for a FIFO reader');
    expect(r.code, r.stderr).toBe(130);
    expect(r.exitedAt - sentAt).toBeLessThan(2000);
  });

  it('grep --output into a FIFO: grep -F -a’s lines', async () => {
    const text = join(dir, 'grep.txt');
    writeFileSync(text, Array.from({ length: 50_000 }, (_, i) => `row ${i}${i % 3 === 0 ? ' needle' : ''}`).join('\n'));
    const path = fifo();
    const got = reader(path);
    const { exit } = spawnCli(['grep', 'needle', text, '--chunk-size', '4096', '--threads', '2', '--output', path]);
    const r = await withTimeout(exit, 30_000, 'grep into a FIFO');
    expect(r.code, r.stderr).toBe(0);
    const expected = execFileSync('grep', ['-F', '-a', 'needle', text]);
    expect((await got).equals(expected)).toBe(true);
  });
});

describe('the library', () => {
  it('a FIFO path and /dev/null are written in order', async () => {
    const path = fifo();
    const got = reader(path);
    const { stats } = await pagewise.runJob(input, COPY, { threads: 2, chunkSize: '1MiB', params: { msPer64k: 0 }, output: path });
    expect(stats.output).toEqual({ target: path, kind: 'stream', bytes: 16 << 20 });
    expect((await got).equals(readFileSync(input))).toBe(true);
    const devNull = await pagewise.runJob(input, COPY, { threads: 2, params: { msPer64k: 0 }, output: '/dev/null' });
    expect(devNull.stats.output?.bytes).toBe(16 << 20);
  });

  it.each(['ordered', 'commutative'] as const)('an EPIPE from a Writable stops the %s run with code EPIPE', async (executor) => {
    let writes = 0;
    const failing = new Writable({
      write(_chunk, _enc, done) {
        if (++writes === 3) done(Object.assign(new Error('EPIPE: broken pipe, write'), { code: 'EPIPE', syscall: 'write' }));
        else done();
      },
    });
    const jobPath = executor === 'commutative' ? COPY_COMMUTATIVE : COPY;
    const run = pagewise.runJob(input, jobPath, { threads: 2, chunkSize: '256KiB', params: { msPer64k: 0 }, output: failing, [INTERNAL]: { executor } } as never);
    await expect(withTimeout(run, 10_000, 'a run whose Writable failed')).rejects.toMatchObject({ code: 'EPIPE' });
  });

  it('a Writable whose end fails (ENOSPC at the last flush): the run rejects with ENOSPC, not a success', async () => {
    const failing = new Writable({
      write: (_c, _e, done) => done(),
      final: (done) => done(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' })),
    });
    const run = pagewise.runJob(input, COPY, { threads: 2, params: { msPer64k: 0 }, output: failing });
    await expect(withTimeout(run, 10_000, 'a run whose Writable failed at its end')).rejects.toMatchObject({ code: 'ENOSPC' });
  });

  it('a Writable failing without a code: ERR_PAGEWISE_OUTPUT_FAILED with the cause', async () => {
    const failing = new Writable({ write: (_c, _e, done) => done(new Error('disk on fire')) });
    const error = await pagewise.runJob(input, COPY, { threads: 2, params: { msPer64k: 0 }, output: failing }).catch((e: unknown) => e as Record<string, unknown>);
    expect(error).toMatchObject({ code: 'ERR_PAGEWISE_OUTPUT_FAILED' });
    expect((error.cause as Error).message).toBe('disk on fire');
  });

  it.each(['ordered', 'commutative'] as const)('a Writable destroyed mid-run (%s): ERR_PAGEWISE_OUTPUT_CLOSED; the next run works', async (executor) => {
    let writes = 0;
    const sink: Writable = new Writable({
      write(_chunk, _enc, done) {
        done();
        if (++writes === 2) setImmediate(() => sink.destroy());
      },
    });
    const jobPath = executor === 'commutative' ? COPY_COMMUTATIVE : COPY;
    await expect(
      withTimeout(pagewise.runJob(input, jobPath, { threads: 2, chunkSize: '256KiB', params: { msPer64k: 0 }, output: sink, [INTERNAL]: { executor } } as never), 10_000, 'destroyed'),
    ).rejects.toMatchObject({ code: 'ERR_PAGEWISE_OUTPUT_CLOSED' });
    const parts: Buffer[] = [];
    const ok = new Writable({ write: (c: Buffer, _e, done) => (parts.push(c), done()) });
    await pagewise.runJob(input, jobPath, { threads: 2, params: { msPer64k: 0 }, output: ok });
    expect(Buffer.concat(parts).equals(readFileSync(input))).toBe(true);
  });

  it('leaving a runJobStream loop early stops the run: report rejects with ERR_PAGEWISE_OUTPUT_CLOSED', async () => {
    const run = pagewise.runJobStream(input, COPY, { threads: 2, chunkSize: '256KiB', params: { msPer64k: 1 } });
    let seen = 0;
    for await (const bytes of run) {
      seen += bytes.length;
      if (seen > 1 << 20) break;
    }
    await expect(withTimeout(run.report, 10_000, 'the stopped stream')).rejects.toMatchObject({ code: 'ERR_PAGEWISE_OUTPUT_CLOSED' });
    // A failing run's error reaches the loop too.
    const failing = pagewise.runJobStream(input, COPY, { threads: 2, chunkSize: '256KiB', params: { msPer64k: 0, throwAfter: 3 << 20 } });
    const loop = (async () => {
      for await (const _ of failing) void _;
    })();
    await expect(loop).rejects.toMatchObject({ code: 'ERR_PAGEWISE_JOB_FAILED' });
    await expect(failing.report).rejects.toMatchObject({ code: 'ERR_PAGEWISE_JOB_FAILED' });
  });
});
