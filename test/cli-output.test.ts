/**
 * The write path on the command line: `grep --output PATH` holds what stdout
 * would, with every grep flag (the plain lines through the workers' writer,
 * the rest as the CLI formats them), equals GNU grep, is atomic (a failed run
 * leaves PATH as it was, no temporary), goes to FIFOs in order and fails on a
 * full device with its code; `run --output -` is stdout; `gen --threads`
 * gives the same bytes on any number of threads.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeFile } from './helpers.js';
import { pagewise, tool } from './cli-helpers.js';
import { job } from './fixtures/reference.js';

const dir = tempDir('pagewise-cli-output-');
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

function spawnIgnoredStdout(args: string[]): { status: number | null; stderr: string } {
  try {
    execFileSync(process.execPath, [join(import.meta.dirname, '..', 'bin', 'pagewise.cjs'), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
    return { status: 0, stderr: '' };
  } catch (error) {
    const e = error as { status: number | null; stderr: Buffer };
    return { status: e.status, stderr: e.stderr.toString('utf8') };
  }
}
