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
