// The 1BRC job against a plain reference (strings, Map, BigInt means): on
// generated data, hand-written edge cases, random inputs, any split into
// chunks merged in any order, and accumulators that crossed structuredClone.
// Generous timeouts: these run alongside benchmarks on a small machine.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChunkInfo } from '../src/types.js';
import job, { formatStats, type StatsAcc, type StatsRow } from '../src/jobs/stats.ts';
import { statsReference } from './fixtures/reference.js';
import { generate1brc } from '../dist/src/gen.js';
import { hashBytes } from '../src/jobs/table.ts';

const enc = new TextEncoder();
const bytesOf = (s: string): Uint8Array => enc.encode(s);

function info(start: number, len: number, params?: unknown): ChunkInfo {
  return { index: 0, start, end: start + len, fileIndex: 0, file: 'input.txt', params };
}

function run(bytes: Uint8Array, params?: unknown): StatsRow[] {
  const acc = job.init(params);
  job.map(acc, bytes, info(0, bytes.length, params));
  return job.finish(acc);
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

/** Map each [cuts[k], cuts[k+1]) on its own accumulator, merge in a random order. */
function runSplit(bytes: Uint8Array, cuts: number[], rand: () => number, params?: unknown): StatsRow[] {
  const accs: StatsAcc[] = [];
  for (let k = 0; k + 1 < cuts.length; k++) {
    const acc = job.init(params);
    job.map(acc, bytes.subarray(cuts[k], cuts[k + 1]), info(cuts[k], cuts[k + 1] - cuts[k], params));
    accs.push(acc);
  }
  shuffle(accs, rand);
  return job.finish(accs.reduce((a, b) => job.merge(a, b), job.init(params)));
}

function randomValue(rand: () => number): string {
  const t = Math.floor(rand() * 1999) - 999;
  const a = Math.abs(t);
  return `${t < 0 ? '-' : ''}${Math.floor(a / 10)}.${a % 10}`;
}

/** Filler lines so that the lines before them go through the fast path. */
const FILLER = 'zz filler;1.0\n'.repeat(40);

function expectBadRecord(fn: () => unknown, offset: number): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a throw').toBeInstanceOf(Error);
  const err = caught as Error & { code?: string; offset?: number };
  expect(err.code).toBe('ERR_PAGEWISE_BAD_RECORD');
  expect(err.offset).toBe(offset);
  expect(err.message).toContain(`byte offset ${offset}`);
}

let dir: string;
let gen413: Uint8Array;
let gen10k: Uint8Array;
let genLong: Uint8Array;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pagewise-stats-'));
  await generate1brc({ out: join(dir, '413.txt'), rows: 50_000, stations: 413, seed: 7 });
  await generate1brc({ out: join(dir, '10k.txt'), rows: 50_000, stations: 10000, seed: 7 });
  gen413 = readFileSync(join(dir, '413.txt'));
  gen10k = readFileSync(join(dir, '10k.txt'));
  await generate1brc({ out: join(dir, 'long.txt'), rows: 200_000, stations: 413, seed: 8 });
  genLong = readFileSync(join(dir, 'long.txt'));
}, 120_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('stats job: generated data', { timeout: 120_000 }, () => {
  // First in the file on purpose: a thread's first map call over 2 MiB or
  // more runs the JIT warm-up (made-up lines through the same scan, with
  // their own accumulators) before the real slice. It must leave no trace.
  it('matches the reference when the first slice is long enough to warm up on', () => {
    expect(genLong.length).toBeGreaterThanOrEqual(2 << 20);
    const expected = statsReference(genLong);
    expect(run(genLong)).toEqual(expected);
    expect(run(gen413)).toEqual(statsReference(gen413));
  });

  it('matches the reference on 413 stations', () => {
    const expected = statsReference(gen413);
    expect(expected.length).toBe(413);
    const got = run(gen413);
    expect(got).toEqual(expected);
    expect(formatStats(got)).toBe(formatStats(expected));
  });

  it('matches the reference on 10,000 stations', () => {
    const expected = statsReference(gen10k);
    expect(expected.length).toBeGreaterThan(9000);
    expect(run(gen10k)).toEqual(expected);
  });

  it('gives the same result for a plain Uint8Array, a Buffer and an offset view', () => {
    const expected = statsReference(gen413);
    const plain = new Uint8Array(gen413);
    expect(run(plain)).toEqual(expected);
    const padded = new Uint8Array(gen413.length + 13);
    padded.set(gen413, 5);
    expect(run(padded.subarray(5, 5 + gen413.length))).toEqual(expected);
  });

  it('is the same split at random line boundaries, merged in random order', () => {
    const rand = rng(1);
    const all = lineBoundaries(gen10k);
    const expected = statsReference(gen10k);
    for (let round = 0; round < 4; round++) {
      const inner = shuffle(all.slice(1, -1), rand)
        .slice(0, 1 + Math.floor(rand() * 60))
        .sort((a, b) => a - b);
      const cuts = [0, ...inner, gen10k.length];
      expect(runSplit(gen10k, cuts, rand)).toEqual(expected);
    }
  });

  it('is the same with one accumulator per line, merged in random order', () => {
    const slice = gen413.subarray(0, lineBoundaries(gen413)[400]);
    expect(runSplit(slice, lineBoundaries(slice), rng(2))).toEqual(statsReference(slice));
  });

  it('folds several slices into one accumulator', () => {
    const cuts = lineBoundaries(gen413).filter((_, k, a) => k % 997 === 0 || k === a.length - 1);
    const acc = job.init();
    for (let k = 0; k + 1 < cuts.length; k++) {
      job.map(acc, gen413.subarray(cuts[k], cuts[k + 1]), info(cuts[k], cuts[k + 1] - cuts[k]));
    }
    expect(job.finish(acc)).toEqual(statsReference(gen413));
  });

  it('survives structuredClone mid-way', () => {
    const cuts = lineBoundaries(gen10k);
    const mid = cuts[Math.floor(cuts.length / 2)];
    const third = cuts[Math.floor(cuts.length / 3)];
    const first = job.init();
    job.map(first, gen10k.subarray(0, mid), info(0, mid));
    const cloned = structuredClone(first);
    job.map(cloned, gen10k.subarray(mid), info(mid, gen10k.length - mid));
    expect(job.finish(cloned)).toEqual(statsReference(gen10k));

    const a = job.init();
    job.map(a, gen10k.subarray(0, third), info(0, third));
    const b = job.init();
    job.map(b, gen10k.subarray(third), info(third, gen10k.length - third));
    expect(job.finish(job.merge(structuredClone(b), structuredClone(a)))).toEqual(statsReference(gen10k));
  });
});

describe('stats job: edge cases', { timeout: 120_000 }, () => {
  /** Check `text` alone (slow tail path) and followed by filler lines (fast path). */
  function check(text: string, params?: unknown, sep = ';'): StatsRow[] {
    const got = run(bytesOf(text), params);
    expect(got).toEqual(statsReference(bytesOf(text), sep));
    const filler = FILLER.replaceAll(';', sep);
    const padded = text.endsWith('\n') || text === '' ? text + filler : `${text}\n${filler}`;
    expect(run(bytesOf(padded), params)).toEqual(statsReference(bytesOf(padded), sep));
    return got;
  }

  it('handles empty input', () => {
    expect(run(new Uint8Array(0))).toEqual([]);
    expect(formatStats(run(new Uint8Array(0)))).toBe('{}\n');
  });

  it('accepts a last line without newline', () => {
    const rows = check('a;1.0\nb;-2.5');
    expect(rows.map((r) => [r.name, r.min])).toEqual([
      ['a', 1],
      ['b', -2.5],
    ]);
    check('x;-99.9');
    check('x;5.0');
  });

  it('accepts CRLF line ends and skips empty lines', () => {
    const rows = check('a;1.0\r\nb;2.0\r\n\r\n\na;3.0\r\n\nb;-4.5\r\n');
    expect(rows).toEqual([
      { name: 'a', min: 1, mean: 2, max: 3, count: 2 },
      { name: 'b', min: -4.5, mean: -1.2, max: 2, count: 2 },
    ]);
    check('\n\n\r\na;1.0\r\n');
    check('a;1.0\r');
    check('a;12.3\r\nb;-1.0\r');
  });

  it('parses -0.0 as 0 and prints 0.0', () => {
    const rows = check('z;-0.0\nz;0.0\n');
    expect(rows).toEqual([{ name: 'z', min: 0, mean: 0, max: 0, count: 2 }]);
    expect(formatStats(rows)).toBe('{z=0.0/0.0/0.0}\n');
  });

  it('rounds means half up, exactly', () => {
    expect(check('p;0.1\np;0.2\n')[0].mean).toBe(0.2);
    expect(check('n;-0.1\nn;-0.2\n')[0].mean).toBe(-0.1);
    expect(check('m;-0.1\nm;-0.3\nm;0.1\n')[0].mean).toBe(-0.1); // -1/3 -> -0.1
    expect(check('q;99.9\nq;99.8\n')[0].mean).toBe(99.9); // 99.85 -> 99.9
    expect(check('r;-99.9\nr;-99.8\n')[0].mean).toBe(-99.8); // -99.85 -> -99.8
    expect(formatStats(check('n;-0.1\nn;-0.2\n'))).toBe('{n=-0.2/-0.1/-0.1}\n');
  });

  it('handles every value form', () => {
    check('a;0.0\na;9.9\na;-9.9\na;10.0\na;-10.0\na;99.9\na;-99.9\na;01.5\n');
  });

  it('handles names of every length around the word boundaries', () => {
    const lines: string[] = [];
    for (let len = 0; len <= 40; len++) {
      const name = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG'.slice(0, len);
      lines.push(`${name};${(len % 20) - 10}.5`, `${name};3.${len % 10}`);
    }
    // Same prefixes, different tails; same tails, different prefixes.
    lines.push('Saint-Denis;1.0', 'Saint-Louis;2.0', 'Saint-Denis-de-la-Réunion;3.0', 'Saint-Denis-de-la-Reunion;4.0');
    const rows = check(lines.join('\n') + '\n');
    expect(rows.length).toBe(45);
  });

  it('handles multi-byte UTF-8 names and sorts by bytes', () => {
    const names = ['Zürich', 'Zurich', '東京', 'Αθήνα', 'São Paulo', 'Ñuñoa', 'Île-de-France', 'İzmir', '🌡️ probe', 'ab', 'aß', 'a'];
    const text = names.map((n, k) => `${n};${k}.${k % 10}\n${n};-${k}.1\n`).join('');
    const rows = check(text);
    expect(rows.map((r) => r.name)).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    // Byte order, not locale order: 'Zurich' < 'Zürich' < 'a' …
    expect(rows.map((r) => r.name).indexOf('Zürich')).toBeLessThan(rows.map((r) => r.name).indexOf('a'));
  });

  it('handles names of 100 bytes and longer', () => {
    const n100 = 'é'.repeat(50); // 100 bytes
    const n99 = 'x' + 'é'.repeat(49);
    const n150 = 'y'.repeat(150); // longer than the fast path scans
    const n300 = 'ü'.repeat(150);
    check(`${n100};1.0\n${n99};2.0\n${n150};3.0\n${n100};-4.0\n${n300};5.5\n${n150};-6.6\n`);
  });

  it('keeps names apart when their hashes collide', () => {
    // The job's own hash (src/jobs/table.ts), to search for colliding pairs.
    const hashOf = (name: string): number => {
      const b = Buffer.from(name);
      return hashBytes(b, 0, b.length);
    };
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const rand = rng(4);
    const randomText = (len: number): string => {
      let out = '';
      for (let i = 0; i < len; i++) out += alphabet[Math.floor(rand() * alphabet.length)];
      return out;
    };
    // Birthday search: ~77k names give a 50% chance of a 32-bit collision.
    const findPair = (make: () => string): [string, string] => {
      const seen = new Map<number, string>();
      for (let k = 0; k < 2_000_000; k++) {
        const name = make();
        const h = hashOf(name);
        const other = seen.get(h);
        if (other !== undefined && other !== name) return [other, name];
        seen.set(h, name);
      }
      throw new Error('no collision found');
    };
    // Short names with the same first word (9 bytes: the 2nd and 3rd inline
    // words differ) and long names with the same first 12 bytes and length
    // (only the later words differ).
    const short = findPair(() => `abcd${randomText(5)}`);
    const long = findPair(() => `Collision-Ab${randomText(7)}`);
    // 30 bytes, the same but for words 6 and 7 (bytes 24-29): midLine's compares of the pooled words.
    const mid = findPair(() => `${'Collision-Ab'.padEnd(24, '-')}${randomText(6)}`);
    const names = [...short, ...long, ...mid];
    const lines = names.flatMap((name, k) => [`${name};${k}.5`, `${name};-${k}.5`]);
    const text = bytesOf(`${lines.join('\n')}\n${FILLER}`);
    expect(run(text)).toEqual(statsReference(text));
    // Both names of each pair are stored, under the same hash.
    const acc = job.init();
    job.map(acc, text, info(0, text.length));
    for (const pair of [short, long, mid]) {
      let stored = 0;
      for (let s = 0; s <= acc.mask; s++) if (acc.tab[s * 16 + 1] !== 0 && acc.tab[s * 16] === hashOf(pair[0])) stored++;
      expect(stored).toBe(2);
    }
  });

  it('accepts an empty name', () => {
    expect(check(';1.0\nx;2.0\n;3.0\n')[0]).toEqual({ name: '', min: 1, mean: 2, max: 3, count: 2 });
  });

  it('grows past 10,000 distinct names', () => {
    const rand = rng(3);
    const lines: string[] = [];
    for (let i = 0; i < 25_000; i++) {
      const name = i % 3 === 0 ? `s${i}` : i % 3 === 1 ? `station number ${i}` : `Ștație-${i}-${'q'.repeat(i % 30)}`;
      lines.push(`${name};${randomValue(rand)}`);
      if (i % 7 === 0) lines.push(`${name};${randomValue(rand)}`);
    }
    shuffle(lines, rand);
    const text = bytesOf(lines.join('\n') + '\n');
    const rows = run(text);
    expect(rows.length).toBe(25_000);
    expect(rows).toEqual(statsReference(text));
    // Also when the growth happens in pieces that are then merged.
    const all = lineBoundaries(text);
    const cuts = [0, all[5000], all[12_000], text.length];
    expect(runSplit(text, cuts, rand)).toEqual(statsReference(text));
  });

  it('takes another separator from params', () => {
    const text = 'a,1.0\nb c,-2.0\na,3.0\n';
    const rows = check(text, { sep: 0x2c }, ',');
    expect(rows).toEqual([
      { name: 'a', min: 1, mean: 2, max: 3, count: 2 },
      { name: 'b c', min: -2, mean: -2, max: -2, count: 1 },
    ]);
    check('a\t1.0\nb;c\t-2.0\n', { sep: 9 }, '\t');
    check('a|1.0\nb;c|-2.0\n', { sep: '|' }, '|');
    // A ';' is part of the name when the separator is something else.
    expect(run(bytesOf('x;y,1.5\n'), { sep: 0x2c })[0].name).toBe('x;y');
  });

  it('rejects a bad separator parameter', () => {
    expect(() => job.init({ sep: 10 })).toThrow(RangeError);
    expect(() => job.init({ sep: 256 })).toThrow(RangeError);
    expect(() => job.init({ sep: 'ab' })).toThrow(TypeError);
  });

  const bad = [
    'abc',
    'a;',
    'a;1',
    'a;1.',
    'a;.5',
    'a;1.23',
    'a;123.4',
    'a;-123.4',
    'a;x.y',
    'a;1.2x',
    'a;--1.2',
    'a;+1.2',
    'a; 1.2',
    'a;1.2 ',
    'a;1,2',
    'a;-',
    'a;1.2\r\r',
  ];

  it.each(bad)('throws ERR_PAGEWISE_BAD_RECORD on %j, naming the offset', (line) => {
    const good = 'ok;1.0\nfine;-2.0\n';
    const at = bytesOf(good).length;
    for (const tail of ['', '\n', `\n${FILLER}`]) {
      const text = bytesOf(good + line + tail);
      expectBadRecord(() => job.map(job.init(), text, info(1000, text.length)), 1000 + at);
    }
  });

  it('throws on a line without separator followed by good lines', () => {
    const text = bytesOf(`a;1.0\nno separator here\n${FILLER}`);
    expectBadRecord(() => job.map(job.init(), text, info(0, text.length)), 6);
    const err = (() => {
      try {
        job.map(job.init(), text, info(0, text.length));
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err?.message).toContain('no separator');
  });
});

describe('stats job: the fast loop (src/jobs/stats-scan.ts)', { timeout: 120_000 }, () => {
  /** Lines through the fast loop (followed by filler) and through the slow tail (alone). */
  function both(text: string): StatsRow[] {
    const expected = statsReference(bytesOf(text));
    expect(run(bytesOf(text))).toEqual(expected);
    const padded = bytesOf(`${text}${FILLER}`);
    expect(run(padded)).toEqual(statsReference(padded));
    return expected;
  }

  it('finds the separator at every byte of the first 16, and past them (names of 0-40 bytes)', () => {
    // Every length, with values of every form, each name twice so it is found, not only added.
    const lines: string[] = [];
    for (let len = 0; len <= 40; len++) {
      const name = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop'.slice(0, len);
      lines.push(`${name};${len % 10}.1`, `${name};-${len}.${len % 10}`, `${name};1${len % 10}.0`, `${name};-0.${len % 10}`);
    }
    expect(both(lines.join('\n') + '\n')).toHaveLength(41);
  });

  it('keeps apart names that differ only in length, by NUL bytes, up to and past 16 bytes', () => {
    // Byte 15 of a short key holds its length: "a", "a\0", "a\0\0", … must stay apart.
    const lines: string[] = [];
    for (let len = 1; len <= 20; len++) {
      const name = `a${'\u0000'.repeat(len - 1)}`;
      for (let k = 0; k < 3; k++) lines.push(`${name};${len}.${k}`);
    }
    lines.push(';1.0', ';2.0'); // the empty name too
    const rows = both(lines.join('\n') + '\n');
    expect(rows).toHaveLength(21);
    expect(rows.every((r) => r.count === (r.name === '' ? 2 : 3))).toBe(true);
  });

  it('compares names of 16, 17 and more bytes that share their first 16 bytes and their length', () => {
    // Only their pooled words (bytes 12 on) tell them apart.
    const stem = 'Sixteen-byte-stm';
    const names = [stem, `${stem}a`, `${stem}b`, `${stem}ab`, `${stem}ba`, `${stem}${'x'.repeat(20)}`, `${stem}${'x'.repeat(19)}y`];
    const lines = names.flatMap((n, k) => [`${n};${k}.5`, `${n};-${k}.5`, `${n};${k}${k}.0`]);
    const rows = both(lines.join('\n') + '\n');
    expect(rows).toHaveLength(names.length);
  });

  it('finds a name at its home slot, at the next one and further on', () => {
    // Names whose hashes pick the same home slot of a fresh accumulator: the
    // first sits at home, the second at the next slot, the rest further on.
    const mask = job.init().mask;
    const byHome = new Map<number, string[]>();
    for (let k = 0; ; k++) {
      const name = `n${k}`;
      const home = hashBytes(Buffer.from(name), 0, name.length) & mask;
      const list = byHome.get(home) ?? [];
      list.push(name);
      byHome.set(home, list);
      if (list.length === 4) {
        const lines: string[] = [];
        for (let rep = 0; rep < 5; rep++) list.forEach((n, i) => lines.push(`${n};${rep}.${i}`));
        expect(both(lines.join('\n') + '\n')).toHaveLength(4);
        return;
      }
    }
  });

  it('finds names of 16-31 bytes (midLine) at their home slot, the next one and further on, apart when only their last word differs', () => {
    const mask = job.init().mask;
    const lines: string[] = [];
    for (let len = 16; len <= 32; len++) {
      // Four names of this length with one home slot: the third and fourth are past the two midLine looks at.
      const byHome = new Map<number, string[]>();
      for (let k = 0; ; k++) {
        // Some not ASCII: 'é' is two bytes.
        const prefix = len % 3 === 0 ? 'é' : '';
        const name = prefix + `${k}`.padStart(len - Buffer.byteLength(prefix), 'm');
        const bytes = Buffer.from(name);
        const home = hashBytes(bytes, 0, len) & mask;
        const list = byHome.get(home) ?? [];
        list.push(name);
        byHome.set(home, list);
        if (list.length === 4) {
          for (let rep = 0; rep < 3; rep++) list.forEach((n, i) => lines.push(`${n};${rep}.${i}`, `${n};-${i}${rep}.${len % 10}`));
          break;
        }
      }
      // Names that differ only in their last byte: in word 4, 5, 6 or 7, or past them (32 bytes).
      const stem = 'L'.repeat(len - 1);
      lines.push(`${stem}a;1.0`, `${stem}b;2.0`, `${stem}a;3.0\r`, `${stem}b;-4.0`);
    }
    const rows = both(lines.join('\n') + '\n');
    expect(rows).toHaveLength(17 * 6);
  });

  it('keeps exact counts and sums across the flushes of its packed counters (every 512 rows)', () => {
    // 5,000 rows of one station at the extremes, another with -0.1 only, split and cloned.
    const lines: string[] = [];
    for (let k = 0; k < 5000; k++) lines.push(`Hot;${k % 3 === 0 ? '-99.9' : '99.9'}`, 'Cold;-0.1');
    const text = bytesOf(lines.join('\n') + '\n');
    const expected = statsReference(text);
    expect(run(text)).toEqual(expected);
    const all = lineBoundaries(text);
    expect(runSplit(text, [0, all[1023], all[4097], all[9000], text.length], rng(5))).toEqual(expected);
    const acc = job.init();
    job.map(acc, text.subarray(0, all[1500]), info(0, all[1500]));
    const cloned = structuredClone(acc);
    job.map(cloned, text.subarray(all[1500]), info(all[1500], text.length - all[1500]));
    expect(job.finish(cloned)).toEqual(expected);
  });

  // Millions of short strings through the job and the reference: 36 s on a slow host.
  it('accepts exactly the values the reference accepts, with LF or CRLF (every string of 0-5 bytes over a small alphabet)', { timeout: 180_000 }, () => {
    // The fast loop parses a value from two word reads; compare it with the
    // reference's /^-?\d{1,2}\.\d$/ on every short string over bytes that
    // matter: sign, dot, digits at both ends, their neighbours, CR, LF.
    const alphabet = ['-', '.', '0', '9', '/', ':', '\r', '\n', '5'];
    let candidates = [''];
    const all: string[] = [''];
    for (let n = 1; n <= 5; n++) {
      candidates = candidates.flatMap((c) => alphabet.map((a) => c + a));
      all.push(...candidates);
    }
    const valid = /^-?\d{1,2}\.\d\r?(\n|$)/;
    let accepted = 0;
    for (const [k, value] of all.entries()) {
      // A short name through the fast loop; every 5th value and every valid
      // one also at the slice's end (the slow tail) and after a long name.
      const configs = [['Oslo', `\n${FILLER}`]];
      if (k % 5 === 0 || valid.test(value)) configs.push(['Oslo', ''], ['Petropavlovsk-Kamchatsky', `\n${FILLER}`]);
      for (const [name, tail] of configs) {
        const text = bytesOf(`${name};${value}${tail}`);
        let expected: StatsRow[] | undefined;
        try {
          expected = statsReference(text);
        } catch {
          expected = undefined;
        }
        if (expected === undefined) {
          let code: string | undefined;
          try {
            run(text);
          } catch (err) {
            code = (err as { code?: string }).code;
          }
          expect(code, JSON.stringify(value)).toBe('ERR_PAGEWISE_BAD_RECORD');
        } else {
          accepted++;
          expect(run(text), JSON.stringify(value)).toEqual(expected);
        }
      }
    }
    expect(accepted).toBeGreaterThan(300);
  });
});

describe('stats job: random inputs (fast-check)', { timeout: 120_000 }, () => {
  const nameArb = fc.constantFrom(
    '',
    'a',
    'Oslo',
    'Abéché',
    'Zürich',
    '東京都',
    'Hamburg',
    'Hamburg2',
    'St. John’s',
    'Saint-Denis',
    'Saint-Louis',
    'Washington, D.C.',
    'Łódź Voivodeship Station',
    'x'.repeat(99),
    'é'.repeat(50),
  );
  const lineArb = fc.record({
    name: nameArb,
    tenths: fc.integer({ min: -999, max: 999 }),
    crlf: fc.boolean(),
    blankBefore: fc.boolean(),
  });

  it('matches the reference for any lines and any split, merged in any order', () => {
    fc.assert(
      fc.property(
        fc.array(lineArb, { minLength: 0, maxLength: 120 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.integer(),
        (lines, trailingNewline, cutPicks, seed) => {
          const text =
            lines
              .map(({ name, tenths, crlf, blankBefore }) => {
                const a = Math.abs(tenths);
                const value = `${tenths < 0 ? '-' : ''}${Math.floor(a / 10)}.${a % 10}`;
                return `${blankBefore ? '\n' : ''}${name};${value}${crlf ? '\r' : ''}`;
              })
              .join('\n') + (trailingNewline && lines.length > 0 ? '\n' : '');
          const bytes = bytesOf(text);
          const expected = statsReference(bytes);
          expect(run(bytes)).toEqual(expected);
          const all = lineBoundaries(bytes);
          const inner = [...new Set(cutPicks.map((p) => all[p % all.length]))].sort((x, y) => x - y);
          const cuts = [...new Set([0, ...inner, bytes.length])].sort((x, y) => x - y);
          expect(runSplit(bytes, cuts, rng(seed))).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('formatStats', { timeout: 120_000 }, () => {
  it('prints one decimal, never -0.0, entries separated by ", "', () => {
    expect(formatStats([])).toBe('{}\n');
    expect(
      formatStats([
        { name: 'Abha', min: -23, mean: 18, max: 59.2, count: 3 },
        { name: 'Zürich', min: -0.3, mean: 0, max: 12, count: 2 },
        { name: 'x', min: -99.9, mean: -0.1, max: 99.9, count: 2 },
      ]),
    ).toBe('{Abha=-23.0/18.0/59.2, Zürich=-0.3/0.0/12.0, x=-99.9/-0.1/99.9}\n');
    expect(formatStats([{ name: 'n', min: -0, mean: -0, max: 0.1, count: 1 }])).toBe('{n=0.0/0.0/0.1}\n');
    expect(formatStats([{ name: 'f', min: 0.30000000000000004, mean: 1.1, max: 2.2, count: 1 }])).toBe('{f=0.3/1.1/2.2}\n');
  });
});
