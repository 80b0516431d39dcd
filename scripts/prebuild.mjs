#!/usr/bin/env node
// Builds the prebuilt addons that ship in the npm package, in node-gyp-build's
// layout: prebuilds/linux-x64/node.napi.glibc.node and
// prebuilds/linux-arm64/node.napi.glibc.node. One Node-API binary per
// platform serves every Node from 20 on. Run by `prepack`, so `npm pack` and
// `npm publish` always carry both; never committed.
//
// Each is built by node-gyp from binding.gyp (the same flags as a build from
// source), in its own copy of the sources under build/prebuild-<arch>/, so
// the clone's own build/Release is left alone. The architecture that is not
// the host's is cross-compiled with Debian's cross toolchain.
//
// The glibc baseline: no symbol newer than GLIBC_2.28 and GLIBCXX_3.4.21
// (CXXABI_1.3.9), what Node's own linux-x64 and linux-arm64 binaries need
// (RHEL 8, Debian 10, Ubuntu 20.04 and later): any system that runs an
// official Node loads these. The build machine's glibc is newer, so
// scripts/glibc-baseline/ binds the few newer symbols that its headers
// pick to older versions; the check below reads every binary's dynamic
// symbols with objdump and fails the pack if one is newer.
//
// Usage: node scripts/prebuild.mjs [--force] [--arch x64|arm64]...
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const COMPAT = join(ROOT, 'scripts', 'glibc-baseline');
export const BASELINE = { GLIBC: '2.28', GLIBCXX: '3.4.21', CXXABI: '1.3.9' };
const FILE_NAME = 'node.napi.glibc.node';

/** Debian's names for each target's toolchain, and the ELF machine it must produce. */
const TARGETS = {
  x64: { triple: 'x86_64-linux-gnu', debianPackage: 'g++-x86-64-linux-gnu', machine: 62 },
  arm64: { triple: 'aarch64-linux-gnu', debianPackage: 'g++-aarch64-linux-gnu', machine: 183 },
};

function fail(message) {
  process.stderr.write(`prebuild: ${message}\n`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...options });
  if (r.error) return { ok: false, out: '', err: String(r.error.message) };
  return { ok: r.status === 0, out: r.stdout, err: r.stderr };
}

/** The compilers for `arch`: the host's own for the host's architecture, else the cross toolchain. */
function toolchain(arch) {
  const target = TARGETS[arch];
  const native = process.arch === arch;
  const prefix = native ? '' : `${target.triple}-`;
  const tools = { CC: `${prefix}gcc`, CXX: `${prefix}g++`, AR: `${prefix}ar` };
  for (const tool of [tools.CXX, tools.CC]) {
    if (!run(tool, ['--version']).ok) {
      fail(
        `${tool} is missing, so the linux-${arch} addon cannot be built. ` +
          (native
            ? 'Install a C++ compiler (Debian/Ubuntu: apt-get install g++ make python3).'
            : `Install the cross compiler (Debian/Ubuntu: apt-get install ${target.debianPackage}; ` +
              'qemu-user-static as well to test it). A package without every prebuild is not a release.'),
      );
    }
  }
  return { ...tools, LINK: tools.CXX, version: run(tools.CXX, ['--version']).out.split('\n')[0] };
}

/** Node's headers: npm's nodedir setting, else the running Node's own, else node-gyp downloads them. */
function nodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

/** node-gyp: the project's own (a dev dependency), else npm's bundled one. */
function nodeGyp() {
  try {
    return createRequire(join(ROOT, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
    fail('node-gyp is missing: run npm ci first');
  }
}

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** What a prebuild is made of: when none of it changed, the binary is current. */
function stampOf(arch, tools) {
  const hash = createHash('sha256');
  const inputs = [join(ROOT, 'binding.gyp'), fileURLToPath(import.meta.url), ...filesUnder(join(ROOT, 'native')), ...filesUnder(COMPAT)];
  for (const file of inputs.sort()) hash.update(file.slice(ROOT.length)).update(readFileSync(file));
  const addonApi = JSON.parse(readFileSync(join(dirname(createRequire(join(ROOT, 'package.json')).resolve('node-addon-api')), 'package.json'), 'utf8'));
  hash.update(`${arch}\0${tools.version}\0node-addon-api@${addonApi.version}`);
  return hash.digest('hex');
}

function compareVersions(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  }
  return 0;
}

/**
 * The dynamic symbols of `file` whose version is newer than the baseline,
 * as "symbol (VERSION)" strings.
 */
export function symbolsPastBaseline(file) {
  const dump = run('objdump', ['-T', file]);
  if (!dump.ok) fail(`objdump -T ${file} failed (install binutils): ${dump.err}`);
  const past = [];
  for (const line of dump.out.split('\n')) {
    const m = /\((GLIBC|GLIBCXX|CXXABI)_([0-9.]+)\)\s+(\S+)/.exec(line);
    if (m && compareVersions(m[2], BASELINE[m[1]]) > 0) past.push(`${m[3]} (${m[1]}_${m[2]})`);
  }
  return past;
}

/** The ELF machine number of `file` (62 x86-64, 183 AArch64). */
function elfMachine(file) {
  const head = readFileSync(file).subarray(0, 20);
  if (head.readUInt32BE(0) !== 0x7f454c46) fail(`${file} is not an ELF file`);
  return head.readUInt16LE(18);
}

function build(arch, force) {
  const tools = toolchain(arch);
  const out = join(ROOT, 'prebuilds', `linux-${arch}`, FILE_NAME);
  const stage = join(ROOT, 'build', `prebuild-${arch}`);
  const stamp = stampOf(arch, tools);
  const stampFile = join(stage, 'stamp');
  if (!force && existsSync(out) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
    process.stdout.write(`prebuild: linux-${arch} is up to date\n`);
    return out;
  }
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  copyFileSync(join(ROOT, 'binding.gyp'), join(stage, 'binding.gyp'));
  cpSync(join(ROOT, 'native'), join(stage, 'native'), { recursive: true });

  // The baseline shims: compiled with RTTI on (compat.cc needs typeid), fed
  // to node-gyp's make through the variables it reads from the environment.
  const compatObject = join(stage, 'glibc-compat.o');
  const compiled = run(tools.CXX, ['-std=c++17', '-O2', '-fPIC', '-frtti', '-c', join(COMPAT, 'compat.cc'), '-o', compatObject]);
  if (!compiled.ok) fail(`compiling the glibc baseline shims for linux-${arch} failed:\n${compiled.err}`);
  const env = {
    ...process.env,
    CC: tools.CC,
    CXX: tools.CXX,
    LINK: tools.LINK,
    AR: tools.AR,
    CXXFLAGS: `-include ${join(COMPAT, 'compat.h')} -I${COMPAT}`,
    LDFLAGS: compatObject,
  };
  const dir = nodedir();
  const args = [nodeGyp(), 'rebuild', `--arch=${arch}`, ...(dir ? [`--nodedir=${dir}`] : [])];
  process.stdout.write(`prebuild: building linux-${arch} with ${tools.CXX} (${tools.version})\n`);
  const r = spawnSync(process.execPath, args, { cwd: stage, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) fail(`node-gyp failed for linux-${arch}:\n${r.stdout}\n${r.stderr}`);
  const built = join(stage, 'build', 'Release', 'pagewise.node');

  if (elfMachine(built) !== TARGETS[arch].machine) fail(`${built} is not a linux-${arch} binary`);
  const past = symbolsPastBaseline(built);
  if (past.length > 0) {
    fail(
      `the linux-${arch} addon needs symbols newer than the baseline ` +
        `(GLIBC_${BASELINE.GLIBC}, GLIBCXX_${BASELINE.GLIBCXX}, CXXABI_${BASELINE.CXXABI}):\n  ${past.join('\n  ')}\n` +
        'bind them to older versions in scripts/glibc-baseline/ or avoid them in native/',
    );
  }
  mkdirSync(dirname(out), { recursive: true });
  // Debug sections only cost install size; the dynamic symbols stay.
  const strip = run(`${process.arch === arch ? '' : `${TARGETS[arch].triple}-`}strip`, ['--strip-debug', '-o', out, built]);
  if (!strip.ok) copyFileSync(built, out);
  writeFileSync(stampFile, stamp);
  process.stdout.write(`prebuild: ${out.slice(ROOT.length + 1)} (${statSync(out).size} bytes)\n`);
  return out;
}

function main(argv) {
  if (process.platform !== 'linux' || !(process.arch in TARGETS)) {
    fail(`prebuilds are made on linux-x64 or linux-arm64, not ${process.platform}-${process.arch}`);
  }
  const force = argv.includes('--force');
  const asked = argv.flatMap((a, i) => (argv[i - 1] === '--arch' ? [a] : []));
  for (const arch of asked) if (!(arch in TARGETS)) fail(`unknown --arch ${arch} (x64 or arm64)`);
  for (const arch of asked.length ? asked : Object.keys(TARGETS)) build(arch, force);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
