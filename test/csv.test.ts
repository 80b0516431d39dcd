/**
 * split: 'csv' (issue 19): records cut exactly by quote parity through every
 * executor that supports a split, against two independent references
 * (Python's csv module, strict, and a byte-at-a-time state machine), for
 * chunk sizes from one page up, 1 and 2 threads, with and without a header;
 * the strict refusals; the first pass's native glue; the pure planner.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, symlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, mappedRss, pagewise, tempDir, writeFile } from './helpers.js';
import { job } from './fixtures/reference.js';
import { commutativeCsvReference, generateCsv, orderedCsvReference, pythonRows, referenceRecords } from './fixtures/csv.js';
import { Madvise, ScanOps, native } from '../dist/src/native.js';

const INTERNAL = Symbol.for('pagewise.internal');
const dir = tempDir('pagewise-csv-');

const main = generateCsv(19, 600_000, { longBytes: 150_000 });
const mainFile = writeFile(dir, 'main.csv', main.text);
const DATA = readFileSync(mainFile);
const SIZE = DATA.length;
const RECORDS = referenceRecords(DATA);
const STARTS = new Set([...RECORDS.map((r) => r.start), SIZE]);
const HEADER_END = RECORDS[0].end;

const second = generateCsv(23, 40_000, { unterminatedLast: true });
const secondFile = writeFile(dir, 'second.csv', second.text);

type Err = { code?: string; offset?: number; reason?: string; path?: string };
async function rejection(promise: Promise<unknown>): Promise<Err> {
  try {
    await promise;
  } catch (error) {
    return error as Err;
  }
  throw new Error('expected a rejection');
}

afterAll(async () => {
  await pagewise.shutdown();
});

describe('the test data and its references', () => {
  it('Python and the state machine agree, and give back the generated values', () => {
    const py = pythonRows(mainFile);
    expect(RECORDS.map((r) => r.fields)).toEqual(py);
    expect(py).toEqual(main.rows);
    const py2 = pythonRows(secondFile);
    expect(referenceRecords(readFileSync(secondFile)).map((r) => r.fields)).toEqual(py2);
  });

  it('has every awkward case of issue 19', () => {
    const text = main.text;
    for (const piece of [',"a, b, c"', '"she said ""hi"""', '"line one\nline two"', '"crlf one\r\ncrlf two"', ',"""",', ',",,,"', ',,', '"""""",', 'Zürich', '漢字', '🎉']) {
      expect(text.includes(piece), piece).toBe(true);
    }
    expect(text.includes('y'.repeat(300))).toBe(true);
    expect(/[^\r]\n/.test(text) && text.includes('\r\n')).toBe(true);
    // A record longer than every chunk size but the largest.
    expect(Math.max(...RECORDS.map((r) => r.end - r.start))).toBeGreaterThan(150_000);
  });

  it('naive newline cutting would split records here', () => {
    for (const chunkSize of [4096, 65536]) {
      const lineCuts = pagewise.planChunks(SIZE, chunkSize, 'lines', pagewise.bufferFinder(DATA)).map((c) => c.start);
      expect(lineCuts.some((c) => !STARTS.has(c)), `chunk ${chunkSize}`).toBe(true);
    }
  });
});

type PathName = 'ordered' | 'commutative' | 'pread' | 'stream' | 'kernel';
const PATHS: Record<PathName, Record<string | symbol, unknown>> = {
  kernel: { [INTERNAL]: { executor: 'kernel' } },
  ordered: { [INTERNAL]: { executor: 'ordered' } },
  commutative: { [INTERNAL]: { executor: 'commutative' } },
  pread: { mode: 'pread' },
  stream: { mode: 'read' },
};
const CHUNKS = [4096, 65536, '1MiB', 'auto'] as const;
const THREADS = [1, 2] as const;

/** The slices map saw tile [from, SIZE) of file 0, each from a record start to a record start. */
function expectTiles(slices: [number, number, number][] | [number, number][], from: number, label: string): void {
  let at = from;
  for (const s of slices) {
    const [start, end] = s.length === 3 ? [s[1], s[2]] : s;
    expect(start, `${label}: slice starts where the last ended`).toBe(at);
    expect(STARTS.has(end), `${label}: slice ends at a record boundary (${end})`).toBe(true);
    at = end;
  }
  expect(at, label).toBe(SIZE);
}

interface Case {
  name: string;
  job: string;
  paths: PathName[];
  check: (result: any, label: string) => void;
}

const pyRows = (pythonRows(mainFile));
const CASES: Case[] = [
  {
    name: 'rows through the field walker, no header',
    job: job('csv-rows.mjs'),
    paths: ['ordered', 'pread', 'stream'],
    check: (r, label) => {
      expect(r.rows, label).toEqual(pyRows);
      expect(r.headers, label).toEqual({});
      expectTiles(r.slices, 0, label);
    },
  },
  {
    name: 'rows through the field walker, with a header',
    job: job('csv-rows-header.mjs'),
    paths: ['ordered', 'pread', 'stream'],
    check: (r, label) => {
      expect(r.rows, label).toEqual(pyRows.slice(1));
      expect(r.headers, label).toEqual({ 0: DATA.subarray(0, HEADER_END).toString() });
      expectTiles(r.slices, HEADER_END, label);
    },
  },
  {
    name: 'an order-sensitive job, no header',
    job: job('csv-ordered.mjs'),
    paths: ['ordered', 'pread', 'stream'],
    check: (r, label) => expect(r, label).toEqual(orderedCsvReference([DATA], false)),
  },
  {
    name: 'an order-sensitive job, with a header',
    job: job('csv-ordered-header.mjs'),
    paths: ['ordered', 'pread', 'stream'],
    check: (r, label) => expect(r, label).toEqual(orderedCsvReference([DATA], true)),
  },
  {
    name: 'a commutative job',
    job: job('csv-commutative.mjs'),
    paths: ['commutative', 'ordered', 'pread', 'stream'],
    check: (r, label) => expect(r, label).toEqual(commutativeCsvReference([DATA])),
  },
  {
    name: 'a job with a native kernel',
    job: job('csv-kernel.mjs'),
    paths: ['kernel', 'ordered', 'stream'],
    check: (r, label) => {
      expect(r.newlines, label).toBe(DATA.filter((b) => b === 0x0a).length);
      expect(r.quotes, label).toBe(DATA.filter((b) => b === 0x22).length);
      expectTiles(r.ranges, 0, label);
    },
  },
];

describe.each(CASES)('split csv: $name', (c) => {
  it.each(c.paths)('through the %s path, every chunk size and thread count, equals the references', async (path) => {
    for (const chunkSize of path === 'stream' ? (['auto'] as const) : CHUNKS) {
      for (const threads of THREADS) {
        const label = `${path} chunk ${chunkSize} threads ${threads}`;
        const { result, stats } = await pagewise.runJob(mainFile, c.job, { chunkSize, threads, ...PATHS[path] } as never);
        c.check(result, label);
        expect(stats.bytes, label).toBe(SIZE);
        expect(stats.executor, label).toBe(path === 'kernel' ? 'kernel' : path === 'stream' ? 'none' : 'workers');
      }
    }
  }, 180_000);
});

describe('split csv over streams', () => {
  let fifo: string;
  beforeAll(() => {
    fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
  });
  /** Copies `source` into the FIFO (the reader gets it in pipe-sized pieces); resolves when done. */
  function feed(source: string): Promise<number | null> {
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', source, fifo], { stdio: 'ignore' });
    return new Promise((resolve) => writer.on('exit', resolve));
  }

  it('a FIFO delivers pieces cut anywhere: parity is carried from block to block', async () => {
    for (const [name, expected] of [
      ['csv-rows-header.mjs', (r: any) => expect(r.rows).toEqual(pyRows.slice(1))],
      ['csv-ordered.mjs', (r: any) => expect(r).toEqual(orderedCsvReference([DATA], false))],
    ] as const) {
      const writer = feed(mainFile);
      const { result, stats } = await pagewise.runJob(fifo, job(name));
      expect(await writer).toBe(0);
      expected(result);
      expect(stats.mode).toBe('read');
    }
  });

  it('several files, mapped and streamed, each with its own header', async () => {
    const files = [mainFile, secondFile, mainFile];
    const { result } = await pagewise.runJob(files, job('csv-rows-header.mjs'), { chunkSize: 4096, threads: 2, maxOpenFiles: 1 });
    const py2 = (pythonRows(secondFile));
    expect(result.rows).toEqual([...pyRows.slice(1), ...py2.slice(1), ...pyRows.slice(1)]);
    const data2 = readFileSync(secondFile);
    const header = (data: Buffer): string => data.subarray(0, referenceRecords(data)[0].end).toString();
    expect(result.headers).toEqual({ 0: header(DATA), 1: header(data2), 2: header(DATA) });
  });
});

describe('split csv refuses what is not RFC 4180 (strict), on every path, with the offset', () => {
  const body = main.text.slice(0, 200_000);
  const cases = [
    { name: 'a quoted field open at the end (offset: its opening quote)', tail: '9,"open field\nmore, text, ""still open""\r\n', reason: 'unterminatedQuote', at: (t: string) => t.lastIndexOf('9,"') + 2 },
    { name: 'a doubled quote at the very end leaves the field open', tail: '7,x,"abc""', reason: 'unterminatedQuote', at: (t: string) => t.lastIndexOf('"abc""') },
    { name: 'a quote inside an unquoted field', tail: '5,ab"c,d\n6,e\n', reason: 'quoteInUnquotedField', at: (t: string) => t.lastIndexOf('ab"c') + 2 },
    { name: 'text after a closing quote', tail: '5,"ab"c,d\n6,e\n', reason: 'textAfterClosingQuote', at: (t: string) => t.lastIndexOf('"ab"c') + 3 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      // The bad bytes come late (after the long record), so only the prefix parity finds them.
      const text = `${body}${c.tail}${c.reason === 'unterminatedQuote' ? '' : main.text.slice(200_000, 260_000)}`;
      const path = writeFile(dir, `bad-${c.reason}.csv`, text);
      const offset = c.at(text);
      const ref = (() => {
        try {
          referenceRecords(Buffer.from(text));
        } catch (error) {
          return error as { offset: number; reason: string };
        }
        throw new Error('the reference accepted it');
      })();
      expect([Buffer.byteLength(text.slice(0, offset)), c.reason]).toEqual([ref.offset, ref.reason]);
      const byteOffset = ref.offset;
      const runs: [string, string, Record<string | symbol, unknown>][] = [
        ['ordered', job('csv-ordered.mjs'), PATHS.ordered],
        ['commutative', job('csv-commutative.mjs'), PATHS.commutative],
        ['pread', job('csv-ordered.mjs'), PATHS.pread],
        ['stream', job('csv-ordered.mjs'), PATHS.stream],
        ['kernel', job('csv-kernel.mjs'), PATHS.kernel],
      ];
      for (const [label, j, o] of runs) {
        for (const chunkSize of [4096, '1MiB']) {
          const error = await rejection(pagewise.runJob(path, j, { chunkSize, threads: 2, ...o } as never));
          expect({ code: error.code, offset: error.offset, reason: error.reason, path: error.path }, `${label} ${chunkSize}`).toEqual({
            code: 'ERR_PAGEWISE_BAD_RECORD',
            offset: byteOffset,
            reason: c.reason,
            path,
          });
        }
      }
    }, 60_000);
  }
});

describe("the first pass on libuv's threadpool: one scan op, csvSummaryChecked, per chunk", () => {
  /** Runs `body` with native.scan counted: how many scans of csvSummaryChecked ran, and over which ranges. */
  async function counted<T>(body: () => Promise<T>): Promise<{ value: T; ranges: [number, number][] }> {
    const scan = native.scan;
    const ranges: [number, number][] = [];
    (native as unknown as { scan: unknown }).scan = (id: number, offset: number, length: number, list: { op: number }[], ...rest: never[]) => {
      if (list.some((o) => o.op === ScanOps.csvSummaryChecked)) ranges.push([offset, offset + length]);
      return scan(id, offset, length, list as never, ...rest);
    };
    try {
      return { value: await body(), ranges };
    } finally {
      (native as unknown as { scan: unknown }).scan = scan;
    }
  }

  it('gives the same cuts and rows in one round, on the kernel and the ordered path', async () => {
    for (const chunkSize of [4096, 65536]) {
      const kernel = await counted(() => pagewise.runJob(mainFile, job('csv-kernel.mjs'), { chunkSize, threads: 2 }));
      expect(kernel.value.stats.executor).toBe('kernel');
      expectTiles(kernel.value.result.ranges, 0, `kernel ${chunkSize}`);
      // One scan per chunk over the first pass's ranges, and nothing else: no second round over the records.
      const n = Math.ceil(SIZE / chunkSize);
      const want = Array.from({ length: n }, (_, j) => [j === 0 ? 0 : j * chunkSize - 1, j === n - 1 ? SIZE : (j + 1) * chunkSize - 1]);
      expect(kernel.ranges.sort((x, y) => x[0] - y[0])).toEqual(want);
      const rows = await counted(() => pagewise.runJob(mainFile, job('csv-rows-header.mjs'), { chunkSize, threads: 2, release: 'evict' }));
      expect(rows.value.result.rows).toEqual(pyRows.slice(1));
      expect(rows.ranges.length).toBe(n);
    }
  });

  it("drops the first pass's page-table entries behind it, with release 'keep' too: the pages stay cached, RSS does not grow with the file", async () => {
    // Written a page at a time, so that the page cache holds small folios (a
    // fault-around maps 64 KiB of them, not a 2 MiB folio).
    const path = join(dir, 'rss.csv');
    const bytes = Buffer.from(generateCsv(37, 4_000_000).text);
    const out = openSync(path, 'w');
    for (let at = 0; at < bytes.length; at += 4096) writeSync(out, bytes, at, Math.min(4096, bytes.length - at));
    closeSync(out);
    // This process's mapping of the file is the run's (one per file per
    // process); its RSS is sampled as each first-pass scan ends, before the
    // second pass drops each chunk's entries behind it anyway.
    const m = native.open(path);
    // The sampling sees this mapping: a scan that keeps its entries maps it all.
    await native.scan(m.id, 0, m.size, [{ op: ScanOps.countByte, byte: 0x0a }], undefined, false);
    expect(mappedRss(path)).toBeGreaterThan(m.size * 0.9);
    native.advise(m.id, 0, m.size, Madvise.dontneed);
    expect(mappedRss(path)).toBe(0);
    const scan = native.scan;
    let most = -1;
    (native as unknown as { scan: unknown }).scan = async (...args: Parameters<typeof scan>) => {
      const counts = await scan.apply(native, args);
      if (args[3].some((o) => o.op === ScanOps.csvSummaryChecked)) most = Math.max(most, mappedRss(path));
      return counts;
    };
    try {
      const { result, stats } = await pagewise.runJob(path, job('csv-rows-header.mjs'), { chunkSize: 65536, threads: 2, release: 'keep' });
      expect(stats.release).toBe('keep');
      expect(result.rows).toEqual(pythonRows(path).slice(1));
      expect(bytes.length).toBeGreaterThan(40 * 65536);
      // At most the scans in flight and a fault-around (64 KiB) past each.
      expect(most).toBeGreaterThanOrEqual(0);
      expect(most).toBeLessThan(8 * 65536);
      const r = native.residency(m.id, 0, m.size);
      expect(r.resident).toBe(r.pages);
    } finally {
      (native as unknown as { scan: unknown }).scan = scan;
      native.close(m.id);
    }
  });

  it('refuses bad quotes at and around chunk edges with the same code, offset and reason as the workers and the reference', async () => {
    // Each bad quote sits where the strict checks need the byte before the
    // range (a quote right at a range's start) or the two after it (a closing
    // quote at its end, followed by "\r" then something else than "\n").
    const chunkSize = 4096;
    const pieces = ['a"b', '"a"b', '"a"\rb', '"a"\r\r\n'];
    let cases = 0;
    for (const piece of pieces) {
      for (const shift of [-4, -3, -2, -1, 0, 1]) {
        // The record that holds the piece starts so that its bad quote lands at 2 * chunkSize - 1 + shift, give or take the piece's own offset.
        const pad = 2 * chunkSize - 1 + shift - 2;
        const lines: string[] = [];
        let length = 0;
        while (length + 40 < pad) {
          const line = `${lines.length},"x, ""y""",${'z'.repeat(20)}\n`;
          lines.push(line);
          length += line.length;
        }
        lines.push(`${'q'.repeat(pad - length)},${piece},w\n`, 'tail,"ok"\n');
        const text = lines.join('');
        const ref = (() => {
          try {
            referenceRecords(Buffer.from(text));
          } catch (error) {
            return error as { offset: number; reason: string };
          }
          throw new Error(`the reference accepted ${JSON.stringify(piece)}`);
        })();
        const path = writeFile(dir, `edge-${cases++}.csv`, text);
        const pool = await counted(() => rejection(pagewise.runJob(path, job('csv-kernel.mjs'), { chunkSize, threads: 2 })));
        expect(pool.ranges.length, 'ran on the pool').toBe(Math.ceil(text.length / chunkSize));
        const workers = await rejection(pagewise.runJob(path, job('csv-ordered.mjs'), { chunkSize, threads: 2, ...PATHS.pread } as never));
        const want = { code: 'ERR_PAGEWISE_BAD_RECORD', offset: ref.offset, reason: ref.reason };
        const label = `${JSON.stringify(piece)} shift ${shift}`;
        expect({ code: pool.value.code, offset: pool.value.offset, reason: pool.value.reason }, `pool ${label}`).toEqual(want);
        expect({ code: workers.code, offset: workers.offset, reason: workers.reason }, `workers ${label}`).toEqual(want);
      }
    }
  }, 60_000);
});

describe('split csv: the rest of the contract', () => {
  it('the pure planner cuts at the same record boundaries, after the header with header: true', () => {
    for (const chunkSize of [4096, 65536]) {
      const plain = pagewise.planChunks(SIZE, chunkSize, 'csv', pagewise.bufferFinder(DATA));
      expectTiles(plain.map((c) => [c.start, c.end] as [number, number]), 0, `plain ${chunkSize}`);
      const headed = pagewise.planChunks(SIZE, chunkSize, { csv: { header: true } }, pagewise.bufferFinder(DATA));
      expectTiles(headed.map((c) => [c.start, c.end] as [number, number]), HEADER_END, `header ${chunkSize}`);
    }
  });

  it('a span of the chunk grid (a cluster split) reads exactly its records', async () => {
    const chunkSize = 65536;
    const cut = 4 * chunkSize;
    const first = await pagewise.runJob(mainFile, job('csv-rows-header.mjs'), { chunkSize, threads: 2, [INTERNAL]: { span: { start: 0, end: cut } } } as never);
    const rest = await pagewise.runJob(mainFile, job('csv-rows-header.mjs'), { chunkSize, threads: 2, [INTERNAL]: { span: { start: cut, end: SIZE } } } as never);
    expect([...first.result.rows, ...rest.result.rows]).toEqual(pyRows.slice(1));
    expect(rest.result.headers).toEqual({ 0: DATA.subarray(0, HEADER_END).toString() });
  });

  it('maxRecordLength counts whole CSV records, newlines inside quotes and all', async () => {
    const longest = Math.max(...RECORDS.map((r) => r.end - r.start));
    for (const o of [PATHS.ordered, PATHS.stream]) {
      const error = await rejection(pagewise.runJob(mainFile, job('csv-ordered.mjs'), { chunkSize: 65536, maxRecordLength: longest - 1, ...o } as never));
      expect(error.code).toBe('ERR_PAGEWISE_RECORD_TOO_LONG');
      const { result } = await pagewise.runJob(mainFile, job('csv-ordered.mjs'), { chunkSize: 65536, maxRecordLength: longest, ...o } as never);
      expect(result).toEqual(orderedCsvReference([DATA], false));
    }
  });

  it("other quote and delimiter characters: split { csv: { quote: \"'\", delimiter: ';' } }", async () => {
    const text = main.text.replaceAll("'", '`').replaceAll(';', ':').replaceAll('"', "'").replaceAll(',', ';');
    const path = writeFile(dir, 'semicolon.csv', text);
    const expected = (pythonRows(path, { quote: "'", delimiter: ';' }));
    expect(expected.length).toBe(RECORDS.length);
    for (const o of [{ chunkSize: 4096, threads: 2 }, { mode: 'read' }]) {
      const { result } = await pagewise.runJob(path, job('csv-rows-semicolon.mjs'), o as never);
      expect(result.rows).toEqual(expected);
    }
  });

  it('a header-only file gives no record; a file without a newline is all header', async () => {
    for (const text of ['a,b,"c\nd"\r\n', 'a,b,"c\nd"']) {
      const path = writeFile(dir, 'header-only.csv', text);
      for (const o of [{ chunkSize: 4096 }, { mode: 'read' }]) {
        const { result, stats } = await pagewise.runJob(path, job('csv-rows-header.mjs'), o as never);
        expect(result.rows).toEqual([]);
        expect(stats.bytes).toBe(Buffer.byteLength(text));
      }
    }
  });

  it('bad split shapes are ERR_PAGEWISE_JOB_LOAD; good ones load', async () => {
    const bad = [
      { csv: null },
      { csv: { quote: '' } },
      { csv: { quote: 'ab' } },
      { csv: { quote: 'é' } },
      { csv: { delimiter: '\n' } },
      { csv: { quote: '\r' } },
      { csv: { quote: ',' } },
      { csv: { delimiter: '"' } },
      { csv: { header: 'yes' } },
      { csv: { escape: '\\' } },
      { csv: { quote: 34 } },
      'CSV',
    ];
    for (const [i, split] of bad.entries()) {
      const path = writeFile(dir, `bad-split-${i}.mjs`, `export default { split: ${JSON.stringify(split)}, init: () => 0, map: (a) => a, merge: (a) => a };`);
      const error = await rejection(pagewise.planJob(mainFile, path));
      expect(error.code, JSON.stringify(split)).toBe('ERR_PAGEWISE_JOB_LOAD');
    }
    const good = ['csv', { csv: {} }, { csv: { quote: "'", delimiter: '\t', header: true } }];
    for (const [i, split] of good.entries()) {
      const path = writeFile(dir, `good-split-${i}.mjs`, `export default { split: ${JSON.stringify(split)}, init: () => 0, map: (a) => a, merge: (a) => a };`);
      const plan = await pagewise.planJob(mainFile, path);
      expect(plan.job.split).toEqual({ csv: { quote: '"', delimiter: ',', header: false, ...(typeof split === 'object' ? split.csv : {}) } });
    }
  });
});

describe('examples/csv-column-stats.mjs', () => {
  /** Count, min, max and mean of a column by Python's csv module (float() of each value; the rest skipped). */
  function pythonStats(path: string, column: string): { count: number; min: number | null; max: number | null; mean: number | null; skipped: number } {
    const script = [
      'import csv, json, math, sys',
      'csv.field_size_limit(1 << 30)',
      'count, total, lo, hi, skipped = 0, 0.0, None, None, 0',
      "with open(sys.argv[1], newline='', encoding='utf-8') as f:",
      '    rows = csv.reader(f, strict=True)',
      '    col = next(rows).index(sys.argv[2])',
      '    for r in rows:',
      '        try:',
      '            v = float(r[col])',
      '        except (ValueError, IndexError):',
      '            skipped += 1',
      '            continue',
      '        count += 1; total += v; lo = v if lo is None else min(lo, v); hi = v if hi is None else max(hi, v)',
      "print(json.dumps({'count': count, 'min': lo, 'max': hi, 'mean': total / count if count else None, 'skipped': skipped}))",
    ].join('\n');
    return JSON.parse(execFileSync('python3', ['-c', script, path, column], { encoding: 'utf8' }));
  }

  function run(example: string, args: string[]): Record<string, unknown> {
    const out = execFileSync(process.execPath, [CLI, 'run', example, mainFile, '--json', '--params', '{"column":"price"}', ...args], { encoding: 'utf8' });
    return JSON.parse(out);
  }

  it('gives the count, min, max and mean of a column by name, as Python does', () => {
    const expected = pythonStats(mainFile, 'price');
    expect(expected.count).toBeGreaterThan(500);
    expect(expected.skipped).toBeGreaterThan(100);
    const example = join(ROOT, 'examples', 'csv-column-stats.mjs');
    for (const args of [['--chunk-size', '4KiB', '--threads', '2'], ['--threads', '1'], ['--chunk-size', '64KiB', '--threads', '2']]) {
      const { mean, ...rest } = run(example, args);
      const { mean: expectedMean, ...expectedRest } = expected;
      expect(rest, args.join(' ')).toEqual({ column: 'price', ...expectedRest });
      expect(mean as number).toBeCloseTo(expectedMean!, 9);
    }
  });

  it("runs from outside this repository, importing 'pagewise' and 'pagewise/csv' as an installed package", () => {
    const outside = tempDir('pagewise-csv-outside-');
    mkdirSync(join(outside, 'node_modules'));
    symlinkSync(ROOT, join(outside, 'node_modules', 'pagewise'), 'dir');
    const copy = join(outside, 'csv-column-stats.mjs');
    copyFileSync(join(ROOT, 'examples', 'csv-column-stats.mjs'), copy);
    const { mean, ...rest } = run(copy, ['--chunk-size', '4KiB']);
    const { mean: expectedMean, ...expectedRest } = pythonStats(mainFile, 'price');
    expect(rest).toEqual({ column: 'price', ...expectedRest });
    expect(mean as number).toBeCloseTo(expectedMean!, 9);
    const subpath = writeFile(outside, 'sub.mjs', readFileSync(copy, 'utf8').replace("from 'pagewise'", "from 'pagewise/csv'"));
    expect(run(subpath, []).count).toBe(expectedRest.count);
  });

  it('names a missing column', () => {
    const r = spawnSync(process.execPath, [CLI, 'run', join(ROOT, 'examples', 'csv-column-stats.mjs'), mainFile, '--params', '{"column":"nope"}'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('ERR_PAGEWISE_JOB_FAILED');
    expect(r.stderr).toContain('"nope"');
  });
});

describe('split csv without the addon (PAGEWISE_NATIVE=0: positional reads, the JavaScript first pass)', () => {
  it('gives the same rows and cuts', () => {
    const script = `
      const pw = await import('./dist/src/index.js');
      const rows = await pw.runJob(${JSON.stringify(mainFile)}, ${JSON.stringify(job('csv-rows-header.mjs'))}, { chunkSize: 4096, threads: 2 });
      const kernel = await pw.runJob(${JSON.stringify(mainFile)}, ${JSON.stringify(job('csv-kernel.mjs'))}, { chunkSize: 65536, threads: 2 });
      console.log(JSON.stringify({ rows: rows.result.rows, mode: rows.stats.mode, ranges: kernel.result.ranges, executor: kernel.stats.executor }));
      await pw.shutdown();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, PAGEWISE_NATIVE: '0' } });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.rows).toEqual(pyRows.slice(1));
    expect([out.mode, out.executor]).toEqual(['read', 'workers']);
    expectTiles(out.ranges, 0, 'no addon');
  });
});
