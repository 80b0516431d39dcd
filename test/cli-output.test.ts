/**
 * The write path on the command line: `grep --output PATH` holds what stdout
 * would, with every grep flag (the plain lines through the workers' writer,
 * the rest as the CLI formats them), equals GNU grep, is atomic (a failed run
 * leaves PATH as it was, no temporary), goes to FIFOs in order and fails on a
 * full device with its code; `run --output -` is stdout; `gen --threads`
 * gives the same bytes on any number of threads.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, writeFile } from './helpers.js';
import { PW, pagewise, shell, tool } from './cli-helpers.js';
import { pagewise as lib } from './helpers.js';
import { job } from './fixtures/reference.js';

const dir = tempDir('pagewise-cli-output-');

afterAll(async () => {
  await lib.shutdown();
});
const a = writeFile(dir, 'a.txt', Array.from({ length: 30_000 }, (_, i) => `row ${i}${i % 7 === 0 ? ' needle' : ''}${i % 11 === 0 ? ' Needle' : ''}`).join('\n'));
const b = writeFile(dir, 'b.txt', 'needle one\nnone\nneedle two\r\n');
const OLD = 'the old content\n';
let serial = 0;
const target = (): string => {
  const path = join(dir, `out-${serial++}.txt`);
  writeFileSync(path, OLD);
  return path;
};
const temporaries = (): string[] => readdirSync(dir).filter((n) => n.includes('.pagewise-tmp-'));

describe('grep --output PATH', () => {
  const cases: string[][] = [
    ['needle', a],
    ['needle', a, b],
    ['-v', 'needle', a, b],
    ['-i', '-w', 'needle', a],
    ['-o', 'needle', a, b],
    ['-n', 'needle', a, b],
    ['-c', 'needle', a, b],
    ['-l', 'needle', a, b],
    ['--json', 'needle', a],
    ['--json', '-c', 'needle', a, b],
    ['-q', 'needle', a],
  ];
  it.each(cases.map((c) => [c.join(' ').replaceAll(dir, '.'), c]))('%s: what stdout gets, and the same status', (_name, args) => {
    const stdout = pagewise(['grep', ...args, '--chunk-size', '4096', '--threads', '2']);
    const path = target();
    const r = pagewise(['grep', ...args, '--chunk-size', '4096', '--threads', '2', '--output', path]);
    expect(r.status, r.stderr).toBe(stdout.status);
    expect(r.stdout).toBe('');
    expect(readFileSync(path, 'latin1')).toBe(stdout.raw.toString('latin1'));
    expect(temporaries()).toEqual([]);
  });

  it('equals GNU grep -F -a (plain lines, with -n, several files)', () => {
    for (const args of [['needle', a], ['needle', a, b], ['-n', 'needle', a, b], ['-c', '-v', 'needle', a, b]]) {
      const path = target();
      expect(pagewise(['grep', ...args, '--output', path, '--chunk-size', '4096']).status).toBe(0);
      expect(readFileSync(path).equals(tool('grep', ['-F', '-a', ...args]).raw), args.join(' ')).toBe(true);
    }
    // Nothing selected: exit 1, an empty file.
    const none = target();
    expect(pagewise(['grep', 'absent', a, '--output', none]).status).toBe(1);
    expect(readFileSync(none, 'utf8')).toBe('');
  });

  it('a file that cannot be opened is reported and skipped, as on stdout (exit 2)', () => {
    const missing = join(dir, 'missing.txt');
    for (const flags of [[], ['-n']]) {
      const path = target();
      const r = pagewise(['grep', ...flags, 'needle', b, missing, '--output', path]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('(ENOENT)');
      expect(readFileSync(path, 'utf8')).toBe(pagewise(['grep', ...flags, 'needle', b, missing]).stdout);
    }
  });

  it('a run that fails leaves PATH as it was, with no temporary, plain or formatted', () => {
    for (const flags of [[], ['-n'], ['-c']]) {
      const path = target();
      // /dev/zero without --max-bytes fails its run (ERR_PAGEWISE_UNBOUNDED_INPUT).
      const r = pagewise(['grep', ...flags, 'needle', a, '/dev/zero', '--output', path]);
      expect(r.status, flags.join(' ')).toBe(2);
      expect(r.stderr).toContain('(ERR_PAGEWISE_UNBOUNDED_INPUT)');
      expect(readFileSync(path, 'utf8')).toBe(OLD);
      expect(temporaries()).toEqual([]);
    }
  });

  it('into a FIFO (formatted: -n) the reader gets the lines in order; /dev/full is ENOSPC, exit 2', async () => {
    const path = join(dir, 'fifo');
    execFileSync('mkfifo', [path]);
    const cat = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const parts: Buffer[] = [];
    cat.stdout.on('data', (d: Buffer) => parts.push(d));
    const closed = new Promise((resolve) => cat.on('close', resolve));
    const r = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'pagewise.cjs'), 'grep', '-n', 'needle', a, '--output', path, '--chunk-size', '4096']);
      child.on('exit', resolve);
    });
    await closed;
    expect(r).toBe(0);
    expect(Buffer.concat(parts).equals(tool('grep', ['-n', '-F', 'needle', a]).raw)).toBe(true);
    for (const flags of [['-n'], ['-c']]) {
      const full = pagewise(['grep', ...flags, 'needle', a, '--output', '/dev/full']);
      expect(full.status, flags.join(' ')).toBe(2);
      expect(full.stderr).toMatch(/\(ENOSPC\)\n$/);
    }
  });

  // ForwardSink.commit (src/output/sink.ts) once ignored the error `stream.end`'s callback gets,
  // so a device whose writes fail (ENOSPC) committed as a success.
  it('plain lines into /dev/full: ENOSPC, exit 2', () => {
    const full = pagewise(['grep', 'needle', a, '--output', '/dev/full']);
    expect(full.status).toBe(2);
    expect(full.stderr).toMatch(/\(ENOSPC\)\n$/);
  });
});

describe('run and gen', () => {
  it('run --output - is standard output: the bytes there, the result on stderr', () => {
    const r = pagewise(['run', job('write-lines.mjs'), b, '--params', '{"needle":"needle"}', '-o', '-', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('needle one\nneedle two\r\n');
    expect(JSON.parse(r.stderr)).toEqual({ records: 3 });
  });

  it("run whose job writes to stdout, with stdout a read-write /dev/null (Node's stdio 'ignore'): exit 0", () => {
    const r = spawnIgnoredStdout(['run', job('write-lines.mjs'), b, '--params', '{"needle":"needle"}']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('gen --threads 1 and --threads 2 write the same bytes', () => {
    const one = join(dir, 'gen1.txt');
    const two = join(dir, 'gen2.txt');
    expect(pagewise(['gen', '1brc', one, '--rows', '1200000', '--threads', '1']).status).toBe(0);
    expect(pagewise(['gen', '1brc', two, '--rows', '1200000', '--threads', '2']).status).toBe(0);
    expect(readFileSync(one).equals(readFileSync(two))).toBe(true);
    expect(pagewise(['gen', '1brc', two, '--threads', '0']).status).toBe(2);
  });
});

describe('an output that is also an input: replaced once the run is done, as sort -o replaces it', () => {
  // The atomic rename comes after the last read, and the mapping holds the old file: the result is
  // what the run made of the whole input (docs/decisions.md, "An output over an input").
  const data = Array.from({ length: 5000 }, (_, i) => `Hamburg;${i % 10}.5 w${i % 37}${i % 3 ? '' : ' x'}`).join('\n') + '\n';
  const cases: [string, (f: string, o: string) => string[]][] = [
    ['grep --output (the plain lines)', (f, o) => ['grep', 'x', f, '--output', o, '--chunk-size', '4KiB']],
    ['grep -n --output (formatted)', (f, o) => ['grep', '-n', 'x', f, '--output', o]],
    ['index -o', (f, o) => ['index', f, '-o', o]],
    ['freq -o (the top rows, written after the run)', (f, o) => ['freq', f, '-o', o]],
    ['freq --all -o', (f, o) => ['freq', '--all', f, '-o', o]],
    ['run -o', (f, o) => ['run', job('write-lines.mjs'), f, '--params', '{"needle":"x"}', '-o', o]],
  ];
  for (const [name, args] of cases) {
    it(`${name}: the same bytes as into another file, by the input's name or through a link to it`, () => {
      const input = writeFile(dir, `self-${serial++}.txt`, data);
      const elsewhere = join(dir, `elsewhere-${serial++}.txt`);
      expect(pagewise(args(input, elsewhere)).status).toBe(0);
      const expected = readFileSync(elsewhere);
      expect(expected.length).toBeGreaterThan(0);
      const r = pagewise(args(input, input));
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(input).equals(expected), name).toBe(true);
      const again = writeFile(dir, `self-${serial++}.txt`, data);
      const link = join(dir, `link-${serial++}.txt`);
      symlinkSync(again, link);
      expect(pagewise(args(again, link)).status).toBe(0);
      expect(readFileSync(again).equals(expected)).toBe(true);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(temporaries()).toEqual([]);
    });
  }
});

describe('summaries stay out of the data when the data goes to standard output', () => {
  it('gen 1brc -: the rows alone on stdout (they pipe into stats), the summary on stderr; a file still gets it on stdout', () => {
    const file = join(dir, 'gen-ref.txt');
    const ref = pagewise(['gen', '1brc', file, '--rows', '20000', '--no-progress']);
    expect(ref.stdout).toMatch(/^wrote 20000 rows \(.*\) to .*gen-ref\.txt in [\d.]+ s\n$/);
    for (const out of ['-', '/dev/stdout']) {
      const r = pagewise(['gen', '1brc', out, '--rows', '20000', '--no-progress']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.raw.equals(readFileSync(file)), out).toBe(true);
      expect(r.stderr).toMatch(new RegExp(`^wrote 20000 rows \\(.*\\) to ${out} in [\\d.]+ s\\n$`));
    }
    const json = pagewise(['gen', '1brc', '-', '--rows', '5', '--json']);
    expect(JSON.parse(json.stderr)).toMatchObject({ file: '-', rows: 5 });
    const piped = shell(`${PW} gen 1brc - --rows 20000 --no-progress 2>/dev/null | ${PW} stats -`);
    expect(piped.status, piped.stderr).toBe(0);
    expect(piped.stdout).toBe(pagewise(['stats', file]).stdout);
    // OUT the same file as a redirected stdout: the file holds the rows alone.
    const same = join(dir, 'gen-same.txt');
    expect(shell(`${PW} gen 1brc '${same}' --rows 20000 --no-progress > '${same}'`).status).toBe(0);
    expect(readFileSync(same).equals(readFileSync(file))).toBe(true);
  });

  it('index -o -: the offsets alone on stdout (a u64 array), the summary on stderr', () => {
    const file = writeFile(dir, 'idx-src.txt', 'a\nbb\nccc\n');
    const r = pagewise(['index', file, '-o', '-']);
    expect(r.status, r.stderr).toBe(0);
    expect([...new BigUint64Array(new Uint8Array(r.raw).buffer)]).toEqual([0n, 2n, 5n]);
    expect(r.stderr).toBe(`indexed 3 records of ${file} into -\n`);
    expect(pagewise(['index', file, '-o', '-', '--json']).raw.length).toBe(24);
  });

  it('index of standard input or a device needs --output: no ./-.idx, no /dev/null.idx', () => {
    for (const input of ['-', '/dev/null']) {
      const r = pagewise(['index', input], { input: 'a\nb\n', cwd: dir });
      expect(r.status, input).toBe(2);
      expect(r.stderr).toContain(`'${input}' is not a regular file, so its index has no place beside it: give --output PATH (- for standard output) (ERR_PAGEWISE_INVALID_OPTION)`);
    }
    expect(existsSync(join(dir, '-.idx'))).toBe(false);
    expect(existsSync('/dev/null.idx')).toBe(false);
    const out = join(dir, 'stdin.idx');
    expect(pagewise(['index', '-', '-o', out], { input: 'a\nb\n' }).status).toBe(0);
    expect(readFileSync(out).length).toBe(16);
  });
});

describe('help and the version are output like any other', () => {
  it('to a full device: one error line and exit 1 (it was a stack trace, or exit 0 with nothing said)', () => {
    for (const args of ['--help', '-h', '-V', '--version', 'help', 'help wc', 'wc --help', 'grep -h']) {
      const r = shell(`${PW} ${args} > /dev/full`);
      expect(r.stderr, args).toBe('pagewise: write error: No space left on device (ENOSPC)\n');
      expect(r.status, args).toBe(1);
    }
    expect(shell(`${PW} --help | head -1`).stdout).toMatch(/^pagewise: /);
    expect(pagewise(['-V']).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('an output that cannot be created', () => {
  it('is named as given, not by its temporary (ENOENT for a missing directory), with no temporary left', async () => {
    const missing = join(dir, 'no-such-dir', 'out.txt');
    for (const args of [['grep', 'needle', b, '--output', missing], ['grep', '-n', 'needle', b, '--output', missing], ['index', b, '-o', missing], ['freq', b, '-o', missing], ['freq', '--all', b, '-o', missing]]) {
      const r = pagewise(args);
      expect(r.stderr, args.join(' ')).toBe(`pagewise: ${missing}: No such file or directory (ENOENT)\n`);
      expect(r.status).toBe(args[0] === 'grep' ? 2 : 1);
    }
    await expect(lib.runJob(b, job('write-lines.mjs'), { output: missing, params: { needle: 'needle' } })).rejects.toMatchObject({
      code: 'ENOENT',
      path: missing,
      temporary: expect.stringContaining('.out.txt.pagewise-tmp-'),
    });
    expect(temporaries()).toEqual([]);
  });
});

describe('freq -o through a symbolic link', () => {
  it('writes the file the link names (the link stays a link) and keeps its mode, as the atomic writer does', () => {
    const input = writeFile(dir, 'freq-link-in.txt', 'b a b\nc b\n');
    for (const all of [false, true]) {
      const file = target();
      chmodSync(file, 0o640);
      const link = join(dir, `freq-link-${serial++}.txt`);
      symlinkSync(file, link);
      const r = pagewise(['freq', ...(all ? ['--all'] : []), input, '-o', link]);
      expect(r.status, r.stderr).toBe(0);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readFileSync(file, 'utf8')).toBe('3 b\n1 a\n1 c\n');
      expect(statSync(file).mode & 0o777).toBe(0o640);
    }
  });
});

function spawnIgnoredStdout(args: string[]): { status: number | null; stderr: string } {
  try {
    execFileSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'pagewise.cjs'), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
    return { status: 0, stderr: '' };
  } catch (error) {
    const e = error as { status: number | null; stderr: Buffer };
    return { status: e.status, stderr: e.stderr.toString('utf8') };
  }
}
