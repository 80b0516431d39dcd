import { defineConfig } from 'vitest/config';

// .ci/run asks for a JSON summary too, to print a plain 'N passed, N failed' line.
const summary = process.env.PAGEWISE_TEST_SUMMARY;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file runs in its own child process: the addon installs a SIGBUS
    // handler and some tests make multi-gigabyte sparse files.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: more parallel files only fight over them and skew timings.
    maxWorkers: 2,
    // The addon's test-only entry points (native.testing), read at its load.
    env: { PAGEWISE_TEST_HOOKS: '1' },
    reporters: summary ? ['default', ['json', { outputFile: summary }]] : ['default'],
  },
});
