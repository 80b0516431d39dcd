/**
 * Guessed CSV cuts (src/csv/speculate.ts): a CSV run cuts where a window at
 * each cut says a record starts, and proves each cut as the chunks are read
 * (the job's walker, or the summary kernel); a cut that does not hold sends
 * the group back through the first pass. Every result here is held against
 * the first pass forced (internal csvCuts: 'first pass') and against Python
 * or the byte-at-a-time reference; the adversarial files make the guess wrong
 * on purpose, through every way a view can fail its proof.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI, pagewise, tempDir, writeFile } from './helpers.js';
import { job } from './fixtures/reference.js';
import { csvWithQuotelessField, generateCsv, orderedCsvReference, pythonRows, recordStartAfter, referenceRecords } from './fixtures/csv.js';
import { CsvFields, WALK_TRACK } from '../dist/src/csv/fields.js';
import { guessOdd } from '../dist/src/csv/speculate.js';
import { SUMMARY, summarizeCsv } from '../dist/src/csv/scan.js';

const INTERNAL = Symbol.for('pagewise.internal');
const FIRST_PASS = { [INTERNAL]: { csvCuts: 'first pass' } };
const dir = tempDir('pagewise-csv-guess-');

afterAll(async () => {
  await pagewise.shutdown();
});

// Awkward CSV (quoted newlines, CRLF, doubled quotes, empty fields), records of a few hundred bytes at most.
const plain = generateCsv(31, 1_500_000);
const plainFile = writeFile(dir, 'plain.csv', plain.text);
const PLAIN = readFileSync(plainFile);

// A quoted field no window can place (see csvWithQuotelessField) amid ordinary rows.
const boundary = (at: number): number => recordStartAfter(PLAIN, at);
const trapFile = writeFile(dir, 'trap.csv', csvWithQuotelessField(PLAIN, 90_000));
const TRAP = readFileSync(trapFile);

type Report = Awaited<ReturnType<typeof pagewise.runJob>>;
const run = (file: string, name: string, o: Record<string | symbol, unknown>): Promise<Report> => pagewise.runJob(file, job(name), o as never);

function expectSame(guessed: Report, exact: Report, label: string): void {
  expect(guessed.result, label).toEqual(exact.result);
  expect(guessed.stats.bytes, label).toBe(exact.stats.bytes);
  expect(guessed.stats.chunks, label).toBe(exact.stats.chunks);
  expect(exact.stats.csvCuts, label).toBe('first pass');
}

describe('guessed cuts that hold', () => {
  const rows = pythonRows(plainFile);
  it('give the rows and cuts of the first pass, through the walker and through the kernel check, ordered and commutative', async () => {
    for (const chunkSize of [4096, 65536, 262144, 'auto']) {
      for (const threads of [1, 2]) {
        for (const [name, executor] of [
          ['csv-rows.mjs', 'ordered'],
          ['csv-ordered.mjs', 'ordered'],
          ['csv-first-record.mjs', 'ordered'],
          ['csv-commutative.mjs', 'commutative'],
        ] as const) {
          const label = `${name} ${executor} chunk ${chunkSize} threads ${threads}`;
          const o = { chunkSize, threads, [INTERNAL]: { executor } };
          const a = await run(plainFile, name, o);
          const b = await run(plainFile, name, { ...o, [INTERNAL]: { executor, csvCuts: 'first pass' } });
          expectSame(a, b, label);
          if (name === 'csv-rows.mjs') expect((a.result as { rows: string[][] }).rows, label).toEqual(rows);
          if (name === 'csv-ordered.mjs') expect(a.result, label).toEqual(orderedCsvReference([PLAIN], false));
          expect(a.stats.csvCuts, label).toBe('guessed');
          expect(a.stats.notes, label).toEqual([]);
        }
      }
    }
  }, 240_000);

  it('with a header: the header ends where the first pass says, and is not given to map', async () => {
    const a = await run(plainFile, 'csv-rows-header.mjs', { chunkSize: 65536, threads: 2 });
    const b = await run(plainFile, 'csv-rows-header.mjs', { chunkSize: 65536, threads: 2, ...FIRST_PASS });
    expectSame(a, b, 'header');
    expect(a.stats.csvCuts).toBe('guessed');
    expect((a.result as { rows: string[][] }).rows).toEqual(rows.slice(1));
    expect((a.result as { headers: Record<number, string> }).headers).toEqual({ 0: PLAIN.subarray(0, referenceRecords(PLAIN)[0].end).toString() });
  });

  it('several files in one group, each cut on its own', async () => {
    const files = [plainFile, trapFile, plainFile];
    const a = await pagewise.runJob(files, job('csv-ordered.mjs'), { chunkSize: 65536, threads: 2 });
    const b = await pagewise.runJob(files, job('csv-ordered.mjs'), { chunkSize: 65536, threads: 2, ...FIRST_PASS } as never);
    expectSame(a, b, 'three files');
    expect(a.result).toEqual(orderedCsvReference([PLAIN, TRAP, PLAIN], false));
  });
});

describe('a wrong guess is undone and the first pass decides', () => {
  const trapRecords = referenceRecords(TRAP).length;
  it.each([
    ['the walker throws on the wrong chunk', 'csv-rows.mjs'],
    ['the walker errors are swallowed by the job (the kernel check finds the cut)', 'csv-swallow.mjs'],
    ['the job never reaches the view end with the walker (the kernel check)', 'csv-first-record.mjs'],
    ['an order-sensitive job with its own record loop', 'csv-ordered.mjs'],
    ['a job that writes over the quotes of its view (the check reads the file, not the view)', 'csv-scrub.mjs'],
    ['a commutative job', 'csv-commutative.mjs'],
  ])('%s', async (_, name) => {
    for (const threads of [1, 2]) {
      const o = { chunkSize: 4096, threads };
      const a = await run(trapFile, name, o);
      const b = await run(trapFile, name, { ...o, ...FIRST_PASS });
      const label = `${name} threads ${threads}`;
      expectSame(a, b, label);
      expect(a.stats.csvCuts, label).toBe('first pass');
      expect(a.stats.notes.join('\n'), label).toMatch(/CSV cuts guessed .* did not hold/);
      if (name === 'csv-swallow.mjs') expect(a.result, label).toMatchObject({ records: trapRecords - 1, refused: 0 });
      if (name === 'csv-first-record.mjs') expect((a.result as { records: number }).records, label).toBe(trapRecords);
      if (name === 'csv-scrub.mjs') expect(a.result, label).toBe(trapRecords);
      if (name === 'csv-ordered.mjs') expect(a.result, label).toEqual(orderedCsvReference([TRAP], false));
    }
  }, 60_000);

  it('progress ends at the file, not at the file plus the discarded attempt', async () => {
    let last = { bytesDone: 0, chunksDone: 0 };
    const a = await pagewise.runJob(trapFile, job('csv-ordered.mjs'), { chunkSize: 4096, threads: 2, onProgress: (p) => (last = p) });
    expect(a.stats.csvCuts).toBe('first pass');
    expect(last.bytesDone).toBe(TRAP.length);
    expect(last.chunksDone).toBe(Math.ceil(TRAP.length / 4096));
  });

  it('bad CSV fails with the error of the first pass', async () => {
    const at = boundary(100_000);
    const bad = writeFile(dir, 'bad.csv', Buffer.concat([PLAIN.subarray(0, at), Buffer.from('5,ab"c,d\n'), PLAIN.subarray(at, boundary(200_000))]));
    const errors = [];
    for (const o of [{}, FIRST_PASS]) {
      try {
        await run(bad, 'csv-rows.mjs', { chunkSize: 65536, threads: 2, ...o });
        errors.push('resolved');
      } catch (error) {
        const e = error as { code: string; offset: number; reason: string; message: string };
        errors.push({ code: e.code, offset: e.offset, reason: e.reason, message: e.message });
      }
    }
    expect(errors[0]).toEqual(errors[1]);
    expect(errors[0]).toMatchObject({ code: 'ERR_PAGEWISE_BAD_RECORD', reason: 'quoteInUnquotedField', offset: at + 4 });
  });
});

describe('a guessed attempt that fails for another reason than a cut', () => {
  const failure = async (o: Record<string | symbol, unknown>): Promise<Record<string, unknown>> => {
    try {
      await run(plainFile, 'csv-fails.mjs', { chunkSize: 65536, threads: 2, ...o });
    } catch (error) {
      const e = error as Record<string, unknown>;
      return { code: e.code, message: e.message, index: e.index, path: e.path };
    }
    throw new Error('expected a rejection');
  };
  it('a job that throws, or kills its worker, fails as it does with the first pass', async () => {
    for (const params of [{ failAt: 3 }, { failAt: 3, exit: true }]) {
      const guessed = await failure({ params });
      expect(guessed, JSON.stringify(params)).toEqual(await failure({ params, ...FIRST_PASS }));
      expect(guessed.code).toBe(params.exit ? 'ERR_PAGEWISE_WORKER_DIED' : 'ERR_PAGEWISE_JOB_FAILED');
    }
  });

  it('an abort stops the run at once: ERR_PAGEWISE_ABORTED, and no first pass after it', async () => {
    const controller = new AbortController();
    let chunks = 0;
    const error = await pagewise
      .runJob(trapFile, job('csv-ordered.mjs'), {
        chunkSize: 4096,
        threads: 2,
        signal: controller.signal,
        onProgress: (p) => {
          chunks = Math.max(chunks, p.chunksDone);
          controller.abort();
        },
      })
      .then(
        () => undefined,
        (e: { code?: string }) => e,
      );
    expect(error?.code).toBe('ERR_PAGEWISE_ABORTED');
    expect(chunks).toBeLessThan(Math.ceil(TRAP.length / 4096));
  });

  it("release: 'evict' with a wrong guess: the first pass's chunks evict as they should, and the answer is right", async () => {
    const r = await run(trapFile, 'csv-ordered.mjs', { chunkSize: 4096, threads: 2, release: 'evict' });
    expect(r.stats.csvCuts).toBe('first pass');
    expect(r.stats.release).toBe('evict');
    expect(r.result).toEqual(orderedCsvReference([TRAP], false));
  });
});

describe('runs that never guess', () => {
  it('with onMerged, a pread source or a cluster span: the first pass', async () => {
    const cases: [string, Record<string | symbol, unknown>][] = [
      ['onMerged', { onMerged: () => {} }],
      ['pread', { mode: 'pread' }],
      ['span', { [INTERNAL]: { span: { start: 0, end: 4 * 65536 } } }],
    ];
    for (const [label, o] of cases) {
      const r = await run(plainFile, 'csv-ordered.mjs', { chunkSize: 65536, threads: 2, ...o });
      expect(r.stats.csvCuts, label).toBe('first pass');
      expect(r.stats.notes, label).toEqual([]);
      if (label !== 'span') expect(r.result, label).toEqual(orderedCsvReference([PLAIN], false));
    }
  });

  it('with an output: guessed while the job writes nothing; a job that writes gets the first pass, and its bytes once', async () => {
    const quiet = `${dir}/quiet.out`;
    const q = await run(plainFile, 'csv-ordered.mjs', { chunkSize: 65536, threads: 2, output: quiet });
    expect(q.stats.csvCuts).toBe('guessed');
    expect(q.result).toEqual(orderedCsvReference([PLAIN], false));
    expect(readFileSync(quiet).length).toBe(0);
    for (const executor of ['ordered', 'commutative']) {
      const out = `${dir}/echo-${executor}.csv`;
      const w = await run(plainFile, 'csv-echo.mjs', { chunkSize: 65536, threads: 2, output: out, [INTERNAL]: { executor } });
      expect(w.stats.csvCuts, executor).toBe('first pass');
      expect(w.stats.notes.join('\n'), executor).toMatch(/CSV cuts guessed from a window at each cut: the job writes output \(info.write\); the cuts came from a first pass/);
      expect(readFileSync(out).equals(PLAIN), executor).toBe(true);
      expect(w.stats.output?.bytes, executor).toBe(PLAIN.length);
    }
  });

  it('a run of lines reports no CSV cuts at all', async () => {
    const r = await pagewise.runJob(plainFile, job('ordered-lines.mjs'), { chunkSize: 65536, threads: 2 });
    expect(r.stats.csvCuts).toBeUndefined();
  });
});

describe('the guess itself', () => {
  const summary = (text: string): Float64Array => {
    const bytes = Buffer.from(text);
    const s = new Float64Array(SUMMARY.size);
    summarizeCsv(bytes, 0, bytes.length, 0x22, 0x2c, 0, s, 0);
    return s;
  };
  it('keeps the state the strict rules refute later, outside when neither is refuted', () => {
    // Inside a quoted field: `b"` closes it, which is a quote inside an unquoted field if we started outside.
    expect(guessOdd(summary('line two of it","next\n1,"x"\n'))).toBe(true);
    // Outside: `,"x` opens a field, which is text after a closing quote if we started inside.
    expect(guessOdd(summary('tail\n1,"x",y\n2,z\n'))).toBe(false);
    // No quote at all: outside.
    expect(guessOdd(summary('a,b\nc,d\n'))).toBe(false);
  });
});

describe('the walker tells the run it walked a whole view', () => {
  const bytes = Buffer.from('a,"b\nc",d\n"e""f",g\nh\n');
  const walk = (f: CsvFields): void => {
    while (f.nextRecord()) while (f.nextField());
  };
  const info = (view: Uint8Array, track: { bytes: Uint8Array; done: boolean }) => ({ start: 0, split: 'csv', [WALK_TRACK]: track, view });
  it('done only after nextRecord() returned false at the end of the very view', () => {
    const track = { bytes, done: false };
    const f = new CsvFields(bytes, info(bytes, track));
    expect(f.nextRecord()).toBe(true);
    expect(track.done).toBe(false);
    walk(f);
    expect(track.done).toBe(true);
  });
  it('not for another array, a sub-range, a reset walker, or one stuck at a refused quote', () => {
    const other = { bytes: Buffer.from(bytes), done: false };
    walk(new CsvFields(bytes, info(bytes, other)));
    expect(other.done).toBe(false);
    const part = { bytes, done: false };
    walk(new CsvFields(bytes, info(bytes, part), 0, 10));
    expect(part.done).toBe(false);
    const reset = { bytes, done: false };
    walk(new CsvFields(bytes, info(bytes, reset)).reset(bytes));
    expect(reset.done).toBe(false);
    const badBytes = Buffer.from('a,b"c\nd\n');
    const bad = { bytes: badBytes, done: false };
    const f = new CsvFields(badBytes, info(badBytes, bad));
    for (let k = 0; k < 5; k++) {
      try {
        walk(f);
      } catch {
        // The job swallows the error and goes on: the walker stays at the refused quote.
      }
    }
    expect(bad.done).toBe(false);
  });
});

describe('the CLI says which cuts a CSV run used', () => {
  it('pagewise run --stats: "csv cuts", and the note when a guess did not hold', () => {
    const stats = (file: string): string => {
      const r = spawnSync(process.execPath, [CLI, 'run', job('csv-ordered.mjs'), '--stats', '--no-progress', '--chunk-size', '64KiB', file], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return r.stderr;
    };
    expect(stats(plainFile)).toMatch(/^csv cuts +guessed from a window at each cut, proved as each chunk was read$/m);
    const trap = stats(trapFile);
    expect(trap).toMatch(/^csv cuts +from a first pass over the files$/m);
    expect(trap).toMatch(/^note +CSV cuts guessed from a window at each cut: did not hold \(.*\); the cuts came from a first pass over the files$/m);
  });
});
