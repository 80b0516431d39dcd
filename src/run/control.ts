/**
 * Operations on a run's control block (see messages.ts) that every thread
 * uses. Waiting workers sleep on [WAKE]; whoever changes what they may be
 * waiting for, or stops the run, bumps it and notifies, so no waiter sleeps
 * through a change (it reads WAKE before it checks, then waits for WAKE to
 * move).
 */
import { STOP, WAKE } from './messages.js';

/** Wakes every thread waiting on the run's control block. */
export function wakeAll(control: Int32Array): void {
  Atomics.add(control, WAKE, 1);
  Atomics.notify(control, WAKE);
}

/** Stops the run: workers take no more chunks, and every waiter wakes and gives up. */
export function stopRun(control: Int32Array): void {
  Atomics.store(control, STOP, 1);
  wakeAll(control);
}

/** Whether the run was stopped. */
export function isStopped(control: Int32Array): boolean {
  return Atomics.load(control, STOP) !== 0;
}

/**
 * How long one wait sleeps at most before it checks again: a safety net only
 * (every change notifies), so a lost notification costs latency, never a hang.
 */
const WAIT_SLICE_MS = 200;

// Atomics.waitAsync is ES2024 (Node 16+ has it); the project's lib is ES2023.
type WaitAsync = (array: Int32Array, index: number, value: number, timeoutMs: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * Resolves true once `ready()` is, false if the run stops first. Waits with
 * Atomics.waitAsync, so a worker's event loop keeps running meanwhile (view
 * finalizers, timers); never blocks the main thread.
 */
export async function waitUntil(control: Int32Array, ready: () => boolean): Promise<boolean> {
  for (;;) {
    const seen = Atomics.load(control, WAKE);
    if (ready()) return true;
    if (isStopped(control)) return false;
    const wait = waitAsync(control, WAKE, seen, WAIT_SLICE_MS);
    if (wait.async) await wait.value;
  }
}
