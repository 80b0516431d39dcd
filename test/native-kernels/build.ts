/**
 * Builds test/native-kernels/harness.cc with native/kernels.cc into a
 * directory, twice: as shipped (AVX2 where the CPU has it) and with
 * -DPAGEWISE_PORTABLE_ONLY. No node-gyp, no addon: the kernels alone.
 */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers.js';

const run = promisify(execFile);

export interface Harness {
  /** Which binary: 'dispatch' (AVX2 when available) or 'portable'. */
  flavour: 'dispatch' | 'portable';
  path: string;
  /** Runs it; returns stdout (throws with stderr on a non-zero exit). */
  run(args: string[], timeoutMs?: number): string;
}

/**
 * The dispatch build under AddressSanitizer and UBSan, with an exact-size copy
 * of each input (harness.cc), so that a read past the end fails; null when
 * this compiler has no sanitizer runtime.
 */
export async function buildSanitized(dir: string): Promise<string | null> {
  const path = join(dir, 'harness-asan');
  try {
    await run(
      'g++',
      ['-std=c++17', '-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-I', join(ROOT, 'native'),
        join(ROOT, 'test/native-kernels/harness.cc'), join(ROOT, 'native/kernels.cc'), '-o', path, '-pthread'],
      { timeout: 300_000 },
    );
  } catch (error) {
    if (/sanitize|asan|ubsan/i.test(String((error as { stderr?: string }).stderr))) return null;
    throw error;
  }
  return path;
}

export async function buildHarness(dir: string): Promise<Harness[]> {
  const flavours = [
    ['dispatch', []],
    ['portable', ['-DPAGEWISE_PORTABLE_ONLY']],
  ] as const;
  return Promise.all(
    flavours.map(async ([flavour, defines]) => {
      const path = join(dir, `harness-${flavour}`);
      await run(
        'g++',
        ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Werror', ...defines, '-I', join(ROOT, 'native'), join(ROOT, 'test/native-kernels/harness.cc'),
          join(ROOT, 'native/kernels.cc'), '-o', path, '-pthread'],
        { timeout: 180_000 },
      );
      return {
        flavour,
        path,
        run: (args: string[], timeoutMs = 120_000) =>
          execFileSync(path, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] }),
      };
    }),
  );
}
