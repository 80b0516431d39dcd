/**
 * Equivalence: every job result, for every chunk size and thread count, equals
 * a plain single-threaded reference (fs.readFileSync), the `wc` binary, or
 * `grep`, over edge-case files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { pagewise, tempDir, writeFile } from './helpers.js';
import {
  commutativeReference,
  grepCount,
  grepLines,
  job,
  orderedReference,
  posixWords,
  records,
  rng,
  wcBinary,
} from './fixtures/reference.js';

const CHUNK_SIZES = [4096, 65536, '1MiB', 'auto'] as const;
const THREADS = [1, 2, 4] as const;
const CONFIGS = CHUNK_SIZES.flatMap((chunkSize) => THREADS.map((threads) => ({ chunkSize, threads })));

const dir = tempDir();
const files: Record<string, string> = {};

function randomText(seed: number, bytes: number, { crlf = false } = {}): string {
  const next = rng(seed);
  const words = ['alpha', 'beta', 'gamma', 'the', 'ab', 'x', 'lorem', 'ipsum', 'dolor', '0123456789', 'zz'];
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = Math.floor(next() * 14);
    const line: string[] = [];
    for (let i = 0; i < n; i++) line.push(words[Math.floor(next() * words.length)]);
    const sep = next() < 0.1 ? '\t' : ' ';
    const text = line.join(sep) + (crlf ? '\r\n' : '\n');
    parts.push(text);
    size += text.length;
  }
  return parts.join('');
}

beforeAll(() => {
  files.empty = writeFile(dir, 'empty.txt', '');
  files.oneByte = writeFile(dir, 'one-byte.txt', 'x');
  files.singleLine = writeFile(dir, 'single-line.txt', 'hello world, no newline at all');
  files.noTrailingNewline = writeFile(dir, 'no-trailing.txt', `${randomText(1, 20_000)}last line without newline`);
  files.crlf = writeFile(dir, 'crlf.txt', randomText(2, 30_000, { crlf: true }));
  // A 300 KB line: far longer than a 4 KiB chunk (and than a 64 KiB one).
  files.longLine = writeFile(dir, 'long-line.txt', `first\n${'word '.repeat(60_000)}end\nsecond line\n${randomText(3, 9000)}`);
  // Exactly two pages, ending in \n, with a \n as the last byte of page one.
  {
    const page = 'p'.repeat(4095) + '\n';
    const half = `${'q'.repeat(1000)}\n`;
    let two = page + half.repeat(4);
    two += 'r'.repeat(8192 - two.length - 1) + '\n';
    files.pageMultiple = writeFile(dir, 'page-multiple.txt', two);
  }
  {
    const next = rng(4);
    const bytes = new Uint8Array(50_000);
    for (let i = 0; i < bytes.length; i++) {
      const r = next();
      bytes[i] = r < 0.03 ? 0x0a : r < 0.1 ? 0x20 : r < 0.12 ? 0x0d : 0x80 + Math.floor(next() * 128);
    }
    files.nonUtf8 = writeFile(dir, 'non-utf8.bin', bytes);
  }
  {
    const next = rng(5);
    const bytes = new Uint8Array(40_000);
    for (let i = 0; i < bytes.length; i++) {
      const r = next();
      bytes[i] = r < 0.2 ? 0 : r < 0.23 ? 0x0a : r < 0.3 ? 0x20 : 0x61 + Math.floor(next() * 26);
    }
    files.nuls = writeFile(dir, 'nuls.bin', bytes);
  }
  files.onlyNewlines = writeFile(dir, 'only-newlines.txt', '\n'.repeat(10_000));
  // Just over 1 MiB of text: two 1 MiB chunks and hundreds of 4 KiB ones.
  files.medium = writeFile(dir, 'medium.txt', randomText(6, 1024 * 1024 + 100_000));
});

afterAll(async () => {
  await pagewise.shutdown();
});

const EDGE_FILES = [
  'empty',
  'oneByte',
  'singleLine',
  'noTrailingNewline',
  'crlf',
  'longLine',
  'pageMultiple',
  'nonUtf8',
  'nuls',
  'onlyNewlines',
  'medium',
] as const;

describe('sanity of the edge files', () => {
  it('are what they claim to be', () => {
    expect(readFileSync(files.empty).length).toBe(0);
    expect(readFileSync(files.pageMultiple).length).toBe(8192);
    expect(readFileSync(files.pageMultiple)[4095]).toBe(0x0a);
    expect(readFileSync(files.pageMultiple)[8191]).toBe(0x0a);
    const long = records(readFileSync(files.longLine), 'lines');
    expect(Math.max(...long.map(([s, e]) => e - s))).toBeGreaterThan(300_000);
    expect(readFileSync(files.nuls).includes(0)).toBe(true);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(files.nonUtf8))).toThrow();
    expect(readFileSync(files.crlf).toString('latin1')).toContain('\r\n');
    expect(readFileSync(files.medium).length).toBeGreaterThan(1024 * 1024);
  });
});

describe.each(EDGE_FILES)('%s', (name) => {
  it('order-sensitive job: same result as the reference for every chunk size and thread count', async () => {
    const path = files[name];
    const expected = orderedReference([path], 'lines');
    for (const o of CONFIGS) {
      const { result, stats } = await pagewise.runJob(path, job('ordered-lines.mjs'), o);
      expect(result, JSON.stringify(o)).toEqual(expected);
      expect(stats.bytes).toBe(expected.bytes);
      // A 0-byte file is read, not mapped: a size of 0 says nothing of the content (procfs).
      expect(stats.mode).toBe(expected.bytes === 0 ? 'read' : 'mmap');
    }
  });

  it('commutative job: same result as the reference for every chunk size and thread count', async () => {
    const path = files[name];
    const expected = commutativeReference([path]);
    for (const o of CONFIGS) {
      const result = await pagewise.mapReduce(path, job('commutative.mjs'), o);
      expect(result, JSON.stringify(o)).toEqual(expected);
    }
  });

  it("mode: 'read' gives the same results", async () => {
    const path = files[name];
    const ordered = await pagewise.runJob(path, job('ordered-lines.mjs'), { mode: 'read' });
    expect(ordered.result).toEqual(orderedReference([path], 'lines'));
    expect(ordered.stats.mode).toBe('read');
    expect(await pagewise.mapReduce(path, job('commutative.mjs'), { mode: 'read', threads: 2 })).toEqual(commutativeReference([path]));
    expect(await pagewise.mapReduce(path, pagewise.builtinJobs.wc, { mode: 'read' })).toEqual(
      await pagewise.mapReduce(path, pagewise.builtinJobs.wc, { threads: 2, chunkSize: 4096 }),
    );
  });

  it('built-in wc equals the wc binary', async () => {
    const path = files[name];
    const data = readFileSync(path);
    const reference = wcBinary(path);
    // Every config through the native kernel (the default) and through workers.
    for (const o of [...CONFIGS, ...CONFIGS.map((c) => ({ ...c, nativeKernels: false })), { mode: 'read' as const }]) {
      const result = await pagewise.mapReduce<{ lines: number; words: number; bytes: number }>(path, pagewise.builtinJobs.wc, o);
      expect(result.lines, JSON.stringify(o)).toBe(reference.lines);
      expect(result.bytes, JSON.stringify(o)).toBe(reference.bytes);
      // Words: GNU wc 9.1's rule in C.UTF-8, on text and binary alike.
      expect(result.words, JSON.stringify(o)).toBe(reference.words);
    }
    // The POSIX byte words, on request.
    const bytesWords = await pagewise.mapReduce(path, pagewise.builtinJobs.wc, { threads: 2, chunkSize: 4096, params: { locale: 'C' } });
    expect(bytesWords.words).toBe(posixWords(data));
    const linesOnly = await pagewise.mapReduce<{ lines: number; words: number; bytes: number }>(path, pagewise.builtinJobs.wc, {
      threads: 2,
      chunkSize: 4096,
      params: { lines: true },
    });
    expect(linesOnly).toEqual({ lines: reference.lines, words: 0, bytes: reference.bytes });
  });

  it('built-in grep equals grep -F -a', async () => {
    const path = files[name];
    for (const pattern of ['e', 'ab', 'word end', 'not-in-any-file', '\r']) {
      const count = grepCount(pattern, path);
      for (const o of [
        { threads: 1, chunkSize: 4096 },
        { threads: 2, chunkSize: 4096 },
        { threads: 4, chunkSize: '1MiB' },
        { threads: 2, chunkSize: 4096, nativeKernels: false },
        { threads: 4, chunkSize: '1MiB', nativeKernels: false },
        { mode: 'read' as const },
      ]) {
        const result = await pagewise.mapReduce<{ count: number }>(path, pagewise.builtinJobs.grep, { ...o, params: { pattern, count: true } });
        expect(result.count, `${JSON.stringify(pattern)} ${JSON.stringify(o)}`).toBe(count);
      }
      const lines = await pagewise.mapReduce<{ count: number; parts: Uint8Array[] }>(path, pagewise.builtinJobs.grep, {
        threads: 2,
        chunkSize: 4096,
        params: { pattern },
      });
      expect(lines.count).toBe(count);
      expect(Buffer.concat(lines.parts).equals(grepLines(pattern, path)), JSON.stringify(pattern)).toBe(true);
    }
  });
});

describe('several files in one run', () => {
  const lists = (): Record<string, string[]> => ({
    mixed: [files.noTrailingNewline, files.empty, files.crlf, files.singleLine, files.longLine, files.onlyNewlines, files.nonUtf8],
    repeated: [files.singleLine, files.singleLine, files.empty, files.pageMultiple, files.singleLine],
    emptiesOnly: [files.empty, files.empty],
  });

  it.each(['mixed', 'repeated', 'emptiesOnly'])('%s: merges in the order given, whatever maxOpenFiles', async (list) => {
    const paths = lists()[list];
    const ordered = orderedReference(paths, 'lines');
    const commutative = commutativeReference(paths);
    for (const maxOpenFiles of [1, 2, undefined]) {
      for (const o of [
        { threads: 2, chunkSize: 4096 },
        { threads: 4, chunkSize: 65536 },
        { threads: 1, chunkSize: 'auto' },
      ]) {
        const label = JSON.stringify({ ...o, maxOpenFiles });
        const { result, stats } = await pagewise.runJob(paths, job('ordered-lines.mjs'), { ...o, maxOpenFiles });
        expect(result, label).toEqual(ordered);
        expect(stats.files).toBe(paths.length);
        expect(await pagewise.mapReduce(paths, job('commutative.mjs'), { ...o, maxOpenFiles }), label).toEqual(commutative);
      }
    }
    expect(await pagewise.mapReduce(paths, job('ordered-lines.mjs'), { mode: 'read' })).toEqual(ordered);
    // wc over the list equals the sum of wc over each file.
    const sums = paths.map(wcBinary).reduce((a, b) => ({ lines: a.lines + b.lines, words: a.words + b.words, bytes: a.bytes + b.bytes }));
    const wc = await pagewise.mapReduce<{ lines: number; bytes: number }>(paths, pagewise.builtinJobs.wc, { threads: 2, chunkSize: 4096, maxOpenFiles: 2 });
    expect(wc.lines).toBe(sums.lines);
    expect(wc.bytes).toBe(sums.bytes);
  });
});

describe('grep line numbers over several files', () => {
  // `grep -n` per file, shifted by the lines of the files before (`grep -c ''` counts a last line without its newline).
  const reference = (paths: string[], args: string[]): { numbers: number[]; lines: string } => {
    const numbers: number[] = [];
    let lines = '';
    let before = 0;
    for (const path of paths) {
      const r = spawnSync('grep', ['-n', '-a', ...args, path], { env: { ...process.env, LC_ALL: 'C' }, encoding: 'latin1', maxBuffer: 1 << 28 });
      expect(r.status === 0 || r.status === 1, r.stderr).toBe(true);
      for (const row of r.stdout.split('\n').slice(0, -1)) {
        const colon = row.indexOf(':');
        numbers.push(before + Number(row.slice(0, colon)));
        lines += `${row.slice(colon + 1)}\n`;
      }
      before += Number(spawnSync('grep', ['-c', '-a', '', path], { encoding: 'utf8' }).stdout);
    }
    return { numbers, lines };
  };

  it.each([
    ['fixed', { pattern: 'e' }, ['-F', '-e', 'e']],
    ['regex', { pattern: 'l[aeiou]', regex: true }, ['-E', '-e', 'l[aeiou]']],
    ['inverted', { pattern: 'a', invert: true }, ['-F', '-v', '-e', 'a']],
  ] as const)('%s: numbers continue after a file whose last line has no newline', async (_name, params, args) => {
    const paths = [files.noTrailingNewline, files.singleLine, files.empty, files.crlf, files.oneByte, files.longLine];
    const expected = reference(paths, [...args]);
    for (const o of [{ threads: 1, chunkSize: 4096 }, { threads: 2, chunkSize: 65536 }, { mode: 'read' as const }]) {
      const result = await pagewise.mapReduce<{ count: number; parts: Uint8Array[]; numbers: Float64Array[]; lines: number }>(paths, pagewise.builtinJobs.grep, {
        ...o,
        params: { ...params, lineNumbers: true },
      });
      const label = JSON.stringify(o);
      expect(result.numbers.flatMap((n) => [...n]), label).toEqual(expected.numbers);
      expect(Buffer.concat(result.parts).toString('latin1'), label).toBe(expected.lines);
    }
  });
});

describe('other record kinds', () => {
  let nulFiles: Record<string, string>;
  let recordFiles: Record<string, string>;

  beforeAll(() => {
    const next = rng(7);
    const nulRecords = (count: number, trailing: boolean): Uint8Array => {
      const parts: number[] = [];
      for (let i = 0; i < count; i++) {
        const n = Math.floor(next() * 120);
        for (let j = 0; j < n; j++) parts.push(next() < 0.05 ? 0x0a : 1 + Math.floor(next() * 255));
        parts.push(0);
      }
      if (!trailing) parts.push(0x41, 0x42, 0x0a, 0x43);
      return Uint8Array.from(parts);
    };
    const long = new Uint8Array(200_000).fill(0x61);
    long[100] = 0;
    long[150_000] = 0;
    nulFiles = {
      empty: files.empty,
      terminated: writeFile(dir, 'nul-terminated.bin', nulRecords(3000, true)),
      unterminated: writeFile(dir, 'nul-unterminated.bin', nulRecords(2000, false)),
      longRecord: writeFile(dir, 'nul-long-record.bin', long),
      onlyNuls: writeFile(dir, 'only-nuls.bin', new Uint8Array(9000)),
      // Newline-delimited text is a single record per NUL-free stretch.
      text: files.crlf,
    };
    const fixed = (bytes: number): Uint8Array => {
      const out = new Uint8Array(bytes);
      for (let i = 0; i < bytes; i++) out[i] = Math.floor(next() * 256);
      return out;
    };
    recordFiles = {
      empty: files.empty,
      one: writeFile(dir, 'rec-one.bin', fixed(1600)),
      many: writeFile(dir, 'rec-many.bin', fixed(1600 * 157)),
      pages: writeFile(dir, 'rec-pages.bin', fixed(400 * 37)),
    };
  });

  it.each(['empty', 'terminated', 'unterminated', 'longRecord', 'onlyNuls', 'text'])('{ delimiter: 0 } over %s equals the reference', async (name) => {
    const path = nulFiles[name];
    const expected = orderedReference([path], { delimiter: 0 });
    for (const o of [
      { threads: 1, chunkSize: 4096 },
      { threads: 2, chunkSize: 4096 },
      { threads: 4, chunkSize: 65536 },
      { threads: 2, chunkSize: 'auto' },
      { mode: 'read' as const },
    ]) {
      expect(await pagewise.mapReduce(path, job('ordered-nul.mjs'), o), JSON.stringify(o)).toEqual(expected);
    }
  });

  it.each(['empty', 'one', 'many', 'pages'])('{ recordSize: 16 } and { recordSize: 100 } over %s equal the reference', async (name) => {
    const path = recordFiles[name];
    for (const [module, recordSize] of [
      ['ordered-rec16.mjs', 16],
      ['ordered-rec100.mjs', 100],
    ] as const) {
      const expected = orderedReference([path], { recordSize });
      for (const o of [
        { threads: 1, chunkSize: 4096 },
        { threads: 2, chunkSize: 4096 },
        { threads: 4, chunkSize: 65536 },
        { threads: 2, chunkSize: 'auto' },
        { mode: 'read' as const },
      ]) {
        expect(await pagewise.mapReduce(path, job(module), o), `${module} ${JSON.stringify(o)}`).toEqual(expected);
      }
    }
  });
});

describe('a job written in TypeScript', () => {
  it('loads (interface, enum, annotations) and gives the right answer', async () => {
    const expectedFor = (path: string) => {
      const kinds = { empty: 0, short: 0, long: 0 };
      const data = readFileSync(path);
      for (const [s, e] of records(data, 'lines')) {
        const length = e - s - (data[e - 1] === 0x0a ? 1 : 0);
        kinds[length === 0 ? 'empty' : length < 10 ? 'short' : 'long']++;
      }
      return { lines: records(data, 'lines').length, kinds, label: 'typed' };
    };
    for (const name of ['crlf', 'medium', 'onlyNewlines', 'noTrailingNewline'] as const) {
      for (const o of [
        { threads: 2, chunkSize: 4096 },
        { threads: 1, chunkSize: 'auto' },
        { mode: 'read' as const },
      ]) {
        const result = await pagewise.mapReduce(files[name], job('typed.ts'), { ...o, params: { label: 'typed' } });
        expect(result, `${name} ${JSON.stringify(o)}`).toEqual(expectedFor(files[name]));
      }
    }
  });
});

describe('maxRecordLength', () => {
  it('rejects a too-long record the same way in mmap and read modes, wherever it lies', async () => {
    // A 5900-byte record at offset 101: with 4 KiB chunks its end is near the
    // cut at 4096, so only a per-record check finds it.
    const path = writeFile(dir, 'one-long-record.txt', `${'a'.repeat(100)}\n${'b'.repeat(5899)}\n${'c\n'.repeat(3000)}`);
    for (const max of [50, 5000]) {
      for (const o of [
        { threads: 1, chunkSize: 4096 },
        { threads: 2, chunkSize: 65536 },
        { mode: 'read' as const },
      ]) {
        const label = JSON.stringify({ ...o, max });
        const error = await pagewise.mapReduce(path, pagewise.builtinJobs.wc, { ...o, maxRecordLength: max }).then(
          () => undefined,
          (e: unknown) => e as { code: string; offset: number },
        );
        expect(error?.code, label).toBe('ERR_PAGEWISE_RECORD_TOO_LONG');
        // The offset lies inside a record longer than the limit.
        const tooLong = records(readFileSync(path), 'lines').filter(([s, e]) => e - s > max);
        expect(tooLong.some(([s, e]) => s <= error!.offset && error!.offset < e), `${label} offset ${error?.offset}`).toBe(true);
      }
    }
    // At the limit it passes, with the right counts.
    expect(await pagewise.mapReduce(path, job('commutative.mjs'), { threads: 2, chunkSize: 4096, maxRecordLength: 5900 })).toEqual(
      commutativeReference([path]),
    );
  });
});

describe('progress', () => {
  it('reports every byte and chunk by the end', async () => {
    const seen: { bytesDone: number; chunksDone: number; bytesTotal: number; chunksTotal: number }[] = [];
    const size = readFileSync(files.medium).length;
    for (const module of ['ordered-lines.mjs', 'commutative.mjs']) {
      seen.length = 0;
      const { stats } = await pagewise.runJob(files.medium, job(module), { threads: 2, chunkSize: 65536, onProgress: (p) => seen.push({ ...p }) });
      const lastReport = seen[seen.length - 1];
      expect(lastReport.bytesDone).toBe(size);
      expect(lastReport.bytesTotal).toBe(size);
      expect(lastReport.chunksDone).toBe(Math.ceil(size / 65536));
      expect(lastReport.chunksTotal).toBe(Math.ceil(size / 65536));
      expect(stats.chunks).toBe(Math.ceil(size / 65536));
      for (let i = 1; i < seen.length; i++) expect(seen[i].bytesDone).toBeGreaterThanOrEqual(seen[i - 1].bytesDone);
    }
  });
});
