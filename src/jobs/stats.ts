/**
 * The One Billion Row Challenge as a pagewise job: per-station min/mean/max
 * over lines of `<name>;<value>`.
 *
 * `map` is the benchmark's hot loop (src/jobs/stats-scan.ts); this file has
 * the accumulator, the parameters, the slow paths, `merge` and `finish`.
 * Stations live in an open-addressing table of typed arrays
 * (src/jobs/table.ts), so no string is made and nothing is allocated per row.
 */
import type { ChunkInfo, Job } from '../types.js';
import { COUNT, HASH, LEN, LF, REC, SUM, countOf, createAcc, maxOf, minOf, setMinMax, slotFor, sumOf, type StatsAcc } from './stats-acc.js';
import { scanSlice, warmUp } from './stats-scan.js';
import { compareBytes, keyBytes, scratchWords, slotWords, warmUpOnce } from './table.js';

export type { StatsAcc } from './stats-acc.js';

/** One station in the result; temperatures in degrees (one decimal). */
export interface StatsRow {
  name: string;
  min: number;
  mean: number;
  max: number;
  count: number;
}

/** Parameters accepted by the job (`mapReduce(..., { params })`). */
export interface StatsParams {
  /** Separator between name and value: a byte (default 0x3b, `;`). A one-character ASCII string is accepted too. */
  sep?: number | string;
}

const SEMICOLON = 0x3b;
/** Warm up before a thread's first slice if it has at least this many bytes (docs/performance.md). */
const WARM_UP_MIN = 2 << 20;

function sepOf(params: unknown): number {
  if (params === undefined || params === null) return SEMICOLON;
  if (typeof params !== 'object') {
    throw new TypeError('stats: params must be an object like { sep: 0x3b }');
  }
  const sep = (params as StatsParams).sep;
  if (sep === undefined) return SEMICOLON;
  let byte: number;
  if (typeof sep === 'string') {
    if (sep.length !== 1 || sep.charCodeAt(0) > 0x7f) {
      throw new TypeError(`stats: params.sep must be one byte, got ${JSON.stringify(sep)}`);
    }
    byte = sep.charCodeAt(0);
  } else {
    byte = sep;
  }
  if (!Number.isInteger(byte) || byte < 0 || byte > 255 || byte === LF) {
    throw new RangeError(`stats: params.sep must be a byte other than \\n, got ${String(sep)}`);
  }
  return byte;
}

function init(params?: unknown): StatsAcc {
  return createAcc(sepOf(params));
}

const maybeWarmUp = warmUpOnce(WARM_UP_MIN, warmUp);

function map(acc: StatsAcc, bytes: Uint8Array, info: ChunkInfo): StatsAcc {
  maybeWarmUp(bytes.length);
  const params = info ? info.params : undefined;
  const sep = params !== undefined && params !== null ? sepOf(params) : acc.sep;
  return scanSlice(acc, bytes, sep, info);
}

function merge(a: StatsAcc, b: StatsAcc): StatsAcc {
  const bt = b.tab;
  for (let f = 0; f <= b.mask; f++) {
    const q = f * REC;
    if (bt[q + LEN] === 0) continue;
    const len = slotWords(bt, b.pool, q);
    const s = slotFor(a, bt[q + HASH], len, scratchWords());
    setMinMax(a.tab, s, Math.min(minOf(bt, f), minOf(a.tab, s)), Math.max(maxOf(bt, f), maxOf(a.tab, s)));
    a.num[s * 8 + SUM] += sumOf(b, f);
    a.num[s * 8 + COUNT] += countOf(b, f);
  }
  return a;
}

/** round-half-up(sum / count), exactly: floor((2*sum + count) / (2*count)). */
function meanTenths(sum: number, count: number): number {
  const num = 2n * BigInt(sum) + BigInt(count);
  const den = 2n * BigInt(count);
  let q = num / den;
  if (num % den !== 0n && num < 0n) q -= 1n; // BigInt division truncates toward zero
  return Number(q);
}

function finish(acc: StatsAcc): StatsRow[] {
  const found: Array<{ key: Uint8Array; s: number }> = [];
  for (let s = 0; s <= acc.mask; s++) {
    if (acc.tab[s * REC + LEN] !== 0) found.push({ key: keyBytes(acc.tab, acc.pool, s * REC), s });
  }
  found.sort((p, q) => compareBytes(p.key, q.key));
  const decoder = new TextDecoder();
  return found.map(({ key, s }) => {
    const count = countOf(acc, s);
    return {
      name: decoder.decode(key),
      min: minOf(acc.tab, s) / 10,
      mean: meanTenths(sumOf(acc, s), count) / 10,
      max: maxOf(acc.tab, s) / 10,
      count,
    };
  });
}

function tenthsText(x: number): string {
  const t = Math.round(x * 10);
  const a = Math.abs(t);
  return `${t < 0 ? '-' : ''}${Math.floor(a / 10)}.${a % 10}`;
}

/**
 * Render rows the way the One Billion Row Challenge prints them, so output can
 * be diffed against reference implementations byte for byte: one decimal
 * always, and never `-0.0`.
 */
export function formatStats(rows: readonly StatsRow[]): string {
  const parts = rows.map((r) => `${r.name}=${tenthsText(r.min)}/${tenthsText(r.mean)}/${tenthsText(r.max)}`);
  return `{${parts.join(', ')}}\n`;
}

/**
 * Declared commutative: min, max, sum and count do not depend on order, which
 * lets the engine keep one accumulator per worker.
 */
const statsJob = {
  split: 'lines',
  commutative: true,
  init,
  map,
  merge,
  finish,
} satisfies Job<StatsAcc, StatsRow[]>;

export default statsJob;
