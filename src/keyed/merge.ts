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
  k1 = 0;
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
    this.k0 = prefix32(b.keys, this.keyLen, 0, start);
    this.k1 = prefix32(b.keys, this.keyLen, 4, start);
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

function sameKey(c: EntryCursor, k0: number, k1: number, key: Uint8Array, len: number): boolean {
  if (c.k0 !== k0 || c.k1 !== k1 || c.keyLen !== len) return false;
  const kc = c.key;
  const o = c.keyOff;
  for (let k = 8; k < len; k++) if (kc[o + k] !== key[k]) return false;
  return true;
}

/** Byte order of two cursors' keys: by their first 8 bytes as two numbers, then the rest. */
function compareCursors(a: EntryCursor, b: EntryCursor): number {
  if (a.k0 !== b.k0) return a.k0 < b.k0 ? -1 : 1;
  if (a.k1 !== b.k1) return a.k1 < b.k1 ? -1 : 1;
  const m = a.keyLen < b.keyLen ? a.keyLen : b.keyLen;
  const ka = a.key;
  const kb = b.key;
  const oa = a.keyOff;
  const ob = b.keyOff;
  for (let k = 8; k < m; k++) {
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
  /** The cursors, and a tree of losers over them: `#tree[0]` is the cursor with the smallest key. */
  readonly #cursors: EntryCursor[];
  readonly #done: Uint8Array;
  readonly #tree: Int32Array;
  #live: number;

  constructor(
    cursors: EntryCursor[],
    private readonly combine: (a: unknown, b: unknown) => unknown,
  ) {
    const k = cursors.length;
    this.#cursors = cursors;
    this.#done = new Uint8Array(k);
    this.#tree = new Int32Array(Math.max(1, k));
    this.#live = k;
    for (let i = 0; i < k; i++) {
      if (!cursors[i].next()) {
        cursors[i].close();
        this.#done[i] = 1;
        this.#live--;
      }
    }
    if (k === 0) return;
    // Winners of each subtree bottom-up (leaves k .. 2k - 1 are the cursors); each node keeps the loser.
    const win = new Int32Array(2 * k);
    for (let p = k; p < 2 * k; p++) win[p] = p - k;
    for (let p = k - 1; p >= 1; p--) {
      const a = win[2 * p];
      const b = win[2 * p + 1];
      if (this.#less(a, b)) {
        win[p] = a;
        this.#tree[p] = b;
      } else {
        win[p] = b;
        this.#tree[p] = a;
      }
    }
    this.#tree[0] = k === 1 ? 0 : win[1];
  }

  /** Cursor a's key is before cursor b's (a cursor that is done comes last). */
  #less(a: number, b: number): boolean {
    if (this.#done[a] === 1) return false;
    if (this.#done[b] === 1) return true;
    return compareCursors(this.#cursors[a], this.#cursors[b]) < 0;
  }

  /** Moves the winning cursor on and plays its way up again: one comparison per level. */
  #advanceTop(): void {
    const tree = this.#tree;
    let w = tree[0];
    const c = this.#cursors[w];
    if (!c.next()) {
      c.close();
      this.#done[w] = 1;
      this.#live--;
    }
    const k = this.#cursors.length;
    for (let p = (w + k) >> 1; p >= 1; p >>= 1) {
      const t = tree[p];
      if (this.#less(t, w)) {
        tree[p] = w;
        w = t;
      }
    }
    tree[0] = w;
  }

  next(): boolean {
    if (this.#live === 0) return false;
    const top = this.#cursors[this.#tree[0]];
    const len = top.keyLen;
    const k0 = top.k0;
    const k1 = top.k1;
    if (this.key.length < len) this.key = new Uint8Array(Math.max(len, this.key.length * 2));
    const key = this.key;
    const from = top.key;
    const o = top.keyOff;
    for (let q = 0; q < len; q++) key[q] = from[o + q];
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
    while (this.#live > 0) {
      const c = this.#cursors[this.#tree[0]];
      if (!sameKey(c, k0, k1, key, len)) break;
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
    for (let i = 0; i < this.#cursors.length; i++) {
      if (this.#done[i] === 0) this.#cursors[i].close();
      this.#done[i] = 1;
    }
    this.#live = 0;
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
