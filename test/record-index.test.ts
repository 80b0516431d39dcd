/**
 * Random access by record (issue 16, section 4): the index job writes every
 * record's offset as little-endian u64, in parallel and in order, equal to a
 * plain reader's record starts through every executor; RecordIndex gives
 * count, offset(i), record(i) as views and search() as a binary search,
 * checked against a plain binary search and against look(1).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, pagewise, tempDir, writeFile } from './helpers.js';
import { records, rng, type Split } from './fixtures/reference.js';

const INTERNAL = Symbol.for('pagewise.internal');
const dir = tempDir('pagewise-index-');

/** The index a plain reader makes: each record's start, as u64 LE. */
function plainIndex(data: Buffer, split: Split): Buffer {
  const starts = records(data, split).map(([s]) => s);
  const out = Buffer.alloc(starts.length * 8);
  starts.forEach((s, i) => out.writeBigUInt64LE(BigInt(s), i * 8));
  return out;
}

function linesText(seed: number, count: number): string {
  const next = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = next();
    out.push(r < 0.05 ? '' : `${'w'.repeat(1 + Math.floor(next() * 30))}${i}${r < 0.1 ? '\r' : ''}`);
  }
  return `${out.join('\n')}\n${'long'.repeat(5000)}\nno final newline`;
}

const lines = writeFile(dir, 'lines.txt', linesText(1, 20_000));
const nul = writeFile(dir, 'nul.bin', Buffer.from(linesText(2, 5000).replaceAll('\n', '\0')));
const fixed = writeFile(dir, 'fixed.bin', Buffer.alloc(16 * 9_999, 7));

const CASES: { name: string; file: string; split: Split; options: { terminator?: number; recordSize?: number } }[] = [
  { name: 'lines', file: lines, split: 'lines', options: {} },
  { name: 'NUL-delimited', file: nul, split: { delimiter: 0 }, options: { terminator: 0 } },
  { name: 'fixed-size', file: fixed, split: { recordSize: 16 }, options: { recordSize: 16 } },
];
const PATHS = {
  ordered: { [INTERNAL]: { executor: 'ordered' } },
  commutative: { [INTERNAL]: { executor: 'commutative' } },
  pread: { mode: 'pread' },
  stream: { mode: 'read' },
};

afterAll(async () => {
  await pagewise.shutdown();
});

let serial = 0;
describe.each(CASES)('the index of $name records', ({ file, split, options }) => {
  it.each(Object.keys(PATHS) as (keyof typeof PATHS)[])('through the %s path equals a plain reader’s, every chunk size and thread count', async (path) => {
    const expected = plainIndex(readFileSync(file), split);
    for (const chunkSize of path === 'stream' ? (['auto'] as const) : ([4096, 65536, 'auto'] as const)) {
      for (const threads of [1, 2]) {
        const output = join(dir, `idx-${serial++}`);
        const { result } = await pagewise.buildIndex(file, { ...options, ...PATHS[path], chunkSize, threads, output } as never);
        expect(readFileSync(output).equals(expected), `${path} ${chunkSize} ${threads}`).toBe(true);
        expect(result.records).toBe(expected.length / 8);
      }
    }
  }, 60_000);

  it('RecordIndex: count, offset and record(i) agree with a plain reader', async () => {
    const output = `${file}.idx`;
    await pagewise.buildIndex(file, { ...options, threads: 2, chunkSize: 4096 });
    const data = readFileSync(file);
    const recs = records(data, split);
    const terminator = options.recordSize !== undefined ? null : (options.terminator ?? 0x0a);
    const idx = pagewise.RecordIndex.open(file, output, { terminator });
    try {
      expect(idx.count).toBe(recs.length);
      for (let i = 0; i < recs.length; i++) {
        const [s, e] = recs[i];
        const end = terminator !== null && data[e - 1] === terminator ? e - 1 : e;
        expect(idx.offset(i)).toBe(s);
        if (!Buffer.from(idx.record(i)).equals(data.subarray(s, end))) expect.fail(`record ${i}`);
      }
      expect(() => idx.record(recs.length)).toThrow(expect.objectContaining({ code: 'ERR_PAGEWISE_INVALID_OPTION' }));
      expect(() => idx.record(-1)).toThrow(expect.objectContaining({ code: 'ERR_PAGEWISE_INVALID_OPTION' }));
    } finally {
      idx.close();
    }
    expect(() => idx.record(0)).toThrow(expect.objectContaining({ code: 'ERR_PAGEWISE_CLOSED' }));
  });
});

describe('index edges', () => {
  it('an empty file has an empty index; a one-record file without newline has [0]', async () => {
    const empty = writeFile(dir, 'empty.txt', '');
    await pagewise.buildIndex(empty);
    expect(readFileSync(`${empty}.idx`).length).toBe(0);
    const one = writeFile(dir, 'one.txt', 'abc');
    await pagewise.buildIndex(one, { chunkSize: 4096 });
    expect(readFileSync(`${one}.idx`).equals(Buffer.alloc(8))).toBe(true);
    const idx = pagewise.RecordIndex.open(one);
    expect(Buffer.from(idx.record(0)).toString()).toBe('abc');
    idx.close();
  });

  it('an index that does not fit its data file is ERR_PAGEWISE_BAD_INDEX, never a view out of range', () => {
    const data = writeFile(dir, 'bad-data.txt', 'a\nbb\nccc\n');
    const u64 = (...values: number[]): Buffer => {
      const b = Buffer.alloc(values.length * 8);
      values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), i * 8));
      return b;
    };
    for (const [name, content] of [
      ['odd size', Buffer.alloc(12)],
      ['first not 0', u64(1, 2)],
      ['last past the end', u64(0, 9)],
      ['empty for data', Buffer.alloc(0)],
    ] as const) {
      const path = writeFile(dir, `bad-${name}.idx`, content);
      expect(() => pagewise.RecordIndex.open(data, path), name).toThrow(expect.objectContaining({ code: 'ERR_PAGEWISE_BAD_INDEX' }));
    }
    const unordered = pagewise.RecordIndex.open(data, writeFile(dir, 'bad-order.idx', u64(0, 5, 2)));
    expect(() => unordered.record(1)).toThrow(expect.objectContaining({ code: 'ERR_PAGEWISE_BAD_INDEX' }));
    unordered.close();
  });

  it('pagewise index writes FILE.idx, or --output, for lines or --delimiter', () => {
    const r = spawnSync(process.execPath, [CLI, 'index', lines, '--threads', '2', '--chunk-size', '4096', '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const expected = plainIndex(readFileSync(lines), 'lines');
    expect(JSON.parse(r.stdout)).toEqual({ file: lines, index: `${lines}.idx`, records: expected.length / 8, bytes: expected.length });
    expect(readFileSync(`${lines}.idx`).equals(expected)).toBe(true);
    const out = join(dir, 'cli-nul.idx');
    const n = spawnSync(process.execPath, [CLI, 'index', nul, '--delimiter', '\\0', '-o', out], { encoding: 'utf8' });
    expect(n.status, n.stderr).toBe(0);
    expect(n.stdout).toMatch(/^indexed \d+ records of .* into .*cli-nul\.idx\n$/);
    expect(readFileSync(out).equals(plainIndex(readFileSync(nul), { delimiter: 0 }))).toBe(true);
    const bad = spawnSync(process.execPath, [CLI, 'index', nul, '--delimiter', 'ab'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--delimiter.*\(ERR_PAGEWISE_INVALID_OPTION\)\n$/);
  });
});

describe('search over sorted records', () => {
  const next = rng(9);
  const words = Array.from({ length: 30_000 }, () => Array.from({ length: 1 + Math.floor(next() * 8) }, () => 'abcdefghij'[Math.floor(next() * 10)]).join(''));
  const sorted = [...words].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const file = writeFile(dir, 'sorted.txt', `${sorted.join('\n')}\n`);
  const keys = [...Array.from({ length: 300 }, (_, i) => words[i * 97].slice(0, 1 + (i % 4))), '', 'a', 'jjjjjjjjjj', 'jk', '0', 'abcx', 'k'];

  /** The first i with sorted[i] starting with key, by a plain binary search; -1 if none. */
  function plainSearch(key: string): number {
    let lo = 0;
    let hi = sorted.length;
    const k = Buffer.from(key);
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const r = Buffer.from(sorted[mid]);
      const cmp = Buffer.compare(r.subarray(0, k.length), k) || (r.length < k.length ? -1 : 0);
      if (cmp < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo < sorted.length && sorted[lo].startsWith(key) ? lo : -1;
  }

  it('finds the first record with the key as prefix, as a plain binary search does', async () => {
    await pagewise.buildIndex(file, { threads: 2, chunkSize: 4096 });
    const idx = pagewise.RecordIndex.open(file);
    try {
      for (const key of keys) expect(idx.search(key), JSON.stringify(key)).toBe(plainSearch(key));
      // A compare of one's own: whole records, equal only when equal.
      const exact = (r: Uint8Array, k: Uint8Array): number => Buffer.compare(r, k);
      const present = sorted[12_345];
      expect(sorted[idx.search(present, exact)]).toBe(present);
      expect(idx.search(`${present}~`, exact)).toBe(-1);
      expect(idx.lowerBound('k')).toBe(idx.count);
    } finally {
      idx.close();
    }
  });

  it('lists what look(1) lists for each key', async (t) => {
    if (spawnSync('look', ['--version']).error) return t.skip();
    await pagewise.buildIndex(file, { threads: 2 });
    const idx = pagewise.RecordIndex.open(file);
    const decoder = new TextDecoder();
    try {
      for (const key of keys.filter((k) => k !== '')) {
        const fromLook = spawnSync('look', [key, file], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).stdout;
        const found: string[] = [];
        for (let i = idx.search(key); i >= 0 && i < idx.count && pagewise.comparePrefix(idx.record(i), Buffer.from(key)) === 0; i++) found.push(`${decoder.decode(idx.record(i))}\n`);
        expect(found.join(''), JSON.stringify(key)).toBe(fromLook);
      }
    } finally {
      idx.close();
    }
  });
});

describe('offsets past 4 GiB', () => {
  it('a 5 GB sparse file of fixed-size records: offsets above 2^32 in the index; records read through windows', async () => {
    // Fixed-size records are cut and indexed arithmetically, so the holes'
    // pages are never read (reading 5 GB of holes takes ~30 s on this VM).
    const path = join(dir, 'sparse.bin');
    const recordSize = 200 * 1024 ** 2 + 3;
    const n = 24;
    const fd = openSync(path, 'w');
    try {
      for (let i = 0; i < n; i++) writeSync(fd, Buffer.from(`record ${i}`), 0, `record ${i}`.length, i * recordSize);
      writeSync(fd, Buffer.from('end'), 0, 3, n * recordSize - 3);
    } finally {
      closeSync(fd);
    }
    const output = join(dir, 'sparse.idx');
    const { result } = await pagewise.buildIndex(path, { threads: 2, recordSize, output });
    expect(result.records).toBe(n);
    const idx = readFileSync(output);
    expect(Array.from({ length: n }, (_, i) => Number(idx.readBigUInt64LE(i * 8)))).toEqual(Array.from({ length: n }, (_, i) => i * recordSize));
    const ri = pagewise.RecordIndex.open(path, output, { terminator: null });
    try {
      expect(ri.count).toBe(n);
      expect(ri.offset(n - 1)).toBeGreaterThan(2 ** 32);
      for (const i of [0, 5, 20, n - 1]) {
        const r = ri.record(i);
        expect(r.length).toBe(recordSize);
        expect(Buffer.from(r.subarray(0, `record ${i}`.length)).toString()).toBe(`record ${i}`);
      }
      // Record 5 spans the 1 GiB window boundary; the last one ends the file.
      expect(5 * recordSize < 1024 ** 3 && 6 * recordSize > 1024 ** 3).toBe(true);
      expect(Buffer.from(ri.record(n - 1).subarray(recordSize - 3)).toString()).toBe('end');
    } finally {
      ri.close();
    }
  }, 120_000);
});
