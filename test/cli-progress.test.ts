/**
 * The progress display as a user sees it, in a pseudo-terminal (util-linux
 * `script`), with runs slowed enough to show it (issue 14 §3): redrawn in
 * place, fitted to the width, never mixed into output lines on the same
 * terminal, honest totals, cleared at the end, no escapes without colour.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeFile } from './helpers.js';
import { PW, pagewise, tool } from './cli-helpers.js';

const dir = tempDir('pagewise-cli-progress-');
const big = join(dir, 'big.txt');
const hasScript = spawnSync('script', ['--version']).status === 0;
// A job that sleeps 40 ms per chunk: a run that lasts seconds on any machine.
const slow = writeFile(
  dir,
  'slow.mjs',
  'const pause = new Int32Array(new SharedArrayBuffer(4));\n' +
    'export default { init: () => 0, map(acc, bytes) { Atomics.wait(pause, 0, 0, 40); return acc + bytes.length; }, merge: (a, b) => a + b };\n',
);

/** Runs a shell line in a pseudo-terminal `columns` wide; returns the bytes the terminal got. */
function onTerminal(line: string, columns = 60, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync('script', ['-qec', `stty cols ${columns} rows 30; ${line}`, '/dev/null'], {
    env: { ...process.env, TERM: 'xterm', ...env },
    encoding: 'latin1',
    maxBuffer: 1 << 28,
    timeout: 120_000,
  });
  return r.stdout;
}

/** The drawings of the display: `\r` + text + erase-to-end (or its NO_COLOR form). */
const DRAW = /\r(\[[^\r\n]*?)\x1b\[K/g;
/** The capture less the display (drawings and erasures) and the pty's \r\n, which is what the user's output was. */
function withoutDisplay(capture: string): string {
  return capture.replace(DRAW, '').replace(/\r\x1b\[K/g, '').replace(/\r\n/g, '\n');
}

beforeAll(() => {
  const r = pagewise(['gen', '1brc', big, '--rows', '4e6']);
  expect(r.status, r.stderr).toBe(0);
}, 120_000);

describe.skipIf(!hasScript)('progress on a terminal', () => {
  it('grep writing to the same terminal: every output line intact, the bar erased before each write', () => {
    const pattern = 'Hamburg;-?1\\.2$';
    const expected = tool('grep', ['-n', '-E', pattern, big]).stdout;
    expect(expected.split('\n').length).toBeGreaterThan(20);
    const capture = onTerminal(`${PW} grep -E -n '${pattern}' '${big}' --threads 1 --chunk-size 64KiB --no-native-kernels; ${PW} run '${slow}' '${big}' --chunk-size 1MiB --threads 1 > /dev/null`);
    const draws = [...capture.matchAll(DRAW)].map((m) => m[1]);
    expect(draws.length, capture.slice(0, 400)).toBeGreaterThan(3);
    // After a drawing the next thing is \r (an erasure or the next drawing), never output on the bar's line.
    expect(capture).not.toMatch(/\r\[[^\r\n]*?\x1b\[K[^\r]/);
    // The user's output, once the display is taken away, is grep's output exactly.
    const rest = withoutDisplay(capture);
    expect(rest).toBe(expected);
    // Each drawing: a bar, a percent, bytes of the total, a rate, elapsed; never wider than the terminal less one.
    for (const d of draws) {
      expect(d.length).toBeLessThanOrEqual(59);
      expect(d).toMatch(/^\[[=> ]+\] +\d+%  [\d.]+ (B|KiB|MiB) \/ [\d.]+ MiB/);
    }
    expect(draws.some((d) => /ETA \d+:\d\d/.test(d) || d.length > 50)).toBe(true);
    // Cleared at the end: the last thing on the terminal is not a drawing.
    expect(capture.endsWith('\r\x1b[K') || !capture.slice(capture.lastIndexOf('\r')).includes('[')).toBe(true);
  });

  it('fits a narrow terminal: never wraps, drops fields before the bar gets too short', () => {
    const capture = onTerminal(`${PW} run '${slow}' '${big}' --chunk-size 1MiB --threads 1 > /dev/null`, 34);
    const draws = [...capture.matchAll(DRAW)].map((m) => m[1]);
    expect(draws.length).toBeGreaterThan(3);
    for (const d of draws) expect(d.length).toBeLessThanOrEqual(33);
    expect(withoutDisplay(capture)).toBe('');
  });

  it('shown only after about a second: a short run leaves the terminal clean', () => {
    const capture = onTerminal(`${PW} wc -l '${big}'`);
    expect(capture).toBe(`4000000 ${big}\r\n`);
  });

  it('NO_COLOR: the same display with no escape sequence at all', () => {
    const capture = onTerminal(`${PW} run '${slow}' '${big}' --chunk-size 1MiB --threads 1`, 60, { NO_COLOR: '1' });
    expect(capture).not.toContain('\x1b');
    expect(capture).toMatch(/\r\[[=> ]+\] +\d+%/);
    // The display is overwritten with spaces, then the result comes on a clean line.
    expect(capture).toMatch(new RegExp(`\r +\r${tool('wc', ['-c', big]).stdout.split(' ')[0]}\r\n$`));
  });

  it('gen counts rows, with a rate in rows', () => {
    const out = join(dir, 'gen.txt');
    // One thread and 40M rows: long enough (a few seconds) for the display, which waits about a second.
    const capture = onTerminal(`${PW} gen 1brc '${out}' --rows 4e7 --threads 1`, 100);
    const draws = [...capture.matchAll(DRAW)].map((m) => m[1]);
    expect(draws.length).toBeGreaterThan(0);
    for (const d of draws) expect(d).toMatch(/\d+% +[\d.]+[kM]? rows \/ 40\.0M rows +[\d.]+[kM]? rows\/s/);
    expect(withoutDisplay(capture)).toMatch(/^wrote 40000000 rows \([\d.]+ MiB\) to .* in [\d.]+ s\n$/);
  });

  it('an unknown total (standard input): no percent and no ETA', () => {
    // Standard input is read in pipe-sized pieces, each a map call: 3 MB is a few seconds of the slow job.
    const capture = onTerminal(`head -c 3000000 '${big}' | ${PW} run '${slow}' - --threads 1`, 80);
    const draws = [...capture.matchAll(DRAW)].map((m) => m[1]);
    expect(draws.length).toBeGreaterThan(0);
    for (const d of draws) {
      expect(d).not.toMatch(/%|ETA/);
      expect(d).toMatch(/^\[ *<=> *\] [\d.]+ (KiB|MiB)  [\d.]+ (KiB|MiB)\/s  \d+:\d\d$/);
    }
  });
});

describe('progress when stderr is not a terminal', () => {
  it('nothing by default; --progress: a plain line now and then, no \\r, no escape', () => {
    const quiet = pagewise(['run', slow, big, '--chunk-size', '1MiB', '--threads', '1']);
    expect(quiet.stderr).toBe('');
    const loud = pagewise(['run', slow, big, '--chunk-size', '1MiB', '--threads', '1', '--progress']);
    expect(loud.status).toBe(0);
    expect(loud.stderr).not.toMatch(/[\r\x1b]/);
    const lines = loud.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^pagewise: +\d+%, [\d.]+ (KiB|MiB) \/ [\d.]+ MiB, /);
  });
});
