/**
 * Sorted runs: the shuffle's spill format. A run holds distinct keys in
 * ascending byte order, each with one value, written front to back:
 *
 *   file   = "PWKRUN01" entry*
 *   entry  = varint shared, varint (suffixLength << 3 | kind << 1 | string),
 *            suffix bytes, value
 *   value  = kind 0: varint (an integer 0 <= v < 2^53)
 *            kind 1: Float64, little-endian
 *            kind 2: varint length, that many bytes of V8's serializer
 *
 * `shared` is how many leading bytes the key shares with the one before it
 * (prefix compression: sorted keys share a lot); it is 0 at every restart,
 * the first entry after each 64 KiB, which the run's sparse index records
 * with its key. The index lets the final phase cut every run into the same
 * key ranges without reading them first.
 */
import { Deserializer, Serializer } from 'node:v8';
import { ErrorCodes, PagewiseError } from '../errors.js';
import { compareKeyBytes, FLAG_OBJECT, FLAG_STRING, META_FLAGS_SHIFT, META_LEN, META_VALUE_SHIFT, type KeyBatch, type SortScratch } from './batch.js';
import type { RunInfo } from '../run/messages.js';
import { openWindow, SequentialFile, type FileRole, type FileWindow, TEMP_ROLE } from './files.js';

export type { RunInfo };

const MAGIC = new TextEncoder().encode('PWKRUN01');
export const RUN_HEADER = MAGIC.length;
/** Bytes between two restarts (and index entries). */
const BLOCK = 64 << 10;

/** An entry's value: a number, or a structured-clonable value (`obj`). */
export interface EntryValue {
  numeric: boolean;
  num: number;
  obj: unknown;
}

/** Writes one sorted run. */
export class RunWriter {
  readonly file: SequentialFile;
  entries = 0;
  #prev = new Uint8Array(64);
  #prevLen = 0;
  #blockStart = RUN_HEADER;
  #first = true;
  readonly #offsets: number[] = [];
  readonly #keys: Uint8Array[] = [];
  #serializer: Serializer | undefined;

  constructor(
    readonly path: string,
    role: FileRole = TEMP_ROLE,
  ) {
    this.file = new SequentialFile(path, role);
    this.file.write(MAGIC);
  }

  /**
   * Appends the key `key[off, off+len)` (greater than the one before) with
   * its value: `num` when `numeric`, else `obj`, or the serialized bytes
   * `ser` of such a value.
   */
  add(key: Uint8Array, off: number, len: number, str: boolean, numeric: boolean, num: number, obj: unknown, ser?: Uint8Array): void {
    const file = this.file;
    const pos = file.size;
    let shared = 0;
    if (this.#first || pos - this.#blockStart >= BLOCK) {
      this.#first = false;
      this.#blockStart = pos;
      this.#offsets.push(pos);
      this.#keys.push(key.slice(off, off + len));
    } else {
      const prev = this.#prev;
      const m = Math.min(len, this.#prevLen);
      while (shared < m && prev[shared] === key[off + shared]) shared++;
    }
    let kind: number;
    let payload: Uint8Array | undefined;
    if (numeric) {
      kind = Number.isInteger(num) && num >= 0 && num < 2 ** 53 ? 0 : 1;
    } else {
      kind = 2;
      payload = ser ?? this.#serialize(obj);
    }
    const suffix = len - shared;
    const at0 = file.ensure(10 + 10 + suffix + (kind === 0 ? 8 : kind === 1 ? 8 : 10 + payload!.length));
    const buf = file.buffer;
    let at = writeVarint(buf, at0, shared);
    at = writeVarint(buf, at, suffix * 8 + kind * 2 + (str ? 1 : 0));
    if (this.#prev.length < len) {
      const bigger = new Uint8Array(Math.max(len, this.#prev.length * 2));
      bigger.set(this.#prev.subarray(0, shared));
      this.#prev = bigger;
    }
    const prev = this.#prev;
    // Short keys are copied by hand: a subarray per entry costs more than the bytes.
    if (suffix <= 32) {
      for (let k = shared; k < len; k++) {
        const b = key[off + k];
        buf[at++] = b;
        prev[k] = b;
      }
    } else {
      const tail = key.subarray(off + shared, off + len);
      buf.set(tail, at);
      prev.set(tail, shared);
      at += suffix;
    }
    if (kind === 0) at = writeVarint(buf, at, num);
    else if (kind === 1) {
      F64[0] = num;
      for (let k = 0; k < 8; k++) buf[at++] = F64_BYTES[k];
    } else {
      at = writeVarint(buf, at, payload!.length);
      buf.set(payload!, at);
      at += payload!.length;
    }
    file.commit(at - at0);
    this.#prevLen = len;
    this.entries++;
  }

  /**
   * Appends the entries of a batch `sortBatch` sorted with `sc`, reading
   * them in order from its carried arrays: the common case (small whole
   * numbers, suffixes of up to 15 bytes: one-byte varints) is written
   * straight into the buffer, its first 8 key bytes taken from the prefix
   * the sort kept; the rest goes through `add`.
   */
  addBatch(batch: KeyBatch, sc: SortScratch): void {
    const { keys, num, objs } = batch;
    const order = batch.order!;
    const { hi, lo, start: starts, meta } = sc;
    const file = this.file;
    const n = order.length;
    let pHi = 0;
    let pLo = 0;
    let pStart = 0;
    let pLen = -1;
    for (let k = 0; k < n; k++) {
      const m = meta[k];
      const len = m & META_LEN;
      const f = (m >>> META_FLAGS_SHIFT) & 3;
      const small = m >>> META_VALUE_SHIFT;
      const h = hi[k];
      const l = lo[k];
      const s = starts[k];
      const restart = this.#first || file.size - this.#blockStart >= BLOCK;
      let shared = 0;
      if (!restart && pLen >= 0) {
        const max = len < pLen ? len : pLen;
        if (h !== pHi) shared = Math.clz32(h ^ pHi) >>> 3;
        else if (l !== pLo) shared = 4 + (Math.clz32(l ^ pLo) >>> 3);
        else {
          shared = 8;
          while (shared < max && keys[pStart + shared] === keys[s + shared]) shared++;
        }
        if (shared > max) shared = max;
      }
      const suffix = len - shared;
      if (restart || small === 0 || suffix > 15 || shared > 127) {
        if (pLen >= 0) this.#setPrev(keys, pStart, pLen);
        const i = order[k];
        const isObject = (f & FLAG_OBJECT) !== 0;
        this.add(keys, s, len, (f & FLAG_STRING) !== 0, !isObject, num[i], isObject ? objs![i] : undefined);
      } else {
        let at = file.ensure(suffix + 3);
        const buf = file.buffer;
        buf[at++] = shared;
        buf[at++] = suffix * 8 + (f & FLAG_STRING);
        for (let q = shared; q < len; q++) buf[at++] = q < 4 ? (h >>> ((3 - q) << 3)) & 0xff : q < 8 ? (l >>> ((7 - q) << 3)) & 0xff : keys[s + q];
        buf[at++] = small - 1;
        file.commit(suffix + 3);
        this.entries++;
      }
      pHi = h;
      pLo = l;
      pStart = s;
      pLen = len;
    }
    // `add` continues from the last key.
    if (pLen >= 0) this.#setPrev(keys, pStart, pLen);
  }

  #setPrev(keys: Uint8Array, start: number, len: number): void {
    if (this.#prev.length < len) this.#prev = new Uint8Array(Math.max(len, this.#prev.length * 2));
    for (let q = 0; q < len; q++) this.#prev[q] = keys[start + q];
    this.#prevLen = len;
  }

  #serialize(value: unknown): Uint8Array {
    try {
      const s = (this.#serializer = new Serializer());
      s.writeHeader();
      s.writeValue(value);
      return s.releaseBuffer();
    } catch (error) {
      throw new PagewiseError(ErrorCodes.NOT_CLONEABLE, `a keyed value could not be written to disk: ${(error as Error)?.message ?? error} (values of keyed jobs are numbers or structured-clonable)`, {
        cause: error,
      });
    }
  }

  /** Closes the file; returns the run. */
  finish(): RunInfo {
    this.file.close();
    return { path: this.path, bytes: this.file.written, entries: this.entries, index: { offsets: this.#offsets, keys: this.#keys } };
  }

  discard(): void {
    this.file.discard();
  }
}

const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);

function writeVarint(buf: Uint8Array, at: number, v: number): number {
  if (v < 0x80000000) {
    while (v >= 0x80) {
      buf[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[at++] = v;
    return at;
  }
  while (v >= 0x80) {
    buf[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[at++] = v;
  return at;
}

/** What the merge reads from: the current entry of a run, an in-memory batch, ... */
export interface EntryCursor extends EntryValue {
  key: Uint8Array;
  keyOff: number;
  keyLen: number;
  /** The key's bytes 0-3 and 4-7, big-endian, zero-padded: most comparisons end there. */
  k0: number;
  k1: number;
  str: boolean;
  /** Moves to the next entry; false at the end. */
  next(): boolean;
  /** The current value when it is not numeric (deserialized on demand). */
  object(): unknown;
  /** The current value's serialized bytes, when it came serialized (valid until `next`). */
  serialized(): Uint8Array | undefined;
  close(): void;
}

/** Bytes `from` to `from + 3` of `key[0, len)`, big-endian, zero-padded, as an unsigned number. */
export function prefix32(key: Uint8Array, len: number, from = 0, off = 0): number {
  let x = 0;
  for (let q = from; q < from + 4; q++) x = (x << 8) | (q < len ? key[off + q] : 0);
  return x >>> 0;
}

/** Most bytes an entry's header and numeric value take: varints of 10 bytes at most. */
const HEAD_MAX = 30;

/**
 * Reads the entries of a run in `[start, end)` (restart offsets from its
 * index, or the whole file) whose keys lie in `[lo, hi)`: entries before
 * `lo` are skipped, the first at or past `hi` ends the cursor.
 */
export class RunCursor implements EntryCursor {
  key = new Uint8Array(64);
  keyOff = 0;
  keyLen = 0;
  k0 = 0;
  k1 = 0;
  str = false;
  numeric = true;
  num = 0;
  obj: unknown = undefined;
  #window: FileWindow;
  #pos: number;
  #end: number;
  #kind = 0;
  #serStart = 0;
  #serLen = 0;
  #done = false;

  constructor(
    readonly run: RunInfo,
    start = RUN_HEADER,
    end = run.bytes,
    private readonly lo?: Uint8Array,
    private readonly hi?: Uint8Array,
  ) {
    this.#window = openWindow(run.path, start, end);
    this.#pos = start;
    this.#end = end;
  }

  next(): boolean {
    for (;;) {
      if (this.#done || !this.#read()) {
        this.#done = true;
        return false;
      }
      if (this.lo !== undefined && compareKeyBytes(this.key, this.keyLen, this.lo, this.lo.length) < 0) continue;
      if (this.hi !== undefined && compareKeyBytes(this.key, this.keyLen, this.hi, this.hi.length) >= 0) {
        this.#done = true;
        return false;
      }
      return true;
    }
  }

  /** Reads the entry at #pos into the fields. */
  #read(): boolean {
    const w = this.#window;
    const pos = this.#pos;
    if (pos >= this.#end || !w.at(pos, HEAD_MAX)) return false;
    let b = w.bytes;
    let p = pos - w.base;
    let shared = 0;
    let shift = 1;
    for (;;) {
      const x = b[p++];
      shared += (x & 0x7f) * shift;
      if (x < 0x80) break;
      shift *= 128;
    }
    let head = 0;
    shift = 1;
    for (;;) {
      const x = b[p++];
      head += (x & 0x7f) * shift;
      if (x < 0x80) break;
      shift *= 128;
    }
    const headLen = p - (pos - w.base);
    const suffix = Math.floor(head / 8);
    this.#kind = Math.floor(head / 2) & 3;
    this.str = (head & 1) !== 0;
    // The key and a numeric value (or a serialized one's length) in view.
    if (pos - w.base + headLen + suffix + 10 > b.length) {
      w.at(pos, headLen + suffix + 10);
      b = w.bytes;
      p = pos - w.base + headLen;
    }
    const len = shared + suffix;
    if (this.key.length < len) {
      const bigger = new Uint8Array(Math.max(len, this.key.length * 2));
      bigger.set(this.key.subarray(0, shared));
      this.key = bigger;
    }
    const key = this.key;
    if (suffix <= 32) {
      for (let k = shared; k < len; k++) key[k] = b[p++];
    } else {
      key.set(b.subarray(p, p + suffix), shared);
      p += suffix;
    }
    if (len >= 8) {
      this.k0 = ((key[0] << 24) | (key[1] << 16) | (key[2] << 8) | key[3]) >>> 0;
      this.k1 = ((key[4] << 24) | (key[5] << 16) | (key[6] << 8) | key[7]) >>> 0;
    } else {
      this.k0 = prefix32(key, len);
      this.k1 = prefix32(key, len, 4);
    }
    this.keyLen = len;
    if (this.#kind === 1) {
      F64_BYTES.set(b.subarray(p, p + 8));
      p += 8;
      this.num = F64[0];
      this.numeric = true;
    } else {
      let v = 0;
      shift = 1;
      for (;;) {
        const x = b[p++];
        v += (x & 0x7f) * shift;
        if (x < 0x80) break;
        shift *= 128;
      }
      if (this.#kind === 0) {
        this.num = v;
        this.numeric = true;
      } else {
        const used = p - (pos - w.base);
        if (p + v > b.length) {
          w.at(pos, used + v);
          b = w.bytes;
          p = pos - w.base + used;
        }
        this.#serStart = p;
        this.#serLen = v;
        p += v;
        this.numeric = false;
        this.obj = undefined;
      }
    }
    this.#pos = w.base + p;
    return true;
  }

  object(): unknown {
    if (this.numeric) return this.num;
    if (this.obj === undefined) {
      const d = new Deserializer(this.serialized()!);
      d.readHeader();
      this.obj = d.readValue();
    }
    return this.obj;
  }

  serialized(): Uint8Array | undefined {
    if (this.numeric) return undefined;
    return this.#window.bytes.subarray(this.#serStart, this.#serStart + this.#serLen);
  }

  close(): void {
    this.#window.close();
  }
}

/** The restart offset at or before which every key >= `key` of `run` starts (binary search of the index). */
export function seekRun(run: RunInfo, key: Uint8Array | undefined): number {
  if (key === undefined) return RUN_HEADER;
  const { offsets, keys } = run.index;
  // The last restart whose key is < key: entries from there on include every key >= key.
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeyBytes(keys[mid], keys[mid].length, key, key.length) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? RUN_HEADER : offsets[lo - 1];
}

/** The restart offset from which every key of `run` is >= `key` (so a cursor may stop there). */
export function seekRunEnd(run: RunInfo, key: Uint8Array | undefined): number {
  if (key === undefined) return run.bytes;
  const { offsets, keys } = run.index;
  // The first restart whose key is >= key.
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeyBytes(keys[mid], keys[mid].length, key, key.length) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < offsets.length ? offsets[lo] : run.bytes;
}
