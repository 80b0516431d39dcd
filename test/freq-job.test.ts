// The word-frequency job against a plain reference (latin1 strings split on
// the six white-space bytes, a Map, Buffer.compare for ties): hand-written
// edge cases, random inputs with multi-byte UTF-8 and control bytes, line-
// aligned slices mapped into separate accumulators and merged in random
// order, accumulators that crossed structuredClone, table and pool growth,
// and words whose hashes collide.
import { describe, expect, it } from 'vitest';
import type { ChunkInfo } from '../src/types.js';
import job, { type FreqAcc, type FreqRow } from '../src/jobs/freq.ts';
import { freqReference } from './fixtures/reference.js';
import { hashBytes } from '../src/jobs/table.ts';

function info(start: number, len: number, params?: unknown): ChunkInfo {
  return { index: 0, start, end: start + len, fileIndex: 0, file: 'input.txt', params };
}

const bytesOf = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const latin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function run(bytes: Uint8Array, params?: { top?: number }): FreqRow[] {
  const acc = job.init(params);
  job.map(acc, bytes, info(0, bytes.length, params));
  return job.finish(acc, params);
}

/** Deterministic PRNG for test data (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** Offsets just past every `\n` (line starts), plus 0 and the end. */
function lineBoundaries(bytes: Uint8Array): number[] {
  const cuts = [0];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10 && i + 1 < bytes.length) cuts.push(i + 1);
  cuts.push(bytes.length);
  return cuts;
}

/** A random subset of the line boundaries (always 0 and the end). */
function someBoundaries(bytes: Uint8Array, rand: () => number, keep: number): number[] {
  const all = lineBoundaries(bytes);
  return all.filter((c, k) => k === 0 || k === all.length - 1 || rand() < keep);
}

/**
 * Map the slices [cuts[k], cuts[k+1]): runs of consecutive slices share an
 * accumulator, some accumulators are structuredCloned mid-way (mapping goes
 * on into the clone), then all are merged in a random order.
 */
function runSplit(bytes: Uint8Array, cuts: number[], rand: () => number, params?: { top?: number }): FreqRow[] {
  const accs: FreqAcc[] = [];
  let acc = job.init(params);
  for (let k = 0; k + 1 < cuts.length; k++) {
    job.map(acc, bytes.subarray(cuts[k], cuts[k + 1]), info(cuts[k], cuts[k + 1] - cuts[k], params));
    const r = rand();
    if (r < 0.2) acc = structuredClone(acc);
    else if (r < 0.6) {
      accs.push(acc);
      acc = job.init(params);
    }
  }
  accs.push(acc);
  shuffle(accs, rand);
  const cloned = accs.map((a) => (rand() < 0.5 ? structuredClone(a) : a));
  return job.finish(
    cloned.reduce((a, b) => job.merge(a, b), job.init(params)),
    params,
  );
}

const SEPARATORS = [' ', '\t', '\n', '\v', '\f', '\r', '\r\n', '  ', '\n\n'];
const PIECES = ['a', 'b', 'z', 'A', 'é', 'e\u0301', '日本', '日', '😀', '\uff21', 'ß', '\u00a0', '\u0085', '\u0000', '\u0001', '\u001f', ';', '-12.3', '0'];

/** Random text of `words` words built from PIECES (1 to `maxPieces` each), random separators. */
function randomText(rand: () => number, words: number, maxPieces: number): string {
  const out: string[] = [];
  if (rand() < 0.3) out.push(SEPARATORS[Math.floor(rand() * SEPARATORS.length)]);
  for (let w = 0; w < words; w++) {
    const n = 1 + Math.floor(rand() * rand() * maxPieces);
    for (let p = 0; p < n; p++) out.push(PIECES[Math.floor(rand() * rand() * PIECES.length)]);
    out.push(SEPARATORS[Math.floor(rand() * SEPARATORS.length)]);
  }
  if (rand() < 0.5) out.pop(); // sometimes no white space at the end
  return out.join('');
}

describe('freq job: edge cases', () => {
  it('returns [] for empty and white-space-only input, and for top 0', () => {
    expect(run(new Uint8Array(0))).toEqual([]);
    expect(run(bytesOf(' \t\n\v\f\r \r\n   '))).toEqual([]);
    expect(run(bytesOf('a b a'), { top: 0 })).toEqual([]);
    expect(job.finish(job.init(), { top: 5 })).toEqual([]);
  });

  it('counts words as wc does and defaults to the top 10', () => {
    const text = bytesOf('b a c\ta\nb\r\nzz a\vb  é é é é\fq\rr\n');
    expect(run(text, { top: 3 })).toEqual([
      { word: 'é', count: 4 },
      { word: 'a', count: 3 },
      { word: 'b', count: 3 },
    ]);
    expect(run(text)).toEqual(freqReference(text));
    expect(run(text).length).toBe(7);
    const many = bytesOf(Array.from({ length: 30 }, (_, k) => `w${k}`).join(' '));
    expect(run(many)).toEqual(freqReference(many, 10));
    expect(job.finish(job.map(job.init(), many, info(0, many.length)))).toHaveLength(10);
  });

  it('returns every word when top exceeds the number of distinct words', () => {
    const text = bytesOf('x y z x y x 日本 日本 日本 日本\n');
    expect(run(text, { top: 1000 })).toEqual(freqReference(text, 1000));
    expect(run(text, { top: 1000 })).toHaveLength(4);
    expect(run(text, { top: Infinity })).toHaveLength(4);
  });

  it('breaks ties by raw bytes, not by locale or UTF-16 order', () => {
    // Bytes: 'B' (42) < 'a' (61); U+FF21 (EF BC A1) < U+1F600 (F0 9F 98 80),
    // although its UTF-16 code unit (FF21) is above the surrogate D83D.
    const text = bytesOf('a B \uff21 😀 a B \uff21 😀 é e\u0301');
    expect(run(text)).toEqual([
      { word: 'B', count: 2 },
      { word: 'a', count: 2 },
      { word: '\uff21', count: 2 },
      { word: '😀', count: 2 },
      { word: 'e\u0301', count: 1 },
      { word: 'é', count: 1 },
    ]);
    expect(run(text)).toEqual(freqReference(text));
  });

  it('treats only the six ASCII white-space bytes as separators', () => {
    // NUL, other control bytes, NBSP (C2 A0) and NEL (C2 85) are word bytes.
    const text = bytesOf('a\u0000b a\u0000b a\u0001 \u001fq x\u00a0y x\u0085y a a\u0000 a\u0000\u0000 \u0000');
    expect(run(text, { top: 50 })).toEqual(freqReference(text, 50));
    expect(run(text, { top: 50 }).find((r) => r.word === 'a\u0000b')?.count).toBe(2);
  });

  it('decodes invalid UTF-8 like Buffer does and keeps its bytes, counting it by bytes', () => {
    const text = latin1('\xff\xfe \xff\xfe \xc3 \xc3\xa9 \xef\xbb\xbfbom \xef\xbb\xbfbom \xef\xbb\xbfbom\n');
    const rows = run(text, { top: 10 });
    expect(rows).toEqual(freqReference(text, 10));
    expect(rows[0]).toEqual({ word: '\ufeffbom', count: 3 });
    expect(rows[1]).toEqual({ word: '\ufffd\ufffd', count: 2, bytes: new Uint8Array([0xff, 0xfe]) });
    expect(rows.find((r) => r.word === 'é')).toEqual({ word: 'é', count: 1 });
  });

  it('handles words of every length around the inline limits', () => {
    const words: string[] = [];
    for (let len = 1; len <= 40; len++) {
      words.push('x'.repeat(len), `${'y'.repeat(len - 1)}z`, `${'é'.repeat(len >> 1)}${len & 1 ? 'e' : ''}`);
    }
    // Same first 16 bytes, differing later; same bytes but for trailing NULs.
    words.push('abcdefghijklmnopQ', 'abcdefghijklmnopR', 'abcdefghijklmnopQR', 'abcdefghijkl', 'abcdefghijkl\u0000');
    words.push('abcd', 'abcd\u0000', 'abcd\u0000\u0000\u0000\u0000', 'abcdefghijklmnop', 'abcdefghijklmnop\u0000');
    const rand = rng(1);
    const lines: string[] = [];
    for (let k = 0; k < 3000; k++) lines.push(words[Math.floor(rand() * words.length)]);
    for (const tail of ['', '\n', ' ']) {
      for (const last of words) {
        const text = bytesOf(`${lines.join(SEPARATORS[lines.length % SEPARATORS.length])}\n${last}${tail}`);
        expect(run(text, { top: 500 })).toEqual(freqReference(text, 500));
      }
    }
  });

  it('handles words ending exactly at the end of the slice, of every length', () => {
    for (let len = 1; len <= 40; len++) {
      for (const pad of ['', 'a ', 'ab ', 'abc ']) {
        const text = bytesOf(`${pad}${'q'.repeat(len)} ${'q'.repeat(len)}`);
        expect(run(text)).toEqual(freqReference(text));
        const text2 = bytesOf(`${pad}${'q'.repeat(len)}\n`);
        expect(run(text2)).toEqual(freqReference(text2));
      }
    }
  });

  it('handles very long words (pool growth)', () => {
    const long1 = 'L'.repeat(100_000);
    const long2 = `${'L'.repeat(99_999)}M`;
    const text = bytesOf(`${long1} ${long2} ${long1}\n${'日本'.repeat(40_000)} ${long1}`);
    const rows = run(text);
    expect(rows).toEqual(freqReference(text));
    expect(rows[0]).toEqual({ word: long1, count: 3 });
  });

  it('gives the same result for a plain Uint8Array, a Buffer and an offset view', () => {
    const s = randomText(rng(3), 2000, 6);
    const buf = Buffer.from(s);
    const plain = new Uint8Array(buf);
    const padded = new Uint8Array(plain.length + 9);
    padded.set(plain, 5);
    const expected = freqReference(plain, 50);
    expect(run(plain, { top: 50 })).toEqual(expected);
    expect(run(buf, { top: 50 })).toEqual(expected);
    expect(run(padded.subarray(5, 5 + plain.length), { top: 50 })).toEqual(expected);
  });

  it('rejects a negative or non-numeric top', () => {
    expect(() => run(bytesOf('a'), { top: -1 })).toThrow(RangeError);
    expect(() => run(bytesOf('a'), { top: 'x' as unknown as number })).toThrow(RangeError);
  });
});

describe('freq job: random inputs, split and merged', { timeout: 120_000 }, () => {
  it('matches the reference on random texts', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rand = rng(seed);
      const text = bytesOf(randomText(rand, 1 + Math.floor(rand() * 3000), 1 + Math.floor(rand() * 12)));
      const top = Math.floor(rand() * 40);
      expect(run(text, { top }), `seed ${seed}`).toEqual(freqReference(text, top));
    }
  });

  it('is the same mapped slice by slice into separate accumulators, cloned and merged in random order', () => {
    for (let seed = 100; seed < 125; seed++) {
      const rand = rng(seed);
      const text = bytesOf(randomText(rand, 200 + Math.floor(rand() * 3000), 1 + Math.floor(rand() * 10)));
      const cuts = someBoundaries(text, rand, rand());
      const top = 1 + Math.floor(rand() * 60);
      expect(runSplit(text, cuts, rand, { top }), `seed ${seed}`).toEqual(freqReference(text, top));
    }
  });

  it('is the same with one accumulator per line', () => {
    const rand = rng(7);
    const text = bytesOf(randomText(rand, 3000, 5));
    expect(runSplit(text, lineBoundaries(text), rand, { top: 100 })).toEqual(freqReference(text, 100));
  });

  it('survives an accumulator copied field by field', () => {
    const text = bytesOf(randomText(rng(8), 3000, 5));
    const half = lineBoundaries(text)[Math.floor(lineBoundaries(text).length / 2)];
    const acc = job.init();
    job.map(acc, text.subarray(0, half), info(0, half));
    // A copy made field by field: new buffers for the table and the pool.
    const copy: FreqAcc = { ...acc, tab: acc.tab.slice(), pool: acc.pool.slice() };
    job.map(copy, text.subarray(half), info(half, text.length - half));
    expect(job.finish(copy, { top: 30 })).toEqual(freqReference(text, 30));
  });
});

describe('freq job: many distinct words', { timeout: 120_000 }, () => {
  // 1BRC-like lines ("Name;-12.3"), plus long names: >100k distinct words.
  const rand = rng(11);
  const names = ['Hamburg', 'San', 'Francisco', 'Petropavlovsk-Kamchatsky', 'Ouagadougou', 'Łódź', '東京', 'St.', "John's"];
  const lines: string[] = [];
  for (let k = 0; k < 250_000; k++) {
    const t = Math.floor(rand() * 1999) - 999;
    const value = `${t < 0 ? '-' : ''}${Math.floor(Math.abs(t) / 10)}.${Math.abs(t) % 10}`;
    const name = names[Math.floor(rand() * names.length)];
    lines.push(`${name === 'San' ? 'San Francisco' : name}${Math.floor(rand() * 20)};${value}`);
  }
  const text = bytesOf(`${lines.join('\n')}\n`);
  const expectedAll = freqReference(text, Infinity);

  it('grows the table past 100k distinct words', () => {
    expect(expectedAll.length).toBeGreaterThan(100_000);
    const acc = job.init();
    job.map(acc, text, info(0, text.length));
    expect(acc.size).toBe(expectedAll.length);
    expect(job.finish(acc, { top: 25 })).toEqual(expectedAll.slice(0, 25));
    expect(job.finish(acc, { top: 1e9 })).toEqual(expectedAll);
  });

  it('is the same split into slices, cloned and merged in random order', () => {
    const r = rng(12);
    const cuts = someBoundaries(text, r, 0.0005);
    expect(runSplit(text, cuts, r, { top: 40 })).toEqual(expectedAll.slice(0, 40));
    expect(runSplit(text, cuts, r, { top: 1e9 })).toEqual(expectedAll);
  });
});

describe('freq job: hash collisions', () => {
  it('keeps words apart when their hashes collide', () => {
    // The job's own hash (src/jobs/table.ts), to search for colliding pairs.
    const hashOf = (word: string): number => {
      const b = Buffer.from(word);
      return hashBytes(b, 0, b.length);
    };
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const rand = rng(4);
    const randomWord = (len: number): string => {
      let out = '';
      for (let i = 0; i < len; i++) out += alphabet[Math.floor(rand() * alphabet.length)];
      return out;
    };
    // Birthday search: ~77k words give a 50% chance of a 32-bit collision.
    const findPair = (make: () => string): [string, string] => {
      const seen = new Map<number, string>();
      for (let k = 0; k < 2_000_000; k++) {
        const word = make();
        const h = hashOf(word);
        const other = seen.get(h);
        if (other !== undefined && other !== word) return [other, word];
        seen.set(h, word);
      }
      throw new Error('no collision found');
    };
    // Short words (kept in the slot) and long ones (same first 12 bytes and
    // length: only the pooled bytes differ).
    const short = findPair(() => `abcd${randomWord(9)}`);
    const long = findPair(() => `Collision-Ab${randomWord(8)}`);
    // Check the search found real collisions of the job's hash: both words
    // of a pair end up in slots with the same stored hash.
    const words = [...short, ...long];
    const parts: string[] = [];
    words.forEach((w, k) => {
      for (let c = 0; c <= k; c++) parts.push(w);
    });
    const text = bytesOf(shuffle(parts, rand).join('\n'));
    expect(run(text)).toEqual(freqReference(text));
    const acc = job.init();
    job.map(acc, text, info(0, text.length));
    for (const pair of [short, long]) {
      let stored = 0;
      for (let s = 0; s <= acc.mask; s++) if (acc.tab[s * 8 + 1] !== 0 && acc.tab[s * 8] === hashOf(pair[0])) stored++;
      expect(stored).toBe(2);
    }
    // And merging keeps them apart too.
    const b = job.init();
    job.map(b, text, info(0, text.length));
    const merged = job.merge(structuredClone(acc), b);
    expect(job.finish(merged)).toEqual(freqReference(new Uint8Array([...text, 10, ...text])));
  });
});
