// The 1BRC generator: byte-identical output per seed (and the same bytes as
// the single-threaded generator it replaced, whatever the threads), the line
// format, the station sets, and the edge cases (no rows, several blocks).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCK_ROWS, generate1brc, jump } from '../dist/src/gen.js';
import { shutdown } from '../dist/src/index.js';

const dataDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'data');
const LINE = /^[^;\n]{1,100};-?\d{1,2}\.\d$/;

let dir: string;
let n = 0;
const tmp = (): string => join(dir, `m${n++}.txt`);
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Lines of a generated file (it always ends with a newline unless empty). */
function linesOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

function checkLines(lines: string[]): void {
  for (const line of lines) {
    if (!LINE.test(line)) expect.fail(`bad line ${JSON.stringify(line)}`);
    const name = line.slice(0, line.lastIndexOf(';'));
    if (Buffer.byteLength(name) > 100) expect.fail(`name over 100 bytes: ${name}`);
    if (line.endsWith(';-0.0')) expect.fail(`-0.0 in ${line}`);
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pagewise-gen-'));
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await shutdown();
});

/**
 * sha-256 of the single-threaded generator's output (commit 930002d, before
 * gen ran on every thread), for (rows, stations, seed). Several cases span
 * more than one block of BLOCK_ROWS rows and end mid-block or mid-pair.
 */
const PINNED: [number, 413 | 10000, number, number, string][] = [
  [1, 413, 1, 13, 'da984cc0c20f82ebad364c7687e32206d2a30de914a61178730ffd5364d285b1'],
  [7, 413, 5, 88, '09bf6e877b4ffad43098e7f6781f2eaeaba78aa521c01a0f222e4d6413fdd4e3'],
  [30_000, 413, 42, 414_727, 'b130a98762a297c7be175fa7f491f64aedbef8cedd29b40f07defb56b555922f'],
  [700_001, 413, 11, 9_657_523, '1021ea7fc28664d073c8e7e8526b4da9138cf1a5cec04bd5853cd8e43ab50cf2'],
  [1_048_577, 413, 3, 14_461_046, 'efd4f422d36b61a78b59d412130f8e2e2e1a1b97d5fbc9ab9ddcde358bc0a55c'],
  [20_001, 10000, 5, 306_047, 'e60cc947e68b08c9a964032bc478383207f49a866f656a07f90b247557a1cc14'],
  [1_600_001, 10000, 2, -1, '778cfd27eb3217d653c8d92e8972a15e8e965aa8216c70359e632fc5deb86a35'],
];

describe('generate1brc', { timeout: 120_000 }, () => {
  it('writes the bytes the single-threaded generator wrote, on 1 and 2 threads', async () => {
    expect(BLOCK_ROWS % 2).toBe(0);
    for (const [rows, stations, seed, bytes, hash] of PINNED) {
      for (const threads of [1, 2]) {
        const out = tmp();
        const res = await generate1brc({ out, rows, stations, seed, threads });
        if (bytes >= 0) expect(res.bytes).toBe(bytes);
        expect(sha(out), `${rows} rows, ${stations} stations, seed ${seed}, ${threads} threads`).toBe(hash);
      }
    }
  });

  it('jumps the PRNG exactly as far as stepping it would', () => {
    const step = (st: Int32Array): void => {
      const b = st[1];
      const t = b << 9;
      st[2] ^= st[0];
      st[3] ^= b;
      st[1] = b ^ st[2];
      st[0] ^= st[3];
      st[2] ^= t;
      st[3] = (st[3] << 11) | (st[3] >>> 21);
    };
    const start = new Int32Array([0x12345678, -0x789abcd, 0x0badf00d, 42]);
    for (const n of [0, 1, 2, 3, 1000, 4097, 65_536, 1_048_577]) {
      const st = start.slice();
      for (let i = 0; i < n; i++) step(st);
      expect(Array.from(jump(start, n)), `${n} steps`).toEqual(Array.from(st));
    }
  });

  it('replaces an existing file atomically, and an aborted run leaves it as it was', async () => {
    const out = tmp();
    await generate1brc({ out, rows: 1000, seed: 1 });
    const before = sha(out);
    const controller = new AbortController();
    const run = generate1brc({ out, rows: 5_000_000, seed: 2, threads: 2, signal: controller.signal, onProgress: () => controller.abort() });
    await expect(run).rejects.toMatchObject({ code: 'ERR_PAGEWISE_ABORTED' });
    expect(sha(out)).toBe(before);
    await generate1brc({ out, rows: 30_000, seed: 42, threads: 2 });
    expect(sha(out)).toBe(PINNED[2][4]);
  });

  it('writes the same bytes for the same seed and different bytes for another', async () => {
    const [a, b, c, d] = [tmp(), tmp(), tmp(), tmp()];
    await generate1brc({ out: a, rows: 30_000, seed: 42 });
    await generate1brc({ out: b, rows: 30_000, seed: 42 });
    await generate1brc({ out: c, rows: 30_000, seed: 43 });
    await generate1brc({ out: d, rows: 30_000 }); // default seed 1
    expect(sha(a)).toBe(sha(b));
    expect(sha(a)).not.toBe(sha(c));
    expect(sha(a)).not.toBe(sha(d));
    const e = tmp();
    await generate1brc({ out: e, rows: 30_000, seed: 1 });
    expect(sha(e)).toBe(sha(d));
  });

  it('is deterministic for 10,000 stations too', async () => {
    const [a, b, c] = [tmp(), tmp(), tmp()];
    await generate1brc({ out: a, rows: 20_000, stations: 10000, seed: 5 });
    await generate1brc({ out: b, rows: 20_000, stations: 10000, seed: 5 });
    await generate1brc({ out: c, rows: 20_000, stations: 10000, seed: 6 });
    expect(sha(a)).toBe(sha(b));
    expect(sha(a)).not.toBe(sha(c));
  });

  it('writes exactly `rows` well-formed lines from the 413 stations', async () => {
    const out = tmp();
    const res = await generate1brc({ out, rows: 200_000, seed: 3 });
    expect(res).toEqual({ rows: 200_000, bytes: statSync(out).size });
    const lines = linesOf(out);
    expect(lines.length).toBe(200_000);
    checkLines(lines);

    const known = new Map<string, number>();
    for (const line of readFileSync(join(dataDir, 'stations-413.csv'), 'utf8').split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const at = line.lastIndexOf(';');
      known.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
    const sums = new Map<string, { sum: number; count: number }>();
    const unknown = new Set<string>();
    for (const line of lines) {
      const at = line.lastIndexOf(';');
      const name = line.slice(0, at);
      if (!known.has(name)) unknown.add(name);
      const s = sums.get(name) ?? { sum: 0, count: 0 };
      s.sum += Number(line.slice(at + 1));
      s.count++;
      sums.set(name, s);
    }
    expect([...unknown]).toEqual([]);
    // Uniform stations: all 413 appear, about 484 times each.
    expect(sums.size).toBe(413);
    for (const [name, { sum, count }] of sums) {
      expect(count).toBeGreaterThan(300);
      expect(count).toBeLessThan(700);
      // Normal(mean, 10): the sample mean is within 3 (over 6 standard errors).
      expect(Math.abs(sum / count - known.get(name)!)).toBeLessThan(3);
    }
  });

  it('uses 10,000 distinct names of at most 100 bytes', async () => {
    const out = tmp();
    await generate1brc({ out, rows: 200_000, stations: 10000, seed: 9 });
    const lines = linesOf(out);
    expect(lines.length).toBe(200_000);
    checkLines(lines);
    const names = new Set(lines.map((l) => l.slice(0, l.lastIndexOf(';'))));
    expect(names.size).toBeLessThanOrEqual(10_000);
    expect(names.size).toBeGreaterThanOrEqual(9_900);
    expect([...names].some((name) => Buffer.byteLength(name) !== name.length)).toBe(true); // non-ASCII present
  });

  it('writes an empty file for rows = 0', async () => {
    const out = tmp();
    const progress: number[] = [];
    expect(await generate1brc({ out, rows: 0, onProgress: (r) => progress.push(r) })).toEqual({ rows: 0, bytes: 0 });
    expect(statSync(out).size).toBe(0);
    expect(progress).toEqual([]);
  });

  it('spans several write blocks without a seam, reporting progress', async () => {
    const out = tmp();
    const progress: number[] = [];
    const rows = 700_000; // about 9.7 MB: two 8 MiB blocks
    const res = await generate1brc({ out, rows, seed: 11, onProgress: (r) => progress.push(r) });
    expect(res.bytes).toBe(statSync(out).size);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toBe(rows);
    expect([...progress].sort((x, y) => x - y)).toEqual(progress);
    const lines = linesOf(out);
    expect(lines.length).toBe(rows);
    checkLines(lines);
    // A prefix run gives a prefix of the bytes.
    const short = tmp();
    await generate1brc({ out: short, rows: 10_000, seed: 11 });
    const prefix = readFileSync(short);
    expect(readFileSync(out).subarray(0, prefix.length).equals(prefix)).toBe(true);
  });

  it('rejects bad options', async () => {
    await expect(generate1brc({ out: tmp(), rows: -1 })).rejects.toThrow(RangeError);
    await expect(generate1brc({ out: tmp(), rows: 1.5 })).rejects.toThrow(RangeError);
    await expect(generate1brc({ out: tmp(), rows: 1, stations: 7 as 413 })).rejects.toThrow(RangeError);
    await expect(generate1brc({ out: tmp(), rows: 1, seed: 0.5 })).rejects.toThrow(RangeError);
    await expect(generate1brc({ out: tmp(), rows: 1, threads: 0 })).rejects.toThrow(RangeError);
  });
});
