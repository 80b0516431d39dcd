/**
 * The k-way merge: any number of sorted cursors (runs on disk, batches in
 * memory) into one stream of distinct keys in byte order, equal keys'
 * values folded with the job's `combine` as they meet. Memory is one window
 * per cursor, whatever the number of keys.
 */
import { Deserializer, Serializer } from 'node:v8';
import { FLAG_OBJECT, FLAG_STRING, type KeyBatch } from './batch.js';
import { prefix32, type EntryCursor } from './runs.js';

/** A sorted in-memory batch as a cursor. */
export class BatchCursor implements EntryCursor {
  key: Uint8Array;
  keyOff = 0;
  keyLen = 0;
  k0 = 0;
  str = false;
  numeric = true;
  num = 0;
  obj: unknown = undefined;
  #k = -1;
  readonly #order: Int32Array;

  constructor(readonly batch: KeyBatch) {
    this.key = batch.keys;
    this.#order = batch.order!;
  }

  next(): boolean {
    const b = this.batch;
    if (++this.#k >= b.n) return false;
    const i = this.#order[this.#k];
    const start = i === 0 ? 0 : b.ends[i - 1];
    this.keyOff = start;
    this.keyLen = b.ends[i] - start;
    this.k0 = prefix32(b.keys, this.keyLen, start);
    const f = b.flags[i];
    this.str = (f & FLAG_STRING) !== 0;
    if ((f & FLAG_OBJECT) !== 0) {
      this.numeric = false;
      this.obj = b.objs![i];
    } else {
      this.numeric = true;
      this.num = b.num[i];
    }
    return true;
  }

  object(): unknown {
    return this.numeric ? this.num : this.obj;
  }

  serialized(): undefined {
    return undefined;
  }

  close(): void {}
}

function sameKey(c: EntryCursor, k0: number, key: Uint8Array, len: number): boolean {
  if (c.k0 !== k0 || c.keyLen !== len) return false;
  const kc = c.key;
  const o = c.keyOff;
  for (let k = 0; k < len; k++) if (kc[o + k] !== key[k]) return false;
  return true;
}

function less(a: EntryCursor, b: EntryCursor): boolean {
  return compareCursors(a, b) < 0;
}

function compareCursors(a: EntryCursor, b: EntryCursor): number {
  if (a.k0 !== b.k0) return a.k0 < b.k0 ? -1 : 1;
  const m = a.keyLen < b.keyLen ? a.keyLen : b.keyLen;
  const ka = a.key;
  const kb = b.key;
  const oa = a.keyOff;
  const ob = b.keyOff;
  for (let k = 0; k < m; k++) {
    const x = ka[oa + k] - kb[ob + k];
    if (x !== 0) return x;
  }
  return a.keyLen - b.keyLen;
}

/**
 * Distinct keys in order from `cursors`, each with its combined value. After
 * `next()` returns true, `key[0, keyLen)`, `str` and the value (`numeric` and
 * `num`, or `obj`) describe the current key; `ser` holds the serialized
 * bytes of a value that came from one cursor untouched (so it can be written
 * again without a round trip).
 */
export class Merger {
  key = new Uint8Array(64);
  keyLen = 0;
  str = false;
  numeric = true;
  num = 0;
  obj: unknown = undefined;
  ser: Uint8Array | undefined;
  /** Keys given out. */
  count = 0;
  readonly #heap: EntryCursor[] = [];

  constructor(
    cursors: EntryCursor[],
    private readonly combine: (a: unknown, b: unknown) => unknown,
  ) {
    for (const c of cursors) {
      if (c.next()) this.#push(c);
      else c.close();
    }
  }

  #push(c: EntryCursor): void {
    const h = this.#heap;
    let at = h.length;
    h.push(c);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!less(c, h[parent])) break;
      h[at] = h[parent];
      at = parent;
    }
    h[at] = c;
  }

  /** Moves the heap's top cursor on and restores the heap. */
  #advanceTop(): void {
    const h = this.#heap;
    const top = h[0];
    let c: EntryCursor;
    if (top.next()) c = top;
    else {
      top.close();
      c = h.pop()!;
      if (h.length === 0) return;
    }
    const n = h.length;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && less(h[child + 1], h[child])) child++;
      if (!less(h[child], c)) break;
      h[at] = h[child];
      at = child;
    }
    h[at] = c;
  }

  next(): boolean {
    const h = this.#heap;
    if (h.length === 0) return false;
    const top = h[0];
    const len = top.keyLen;
    const k0 = top.k0;
    if (this.key.length < len) this.key = new Uint8Array(Math.max(len, this.key.length * 2));
    this.key.set(top.key.subarray(top.keyOff, top.keyOff + len));
    this.keyLen = len;
    this.str = top.str;
    this.numeric = top.numeric;
    if (top.numeric) {
      this.num = top.num;
      this.obj = undefined;
      this.ser = undefined;
    } else {
      this.ser = top.serialized()?.slice();
      this.obj = this.ser === undefined ? top.object() : undefined;
    }
    this.#advanceTop();
    // Every other cursor at the same key.
    while (h.length > 0) {
      const c = h[0];
      if (!sameKey(c, k0, this.key, len)) break;
      if (c.str) this.str = true;
      this.#fold(c);
      this.#advanceTop();
    }
    this.count++;
    return true;
  }

  #fold(c: EntryCursor): void {
    if (this.numeric && c.numeric) {
      const r = this.combine(this.num, c.num);
      if (typeof r === 'number') this.num = r;
      else {
        this.numeric = false;
        this.obj = r;
      }
      return;
    }
    const a = this.numeric ? this.num : this.value();
    const r = this.combine(a, c.object());
    this.ser = undefined;
    if (typeof r === 'number') {
      this.numeric = true;
      this.num = r;
      this.obj = undefined;
    } else {
      this.numeric = false;
      this.obj = r;
    }
  }

  /** The current value (deserialized if it is still in bytes). */
  value(): unknown {
    if (this.numeric) return this.num;
    if (this.obj === undefined && this.ser !== undefined) {
      this.obj = deserializeValue(this.ser);
    }
    return this.obj;
  }

  close(): void {
    for (const c of this.#heap) c.close();
    this.#heap.length = 0;
  }
}

/** A value a run stored serialized. */
export function deserializeValue(bytes: Uint8Array): unknown {
  const d = new Deserializer(bytes);
  d.readHeader();
  return d.readValue();
}

/** `value` serialized as a run stores it. */
export function serializeValue(value: unknown): Uint8Array {
  const s = new Serializer();
  s.writeHeader();
  s.writeValue(value);
  return s.releaseBuffer();
}
