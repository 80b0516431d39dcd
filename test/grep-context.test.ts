/**
 * grep's context lines (-A, -B, -C, -NUM, --group-separator,
 * --no-group-separator) against GNU grep 3.8 in the C locale (grep -a -F, and
 * -E with patterns whose syntax is the same in a JavaScript RegExp): stdout
 * bytes and exit status, on seeded random files whose matches are sometimes
 * adjacent and sometimes sparse, and on edge files (empty, no trailing
 * newline, CRLF, one line, lines longer than a chunk, every or no line
 * matching), in 4 KiB chunks over two threads so that context crosses chunk
 * and thread edges. Then --json, --output, and the job's own result
 * (`parts`, `numbers`, `marks`) against a plain reference.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI, tempDir, writeFile } from './helpers.js';
import { pagewise, tool } from './cli-helpers.js';
import * as lib from '../dist/src/index.js';

const dir = tempDir('pagewise-grep-context-');

/** A deterministic PRNG (mulberry32). */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) as number;
  };
}

/** Many matches, often adjacent. */
function dense(seed: number, lines: number): string {
  const words = ['foo', 'bar', 'baz', 'foo bar', 'xfoo', 'FOO', 'Foo x', '', 'b', 'qux', 'foobar', 'bar foo baz', 'zz', 'foo_1', 'bar.'];
  const rand = prng(seed);
  return Array.from({ length: lines }, () => words[rand(words.length)]).join('\n');
}

/** Few matches: mostly lines without one, now and then a burst of one to four matching lines. */
function sparse(seed: number, lines: number): string {
  const rand = prng(seed);
  const out: string[] = [];
  let burst = 0;
  for (let i = 0; i < lines; i++) {
    if (burst === 0 && rand(90) === 0) burst = 1 + rand(4);
    if (burst > 0) {
      burst--;
      out.push(['a foo here', 'foo', 'FOO bar', 'bar baz foo', 'foobar'][rand(5)]);
    } else {
      out.push(`line ${i} ${['zz', 'qux', 'b x', 'fo o', 'baz'][rand(5)]}`);
    }
  }
  return out.join('\n');
}

/** Stretches of dense and sparse lines. */
function mixed(seed: number, lines: number): string {
  const rand = prng(seed);
  const out: string[] = [];
  let k = 0;
  while (out.length < lines) {
    const n = 20 + rand(150);
    out.push(...(k++ % 2 === 0 ? dense(seed + k, n) : sparse(seed + k, n)).split('\n'));
  }
  return out.slice(0, lines).join('\n');
}

const longBody = [
  'short a',
  `L1 ${'a'.repeat(20000)}`,
  'foo mid',
  `L2 ${'b'.repeat(30000)}`,
  'c',
  'd',
  `L3 ${'e'.repeat(9000)}`,
  `foo ${'f'.repeat(25000)}`,
  'g',
  `L4 ${'h'.repeat(21000)} foo`,
  `L5 ${'i'.repeat(17000)}`,
  'j',
  'k',
  'l',
  'm foo',
  `L6 ${'n'.repeat(40000)}`,
].join('\n');

const files = {
  dense: writeFile(dir, 'dense.txt', `${dense(1, 3000)}\n`),
  sparse: writeFile(dir, 'sparse.txt', `${sparse(2, 4000)}\n`),
  mixed: writeFile(dir, 'mixed.txt', `${mixed(3, 4000)}\n`),
};
const edges = {
  empty: writeFile(dir, 'empty.txt', ''),
  noNewline: writeFile(dir, 'nonl.txt', sparse(4, 600)),
  noNewlineMatch: writeFile(dir, 'nonl-match.txt', `${sparse(5, 300)}\nbar\nfoo`),
  crlf: writeFile(dir, 'crlf.txt', `${dense(6, 1500).replace(/\n/g, '\r\n')}\r\n`),
  single: writeFile(dir, 'single.txt', 'foo\n'),
  singleNone: writeFile(dir, 'single-none.txt', 'bar'),
  long: writeFile(dir, 'long.txt', `${longBody}\n`),
  allMatch: writeFile(dir, 'all.txt', `${Array.from({ length: 800 }, (_, i) => `foo ${i}`).join('\n')}\n`),
  noneMatch: writeFile(dir, 'none.txt', `${Array.from({ length: 800 }, (_, i) => `bar ${i}`).join('\n')}\n`),
  controls: writeFile(dir, 'controls.txt', Buffer.from('caf\xe9 foo \xff\n\xe2\x82 x\nfoo\x00bar\n\x0b\x0c\r\n  foo  \nq\nr\ns\nFoo\nFOO bar', 'latin1')),
};
const edgeList = Object.values(edges);
const chunkOptions = ['--chunk-size', '4KiB', '--threads', '2'];

/** pagewise's flags as grep spells them. */
function gnu(flags: string[]): string[] {
  return flags.map((f) => (f === '--no-filename' ? '-h' : f));
}

/** Runs pagewise grep and GNU grep on the same arguments; stdout and status must be equal. */
function same(flags: string[], pattern: string[], list: string[], options: string[] = chunkOptions, mode = '-F'): void {
  const ref = tool('grep', ['-a', mode, ...gnu(flags), ...pattern, ...list]);
  const r = pagewise(['grep', ...(mode === '-E' ? ['-E'] : []), ...flags, ...pattern, ...list, ...options]);
  const label = `grep ${mode === '-E' ? '-E ' : ''}${flags.join(' ')} ${pattern.join(' ')} ${list.map((f) => f.slice(dir.length + 1)).join(' ')} ${options.join(' ')}`;
  expect(ref.status, `${label}: GNU grep itself`).not.toBe(2);
  expect(r.stdout, label).toBe(ref.stdout);
  expect(r.raw.equals(ref.raw), `${label}: the same bytes`).toBe(true);
  expect(r.status, label).toBe(ref.status);
  expect(r.stderr, label).toBe('');
}

describe('grep context lines against LC_ALL=C grep -a', () => {
  const contexts = [
    ['-A', '0'], ['-B', '0'], ['-C', '0'], ['-A', '1'], ['-B', '1'], ['-C', '1'], ['-A', '2'], ['-B', '2'], ['-C', '2'],
    ['-A', '5'], ['-B', '5'], ['-C', '5'], ['-A', '50'], ['-B', '50'], ['-C', '50'], ['-A', '1', '-B', '2'], ['-B', '5', '-A', '0'],
    ['-2'], ['-5'], ['--context=1'], ['--after-context=2', '--before-context=1'], ['-C', '5', '-A', '1'], ['-A', '1', '-C', '5'],
    ['-A', '3', '-A', '1'], ['-B1', '-A2'], ['-0'],
  ];
  const modifiers = [
    [], ['-n'], ['-v'], ['-o'], ['-H'], ['-m', '1'], ['-m', '3'], ['-i'], ['-w'], ['-x'], ['--no-group-separator'], ['--group-separator=XX'],
    ['-n', '-v'], ['-o', '-n'], ['-v', '-o'], ['-v', '-o', '-n'], ['-H', '-n'], ['-m', '3', '-n'], ['-m', '1', '-v'], ['-m', '3', '-o'],
    ['-i', '-w', '-n'], ['-x', '-n', '-v'], ['--group-separator', 'XX', '-n'], ['--group-separator='], ['--no-group-separator', '--group-separator=##'],
    ['--group-separator=##', '--no-group-separator'], ['--no-filename', '-n'], ['-m', '2', '-v', '-n', '-o'],
  ];
  const fileSets = [
    [files.dense], [files.sparse], [files.mixed], [files.dense, files.sparse], edgeList, [edges.crlf], [edges.long], [files.mixed, edges.allMatch, edges.noneMatch, edges.empty],
  ];
  const patterns = [['foo'], ['foo'], ['-e', 'foo', '-e', 'baz'], ['bar'], ['-e', 'FOO']];

  // A fixed list of combinations (not the cross product): each modifier with three context flags, file sets and patterns in rotation.
  const combos: { flags: string[]; pattern: string[]; list: string[]; options: string[] }[] = [];
  modifiers.forEach((m, i) => {
    for (let j = 0; j < 3; j++) {
      combos.push({
        flags: [...contexts[(i * 3 + j) % contexts.length], ...m],
        pattern: patterns[(i + j) % patterns.length],
        list: fileSets[(i + j * 3) % fileSets.length],
        options: (i + j) % 4 === 3 ? [] : chunkOptions,
      });
    }
  });

  for (let start = 0; start < combos.length; start += 12) {
    const batch = combos.slice(start, start + 12);
    it(`random and edge files, combinations ${start + 1}-${start + batch.length} of ${combos.length}: stdout and status equal grep's`, { timeout: 120_000 }, () => {
      for (const c of batch) same(c.flags, c.pattern, c.list, c.options);
    });
  }

  it('each edge file alone (no name prefix): context, -v, -o, -m, -n', { timeout: 120_000 }, () => {
    const sets = [['-C', '2', '-n'], ['-A', '1', '-v'], ['-B', '3', '-o'], ['-C', '1', '-m', '1'], ['-B', '1', '-A', '4', '-n', '-m', '2']];
    edgeList.forEach((f, i) => {
      for (let k = 0; k < 2; k++) same(sets[(i + k * 2) % sets.length], ['foo'], [f]);
    });
    // And with the defaults (one chunk, the planner's threads).
    for (const f of [edges.long, edges.crlf, edges.noNewlineMatch]) same(['-C', '1', '-n'], ['foo'], [f], []);
  });

  it('-NUM in clusters as grep reads them (-n2, -2n, -13, -1 -3, -1n3, -C 5 -2), and --context after -NUM', { timeout: 60_000 }, () => {
    for (const flags of [['-n2'], ['-2n'], ['-13'], ['-1', '-3'], ['-1n3'], ['-C', '5', '-2'], ['-2', '--context=4'], ['-3', '-A', '0'], ['-vn1'], ['-on1']]) {
      same(flags, ['foo'], [files.sparse]);
    }
  });

  it('-c, -l, -L and -q ignore context lines', { timeout: 60_000 }, () => {
    for (const flags of [['-c'], ['-c', '-v'], ['-c', '-H'], ['-l'], ['-L'], ['-q'], ['-c', '-m', '2'], ['-l', '-v']]) {
      for (const ctx of [['-C', '2'], ['-A', '0']]) same([...ctx, ...flags], ['foo'], [files.dense, edges.noneMatch, edges.empty]);
    }
    same(['-q', '-C', '3'], ['zzz-none'], [files.dense]);
  });

  it('-E (JavaScript RegExp) with context as grep -E', { timeout: 60_000 }, () => {
    const sets = [['-C', '1'], ['-A', '2', '-n'], ['-B', '3', '-v'], ['-2', '-o'], ['-A', '1', '-m', '3', '-n']];
    ['fo+', '^b', 'ba[rz]$', 'o|z'].forEach((pattern, i) => {
      for (let k = 0; k < 3; k++) same(sets[(i + k) % sets.length], [pattern], [files.mixed], chunkOptions, '-E');
    });
    same(['-C', '2', '-n'], ['^L[0-9]'], [edges.long], chunkOptions, '-E');
  });

  it('standard input with -H and context: (standard input)- and (standard input):', () => {
    const input = readFileSync(files.sparse);
    for (const flags of [['-H', '-n', '-C', '1'], ['-H', '-B', '2', '-m', '2']]) {
      const ref = tool('grep', ['-a', '-F', ...flags, 'foo', '-'], 'C', input);
      const r = pagewise(['grep', ...flags, 'foo', '-'], { input });
      expect(r.stdout, flags.join(' ')).toBe(ref.stdout);
      expect(r.status, flags.join(' ')).toBe(ref.status);
    }
  });

  it('-m with -A on an endless standard input: stops after the trailing context, as grep does', () => {
    for (const flags of [['-m', '2', '-A', '3'], ['-m', '1', '-C', '2', '-n']]) {
      const line = `yes 'a line with x' | timeout 20 '${process.execPath}' '${CLI}' grep ${flags.join(' ')} x -; echo "\${PIPESTATUS[1]}" >&2`;
      const r = spawnSync('bash', ['-c', line], { encoding: 'utf8' });
      expect(r.stderr, flags.join(' ')).toBe('0\n');
      expect(r.stdout, flags.join(' ')).toBe(spawnSync('bash', ['-c', `yes 'a line with x' | LC_ALL=C grep ${flags.join(' ')} x -`], { encoding: 'utf8' }).stdout);
    }
  });

  it('a value too large to hold is every line, as grep takes it', { timeout: 60_000 }, () => {
    const huge = '99999999999999999999';
    for (const flags of [['-A', huge], ['-B', huge], ['-C', huge, '-n'], [`--context=${huge}`, '-m', '1'], ['-B', huge, '-A', '0', '-v']]) same(flags, ['foo'], [files.sparse]);
  });

  it('bad values are a usage error: exit 2, a message on stderr, nothing on stdout', { timeout: 60_000 }, () => {
    for (const bad of [['-A', 'x'], ['-C', '-1'], ['-A', ''], ['-B', '1.5'], ['--context=abc'], ['--after-context='], ['-B', '0x2'], ['-A', '1k']]) {
      const args = [...bad, 'foo', files.sparse];
      expect(tool('grep', ['-a', '-F', ...args]).status, `GNU grep ${bad.join(' ')}`).toBe(2);
      const r = pagewise(['grep', ...args]);
      expect(r.status, bad.join(' ')).toBe(2);
      expect(r.stderr, bad.join(' ')).not.toBe('');
      expect(r.stdout, bad.join(' ')).toBe('');
    }
    // A flag without its value, last on the line.
    const r = pagewise(['grep', 'foo', files.sparse, '-A']);
    expect(r.status).toBe(2);
    expect(r.stderr).not.toBe('');
    expect(r.stdout).toBe('');
  });

  it('values as grep reads them: leading blanks and + accepted, trailing blanks refused', () => {
    for (const value of [' 2', '+2', '002']) same(['-A', value], ['foo'], [files.sparse]);
    const ref = tool('grep', ['-a', '-F', '-A', '2 ', 'foo', files.sparse]);
    expect(ref.status).toBe(2);
    const r = pagewise(['grep', '-A', '2 ', 'foo', files.sparse]);
    expect(r.status, "-A '2 '").toBe(2);
    expect(r.stdout, "-A '2 '").toBe('');
  });
});

describe('grep context with records longer than a chunk', () => {
  const withNewline = edges.long;
  const without = writeFile(dir, 'long-nonl.txt', longBody);
  const leading = writeFile(dir, 'long-lead.txt', `foo ${'p'.repeat(50000)}\n${'q'.repeat(33000)}\nfoo\n${'r'.repeat(12000)}`);
  it('context lines that span several chunks are printed whole, before and after, over threads', { timeout: 120_000 }, () => {
    const sets = [['-B', '1'], ['-A', '1'], ['-C', '2', '-n'], ['-B', '3', '-v'], ['-A', '1', '-o'], ['-C', '1', '-m', '2'], ['-B', '2', '-x'], ['-C', '50', '-n']];
    for (const f of [withNewline, without, leading]) {
      for (const flags of sets) same(flags, ['foo'], [f]);
    }
    for (const flags of [['-C', '1', '-n'], ['-B', '2', '-A', '0']]) {
      same(flags, ['foo'], [withNewline, leading], ['--chunk-size', '4KiB', '--threads', '1']);
      same(flags, ['foo'], [without], []);
    }
  });
});

describe('grep context does not depend on chunks or threads', () => {
  it('--chunk-size 4KiB --threads 2, --chunk-size 64KiB --threads 1 and the defaults print the same bytes (grep\'s)', { timeout: 120_000 }, () => {
    const cmds = [['-C', '2', '-n', 'foo'], ['-B', '5', '-v', 'foo'], ['-A', '3', '-m', '3', 'foo'], ['-C', '1', '-o', '-n', 'foo'], ['-C', '4', '--group-separator=::', '-H', 'bar']];
    const options = [chunkOptions, ['--chunk-size', '64KiB', '--threads', '1'], []];
    for (const cmd of cmds) {
      for (const list of [[files.mixed], [edges.long, files.dense]]) {
        const outs = options.map((o) => pagewise(['grep', ...cmd, ...list, ...o]));
        const ref = tool('grep', ['-a', '-F', ...cmd, ...list]);
        for (let k = 0; k < outs.length; k++) {
          const label = `${cmd.join(' ')} ${list.length} files ${options[k].join(' ')}`;
          expect(outs[k].raw.equals(outs[0].raw), label).toBe(true);
          expect(outs[k].stdout, label).toBe(ref.stdout);
          expect(outs[k].status, label).toBe(ref.status);
        }
      }
    }
  });
});

interface JsonLine {
  file: string;
  line: number;
  text: string;
  context?: true;
}

/** GNU grep -n (-H) output as --json objects: `N:text` selected, `N-text` context; `--` lines dropped. */
function gnuAsJson(stdout: string, list: string[]): JsonLine[] {
  const out: JsonLine[] = [];
  for (const l of stdout.split('\n').slice(0, -1)) {
    if (l === '--') continue;
    let file = list[0];
    let rest = l;
    if (list.length > 1) {
      file = list.find((f) => l.startsWith(f) && (l[f.length] === ':' || l[f.length] === '-'))!;
      rest = l.slice(file.length + 1);
    }
    const m = /^(\d+)([:-])([\s\S]*)$/.exec(rest)!;
    const o: JsonLine = { file, line: Number(m[1]), text: m[3] };
    if (m[2] === '-') o.context = true;
    out.push(o);
  }
  return out;
}

describe('grep --json with context', () => {
  it('one object a line; context lines carry "context":true, selected lines no such key; lines and texts as grep -n', { timeout: 120_000 }, () => {
    const sets = [['-A', '2', '-B', '1'], ['-C', '3', '-v'], ['-C', '1', '-m', '3'], ['-B', '50'], ['-A', '0'], ['-2', '-i', '-w']];
    for (const flags of sets) {
      for (const list of [[files.mixed], [edges.crlf], [files.sparse, edges.noNewlineMatch]]) {
        const label = `${flags.join(' ')} ${list.length} files`;
        const ref = tool('grep', ['-a', '-F', '-n', ...(list.length > 1 ? ['-H'] : []), ...flags, 'foo', ...list]);
        const r = pagewise(['grep', '--json', ...flags, 'foo', ...list, ...chunkOptions]);
        expect(r.status, label).toBe(ref.status);
        const lines = r.stdout.split('\n');
        expect(lines.pop(), label).toBe('');
        const objects = lines.map((l) => JSON.parse(l) as JsonLine);
        for (const o of objects) {
          if ('context' in o) expect(o.context, label).toBe(true);
        }
        expect(objects, label).toStrictEqual(gnuAsJson(ref.stdout, list));
      }
    }
  });
});

describe('grep --output with context', () => {
  it('the file holds the bytes grep prints; nothing on stdout', { timeout: 120_000 }, () => {
    const out = `${dir}/out.txt`;
    const sets = [['-C', '2'], ['-A', '1', '-n'], ['-B', '2', '-o'], ['-C', '1', '-v', '-H'], ['-m', '2', '-A', '3'], ['-C', '3', '--no-group-separator'], ['-1', '--group-separator=++']];
    for (const flags of sets) {
      for (const list of [[files.mixed], [files.dense, edges.long, edges.empty]]) {
        const label = `${flags.join(' ')} ${list.length} files`;
        writeFileSync(out, 'stale\n');
        const ref = tool('grep', ['-a', '-F', ...flags, 'foo', ...list]);
        const r = pagewise(['grep', ...flags, 'foo', ...list, '--output', out, ...chunkOptions]);
        expect(r.status, label).toBe(ref.status);
        expect(r.stdout, label).toBe('');
        expect(readFileSync(out).equals(ref.raw), label).toBe(true);
      }
    }
    // Nothing selected: an empty file, exit 1.
    writeFileSync(out, 'stale\n');
    expect(pagewise(['grep', '-C', '2', 'zzz-none', files.mixed, '--output', out]).status).toBe(1);
    expect(readFileSync(out, 'latin1')).toBe('');
  });
});

interface RefParams {
  pattern: string;
  before?: number;
  after?: number;
  invert?: boolean;
  ignoreCase?: boolean;
  word?: boolean;
  line?: boolean;
  regex?: boolean;
}

const WORD = /[A-Za-z0-9_]/;

/** Whether a line (latin1, no newline) is selected, as grep -F (-i, -w, -x) or a RegExp would select it. */
function selects(p: RefParams, text: string): boolean {
  let hit: boolean;
  if (p.regex) {
    hit = new RegExp(p.pattern, p.ignoreCase ? 'i' : '').test(text);
  } else {
    const hay = p.ignoreCase ? text.toLowerCase() : text;
    const needle = p.ignoreCase ? p.pattern.toLowerCase() : p.pattern;
    if (p.line) hit = hay === needle;
    else if (p.word) {
      hit = false;
      for (let at = hay.indexOf(needle); at >= 0 && !hit; at = hay.indexOf(needle, at + 1)) {
        hit = (at === 0 || !WORD.test(hay[at - 1])) && (at + needle.length === hay.length || !WORD.test(hay[at + needle.length]));
      }
    } else hit = hay.includes(needle);
  }
  return hit !== (p.invert === true);
}

/** The selected lines and their context, single-threaded: [line number, 0 selected | 1 context, text with \n]. */
function reference(path: string, p: RefParams): { count: number; records: [number, number, string][] } {
  const body = readFileSync(path, 'latin1');
  const lines = body.split('\n');
  if (body.endsWith('\n') || body === '') lines.pop();
  const chosen = lines.map((l) => selects(p, l));
  const shown = new Uint8Array(lines.length);
  chosen.forEach((c, i) => {
    if (!c) return;
    for (let k = Math.max(0, i - (p.before ?? 0)); k <= Math.min(lines.length - 1, i + (p.after ?? 0)); k++) shown[k] = 1;
  });
  const records: [number, number, string][] = [];
  for (let i = 0; i < lines.length; i++) if (shown[i]) records.push([i + 1, chosen[i] ? 0 : 1, `${lines[i]}\n`]);
  return { count: chosen.filter(Boolean).length, records };
}

/** The job's result as the same list. */
function flatten(acc: lib.GrepAcc, label: string): [number, number, string][] {
  const out: [number, number, string][] = [];
  // With no record at all, the job may leave out `numbers` and `marks`.
  if (acc.parts.every((p) => p.length === 0) && acc.numbers === undefined && acc.marks === undefined) return out;
  expect(acc.numbers, `${label}: numbers`).toBeDefined();
  expect(acc.marks, `${label}: marks`).toBeDefined();
  expect(acc.numbers!.length, label).toBe(acc.parts.length);
  expect(acc.marks!.length, label).toBe(acc.parts.length);
  acc.parts.forEach((part, k) => {
    const text = Buffer.from(part.buffer, part.byteOffset, part.length).toString('latin1');
    expect(text === '' || text.endsWith('\n'), `${label}: a part ends with \\n`).toBe(true);
    const records = text === '' ? [] : text.slice(0, -1).split('\n');
    const numbers = acc.numbers![k];
    const marks = acc.marks![k];
    expect(numbers.length, `${label}: a number per record`).toBe(records.length);
    expect(marks.length, `${label}: a mark per record`).toBe(records.length);
    records.forEach((r, i) => out.push([numbers[i], marks[i], `${r}\n`]));
  });
  return out;
}

describe('the grep job with before/after (library API)', () => {
  const random = [
    writeFile(dir, 'lib-dense.txt', `${dense(11, 2500)}\n`),
    writeFile(dir, 'lib-sparse.txt', sparse(12, 3000)),
    writeFile(dir, 'lib-mixed.txt', `${mixed(13, 3500)}\n`),
    edges.long,
    edges.empty,
    edges.allMatch,
  ];
  const sets: RefParams[] = [
    { pattern: 'foo', before: 2, after: 1 },
    { pattern: 'foo', before: 0, after: 3 },
    { pattern: 'foo', before: 5 },
    { pattern: 'foo', after: 5 },
    { pattern: 'foo', before: 1, after: 1, invert: true },
    { pattern: 'foo', before: 3, after: 0, ignoreCase: true },
    { pattern: 'foo', before: 50, after: 50 },
    { pattern: 'foo', before: 2, after: 2, word: true },
    { pattern: 'foo', before: 1, after: 1, line: true },
    { pattern: '^b', regex: true, before: 1, after: 2 },
  ];
  it('records, numbers and marks equal a single-threaded reference, in 4 KiB chunks over two threads', { timeout: 120_000 }, async () => {
    for (const path of random) {
      for (const p of sets) {
        const label = `${path.slice(dir.length + 1)} ${JSON.stringify(p)}`;
        const { result } = await lib.runJob(path, lib.builtinJobs.grep, { params: p, chunkSize: 4096, threads: 2 });
        const ref = reference(path, p);
        expect(result.count, label).toBe(ref.count);
        expect(flatten(result, label), label).toStrictEqual(ref.records);
      }
    }
  });

  it('the same with one thread and the default chunks', { timeout: 60_000 }, async () => {
    for (const p of [sets[0], sets[4], sets[6]]) {
      for (const path of [random[2], edges.long]) {
        const label = `${path.slice(dir.length + 1)} ${JSON.stringify(p)}`;
        const ref = reference(path, p);
        const one = await lib.runJob(path, lib.builtinJobs.grep, { params: p, threads: 1 });
        expect(flatten(one.result, label), label).toStrictEqual(ref.records);
        const small = await lib.runJob(path, lib.builtinJobs.grep, { params: p, chunkSize: 4096, threads: 1 });
        expect(flatten(small.result, label), label).toStrictEqual(ref.records);
      }
    }
  });

  it('several files in one run: no context crosses from one file into the next', { timeout: 60_000 }, async () => {
    const paths = [random[0], edges.empty, random[1], random[2]];
    for (const p of [sets[0], sets[6], sets[4]]) {
      // Each file's records, in file order (numbers go on across files by the engine's newline count: not compared).
      const want = paths.flatMap((path) => reference(path, p).records.map(([, m, t]) => [m, t]));
      const { result } = await lib.runJob(paths, lib.builtinJobs.grep, { params: p, chunkSize: 4096, threads: 2 });
      expect(flatten(result, JSON.stringify(p)).map(([, m, t]) => [m, t]), JSON.stringify(p)).toStrictEqual(want);
    }
  });

  it('refuses context with only or write, and a context length that is not a whole number >= 0', async () => {
    for (const params of [{ pattern: 'foo', before: 1, only: true }, { pattern: 'foo', after: 1, write: true }, { pattern: 'foo', before: -1 }, { pattern: 'foo', after: 1.5 }]) {
      await expect(lib.runJob(random[0], lib.builtinJobs.grep, { params, chunkSize: 4096, threads: 2 }), JSON.stringify(params)).rejects.toMatchObject({ code: 'ERR_PAGEWISE_INVALID_OPTION' });
    }
  });

  it('the reference itself agrees with GNU grep -n (so that the check above checks grep)', () => {
    for (const p of [sets[0], sets[4], sets[7]]) {
      const path = random[0];
      const ref = reference(path, p);
      const flags = ['-n', '-B', String(p.before ?? 0), '-A', String(p.after ?? 0), ...(p.invert ? ['-v'] : []), ...(p.word ? ['-w'] : [])];
      const gnuOut = tool('grep', ['-a', '-F', '--no-group-separator', ...flags, p.pattern, path]).stdout;
      expect(ref.records.map(([n, m, t]) => `${n}${m ? '-' : ':'}${t}`).join('')).toBe(gnuOut);
    }
  });
});
