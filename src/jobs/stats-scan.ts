/**
 * The hot loop of `stats`, and the warm-up that compiles it.
 *
 * One iteration reads a line of `<name>;<value>` with word reads only: the
 * name's first 16 bytes, searched for the separator with SWAR tests and
 * hashed, and the 8 bytes after the separator, parsed with shifts and masks;
 * then it compares the name with the keys at its home slot and the next one
 * and updates two Int32s there. Long names, other slots, new names and
 * flushes are calls on rare paths, and a call that grows the table ends the
 * inner loop: the loop has no inner loop of its own and branches only where
 * real data is regular, because TurboFan re-checks every array after an
 * inner loop and a mispredicted branch costs more than the work it skips
 * (docs/performance.md, "Hot loops"). */
import type { ChunkInfo } from '../types.js';
import * as layout from './stats-acc.js';
import { badRecord, createAcc, flush, recordWords, recordMiss, slowLine, update, type StatsAcc } from './stats-acc.js';
import * as table from './table.js';

// Module-level copies of imported constants: TurboFan folds this module's
// own consts into the loop, but loads an imported binding from its cell at
// every use.
const { HASH, LEN, LONG, W0, W1, W2, W3, P0, P1, P2, P3, P, F1 } = table;
const { MINMAX, ROWS, ROW_STEP, ROWS_FLUSH, LF, CR } = layout;

const SEMICOLON = 0x3b;
const MINUS = 45;
const ZERO = 48;

/** What `valueAt` returns for bytes that are not a value and its line end. */
const BAD = 0x40000000;

/**
 * The value at the start of the 8 bytes `lo`, `hi` (little-endian):
 * `[-]d.d` or `[-]dd.d`, then `\n` or `\r\n`. Returns `tenths * 8 + n`,
 * where n is the bytes up to the next line, or BAD. The fast loop has the
 * same code written out; this one is for longLine.
 */
function valueAt(lo: number, hi: number): number {
  // `w`: the 4 bytes after the sign; `e`: the ones after those.
  let w = lo;
  let e = hi;
  let neg = 0;
  if ((lo & 0xff) === MINUS) {
    neg = 1;
    w = (lo >>> 8) | (hi << 24);
    e = hi >>> 8;
  }
  // `aa`: "dd.d", or "0d.d" for the short form (byte 2 a digit).
  const short = (w >>> 20) & 1;
  const form = -short;
  const aa = w ^ ((w ^ ((w << 8) | ZERO)) & form);
  if ((((aa & 0xf0fff0f0) ^ 0x302e3030) | (((aa + 0x06000606) & 0x10001010) ^ 0x10001010)) !== 0) return BAD;
  const v = (aa & 0xf) * 100 + ((aa >>> 8) & 0xf) * 10 + ((aa >>> 24) & 0xf);
  // The two bytes after the value.
  const ends = ((((w >>> 24) | (e << 8)) & form) | (e & ~form)) & 0xffff;
  let n = neg + 5 - short;
  if ((ends & 0xff) !== LF) {
    if (ends !== (CR | (LF << 8))) return BAD;
    n++;
  }
  return (((v ^ -neg) + neg) << 3) | n;
}

/**
 * A line whose name has no separator in its first 16 bytes, read a word at
 * a time (the fast loop leaves these here, to stay free of inner loops).
 * Returns the position after the line.
 */
function longLine(acc: StatsAcc, bytes: Uint8Array, dv: DataView, lineStart: number, sep: number, info: ChunkInfo | undefined): number {
  const sepWord = Math.imul(sep, 0x01010101);
  // Word reads at or before `limit` leave 8 bytes after a separator in them inside the slice.
  const limit = bytes.length - 12;
  const w = table.scratchWords(layout.FAST_NAME_MAX / 4 + 2);
  let i = lineStart;
  let m = 0;
  let t = 0;
  let x = 0;
  while (i <= limit && i - lineStart <= layout.FAST_NAME_MAX) {
    x = dv.getInt32(i, true);
    const y = x ^ sepWord;
    t = (y - 0x01010101) & ~y & 0x80808080;
    if (t !== 0) break;
    w[m++] = x;
    i += 4;
  }
  if (t === 0) return slowLine(acc, bytes, lineStart, sep, info);
  const b = t & -t;
  const sepAt = i + ((31 - Math.clz32(b)) >>> 3);
  if (sepAt > i) w[m++] = x & ((b >>> 7) - 1);
  const p = valueAt(dv.getInt32(sepAt + 1, true), dv.getInt32(sepAt + 5, true));
  if (p === BAD) throw badRecord(bytes, lineStart, info, sep, 'bad value');
  const v = p >> 3;
  // Its slot: the stored hash, length and first 12 bytes, then the pooled words.
  const nameLen = sepAt - lineStart;
  const h = table.hashWords(w, nameLen);
  const { tab, mask, pool } = acc;
  for (let s = h & mask; ; s = (s + 1) & mask) {
    const r = s << 4;
    const kl = tab[r | LEN];
    if (kl === 0) {
      recordWords(acc, bytes, lineStart, nameLen, w, v, info, sep);
      break;
    }
    if (kl === nameLen + 1 && tab[r | HASH] === h && tab[r | W0] === w[0] && tab[r | W1] === w[1] && tab[r | W2] === w[2]) {
      const o = (tab[r | W3] & ~LONG) - 3;
      let k = 3;
      while (k < m && pool[o + k] === w[k]) k++;
      if (k === m) {
        update(acc, s, v);
        break;
      }
    }
  }
  return sepAt + 1 + (p & 7);
}

/**
 * A line whose name has no separator in its first 16 bytes (`x0`-`x3`, as
 * the fast loop read them) but one in the next 16, already in the table:
 * straight-line code for what `longLine` does with loops whose trip counts
 * vary from line to line (a quarter of the stations' names are 16-31 bytes
 * long, 2.4% of 1BRC's rows, and each cost three short lines there). The
 * hash is table.ts's over the words up to the name's end, every step made
 * and the right one kept by masks. Anything else (longer names, new ones,
 * another slot than the first two, the slice's end) goes to `longLine`.
 */
function midLine(acc: StatsAcc, bytes: Uint8Array, dv: DataView, lineStart: number, sep: number, info: ChunkInfo | undefined, x0: number, x1: number, x2: number, x3: number): number {
  // Bytes 16-31, and the 8 after a separator among them, inside the slice.
  if (lineStart + 40 > bytes.length) return longLine(acc, bytes, dv, lineStart, sep, info);
  const sepWord = Math.imul(sep, 0x01010101);
  const x4 = dv.getInt32(lineStart + 16, true);
  const x5 = dv.getInt32(lineStart + 20, true);
  const x6 = dv.getInt32(lineStart + 24, true);
  const x7 = dv.getInt32(lineStart + 28, true);
  let y = x4 ^ sepWord;
  const t4 = (y - 0x01010101) & ~y & 0x80808080;
  y = x5 ^ sepWord;
  const t5 = (y - 0x01010101) & ~y & 0x80808080;
  y = x6 ^ sepWord;
  const t6 = (y - 0x01010101) & ~y & 0x80808080;
  y = x7 ^ sepWord;
  const t7 = (y - 0x01010101) & ~y & 0x80808080;
  if ((t4 | t5 | t6 | t7) === 0) return longLine(acc, bytes, dv, lineStart, sep, info);
  const a5 = ~((t4 | -t4) >> 31);
  const a6 = a5 & ~((t5 | -t5) >> 31);
  const a7 = a6 & ~((t6 | -t6) >> 31);
  const b4 = t4 & -t4;
  const b5 = t5 & -t5;
  const b6 = t6 & -t6;
  const b7 = t7 & -t7;
  const m4 = x4 & ((b4 >>> 7) - 1);
  const m5 = x5 & ((b5 >>> 7) - 1) & a5;
  const m6 = x6 & ((b6 >>> 7) - 1) & a6;
  const m7 = x7 & ((b7 >>> 7) - 1) & a7;
  const first = b4 | (b5 & a5) | (b6 & a6) | (b7 & a7);
  const nameLen = 16 + (a5 & 4) + (a6 & 4) + (a7 & 4) + ((31 - Math.clz32(first)) >>> 3);
  // Words 4-7 are in the hash (and the key) when the name reaches into them.
  const in4 = (16 - nameLen) >> 31;
  const in5 = (20 - nameLen) >> 31;
  const in6 = (24 - nameLen) >> 31;
  const in7 = (28 - nameLen) >> 31;
  const h3 = Math.imul(x0, P0) ^ Math.imul(x1, P1) ^ Math.imul(x2, P2) ^ Math.imul(x3, P3);
  let h4 = Math.imul(h3 ^ m4, P);
  h4 ^= h4 >>> 15;
  let h5 = Math.imul(h4 ^ m5, P);
  h5 ^= h5 >>> 15;
  let h6 = Math.imul(h5 ^ m6, P);
  h6 ^= h6 >>> 15;
  let h7 = Math.imul(h6 ^ m7, P);
  h7 ^= h7 >>> 15;
  let h = (h3 & ~in4) | (h4 & in4 & ~in5) | (h5 & in5 & ~in6) | (h6 & in6 & ~in7) | (h7 & in7);
  h ^= nameLen;
  h ^= h >>> 15;
  h = Math.imul(h, F1);
  h ^= h >>> 13;
  const { tab, mask, pool } = acc;
  let s = h & mask;
  let r = s << 4;
  if (tab[r | HASH] !== h || tab[r | LEN] !== nameLen + 1) {
    s = (s + 1) & mask;
    r = s << 4;
    if (tab[r | HASH] !== h || tab[r | LEN] !== nameLen + 1) return longLine(acc, bytes, dv, lineStart, sep, info);
  }
  // Its bytes 12… are pooled from `at` on (table.ts); the words past its end there are another key's.
  const at = tab[r | W3] & ~LONG;
  if (at + 5 > pool.length) return longLine(acc, bytes, dv, lineStart, sep, info);
  const miss =
    (tab[r | W0] ^ x0) | (tab[r | W1] ^ x1) | (tab[r | W2] ^ x2) | (pool[at] ^ x3) |
    ((pool[at + 1] ^ m4) & in4) | ((pool[at + 2] ^ m5) & in5) | ((pool[at + 3] ^ m6) & in6) | ((pool[at + 4] ^ m7) & in7);
  if (miss !== 0) return longLine(acc, bytes, dv, lineStart, sep, info);
  const sepAt = lineStart + nameLen;
  const p = valueAt(dv.getInt32(sepAt + 1, true), dv.getInt32(sepAt + 5, true));
  if (p === BAD) throw badRecord(bytes, lineStart, info, sep, 'bad value');
  update(acc, s, p >> 3);
  return sepAt + 1 + (p & 7);
}

/** Fold the lines of `bytes` into `acc`; `info` only goes to the error paths. */
export function scanSlice(acc: StatsAcc, bytes: Uint8Array, sep: number, info: ChunkInfo | undefined): StatsAcc {
  const sepWord = Math.imul(sep, 0x01010101);
  const len = bytes.length;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // A line starting at or before `lineLimit` has its first 16 bytes, and the
  // 8 bytes after a separator among them, inside the slice.
  const lineLimit = len - 24;

  let pos = 0;
  let grown = true;
  while (grown) {
    // The table is constant in the loop: a call that grows it ends the loop.
    const tab = acc.tab;
    const mask = acc.mask;
    grown = false;
    while (pos <= lineLimit) {
      const lineStart = pos;
      const x0 = dv.getInt32(pos, true);
      const x1 = dv.getInt32((pos + 4) | 0, true);
      if ((x0 & 0xff) <= CR) {
        const c = x0 & 0xff;
        if (c === LF) {
          pos = (pos + 1) | 0;
          continue;
        }
        if (c === CR && (x0 & 0xff00) === LF << 8) {
          pos = (pos + 2) | 0;
          continue;
        }
      }
      // Name: the first 16 bytes, with no branch on where the separator is.
      // t0-t3 flag the separator's bytes (SWAR zero-byte test on word ^
      // sepWord; the lowest flag of a word is exact); a1-a3 are -1 while no
      // earlier word has one; m0-m3 are the words zero-padded after the
      // separator, and h their hash (table.ts).
      let y = x0 ^ sepWord;
      const t0 = (y - 0x01010101) & ~y & 0x80808080;
      y = x1 ^ sepWord;
      const t1 = (y - 0x01010101) & ~y & 0x80808080;
      const x2 = dv.getInt32((pos + 8) | 0, true);
      const x3 = dv.getInt32((pos + 12) | 0, true);
      y = x2 ^ sepWord;
      const t2 = (y - 0x01010101) & ~y & 0x80808080;
      y = x3 ^ sepWord;
      const t3 = (y - 0x01010101) & ~y & 0x80808080;
      if ((t0 | t1 | t2 | t3) === 0) {
        pos = midLine(acc, bytes, dv, lineStart, sep, info, x0, x1, x2, x3) | 0;
        if (acc.tab !== tab) {
          grown = true;
          break;
        }
        continue;
      }
      const a1 = ~((t0 | -t0) >> 31);
      const a2 = a1 & ~((t1 | -t1) >> 31);
      const a3 = a2 & ~((t2 | -t2) >> 31);
      const b0 = t0 & -t0;
      const b1 = t1 & -t1;
      const b2 = t2 & -t2;
      const b3 = t3 & -t3;
      const m0 = x0 & ((b0 >>> 7) - 1);
      const m1 = x1 & ((b1 >>> 7) - 1) & a1;
      const m2 = x2 & ((b2 >>> 7) - 1) & a2;
      const m3 = x3 & ((b3 >>> 7) - 1) & a3;
      const first = b0 | (b1 & a1) | (b2 & a2) | (b3 & a3);
      const nameLen = (a1 & 4) + (a2 & 4) + (a3 & 4) + ((31 - Math.clz32(first)) >>> 3);
      let h = Math.imul(m0, P0) ^ Math.imul(m1, P1) ^ Math.imul(m2, P2) ^ Math.imul(m3, P3) ^ nameLen;
      h ^= h >>> 15;
      h = Math.imul(h, F1);
      h ^= h >>> 13;
      // The key at the home slot, then at the next one: W0-W3 hold the length
      // too (table.ts), so `miss` is 0 exactly when it is this name.
      const k3 = m3 | ((nameLen + 1) << 24);
      let s = h & mask;
      let r = s << 4; // s * REC
      let miss = (tab[r | W0] ^ m0) | (tab[r | W1] ^ m1) | (tab[r | W2] ^ m2) | (tab[r | W3] ^ k3);
      if (miss !== 0) {
        s = (s + 1) & mask;
        r = s << 4;
        miss = (tab[r | W0] ^ m0) | (tab[r | W1] ^ m1) | (tab[r | W2] ^ m2) | (tab[r | W3] ^ k3);
      }

      // Value: [-]d.d or [-]dd.d, then \n or \r\n, all in the 8 bytes after
      // the separator (valueAt, inlined by hand): `w` holds the 4 bytes after
      // the sign, `e` the ones after those.
      const j = (pos + nameLen + 1) | 0;
      const lo = dv.getInt32(j, true);
      const hi = dv.getInt32((j + 4) | 0, true);
      let w = lo;
      let e = hi;
      let neg = 0;
      if ((lo & 0xff) === MINUS) {
        neg = 1;
        w = (lo >>> 8) | (hi << 24);
        e = hi >>> 8;
      }
      // `short`: byte 2 is a digit, so the form is d.d, not dd.d; `aa` is
      // then "0d.d", else "dd.d": one check of its digits and dot for both
      // forms, without a branch on which (real data mixes them at random).
      const short = (w >>> 20) & 1;
      const form = -short;
      const aa = w ^ ((w ^ ((w << 8) | ZERO)) & form);
      if ((((aa & 0xf0fff0f0) ^ 0x302e3030) | (((aa + 0x06000606) & 0x10001010) ^ 0x10001010)) !== 0) {
        throw badRecord(bytes, lineStart, info, sep, 'bad value');
      }
      let v = (aa & 0xf) * 100 + ((aa >>> 8) & 0xf) * 10 + ((aa >>> 24) & 0xf);
      v = (v ^ -neg) + neg;
      // The two bytes after the value: bytes 3 of `w` and 0 of `e`, or 0-1 of `e`.
      const ends = ((((w >>> 24) | (e << 8)) & form) | (e & ~form)) & 0xffff;
      pos = (j + neg + 5 - short) | 0;
      if ((ends & 0xff) !== LF) {
        if (ends !== (CR | (LF << 8))) throw badRecord(bytes, lineStart, info, sep, 'bad value');
        pos = (pos + 1) | 0;
      }

      if (miss !== 0) {
        recordMiss(acc, bytes, lineStart, nameLen, h, v, info, sep);
        if (acc.tab !== tab) {
          grown = true;
          break;
        }
        continue;
      }
      const mm = tab[r | MINMAX];
      if (v < (mm << 16) >> 16) tab[r | MINMAX] = (mm & ~0xffff) | (v & 0xffff);
      else if (v > mm >> 16) tab[r | MINMAX] = (mm & 0xffff) | (v << 16);
      const x = (tab[r | ROWS] + ROW_STEP + v) | 0;
      tab[r | ROWS] = x;
      if (x >= ROWS_FLUSH) flush(acc, s);
    }
  }

  // The last few lines, where word reads could overrun.
  while (pos < len) {
    const c = bytes[pos];
    if (c === LF) pos++;
    else if (c === CR && (pos + 1 === len || bytes[pos + 1] === LF)) pos += 2;
    else pos = slowLine(acc, bytes, pos, sep, info);
  }
  return acc;
}

/**
 * Every path of `scanSlice` over a small made-up input (names of every length
 * past the long-name limit, ASCII or not; values of each pattern and sign; LF
 * and CRLF; empty lines; new and known names; other slots, growth; a flush;
 * the tail loop), in short slices, so that all of it has type feedback before
 * TurboFan compiles the loop and no rare path deoptimizes it later.
 */
export function warmUp(): void {
  const names: string[] = [];
  for (let k = 0; k < 48; k++) {
    // Lengths 1-40 (the separator in each of the first words and past them), some not ASCII.
    const len = 1 + ((k * 7) % 40);
    const stem = `${k % 5 === 0 ? 'Ö' : 'S'}${k}-`;
    names.push((stem + 'abcdefghij'.repeat(4)).slice(0, len));
  }
  names.push('L'.repeat(layout.FAST_NAME_MAX + 20));
  const lines: string[] = [];
  for (let k = 0; k < 400; k++) {
    const name = names[(k * 13) % names.length];
    const tenths = ((k * 7919) % 1999) - 999; // -99.9 … 99.9: d.d and dd.d, both signs
    const a = Math.abs(tenths);
    const value = `${tenths < 0 ? '-' : ''}${Math.floor(a / 10)}.${a % 10}`;
    const eol = k % 17 === 0 ? '\r\n' : '\n';
    lines.push(`${name};${value}${eol}${k % 29 === 0 ? '\n' : ''}${k % 31 === 0 ? '\r\n' : ''}`);
  }
  // Stations past a flush of their packed counters, in the loop and in update().
  for (let k = 0; k < 600; k++) lines.push(`Flush;${k % 10}.${k % 7}\n`, `Flush-a-long-name;${k % 7}.${k % 10}\n`);
  // Reassign the fields that growth replaces before anything compiles: code
  // compiled while they were never reassigned is thrown away when they are.
  const spare = createAcc(SEMICOLON, 8, 8);
  spare.tab = table.newTable(16, layout.REC);
  spare.num = new Float64Array(spare.tab.buffer);
  spare.mask = 15;
  spare.pool = new Int32Array(16);
  spare.poolUsed = 1;
  spare.size = 1;
  const buf = Buffer.from(lines.join(''));
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  for (let pass = 0; pass < 3; pass++) {
    // A small table and pool, so that 50 names grow both and miss their home slots.
    const acc = createAcc(SEMICOLON, 16, 16);
    let from = 0;
    for (let k = 0; from < bytes.length; k++) {
      // 1 to 40 lines a slice; in the last pass the last slice ends without its newline.
      let to = from;
      for (let n = 1 + ((k * 11 + pass * 5) % 40); n > 0 && to < bytes.length; n--) {
        const nl = bytes.indexOf(LF, to);
        to = nl < 0 ? bytes.length : nl + 1;
      }
      const end = pass === 2 && to === bytes.length ? to - 1 : to;
      scanSlice(acc, bytes.subarray(from, end), SEMICOLON, undefined);
      from = to;
    }
  }
}
