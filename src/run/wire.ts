/**
 * The one place where values cross threads (and, for the cluster, machines):
 * errors as plain data, and accumulators serialized with V8's value
 * serializer (the structured clone algorithm). Serializing here rather than
 * inside postMessage lets a failure name what could not be copied.
 */
import { Deserializer, Serializer } from 'node:v8';
import { ErrorCodes, JobFailedError, PagewiseError, SystemError } from '../errors.js';
import type { WireError } from './messages.js';

/** An error as plain data, with its code, own scalar fields and cause chain. */
export function toWire(error: unknown, depth = 0): WireError {
  if (!(error instanceof Error)) {
    return { name: 'Error', message: typeof error === 'string' ? error : describeThrown(error), fields: {} };
  }
  const fields: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'code' || key === 'message' || key === 'stack' || key === 'name') continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    code: typeof code === 'string' ? code : undefined,
    stack: error.stack,
    fields,
    cause: error.cause !== undefined && depth < 4 ? toWire(error.cause, depth + 1) : undefined,
  };
}

/** Rebuilds an error sent by `toWire`: a PagewiseError (or subclass) when it carries a code. */
export function fromWire(wire: WireError): Error {
  const cause = wire.cause === undefined ? undefined : fromWire(wire.cause);
  let error: Error;
  if (wire.code === undefined) {
    error = new Error(wire.message, cause === undefined ? undefined : { cause });
    error.name = wire.name;
  } else if (wire.code === ErrorCodes.JOB_FAILED) {
    error = new JobFailedError(wire.message, { ...wire.fields, cause });
  } else if (/^E[A-Z0-9]+$/.test(wire.code)) {
    error = new SystemError(wire.code, wire.message, { ...wire.fields, cause });
  } else {
    error = new PagewiseError(wire.code, wire.message, { ...wire.fields, cause });
    if (wire.name !== 'Error') error.name = wire.name;
  }
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}

function describeThrown(value: unknown): string {
  try {
    return typeof value === 'object' ? JSON.stringify(value) ?? String(value) : String(value);
  } catch {
    return String(value);
  }
}

/**
 * An accumulator as bytes. Class instances arrive as plain objects, Maps,
 * Sets, typed arrays (sharing buffers as they did) and BigInts survive;
 * functions, Symbols, detached views and anything else structured clone
 * refuses fail with ERR_PAGEWISE_NOT_CLONEABLE, naming `what` and `where`.
 */
export function serialize(value: unknown, what: string, where: string, transfer: readonly ArrayBuffer[] = []): Uint8Array {
  try {
    const s = new Serializer();
    s.writeHeader();
    // Moved, not written: the receiver gives `deserialize` the same buffers in this order.
    for (let i = 0; i < transfer.length; i++) s.transferArrayBuffer(i, transfer[i]);
    s.writeValue(value);
    return s.releaseBuffer();
  } catch (error) {
    throw new PagewiseError(
      ErrorCodes.NOT_CLONEABLE,
      `${what} ${where} could not be copied between threads: ${(error as Error)?.message ?? error} ` +
        `(values cross threads by structured clone: plain objects, arrays, Map, Set, typed arrays, BigInt; ` +
        `not functions, Symbols, class instances' methods, or views of the input kept past their chunk)`,
      { cause: error },
    );
  }
}

/**
 * The ArrayBuffers of `value`'s typed-array properties that each view covers
 * whole: what a structure made of its own arrays (a keyed table, a batch)
 * can move to another thread instead of being copied into the bytes.
 */
export function ownBuffers(value: object): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const v of Object.values(value)) {
    const buffer = ArrayBuffer.isView(v) ? wholeBuffer(v) : undefined;
    if (buffer !== undefined && !out.includes(buffer)) out.push(buffer);
  }
  return out;
}

/** The ArrayBuffer `view` covers whole, the only kind that can move; undefined for part of one or a SharedArrayBuffer. */
export function wholeBuffer(view: ArrayBufferView): ArrayBuffer | undefined {
  const buffer = view.buffer;
  return buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buffer.byteLength ? buffer : undefined;
}

/** The value `serialize` wrote; `buffers` are the ones it was told to transfer, moved with the bytes. */
export function deserialize(bytes: Uint8Array, buffers: readonly ArrayBuffer[] = []): unknown {
  const d = new Deserializer(bytes);
  for (let i = 0; i < buffers.length; i++) d.transferArrayBuffer(i, buffers[i]);
  d.readHeader();
  return d.readValue();
}
