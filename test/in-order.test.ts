/**
 * `inOrder` (src/run/reducer.ts), the pipeline every ordered executor and the
 * kernel path run their chunks through: at most `inFlight` steps running, at
 * most `window` steps between the next one to consume and the last started,
 * results consumed strictly in order, and nothing started after a failure.
 */
import { describe, expect, it } from 'vitest';
import { inOrder } from '../dist/src/run/reducer.js';

/** A step that settles after a pseudo-random delay (0-3 ms) with `k`, or with `fail`'s error. */
function stepper(seed: number, fail?: number) {
  let x = seed >>> 0 || 1;
  const delay = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % 4;
  };
  const log = { running: 0, mostRunning: 0, started: [] as number[], consumed: [] as number[], mostAhead: 0 };
  const start = (k: number): Promise<number> => {
    log.started.push(k);
    log.running++;
    log.mostRunning = Math.max(log.mostRunning, log.running);
    log.mostAhead = Math.max(log.mostAhead, k - log.consumed.length + 1);
    return new Promise((resolve, reject) =>
      setTimeout(() => {
        log.running--;
        if (k === fail) reject(new Error(`step ${k} failed`));
        else resolve(k);
      }, delay()),
    );
  };
  return { log, start };
}

describe('inOrder', () => {
  for (const [inFlight, window] of [[1, 1], [3, 5], [5, 3], [8, 8], [64, 16]]) {
    it(`runs at most ${Math.min(inFlight, window)} steps at once and ${window} ahead, and consumes 0..n-1 in order (inFlight ${inFlight}, window ${window})`, async () => {
      for (const seed of [1, 2, 3]) {
        const { log, start } = stepper(seed);
        await inOrder(60, { inFlight, window }, start, (k, r) => {
          expect(r).toBe(k);
          log.consumed.push(k);
        });
        expect(log.consumed).toEqual([...Array(60).keys()]);
        expect(log.started).toEqual([...Array(60).keys()]);
        expect(log.mostRunning).toBeLessThanOrEqual(Math.min(inFlight, window));
        // With several in flight, the bound is reached (a limit of 1 would also pass the line above).
        if (Math.min(inFlight, window) > 1) expect(log.mostRunning).toBeGreaterThan(1);
        expect(log.mostAhead).toBeLessThanOrEqual(window);
      }
    });
  }

  it('rejects with the first failure, starts nothing after it, and says stopped to the steps still running', async () => {
    const { log, start } = stepper(7, 20);
    let stoppedSeen = false;
    const error = await inOrder(
      60,
      { inFlight: 4, window: 8 },
      (k, stopped) => {
        const p = start(k);
        void p.finally(() => {
          if (stopped()) stoppedSeen = true;
        }).catch(() => {});
        return p;
      },
      (k) => log.consumed.push(k),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'step 20 failed' });
    const startedAtFailure = log.started.length;
    await new Promise((r) => setTimeout(r, 20));
    expect(log.started.length).toBe(startedAtFailure);
    expect(Math.max(...log.started)).toBeLessThan(20 + 8);
    expect(log.consumed).toEqual([...Array(log.consumed.length).keys()]);
    expect(log.consumed.length).toBeLessThanOrEqual(20);
    expect(stoppedSeen).toBe(true);
  });

  it('a step that throws instead of rejecting, and a consume that throws, reject the same way', async () => {
    const thrown = await inOrder(
      10,
      { inFlight: 2, window: 4 },
      (k) => {
        if (k === 3) throw new Error('sync 3');
        return Promise.resolve(k);
      },
      () => {},
    ).catch((e: unknown) => e);
    expect(thrown).toMatchObject({ message: 'sync 3' });
    const consumed = await inOrder(10, { inFlight: 2, window: 4 }, (k) => Promise.resolve(k), (k) => {
      if (k === 5) throw new Error('consume 5');
    }).catch((e: unknown) => e);
    expect(consumed).toMatchObject({ message: 'consume 5' });
  });

  it('an abort rejects with ERR_PAGEWISE_ABORTED and starts nothing more', async () => {
    const controller = new AbortController();
    const { log, start } = stepper(5);
    setTimeout(() => controller.abort(), 5);
    const error = await inOrder(100_000, { inFlight: 2, window: 4, signal: controller.signal }, start, (k) => log.consumed.push(k)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PAGEWISE_ABORTED' });
    const startedAtAbort = log.started.length;
    await new Promise((r) => setTimeout(r, 20));
    expect(log.started.length).toBe(startedAtAbort);
    expect(startedAtAbort).toBeLessThan(100_000);
  });

  it('zero steps resolve at once', async () => {
    await expect(inOrder(0, { inFlight: 1, window: 1 }, () => Promise.reject(new Error('never')), () => {})).resolves.toBeUndefined();
  });
});
