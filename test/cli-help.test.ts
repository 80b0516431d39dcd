/**
 * Help, the README's Usage section and the parser come from one table
 * (src/cli/args.ts): each command's help has its synopsis, every flag with
 * its default and examples; `help CMD` is `CMD --help`; the README lists the
 * same flags per command and every error code. `--help`, `--version` and
 * usage errors work without the addon.
 */
import { cpSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers.js';
import { pagewise } from './cli-helpers.js';
import { spawnSync } from 'node:child_process';
import { COMMANDS, RUN_FLAGS } from '../dist/src/cli/args.js';
import { ErrorCodes } from '../dist/src/errors.js';

/** The flags a help text lists: `-x, --name`, `--name`, `--name, --no-name`. */
function helpFlags(help: string): Set<string> {
  const flags = new Set<string>();
  for (const line of help.split('\n')) {
    const m = /^ {2}(?:(-\w), )?\s*(--[\w-]+)(?: [A-Z|]+)?(?:, (--no-[\w-]+))?(?:\s|$)/.exec(line);
    if (!m) continue;
    for (const f of m.slice(1)) if (f) flags.add(f);
  }
  flags.delete('-h');
  flags.delete('--help');
  return flags;
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const usage = readme.slice(readme.indexOf('### Command line'), readme.indexOf('### Writing a job'));

/** The flags the README's Usage section gives a command: its table, and the run options it takes. */
function readmeFlags(name: string): Set<string> {
  const start = usage.indexOf(`#### \`pagewise ${name} `);
  expect(start, `a README section for ${name}`).toBeGreaterThan(0);
  const block = usage.slice(start, usage.indexOf('\n#### ', start + 1));
  const flags = new Set<string>();
  const tableFlags = (text: string): void => {
    for (const row of text.split('\n').filter((l) => l.startsWith('| `'))) {
      const first = row.split(' | ')[0];
      for (const m of first.matchAll(/`(--?[\w-]+)/g)) flags.add(m[1]);
    }
  };
  tableFlags(block);
  const runSection = usage.slice(usage.indexOf('#### Run options'));
  if (block.includes('Takes the [run options]')) tableFlags(runSection.slice(0, runSection.indexOf('\n#### ', 5)));
  const listed = /Run options: (.*)\./.exec(block);
  if (listed) for (const m of listed[1].split(' (not ')[0].matchAll(/`(--[\w-]+)`/g)) flags.add(m[1]);
  if (listed) for (const f of RUN_FLAGS) if (f.negatable && flags.has(`--${f.long}`)) flags.add(`--no-${f.long}`);
  return flags;
}

describe('per-command help', () => {
  for (const command of COMMANDS) {
    it(`pagewise ${command.name} --help: synopsis, every flag with its default, two examples; = help ${command.name} = -h`, () => {
      const help = pagewise([command.name, '--help']);
      expect(help.status).toBe(0);
      expect(help.stderr).toBe('');
      expect(pagewise(['help', command.name]).stdout).toBe(help.stdout);
      expect(pagewise([command.name, '-h']).stdout).toBe(help.stdout);
      // -h anywhere before -- is help, even after operands.
      expect(pagewise([command.name, 'x', '-h']).stdout).toBe(help.stdout);
      const text = help.stdout;
      expect(text).toContain(`Usage: pagewise ${command.name} ${command.synopsis.split('\n')[0]}`);
      const flat = text.replace(/\n +/g, ' ');
      for (const f of command.flags) {
        expect(text, `--${f.long}`).toMatch(new RegExp(`^ +${f.short ? `-${f.short}, ` : ''}--${f.long}\\b`, 'm'));
        if (f.default !== undefined) expect(flat, `--${f.long} default`).toContain(`[default: ${f.default}]`);
      }
      const examples = text.slice(text.indexOf('Examples:')).split('\n').filter((l) => l.startsWith('  pagewise') || l.startsWith('  cat') || l.startsWith('  UV_'));
      expect(examples.length).toBeGreaterThanOrEqual(2);
      for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(79);
      // Different commands, different help.
      if (command.name !== 'wc') expect(text).not.toBe(pagewise(['wc', '--help']).stdout);
    });
  }
});

describe('the README agrees with the help, flag for flag', () => {
  for (const command of COMMANDS) {
    it(command.name, () => {
      const fromHelp = helpFlags(pagewise([command.name, '--help']).stdout);
      const fromReadme = readmeFlags(command.name);
      expect([...fromReadme].sort()).toEqual([...fromHelp].sort());
      // And the table is what the parser accepts.
      const fromTable = new Set(command.flags.flatMap((f) => [`--${f.long}`, ...(f.short ? [`-${f.short}`] : []), ...(f.negatable ? [`--no-${f.long}`] : [])]));
      expect([...fromHelp].sort()).toEqual([...fromTable].sort());
    });
  }

  it('the README names every command and every error code', () => {
    for (const c of COMMANDS) expect(usage).toContain(`#### \`pagewise ${c.name}`);
    const errors = readme.slice(readme.indexOf('| code | when |'));
    for (const code of [...Object.values(ErrorCodes), 'ERR_PAGEWISE_INTERNAL']) expect(errors, code).toContain(`\`${code}\``);
  });
});

describe('without the addon', () => {
  it('--version, --help, a command help, usage errors and info work; a reading command runs on the fallback and says so', () => {
    const pkg = join(tempDir('pagewise-noaddon-'), 'pkg');
    mkdirSync(pkg);
    for (const p of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, p), join(pkg, p), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    const run = (args: string[]) => spawnSync(process.execPath, [join(pkg, 'bin', 'pagewise.cjs'), ...args], { encoding: 'utf8' });
    expect(run(['--version']).stdout).toBe(`${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}\n`);
    expect(run(['--help']).status).toBe(0);
    expect(run(['grep', '--help']).stdout).toBe(pagewise(['grep', '--help']).stdout);
    const bad = run(['wc', '--line', 'x']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("Did you mean '--lines'?");
    const info = run(['info']);
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/byte kernels  js: the native addon did not load .*\(ERR_PAGEWISE_NO_ADDON\)/);
    expect(info.stdout).toContain('memory budget');
    // A reading command runs on the JavaScript fallback, and says so once.
    const wc = run(['wc', join(ROOT, 'package.json')]);
    expect(wc.status, wc.stderr).toBe(0);
    expect(wc.stdout).toBe(pagewise(['wc', join(ROOT, 'package.json')]).stdout);
    expect(wc.stderr).toMatch(/^pagewise: the native addon did not load .*portable JavaScript fallback/);
  });
});
