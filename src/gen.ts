/**
 * Deterministic input for the One Billion Row Challenge job: lines of
 * `<station>;<temperature>` with one decimal.
 *
 * Benchmarks need the same bytes on every machine and every run, so nothing
 * here uses `Math.random`: a seeded xoshiro128** drives station choice and a
 * Box-Muller normal. Output is formatted from pre-encoded `name;` words and
 * the 1,999 pre-rendered values.
 *
 * Blocks of rows are made on every thread and written through the run
 * pipeline's writer (src/output/): each worker formats its block and writes
 * it at its offset in the output's temporary. Every pair of rows draws
 * exactly four numbers (a station each, and one Box-Muller pair), so block b
 * starts 2 x (its first row) draws into the stream, and xoshiro128**, being
 * linear over GF(2), jumps there in O(log n) with powers of its transition
 * matrix: the bytes are those of one sequential pass.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTarget } from './output/target.js';
import { createSink } from './output/sink.js';
import { RunTasks, workerPool } from './run/pool.js';
import { inOrder, pulledSteps } from './run/reducer.js';
import { CURSOR, type ProduceTask } from './run/messages.js';

/** Options for {@link generate1brc}. */
export interface Generate1brcOptions {
  /** Output path; created or truncated. */
  out: string;
  /** Number of lines to write (a non-negative safe integer). */
  rows: number;
  /** Station set: the challenge's 413, or 10,000 names drawn from a 44k-city list. Default 413. */
  stations?: 413 | 10000;
  /** PRNG seed (a safe integer); the same seed gives the same bytes. Default 1. */
  seed?: number;
  /** Called after each block (BLOCK_ROWS rows) is written, in order, with the number of rows so far. */
  onProgress?: (rowsDone: number) => void;
  /** Threads that format rows; default one per core. */
  threads?: number;
  /** Stops the run (ERR_PAGEWISE_ABORTED); the output path stays as it was. */
  signal?: AbortSignal;
}

/** Largest name the challenge allows, in UTF-8 bytes. */
const MAX_NAME_BYTES = 100;
/** Rows per block (even, so every block starts with a fresh Box-Muller pair): ~7-9 MB. */
export const BLOCK_ROWS = 1 << 19;
/**
 * Room kept free at the end of a block: the longest line (100-byte name,
 * `;`, `-99.9`, `\n`) rounded up to whole words, plus the words written
 * past a line's end.
 */
const SLACK = 128;
const MIN_T = -999;
const MAX_T = 999;
const U32 = 4294967296;
const TWO_PI = 2 * Math.PI;

interface Station {
  name: string;
  /** Mean temperature in degrees. */
  mean: number;
}

let dataDirCache: string | undefined;

/**
 * Find `data/` by walking up from this module, since it runs both as
 * `src/gen.ts` (tests) and as `dist/src/gen.js` (built package).
 */
function dataDir(): string {
  if (dataDirCache !== undefined) return dataDirCache;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; ) {
    const candidate = join(dir, 'data');
    if (existsSync(join(candidate, 'stations-413.csv'))) return (dataDirCache = candidate);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`gen: cannot find data/stations-413.csv above ${start}`);
    dir = parent;
  }
}

/** `name;number` lines, skipping `#` comments and blank lines. */
function readPairs(file: string): Array<[string, number]> {
  const text = readFileSync(join(dataDir(), file), 'utf8');
  const out: Array<[string, number]> = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(';');
    const value = Number(line.slice(at + 1));
    if (at <= 0 || !Number.isFinite(value)) throw new Error(`gen: bad line in ${file}: ${JSON.stringify(line)}`);
    out.push([line.slice(0, at), value]);
  }
  return out;
}

/** Cut to at most `max` UTF-8 bytes without splitting a character. */
function truncateUtf8(name: string, max: number): string {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length <= max) return name;
  let cut = max;
  while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut).toString('utf8');
}

let stations413: Station[] | undefined;
let cities: Station[] | undefined;

function load413(): Station[] {
  stations413 ??= readPairs('stations-413.csv').map(([name, mean]) => ({ name, mean }));
  return stations413;
}

/**
 * The 44k city list, deduplicated (first occurrence wins), names cut to 100
 * bytes. Mean temperature from latitude: 30 - 0.5·|lat| °C (30 at the equator,
 * -15 at the poles), a rough but plausible gradient; only the spread of values
 * matters for the benchmark.
 */
function loadCities(): Station[] {
  if (cities) return cities;
  const seen = new Set<string>();
  const list: Station[] = [];
  for (const [raw, lat] of readPairs('weather-stations-44k.csv')) {
    const name = truncateUtf8(raw, MAX_NAME_BYTES);
    if (name === '' || /[;\n\r]/.test(name) || seen.has(name)) continue;
    seen.add(name);
    list.push({ name, mean: 30 - 0.5 * Math.abs(lat) });
  }
  return (cities = list);
}

/**
 * Seed xoshiro128**'s four words: splitmix32 over the seed's two 32-bit
 * halves, so nearby seeds give unrelated streams.
 */
function seedState(seed: number): Int32Array {
  let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / U32) >>> 0, 0x9e3779b1);
  const st = new Int32Array(4);
  for (let k = 0; k < 4; k++) {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    st[k] = z ^ (z >>> 16);
  }
  if ((st[0] | st[1] | st[2] | st[3]) === 0) st[0] = 1;
  return st;
}

/** One xoshiro128** step on `st`. */
function nextU32(st: Int32Array): number {
  const b = st[1];
  const r = Math.imul(rotl(Math.imul(b, 5), 7), 9);
  const t = b << 9;
  st[2] ^= st[0];
  st[3] ^= b;
  st[1] = b ^ st[2];
  st[0] ^= st[3];
  st[2] ^= t;
  st[3] = rotl(st[3], 11);
  return r >>> 0;
}

/** Refill `pool` with the next `pool.length` outputs, state in locals for speed. */
function refill(st: Int32Array, pool: Uint32Array): void {
  let a = st[0];
  let b = st[1];
  let c = st[2];
  let d = st[3];
  for (let k = 0; k < pool.length; k++) {
    const q = Math.imul(b, 5);
    pool[k] = Math.imul((q << 7) | (q >>> 25), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
  }
  st[0] = a;
  st[1] = b;
  st[2] = c;
  st[3] = d;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Everything the row loop needs, precomputed once per file. */
interface Tables {
  /** Stations. */
  n: number;
  /** `name;` of every station as little-endian words, zero-padded, back to back. */
  nameWords: Int32Array;
  /** Per station: first word in `nameWords`. */
  nameOff: Int32Array;
  /** Per station: bytes of `name;`. */
  nameLen: Int32Array;
  /** Per station: mean in tenths (not rounded). */
  means: Float64Array;
  /** Per value t in [-999, 999]: `value\n` as two words at (t + 999) * 2. */
  valWords: Int32Array;
  /** Per value: bytes of `value\n`. */
  valLen: Int32Array;
}

/** Mutable generator state carried between blocks. */
interface State {
  rng: Int32Array;
  /** PRNG outputs drawn ahead, consumed in order from `next`. */
  pool: Uint32Array;
  next: number;
  /** The second normal of the last Box-Muller pair, if unused. */
  spare: number;
  haveSpare: boolean;
}

function toWords(bytes: Uint8Array): Int32Array {
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  return new Int32Array(padded.buffer);
}

function buildTables(chosen: Station[]): Tables {
  const n = chosen.length;
  const encoded = chosen.map((s) => toWords(Buffer.from(`${s.name};`, 'utf8')));
  const nameOff = new Int32Array(n);
  const nameLen = new Int32Array(n);
  const means = new Float64Array(n);
  let total = 0;
  for (let s = 0; s < n; s++) {
    nameOff[s] = total;
    nameLen[s] = Buffer.byteLength(`${chosen[s].name};`, 'utf8');
    total += encoded[s].length;
    means[s] = chosen[s].mean * 10;
  }
  const nameWords = new Int32Array(total);
  for (let s = 0; s < n; s++) nameWords.set(encoded[s], nameOff[s]);

  const valWords = new Int32Array((MAX_T - MIN_T + 1) * 2);
  const valLen = new Int32Array(MAX_T - MIN_T + 1);
  for (let t = MIN_T; t <= MAX_T; t++) {
    const a = Math.abs(t);
    const text = `${t < 0 ? '-' : ''}${Math.floor(a / 10)}.${a % 10}\n`;
    valWords.set(toWords(Buffer.from(text, 'latin1')), (t - MIN_T) * 2);
    valLen[t - MIN_T] = text.length;
  }
  return { n, nameWords, nameOff, nameLen, means, valWords, valLen };
}

/**
 * Format up to `rows` lines into `buf` (stopping SLACK bytes short of its
 * end); returns [rows formatted, bytes used]. Words are written whole, so a
 * line's last word may spill past its end; the next line overwrites it.
 */
function fillBlock(tb: Tables, st: State, buf: Buffer, rows: number): [number, number] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const { n, nameWords, nameOff, nameLen, means, valWords, valLen } = tb;
  const pool = st.pool;
  const poolSize = pool.length;
  let next = st.next;
  let spare = st.spare;
  let haveSpare = st.haveSpare;
  const limit = buf.length - SLACK;
  let p = 0;
  let done = 0;
  while (done < rows && p <= limit) {
    if (next === poolSize) {
      refill(st.rng, pool);
      next = 0;
    }
    const s = Math.floor((pool[next++] * n) / U32); // station, uniform in [0, n)

    let z: number;
    if (haveSpare) {
      z = spare;
      haveSpare = false;
    } else {
      // Box-Muller: two uniforms, two normals.
      if (next === poolSize) {
        refill(st.rng, pool);
        next = 0;
      }
      const u1 = (pool[next++] + 1) / U32; // (0, 1]: log is finite
      if (next === poolSize) {
        refill(st.rng, pool);
        next = 0;
      }
      const u2 = pool[next++] / U32;
      const rad = Math.sqrt(-2 * Math.log(u1));
      const theta = TWO_PI * u2;
      z = rad * Math.cos(theta);
      spare = rad * Math.sin(theta);
      haveSpare = true;
    }
    let v = Math.round(means[s] + 100 * z);
    if (v < MIN_T) v = MIN_T;
    else if (v > MAX_T) v = MAX_T;

    const no = nameOff[s];
    const nl = nameLen[s];
    for (let k = 0; k < nl; k += 4) dv.setInt32(p + k, nameWords[no + (k >> 2)], true);
    p += nl;
    const vi = v - MIN_T;
    dv.setInt32(p, valWords[vi * 2], true);
    dv.setInt32(p + 4, valWords[vi * 2 + 1], true);
    p += valLen[vi];
    done++;
  }
  st.next = next;
  st.spare = spare;
  st.haveSpare = haveSpare;
  return [done, p];
}

// ------------------------------------------------------------ jump ahead --

/**
 * One xoshiro128** state transition, on a state of 4 words. Linear over
 * GF(2) (xors, shifts, rotations), which is what makes the jump possible.
 */
function step(st: Int32Array): void {
  const b = st[1];
  const t = b << 9;
  st[2] ^= st[0];
  st[3] ^= b;
  st[1] = b ^ st[2];
  st[0] ^= st[3];
  st[2] ^= t;
  st[3] = rotl(st[3], 11);
}

/** A 128 x 128 bit matrix as 128 columns of 4 words: column j is the image of state bit j. */
type BitMatrix = Int32Array<ArrayBuffer>;

function applyMatrix(m: BitMatrix, v: Int32Array): Int32Array<ArrayBuffer> {
  const out = new Int32Array(4);
  for (let j = 0; j < 128; j++) {
    if (((v[j >>> 5] >>> (j & 31)) & 1) === 0) continue;
    const c = j * 4;
    out[0] ^= m[c];
    out[1] ^= m[c + 1];
    out[2] ^= m[c + 2];
    out[3] ^= m[c + 3];
  }
  return out;
}

function square(m: BitMatrix): BitMatrix {
  const out = new Int32Array(512);
  for (let j = 0; j < 128; j++) out.set(applyMatrix(m, m.subarray(j * 4, j * 4 + 4)), j * 4);
  return out;
}

/** POWERS[k] is the transition matrix to the power 2^k (built on first use; 53 covers any safe integer). */
let POWERS: BitMatrix[] | undefined;

function powers(): BitMatrix[] {
  if (POWERS) return POWERS;
  const m = new Int32Array(512);
  for (let j = 0; j < 128; j++) {
    const unit = new Int32Array(4);
    unit[j >>> 5] = 1 << (j & 31);
    step(unit);
    m.set(unit, j * 4);
  }
  const list = [m];
  for (let k = 1; k < 53; k++) list.push(square(list[k - 1]));
  return (POWERS = list);
}

/** The state `draws` steps after `st` (a new array). */
export function jump(st: Int32Array, draws: number): Int32Array<ArrayBuffer> {
  if (!Number.isSafeInteger(draws) || draws < 0) throw new RangeError(`gen: cannot jump ${draws} draws`);
  let v = new Int32Array(st);
  const p = powers();
  for (let k = 0; draws > 0; k++, draws = Math.floor(draws / 2)) {
    if (draws % 2 === 1) v = applyMatrix(p[k], v);
  }
  return v;
}

// ------------------------------------------------------------------ blocks --

/** What every block of one file shares: the parameters workers get. */
export interface BlockParams {
  rows: number;
  stations: 413 | 10000;
  seed: number;
  blockRows: number;
}

/** The stations of a file and the PRNG state where its rows' draws start. */
function setUp(stations: 413 | 10000, seed: number): { tables: Tables; start: Int32Array } {
  const rng = seedState(seed);
  let chosen: Station[];
  if (stations === 413) {
    chosen = load413();
  } else {
    // Partial Fisher-Yates over a copy: the first 10,000 are the sample.
    const all = loadCities().slice();
    if (all.length < stations) throw new Error(`gen: only ${all.length} distinct city names available`);
    for (let k = 0; k < stations; k++) {
      const r = k + Math.floor((nextU32(rng) * (all.length - k)) / U32);
      const tmp = all[k];
      all[k] = all[r];
      all[r] = tmp;
    }
    chosen = all.slice(0, stations);
  }
  return { tables: buildTables(chosen), start: rng };
}

// One set-up per (stations, seed) per thread.
const setUps = new Map<string, { tables: Tables; start: Int32Array }>();

const POOL = 4096;

let blockBuffer = Buffer.allocUnsafe(0);

/**
 * Block `index` of a file: rows [index x blockRows, ...) formatted, as bytes
 * valid until the next call on this thread. Runs in the workers (a
 * ProduceTask names this module).
 */
export function produce(params: BlockParams, index: number): Uint8Array {
  const { rows, stations, seed, blockRows } = params;
  const key = `${stations}:${seed}`;
  let base = setUps.get(key);
  if (base === undefined) {
    base = setUp(stations, seed);
    setUps.set(key, base);
  }
  const first = index * blockRows;
  const count = Math.max(0, Math.min(blockRows, rows - first));
  // Two draws per row on average, four per pair of rows: an even `first` is 2 x first draws in.
  const st: State = { rng: jump(base.start, 2 * first), pool: new Uint32Array(POOL), next: POOL, spare: 0, haveSpare: false };
  let longest = 0;
  for (let s = 0; s < base.tables.n; s++) longest = Math.max(longest, base.tables.nameLen[s]);
  // Each row is at most its name, `-99.9` and a newline; SLACK for the words
  // written past the end. One buffer per thread, reused: a fresh one per block
  // costs its page faults (the bytes are written out before the next block).
  const need = count * (longest + 6) + SLACK;
  if (blockBuffer.length < need) blockBuffer = Buffer.allocUnsafe(need);
  const buf = blockBuffer;
  const [done, used] = fillBlock(base.tables, st, buf, count);
  if (done !== count) throw new Error(`gen: block ${index} formatted ${done} of ${count} rows`);
  return buf.subarray(0, used);
}

/**
 * Write a 1BRC measurements file. Byte-identical output for the same
 * `rows`/`stations`/`seed`, whatever the threads, which is what benchmark
 * comparisons need. The file appears complete or not at all (it is written
 * in a temporary and renamed over `out`, as every pagewise output).
 *
 * Temperatures are Normal(station mean, 10) rounded to one decimal and clamped
 * to [-99.9, 99.9]; the station is uniform per row. With `stations: 10000` the
 * 10,000 names are a seed-dependent sample of the 44k city list.
 *
 * @returns rows and bytes written.
 * @throws RangeError for bad options; OS errors (EACCES, ENOSPC, ...);
 *   ERR_PAGEWISE_ABORTED when `signal` fires.
 */
export async function generate1brc(options: Generate1brcOptions): Promise<{ rows: number; bytes: number }> {
  const { out, rows, stations = 413, seed = 1, onProgress, signal } = options;
  if (!Number.isSafeInteger(rows) || rows < 0) throw new RangeError(`gen: rows must be a non-negative integer, got ${rows}`);
  if (stations !== 413 && stations !== 10000) throw new RangeError(`gen: stations must be 413 or 10000, got ${String(stations)}`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`gen: seed must be a safe integer, got ${seed}`);
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024) throw new RangeError(`gen: threads must be an integer from 1 to 1024, got ${threads}`);

  const blocks = Math.ceil(rows / BLOCK_ROWS);
  const sink = createSink(await openTarget(out, signal), threads);
  let tasks: RunTasks | undefined;
  try {
    if (blocks > 0) {
      tasks = new RunTasks(await workerPool(threads, undefined));
      const control = tasks.control;
      const group = sink.group(blocks, control);
      Atomics.store(control, CURSOR, 0);
      const params: BlockParams = { rows, stations, seed, blockRows: BLOCK_ROWS };
      const task: ProduceTask = { kind: 'produce', module: new URL(import.meta.url).href, params, blocks, control, output: group.ref };
      const running = tasks;
      let rowsDone = 0;
      await inOrder(
        blocks,
        { inFlight: threads * 2, window: threads * 4, signal: anyOf(signal, sink.signal) },
        pulledSteps(async () => {
          await group.room();
          return running.call(task);
        }),
        (k, reply) => {
          if (group.mode === 'forward') group.deliver(k, reply.output);
          rowsDone = Math.min(rows, (k + 1) * BLOCK_ROWS);
          onProgress?.(rowsDone);
        },
      );
      await group.finish();
    }
    await sink.commit(signal);
  } catch (error) {
    await tasks?.stop();
    const failure = sink.failure;
    await sink.abort();
    throw failure ?? error;
  }
  return { rows, bytes: sink.bytes };
}

function anyOf(a: AbortSignal | undefined, b: AbortSignal): AbortSignal {
  if (a === undefined) return b;
  const controller = new AbortController();
  const fire = (s: AbortSignal): void => controller.abort(s.reason);
  if (a.aborted) fire(a);
  else if (b.aborted) fire(b);
  else {
    a.addEventListener('abort', () => fire(a), { once: true });
    b.addEventListener('abort', () => fire(b), { once: true });
  }
  return controller.signal;
}
