/**
 * GNU wc 9.1's -l -w -m in C.UTF-8, three ways: the system `wc` (the
 * reference), native/kernels.cc (built alone by test/native-kernels/build.ts,
 * AVX2 and portable) and src/kernels-js.cts. Also the C++ harness's own
 * checks (every code point, every 1- and 2-byte sequence, random inputs
 * against glibc's mbrtowc/iswprint), the JS versions of the old kernels
 * against the addon, and that the committed class table is what the script
 * makes from this glibc.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir, writeFile } from './helpers.js';
import { rng } from './fixtures/reference.js';
import { buildHarness, buildSanitized, type Harness } from './native-kernels/build.js';
import * as js from '../dist/src/kernels-js.cjs';
import * as fallback from '../dist/src/native-fallback.cjs';
import { native } from '../dist/src/native.js';

const dir = tempDir('pagewise-wc-utf8-');
let harnesses: Harness[] = [];

beforeAll(async () => {
  harnesses = await buildHarness(dir);
}, 300_000);

/** The environment GNU wc must see: C.UTF-8, and no POSIXLY_CORRECT (which turns off its non-breaking spaces). */
function utf8Env(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C.UTF-8' };
  delete env.POSIXLY_CORRECT;
  return env;
}

interface Counts {
  lines: number;
  words: number;
  chars: number;
}

function gnuWc(path: string): Counts {
  const out = execFileSync('wc', ['-l', '-w', '-m', path], { env: utf8Env(), encoding: 'utf8' });
  const [lines, words, chars] = out.trim().split(/\s+/).map(Number);
  return { lines, words, chars };
}

function harnessCounts(h: Harness, path: string): Counts {
  const r = JSON.parse(h.run(['count', path])) as { lines: number; words: number; chars: number; refWords: number; refChars: number };
  // The harness's own glibc-based reference must agree with its kernels too.
  expect({ words: r.refWords, chars: r.refChars }, `${h.flavour} reference`).toEqual({ words: r.words, chars: r.chars });
  return { lines: r.lines, words: r.words, chars: r.chars };
}

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');
const bin = (s: string): Buffer => Buffer.from(s, 'latin1');

/** UTF-8 of any value up to 2^31 (5- and 6-byte forms too), no validity check. */
function encodeAny(cp: number): Buffer {
  if (cp < 0x80) return Buffer.from([cp]);
  const lens = [0x800, 0x10000, 0x200000, 0x4000000, 0x80000000];
  const len = lens.findIndex((limit) => cp < limit) + 2;
  const out = Buffer.alloc(len);
  let v = cp;
  for (let k = len - 1; k > 0; k--) {
    out[k] = 0x80 | (v & 0x3f);
    v = Math.floor(v / 64);
  }
  out[0] = ((0xff00 >> len) & 0xff) | v;
  return out;
}

function inputs(): Record<string, Buffer> {
  const next = rng(14);
  const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)];
  const words = ['the', 'quick', 'brown', 'fox,', 'jumps', '"over"', 'lazy', 'dog.', 'naïve', 'café', 'Zürich', 'Straße', 'Пример', '日本語', '中文', '한국어', 'emoji😀'];
  const text: string[] = [];
  for (let i = 0; i < 40_000; i++) {
    const n = Math.floor(next() * 12);
    const line = Array.from({ length: n }, () => pick(words)).join(next() < 0.8 ? ' ' : pick(['\t', '  ', '\u00a0', '\u2003', ' \u3000 ']));
    text.push(line + (next() < 0.2 ? '\r\n' : '\n'));
  }
  const random = Buffer.alloc(1_500_000);
  for (let i = 0; i < random.length; i++) random[i] = Math.floor(next() * 256);
  // Invalid and odd UTF-8: stray continuation bytes, 0xc0/0xc1/0xfe/0xff,
  // overlong forms, surrogates, past U+10FFFF, 5- and 6-byte forms, cut short.
  const odd = ['\x80', '\xbf', '\xc0\x80', '\xc1\xbf', '\xe0\x80\x80', '\xe0\x9f\xbf', '\xed\xa0\x80', '\xed\xbf\xbf', '\xed\x9f\xbf',
    '\xf0\x80\x80\x80', '\xf0\x8f\xbf\xbf', '\xf4\x90\x80\x80', '\xf7\xbf\xbf\xbf', '\xf8\x88\x80\x80\x80', '\xfc\x84\x80\x80\x80\x80',
    '\xfe', '\xff', '\xe2\x82', '\xf0\x9f\x98', '\xc3', 'word', ' ', '\n', 'x'];
  const invalid: Buffer[] = [];
  for (let i = 0; i < 60_000; i++) invalid.push(bin(pick(odd)));
  // Every ASCII byte between word characters and between spaces, at every
  // position of a 64-byte block.
  const controls: Buffer[] = [];
  for (let b = 0; b < 128; b++) {
    for (let at = 0; at < 70; at += 3) {
      controls.push(bin('w'.repeat(at)), Buffer.from([b]), bin('w \n'), bin(' '.repeat(at)), Buffer.from([b]), bin(' x\n'));
    }
  }
  // Every Unicode space, separator, format and control character of note, and
  // wc's non-breaking spaces, between words and alone.
  const spaces = [0x85, 0xa0, 0xad, 0x1680, 0x180e, ...Array.from({ length: 0x30 }, (_, k) => 0x2000 + k), 0x205f, 0x2060, 0x2061, 0x3000,
    0xfeff, 0xfff9, 0xfffc, 0x1d173, 0xe0001, 0xe0020];
  const spaced: string[] = [];
  for (const cp of spaces) {
    const c = String.fromCodePoint(cp);
    spaced.push(`a${c}b ${c} ${c}${c}x${c}\n`, `${'y'.repeat(60)}${c}z\n`);
  }
  // A few thousand random code points anywhere in Unicode (surrogates as the
  // invalid bytes they are in UTF-8) and past it.
  const points: Buffer[] = [];
  for (let i = 0; i < 6000; i++) {
    const cp = next() < 0.97 ? Math.floor(next() * 0x110000) : 0x110000 + Math.floor(next() * 0x7fef0000);
    points.push(bin(pick(['x', ' ', '', '\n'])), encodeAny(cp), bin(pick(['y', ' ', '', '\r\n'])));
  }
  // Sequences cut short at line ends, CRLF ends, and a file that ends inside one.
  const truncated: Buffer[] = [];
  for (const cut of ['\xe2\x82', '\xf0\x9f\x98', '\xc3', '\xf8\x88\x80']) {
    truncated.push(bin(`word${cut}\n`), bin(`word${cut}\r\n`), bin(`${cut}\n`), bin(`x ${cut} y\n`));
  }
  truncated.push(bin('the end\xf0\x9f\x98'));
  const every: Buffer[] = [];
  for (let cp = 0; cp < 0x110000; cp += 1) {
    if (cp >= 0xd800 && cp < 0xe000) continue;
    every.push(encodeAny(cp));
    if (cp % 16 === 0) every.push(bin(' '));
    if (cp % 64 === 0) every.push(bin('\n'));
  }
  return {
    issue: bin('a\x00b \xff\xfe\n'),
    empty: Buffer.alloc(0),
    text: enc(text.join('')),
    ls: readFileSync('/bin/ls'),
    random,
    invalid: Buffer.concat(invalid),
    controls: Buffer.concat(controls),
    spaces: enc(spaced.join('')),
    codepoints: Buffer.concat(points),
    truncated: Buffer.concat(truncated),
    crlf: bin('one two\r\nthree\r\n\r\n \r\nfour\r'),
    every: Buffer.concat(every),
  };
}

describe('GNU wc -l -w -m in C.UTF-8', () => {
  const cases = Object.entries(inputs());

  it('the C++ harness agrees with glibc and with itself on every path (selftest)', () => {
    expect(harnesses.length).toBe(2);
    for (const h of harnesses) {
      const out = h.run(['selftest', '1', '20000'], 240_000);
      expect(out, h.flavour).toMatch(/^ok: glibc .* C\.UTF-8 \(Unicode .*\) \(0 failures\)/);
    }
  }, 300_000);

  it('the same checks under AddressSanitizer and UBSan read nothing past the input', async () => {
    const path = await buildSanitized(dir);
    if (path === null) return; // no sanitizer runtime with this compiler
    const out = execFileSync(path, ['selftest', '2', '1500'], { encoding: 'utf8', timeout: 280_000, env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } });
    expect(out).toMatch(/^ok: .*\(0 failures\)/);
  }, 600_000);

  it.each(cases)('%s: native (AVX2 and portable) and JS give what wc gives', (name, bytes) => {
    const path = writeFile(dir, `${name}.txt`, bytes);
    const want = gnuWc(path);
    for (const h of harnesses) expect(harnessCounts(h, path), `${name} ${h.flavour}`).toEqual(want);
    expect(js.countWcUtf8(bytes), `${name} js`).toEqual(want);
    expect(js.countWordsUtf8(bytes)).toBe(want.words);
    expect(js.countCharsUtf8(bytes)).toBe(want.chars);
  }, 120_000);

  it("the issue's example is one word, where the old rule says two", () => {
    const bytes = bin('a\x00b \xff\xfe\n');
    expect(js.countWordsUtf8(bytes)).toBe(1);
    expect(fallback.countWords(bytes)).toBe(2);
  });

  it('counts of line-aligned pieces add up to the whole (no word or character spans a newline)', () => {
    const next = rng(3);
    for (const [name, bytes] of cases) {
      const whole = js.countWcUtf8(bytes);
      const sum = { lines: 0, words: 0, chars: 0 };
      let at = 0;
      while (at < bytes.length) {
        const cut = bytes.indexOf(0x0a, at + Math.floor(next() * 5000));
        const end = cut < 0 ? bytes.length : cut + 1;
        const c = js.countWcUtf8(bytes.subarray(at, end));
        sum.lines += c.lines;
        sum.words += c.words;
        sum.chars += c.chars;
        at = end;
      }
      expect(sum, name).toEqual(whole);
    }
  });

  it('the committed class table is what scripts/gen-utf8-wc-table.py makes from this glibc', () => {
    const r = spawnSync('python3', [join(ROOT, 'scripts/gen-utf8-wc-table.py'), '--check'], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toContain('up to date');
    expect(r.status).toBe(0);
  });
});

describe('the JS versions of the old kernels give what the addon gives', () => {
  const next = rng(7);
  const samples: Buffer[] = [Buffer.alloc(0), bin('\n'), bin('abc'), readFileSync('/bin/ls').subarray(0, 100_000)];
  for (let i = 0; i < 200; i++) {
    const n = Math.floor(next() * 700);
    const b = Buffer.alloc(n);
    for (let k = 0; k < n; k++) b[k] = next() < 0.5 ? 'ab \n\tH'.charCodeAt(Math.floor(next() * 6)) : Math.floor(next() * 256);
    samples.push(b);
  }

  it('countByte, indexOfByte, indexOf, countLinesContaining, countWords', () => {
    const ranges: [unknown, unknown][] = [[undefined, undefined], [3, 50], [-5, 1e9], [40, 10], [NaN, Infinity], [2.7, 9.2]];
    for (const b of samples) {
      for (const value of [0x0a, 0x20, 0x61, 0x161, -1]) {
        for (const [s, e] of ranges) {
          expect(fallback.countByte(b, value, s as number, e as number)).toBe(native.countByte(b, value, s as number, e as number));
          expect(fallback.indexOfByte(b, value, s as number, e as number)).toBe(native.indexOfByte(b, value, s as number, e as number));
        }
      }
      for (const needle of ['', 'a', 'ab', 'H ', 'zzz', b.subarray(5, 9).toString('latin1')]) {
        const nb = bin(needle);
        for (const [s, e] of ranges) expect(fallback.indexOf(b, nb, s as number, e as number)).toBe(native.indexOf(b, nb, s as number, e as number));
        if (!nb.includes(0x0a)) expect(fallback.countLinesContaining(b, nb, 0x0a)).toBe(native.countLinesContaining(b, nb, 0x0a));
      }
      expect(fallback.countWords(b)).toBe(native.countWords(b));
    }
  });
});
