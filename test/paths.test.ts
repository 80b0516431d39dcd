/**
 * One expectation through every path (issue 15), as ripgrep's searcher tests
 * run one expectation through every strategy: each built-in job and two
 * custom jobs (one ordered, one commutative) give the reference's answer
 * through the kernel executor, ordered workers, commutative workers,
 * positional reads and a stream, for chunk sizes from one page to larger
 * than the file, on 1 and 2 threads.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pagewise, tempDir, writeFile } from './helpers.js';
import {
  commutativeReference,
  freqReference,
  grepCount,
  grepLines,
  job,
  orderedReference,
  rng,
  statsReference,
  wcBinary,
} from './fixtures/reference.js';

const INTERNAL = Symbol.for('pagewise.internal');
const dir = tempDir('pagewise-paths-');

/** Text of printable ASCII words (GNU wc 9.1's word rule agrees there), with CRLF lines and a last line without newline. */
function text(seed: number, bytes: number): string {
  const next = rng(seed);
  const words = ['alpha', 'beta', 'Hamburg', 'x', 'lorem', 'ipsum', '0123456789', 'zz', 'dolor'];
  const out: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = Math.floor(next() * 12);
    const line = Array.from({ length: n }, () => words[Math.floor(next() * words.length)]).join(next() < 0.2 ? '\t' : ' ');
    const piece = line + (next() < 0.1 ? '\r\n' : '\n');
    out.push(piece);
    size += piece.length;
  }
  return `${out.join('')}${'long '.repeat(30_000)}line\nlast line without newline Hamburg`;
}

function measurements(seed: number, rows: number): string {
  const next = rng(seed);
  const names = ['Oslo', 'Hamburg', 'Zürich', 'São Paulo', 'A', 'Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch'];
  const out: string[] = [];
  for (let i = 0; i < rows; i++) {
    const t = Math.floor(next() * 1999) - 999;
    out.push(`${names[Math.floor(next() * names.length)]};${t < 0 ? '-' : ''}${Math.floor(Math.abs(t) / 10)}.${Math.abs(t) % 10}\n`);
  }
  return out.join('');
}

const textFile = writeFile(dir, 'text.txt', text(1, 400_000));
const statsFile = writeFile(dir, 'measurements.txt', measurements(2, 40_000));
const SIZE = readFileSync(textFile).length;

type PathName = 'kernel' | 'ordered' | 'commutative' | 'pread' | 'stream';
const PATHS: Record<PathName, Record<string | symbol, unknown>> = {
  kernel: { [INTERNAL]: { executor: 'kernel' } },
  ordered: { [INTERNAL]: { executor: 'ordered' } },
  commutative: { [INTERNAL]: { executor: 'commutative' } },
  pread: { mode: 'pread' },
  stream: { mode: 'read' },
};
const CHUNKS = [4096, 65536, '1MiB', 'auto', '64MiB'] as const;
const THREADS = [1, 2] as const;

interface Case {
  name: string;
  job: string;
  file: string;
  params?: unknown;
  paths: PathName[];
  expected: () => unknown;
  executor: Partial<Record<PathName, 'kernel' | 'workers' | 'none'>>;
}

const workers = { ordered: 'workers', commutative: 'workers', pread: 'workers', stream: 'none' } as const;
const CASES: Case[] = [
  {
    name: 'wc',
    job: pagewise.builtinJobs.wc,
    file: textFile,
    paths: ['kernel', 'ordered', 'commutative', 'pread', 'stream'],
    expected: () => wcBinary(textFile),
    executor: { kernel: 'kernel', ...workers },
  },
  {
    name: 'wc --lines',
    job: pagewise.builtinJobs.wc,
    file: textFile,
    params: { lines: true },
    paths: ['kernel', 'ordered', 'commutative', 'pread', 'stream'],
    expected: () => ({ ...wcBinary(textFile), words: 0 }),
    executor: { kernel: 'kernel', ...workers },
  },
  {
    name: 'grep --count',
    job: pagewise.builtinJobs.grep,
    file: textFile,
    params: { pattern: 'Hamburg', count: true },
    paths: ['kernel', 'ordered', 'pread', 'stream'],
    expected: () => ({ count: grepCount('Hamburg', textFile), parts: [] }),
    executor: { kernel: 'kernel', ...workers },
  },
  {
    name: 'grep (lines)',
    job: pagewise.builtinJobs.grep,
    file: textFile,
    params: { pattern: 'Hamburg' },
    paths: ['ordered', 'pread', 'stream'],
    expected: () => grepLines('Hamburg', textFile).toString('latin1'),
    executor: workers,
  },
  {
    name: 'stats',
    job: pagewise.builtinJobs.stats,
    file: statsFile,
    paths: ['ordered', 'commutative', 'pread', 'stream'],
    expected: () => statsReference(readFileSync(statsFile)),
    executor: workers,
  },
  {
    name: 'freq',
    job: pagewise.builtinJobs.freq,
    file: textFile,
    params: { top: 25 },
    paths: ['ordered', 'commutative', 'pread', 'stream'],
    expected: () => freqReference(readFileSync(textFile), 25),
    executor: workers,
  },
  {
    name: 'a custom ordered job',
    job: job('ordered-lines.mjs'),
    file: textFile,
    paths: ['ordered', 'pread', 'stream'],
    expected: () => orderedReference([textFile], 'lines'),
    executor: workers,
  },
  {
    name: 'a custom commutative job',
    job: job('commutative.mjs'),
    file: textFile,
    paths: ['ordered', 'commutative', 'pread', 'stream'],
    expected: () => commutativeReference([textFile]),
    executor: workers,
  },
];

/** grep's line output as one string (the lines arrive in parts, in file order). */
function normalize(name: string, result: unknown): unknown {
  if (name !== 'grep (lines)') return result;
  const { parts } = result as { parts: Uint8Array[] };
  return Buffer.concat(parts).toString('latin1');
}

afterAll(async () => {
  await pagewise.shutdown();
});

describe.each(CASES)('$name', (c) => {
  it.each(c.paths)('through the %s path, every chunk size and thread count, equals the reference', async (path) => {
    const expected = c.expected();
    for (const chunkSize of path === 'stream' ? (['auto'] as const) : CHUNKS) {
      for (const threads of THREADS) {
        const options = { chunkSize, threads, params: c.params, ...PATHS[path] };
        const { result, stats } = await pagewise.runJob(c.file, c.job, options as never);
        const label = `${path} chunk ${chunkSize} threads ${threads}`;
        expect(normalize(c.name, result), label).toEqual(expected);
        expect(stats.executor, label).toBe(c.executor[path]);
        if (path !== 'stream') expect(stats.bytes, label).toBe(readFileSync(c.file).length);
      }
    }
  }, 120_000);
});

it('the text file has what the paths must handle: a record longer than most chunks, CRLF, no final newline', () => {
  const data = readFileSync(textFile);
  expect(data.includes('\r\n')).toBe(true);
  expect(data[data.length - 1]).not.toBe(0x0a);
  expect(SIZE).toBeGreaterThan(1 << 19);
  expect(data.indexOf('long long')).toBeGreaterThan(0);
});

describe('without the native addon (PAGEWISE_NATIVE=0): positional reads and JavaScript kernels', () => {
  /** Runs one case over every path but the kernel's in a child process without the addon. */
  function runWithoutAddon(c: Case, paths: PathName[]): { label: string; result: unknown; executor: string; bytes: number; stderr: string }[] {
    const script = `
      const { runJob, shutdown } = await import(${JSON.stringify(new URL('../dist/src/index.js', import.meta.url).href)});
      const INTERNAL = Symbol.for('pagewise.internal');
      const paths = { ordered: { [INTERNAL]: { executor: 'ordered' } }, commutative: { [INTERNAL]: { executor: 'commutative' } }, pread: { mode: 'pread' }, stream: { mode: 'read' } };
      const out = [];
      for (const path of ${JSON.stringify(paths)}) {
        for (const chunkSize of path === 'stream' ? ['auto'] : ${JSON.stringify(CHUNKS)}) {
          for (const threads of ${JSON.stringify(THREADS)}) {
            const { result, stats } = await runJob(${JSON.stringify(c.file)}, ${JSON.stringify(c.job)}, { chunkSize, threads, params: ${JSON.stringify(c.params ?? null)} ?? undefined, ...paths[path] });
            const r = result && Array.isArray(result.parts) && ${JSON.stringify(c.name === 'grep (lines)')} ? Buffer.concat(result.parts).toString('latin1') : result;
            out.push({ label: path + ' chunk ' + chunkSize + ' threads ' + threads, result: r, executor: stats.executor, bytes: stats.bytes, mode: stats.mode });
          }
        }
      }
      await shutdown();
      process.stdout.write(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, PAGEWISE_NATIVE: '0' },
      maxBuffer: 1 << 28,
    });
    if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
    return (JSON.parse(r.stdout) as { label: string; result: unknown; executor: string; bytes: number }[]).map((x) => ({ ...x, stderr: r.stderr }));
  }

  it.each(CASES)('$name: every path without the addon equals the reference', (c) => {
    const paths = c.paths.filter((p) => p !== 'kernel' && !(p === 'commutative' && c.name.startsWith('grep')));
    const expected = JSON.parse(JSON.stringify(c.expected()));
    const runs = runWithoutAddon(c, paths);
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) {
      expect(run.result, run.label).toEqual(expected);
      expect(run.executor, run.label).toBe(run.label.startsWith('stream') ? 'none' : 'workers');
      if (!run.label.startsWith('stream')) expect(run.bytes, run.label).toBe(readFileSync(c.file).length);
    }
    // One line on stderr says the fallback is in use.
    expect(runs[0].stderr.match(/portable JavaScript fallback/g)?.length).toBe(1);
  }, 120_000);
});
