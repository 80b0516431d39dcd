/**
 * The CSV kernels (native/kernels.cc through test/native-kernels/harness.cc,
 * and src/kernels-js.cts) and the field walker (CsvFields, src/csv/fields.ts),
 * against Python's csv module on generated files: quoted commas, doubled quotes, LF and CRLF
 * inside quotes, empty fields, 300-byte fields, fields that are just `"` or
 * `,,,`, non-ASCII, mixed CRLF and LF ends, numbers. The parallel split
 * (summaries per chunk, a prefix XOR of quote parity, each chunk's first
 * record start) must find exactly the records the walker finds alone, for any
 * cut points; and malformed quotes are refused with the same offset by the
 * walker (reading fields or skipping them), csvCheckQuotes and the native
 * CsvSummaryChecked (its checks under the even state, over the whole input).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { tempDir, writeFile } from './helpers.js';
import { rng } from './fixtures/reference.js';
import { buildHarness, type Harness } from './native-kernels/build.js';
import * as js from '../dist/src/kernels-js.cjs';
import { CsvFields } from '../dist/src/csv/fields.js';

const dir = tempDir('pagewise-csv-kernels-');
let harnesses: Harness[] = [];

beforeAll(async () => {
  harnesses = await buildHarness(dir);
}, 300_000);

// Python's csv module, default dialect (excel: doublequote, not strict), the
// file opened with newline='' as its documentation asks. For each row: its
// fields and, for fields of the plain-decimal grammar, repr(float(field)).
const PYTHON_READER = `
import csv, json, re, sys
plain = re.compile(r'[+-]?(?:[0-9]+(?:[.][0-9]*)?|[.][0-9]+)(?:[eE][+-]?[0-9]+)?')
out = []
with open(sys.argv[1], newline='', encoding='utf-8') as f:
    for row in csv.reader(f):
        out.append([row, [repr(float(x)) if plain.fullmatch(x) else None for x in row]])
json.dump(out, sys.stdout)
`;

type PyRow = [string[], (string | null)[]];

function python(path: string): PyRow[] {
  return JSON.parse(execFileSync('python3', ['-c', PYTHON_READER, path], { encoding: 'utf8', maxBuffer: 1 << 28 })) as PyRow[];
}

function pyNumber(repr: string | null): number {
  if (repr === null) return NaN;
  if (repr === 'inf') return Infinity;
  if (repr === '-inf') return -Infinity;
  return Number(repr);
}

/** Every record of `bytes[from, to)` as the walker reads it: fields, numbers, and where each record starts. */
function walk(bytes: Uint8Array, from = 0, to = bytes.length): { rows: [string[], number[]][]; starts: number[]; end: number } {
  const csv = new CsvFields(bytes, {}, from, to);
  const rows: [string[], number[]][] = [];
  const starts: number[] = [];
  let end = from;
  while (csv.nextRecord()) {
    starts.push(csv.recordStart);
    const fields: string[] = [];
    const numbers: number[] = [];
    while (csv.nextField()) {
      fields.push(csv.text());
      numbers.push(csv.number());
    }
    rows.push([fields, numbers]);
    end = csv.recordNext;
  }
  return { rows, starts, end };
}

// ------------------------------------------------------------ generation --

const VALUES = ['', 'a', 'plain text', 'comma, inside', 'say ""hi""', '"', ',,,', '""', 'line\nbreak', 'crlf\r\ninside', '\n',
  '\r\n', 'café', 'Zürich', '日本語', 'emoji 😀', ' spaced ', '12', '-3.25', '+7', '.5', '5.', '1e5', '2.5E-3', '-0',
  '12345678901234567890', '0.1000000000000000055511151231257827', '1e400', '1e-400', '9007199254740993', '00012.50',
  '1.7976931348623157e308', '12a', '1e', '.', '-', '1.2.3', 'x'.repeat(300), `${'y'.repeat(150)},${'"'.repeat(3)}\n${'z'.repeat(150)}`];

/** A decimal of up to 18 digits, sometimes with a fraction, a sign or an exponent. */
function randomDecimal(next: () => number): string {
  const digits = (k: number) => Array.from({ length: k }, () => Math.floor(next() * 10)).join('');
  let s = (next() < 0.3 ? '-' : '') + digits(1 + Math.floor(next() * 9));
  if (next() < 0.7) s += `.${digits(1 + Math.floor(next() * 9))}`;
  if (next() < 0.15) s += `e${next() < 0.5 ? '-' : ''}${Math.floor(next() * 30)}`;
  return s;
}

function encodeField(value: string, next: () => number): string {
  const needs = /[",\n\r]/.test(value);
  if (!needs && next() < 0.85) return value;
  return `"${value.replaceAll('"', '""')}"`;
}

/** A CSV file: rows of 1-7 fields, LF or CRLF ends, some empty lines, maybe no final terminator. */
function generate(seed: number, rows: number): string {
  const next = rng(seed);
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    if (next() < 0.02) {
      out.push(next() < 0.5 ? '\n' : '\r\n');
      continue;
    }
    const n = 1 + Math.floor(next() * 7);
    const fields: string[] = [];
    for (let f = 0; f < n; f++) fields.push(encodeField(next() < 0.25 ? randomDecimal(next) : VALUES[Math.floor(next() * VALUES.length)], next));
    // A lone empty field would be an empty line: Python and the walker both
    // read that as a row without fields, which is tested apart.
    if (n === 1 && fields[0] === '') fields[0] = '""';
    out.push(fields.join(',') + (r === rows - 1 && next() < 0.5 ? '' : next() < 0.4 ? '\r\n' : '\n'));
  }
  return out.join('');
}

// --------------------------------------------------------------- the split --

interface Summary {
  quotes: number;
  firstNewlineEven: number;
  firstNewlineOdd: number;
}

/**
 * The record starts the parallel split finds for chunks cut at `cuts`: chunk
 * k (k > 0) is summarized over [cut_k - 1, cut_{k+1} - 1), so that a record
 * starting right at cut_k is its own; a prefix XOR of the quote counts gives
 * each chunk's parity; the first newline at the chunk's parity ends the
 * record the chunk does not own.
 */
function splitStarts(n: number, cuts: number[], summarize: (ranges: [number, number][]) => Summary[]): { firsts: number[]; finalOdd: boolean } {
  const bounds = [0, ...cuts, n];
  const ranges: [number, number][] = [];
  for (let k = 0; k + 1 < bounds.length; k++) ranges.push([Math.max(0, bounds[k] - 1), Math.max(0, bounds[k + 1] - 1)]);
  ranges[ranges.length - 1][1] = n;
  const summaries = summarize(ranges);
  const firsts: number[] = [];
  let odd = false;
  for (let k = 0; k < ranges.length; k++) {
    let start = -1;
    if (k === 0) {
      start = n > 0 ? 0 : -1;
    } else {
      const s = summaries[k];
      const o = odd ? s.firstNewlineOdd : s.firstNewlineEven;
      start = o < 0 ? -1 : ranges[k][0] + o + 1;
      if (start >= bounds[k + 1] || start >= n) start = -1;
    }
    firsts.push(start);
    odd = odd !== (summaries[k].quotes % 2 === 1);
  }
  return { firsts, finalOdd: odd };
}

/** What splitStarts must find: each chunk's first record start, from the walker's list. */
function firstStarts(n: number, cuts: number[], starts: number[]): number[] {
  const bounds = [0, ...cuts, n];
  const out: number[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const s = starts.find((x) => x >= bounds[k] && x < bounds[k + 1]);
    out.push(s ?? -1);
  }
  return out;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return null;
}

function randomCuts(n: number, next: () => number, step: number): number[] {
  const cuts: number[] = [];
  for (let at = Math.floor(next() * step) + 1; at < n; at += 1 + Math.floor(next() * step)) cuts.push(at);
  return cuts;
}

// ------------------------------------------------------------------ tests --

describe('CSV records and fields against Python csv', () => {
  const files = [
    ['small', generate(1, 300)],
    ['medium', generate(2, 5000)],
    ['quotes-heavy', generate(3, 3000).replaceAll(',', '","')],
    ['one-column', generate(4, 2000).replaceAll(',', '\n')],
  ] as const;

  it.each(files)('%s: the walker reads what Python reads, and the kernels agree', (name, text) => {
    const bytes = Buffer.from(text, 'utf8');
    // The transformed files above may hold malformed quotes: only valid ones
    // are compared with Python, the rest must be refused.
    const check = js.csvCheckQuotes(bytes);
    const path = writeFile(dir, `${name}.csv`, bytes);
    if (check.kind !== js.CsvQuoteErrorKind.ok) {
      expect(thrown(() => walk(bytes))).toMatchObject({ code: 'ERR_PAGEWISE_BAD_RECORD', offset: check.offset });
      return;
    }
    const want = python(path);
    const got = walk(bytes);
    expect(got.rows.length, name).toBe(want.length);
    for (let r = 0; r < want.length; r++) {
      expect(got.rows[r][0], `${name} row ${r}`).toEqual(want[r][0]);
      expect(got.rows[r][1].map((v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v)), `${name} numbers ${r}`).toEqual(
        want[r][1].map((v) => {
          const x = pyNumber(v);
          return Number.isNaN(x) ? 'NaN' : Object.is(x, -0) ? '-0' : x;
        }),
      );
    }
    // Kernels over the whole file: JS and both native builds.
    const n = bytes.length;
    const nativeAll = harnesses.map((h) => JSON.parse(h.run(['csv-ranges', path, '0', String(n)]))[0]);
    const summary = js.csvChunkSummary(bytes);
    for (const c of nativeAll) {
      expect({ quotes: c.quotes, firstNewlineEven: c.firstNewlineEven, firstNewlineOdd: c.firstNewlineOdd }).toEqual(summary);
      expect(c.recordsEven).toBe(js.csvCountRecords(bytes, 0x22, false));
      expect(c.recordsOdd).toBe(js.csvCountRecords(bytes, 0x22, true));
      expect(c.error).toEqual({ offset: -1, kind: 0 });
    }
    // Every record but a last one without terminator ends in a '\n' outside quotes.
    const terminated = bytes[n - 1] === 0x0a ? want.length : want.length - 1;
    expect(js.csvCountRecords(bytes, 0x22, false)).toBe(terminated);
  }, 120_000);

  it.each(files)('%s: the parallel split finds the walker’s records for any cut points, natively and in JS', (name, text) => {
    const bytes = Buffer.from(text, 'utf8');
    if (js.csvCheckQuotes(bytes).kind !== js.CsvQuoteErrorKind.ok) return;
    const path = writeFile(dir, `${name}-split.csv`, bytes);
    const whole = walk(bytes);
    const next = rng(name.length);
    for (const step of [1, 7, 64, 300, 4096, bytes.length]) {
      const cuts = randomCuts(bytes.length, next, step).slice(0, 3000);
      const want = firstStarts(bytes.length, cuts, whole.starts);
      const jsSplit = splitStarts(bytes.length, cuts, (ranges) => ranges.map(([a, b]) => js.csvChunkSummary(bytes.subarray(a, b))));
      expect(jsSplit.firsts, `${name} step ${step}`).toEqual(want);
      expect(jsSplit.finalOdd).toBe(false);
      if (cuts.length <= 500) {
        for (const h of harnesses) {
          const split = splitStarts(bytes.length, cuts, (ranges) => JSON.parse(h.run(['csv-ranges', path, ...ranges.flat().map(String)])));
          expect(split.firsts, `${name} step ${step} ${h.flavour}`).toEqual(want);
        }
      }
      // Each chunk walked alone, from its first record start to the next
      // chunk's: together, exactly the whole file's records, in order.
      const owned = jsSplit.firsts.filter((x) => x >= 0);
      const rows: [string[], number[]][] = [];
      owned.forEach((from, k) => {
        const to = k + 1 < owned.length ? owned[k + 1] : bytes.length;
        const part = walk(bytes, from, to);
        expect(part.end).toBe(to);
        rows.push(...part.rows);
      });
      expect(rows).toEqual(whole.rows);
    }
  }, 120_000);

  it('csvRecordStart finds the first record start at or after a position, from either parity', () => {
    const bytes = Buffer.from(generate(5, 400), 'utf8');
    const starts = new Set(walk(bytes).starts);
    for (let from = 0; from <= bytes.length + 1; from += 1 + (from % 13)) {
      let want = -1;
      for (let x = Math.max(1, from); x <= bytes.length; x++) {
        if (starts.has(x) || (x === bytes.length && bytes[x - 1] === 0x0a)) {
          want = x;
          break;
        }
      }
      expect(js.csvRecordStart(bytes, 0x22, false, from), `from ${from}`).toBe(want);
    }
    // From inside a quoted field: the parity flips.
    const q = Buffer.from('"a\nb",c\nd\n');
    expect(js.csvRecordStart(q.subarray(1), 0x22, true, 0)).toBe(7);
    expect(js.csvRecordStart(q.subarray(1), 0x22, false, 0)).toBe(2);
  });

  it('edges: empty input, empty lines, a last record without terminator, CR before the end, a lone CR is data', () => {
    const rows = (s: string) => walk(Buffer.from(s, 'utf8')).rows.map((r) => r[0]);
    expect(rows('')).toEqual([]);
    expect(rows('\n\r\n')).toEqual([[], []]);
    expect(rows('a,b')).toEqual([['a', 'b']]);
    expect(rows('a,b\r')).toEqual([['a', 'b']]);
    expect(rows('"a"\r')).toEqual([['a']]);
    expect(rows('a,\r\n,\n')).toEqual([['a', ''], ['', '']]);
    expect(rows('a,b,')).toEqual([['a', 'b', '']]);
    expect(rows('""\n"",""')).toEqual([[''], ['', '']]);
    // Python would end a record at a lone CR; RFC 4180 has none; here it is data.
    expect(rows('a\rb,c\n')).toEqual([['a\rb', 'c']]);
    expect(rows('"x\ry"\n')).toEqual([['x\ry']]);
  });

  it('number() parses plain decimals without a string and refuses the rest', () => {
    const cases: [string, number][] = [['12.5', 12.5], ['-0.1', -0.1], ['+3', 3], ['.5', 0.5], ['5.', 5], ['1e3', 1000], ['1E-3', 0.001],
      ['123456789012345', 123456789012345], ['1234567890123456789', 1234567890123456789], ['0.30000000000000004', 0.30000000000000004],
      ['1e400', Infinity], ['-1e400', -Infinity], ['00001', 1], ['"7"', 7], ['', NaN], [' 1', NaN], ['1 ', NaN], ['0x10', NaN],
      ['Infinity', NaN], ['1e', NaN], ['e1', NaN], ['1.2.3', NaN], ['-', NaN], ['"1""2"', NaN]];
    const next = rng(9);
    for (let i = 0; i < 20_000; i++) {
      const d = randomDecimal(next);
      cases.push([d, Number(d)]);
    }
    for (const [field, want] of cases) {
      const csv = new CsvFields(Buffer.from(`${field}\n`));
      expect(csv.nextRecord() && (field === '' || csv.nextField())).toBe(true);
      if (field === '') continue;
      expect(csv.number(), field).toBe(want);
    }
  });

  it('text(), fieldBytes() and equals() undo doubled quotes; options take other delimiters and quotes', () => {
    const csv = new CsvFields(Buffer.from("'it''s';x\tb\n"), { delimiter: ';', quote: "'" });
    expect(csv.nextRecord() && csv.nextField()).toBe(true);
    expect(csv.escaped).toBe(true);
    expect(csv.text()).toBe("it's");
    expect(Buffer.from(csv.fieldBytes()).toString()).toBe("it's");
    expect(csv.equals("it's")).toBe(true);
    expect(csv.equals(Buffer.from('its'))).toBe(false);
    expect(csv.nextField() && csv.text()).toBe('x\tb');
    expect(csv.nextField()).toBe(false);
  });
});

describe('malformed quotes are refused, with the same offset everywhere', () => {
  const bad: [string, number, number][] = [
    ['a,b"c,d\n', 3, 1],
    ['a"\n', 1, 1],
    ['"a"b,c\n', 2, 2],
    ['"a" ,c\n', 2, 2],
    ['x,"a"\rb\n', 4, 2],
    ['x,"a"\r\r\n', 4, 2],
    ['ok\n"never closed\nmore\n', 3, 3],
    ['ok\n"x""\n', 3, 3],
    ['a,b\n"', 4, 3],
    ['"a""b"c\n', 5, 2],
  ];

  it.each(bad)('%j', (text, offset, kind) => {
    const bytes = Buffer.from(text, 'latin1');
    expect(js.csvCheckQuotes(bytes)).toEqual({ offset, kind });
    const path = writeFile(dir, 'bad.csv', bytes);
    for (const h of harnesses) expect(JSON.parse(h.run(['csv-ranges', path, '0', String(bytes.length)]))[0].error).toEqual({ offset, kind });
    // Reading every field, and skipping every field: the same refusal.
    expect(thrown(() => walk(bytes))).toMatchObject({ code: 'ERR_PAGEWISE_BAD_RECORD', offset });
    const skipper = new CsvFields(bytes);
    expect(
      thrown(() => {
        while (skipper.nextRecord());
      }),
    ).toMatchObject({ code: 'ERR_PAGEWISE_BAD_RECORD', offset });
  });

  it('random malformed inputs: walker, csvCheckQuotes and CsvSummaryChecked agree on the first bad quote', () => {
    const next = rng(11);
    const alphabet = ['"', '"', ',', '\n', '\r\n', '\r', 'a', 'bc', '""'];
    const inputs: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const parts: string[] = [];
      const n = Math.floor(next() * 40);
      for (let k = 0; k < n; k++) parts.push(alphabet[Math.floor(next() * alphabet.length)]);
      inputs.push(Buffer.from(parts.join('')));
    }
    const paths = inputs.map((b, i) => writeFile(dir, `fuzz-${i}.csv`, b));
    const natives = harnesses.map((h) => paths.map((p, i) => JSON.parse(h.run(['csv-ranges', p, '0', String(inputs[i].length)]))[0].error));
    let refused = 0;
    inputs.forEach((bytes, i) => {
      const check = js.csvCheckQuotes(bytes);
      for (const n of natives) expect(n[i], bytes.toString()).toEqual(check);
      const walked = thrown(() => walk(bytes));
      if (check.kind === 0) {
        expect(walked, bytes.toString()).toBe(null);
      } else {
        refused++;
        expect(walked, bytes.toString()).toMatchObject({ code: 'ERR_PAGEWISE_BAD_RECORD', offset: check.offset });
      }
    });
    expect(refused).toBeGreaterThan(50);
    expect(refused).toBeLessThan(300);
  }, 120_000);
});
