/**
 * The command's V8 compile cache (Node 22.1+, bin/pagewise.cjs): in the
 * user's own cache directory, and never in one another user could write or
 * swap (a symlink, a directory writable by others). On Node 20, which has no
 * compile cache, nothing is ever created.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeFile } from './helpers.js';
import { pagewise } from './cli-helpers.js';

const supported = typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function';
const dir = tempDir('pagewise-compile-cache-');
const text = writeFile(dir, 'a.txt', 'one\ntwo\n');

describe('the compile cache', () => {
  it(`${supported ? 'fills' : 'never creates (no compile cache in this Node)'} $XDG_CACHE_HOME/pagewise-v8, 0700, and the answer is the same with it`, () => {
    const xdg = join(dir, 'xdg');
    for (let i = 0; i < 2; i++) {
      const r = pagewise(['wc', '-l', text], { env: { XDG_CACHE_HOME: xdg } });
      expect(r.stdout).toBe(`2 ${text}\n`);
    }
    const cache = join(xdg, 'pagewise-v8');
    expect(existsSync(cache)).toBe(supported);
    if (supported) expect(readdirSync(cache).length).toBeGreaterThan(0);
  });

  it('never makes a home that does not exist (only XDG_CACHE_HOME, or .cache in an existing home)', () => {
    const home = join(dir, 'no-such-home');
    expect(pagewise(['wc', '-l', text], { env: { XDG_CACHE_HOME: '', HOME: home } }).stdout).toBe(`2 ${text}\n`);
    expect(existsSync(home)).toBe(false);
    const missingParent = join(dir, 'no-such-parent', 'cache');
    expect(pagewise(['wc', '-l', text], { env: { XDG_CACHE_HOME: missingParent } }).stdout).toBe(`2 ${text}\n`);
    expect(existsSync(join(dir, 'no-such-parent'))).toBe(false);
  });

  it('is not used through a symlink, nor in a directory others can write', () => {
    const target = join(dir, 'elsewhere');
    mkdirSync(target);
    const linked = join(dir, 'xdg-link');
    mkdirSync(linked);
    symlinkSync(target, join(linked, 'pagewise-v8'));
    expect(pagewise(['wc', '-l', text], { env: { XDG_CACHE_HOME: linked } }).stdout).toBe(`2 ${text}\n`);
    expect(readdirSync(target)).toEqual([]);

    const open = join(dir, 'xdg-open');
    mkdirSync(join(open, 'pagewise-v8'), { recursive: true });
    chmodSync(join(open, 'pagewise-v8'), 0o777);
    expect(pagewise(['wc', '-l', text], { env: { XDG_CACHE_HOME: open } }).stdout).toBe(`2 ${text}\n`);
    expect(readdirSync(join(open, 'pagewise-v8'))).toEqual([]);
  });
});
