/**
 * Pipes, redirections and exit statuses as a shell user meets them (issue 14
 * §1), compared with GNU grep and wc on the same files: a reader that goes
 * away (`| head -1`) stops the run at once, silently, with 141 as coreutils
 * have from SIGPIPE; a bad file among several is reported and skipped; grep
 * exits 0/1/2; /dev/full and a closed stdout fail with their code.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, tempDir, writeFile } from './helpers.js';
import { PW, pagewise, shell, tool } from './cli-helpers.js';

const dir = tempDir('pagewise-cli-pipes-');
const big = join(dir, 'big.txt');
const ROWS = 30_000_000;
const a = writeFile(dir, 'a.txt', 'one Hamburg\ntwo\nthree Hamburg\n');
const b = writeFile(dir, 'b.txt', 'four\nHamburg five\n');
const missing = join(dir, 'nosuch.txt');

beforeAll(() => {
  // ~415 MB of 1BRC lines: every line has a ';'. Large enough that a full
  // grep (~1 s) stays several times the piped run's start-up (~0.2 s) as
  // grep gets faster (at 140 MB the margin had shrunk to 2x).
  const r = pagewise(['gen', '1brc', big, '--rows', String(ROWS)]);
  expect(r.status, r.stderr).toBe(0);
}, 120_000);

describe('a reader that goes away', () => {
  it("grep ';' big | head -1: one line, no message, exit 141, long before a full run", () => {
    const full = shell(`${PW} grep ';' '${big}' > /dev/null; echo $? >&2`);
    expect(full.stderr.trim()).toBe('0');
    const piped = shell(`${PW} grep ';' '${big}' | head -1; echo "\${PIPESTATUS[0]}" >&2`);
    expect(piped.stdout.split('\n').length).toBe(2);
    expect(piped.stdout).toMatch(/^[^\n;]+;-?\d+\.\d\n$/);
    // Nothing but the status on stderr: no EPIPE stack, no message.
    expect(piped.stderr).toBe('141\n');
    expect(piped.ms, `full run ${full.ms.toFixed(0)} ms`).toBeLessThan(full.ms / 2);
    // GNU grep dies of SIGPIPE there: the shell says 141 too.
    expect(shell(`grep ';' '${big}' | head -1 > /dev/null; echo "\${PIPESTATUS[0]}"`).stdout).toBe('141\n');
  });

  it('wc big + 5 FIFOs | head -1: the first row, exit 141, the files after the failed write never opened', () => {
    // Each FIFO's writer marks when a reader opened it. The second one waits before it writes, so
    // head has gone by the time its row is written: the write fails there, and FIFOs 3 to 6 must
    // never be opened (a writer blocks in open until a reader comes; the leftovers are killed).
    const d = tempDir('pagewise-pipes-fifo-');
    const r = shell(
      `for i in 2 3 4 5 6; do mkfifo '${d}'/f$i; (exec 3>'${d}'/f$i; touch '${d}'/opened$i; [ $i = 2 ] && sleep 0.5; cat '${a}' >&3) & done; ` +
        `${PW} wc '${big}' '${d}'/f2 '${d}'/f3 '${d}'/f4 '${d}'/f5 '${d}'/f6 | head -1; echo "\${PIPESTATUS[0]}" >&2; ` +
        `ls '${d}' | grep opened | tr '\\n' ' ' >&2; kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; true`,
    );
    expect(r.stdout.trim().split(/\s+/)[0]).toBe(String(ROWS));
    expect(r.stderr).toBe('141\nopened2 ');
  });

  it('a closed pipe also stops grep -n -i (the worker path)', () => {
    const r = shell(`${PW} grep -n -i hamburg '${big}' | head -1; echo "\${PIPESTATUS[0]}" >&2`);
    expect(r.stdout).toMatch(/^\d+:Hamburg;/);
    expect(r.stderr).toBe('141\n');
  });
});

describe('several files where one is bad', () => {
  it('wc prints the good rows and the total like GNU wc, reports the bad file, exits 1', () => {
    const ref = tool('wc', [a, missing, b], 'C.UTF-8');
    const r = pagewise(['wc', a, missing, b]);
    expect(r.stdout).toBe(ref.stdout);
    expect(r.status).toBe(ref.status);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`pagewise: ${missing}: No such file or directory (ENOENT)\n`);
    // A directory among them, too.
    const d = pagewise(['wc', '-l', a, dir, b]);
    expect(d.stdout).toBe(tool('wc', ['-l', a, dir, b], 'C.UTF-8').stdout);
    expect(d.status).toBe(1);
    expect(d.stderr).toMatch(/is a directory.*\(ERR_PAGEWISE_NOT_REGULAR_FILE\)\n$/);
  });

  it("grep prints the good files' matches and exits 2, as GNU grep", () => {
    for (const flags of [[], ['-c'], ['-l'], ['-n']]) {
      const ref = tool('grep', [...flags, 'Hamburg', a, missing, b]);
      const r = pagewise(['grep', ...flags, 'Hamburg', a, missing, b]);
      expect(r.stdout, `${flags}`).toBe(ref.stdout);
      expect(r.status).toBe(2);
      expect(ref.status).toBe(2);
      expect(r.stderr).toMatch(/nosuch\.txt: No such file or directory \(ENOENT\)\n$/);
    }
  });

  it('grep -c --json: one count, or per file as wc --json, with the counts of grep -c', () => {
    const ref = tool('grep', ['-c', 'Hamburg', a, b]).stdout.trim().split('\n').map((l) => ({ file: l.slice(0, l.lastIndexOf(':')), count: Number(l.slice(l.lastIndexOf(':') + 1)) }));
    expect(ref.map((r) => r.count)).toEqual([2, 1]);
    expect(JSON.parse(pagewise(['grep', '-c', '--json', 'Hamburg', a, b]).stdout)).toEqual({ files: ref });
    expect(pagewise(['grep', '-c', '--json', 'Hamburg', a]).stdout).toBe('{"count":2}\n');
    expect(pagewise(['grep', '-l', '--json', 'Hamburg', a, b]).stdout).toBe(`${JSON.stringify({ file: a })}\n${JSON.stringify({ file: b })}\n`);
  });

  it('freq, stats and run print no result when one file is bad, as sort does, and name each bad one', () => {
    const ref = tool('sort', [a, missing, b]);
    expect(ref.stdout).toBe('');
    expect(ref.status).not.toBe(0);
    const job = join(dir, 'lines.mjs');
    writeFileSync(job, 'export const map = (b) => b.length; export const merge = (x, y) => x + y;\n');
    for (const args of [['freq', '--json', a, missing, b], ['freq', a, missing, dir, b], ['freq', '--all', a, missing], ['stats', a, missing, b], ['stats', '--json', missing, a], ['run', job, a, missing, b]]) {
      const r = pagewise(args);
      expect(r.stdout, `${args}`).toBe('');
      expect(r.status, `${args}`).toBe(1);
      expect(r.stderr, `${args}`).toContain(`pagewise: ${missing}: No such file or directory (ENOENT)\n`);
    }
    const two = pagewise(['stats', missing, a, dir]);
    expect(two.stderr.split('\n').filter(Boolean)).toEqual([
      `pagewise: ${missing}: No such file or directory (ENOENT)`,
      expect.stringMatching(/is a directory.*\(ERR_PAGEWISE_NOT_REGULAR_FILE\)$/),
    ]);
    // freq -o keeps the file it would have replaced.
    const out = join(dir, 'kept.txt');
    writeFileSync(out, 'before\n');
    expect(pagewise(['freq', '--all', a, missing, '-o', out]).status).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe('before\n');
    const only = pagewise(['freq', missing]);
    expect(only.status).toBe(1);
    expect(only.stdout).toBe('');
  });
});

describe('exit statuses', () => {
  it('grep: 0 selected, 1 none, 2 an error; -q 0 at a match even after an error, like GNU grep', () => {
    const cases: string[][] = [
      ['Hamburg', a],
      ['zzz', a],
      ['Hamburg', missing],
      ['-q', 'Hamburg', a],
      ['-q', 'zzz', a],
      ['-q', 'Hamburg', missing, a],
      ['-q', 'zzz', missing, a],
      ['-c', 'zzz', a, b],
      ['-v', 'Hamburg', b],
    ];
    for (const args of cases) {
      const ref = tool('grep', args);
      const r = pagewise(['grep', ...args]);
      expect(r.status, args.join(' ')).toBe(ref.status);
      expect(r.stdout, args.join(' ')).toBe(ref.stdout);
    }
  });

  it('grep -q stops at the first selected line: far faster than reading the whole file', () => {
    const full = shell(`${PW} grep -c ';' '${big}' --no-native-kernels`);
    const q = shell(`${PW} grep -q ';' '${big}' --no-native-kernels`);
    expect(q.status).toBe(0);
    expect(q.stdout).toBe('');
    expect(q.ms, `full ${full.ms.toFixed(0)} ms`).toBeLessThan(full.ms);
    expect(shell(`${PW} grep -q 'zzz-none' '${a}'`).status).toBe(1);
  });

  it('no arguments: usage on stderr, exit 2; --help and help on stdout, exit 0', () => {
    const none = pagewise([]);
    expect(none.status).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^pagewise: .*\n\nUsage: pagewise <command>/);
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = pagewise(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(none.stderr);
    }
  });

  it('> /dev/full: one line with ENOSPC, exit 1 (grep: 2), as GNU wc and grep', () => {
    const r = shell(`${PW} wc '${a}' > /dev/full`);
    expect(r.stderr).toBe('pagewise: write error: No space left on device (ENOSPC)\n');
    expect(r.status).toBe(1);
    expect(shell(`wc '${a}' > /dev/full`).status).toBe(1);
    const g = shell(`${PW} grep Hamburg '${a}' > /dev/full`);
    expect(g.stderr).toBe('pagewise: write error: No space left on device (ENOSPC)\n');
    expect(g.status).toBe(shell(`grep Hamburg '${a}' > /dev/full`).status);
    expect(g.status).toBe(2);
  });

  it('2> /dev/full or a closed stderr changes no exit status: nothing to report it on, as GNU wc and grep', () => {
    // Each run's status with stderr fine, then with stderr unwritable: a usage error stays 2,
    // a missing file 1, grep's missing file 2, and a run that writes nothing to stderr 0.
    for (const [args, status] of [['wc --bogus', 2], [`wc '${a}' /no/such/file`, 1], ['grep', 2], [`grep Hamburg /no/such/file`, 2], [`wc '${a}'`, 0]] as const) {
      expect(shell(`${PW} ${args} >/dev/null`).status, args).toBe(status);
      for (const redirect of ['2>/dev/full', '2>&-']) {
        const r = shell(`${PW} ${args} >/dev/null ${redirect}`);
        expect(r.status, `${args} ${redirect}`).toBe(status);
      }
    }
    expect(shell(`wc --bogus 2>/dev/full`).status).toBe(shell(`wc --bogus 2>/dev/null`).status);
    expect(shell(`grep 2>/dev/full`).status).toBe(2);
  });

  it("stdout as a read-write /dev/null (Python's DEVNULL, Node's stdio 'ignore', 1<>/dev/null) is /dev/null: exit 0, nothing on stderr", () => {
    for (const redirect of ['> /dev/null', '1<> /dev/null']) {
      for (const [args, status] of [[`wc '${a}'`, 0], [`grep Hamburg '${a}'`, 0], [`grep --count NoSuchStation '${a}'`, 1]] as const) {
        const r = shell(`${PW} ${args} ${redirect}`);
        expect(r.stderr, `${args} ${redirect}`).toBe('');
        expect(r.status, `${args} ${redirect}`).toBe(status);
      }
    }
    // What a program that discards the output passes: /dev/null opened read-write.
    const py = shell(`python3 -c "import subprocess, sys; r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); sys.exit(r.returncode)" '${process.execPath}' '${CLI}' wc '${a}'`);
    expect(py.stderr).toBe('');
    expect(py.status).toBe(0);
    const child = spawnSync(process.execPath, [CLI, 'wc', a], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
    expect(child.stderr.toString()).toBe('');
    expect(child.status).toBe(0);
  });
});

describe('grep on standard input streams its lines (the stream executor merges block by block)', () => {
  const input = (bytes: number): string => `yes 'a line with x' | head -c ${bytes}`;

  it("yes | head -c 200000000 | grep x - | head -1: the first line at once, silently, exit 141", () => {
    const r = shell(`${input(200_000_000)} | ${PW} grep x - | head -1; echo "\${PIPESTATUS[2]}" >&2`);
    expect(r.stdout).toBe('a line with x\n');
    expect(r.stderr).toBe('141\n');
    // Holding the lines to the end of the input took about 5 s (reading all 200 MB first).
    expect(r.ms).toBeLessThan(3000);
  });

  it('the peak memory of grep x - does not grow with the input (every line matches)', () => {
    // The text --stats (plain lines out, as a user runs it): --json would print every match as a
    // JSON object, 10x the work, and took ~60 s for these 300 MB on a slow host.
    const peak = (bytes: number): number => {
      const stats = shell(`${input(bytes)} | ${PW} grep --stats x - 2>&1 >/dev/null`, { NODE_OPTIONS: '--max-semi-space-size=2' }).stdout;
      const m = /^peak rss +([\d.]+) (B|KiB|MiB|GiB)$/m.exec(stats);
      expect(m, stats).not.toBeNull();
      return Number(m![1]) * 1024 ** ['B', 'KiB', 'MiB', 'GiB'].indexOf(m![2]);
    };
    const small = peak(50_000_000);
    const large = peak(250_000_000);
    // Holding the matches would add the 200 MB more of them (measured: +590 MB before the fix); GC slack adds tens of MB.
    expect(large - small, `peak ${small} -> ${large}`).toBeLessThan(100_000_000);
  });
});
