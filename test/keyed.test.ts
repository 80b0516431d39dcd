/**
 * Keyed jobs (issue 17): results equal a plain single-threaded reference (a
 * JS Map over the whole file, sorted by UTF-8 bytes) for 1 and 2 threads,
 * chunk sizes from one page up, with spilling forced by a tiny memory budget
 * and without, for string keys, byte keys, non-ASCII keys, values that are
 * numbers or objects (and switch between them), and an empty input; `freq`
 * over the shuffle against the classic freq job and a reference; the job
 * contract checked at load; failures leave no temporary files.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import { execFileSync, spawnSync } from 'node:child_process';
import { CLI, pagewise, ROOT, tempDir, writeFile } from './helpers.js';
import { job, rng } from './fixtures/reference.js';
import { INTERNAL } from '../dist/src/options.js';

const dir = tempDir('pagewise-keyedtest-');
const PAGE = pagewise.PAGE_SIZE;

afterAll(async () => {
  await pagewise.shutdown();
});

/** A fresh temporary directory for one run, to check it is left empty. */
function spillDir(): string {
  return mkdtempSync(join(dir, 'spill-'));
}

const SPACE = /[ \t\n\v\f\r]+/;

/** Words of a file (wc's separators), decoded as UTF-8, counted; sorted by their UTF-8 bytes. */
function wordsReference(path: string): [string, number][] {
  const counts = new Map<string, number>();
  for (const line of readFileSync(path).toString('utf8').split('\n')) {
    for (const w of line.split(SPACE)) if (w !== '') counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
}

/** keyed-bytes.mjs by hand: [key bytes as hex, [lines, bytes, key length]]. */
function bytesReference(path: string): [string, [number, number, number]][] {
  const data = readFileSync(path);
  const m = new Map<string, { lines: number; bytes: number; length: number }>();
  let at = 0;
  while (at < data.length) {
    let end = data.indexOf(0x0a, at);
    if (end < 0) end = data.length;
    let cut = data.indexOf(0x3b, at);
    if (cut < 0 || cut > end) cut = end;
    const key = data.subarray(at, cut).toString('hex');
    const v = m.get(key) ?? { lines: 0, bytes: 0, length: cut - at };
    v.lines++;
    v.bytes += end - at;
    m.set(key, v);
    at = end + 1;
  }
  return [...m]
    .sort((a, b) => Buffer.compare(Buffer.from(a[0], 'hex'), Buffer.from(b[0], 'hex')))
    .map(([k, v]) => [k, [v.lines, v.bytes, v.length]]);
}

/** freq's order over the reference counts: count descending, then word bytes. */
function freqReference(path: string): { word: string; count: number; bytes?: Uint8Array }[] {
  const data = readFileSync(path);
  const counts = new Map<string, number>();
  let i = 0;
  const space = (b: number): boolean => b === 0x20 || (b >= 0x09 && b <= 0x0d);
  while (i < data.length) {
    while (i < data.length && space(data[i])) i++;
    const start = i;
    while (i < data.length && !space(data[i])) i++;
    if (i > start) {
      const key = data.subarray(start, i).toString('latin1');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1] || Buffer.compare(Buffer.from(a[0], 'latin1'), Buffer.from(b[0], 'latin1')))
    .map(([w, c]) => {
      const raw = Buffer.from(w, 'latin1');
      return isUtf8(raw) ? { word: raw.toString('utf8'), count: c } : { word: raw.toString('utf8'), count: c, bytes: new Uint8Array(raw) };
    });
}

/** Words with non-ASCII (two-, three- and four-byte UTF-8), long words (over 16 bytes) and repeats, over lines with every separator. */
function wordsFile(name: string, words: number, distinct: number, seed: number): string {
  const r = rng(seed);
  const stems = ['a', 'é', 'zz', '日本', '😀', 'Ünïcødé', 'x'.repeat(20), 'y'.repeat(17), 'ab', 'Ab', 'aB'];
  const seps = [' ', '\t', '\n', '\r\n', '  ', '\v', '\f', ' \n'];
  const parts: string[] = [];
  for (let k = 0; k < words; k++) {
    const id = Math.floor(r() * distinct);
    parts.push(`${stems[id % stems.length]}${id}`, seps[Math.floor(r() * seps.length)]);
  }
  return writeFile(dir, name, parts.join(''));
}

/** Lines of `key;rest`, keys as bytes (some not UTF-8, some empty, some with NUL). */
function bytesFile(name: string, lines: number, distinct: number, seed: number): string {
  const r = rng(seed);
  const chunks: Buffer[] = [];
  for (let k = 0; k < lines; k++) {
    const id = Math.floor(r() * distinct);
    const key = id % 17 === 0 ? Buffer.alloc(0) : id % 13 === 0 ? Buffer.from([0xff, 0xfe, id & 0xff, 0]) : Buffer.from(`k${id}${'-'.repeat(id % 23)}`);
    chunks.push(key, Buffer.from(`;${'v'.repeat(Math.floor(r() * 30))}\n`));
  }
  return writeFile(dir, name, Buffer.concat(chunks));
}

async function pairsOf(result: unknown): Promise<[unknown, unknown][]> {
  const out: [unknown, unknown][] = [];
  for await (const pair of result as AsyncIterable<[unknown, unknown]>) out.push(pair);
  return out;
}

const words = wordsFile('words.txt', 60_000, 9_000, 7);
const bytes = bytesFile('bytes.txt', 30_000, 5_000, 11);

describe('keyed results equal a single-threaded reference', () => {
  const wordsExpected = wordsReference(words);
  const bytesExpected = bytesReference(bytes);
  for (const threads of [1, 2]) {
    for (const chunkSize of [PAGE, 64 << 10, 'auto'] as const) {
      for (const spill of [false, true]) {
        const name = `${threads} thread(s), chunk ${chunkSize}, ${spill ? 'spilling (memoryBudget: 1)' : 'in memory'}`;
        it(`string keys (non-ASCII, long): ${name}`, async () => {
          const temp = spillDir();
          const { result, stats } = await pagewise.runJob(words, job('keyed-words.mjs'), { threads, chunkSize, tempDir: temp, ...(spill ? { memoryBudget: 1 } : {}) });
          const pairs = await pairsOf(result);
          expect(pairs).toEqual(wordsExpected);
          expect(stats.keyed!.keys).toBe(wordsExpected.length);
          expect(stats.keyed!.spilled).toBe(spill);
          if (spill) expect(stats.keyed!.runs).toBeGreaterThan(1);
          expect(readdirSync(temp)).toEqual([]);
        });
        it(`byte keys, object values, finish: ${name}`, async () => {
          const temp = spillDir();
          const { result, stats } = await pagewise.runJob(bytes, job('keyed-bytes.mjs'), { threads, chunkSize, tempDir: temp, ...(spill ? { memoryBudget: 1 } : {}) });
          const pairs = (await pairsOf(result)).map(([k, v]) => {
            expect(k).toBeInstanceOf(Uint8Array);
            return [Buffer.from(k as Uint8Array).toString('hex'), v];
          });
          expect(pairs).toEqual(bytesExpected);
          expect(stats.keyed!.spilled).toBe(spill);
          expect(readdirSync(temp)).toEqual([]);
        });
      }
    }
  }

  it('values that turn from numbers into arrays and back (spilling and not)', async () => {
    const expected = wordsExpected;
    for (const memoryBudget of [undefined, 1]) {
      const { result } = await pagewise.runJob(words, job('keyed-mixed.mjs'), { threads: 2, chunkSize: PAGE * 4, memoryBudget, tempDir: spillDir() });
      expect(await pairsOf(result)).toEqual(expected);
    }
  });

  it('merge passes when there are more runs than one merge reads', async () => {
    const { result, stats } = await pagewise.runJob(words, job('keyed-words.mjs'), { threads: 2, chunkSize: PAGE, memoryBudget: 1, tempDir: spillDir() });
    expect(await pairsOf(result)).toEqual(wordsExpected);
    // A 64 KiB share reads 16 runs at once: with this many runs, merge passes come first.
    expect(stats.keyed!.runs).toBeGreaterThan(4);
    expect(stats.keyed!.mergePasses).toBeGreaterThan(0);
    expect(stats.keyed!.partitions).toBeGreaterThan(1);
  });

  it('an empty input, a file of separators only, several files and a stream', async () => {
    const empty = writeFile(dir, 'empty.txt', '');
    const blank = writeFile(dir, 'blank.txt', ' \n\n\t\n');
    for (const input of [empty, blank, [empty, blank]]) {
      const { result, stats } = await pagewise.runJob(input, job('keyed-words.mjs'), { threads: 2 });
      expect(await pairsOf(result)).toEqual([]);
      expect(result.size).toBe(0);
      expect(stats.keyed!.keys).toBe(0);
    }
    // Two files and a read (stream) path give the sum of both.
    const both = wordsReference(words).map(([w, n]) => [w, 2 * n]);
    const { result } = await pagewise.runJob([words, words], job('keyed-words.mjs'), { threads: 2, memoryBudget: 1, tempDir: spillDir() });
    expect(await pairsOf(result)).toEqual(both);
    const read = await pagewise.runJob([words, words], job('keyed-words.mjs'), { mode: 'read', memoryBudget: 1, tempDir: spillDir() });
    expect(await pairsOf(read.result)).toEqual(both);
  });

  it('JSON lines to an output path (atomically) and to a Writable', async () => {
    const out = join(dir, 'pairs.jsonl');
    writeFileSync(out, 'old');
    for (const memoryBudget of [undefined, 1]) {
      const { result } = await pagewise.runJob(words, job('keyed-words.mjs'), { threads: 2, output: out, memoryBudget, tempDir: spillDir() });
      expect(result.size).toBe(wordsExpected.length);
      expect(readFileSync(out, 'utf8')).toBe(wordsExpected.map((p) => `${JSON.stringify(p)}\n`).join(''));
    }
    expect(readdirSync(dir).filter((n) => n.includes('pagewise-tmp'))).toEqual([]);
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    await pagewise.runJob(bytes, job('keyed-bytes.mjs'), { threads: 2, output: stream, memoryBudget: 1, tempDir: spillDir() });
    const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
    expect(lines.length).toBe(bytesExpected.length);
    // Byte keys show decoded as UTF-8 (lossy for bytes that are not).
    expect(JSON.parse(lines[lines.length - 1])[1]).toEqual(bytesExpected[bytesExpected.length - 1][1]);
  });

  it('a result is read once; leaving the loop early removes the temporary files', async () => {
    const temp = spillDir();
    const { result } = await pagewise.runJob(words, job('keyed-words.mjs'), { threads: 2, memoryBudget: 1, tempDir: temp });
    expect(readdirSync(temp).length).toBe(1);
    for await (const _ of result) break;
    expect(readdirSync(temp)).toEqual([]);
    expect(() => result[Symbol.asyncIterator]()).toThrow(expect.objectContaining({ code: 'ERR_PAGEWISE_CLOSED' }));
    const again = await pagewise.runJob(words, job('keyed-words.mjs'), { threads: 2, memoryBudget: 1, tempDir: temp });
    await again.result.close();
    expect(readdirSync(temp)).toEqual([]);
  });
});

describe('freq over the keyed shuffle', () => {
  const file = wordsFile('freq.txt', 80_000, 12_000, 3);
  const expected = freqReference(file);

  it('top K equals the classic freq job and the reference, spilling or not, table hooks or emit', async () => {
    const classic = (await pagewise.runJob(file, pagewise.builtinJobs.freq, { params: { top: 25 } })).result;
    expect(classic).toEqual(expected.slice(0, 25));
    for (const memoryBudget of [undefined, 1]) {
      for (const keyedTable of [true, false]) {
        const { rows, stats } = await pagewise.runFreq(file, { top: 25 }, { threads: 2, memoryBudget, tempDir: spillDir(), [INTERNAL]: { keyedTable } } as never);
        expect(rows).toEqual(expected.slice(0, 25));
        expect(stats.keyed!.spilled).toBe(memoryBudget !== undefined);
      }
    }
  });

  it('--all in text and JSON lines: every word in count order, any chunk size, 1 and 2 threads', async () => {
    const width = String(expected[0].count).length;
    const text = expected.map((r) => `${String(r.count).padStart(width)} ${r.word}\n`).join('');
    const json = expected.map((r) => `${JSON.stringify(r)}\n`).join('');
    const out = join(dir, 'freq-all.txt');
    for (const threads of [1, 2]) {
      for (const chunkSize of [PAGE, 'auto']) {
        for (const memoryBudget of [undefined, 1]) {
          for (const format of ['text', 'json'] as const) {
            const temp = spillDir();
            await pagewise.runFreq(file, { all: true, format, output: out }, { threads, chunkSize, memoryBudget, tempDir: temp });
            expect(readFileSync(out, 'utf8')).toBe(format === 'text' ? text : json);
            expect(readdirSync(temp)).toEqual([]);
          }
        }
      }
    }
  });

  it('--all without table hooks (the job reference map) gives the same', async () => {
    const out = join(dir, 'freq-all-emit.txt');
    const width = String(expected[0].count).length;
    await pagewise.runFreq(file, { all: true, output: out }, { threads: 2, memoryBudget: 1, tempDir: spillDir(), [INTERNAL]: { keyedTable: false } } as never);
    expect(readFileSync(out, 'utf8')).toBe(expected.map((r) => `${String(r.count).padStart(width)} ${r.word}\n`).join(''));
  });

  it('words that are not UTF-8 keep their bytes (text as uniq -c prints them, JSON "bytes"), spilled or not; ties by raw bytes', async () => {
    // \xe9 and \xe8 both decode to U+FFFD: shown decoded, "caf\xe9" and "caf\xe8" would look the same and tie.
    const raw = writeFile(dir, 'raw.txt', Buffer.concat([Buffer.from('b a '), Buffer.from([0xff, 0x61, 0x20, 0xc3, 0x20]), Buffer.from('a b \ufeffz caf'), Buffer.from([0xe9, 0x20, 0x63, 0x61, 0x66, 0xe8, 0x20]), Buffer.from('caf\ufffd')]));
    const want = freqReference(raw);
    expect(want.filter((r) => r.bytes !== undefined)).toHaveLength(4);
    const classic = (await pagewise.runJob(raw, pagewise.builtinJobs.freq, { params: { top: 100 } })).result;
    expect(classic).toEqual(want);
    for (const memoryBudget of [1, undefined]) {
      const { rows } = await pagewise.runFreq(raw, { top: 100 }, { memoryBudget, tempDir: spillDir() });
      expect(rows).toEqual(want);
      // The top rows chosen range by range, ties broken by bytes that were not decoded on the way.
      for (let top = 1; top <= want.length; top++) expect((await pagewise.runFreq(raw, { top }, { memoryBudget, tempDir: spillDir() })).rows).toEqual(want.slice(0, top));
      const out = join(dir, 'raw-all.txt');
      await pagewise.runFreq(raw, { all: true, output: out }, { memoryBudget, tempDir: spillDir() });
      const text = Buffer.concat(want.map((r) => Buffer.concat([Buffer.from(`${r.count} `), r.bytes ?? Buffer.from(r.word), Buffer.from('\n')])));
      expect(readFileSync(out).equals(text), readFileSync(out, 'latin1')).toBe(true);
      expect(Buffer.from(pagewise.formatFreqRows(rows!, 'text')).equals(text)).toBe(true);
      await pagewise.runFreq(raw, { all: true, output: out, format: 'json' }, { memoryBudget, tempDir: spillDir() });
      const lines = want.map((r) => JSON.stringify(r.bytes ? { bytes: Buffer.from(r.bytes).toString('base64'), count: r.count } : { word: r.word, count: r.count }));
      expect(readFileSync(out, 'utf8')).toBe(lines.map((l) => `${l}\n`).join(''));
      expect(Buffer.from(pagewise.formatFreqRows(rows!, 'json')).toString()).toBe(`[${lines.join(',')}]\n`);
    }
  });
});

describe('the keyed example and the CLI', () => {
  const log = writeFile(
    dir,
    'access.log',
    Array.from({ length: 20_000 }, (_, i) => `user=${['alice', 'bob', 'chloé', 'dmitri'][i % 4]}${i % 97} GET /p${i} ${(i * 37) % 9000}`).join('\n') + '\nnot a log line\n',
  );
  const expected = (): [string, number][] => {
    const m = new Map<string, number>();
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      const r = /^user=(\S+) \S+ \S+ (\d+)$/.exec(line);
      if (r) m.set(r[1], (m.get(r[1]) ?? 0) + Number(r[2]));
    }
    return [...m].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]))).map(([u, b]) => [u, b / 1e6]);
  };

  it('examples/bytes-per-user.mjs through the API, spilling', async () => {
    const { result } = await pagewise.runJob(log, join(ROOT, 'examples', 'bytes-per-user.mjs'), { threads: 2, memoryBudget: 1, chunkSize: PAGE, tempDir: spillDir() });
    expect(await pairsOf(result)).toEqual(expected());
  });

  it('pagewise run prints one JSON line per key (stdout and --output); --temp-dir and --stats', () => {
    const lines = expected().map((p) => `${JSON.stringify(p)}\n`).join('');
    const r = spawnSync(process.execPath, [CLI, 'run', join(ROOT, 'examples', 'bytes-per-user.mjs'), log, '--threads', '2'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(lines);
    const temp = spillDir();
    const out = join(dir, 'users.jsonl');
    const s = spawnSync(process.execPath, [CLI, 'run', join(ROOT, 'examples', 'bytes-per-user.mjs'), log, '--output', out, '--temp-dir', temp, '--stats'], { encoding: 'utf8' });
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(lines);
    expect(s.stderr).toMatch(/^keys +388, in memory/m);
    // A job that is not keyed: --output holds what its map writes (this one writes nothing), and its result is printed.
    const plain = spawnSync(process.execPath, [CLI, 'run', job('ordered-lines.mjs'), log, '--output', out, '--temp-dir', temp], { encoding: 'utf8' });
    expect(plain.status, plain.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('');
    expect(plain.stdout).toMatch(/^\{\n {2}records: 20001,/);
  });

  it('pagewise freq --all, --all --json, --top: as runFreq and the classic freq', () => {
    const words = wordsFile('cli-freq.txt', 5_000, 800, 13);
    const rows = freqReference(words);
    const width = String(rows[0].count).length;
    const all = spawnSync(process.execPath, [CLI, 'freq', words, '--all'], { encoding: 'utf8' });
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout).toBe(rows.map((r) => `${String(r.count).padStart(width)} ${r.word}\n`).join(''));
    const json = spawnSync(process.execPath, [CLI, 'freq', words, '--all', '--json'], { encoding: 'utf8' });
    expect(json.stdout).toBe(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const top = spawnSync(process.execPath, [CLI, 'freq', words, '--top', '5', '--json'], { encoding: 'utf8' });
    expect(JSON.parse(top.stdout)).toEqual(rows.slice(0, 5));
    const both = spawnSync(process.execPath, [CLI, 'freq', words, '--all', '--top', '5'], { encoding: 'utf8' });
    expect(both.status).toBe(2);
  });
});

describe('freq --all in memory, against Python', () => {
  // The by-value writer of one in-memory table: counts right-aligned, ties in byte order, words
  // as their bytes (in JSON, "bytes" in base64 for a word that is not UTF-8), a word longer than the 1 MiB output buffer, keys
  // sharing long prefixes (the sort's refinements), NUL bytes inside keys (against the sort's
  // zero padding) and many equal counts. The text is compared as bytes.
  const python = `
import sys, json, collections, base64
data = open(sys.argv[1], 'rb').read()
for b in b' \\t\\n\\v\\f\\r': data = data.replace(bytes([b]), b' ')
counts = collections.Counter(w for w in data.split(b' ') if w)
rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
width = len(str(rows[0][1])) if rows else 0
text = b''.join(str(c).rjust(width).encode() + b' ' + w + b'\\n' for w, c in rows)
def row(w, c):
    try: return {'word': w.decode('utf-8'), 'count': c}
    except UnicodeDecodeError: return {'bytes': base64.b64encode(w).decode(), 'count': c}
sys.stdout.buffer.write(json.dumps({'text': base64.b64encode(text).decode(), 'rows': [row(w, c) for w, c in rows]}).encode())
`;

  function words(name: string, parts: Buffer[]): string {
    return writeFile(dir, name, Buffer.concat(parts));
  }

  it('is exact on prefixes, ties, UTF-8, bad bytes, NUL bytes, a 1.5 MiB word, stdin and an empty file', () => {
    const r = rng(20);
    const parts: Buffer[] = [];
    const seps = [' ', '\t', '\n', '\r\n', '  ', '\v', '\f'];
    for (let i = 0; i < 60_000; i++) {
      const k = Math.floor(r() * 9000);
      // Keys sharing 8, 12 and 20 bytes, short keys, multibyte and invalid UTF-8.
      const word = [`prefix08${k % 700}`, `prefix-twelve${k % 1300}`, `a-twenty-byte-prefix${k}`, `w${k % 40}`, `é${k % 90}ü`, `bad\xff${k % 30}`, ['a', 'a\0', 'a\0\0b', 'a\0b', 'prefix08\0'][k % 5]][k % 7];
      parts.push(Buffer.from(word, word.startsWith('bad') ? 'latin1' : 'utf8'), Buffer.from(seps[i % seps.length]));
    }
    parts.push(Buffer.alloc(1.5 * 2 ** 20, 'x'), Buffer.from(' tail'));
    const file = words('freq-all-edges.txt', parts);
    const ref = JSON.parse(execFileSync('python3', ['-c', python, file], { encoding: 'utf8', maxBuffer: 64 << 20 })) as { text: string; rows: object[] };
    expect(ref.rows.filter((row) => 'bytes' in row)).toHaveLength(30);
    const expected = Buffer.from(ref.text, 'base64');
    for (const threads of ['1', '2']) {
      const text = spawnSync(process.execPath, [CLI, 'freq', file, '--all', '--stats', '--threads', threads], { maxBuffer: 64 << 20 });
      expect(text.status, text.stderr.toString()).toBe(0);
      expect(text.stdout.equals(expected), 'text output differs from Python').toBe(true);
      // The one in-memory table's path, not a merge of spilled runs.
      expect(text.stderr.toString()).toMatch(/^keys +\d+, in memory/m);
      const json = spawnSync(process.execPath, [CLI, 'freq', file, '--all', '--json', '--threads', threads], { encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(json.status, json.stderr).toBe(0);
      const rows = json.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as object);
      expect(rows).toEqual(ref.rows);
    }
    // --top: the first rows of the same text (the widest count is the first), bytes as they are.
    const top = spawnSync(process.execPath, [CLI, 'freq', file, '--top', '2000'], { maxBuffer: 64 << 20 });
    expect(top.stdout.toString('latin1')).toBe(expected.toString('latin1').split('\n').slice(0, 2000).map((l) => `${l}\n`).join(''));
    const topJson = spawnSync(process.execPath, [CLI, 'freq', file, '--top', '2000', '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(JSON.parse(topJson.stdout)).toEqual(ref.rows.slice(0, 2000));
    // Standard input: the main thread's own table, which never crosses a thread.
    const stdin = spawnSync(process.execPath, [CLI, 'freq', '-', '--all'], { input: readFileSync(file), maxBuffer: 64 << 20 });
    expect(stdin.status, stdin.stderr.toString()).toBe(0);
    expect(stdin.stdout.equals(expected), 'stdin output differs from Python').toBe(true);
    const empty = words('freq-all-empty.txt', []);
    const none = spawnSync(process.execPath, [CLI, 'freq', empty, '--all'], { encoding: 'utf8' });
    expect([none.status, none.stdout]).toEqual([0, '']);
  });
});

describe('the keyed contract', () => {
  it('is checked at load: ERR_PAGEWISE_JOB_LOAD', async () => {
    for (const name of ['keyed-no-combine.mjs', 'keyed-not-keyed.mjs']) {
      await expect(pagewise.runJob(words, job(name))).rejects.toMatchObject({ code: 'ERR_PAGEWISE_JOB_LOAD' });
    }
    const bad = writeFile(dir, 'keyed-yes.mjs', "export default { keyed: 'yes', map() {}, combine: (a, b) => a + b };");
    await expect(pagewise.runJob(words, bad)).rejects.toMatchObject({ code: 'ERR_PAGEWISE_JOB_LOAD' });
    expect(pagewise.isKeyedJob(await pagewise.loadJob(job('keyed-words.mjs')))).toBe(true);
  });

  it('defineJob types keyed jobs, and runJob gives a KeyedResult of their key and finished value (tsc --strict)', () => {
    const project = mkdtempSync(join(dir, 'types-'));
    const index = JSON.stringify(join(ROOT, 'dist', 'src', 'index.js'));
    writeFileSync(
      join(project, 'main.ts'),
      `import { defineJob, jobRef, runJob, builtinJobs, type Emit, type KeyedResult } from ${index};
      const perUser = defineJob({
        keyed: true,
        map(emit: Emit<string, number>, bytes) { emit('u', bytes.length); },
        combine: (a, b) => a + b,
        finish: (user, total) => ({ user, mb: total / 1e6 }),
      });
      export async function main(file: string): Promise<number> {
        const { result } = await runJob(file, jobRef<typeof perUser>('./per-user.mjs'));
        const typed: KeyedResult<string, { user: string; mb: number }> = result;
        let sum = 0;
        for await (const [user, value] of typed) sum += user.length + value.mb;
        const words = await runJob(file, builtinJobs.wordCounts);
        for await (const [word, count] of words.result) sum += word.length + count;
        // @ts-expect-error a keyed job's emit takes its key type
        defineJob({ keyed: true, map(emit: Emit<string, number>) { emit(1, 1); }, combine: (a: number, b: number) => a + b });
        // @ts-expect-error combine takes the value type
        defineJob({ keyed: true, map(emit: Emit<string, number>) { emit('a', 1); }, combine: (a: string, b: string) => a + b });
        return sum;
      }
      `,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2023', 'ESNext.AsyncIterable'], types: [], noEmit: true, skipLibCheck: false }, include: ['main.ts'] }),
    );
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { encoding: 'utf8' });
    expect(tsc.status, `${tsc.stdout}\n${tsc.stderr}`).toBe(0);
  });

  it('a string and the same bytes are one key, given back as a string; empty keys, NaN, negative and object values', async () => {
    const mixed = writeFile(
      dir,
      'keyed-mixed-kinds.mjs',
      `export default {
        keyed: true,
        map(emit, bytes) {
          for (const line of Buffer.from(bytes).toString('utf8').split('\\n')) {
            if (line === '') continue;
            const i = Number(line.split(' ')[1]);
            const word = line.split(' ')[0];
            emit(word, 1);
            emit(Buffer.from(word), 2);
            emit(Buffer.from('b:' + word), i % 2 === 0 ? -1.5 : 0.25);
            emit('nan', i === 7 ? NaN : 1);
            emit('', { n: 1 });
          }
        },
        combine: (a, b) => (typeof a === 'object' ? { n: a.n + b.n } : a + b),
      };`,
    );
    const lines = writeFile(dir, 'mixed-kinds.txt', Array.from({ length: 3000 }, (_, i) => `é${i % 40} ${i}`).join('\n') + '\n');
    const expected: [unknown, unknown][] = [['', { n: 3000 }]];
    const words = Array.from({ length: 40 }, (_, k) => `é${k}`).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const bytesKeys = words.map((w) => [Buffer.from(`b:${w}`), (Number(w.slice(1)) % 2 === 0 ? -1.5 : 0.25) * 75] as [Buffer, number]);
    expected.push(...bytesKeys.map(([k, v]) => [new Uint8Array(k), v] as [unknown, unknown]), ['nan', NaN], ...words.map((w) => [w, 3 * 75] as [unknown, unknown]));
    for (const memoryBudget of [undefined, 1]) {
      const { result } = await pagewise.runJob(lines, mixed, { chunkSize: PAGE, threads: 2, memoryBudget, tempDir: spillDir() });
      expect(await pairsOf(result)).toEqual(expected);
    }
  });

  it('a key that is not a string or bytes: ERR_PAGEWISE_BAD_KEY', async () => {
    await expect(pagewise.runJob(words, job('keyed-bad-key.mjs'), { threads: 2 })).rejects.toMatchObject({ code: 'ERR_PAGEWISE_BAD_KEY' });
  });

  it('options: tempDir must be a directory; output is the keyed pairs (for other jobs, what map writes)', async () => {
    await expect(pagewise.runJob(words, job('keyed-words.mjs'), { tempDir: '' })).rejects.toMatchObject({ code: 'ERR_PAGEWISE_INVALID_OPTION', option: 'options.tempDir' });
    await expect(pagewise.runJob(words, job('keyed-words.mjs'), { tempDir: join(dir, 'no-such-dir') })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(pagewise.runJob(words, job('keyed-words.mjs'), { tempDir: words })).rejects.toMatchObject({ code: 'ENOTDIR' });
    // A job that is not keyed writes through info.write: none here, so the output is empty.
    const out = join(dir, 'not-keyed.out');
    await pagewise.runJob(words, job('ordered-lines.mjs'), { output: out });
    expect(readFileSync(out).length).toBe(0);
  });
});

describe('failures leave no temporary files', () => {
  const lines = writeFile(dir, 'lines.txt', Array.from({ length: 40_000 }, (_, i) => `w${i % 3000}`).join('\n') + '\nboom\n');

  it('map throws: ERR_PAGEWISE_JOB_FAILED', async () => {
    const temp = spillDir();
    await expect(pagewise.runJob(lines, job('keyed-throws.mjs'), { threads: 2, memoryBudget: 1, tempDir: temp, chunkSize: PAGE })).rejects.toMatchObject({
      code: 'ERR_PAGEWISE_JOB_FAILED',
    });
    expect(readdirSync(temp)).toEqual([]);
  });

  it('combine throws while merging runs: ERR_PAGEWISE_JOB_FAILED, naming combine', async () => {
    const temp = spillDir();
    const noBoom = writeFile(dir, 'noboom.txt', Array.from({ length: 40_000 }, (_, i) => `w${i % 700}`).join('\n') + '\n');
    const error = await pagewise.runJob(noBoom, job('keyed-throws.mjs'), { threads: 2, memoryBudget: 1, tempDir: temp, chunkSize: PAGE }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PAGEWISE_JOB_FAILED' });
    expect(String((error as Error).message)).toContain('combine');
    expect(readdirSync(temp)).toEqual([]);
  });

  it('an aborted run: ERR_PAGEWISE_ABORTED', async () => {
    const temp = spillDir();
    const big = wordsFile('abort.txt', 200_000, 100_000, 5);
    const controller = new AbortController();
    const run = pagewise.runJob(big, job('keyed-slow.mjs'), { threads: 2, memoryBudget: 1, tempDir: temp, chunkSize: PAGE * 4, signal: controller.signal });
    // Once something spilled.
    for (let i = 0; i < 200 && readdirSync(temp).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    controller.abort();
    await expect(run).rejects.toMatchObject({ code: 'ERR_PAGEWISE_ABORTED' });
    expect(readdirSync(temp)).toEqual([]);
  });
});
