/**
 * The no-addon fallback: JavaScript byte kernels that give exactly what the
 * native ones give (random and edge inputs, argument handling included),
 * mapping calls that throw ERR_PAGEWISE_NO_ADDON, the `nativeAvailable`
 * flag, and the one stderr line per process.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { native, nativeAvailable } from '../dist/src/native.js';
import * as js from '../dist/src/native-fallback.cjs';
import { CLI, ROOT, tempDir, writeFile } from './helpers.js';

fc.configureGlobal({ endOnFailure: true });

const dir = tempDir('pagewise-fallback-');

/** Bytes where newlines, blanks, 0xff and needle bytes are common. */
const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc.array(fc.constantFrom(0x0a, 0x20, 0x09, 0x0b, 0x0c, 0x0d, 0x61, 0x62, 0xff, 0x00), { maxLength: 20000 }).map((a) => Uint8Array.from(a)),
);
const needleArb = fc.array(fc.constantFrom(0x61, 0x62, 0xff, 0x0a, 0x00), { minLength: 0, maxLength: 4 }).map((a) => Uint8Array.from(a));
const boundArb = fc.oneof(fc.constant(undefined), fc.integer({ min: -10, max: 25000 }), fc.constantFrom(NaN, Infinity, -Infinity, 2.7, 1e15));
const byteArb = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(-1, 256, 0x10a, 2 ** 32 + 10, NaN, Infinity, 3.9));

/** Plain references, independent of both implementations. */
function plainCount(bytes: Uint8Array, value: number): number {
  let n = 0;
  for (const b of bytes) if (b === value) n++;
  return n;
}
function plainWords(bytes: Uint8Array): number {
  return Buffer.from(bytes).toString('latin1').split(/[ \t\n\v\f\r]+/).filter((w) => w.length > 0).length;
}
function plainRecordsContaining(bytes: Uint8Array, needle: Uint8Array, term: number): number {
  if (bytes.length === 0) return 0;
  const records: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === term) {
      records.push(Buffer.from(bytes.subarray(start, i + 1)));
      start = i + 1;
    }
  }
  if (start < bytes.length) records.push(Buffer.from(bytes.subarray(start)));
  return records.filter((r) => r.includes(Buffer.from(needle))).length;
}

describe('the JavaScript byte kernels', () => {
  it('run here against a loaded addon to compare with', () => {
    expect(nativeAvailable).toBe(true);
    expect(native.kernelFlavor()).not.toBe('js');
  });

  it('countByte and indexOfByte equal the native kernels for any bytes, value and bounds', () => {
    fc.assert(
      fc.property(bytesArb, byteArb, boundArb, boundArb, (bytes, value, start, end) => {
        expect(js.countByte(bytes, value, start, end)).toBe(native.countByte(bytes, value, start, end));
        expect(js.indexOfByte(bytes, value, start, end)).toBe(native.indexOfByte(bytes, value, start, end));
        expect(js.countByte(bytes, value)).toBe(plainCount(bytes, (value >>> 0) & 0xff));
      }),
      { numRuns: 400 },
    );
  });

  it('indexOf equals the native kernel, needles at the edges and empty ones included', () => {
    fc.assert(
      fc.property(bytesArb, needleArb, boundArb, boundArb, (bytes, needle, from, end) => {
        expect(js.indexOf(bytes, needle, from, end)).toBe(native.indexOf(bytes, needle, from, end));
      }),
      { numRuns: 400 },
    );
    const hay = Buffer.from('abcxyzabc');
    for (const needle of ['abc', 'c', 'bc', 'abcxyzabc', 'abcxyzabcd', '']) {
      for (const from of [0, 1, 6, 7, 9, 10]) {
        const n = Buffer.from(needle);
        expect(js.indexOf(hay, n, from), `${needle} ${from}`).toBe(native.indexOf(hay, n, from));
        expect(js.indexOf(hay, n, 0, from), `${needle} end ${from}`).toBe(native.indexOf(hay, n, 0, from));
      }
    }
  });

  it('countLinesContaining and countWords equal the native kernels and plain references', () => {
    fc.assert(
      fc.property(bytesArb, needleArb, fc.constantFrom(0x0a, 0x00, 0xff), (bytes, needle, term) => {
        if (needle.includes(term)) return;
        const n = js.countLinesContaining(bytes, needle, term);
        expect(n).toBe(native.countLinesContaining(bytes, needle, term));
        expect(n).toBe(plainRecordsContaining(bytes, needle, term));
        expect(js.countWords(bytes)).toBe(native.countWords(bytes));
        expect(js.countWords(bytes)).toBe(plainWords(bytes));
      }),
      { numRuns: 400 },
    );
  });

  it('copyLinesContaining equals the native kernel and a plain line filter (the last line gets its terminator)', () => {
    const plain = (bytes: Uint8Array, needle: Uint8Array, term: number): [Uint8Array, number] => {
      const parts: Uint8Array[] = [];
      let at = 0;
      while (at < bytes.length) {
        const t = bytes.indexOf(term, at);
        const end = t < 0 ? bytes.length : t + 1;
        const line = bytes.subarray(at, end);
        if (Buffer.from(line).includes(Buffer.from(needle))) parts.push(t < 0 ? Buffer.concat([line, Buffer.from([term])]) : line);
        at = end;
      }
      return [Buffer.concat(parts), parts.length];
    };
    const check = (bytes: Uint8Array, needle: Uint8Array, term: number): void => {
      const [want, records] = plain(bytes, needle, term);
      for (const k of [native, js]) {
        const out = new Uint8Array(bytes.length + 1);
        const [written, n] = k.copyLinesContaining(bytes, needle, term, out);
        expect(Buffer.from(out.subarray(0, written)).equals(Buffer.from(want))).toBe(true);
        expect(n).toBe(records);
      }
    };
    fc.assert(
      fc.property(bytesArb, needleArb, fc.constantFrom(0x0a, 0x00), (bytes, needle, term) => {
        if (needle.includes(term)) return;
        check(bytes, needle, term);
      }),
      { numRuns: 400 },
    );
    for (const text of ['', 'e', 'e\n', '\n', 'ab\nee\nx\ne', 'xe\nye\nz\n\nqe', 'a\r\ne\r\n', 'no match\n']) {
      for (const needle of ['e', 'ee', '\r', 'x']) check(Buffer.from(text), Buffer.from(needle), 0x0a);
    }
    expect(() => native.copyLinesContaining(Buffer.from('ab\n'), Buffer.from('a'), 0x0a, new Uint8Array(3))).toThrow(RangeError);
  });

  it('findLinesContaining equals the native kernel and a plain line filter, resumed from `next` whatever the capacity', () => {
    // [start, end, line index] of each line containing the needle, by splitting.
    const plain = (bytes: Uint8Array, needle: Uint8Array, term: number): number[] => {
      const out: number[] = [];
      for (let at = 0, index = 0; at < bytes.length; index++) {
        const t = bytes.indexOf(term, at);
        const end = t < 0 ? bytes.length : t + 1;
        if (Buffer.from(bytes.subarray(at, end)).includes(Buffer.from(needle))) out.push(at, end, index);
        at = end;
      }
      return out;
    };
    // Every record through calls of `cap` records each, line indexes made absolute as grep.ts does.
    const all = (k: Pick<typeof native, 'findLinesContaining'>, bytes: Uint8Array, needle: Uint8Array, term: number, cap: number): number[] => {
      const out: number[] = [];
      const found = new Float64Array(3 * cap);
      for (let from = 0, before = 0; ; ) {
        const [n, next] = k.findLinesContaining(bytes, needle, term, found, from);
        for (let i = 0; i < n; i++) out.push(found[3 * i], found[3 * i + 1], before + found[3 * i + 2]);
        if (n < cap) return out;
        before += found[3 * n - 1] + 1;
        from = next;
      }
    };
    fc.assert(
      fc.property(bytesArb, needleArb, fc.constantFrom(0x0a, 0x00), fc.integer({ min: 1, max: 5 }), (bytes, needle, term, cap) => {
        if (needle.length === 0 || needle.includes(term)) return;
        const want = plain(bytes, needle, term);
        for (const k of [native, js]) expect(all(k, bytes, needle, term, cap)).toEqual(want);
      }),
      { numRuns: 400 },
    );
    for (const text of ['', 'e', 'e\n', '\n\ne\n', 'ab\nee\nx\ne', 'xe\nye\nz\n\nqe', 'a\r\ne\r\n', 'no match\n']) {
      for (const cap of [1, 2, 100]) for (const k of [native, js]) expect(all(k, Buffer.from(text), Buffer.from('e'), 0x0a, cap), text).toEqual(plain(Buffer.from(text), Buffer.from('e'), 0x0a));
    }
    for (const k of [native, js]) {
      expect(() => k.findLinesContaining(Buffer.from('ab\n'), Buffer.from(''), 0x0a, new Float64Array(3), 0), 'empty needle').toThrow(RangeError);
      expect(() => k.findLinesContaining(Buffer.from('ab\n'), Buffer.from('b\n'), 0x0a, new Float64Array(3), 0), 'terminator in the needle').toThrow(RangeError);
      expect(() => k.findLinesContaining(Buffer.from('ab\n'), Buffer.from('a'), 0x0a, new Uint8Array(3) as unknown as Float64Array, 0)).toThrow(TypeError);
      expect(k.findLinesContaining(Buffer.from('ab\n'), Buffer.from('a'), 0x0a, new Float64Array(3), 99)).toEqual([0, 3]);
    }
  });

  it('agree on the edges: empty, no trailing newline, all newlines, all 0xff, lengths around the vector widths', () => {
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      Buffer.from('no newline at the end'),
      new Uint8Array(10000).fill(0x0a),
      new Uint8Array(70000).fill(0xff),
      Buffer.from('\n'),
      Buffer.from(' \t\v\f\r\n'),
      Buffer.from('a\r\nb\r\n'),
    ];
    for (const n of [31, 32, 33, 63, 64, 65, 127, 128, 129, 255 * 64 - 1, 255 * 64, 255 * 64 + 1]) {
      cases.push(Uint8Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0x0a : i % 5 === 0 ? 0x20 : 0x61 + (i % 3))));
    }
    const needles = [Buffer.from('a'), Buffer.from('ab'), Buffer.from([0xff, 0xff]), new Uint8Array(0)];
    for (const bytes of cases) {
      const label = `length ${bytes.length}`;
      for (const value of [0x0a, 0xff, 0x61, 0x00]) {
        expect(js.countByte(bytes, value), label).toBe(native.countByte(bytes, value));
        expect(js.indexOfByte(bytes, value, 1), label).toBe(native.indexOfByte(bytes, value, 1));
      }
      for (const needle of needles) {
        expect(js.indexOf(bytes, needle), label).toBe(native.indexOf(bytes, needle));
        expect(js.countLinesContaining(bytes, needle, 0x0a), label).toBe(native.countLinesContaining(bytes, needle, 0x0a));
      }
      expect(js.countWords(bytes), label).toBe(native.countWords(bytes));
      // A view that does not start at its buffer's beginning.
      const inner = bytes.length > 2 ? bytes.subarray(1, bytes.length - 1) : bytes;
      expect(js.countByte(inner, 0x0a), label).toBe(native.countByte(inner, 0x0a));
      expect(js.indexOf(inner, needles[1]), label).toBe(native.indexOf(inner, needles[1]));
    }
  });

  it('refuse what the native kernels refuse: anything but a Uint8Array', () => {
    for (const bad of [[1, 2], new Uint16Array(4), 'abc', null]) {
      expect(() => js.countByte(bad as never, 0x0a)).toThrow(TypeError);
      expect(() => native.countByte(bad as never, 0x0a)).toThrow();
      expect(() => js.countWords(bad as never)).toThrow(TypeError);
    }
  });

  it('read the page size from the kernel, as the addon does', () => {
    expect(js.pageSize()).toBe(native.pageSize());
  });
});

/** Runs a script in a fresh Node with `env`; the addon is loaded or not at import. */
function node(script: string, env: NodeJS.ProcessEnv = {}, input?: string) {
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    input,
    env: { ...process.env, ...env },
  });
}

describe('without the addon', () => {
  it('PAGEWISE_NATIVE=0: nativeAvailable is false, kernels run in JavaScript, mapping calls throw ERR_PAGEWISE_NO_ADDON', () => {
    const path = writeFile(dir, 'a.txt', 'one two\nthree\n');
    const r = node(
      `
      const m = await import('./dist/src/native.js');
      const { MappedFile } = await import('./dist/src/mapped-file.js');
      const out = { available: m.nativeAvailable, loadError: m.nativeLoadError?.code, flavor: m.native.kernelFlavor(),
        lines: m.native.countByte(Buffer.from('a\\nb\\n'), 10), words: m.native.countWords(Buffer.from(' a b ')),
        stats: m.native.stats(), pageSize: m.PAGE_SIZE };
      for (const [name, f] of [['open', () => m.native.open(${JSON.stringify(path)})], ['MappedFile.open', () => MappedFile.open(${JSON.stringify(path)})],
          ['scan', () => m.native.scan(1, 0, 1, [])], ['view', () => m.native.view(1, 0, 1)]]) {
        try { f(); out[name] = 'returned'; } catch (e) { out[name] = e.code; out[name + ':cause'] = e.cause?.code; }
      }
      console.log(JSON.stringify(out));
      `,
      { PAGEWISE_NATIVE: '0' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      available: false,
      loadError: 'ERR_PAGEWISE_NO_ADDON',
      flavor: 'js',
      lines: 2,
      words: 2,
      stats: { mappings: 0, views: 0 },
      pageSize: native.pageSize(),
      open: 'ERR_PAGEWISE_NO_ADDON',
      'open:cause': 'ERR_PAGEWISE_NO_ADDON',
      'MappedFile.open': 'ERR_PAGEWISE_NO_ADDON',
      'MappedFile.open:cause': 'ERR_PAGEWISE_NO_ADDON',
      scan: 'ERR_PAGEWISE_NO_ADDON',
      'scan:cause': 'ERR_PAGEWISE_NO_ADDON',
      view: 'ERR_PAGEWISE_NO_ADDON',
      'view:cause': 'ERR_PAGEWISE_NO_ADDON',
    });
    // One line on stderr for the whole process, however many calls used the fallback.
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^pagewise: .*PAGEWISE_NATIVE=0.*fallback/);
  });

  it('a binary that fails to load: the fallback takes over, and the note says how to build the addon', () => {
    // node-gyp-build looks for this architecture's binary, which does not exist.
    const r = node(
      `const m = await import('./dist/src/native.js');
       console.log(JSON.stringify({ available: m.nativeAvailable, code: m.nativeLoadError?.code, n: m.native.countByte(Buffer.from('\\n\\n'), 10) }));`,
      { npm_config_arch: 'riscv64', PREBUILDS_ONLY: '1' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ available: false, code: 'ERR_PAGEWISE_NO_ADDON', n: 2 });
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('npm rebuild pagewise');
    expect(lines[0]).toContain('arch=riscv64');
  });

  it('nothing is said while the fallback is not used, and never on stdout', () => {
    const quiet = node(`const m = await import('./dist/src/native.js'); console.log(m.nativeAvailable, m.PAGE_SIZE > 0);`, { PAGEWISE_NATIVE: '0' });
    expect(quiet.stdout).toBe('false true\n');
    expect(quiet.stderr).toBe('');
    const version = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8', env: { ...process.env, PAGEWISE_NATIVE: '0' } });
    expect(version.status).toBe(0);
    expect(version.stderr).toBe('');
    const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8', env: { ...process.env, PAGEWISE_NATIVE: '0' } });
    expect(help.status).toBe(0);
    expect(help.stderr).toBe('');
  });

  it('info works without the addon: the threadpool is not probed (the fallback has none), nothing on stderr', () => {
    const env = { ...process.env, PAGEWISE_NATIVE: '0', UV_THREADPOOL_SIZE: '6' };
    const text = spawnSync(process.execPath, [CLI, 'info'], { encoding: 'utf8', env });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stderr).toBe('');
    expect(text.stdout).toMatch(/^byte kernels {2}js: the native addon is turned off \(PAGEWISE_NATIVE=0\) \(ERR_PAGEWISE_NO_ADDON\)$/m);
    expect(text.stdout).toMatch(/^threadpool {4}UV_THREADPOOL_SIZE 6: 6 \(not measured: the probe is the addon's\)$/m);
    const json = spawnSync(process.execPath, [CLI, 'info', '--json'], { encoding: 'utf8', env });
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).threadpool).toEqual({ configured: 6 });
  });

  it('wc of standard input gives the same counts through the JavaScript kernels', () => {
    const text = Array.from({ length: 5000 }, (_, i) => `line ${i}\twith  words ${'é'.repeat(i % 5)}`).join('\n') + '\nno newline';
    const r = spawnSync(process.execPath, [CLI, 'wc', '--json', '-'], { input: text, encoding: 'utf8', env: { ...process.env, PAGEWISE_NATIVE: '0' } });
    const ref = spawnSync(process.execPath, [CLI, 'wc', '--json', '-'], { input: text, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(ref.stdout));
    expect(JSON.parse(r.stdout).lines).toBe(5000);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });
});
