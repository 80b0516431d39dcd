/**
 * The CSV pieces on their own (issue 19), against the byte-at-a-time state
 * machine of test/fixtures/csv.ts: the first pass's summaries and prefix XOR
 * over tiny chunks, the stream cutter over blocks split anywhere, and the
 * field walker (values, numbers, errors), on random inputs that are valid
 * and invalid CSV alike. They must agree on every record boundary and on the
 * offset and reason of every refusal. The field walker is also held against
 * a second walker written apart from it (test/fixtures/csv-cursor.ts).
 */
import { describe, expect, it } from 'vitest';
import { generateCsv, pythonRows, referenceRecords, type RefRecord } from './fixtures/csv.js';
import { CsvCursor } from './fixtures/csv-cursor.js';
import { rng } from './fixtures/reference.js';
import { tempDir, writeFile, pagewise } from './helpers.js';
import { SUMMARY, summarizeCsv, CsvStreamCutter } from '../dist/src/csv/scan.js';
import { csvCuts } from '../dist/src/csv/prepare.js';
import { scanRange } from '../dist/src/csv/first-pass.js';
import { native } from '../dist/src/native.js';
import { csvFields, csvColumns } from '../dist/src/csv/fields.js';

const enc = new TextEncoder();
const dir = tempDir('pagewise-csv-fields-');

type Outcome = { records: RefRecord[] } | { offset: number; reason: string };

function reference(bytes: Uint8Array): Outcome {
  try {
    return { records: referenceRecords(bytes) };
  } catch (error) {
    const e = error as { offset: number; reason: string };
    return { offset: e.offset, reason: e.reason };
  }
}

function refusal(error: unknown): { offset: number; reason: string } {
  const e = error as { code?: string; offset: number; reason: string };
  expect(e.code).toBe('ERR_PAGEWISE_BAD_RECORD');
  return { offset: e.offset, reason: e.reason };
}

/** Random CSV-ish bytes: mostly well-formed records, with misplaced quotes, CRs and empty fields now and then. */
function randomCsv(next: () => number): Uint8Array {
  const parts: string[] = [];
  const records = Math.floor(next() * 8);
  for (let r = 0; r < records; r++) {
    const fields = Math.floor(next() * 4) + 1;
    const out: string[] = [];
    for (let f = 0; f < fields; f++) {
      const k = next();
      if (k < 0.3) out.push(['a', 'bc', '', '1.5', 'é'][Math.floor(next() * 5)]);
      else if (k < 0.75) out.push(`"${['x', '', 'a,b', 'l1\nl2', 'q""q', '""', 'c\r\nd'][Math.floor(next() * 7)]}"`);
      else out.push(['a"b', '"a"b', '"open', '\r', '"a"\r', '""x', '"a"""'][Math.floor(next() * 7)]);
    }
    parts.push(out.join(','), next() < 0.5 ? '\n' : '\r\n');
  }
  let text = parts.join('');
  if (next() < 0.3) text = text.slice(0, Math.floor(next() * text.length));
  return enc.encode(text);
}

type Summarize = typeof summarizeCsv;

/** The first pass and prefix XOR over `bytes` in chunks of `chunkSize` (any size: the functions are pure), with summarizeCsv or its native twin. */
function firstPass(bytes: Uint8Array, chunkSize: number, header: boolean, summarize: Summarize = summarizeCsv): { cuts: number[]; headerEnd: number } {
  const n = Math.ceil(bytes.length / chunkSize);
  const summaries = new Float64Array(n * SUMMARY.size);
  for (let j = 0; j < n; j++) {
    const { start, end } = scanRange(j, bytes.length, chunkSize);
    // Exactly the bytes a worker's view holds: one before, two after.
    const from = Math.max(0, start - 1);
    const view = bytes.slice(from, Math.min(bytes.length, end + 2));
    summarize(view, start - from, end - from, 0x22, 0x2c, from, summaries, j * SUMMARY.size);
  }
  return csvCuts(summaries, bytes.length, chunkSize, header);
}

describe('the first pass (summaries + prefix XOR) agrees with the state machine', () => {
  it.each([
    ['summarizeCsv', summarizeCsv, 42],
    ['the native CsvSummaryChecked', native.csvSummaryChecked, 1234],
  ] as const)('%s: on 3000 random inputs, chunks of 1 to 9 bytes, with and without a header', (_name, summarize, seed) => {
    if (summarize !== summarizeCsv) expect(native.kernelFlavor()).not.toBe('js');
    const next = rng(seed);
    for (let t = 0; t < 3000; t++) {
      const bytes = randomCsv(next);
      if (bytes.length === 0) continue;
      const chunkSize = 1 + Math.floor(next() * 9);
      const header = next() < 0.5;
      const ref = reference(bytes);
      const label = `${JSON.stringify(new TextDecoder().decode(bytes))} chunk ${chunkSize} header ${header}`;
      let plan: { cuts: number[]; headerEnd: number };
      try {
        plan = firstPass(bytes, chunkSize, header, summarize);
      } catch (error) {
        if ((error as { code?: string }).code === undefined) throw error;
        expect(refusal(error), label).toEqual(ref);
        continue;
      }
      expect('records' in ref, `${label}: accepted`).toBe(true);
      // Chunk j starts at the first record start at or after j * chunkSize; chunk 0 after the header.
      const records = (ref as { records: RefRecord[] }).records;
      const starts = [...records.map((r) => r.start), bytes.length];
      const headerEnd = header ? records[0].end : 0;
      const expected = plan.cuts.map((_, j) => (j === 0 ? headerEnd : (starts.find((s) => s >= j * chunkSize) ?? bytes.length)));
      expect(plan.cuts, label).toEqual(expected);
      expect(plan.headerEnd, label).toBe(headerEnd);
    }
  });
});

/** Random CSV-like bytes, up to `max`: quotes, doubled quotes, delimiters, \n, \r\n, lone \r, runs of text up to two 64-byte blocks long. */
function csvLike(next: () => number, max: number): Uint8Array {
  const pieces = ['"', '"', '""', ',', ',', '\n', '\r\n', '\r', 'a', 'xyz', '"q"', ',"a,b",', '"\r', '"\n', 'é'];
  const target = Math.floor(next() * max);
  let text = '';
  while (text.length < target) text += next() < 0.08 ? 'w'.repeat(Math.floor(next() * 130)) : pieces[Math.floor(next() * pieces.length)];
  return enc.encode(text);
}

/**
 * native.csvSummaryChecked(view, from - a, to - a, ...) and summarizeCsv with
 * the same arguments, over `view` = bytes[a, b): the nine numbers must be the same.
 */
function sameSummary(bytes: Uint8Array, from: number, to: number, margin: [number, number], label: string): void {
  const a = from === 0 ? 0 : Math.max(0, from - 1 - margin[0]);
  const b = Math.min(bytes.length, to + 2 + margin[1]);
  const view = bytes.slice(a, b);
  const S = SUMMARY.size;
  const want = new Float64Array(3 * S).fill(7);
  const got = new Float64Array(3 * S).fill(7);
  summarizeCsv(view, from - a, to - a, 0x22, 0x2c, 1000 + a, want, S);
  native.csvSummaryChecked(view, from - a, to - a, 0x22, 0x2c, 1000 + a, got, S);
  expect(Array.from(got), `${label} [${from}, ${to}) in [${a}, ${b})`).toEqual(Array.from(want));
}

describe('the native CsvSummaryChecked gives summarizeCsv\'s nine numbers', () => {
  it('on 2000 random CSV-like inputs up to 1.5 KB, over ranges at the start, the end, empty, tiny, across 64-byte blocks', () => {
    expect(native.kernelFlavor()).not.toBe('js');
    const next = rng(64);
    for (let t = 0; t < 2000; t++) {
      const bytes = csvLike(next, t % 4 === 0 ? 1500 : 300);
      const n = bytes.length;
      const label = JSON.stringify(new TextDecoder().decode(bytes));
      const ranges: [number, number][] = [[0, n], [0, 0], [n, n], [0, Math.min(n, 1 + Math.floor(next() * 3))]];
      for (let k = 0; k < 6; k++) {
        const from = Math.floor(next() * (n + 1));
        const len = k < 2 ? Math.floor(next() * 4) : k < 4 ? 64 * (1 + Math.floor(next() * 3)) + Math.floor(next() * 5) - 2 : Math.floor(next() * (n - from + 1));
        ranges.push([from, Math.max(from, Math.min(n, from + len))]);
      }
      if (n > 0) ranges.push([Math.floor(next() * n), n]);
      for (const [from, to] of ranges) {
        sameSummary(bytes, from, to, [0, 0], label);
        sameSummary(bytes, from, to, [Math.floor(next() * 3), Math.floor(next() * 3)], label);
      }
    }
  });

  it('with a quote, a doubled quote, "\r\n" or a lone \r after a quote at every position around the first block edges', () => {
    for (const piece of ['"', '""', ',"a",', '"\r\n', '"\r', '"\rx', 'a"b', '"\n"', ',""""', '"x"y']) {
      for (let at = 0; at < 140; at++) {
        const chars = [...'a'.repeat(200)].map((c, i) => (i % 7 === 0 ? ',' : c));
        chars[150] = '\n';
        const bytes = enc.encode(chars.join('').slice(0, at) + piece + chars.join('').slice(at + piece.length));
        for (const [from, to] of [[0, bytes.length], [1, bytes.length], [0, 130], [3, 67], [0, 64], [1, 66], [2, 68]] as const) {
          sameSummary(bytes, from, to, [0, 0], `${piece} at ${at}`);
        }
      }
    }
  });

  it('refuses a range outside the view and an out array too short', () => {
    const out = new Float64Array(SUMMARY.size);
    const bytes = enc.encode('a,"b"\n');
    expect(() => native.csvSummaryChecked(bytes, 2, 9, 0x22, 0x2c, 0, out, 0)).toThrow(RangeError);
    expect(() => native.csvSummaryChecked(bytes, 3, 2, 0x22, 0x2c, 0, out, 0)).toThrow(RangeError);
    expect(() => native.csvSummaryChecked(bytes, 0, 6, 0x22, 0x2c, 0, out, 1)).toThrow(RangeError);
  });
});

describe('the stream cutter agrees with the state machine', () => {
  it('on 3000 random inputs delivered in blocks of 1 to 12 bytes', () => {
    const next = rng(7);
    for (let t = 0; t < 3000; t++) {
      const bytes = randomCsv(next);
      const ref = reference(bytes);
      const label = JSON.stringify(new TextDecoder().decode(bytes));
      const cutter = new CsvStreamCutter(0x22, 0x2c, 'x');
      const ends: number[] = [];
      let got: Outcome;
      try {
        // What the stream executor does: pending data from a record start, a block at a time.
        let offset = 0;
        let pending = new Uint8Array(0);
        for (let at = 0; at < bytes.length; ) {
          const step = 1 + Math.floor(next() * 12);
          const data = new Uint8Array(pending.length + Math.min(step, bytes.length - at));
          data.set(pending);
          data.set(bytes.subarray(at, at + step), pending.length);
          at += step;
          const cut = cutter.cut(data, offset, false);
          if (cut > 0) ends.push(offset + cut);
          offset += cut;
          pending = data.slice(cut);
        }
        const last = cutter.cut(pending, offset, true);
        if (last > 0) ends.push(offset + last);
        got = { records: [] };
        const expected = (ref as { records: RefRecord[] }).records?.map((r) => r.end).filter((e) => bytes[e - 1] === 0x0a);
        expect('records' in ref, label).toBe(true);
        // Each cut ends the last whole record so far: every cut is a record end, and the last one is the last '\n' record end.
        for (const e of ends) expect(expected.includes(e), `${label}: ${e}`).toBe(true);
        expect(ends.at(-1) ?? 0, label).toBe(expected.at(-1) ?? 0);
        continue;
      } catch (error) {
        if ((error as { code?: string }).code === undefined) throw error;
        got = refusal(error);
      }
      expect(got, label).toEqual(ref);
    }
  });
});

/** Every record's fields through the walker, by nextField, or skipping some fields and letting nextRecord skip the rest. */
function walk(bytes: Uint8Array, next?: () => number): { rows: string[][]; spans: [number, number][] } {
  const f = csvFields(bytes);
  const rows: string[][] = [];
  const spans: [number, number][] = [];
  while (f.nextRecord()) {
    const start = f.recordStart;
    if (next !== undefined && next() < 0.5) {
      // Read a prefix of the fields (maybe none); nextRecord skips the rest.
      const row: string[] = [];
      const keep = Math.floor(next() * 3);
      while (row.length < keep && f.nextField()) row.push(f.text());
      rows.push(row);
      spans.push([start, -1]);
      continue;
    }
    rows.push(f.fields());
    spans.push([start, f.recordNext]);
  }
  return { rows, spans };
}

describe('the field walker gives the answers of a second walker written apart from it (test/fixtures/csv-cursor.ts)', () => {
  type Walker = { nextRecord(): boolean; nextField(): boolean; text(): string; number(): number; recordStart: number; recordNext: number };
  const outcome = (read: () => unknown[]) => {
    try {
      return read();
    } catch (error) {
      const e = error as { code: string; offset: number; reason: string };
      return { code: e.code, offset: e.offset, reason: e.reason };
    }
  };
  // Every field read (nextField's path), and every record skipped whole (the path that only looks for its end).
  const fields = (c: Walker) => () => {
    const out: unknown[] = [];
    while (c.nextRecord()) {
      const start = c.recordStart;
      const row: [string, number][] = [];
      while (c.nextField()) row.push([c.text(), c.number()]);
      out.push([start, c.recordNext, row]);
    }
    return out;
  };
  const skipped = (c: Walker) => () => {
    const out: unknown[] = [];
    // The first field read, the rest skipped: nextRecord skips it.
    while (c.nextRecord()) out.push([c.recordStart, c.nextField() && c.text()]);
    return out;
  };

  it('on 3000 random inputs: fields, numbers, record bounds, and refusals, reading every field or skipping them', () => {
    const next = rng(2024);
    for (let t = 0; t < 3000; t++) {
      const bytes = randomCsv(next);
      const label = JSON.stringify(new TextDecoder().decode(bytes));
      expect(outcome(fields(csvFields(bytes))), label).toEqual(outcome(fields(new CsvCursor(bytes))));
      expect(outcome(skipped(csvFields(bytes))), label).toEqual(outcome(skipped(new CsvCursor(bytes))));
    }
  });
});

describe('the field walker agrees with the state machine', () => {
  it('on 3000 random inputs: values, record bounds and refusals', () => {
    const next = rng(99);
    for (let t = 0; t < 3000; t++) {
      const bytes = randomCsv(next);
      const ref = reference(bytes);
      const label = JSON.stringify(new TextDecoder().decode(bytes));
      let got: Outcome;
      try {
        const { rows, spans } = walk(bytes);
        got = { records: spans.map(([start, end], i) => ({ start, end, fields: rows[i] })) };
      } catch (error) {
        if ((error as { code?: string }).code === undefined) throw error;
        got = refusal(error);
      }
      expect(got, label).toEqual(ref);
      // Skipping fields finds the same record starts and the same refusals.
      const skip = rng(t);
      try {
        const { spans } = walk(bytes, skip);
        expect('records' in ref, label).toBe(true);
        expect(spans.map((s) => s[0]), label).toEqual((ref as { records: RefRecord[] }).records.map((r) => r.start));
      } catch (error) {
        if ((error as { code?: string }).code === undefined) throw error;
        expect(refusal(error), label).toEqual(ref);
      }
    }
  });

  it("equals Python's csv module on the generated file", () => {
    const generated = generateCsv(5, 200_000, { longBytes: 20_000 });
    const path = writeFile(dir, 'g.csv', generated.text);
    expect(walk(enc.encode(generated.text)).rows).toEqual((pythonRows(path)));
  });

  it('number() is Number() of a plain decimal, parsed from the bytes; NaN for anything else', () => {
    const next = rng(3);
    const plain = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
    const cases = ['', ' ', '0', '-0', '+5', '12', '-3.25', '.5', '5.', '007', '00012.50', '123456789012345', '1234567890123456789', '9007199254740993'];
    cases.push('0.1', '-1.000001', '1e3', '2.5E-3', '1e400', '1e-400', '1.7976931348623157e308', ' 12', 'abc', '-', '.', '1e', '1.2.3', '0x10', 'Infinity', '12a');
    for (let i = 0; i < 2000; i++) {
      const v = Math.round((next() - 0.5) * 10 ** (1 + Math.floor(next() * 16))) / 10 ** Math.floor(next() * 9);
      cases.push(next() < 0.2 ? v.toExponential() : v.toString());
    }
    const text = cases.map((c) => (next() < 0.5 ? `"${c}"` : c)).join(',');
    const f = csvFields(enc.encode(`${text}\n`));
    f.nextRecord();
    for (const c of cases) {
      expect(f.nextField()).toBe(true);
      expect(Object.is(f.number(), plain.test(c) ? Number(c) : NaN), c).toBe(true);
    }
    const escaped = csvFields(enc.encode('"1""2"\n'));
    escaped.nextRecord();
    escaped.nextField();
    expect(escaped.number()).toBeNaN();
  });

  it('offsets, quotes, escapes, skipFields, equals, CRLF, empty lines and a last CR', () => {
    const bytes = enc.encode('a,"b ""q""",c\r\n"x\r\ny",,\nlast,"z"\r');
    const f = csvFields(bytes, { offset: 1000 });
    expect(f.nextRecord()).toBe(true);
    expect(f.skipFields(1) && f.nextField()).toBe(true);
    expect([f.field, f.quoted, f.escaped, f.text()]).toEqual([1, true, true, 'b "q"']);
    expect(new TextDecoder().decode(f.fieldBytes())).toBe('b "q"');
    expect(f.equals(enc.encode('b "q"'))).toBe(true);
    expect(f.nextField() && f.text()).toBe('c');
    expect(f.equals('c')).toBe(true);
    expect(f.nextField()).toBe(false);
    expect([f.recordStart, f.recordNext]).toEqual([0, 15]);
    expect(f.nextRecord()).toBe(true);
    expect(f.fields()).toEqual(['x\r\ny', '', '']);
    expect(f.nextRecord()).toBe(true);
    expect(f.skipFields(5)).toBe(false);
    expect(f.nextRecord()).toBe(false);
    const lines = csvFields(enc.encode('a\n\n\r\nb\r'));
    const rows: string[][] = [];
    while (lines.nextRecord()) rows.push(lines.fields());
    expect(rows).toEqual([['a'], [], [], ['b']]);
    expect(csvColumns(enc.encode('id,"na,me",x\n1,2,3\n'))).toEqual(['id', 'na,me', 'x']);
    expect(csvColumns(undefined)).toEqual([]);
    // Errors carry file offsets: options.offset, or info.start.
    const bad = enc.encode('ok\nx"y\n');
    const e1 = (() => {
      try {
        const w = csvFields(bad, { offset: 1000, path: 'f.csv' });
        while (w.nextRecord()) w.fields();
      } catch (error) {
        return error as { code: string; offset: number; path: string };
      }
    })();
    expect([e1?.code, e1?.offset, e1?.path]).toEqual(['ERR_PAGEWISE_BAD_RECORD', 1004, 'f.csv']);
    const e2 = (() => {
      try {
        const w = csvFields(bad, { start: 50, file: 'g.csv', split: { csv: { quote: '"', delimiter: ',' } } } as never);
        while (w.nextRecord());
      } catch (error) {
        return error as { code: string; offset: number };
      }
    })();
    expect([e2?.code, e2?.offset]).toEqual(['ERR_PAGEWISE_BAD_RECORD', 54]);
    // info.split's quote and delimiter are the walker's.
    const semi = csvFields(enc.encode("'a;b';c\n"), { start: 0, split: { csv: { quote: "'", delimiter: ';' } } } as never);
    semi.nextRecord();
    expect(semi.fields()).toEqual(['a;b', 'c']);
  });

  it('refuses options that are not one byte, a line break, or a quote equal to the delimiter (ERR_PAGEWISE_INVALID_OPTION)', () => {
    const bytes = new TextEncoder().encode('a,b\n');
    for (const options of [{ delimiter: ',,' }, { delimiter: '' }, { quote: '\n' }, { delimiter: 13 }, { delimiter: 256 }, { quote: 1.5 }, { quote: 'é' }, { quote: ',' }, { delimiter: '"' }]) {
      expect(() => pagewise.csvFields(bytes, options as never), JSON.stringify(options)).toThrow(expect.objectContaining({ code: 'ERR_PAGEWISE_INVALID_OPTION' }));
    }
    // Bytes as numbers and one-character strings are both fine.
    const f = pagewise.csvFields(new TextEncoder().encode("a;'b;c'\n"), { delimiter: 0x3b, quote: "'" });
    expect(f.nextRecord() && f.fields()).toEqual(['a', 'b;c']);
  });

  it('is exported by the package, for a job outside this repository too', async () => {
    expect(pagewise.csvFields).toBe(csvFields);
    expect(typeof pagewise.csvColumns).toBe('function');
  });
});
