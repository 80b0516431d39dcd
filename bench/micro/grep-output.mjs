// `pagewise grep PATTERN big --output out` against `grep -F -a PATTERN big > out`
// and `rg -F PATTERN big > out` (issue 16, Speed: aim for 0.5x grep, below
// rg), whole commands timed, alternating, the outputs compared byte for byte.
//   node bench/micro/grep-output.mjs FILE [PATTERN] [--reps 5]
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { reps: { type: 'string', default: '5' } } });
const [file, pattern = 'Hamburg'] = positionals;
if (!file) throw new Error('usage: grep-output.mjs FILE [PATTERN] [--reps N]');
const here = resolve(import.meta.dirname, '..', '..');
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const out = `${file}.grep-out`;
const sides = {
  pagewise: ['sh', ['-c', `"${process.execPath}" "${join(here, 'bin/pagewise.cjs')}" grep "${pattern}" "${file}" --output "${out}"`]],
  grep: ['sh', ['-c', `grep -F -a -- "${pattern}" "${file}" > "${out}"`]],
  ...(spawnSync('rg', ['--version']).error ? {} : { rg: ['sh', ['-c', `rg -F -- "${pattern}" "${file}" > "${out}"`]] }),
};
const times = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
const hashes = {};
spawnSync('cat', [file], { stdio: ['ignore', 'ignore', 'inherit'] }); // warm the page cache
for (let r = 0; r < Number(values.reps); r++) {
  const names = r % 2 === 0 ? Object.keys(sides) : Object.keys(sides).reverse();
  for (const name of names) {
    const [cmd, args] = sides[name];
    const t0 = performance.now();
    const res = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    times[name].push((performance.now() - t0) / 1000);
    if (res.status !== 0 && res.status !== 1) throw new Error(`${name} exited ${res.status}`);
    hashes[name] ??= createHash('sha256').update(readFileSync(out)).digest('hex');
    rmSync(out, { force: true });
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const medians = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, +median(v).toFixed(3)]));
console.log(JSON.stringify({ file, pattern, same: new Set(Object.values(hashes)).size === 1, medians, vsGrep: medians.pagewise / medians.grep, ...(medians.rg ? { vsRg: medians.pagewise / medians.rg } : {}), times }));
