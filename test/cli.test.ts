/**
 * The CLI as users meet it: same answers as wc and grep -F, JSON shapes, exit
 * codes, error format, the examples, tune, and the demo.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, pagewise as lib, tempDir, writeFile } from './helpers.js';

const MappedFilePageSize = (): number => lib.MappedFile.pageSize;

function pagewise(args: string[], input?: string | Buffer): { status: number | null; stdout: string; stderr: string; signal: NodeJS.Signals | null } {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

function sh(cmd: string, args: string[]): string {
  // grep in the C locale (bytes); wc in C.UTF-8, whose word rule pagewise wc follows.
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: cmd === 'wc' ? 'C.UTF-8' : 'C' } });
  return r.stdout;
}

const dir = tempDir('pagewise-cli-');

// Edge files shared by the wc and grep comparisons.
const lines = Array.from({ length: 20000 }, (_, i) => `row ${i}\tHamburg;${(i % 199) - 99}.${i % 10} ünïcode ${i % 7 === 0 ? 'x'.repeat(300) : ''}`);
const files: Record<string, string> = {
  plain: writeFile(dir, 'plain.txt', lines.join('\n') + '\n'),
  noTrailingNewline: writeFile(dir, 'nonl.txt', lines.join('\n')),
  crlf: writeFile(dir, 'crlf.txt', lines.join('\r\n') + '\r\n'),
  empty: writeFile(dir, 'empty.txt', ''),
  longLine: writeFile(dir, 'long.txt', `a b c\n${'Hamburg '.repeat(40000)}\nend Hamburg\n`),
  binary: writeFile(dir, 'binary.bin', Buffer.from(Array.from({ length: 300000 }, (_, i) => (i * 7919) % 256))),
  vtab: writeFile(dir, 'spaces.txt', 'a\vb\fc\rd  e\t\tf\n\n\n  g'),
};

describe('pagewise wc', () => {
  for (const [name, path] of Object.entries(files)) {
    for (const chunk of ['4KiB', '64KiB', 'auto']) {
      it(`matches wc on ${name} with --chunk-size ${chunk}`, () => {
        const ref = sh('wc', ['-l', '-w', '-c', path]).trim().split(/\s+/).slice(0, 3).map(Number);
        const r = pagewise(['wc', path, '--json', '--chunk-size', chunk, '--threads', '2']);
        expect(r.status, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toEqual({ lines: ref[0], words: ref[1], bytes: ref[2] });
        const l = pagewise(['wc', '--lines', '--json', path, '--chunk-size', chunk]);
        expect(JSON.parse(l.stdout)).toEqual({ lines: ref[0] });
      });
    }
  }

  it('prints text like GNU wc, with a total line for several files', () => {
    const one = pagewise(['wc', files.plain]);
    expect(one.stdout).toBe(sh('wc', [files.plain]));
    const several = pagewise(['wc', files.plain, files.crlf, files.empty]);
    expect(several.stdout).toBe(sh('wc', [files.plain, files.crlf, files.empty]));
    expect(pagewise(['wc', '--lines', files.plain]).stdout).toBe(sh('wc', ['-l', files.plain]));
  });

  it('gives per-file JSON and a total for several files', () => {
    const r = pagewise(['wc', '--lines', '--json', files.plain, files.noTrailingNewline]);
    expect(JSON.parse(r.stdout)).toEqual({
      files: [
        { file: files.plain, lines: 20000 },
        { file: files.noTrailingNewline, lines: 19999 },
      ],
      total: { lines: 39999 },
    });
  });

  it('reads standard input through the streaming path', () => {
    const content = readFileSync(files.crlf);
    const r = pagewise(['wc', '-', '--json'], content);
    const ref = sh('wc', ['-l', '-w', '-c', files.crlf]).trim().split(/\s+/).slice(0, 3).map(Number);
    expect(JSON.parse(r.stdout)).toEqual({ lines: ref[0], words: ref[1], bytes: ref[2] });
  });
});

describe('pagewise wc: names with a newline', () => {
  it('are quoted as GNU wc quotes them, every sampled code point printed or escaped as there', () => {
    const names = mkdtempSync(join(dir, 'names-'));
    const points: number[] = [];
    for (let cp = 1; cp < 0x80; cp++) if (cp !== 0x2f) points.push(cp);
    for (let cp = 0x80; cp < 0x110000; cp += 257) if (cp < 0xd800 || cp > 0xdfff) points.push(cp);
    points.push(0x85, 0xa0, 0xad, 0x200b, 0x2028, 0x2029, 0x3000, 0xfeff, 0xfffd, 0xe000, 0x10ffff, 0x1f600, 0x27, 0x27);
    // With quotes: gnulib's second pass starts in the state the first ended in ("a'\n" is '''a'\'''$'\n').
    const list: string[] = ['\n', "\n'", "'\n", "it's\nx", 'a\n\nb', 'a\\\nb', 'trail\n', '\nlead', "a'\n", "\t'x\n", "''\n", "a'\n'b\n", "é'\n", "\n'\n"];
    for (let i = 0; i < points.length; i += 30) list.push(`x\n${String.fromCodePoint(...points.slice(i, i + 30))}y`);
    for (const name of list) writeFileSync(join(names, name), 'k\n');
    const paths = list.map((name) => join(names, name));
    const ref = spawnSync('wc', ['-l', ...paths], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } }).stdout;
    expect(ref).toContain("'$'\\n''");
    const r = pagewise(['wc', '-l', ...paths]);
    expect(r.stdout).toBe(ref);
    expect(r.stdout.split('\n')).toHaveLength(list.length + 2);
    // The names alone, from their directory: each starts with its own first character.
    const bare = spawnSync('wc', ['-l', ...list], { cwd: names, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } }).stdout;
    expect(bare).toContain(`'''a'\\'''$'\\n'\n`);
    expect(spawnSync(process.execPath, [CLI, 'wc', '-l', ...list], { cwd: names, encoding: 'utf8' }).stdout).toBe(bare);
    // An error names it the same way, on one line, as wc does.
    const gone = join(names, 'no\nsuch');
    const err = pagewise(['wc', gone]);
    const wcErr = spawnSync('wc', [gone], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } }).stderr;
    expect(err.stderr).toBe(`pagewise: ${wcErr.slice('wc: '.length, -1)} (ENOENT)\n`);
    mkdirSync(join(names, 'd\nir'));
    expect(pagewise(['stats', join(names, 'd\nir')]).stderr).toBe(`pagewise: '${names}/d'$'\\n''ir' is a directory, not a regular file (ERR_PAGEWISE_NOT_REGULAR_FILE)\n`);
  });
});

describe('file names that are not UTF-8', () => {
  // Node decodes argv as UTF-8 before any code runs, so such a name cannot be opened: each
  // command refuses it by its bytes, quoted as GNU wc quotes it, and says what works instead.
  const names = ["caf\\xe9.txt", 'x\\xff\\xfey', '\\xe2\\x82', 'sur\\xed\\xa0\\x80', 'over\\xc0\\xaf', 'ok\\xe2\\x80\\xa8\\xe9', "a\\'\\xe9", "\\xe9\\'b\\'", 'nl\\n\\xe9', '\\xf4\\x90\\x80\\x80'];
  it('are refused with their bytes quoted as wc quotes them, exit 1 (grep: 2); standard input reads them', () => {
    const work = mkdtempSync(join(dir, 'bytes-'));
    for (const n of names) {
      const name = `$'${n}'`;
      const line = (cmd: string): string => `cd '${work}' && ${cmd}`;
      const wcErr = spawnSync('bash', ['-c', line(`LC_ALL=C.UTF-8 wc -- ${name}`)], { encoding: 'latin1' });
      const quoted = wcErr.stderr.slice('wc: '.length, -': No such file or directory\n'.length);
      expect(wcErr.stderr, n).toMatch(/^wc: .*: No such file or directory\n$/s);
      for (const [cmd, status] of [['wc', 1], ['stats', 1], ['freq', 1], ['grep -c a', 2], ['index', 1]] as const) {
        const r = spawnSync('bash', ['-c', line(`'${process.execPath}' '${CLI}' ${cmd} -- ${name}`)], { encoding: 'latin1' });
        expect(r.stderr, `${cmd} ${n}`).toBe(
          `pagewise: ${quoted}: the name is not valid UTF-8, which Node.js cannot pass on: read the file as standard input (- < FILE) or through a link whose name is UTF-8 (ERR_PAGEWISE_UNSUPPORTED)\n`,
        );
        expect(r.status, `${cmd} ${n}`).toBe(status);
      }
      // What the message offers works: the file as standard input.
      const made = spawnSync('bash', ['-c', line(`printf 'Oslo;1.5\\nRiga;-2.0\\n' > ${name} && wc - < ${name} && '${process.execPath}' '${CLI}' wc - < ${name}`)], { encoding: 'latin1' });
      const [ref, ours] = made.stdout.split('\n');
      expect(ours, n).toBe(ref);
      expect(ref).toMatch(/^\s*2\s+2\s+19 -$/);
    }
  });

  it('as a path to write or load (--output, -o, --temp-dir, -f, gen OUT, run JOB) are usage errors: nothing is created under another name', () => {
    const work = mkdtempSync(join(dir, 'bytes-out-'));
    writeFileSync(join(work, 'in.txt'), 'Oslo;1.5\n');
    const cases: [string, string][] = [
      ["grep Oslo in.txt --output $'o\\xe9'", '--output'],
      ["run '" + join(ROOT, 'examples/longest-line.ts') + "' in.txt -o $'o\\xe9'", '-o'],
      ["freq --all in.txt -o $'o\\xe9'", '-o'],
      ["index in.txt -o $'o\\xe9'", '-o'],
      ["freq --all in.txt --temp-dir $'t\\xe9'", '--temp-dir'],
      ["grep -f $'p\\xe9' in.txt", '-f'],
      ["gen 1brc $'g\\xe9' --rows 10", 'OUT'],
      ["run $'j\\xe9.mjs' in.txt", 'JOB'],
    ];
    for (const [args, flag] of cases) {
      const r = spawnSync('bash', ['-c', `cd '${work}' && '${process.execPath}' '${CLI}' ${args}`], { encoding: 'utf8' });
      expect(r.status, args).toBe(2);
      expect(r.stdout, args).toBe('');
      expect(r.stderr, args).toMatch(new RegExp(`^pagewise: ${flag} must be a path that is valid UTF-8 \\(Node\\.js decodes the command line, so this one would name another file\\); received ".*\uFFFD.*" \\(ERR_PAGEWISE_INVALID_OPTION\\)\n$`));
    }
    expect(readdirSync(work)).toEqual(['in.txt']);
  });
});

describe('pagewise grep', () => {
  for (const [name, path] of Object.entries(files)) {
    for (const pattern of ['Hamburg', 'row 1', 'ünïcode 3', 'zzz-not-there']) {
      it(`--count matches grep -c -F -a for '${pattern}' on ${name}`, () => {
        const ref = Number(sh('grep', ['-c', '-F', '-a', '--', pattern, path]).trim());
        const r = pagewise(['grep', '--count', pattern, path, '--chunk-size', '4KiB']);
        expect(r.stdout).toBe(`${ref}\n`);
        expect(r.status).toBe(ref > 0 ? 0 : 1);
      });
    }
  }

  it('prints matching lines exactly as grep -F -a', () => {
    for (const path of [files.plain, files.noTrailingNewline, files.crlf, files.longLine]) {
      const ref = sh('grep', ['-F', '-a', '--', 'Hamburg;1', path]);
      const r = pagewise(['grep', 'Hamburg;1', path, '--chunk-size', '4KiB', '--threads', '2']);
      expect(r.stdout).toBe(ref);
    }
  });

  it('--regex matches line by line', () => {
    const ref = sh('grep', ['-c', '-E', '-a', 'row [0-9]+5\t', files.plain]);
    const r = pagewise(['grep', '--regex', '--count', 'row [0-9]+5\\t', files.plain]);
    expect(r.stdout).toBe(ref);
  });
});

describe('pagewise freq', () => {
  it('ranks words by count, ties by bytes, words as wc sees them', () => {
    const path = writeFile(dir, 'words.txt', 'b a c\ta\nb\r\nzz a\vb  é é é é\n');
    const r = pagewise(['freq', path, '--top', '3', '--json']);
    expect(JSON.parse(r.stdout)).toEqual([
      { word: 'é', count: 4 },
      { word: 'a', count: 3 },
      { word: 'b', count: 3 },
    ]);
  });
});

describe('pagewise info', () => {
  it('says what this process sees, as text and as JSON', () => {
    const text = pagewise(['info']);
    expect(text.status, text.stderr).toBe(0);
    for (const label of ['pagewise', 'platform', 'byte kernels', 'memory budget', 'threadpool']) expect(text.stdout).toContain(label);
    const json = pagewise(['info', '--json']);
    const info = JSON.parse(json.stdout);
    expect(info.node).toBe(process.version);
    expect(info.pageSize).toBe(MappedFilePageSize());
    expect(['avx2', 'portable']).toContain(info.kernels);
    expect(info.memoryBudget.bytes).toBeGreaterThan(0);
    expect(info.threadpool.running).toBe(info.threadpool.configured);
  });
});

describe('pagewise run and the examples', () => {
  it('runs a JavaScript job and prints exactly JSON.stringify(result) with --json', () => {
    const log = writeFile(dir, 'access.log', ['t GET / 200 5', 't GET /a 404 0', 't POST /b 200 9', 't GET /c 500 1'].join('\n') + '\n');
    const r = pagewise(['run', join(ROOT, 'examples/status-codes.mjs'), log, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${JSON.stringify({ 200: 2, 404: 1, 500: 1 })}\n`);
  });

  it('runs a job with a native kernel plan, with and without workers, like wc -l and grep -c', () => {
    for (const path of [files.plain, files.crlf, files.noTrailingNewline]) {
      const expected = { lines: Number(sh('wc', ['-l', path]).trim().split(/\s+/)[0]), matching: Number(sh('grep', ['-c', '-F', '-a', 'row 1', path]).trim()) };
      for (const extra of [[], ['--no-native-kernels']]) {
        const r = pagewise(['run', join(ROOT, 'examples/error-lines.mjs'), path, '--json', '--stats', '--params', '{"needle":"row 1"}', '--chunk-size', '4KiB', ...extra]);
        expect(r.status, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout), `${path} ${extra}`).toEqual(expected);
        expect(JSON.parse(r.stderr.trim()).executor).toBe(extra.length ? 'workers' : 'kernel');
      }
    }
  });

  it('runs a TypeScript job with an order-sensitive merge', () => {
    const r = pagewise(['run', join(ROOT, 'examples/longest-line.ts'), files.longLine, '--json', '--chunk-size', '4KiB']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ length: 'Hamburg '.repeat(40000).length, offset: 6 });
  });

  it('runs a fixed-size binary record job', () => {
    const n = 10000;
    const buf = Buffer.alloc(n * 16);
    const ref: Record<number, { count: number; sum: number; min: number; max: number }> = {};
    for (let i = 0; i < n; i++) {
      const id = i % 5;
      const value = (i % 97) - 40.5;
      buf.writeUInt32LE(id, i * 16);
      buf.writeDoubleLE(value, i * 16 + 8);
      const s = (ref[id] ??= { count: 0, sum: 0, min: Infinity, max: -Infinity });
      s.count++;
      s.sum += value;
      s.min = Math.min(s.min, value);
      s.max = Math.max(s.max, value);
    }
    const path = writeFile(dir, 'readings.bin', buf);
    const r = pagewise(['run', join(ROOT, 'examples/sensor-records.mjs'), path, '--json', '--chunk-size', '4KiB']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(ref)));
    // A trailing partial record is an error, not a silently short answer.
    const partial = writeFile(dir, 'partial.bin', buf.subarray(0, buf.length - 3));
    const bad = pagewise(['run', join(ROOT, 'examples/sensor-records.mjs'), partial]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/\(ERR_PAGEWISE_PARTIAL_RECORD\)\n$/);
    // The message names no library option: the CLI user gave --record-size, not recordSize.
    const whole = Math.floor((buf.length - 3) / 16);
    const tail = buf.length - 3 - whole * 16;
    const line = (name: string): string =>
      `pagewise: '${name}': size ${buf.length - 3} is not a multiple of the record size, 16 bytes: ${tail} bytes follow the last whole record (${whole} whole) (ERR_PAGEWISE_PARTIAL_RECORD)\n`;
    expect(pagewise(['index', partial, '--record-size', '16', '-o', join(dir, 'partial.idx')]).stderr).toBe(line(partial));
    expect(spawnSync('sh', ['-c', `'${process.execPath}' '${CLI}' index - --record-size 16 -o '${join(dir, 'stdin.idx')}' < '${partial}'`], { encoding: 'utf8' }).stderr).toBe(line('<stdin>'));
  });
});

describe('errors and exit codes', () => {
  it('exits 2 with ERR_PAGEWISE_INVALID_OPTION on unknown flags and bad values', () => {
    for (const args of [
      ['wc', '--bogus', files.plain],
      ['wc', '--threads', '0', files.plain],
      ['wc', '--chunk-size', '1000', files.plain],
      ['wc', '--chunk-size', 'lots', files.plain],
      ['wc', '--release', 'never', files.plain],
      ['stats', '--sep', '::', files.plain],
      ['gen', '1brc', join(dir, 'x'), '--stations', '7'],
      ['nonsense'],
      ['wc'],
    ]) {
      const r = pagewise(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^pagewise: .+ \(ERR_PAGEWISE_INVALID_OPTION\)\n(Try 'pagewise \w+ --help' for its options\.\n)?$/);
      expect(r.stdout).toBe('');
    }
    expect(pagewise(['wc', '--threads', '0', files.plain]).stderr).toContain('--threads');
  });

  it('exits 1 with the OS code for a missing file and a directory', () => {
    const missing = pagewise(['wc', join(dir, 'missing.txt')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/\(ENOENT\)\n$/);
    const directory = pagewise(['wc', dir]);
    expect(directory.status).toBe(1);
    expect(directory.stderr).toMatch(/\(ERR_PAGEWISE_NOT_REGULAR_FILE\)\n$/);
  });

  it('shows the original message of a job that throws', () => {
    const job = writeFile(dir, 'throws.mjs', `export default { init: () => 0, map() { throw new Error('boom at the third field'); }, merge: (a, b) => a + b };`);
    const r = pagewise(['run', job, files.plain]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('boom at the third field');
    expect(r.stderr).toMatch(/\(ERR_PAGEWISE_JOB_FAILED\)\n$/);
  });

  it('prints nothing on stderr in a pipe when all is well (a short run shows no progress even with --progress)', () => {
    const r = pagewise(['wc', files.plain]);
    expect(r.stderr).toBe('');
    const p = pagewise(['wc', files.plain, '--progress']);
    expect(p.stderr).toBe('');
  });
});

describe('pagewise stats, gen and demo', () => {
  it('generates deterministic 1BRC files and summarizes them like a reference', () => {
    const a = join(dir, 'a.txt');
    const b = join(dir, 'b.txt');
    expect(pagewise(['gen', '1brc', a, '--rows', '200000', '--seed', '7']).status).toBe(0);
    expect(pagewise(['gen', '1brc', b, '--rows', '200000', '--seed', '7']).status).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    const text = readFileSync(a, 'utf8');
    // Reference: strings and exact integer tenths.
    const acc = new Map<string, { min: number; max: number; sum: number; count: number }>();
    for (const line of text.split('\n')) {
      if (!line) continue;
      const at = line.lastIndexOf(';');
      const name = line.slice(0, at);
      const t = Math.round(Number(line.slice(at + 1)) * 10);
      const s = acc.get(name) ?? { min: t, max: t, sum: 0, count: 0 };
      s.min = Math.min(s.min, t);
      s.max = Math.max(s.max, t);
      s.sum += t;
      s.count++;
      acc.set(name, s);
    }
    const fmt = (t: number): string => `${t < 0 ? '-' : ''}${Math.floor(Math.abs(t) / 10)}.${Math.abs(t) % 10}`;
    const names = [...acc.keys()].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const expected = `{${names
      .map((n) => {
        const s = acc.get(n)!;
        return `${n}=${fmt(s.min)}/${fmt(Math.floor((2 * s.sum + s.count) / (2 * s.count)))}/${fmt(s.max)}`;
      })
      .join(', ')}}\n`;
    for (const chunk of ['4KiB', '64KiB', 'auto']) {
      const r = pagewise(['stats', a, '--chunk-size', chunk]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(expected);
    }
    const json = JSON.parse(pagewise(['stats', a, '--json']).stdout) as { name: string; count: number }[];
    expect(json.length).toBe(acc.size);
    expect(json.reduce((n, r) => n + r.count, 0)).toBe(200000);
    // The same rows with other separators, spelled as index's --delimiter is.
    for (const [sep, byte] of [['\\t', '\t'], ['0x09', '\t'], ['|', '|'], ['0x7c', '|'], ['\\0', '\0']]) {
      const other = join(dir, 'sep.txt');
      writeFileSync(other, text.replaceAll(';', byte));
      const r = pagewise(['stats', other, '--sep', sep]);
      expect(r.stdout, `--sep ${sep}`).toBe(expected);
    }
    for (const bad of ['\\n', '0x0a', '\n', '::', 'é', '']) {
      const r = pagewise(['stats', a, '--sep', bad]);
      expect([r.status, r.stderr], `--sep ${JSON.stringify(bad)}`).toEqual([2, expect.stringMatching(/^pagewise: --sep must be one byte other than newline.*\(ERR_PAGEWISE_INVALID_OPTION\)\n/)]);
    }
  });

  it('tune prints JSON whose recommendation is one of its trials', () => {
    const path = join(dir, 'tune.txt');
    writeFileSync(path, lines.join('\n').repeat(8));
    const r = pagewise(['tune', path, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { recommended: number; trials: { chunkSize: number; seconds: number; bytesPerSecond: number }[] };
    expect(out.trials.length).toBeGreaterThanOrEqual(4);
    const sizes = out.trials.map((t) => t.chunkSize);
    expect(sizes).toContain(out.recommended);
    expect(out.recommended % 4096).toBe(0);
    expect([...sizes].sort((x, y) => x - y)).toEqual(sizes);
    for (const t of out.trials) expect(t.seconds).toBeGreaterThan(0);
  });

  it('demo generates, summarizes and cleans up', () => {
    const r = pagewise(['demo', '--rows', '300000', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { rows: number; stations: number; file: string | null };
    expect(out.rows).toBe(300000);
    expect(out.stations).toBe(413);
    expect(out.file).toBe(null);
  });
});
