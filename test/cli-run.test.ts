/**
 * `run` as a job author meets it (issue 14 §4, §5): a job that throws is
 * located (chunk and the job's file:line), --verbose shows the stack, a
 * syntax error says where; results print as util.inspect shows them, and as
 * JSON by documented rules. Also tune on inputs it cannot time (12.14) and
 * grep --json as JSON lines in bounded memory (12.16).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeFile } from './helpers.js';
import { PW, pagewise, shell, tool } from './cli-helpers.js';

const dir = tempDir('pagewise-cli-run-');
const text = writeFile(dir, 'text.txt', Array.from({ length: 5000 }, (_, i) => `line ${i} Hamburg;${i % 10}.5`).join('\n') + '\n');

describe('errors a job author can act on', () => {
  const throws = writeFile(
    dir,
    'throws.mjs',
    [
      'export default {',
      '  init: () => 0,',
      '  map(acc, bytes) {',
      '    for (let i = 0; i < bytes.length; i++) {',
      '      if (bytes[i] === 0x0a) acc++;',
      '    }',
      '    if (acc > 5) throw new Error(`too many lines: ${acc}`);',
      '    return acc;',
      '  },',
      '  merge: (a, b) => a + b,',
      '};',
    ].join('\n'),
  );

  it("a job that throws: which chunk, and the job's file:line:column from the cause's stack", () => {
    const r = pagewise(['run', throws, text, '--chunk-size', '4KiB', '--threads', '1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^pagewise: job (map )?failed on chunk \d+ of '.*text\.txt' \(bytes \d+-\d+\): too many lines: \d+ \(at .*throws\.mjs:7:24\) \(ERR_PAGEWISE_JOB_FAILED\)\n$/);
  });

  it('--verbose adds the whole stack of the cause', () => {
    const r = pagewise(['run', throws, text, '--verbose']);
    expect(r.status).toBe(1);
    const [first, ...stack] = r.stderr.trim().split('\n');
    expect(first).toMatch(/\(at .*throws\.mjs:7:24\) \(ERR_PAGEWISE_JOB_FAILED\)$/);
    expect(stack[0]).toBe('Error: too many lines: 4999'.replace('4999', stack[0].split(': ').pop()!));
    expect(stack[1]).toMatch(/^ +at .*map \(file:\/\/.*throws\.mjs:7:24\)$/);
  });

  it('a job with a syntax error says where (file and line, the line itself)', () => {
    const bad = writeFile(dir, 'syntax.mjs', 'export default {\n  init: () => 0,\n  map(acc, bytes) { return acc +; },\n  merge: (a, b) => a + b,\n};\n');
    const r = pagewise(['run', bad, text]);
    expect(r.status).toBe(1);
    const lines = r.stderr.split('\n');
    // The loader names the line (Node 22+ and the TypeScript stripper); where it does not, the CLI adds it and the line itself.
    expect(lines[0]).toMatch(/^pagewise: cannot load job module '.*syntax\.mjs': .*\(ERR_PAGEWISE_JOB_LOAD\)$/);
    expect(lines[0]).toContain("Unexpected token ';'");
    expect(lines[0]).toMatch(/syntax\.mjs:3\b/);
    if (lines.length > 2) {
      expect(lines[1]).toContain('map(acc, bytes) { return acc +; }');
      expect(lines[2].trim()).toBe('^');
    }
  });

  it('a job file that does not exist: the error names it, and no place in pagewise as if it were the job', () => {
    const r = pagewise(['run', join(dir, 'missing.mjs'), text]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^pagewise: cannot find job module '.*missing\.mjs': ENOENT[^\n]*\(ERR_PAGEWISE_JOB_LOAD\)\n$/);
    expect(r.stderr).not.toContain('(at ');
  });

  it('prints whatever code the error carries (here a bad record from stats)', () => {
    const broken = writeFile(dir, 'broken.txt', 'a;1.0\nno separator here\n');
    const r = pagewise(['stats', broken]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\((ERR_PAGEWISE_BAD_RECORD|ERR_PAGEWISE_JOB_FAILED)\)\n$/);
  });
});

describe('results of run: text as util.inspect shows them, JSON by the rules', () => {
  const result = (expr: string): string =>
    writeFile(dir, `r${Math.abs(hash(expr))}.mjs`, `export default { init: () => 0, map: (a) => a, merge: (a) => a, finish: () => (${expr}) };\n`);
  const cases: [string, unknown, string][] = [
    ['new Map([["a", 1], ["b", 2]])', new Map([['a', 1], ['b', 2]]), '{"a":1,"b":2}'],
    ['new Map([[1, "x"], [2, "y"]])', new Map([[1, 'x'], [2, 'y']]), '[[1,"x"],[2,"y"]]'],
    ['new Set(["x", "y"])', new Set(['x', 'y']), '["x","y"]'],
    ['12345678901234567890n', 12345678901234567890n, '"12345678901234567890"'],
    ['({ total: 3n, byKey: new Map([["k", new Set([1, 2])]]) })', { total: 3n, byKey: new Map([['k', new Set([1, 2])]]) }, '{"total":"3","byKey":{"k":[1,2]}}'],
    ['[1, "two", null]', [1, 'two', null], '[1,"two",null]'],
    ['new Uint8Array([1, 2])', new Uint8Array([1, 2]), '[1,2]'],
    ['"plain text"', 'plain text', '"plain text"'],
  ];
  for (const [expr, value, json] of cases) {
    it(expr, () => {
      const job = result(expr);
      const t = pagewise(['run', job, text]);
      expect(t.status, t.stderr).toBe(0);
      expect(t.stdout).toBe(typeof value === 'string' ? `${value}\n` : `${inspect(value, { depth: null, maxArrayLength: null, maxStringLength: null, breakLength: 100 })}\n`);
      const j = pagewise(['run', job, text, '--json']);
      expect(j.stdout).toBe(`${json}\n`);
    });
  }
});

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h;
}

describe('tune on inputs it cannot time (12.14)', () => {
  it('standard input, an empty file, a FIFO: a coded usage error, no recommendation', () => {
    const empty = writeFile(dir, 'empty.txt', '');
    for (const [args, input] of [
      [['tune', '-'], 'a\nb\n'],
      [['tune', empty], undefined],
      [['tune', '/dev/null'], undefined],
    ] as const) {
      const r = pagewise([...args], { input });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^pagewise: FILE must be a (non-empty|regular) file.*\(ERR_PAGEWISE_INVALID_OPTION\)\n$/);
      expect(r.stdout).toBe('');
    }
    expect(pagewise(['tune', join(dir, 'missing')]).stderr).toMatch(/\(ENOENT\)\n$/);
  });

  it('a small file: only the sizes up to the first that holds it whole', () => {
    const r = pagewise(['tune', text, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { recommended: number; trials: { chunkSize: number }[] };
    expect(out.trials.map((t) => t.chunkSize)).toEqual([256 << 10]);
    expect(out.recommended).toBe(256 << 10);
  });
});

describe('grep --json without --count (12.16): JSON lines, streamed', () => {
  const big = join(dir, 'big.txt');
  beforeAll(() => {
    expect(pagewise(['gen', '1brc', big, '--rows', '1.2e7']).status).toBe(0);
  }, 120_000);

  it('one object per selected line: file, line, text (bytes as base64 when not UTF-8)', () => {
    const mixed = writeFile(dir, 'mixed.txt', Buffer.concat([Buffer.from('café Hamburg\nnone\n'), Buffer.from('\xff Hamburg\r\nHamburg', 'latin1')]));
    const r = pagewise(['grep', '--json', 'Hamburg', mixed]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { file: mixed, line: 1, text: 'café Hamburg' },
      { file: mixed, line: 3, bytes: Buffer.from('\xff Hamburg\r', 'latin1').toString('base64') },
      { file: mixed, line: 4, text: 'Hamburg' },
    ]);
    // The line numbers are grep -n's.
    const ref = tool('grep', ['-n', 'Hamburg;1', text]).stdout.trim().split('\n').map((l) => Number(l.split(':')[0]));
    const got = pagewise(['grep', '--json', 'Hamburg;1', text, '--chunk-size', '4KiB']).stdout.trim().split('\n').map((l) => JSON.parse(l).line);
    expect(got).toEqual(ref);
    // --count --json keeps its shape.
    expect(JSON.parse(pagewise(['grep', '--json', '--count', 'Hamburg;1', text]).stdout)).toEqual({ count: ref.length });
  });

  // Prints every line of the file as a JSON object twice: ~50 s on a slow host.
  it('the first object comes out before the run ends (| head -1 stops it), and memory does not grow with the matches', { timeout: 180_000 }, () => {
    const r = shell(`${PW} grep --json ';' '${big}' | head -1; echo "\${PIPESTATUS[0]}" >&2`);
    expect(JSON.parse(r.stdout)).toMatchObject({ file: big, line: 1 });
    expect(r.stderr).toBe('141\n');
    // Memory: the same peak for a third of the file as for all of it (every line matches: holding the
    // matches would add the whole output). Small generations keep GC slack out of the figure: on Node 24
    // the old one grew ~100 MB with garbage once the workers outran the JSON formatting, and held
    // matches (~0.5 GB of JSON here) would not fit in 128 MB at all. glibc's mmap threshold is pinned:
    // its dynamic threshold keeps freed 4 MiB buffers in the heap, which on Node 24 grew the peak by
    // ~50 MB more for the larger file (measured: 94 -> 43 MB of growth with it pinned).
    const env = { NODE_OPTIONS: '--max-semi-space-size=2 --max-old-space-size=128', MALLOC_MMAP_THRESHOLD_: '131072' };
    const third = join(dir, 'third.txt');
    shell(`head -n 4000000 '${big}' > '${third}'`);
    const peak = (file: string): number =>
      JSON.parse(shell(`${PW} grep --stats --json ';' '${file}' --release unmap --chunk-size 4MiB 2>&1 >/dev/null | tail -1`, env).stdout).peakRssBytes;
    const small = peak(third);
    const large = peak(big);
    const grown = readFileSync(big).length - readFileSync(third).length;
    // Holding the matches would add at least the grown bytes themselves; GC slack adds tens of MB.
    expect(large - small, `peak ${small} -> ${large} for ${grown} more bytes of input`).toBeLessThan(grown * 0.8);
  });
});
