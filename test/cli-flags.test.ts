/**
 * Every grep and wc flag against the real tool on the same files (GNU grep in
 * the C locale, GNU wc in C.UTF-8), on edge files: empty, no trailing
 * newline, CRLF, NUL and other control bytes, invalid UTF-8, lines longer
 * than a chunk, several files. Then usage errors, table-driven over every
 * command and every flag that takes a value (issue 13 §5), suggestions, `--`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI, tempDir, writeFile } from './helpers.js';
import { pagewise, tool } from './cli-helpers.js';
import { COMMANDS, RUN_FLAGS } from '../dist/src/cli/args.js';

const dir = tempDir('pagewise-cli-flags-');

function text(seed: number, lines: number): string {
  const words = ['foo', 'Foo', 'FOO', 'bar', 'foobar', 'foo_bar', 'x', '', 'Hamburg', 'ham', 'ünï', 'é', 'ÉTÉ', 'a\u00a0b', 'c\u2003d', 'e\u2028f', '9x'];
  let s = seed;
  const rand = (n: number): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % n;
  };
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(Array.from({ length: rand(7) }, () => words[rand(words.length)]).join(rand(5) === 0 ? '\t' : ' '));
  return out.join('\n');
}

const body = text(7, 3000);
const files: Record<string, string> = {
  text: writeFile(dir, 'text.txt', `${body}\n`),
  noNewline: writeFile(dir, 'nonl.txt', body),
  crlf: writeFile(dir, 'crlf.txt', `${body.replace(/\n/g, '\r\n')}\r\n`),
  empty: writeFile(dir, 'empty.txt', ''),
  binary: writeFile(dir, 'binary.bin', Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 7919 + (i >> 7)) % 256))),
  controls: writeFile(dir, 'controls.txt', Buffer.from('a\x00b foo\x01 \x7f\nfoo\x00bar\n\x0b\x0c\r\n  foo  \n', 'latin1')),
  invalidUtf8: writeFile(
    dir,
    'invalid.txt',
    Buffer.concat([Buffer.from('caf\xe9 foo \xff\xfe bar\n\xe2\x82 foo\xe2\x82\xacx\n\xed\xa0\x80 \xf4\x90\x80\x80 \xf8\x88\x80\x80\x80 foo\n\xc0\xaf foo', 'latin1')]),
  ),
  longLines: writeFile(dir, 'long.txt', `short foo\n${'foo bar '.repeat(5000)}\n${'x'.repeat(20000)}foo\nend\n`),
};
const all = Object.values(files);
const chunkOptions = ['--chunk-size', '4KiB', '--threads', '2'];

describe('wc flags against LC_ALL=C.UTF-8 wc', () => {
  const combos = [[], ['-l'], ['-w'], ['-m'], ['-c'], ['-l', '-w'], ['-lm'], ['-wc'], ['-mc'], ['-lwmc'], ['--lines', '--chars']];
  for (const flags of combos) {
    it(`wc ${flags.join(' ') || '(no flag)'}: each edge file, then all of them (columns, widths, total)`, () => {
      for (const f of all) {
        const ref = tool('wc', [...flags, f], 'C.UTF-8');
        const r = pagewise(['wc', ...flags, f, ...chunkOptions]);
        expect(r.stdout, `${flags} ${f}`).toBe(ref.stdout);
        expect(r.status).toBe(ref.status);
      }
      const ref = tool('wc', [...flags, ...all], 'C.UTF-8');
      const r = pagewise(['wc', ...flags, ...all, ...chunkOptions]);
      expect(r.stdout).toBe(ref.stdout);
      expect(r.status).toBe(0);
    });
  }

  it('wc - reads standard input; the columns are padded as GNU wc pads them for a pipe', () => {
    for (const flags of [[], ['-l'], ['-m', '-w']]) {
      for (const f of [files.invalidUtf8, files.text]) {
        const input = readFileSync(f);
        const ref = tool('wc', [...flags, '-'], 'C.UTF-8', input);
        const r = pagewise(['wc', ...flags, '-'], { input });
        expect(r.stdout, `${flags} ${f}`).toBe(ref.stdout);
      }
    }
  });

  it('words and characters: the GNU rule on every code point class (no-break spaces, U+2028, past U+10FFFF)', () => {
    const cases = ['y\u00a0z\n', 'y\u2007z\u202fw\u2060v\n', 'e\u2028f\n', 'g\u200bh\n', '\u3000x\u3000', 'a\x00b \xff\xfe\n', '\xf4\x90\x80\x80 a', '\xfc\x84\x80\x80\x80\x80b c'];
    for (const c of cases) {
      const bytes = Buffer.from(c, /[^\x00-\xff]/.test(c) ? 'utf8' : 'latin1');
      const path = writeFile(dir, 'case.txt', bytes);
      expect(pagewise(['wc', '-w', '-m', path]).stdout, JSON.stringify(c)).toBe(tool('wc', ['-w', '-m', path], 'C.UTF-8').stdout);
    }
  });

  it('the JSON has exactly the columns asked for', () => {
    const r = pagewise(['wc', '-m', '-l', '--json', files.crlf]);
    const ref = tool('wc', ['-l', '-m', files.crlf], 'C.UTF-8').stdout.trim().split(/\s+/).map(Number);
    expect(JSON.parse(r.stdout)).toEqual({ lines: ref[0], chars: ref[1] });
  });
});

describe('grep flags against LC_ALL=C grep -a', () => {
  const patterns: string[][] = [['foo'], ['-e', 'foo', '-e', 'bar'], ['-e', 'Hamburg'], ['-e', 'x'], ['-e', 'é'], ['-e', ''], ['-e', 'foo bar']];
  const flagSets = [
    [], ['-i'], ['-v'], ['-w'], ['-n'], ['-o'], ['-c'], ['-l'], ['-iw'], ['-vn'], ['-ow'], ['-oi'], ['-wc'], ['-vc'], ['-on'], ['-ic'], ['-lv'], ['-wv'], ['-n', '-i', '-w'],
    ['-x'], ['-xi'], ['-xv'], ['-xc'], ['-xn'], ['-xo'], ['-xw'], ['-L'], ['-Lv'], ['-H'], ['-Hc'], ['-Hn'], ['-Hl'],
  ];
  for (const flags of flagSets) {
    it(`grep -F ${flags.join(' ') || '(no flag)'}: output and exit status equal grep's, one file and several`, () => {
      for (const pattern of patterns) {
        for (const list of [[files.text], [files.crlf], [files.noNewline, files.empty, files.invalidUtf8, files.controls, files.longLines, files.binary]]) {
          const ref = tool('grep', ['-a', '-F', ...flags, ...pattern, ...list]);
          const r = pagewise(['grep', ...flags, ...pattern, ...list, ...chunkOptions]);
          const label = `${flags.join(' ')} ${pattern.join(' ')} ${list.length} files`;
          expect(r.stdout, label).toBe(ref.stdout);
          expect(r.status, label).toBe(ref.status);
        }
      }
    });
  }

  it('-E: JavaScript RegExp where its syntax is grep -E syntax, all flags', { timeout: 300_000 }, () => {
    for (const flags of [[], ['-i'], ['-v'], ['-w'], ['-n'], ['-o'], ['-c'], ['-l'], ['-x'], ['-xi'], ['-xv']]) {
      for (const pattern of ['fo+', 'foo|bar', '^x$', 'b.r', '[0-9]x', 'ham$', '[a-z ]*foo[a-z ]*']) {
        for (const f of [files.text, files.crlf, files.noNewline]) {
          const ref = tool('grep', ['-a', '-E', ...flags, pattern, f]);
          const r = pagewise(['grep', '-E', ...flags, pattern, f, ...chunkOptions]);
          expect(r.stdout, `${flags} ${pattern} ${f}`).toBe(ref.stdout);
          expect(r.status).toBe(ref.status);
        }
      }
    }
    expect(pagewise(['grep', '--regex', '--count', 'fo+', files.text]).stdout).toBe(tool('grep', ['-c', '-E', 'fo+', files.text]).stdout);
  });

  it('-H and --no-filename (grep -h), -l and -L: the last one given wins, as in grep; -L and -l over -c', () => {
    const two = [files.text, files.empty, files.crlf];
    const sets = [
      ['-H', '--no-filename'], ['--no-filename', '-H'], ['-H', '-c', '--no-filename'], ['--no-filename', '-n'], ['--no-filename', '-o'],
      ['-l', '-L'], ['-L', '-l'], ['-Ll'], ['-lL'], ['-Hc', '--no-filename'], ['-c', '-L'], ['-L', '-c'], ['-L', '-v'], ['-L', '-x'], ['-q', '-L'], ['-L', '-H'], ['-l', '--no-filename'],
    ];
    for (const flags of sets) {
      for (const pattern of ['foo', 'Hamburg', 'zzz-none']) {
        for (const list of [[files.text], two]) {
          const ref = tool('grep', ['-a', '-F', ...flags.map((f) => (f === '--no-filename' ? '-h' : f)), pattern, ...list]);
          const r = pagewise(['grep', ...flags, pattern, ...list, ...chunkOptions]);
          const label = `${flags.join(' ')} ${pattern} ${list.length} files`;
          expect(r.stdout, label).toBe(ref.stdout);
          expect(r.status, label).toBe(ref.status);
        }
      }
    }
    // Named lines into --output, as on stdout.
    const out = `${dir}/named.txt`;
    expect(pagewise(['grep', '-H', 'foo', files.text, '--output', out]).status).toBe(0);
    expect(readFileSync(out, 'latin1')).toBe(tool('grep', ['-a', '-F', '-H', 'foo', files.text]).raw.toString('latin1'));
    expect(pagewise(['grep', '--no-filename', 'foo', files.text, files.crlf, '--output', out]).status).toBe(0);
    expect(readFileSync(out, 'latin1')).toBe(tool('grep', ['-a', '-F', '-h', 'foo', files.text, files.crlf]).raw.toString('latin1'));
    // Standard input is '(standard input)' with -H, as grep names it.
    const stdin = spawnSync('sh', ['-c', `'${process.execPath}' '${CLI}' grep -H -n foo - < '${files.text}'`]);
    expect(stdin.stdout.toString('latin1')).toBe(spawnSync('sh', ['-c', `LC_ALL=C grep -a -F -H -n foo - < '${files.text}'`]).stdout.toString('latin1'));
    // -L --json: one {"file"} per file listed, as -l --json.
    const json = pagewise(['grep', '-L', '--json', 'Hamburg', ...two]);
    expect(json.stdout.trim().split('\n').map((l) => JSON.parse(l).file)).toEqual(tool('grep', ['-a', '-F', '-L', 'Hamburg', ...two]).stdout.trim().split('\n'));
  });

  it('-m NUM: the first NUM selected lines of each file with every flag; -m 0 as grep 3.8 (nothing read, exit 1; -L still lists)', { timeout: 180_000 }, () => {
    const sets = [[], ['-n'], ['-o'], ['-on'], ['-v'], ['-vn'], ['-c'], ['-cv'], ['-l'], ['-L'], ['-q'], ['-i'], ['-w'], ['-x'], ['-H'], ['--no-filename']];
    const several = [files.crlf, files.empty, `${dir}/no-such-file`, files.noNewline, files.longLines];
    const cases: [string, string[], string[], string[]][] = [
      ...['0', '2'].flatMap((m) => sets.map((flags) => [m, flags, ['foo'], several] as [string, string[], string[], string[]])),
      ...['1', '7', '100000', '99999999999999999999'].flatMap((m) =>
        [[], ['-o'], ['-v'], ['-c'], ['-n']].flatMap((flags) => [['-e', 'foo', '-e', 'x'], ['-e', '']].map((pattern) => [m, flags, pattern, [files.text]] as [string, string[], string[], string[]])),
      ),
    ];
    for (const [m, flags, pattern, list] of cases) {
      const ref = tool('grep', ['-a', '-F', '-m', m, ...flags.map((f) => (f === '--no-filename' ? '-h' : f)), ...pattern, ...list]);
      const r = pagewise(['grep', '-m', m, ...flags, ...pattern, ...list, ...chunkOptions]);
      const label = `-m ${m} ${flags.join(' ')} ${pattern.join(' ')} ${list.length} files`;
      expect(r.stdout, label).toBe(ref.stdout);
      expect(r.status, label).toBe(ref.status);
      expect(r.stderr === '', label).toBe(ref.stderr === '');
    }
    // A negative -m is no limit (grep 3.8 selects nothing with -m -1 -v, a bug; newer greps document -1 as no limit).
    for (const flags of [[], ['-v'], ['-c'], ['-cv'], ['-on']]) {
      expect(pagewise(['grep', '-m', '-1', ...flags, 'foo', files.text]).stdout, flags.join(' ')).toBe(tool('grep', ['-a', '-F', ...flags, 'foo', files.text]).stdout);
    }
    // -m 0 leaves an --output file empty, as any run that selects nothing; --json still gives counts.
    const out = `${dir}/m0.txt`;
    writeFileSync(out, 'stale\n');
    expect(pagewise(['grep', '-m', '0', 'foo', files.text, '--output', out]).status).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe('');
    expect(pagewise(['grep', '-c', '--json', '-m', '0', 'foo', files.text]).stdout).toBe('{"count":0}\n');
    expect(pagewise(['grep', '-c', '--json', '-f', '/dev/null', files.text, files.crlf]).stdout).toBe(
      `${JSON.stringify({ files: [{ file: files.text, count: 0 }, { file: files.crlf, count: 0 }] })}\n`,
    );
    // --json: the same lines as grep -n -m.
    const json = pagewise(['grep', '--json', '-m', '5', 'foo', files.text, ...chunkOptions]);
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: number; text: string });
    expect(lines.map((l) => `${l.line}:${l.text}`).join('\n') + '\n').toBe(tool('grep', ['-a', '-F', '-n', '-m', '5', 'foo', files.text]).stdout);
  });

  it('-m stops reading at the NUM-th line: a pipe that stays open (tail -f) does not hold it', async () => {
    // Exactly NUM selected lines each: the run must stop at the last one, not wait for a next.
    for (const [flags, input] of [[['-m', '1'], 'a foo\nbar\n'], [['-m', '1', '-c'], 'a foo\nbar\n'], [['-m', '2', '-n', '-o'], 'a foo\nbar\nfoo foo\n']] as const) {
      const child = spawn(process.execPath, [CLI, 'grep', ...flags, 'foo', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // The NUM-th selected line, then nothing more: stdin stays open.
      child.stdin!.write(input);
      const code = await Promise.race([exit, new Promise<string>((resolve) => setTimeout(() => resolve('still running after 10 s'), 10_000))]);
      child.kill('SIGKILL');
      expect(code, flags.join(' ')).toBe(0);
      const ref = spawnSync('grep', [...flags, 'foo', '-'], { input, encoding: 'utf8' }).stdout;
      expect(stdout, flags.join(' ')).toBe(ref);
    }
  });

  it('-m stops reading: an endless standard input ends after the NUM-th line, as grep -m does', () => {
    for (const flags of [['-m', '2'], ['-m', '3', '-n', '-o'], ['-m', '2', '-c']]) {
      const r = spawnSync('bash', ['-c', `yes 'a line with x' | timeout 20 '${process.execPath}' '${CLI}' grep ${flags.join(' ')} x -; echo "\${PIPESTATUS[1]}" >&2`], { encoding: 'utf8' });
      expect(r.stderr, flags.join(' ')).toBe('0\n');
      expect(r.stdout).toBe(spawnSync('bash', ['-c', `yes 'a line with x' | grep ${flags.join(' ')} x -`], { encoding: 'utf8' }).stdout);
    }
  });

  it('-s: no line for a missing file, a directory or an unreadable one; the exit status still says 2, as grep -s', () => {
    const missing = `${dir}/no-such-file`;
    for (const flags of [['-s'], ['-s', '-c'], ['-s', '-l'], ['-s', '-L'], ['-s', '-q'], ['-sn'], ['--no-messages']]) {
      for (const list of [[missing, files.text], [files.text, dir], [missing], [dir, missing, files.crlf]]) {
        const ref = tool('grep', ['-a', '-F', ...flags.map((f) => (f === '--no-messages' ? '-s' : f)), 'foo', ...list]);
        const r = pagewise(['grep', ...flags, 'foo', ...list]);
        const label = `${flags.join(' ')} ${list.length} files`;
        expect(r.stdout, label).toBe(ref.stdout);
        expect(r.status, label).toBe(ref.status);
        expect(ref.stderr, label).toBe('');
        expect(r.stderr, label).toBe('');
      }
    }
    // Without -s, each such file has its line.
    const loud = pagewise(['grep', 'foo', missing, dir, files.text]);
    expect(loud.stderr.trim().split('\n')).toHaveLength(2);
    expect(loud.status).toBe(2);
    // A pattern file that cannot be read is still said (grep -s says it too).
    const noPatterns = pagewise(['grep', '-s', '-f', missing, files.text]);
    expect(noPatterns.status).toBe(2);
    expect(noPatterns.stderr).toContain('no-such-file');
    expect(tool('grep', ['-s', '-f', missing, files.text]).status).toBe(2);
  });

  it("-F and -a (grep's and rg's spellings of what pagewise grep does anyway) change nothing; -E with -F is refused as GNU grep refuses it", () => {
    for (const flags of [['-F'], ['-a'], ['-Fa'], ['-F', '-c'], ['--fixed-strings', '--text', '-n'], ['-aFi', '-w']]) {
      for (const list of [[files.text], [files.crlf, files.noNewline, files.binary]]) {
        const ref = tool('grep', ['-a', '-F', ...flags, 'foo', ...list]);
        const r = pagewise(['grep', ...flags, 'foo', ...list, ...chunkOptions]);
        expect(r.stdout, `${flags.join(' ')} ${list.length} files`).toBe(ref.stdout);
        expect(r.status, `${flags.join(' ')} ${list.length} files`).toBe(ref.status);
      }
    }
    // A count of one string with -F is still the native kernel's.
    expect(JSON.parse(pagewise(['grep', '-F', '-c', '--stats', '--json', 'foo', files.text]).stderr.trim().split('\n').pop()!).executor).toBe('kernel');
    for (const flags of [['-E', '-F'], ['-F', '--regex'], ['-EF']]) {
      const r = pagewise(['grep', ...flags, 'foo', files.text]);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^pagewise: conflicting matchers: -E \(--regex\) and -F \(--fixed-strings\) \(ERR_PAGEWISE_INVALID_OPTION\)\n/);
      expect(r.status).toBe(2);
      expect(tool('grep', [...flags.map((f) => (f === '--regex' ? '-E' : f)), 'foo', files.text]).status).toBe(2);
    }
  });

  it('grep --count of one fixed string stays on the native kernel path; a flag that needs JS moves it to workers', () => {
    const executor = (args: string[]): string => JSON.parse(pagewise(['grep', ...args, '--stats', '--json', 'foo', files.text]).stderr.trim().split('\n').pop()!).executor;
    expect(executor(['-c'])).toBe('kernel');
    for (const flag of ['-i', '-v', '-w']) expect(executor(['-c', flag]), flag).toBe('workers');
    expect(executor([])).toBe('workers');
    expect(pagewise(['wc', '-l', '--stats', files.text]).stderr).toMatch(/native kernel/);
  });

  it('-i folds ASCII letters only, as grep -i in the C locale (É and é stay different)', () => {
    for (const pattern of ['été', 'ÉTÉ', 'hamBURG', 'ünï']) {
      const ref = tool('grep', ['-a', '-F', '-i', '-c', pattern, files.text]);
      expect(pagewise(['grep', '-i', '-c', pattern, files.text]).stdout, pattern).toBe(ref.stdout);
    }
    // ... where a UTF-8 grep would fold them.
    expect(tool('grep', ['-a', '-F', '-i', '-c', 'été', files.text], 'C.UTF-8').stdout).not.toBe(tool('grep', ['-a', '-F', '-i', '-c', 'été', files.text]).stdout);
  });

  it('-f FILE reads patterns as raw bytes, one per line; several select a line matching any', () => {
    const latin1 = writeFile(dir, 'latin1.txt', Buffer.from('caf\xe9\nnothing\nd\xe9j\xe0 vu\n', 'latin1'));
    const pats = writeFile(dir, 'pats.bin', Buffer.from('\xe9\nnothing\n', 'latin1'));
    for (const flags of [[], ['-c'], ['-n'], ['-o'], ['-v']]) {
      const ref = tool('grep', ['-a', '-F', ...flags, '-f', pats, latin1]);
      const r = pagewise(['grep', ...flags, '-f', pats, latin1]);
      expect(r.raw.equals(ref.raw), `${flags}`).toBe(true);
    }
    // An empty pattern file selects nothing (grep 3.8 then reads nothing and prints no count at
    // all, nor do we); with -v it selects every line; a file with an empty line selects everything.
    const none = writeFile(dir, 'none.pat', '');
    const emptyLine = writeFile(dir, 'emptyline.pat', '\n');
    for (const p of [none, emptyLine]) {
      const ref = tool('grep', ['-a', '-F', '-c', '-f', p, files.text]);
      const r = pagewise(['grep', '-c', '-f', p, files.text]);
      expect(r.stdout).toBe(ref.stdout);
      expect(r.status).toBe(ref.status);
    }
    expect(tool('grep', ['-a', '-F', '-c', '-f', none, files.text]).stdout).toBe('');
    for (const flags of [[], ['-v'], ['-vc'], ['-L'], ['-x'], ['-vx']]) {
      const ref = tool('grep', ['-a', '-F', ...flags, '-f', none, files.text, `${dir}/no-such-file`]);
      const r = pagewise(['grep', ...flags, '-f', none, files.text, `${dir}/no-such-file`]);
      expect(r.stdout, flags.join(' ')).toBe(ref.stdout);
      expect(r.status, flags.join(' ')).toBe(ref.status);
    }
  });

  it('refuses a pattern with a byte argv could not carry, and points to -f', () => {
    const latin1 = writeFile(dir, 'latin1b.txt', Buffer.from('caf\xe9\n', 'latin1'));
    // A U+FFFD typed as such (valid UTF-8) is searched for; the refusal is for invalid bytes.
    const typed = pagewise(['grep', '-c', '\uFFFD', latin1]);
    expect(typed.status).toBe(1);
    expect(typed.stdout).toBe('0\n');
    // bash passes the raw byte \xe9 in argv.
    const raw = spawnSync('bash', ['-c', `'${process.execPath}' '${CLI}' grep -c $'\\xe9' '${latin1}'`], { encoding: 'utf8' });
    expect(raw.status).toBe(2);
    expect(raw.stderr).toMatch(/-f FILE.*\(ERR_PAGEWISE_INVALID_OPTION\)/);
    const viaE = spawnSync('bash', ['-c', `'${process.execPath}' '${CLI}' grep -c -e $'x\\xe9' '${latin1}'`], { encoding: 'utf8' });
    expect(viaE.status).toBe(2);
    expect(viaE.stderr).toMatch(/^pagewise: -e must be/);
  });

  it('-- ends options: grep -- -h FILE searches for -h; wc -- -h counts a file named -h', () => {
    const d = tempDir('pagewise-dashdash-');
    writeFile(d, '-h', 'x -h y\nnone\n-h\n');
    const g = pagewise(['grep', '--', '-h', '-h'], { cwd: d });
    expect(g.stdout).toBe(tool('grep', ['-F', '--', '-h', `${d}/-h`]).stdout);
    expect(g.status).toBe(0);
    const w = pagewise(['wc', '--', '-h'], { cwd: d });
    expect(w.status).toBe(0);
    expect(w.stdout).toBe(spawnIn(d, 'wc', ['--', '-h']));
    // -e takes a pattern that starts with a dash, as grep's does.
    expect(pagewise(['grep', '-c', '-e', '-h', '--', '-h'], { cwd: d }).stdout).toBe('2\n');
  });
});

function spawnIn(cwd: string, cmd: string, args: string[]): string {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } }).stdout;
}

describe('usage errors (issue 13 §5): every malformed flag value on every command', () => {
  const job = writeFile(dir, 'count.mjs', 'export default { init: () => 0, map: (a, b) => a + b.length, merge: (a, b) => a + b };');
  const operands: Record<string, string[]> = {
    wc: [files.text],
    grep: ['foo', files.text],
    stats: [files.text],
    freq: [files.text],
    run: [job, files.text],
    tune: [files.text],
    gen: ['1brc', `${dir}/gen-out.txt`],
    demo: [],
    info: [],
    index: [files.text],
    worker: [],
  };
  /** Bad values for each flag that takes one (a new flag must be added here). */
  const bad: Record<string, string[]> = {
    threads: ['two', '0', '-1', '1.5', '2000', ''],
    'chunk-size': ['3', '1000', 'lots', '0', '2GiB', '-4KiB'],
    release: ['never', ''],
    prefetch: ['-1', 'many', '65'],
    advice: ['fast'],
    'max-bytes': ['lots', '-1', '1.5.5'],
    params: ['{bad', "{'a':1}", ''],
    top: ['-3', '0', 'ten'],
    sep: ['::', '\n', ''],
    rows: ['-3', 'many', '1e400'],
    stations: ['7', 'all'],
    seed: ['-1', 'x'],
    job: [],
    regexp: [],
    file: [],
    cluster: ['http://x', '', 'redis://h:port'],
    'split-size': ['lots', '3'],
    'cluster-timeout': ['forever', '-1s'],
    queue: ['', 'a:b'],
    output: [''],
    delimiter: ['ab', ''],
    'record-size': ['0', 'x'],
    'max-count': ['x', '1.5', '', '--'],
    'after-context': ['x', '-1', '1.5', '', '2x'],
    'before-context': ['x', '-1', '1.5', ''],
    context: ['x', '-1', '1e3', ''],
    'group-separator': [],
    // Any glob is one (GNU grep takes an empty one too).
    include: [],
    exclude: [],
    'exclude-dir': [],
    'exclude-from': [''],
    name: [''],
    'lock-duration': ['soon', '0'],
    'temp-dir': [''],
  };
  for (const command of COMMANDS) {
    const valued = command.flags.filter((f) => f.value !== undefined);
    it(`${command.name}: exit 2, ERR_PAGEWISE_INVALID_OPTION naming the flag, nothing on stdout`, () => {
      for (const flag of valued) {
        expect(bad, `bad values listed for --${flag.long}`).toHaveProperty([flag.long]);
        const forms = (value: string): string[][] => [[`--${flag.long}`, value], [`--${flag.long}=${value}`]];
        for (const value of bad[flag.long]) {
          for (const form of forms(value)) {
            const r = pagewise([command.name, ...form, ...operands[command.name]]);
            const label = `${command.name} ${form.join(' ')}`;
            expect(r.status, `${label}: ${r.stderr}`).toBe(2);
            expect(r.stderr, label).toMatch(/^pagewise: .+ \(ERR_PAGEWISE_INVALID_OPTION\)\n/);
            expect(r.stderr, label).toContain(command.name === 'tune' && flag.long === 'chunk-size' ? '--chunk-size' : `--${flag.long}`);
            expect(r.stdout, label).toBe('');
          }
        }
        // A value flag at the end, with no value.
        const last = pagewise([command.name, ...operands[command.name], `--${flag.long}`]);
        expect(last.status, `${command.name} --${flag.long} (no value)`).toBe(2);
        expect(last.stderr).toContain(`'--${flag.long}' needs a value`);
      }
      // A switch given a value.
      const sw = command.flags.find((f) => f.value === undefined)!;
      const r = pagewise([command.name, `--${sw.long}=yes`, ...operands[command.name]]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`'--${sw.long}' takes no value`);
    });
  }

  it('a missing operand is named alone when the one before it was given (run JOB lacks FILE, gen 1brc lacks OUT)', () => {
    for (const [args, missing, synopsis] of [
      [['run'], 'JOB and FILE', 'run'],
      [['run', 'job.mjs'], 'FILE', 'run'],
      [['gen'], '1brc and OUT', 'gen'],
      [['gen', '1brc'], 'OUT', 'gen'],
      [['grep'], 'PATTERN and FILE', 'grep'],
    ] as const) {
      const r = pagewise([...args]);
      expect(r.stderr, args.join(' ')).toMatch(new RegExp(`^pagewise: missing ${missing}: pagewise ${synopsis} .*\\(ERR_PAGEWISE_INVALID_OPTION\\)\\n`));
      expect(r.status).toBe(2);
    }
  });

  it('tune refuses --chunk-size (it chooses the size itself) with a reason', () => {
    const r = pagewise(['tune', '--chunk-size', '64KiB', files.text]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/tune chooses the chunk size itself.*\(ERR_PAGEWISE_INVALID_OPTION\)/);
  });

  it('every run flag is in the table every reading command shares', () => {
    for (const name of ['wc', 'grep', 'stats', 'freq', 'run', 'demo']) {
      const longs = COMMANDS.find((c) => c.name === name)!.flags.map((f) => f.long);
      // demo refuses --explain with a reason (it generates its input first).
      for (const f of RUN_FLAGS) if (!(name === 'demo' && f.long === 'explain')) expect(longs, `${name} --${f.long}`).toContain(f.long);
    }
  });
});

describe('unknown flags and commands get a suggestion, as git and cargo give', () => {
  const cases: [string[], string][] = [
    [['wc', '--line', files.text], "unknown option '--line' for 'pagewise wc'. Did you mean '--lines'?"],
    [['wc', '--thread', '2', files.text], "Did you mean '--threads'?"],
    [['grep', '--ignorecase', 'x', files.text], "Did you mean '--ignore-case'?"],
    [['grep', '--cuont', 'x', files.text], "Did you mean '--count'?"],
    [['stats', '--chunksize', '4KiB', files.text], "Did you mean '--chunk-size'?"],
    [['wcc', files.text], "unknown command 'wcc'. Did you mean 'wc'?"],
    [['gerp', 'x', files.text], "Did you mean 'grep'?"],
    [['help', 'stat'], "Did you mean 'stats'?"],
  ];
  for (const [args, message] of cases) {
    it(`pagewise ${args.slice(0, 2).join(' ')}`, () => {
      const r = pagewise(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toMatch(/\(ERR_PAGEWISE_INVALID_OPTION\)\n/);
    });
  }

  it("grep's and wc's flags that pagewise lacks are refused with what to do instead", () => {
    const cases: [string[], RegExp][] = [
      [['-P', 'fo+', files.text], /no basic or Perl ones/],
      [['-z', 'foo', files.text], /NUL-separated records \(-z\) are not supported/],
      [['--color=auto', 'foo', files.text], /prints no colours: drop --color/],
      [['--colour', 'foo', files.text], /prints no colours/],
    ];
    for (const [args, message] of [
      ...cases.map(([a, m]) => [['grep', ...a], m] as const),
      [['wc', '-L', files.text], /pagewise wc has no -L: .*; wc -L FILE has it/],
      [['wc', '--files0-from=list', files.text], /takes the files as operands: xargs -0 pagewise wc < LIST/],
    ] as const) {
      const r = pagewise([...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).toMatch(/\(ERR_PAGEWISE_INVALID_OPTION\)\n/);
    }
  });

  it('an unknown one-letter flag gets no guess: every letter is one edit from every other', () => {
    for (const args of [['wc', '-x', files.text], ['grep', '-y', 'foo', files.text], ['stats', '-q', files.text]]) {
      const r = pagewise(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(new RegExp(`^pagewise: unknown option '${args[1]}' for 'pagewise ${args[0]}' \\(ERR_PAGEWISE_INVALID_OPTION\\)\n`));
      expect(r.stderr).not.toContain('Did you mean');
    }
  });

  it('no suggestion for something far from every name', () => {
    const r = pagewise(['wc', '--zzzzzzzz', files.text]);
    expect(r.status).toBe(2);
    expect(r.stderr).not.toContain('Did you mean');
    expect(r.stderr).toContain("Try 'pagewise wc --help'");
  });
});
