/** Paths of the built-in job modules, for `mapReduce` and the CLI, typed so `runJob` infers their results. */
import { fileURLToPath } from 'node:url';
import type { Job, JobPath, KeyedJob } from '../types.js';
import type { FreqAcc, FreqParams, FreqRow } from './freq.js';
import type { GrepAcc, GrepParams } from './grep.js';
import type { IndexAcc, IndexParams } from './index-records.js';
import type { StatsAcc, StatsParams, StatsRow } from './stats.js';
import type { WcCounts, WcParams } from './wc.js';

function here<J>(name: string): JobPath<J> {
  return fileURLToPath(new URL(`./${name}.js`, import.meta.url)) as JobPath<J>;
}

export const builtinJobs = {
  /** Lines, words and bytes, like `wc`. */
  wc: here<Job<WcCounts, WcCounts, WcParams>>('wc'),
  /** The One Billion Row Challenge: min/mean/max per station. */
  stats: here<Job<StatsAcc, StatsRow[], StatsParams>>('stats'),
  /** Lines containing a fixed string (or matching a RegExp), or their count. */
  grep: here<Job<GrepAcc, GrepAcc, GrepParams>>('grep'),
  /** The most frequent words. */
  freq: here<Job<FreqAcc, FreqRow[], FreqParams>>('freq'),
  /** Record offsets as little-endian u64 (`pagewise index`, `buildIndex`); needs an output. */
  index: here<Job<IndexAcc, IndexAcc, IndexParams>>('index-records'),
  /**
   * Every word (as `wc` counts words) with its count, in byte order of the
   * words, for any number of distinct words: a keyed job. `runFreq` gives
   * freq's order (count descending) over it, bounded in memory.
   */
  wordCounts: here<KeyedJob<Uint8Array, number>>('freq-keyed'),
} as const;
