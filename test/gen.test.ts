// The 1BRC generator: byte-identical output per seed, the line format, the
// station sets, and the edge cases (no rows, several write blocks).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate1brc } from '../src/gen.ts';

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

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('generate1brc', { timeout: 120_000 }, () => {
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
  });
});
