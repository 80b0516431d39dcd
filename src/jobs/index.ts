/** Paths of the built-in job modules, for `mapReduce` and the CLI. */
import { fileURLToPath } from 'node:url';

function here(name: string): string {
  return fileURLToPath(new URL(`./${name}.js`, import.meta.url));
}

export const builtinJobs = {
  wc: here('wc'),
  stats: here('stats'),
  grep: here('grep'),
  freq: here('freq'),
  /** Record offsets as little-endian u64 (`pagewise index`); needs an output. */
  index: here('index-records'),
} as const;
