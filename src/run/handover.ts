/**
 * `info.transfer`: buffers a job hands over on a worker thread, moved (not
 * copied) with the next accumulator that thread sends to the main thread.
 * Off by default: on the main thread (streams, kernel folds) and on the
 * cluster's way to Redis there is no thread to move to, and the call is a
 * no-op, so a job behaves the same on every path.
 */
import { ErrorCodes, PagewiseError } from '../errors.js';
import { wholeBuffer } from './wire.js';

let enabled = false;
let pending: ArrayBuffer[] = [];

/** Called once by the worker entry: this thread's accumulators leave by postMessage. */
export function enableHandover(): void {
  enabled = true;
}

/**
 * `info.transfer` for a call of `map` given `input` (and `header`): the
 * buffers the engine lends the job, which it refuses to move (moving one
 * would take it from the chunks after this one).
 */
export function transferFor(input: Uint8Array | undefined, header: Uint8Array | undefined): (data: ArrayBuffer | ArrayBufferView) => void {
  return (data) => handOver(data, input?.buffer, header?.buffer);
}

/** Marks `data`'s ArrayBuffer to move with the accumulator; a view must cover all of it. */
function handOver(data: ArrayBuffer | ArrayBufferView, input: ArrayBufferLike | undefined, header: ArrayBufferLike | undefined): void {
  const buffer = ArrayBuffer.isView(data) ? data.buffer : data;
  if (!(buffer instanceof ArrayBuffer)) {
    throw new PagewiseError(ErrorCodes.NOT_TRANSFERABLE, 'info.transfer takes an ArrayBuffer or a view of one (a SharedArrayBuffer is shared already)');
  }
  if (ArrayBuffer.isView(data) && wholeBuffer(data) === undefined) {
    // The whole buffer would move: a small Buffer shares one with every other small Buffer of the thread.
    throw new PagewiseError(ErrorCodes.NOT_TRANSFERABLE, 'info.transfer moves a whole ArrayBuffer: give a view that covers all of its buffer (slice() one that does not)');
  }
  if (buffer === input || buffer === header) {
    throw new PagewiseError(ErrorCodes.NOT_TRANSFERABLE, "info.transfer cannot move the input's bytes or the header: copy them first (slice())");
  }
  if (enabled && !pending.includes(buffer)) pending.push(buffer);
}

/** Forgets what an earlier task handed over and did not send (a task that failed, a keyed task). */
export function clearHandedOver(): void {
  pending = [];
}

/** The buffers to move with the accumulator being sent now; the list starts again empty. */
export function takeHandedOver(): ArrayBuffer[] {
  const taken = pending;
  pending = [];
  return taken;
}
