#!/usr/bin/env node
// Prints the README's command tables from the CLI's flag table (src/cli/args.ts),
// to paste into the Usage section; test/cli-help.test.ts checks that they agree.
import { COMMANDS, RUN_FLAGS } from '../dist/src/cli/args.js';

const label = (f) => [f.short ? `\`-${f.short}\`` : '', `\`--${f.long}${f.value ? ` ${f.value}` : ''}\``, f.negatable ? `\`--no-${f.long}\`` : ''].filter(Boolean).join(', ');
const row = (f) => `| ${label(f)} | ${f.default ?? ''} | ${f.help.replace(/\|/g, '\\|')} |`;
const out = [];
for (const c of COMMANDS) {
  out.push(`#### \`pagewise ${c.name} ${c.synopsis.split('\n')[0]}\``, '', `${c.summary.charAt(0).toUpperCase()}${c.summary.slice(1)}. ${c.description}`, '');
  const own = c.flags.filter((f) => !RUN_FLAGS.includes(f));
  const shared = c.flags.filter((f) => RUN_FLAGS.includes(f));
  if (own.length) out.push('| flag | default | meaning |', '|---|---|---|', ...own.map(row), '');
  if (shared.length && shared.length !== RUN_FLAGS.length) out.push(`Run options: ${shared.map((f) => `\`--${f.long}\``).join(', ')}${f0(c)}.`, '');
  else if (shared.length) out.push('Takes the [run options](#run-options).', '');
  out.push('```sh', ...c.examples.map(([cmd, what]) => `${cmd.padEnd(52)} # ${what}`), '```', '');
}
out.push('#### Run options', '', 'Every command that reads files (`wc`, `grep`, `stats`, `freq`, `run`, `tune`, `demo`) takes:', '', '| flag | default | meaning |', '|---|---|---|', ...RUN_FLAGS.map(row), '');
process.stdout.write(out.join('\n'));

function f0(c) {
  const missing = RUN_FLAGS.filter((f) => !c.flags.includes(f));
  return missing.length ? ` (not ${missing.map((f) => `\`--${f.long}\``).join(', ')})` : '';
}
