// Small helpers for the benchmark harness: statistics, formatting, timing a
// whole command, the machine's description. No dependencies.
import { spawnSync } from 'node:child_process';
import { readFileSync, openSync, readSync, closeSync } from 'node:fs';
import os from 'node:os';

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function fmtSeconds(s) {
  if (!Number.isFinite(s)) return '–';
  if (s >= 100) return `${s.toFixed(0)} s`;
  if (s >= 10) return `${s.toFixed(1)} s`;
  if (s >= 1) return `${s.toFixed(2)} s`;
  return `${(s * 1000).toFixed(s >= 0.1 ? 0 : 1)} ms`;
}

export function fmtRate(bytesPerSecond) {
  if (!Number.isFinite(bytesPerSecond)) return '–';
  const g = bytesPerSecond / 1e9;
  return g >= 1 ? `${g.toFixed(2)} GB/s` : `${(bytesPerSecond / 1e6).toFixed(0)} MB/s`;
}

export function fmtBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = n;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(x >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
}

export function fmtRatio(r) {
  if (!Number.isFinite(r)) return '–';
  return r >= 10 ? r.toFixed(1) : r >= 0.1 ? r.toFixed(2) : r.toFixed(3);
}

/** CPU time (user + system, seconds) of this process's waited-for children, from /proc/self/stat. */
function childrenCpuSeconds() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "(comm) ": field 3 is index 0, so cutime (16) and cstime (17) are 13 and 14.
    const ticks = Number(fields[13]) + Number(fields[14]);
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/**
 * Runs a whole command with spawnSync and times it with performance.now().
 * Returns { seconds, cpuSeconds, status, stdout, stderr, error }.
 */
/**
 * CPU time the hypervisor gave to other guests while this machine wanted it
 * (the `steal` column of /proc/stat, all CPUs), in seconds; NaN where unknown.
 */
export function stealSeconds() {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    return Number(cpu[8]) / 100; // cpu user nice system idle iowait irq softirq steal ...
  } catch {
    return NaN;
  }
}

export function timeCommand(cmd, args, { env, cwd, okStatus = [0], timeoutMs = 30 * 60_000 } = {}) {
  const cpu0 = childrenCpuSeconds();
  const steal0 = stealSeconds();
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    env: env ?? process.env,
    cwd,
    encoding: 'utf8',
    maxBuffer: 512 << 20,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = childrenCpuSeconds() - cpu0;
  const steal = stealSeconds() - steal0;
  let error;
  if (r.error) error = `${cmd}: ${r.error.code ?? r.error.message}`;
  else if (r.signal) error = `${cmd} killed by ${r.signal}`;
  else if (!okStatus.includes(r.status)) error = `${cmd} exited ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`;
  return { seconds, cpuSeconds, steal, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error };
}

/** True when `cmd` can be executed (probes with the given args). */
export function hasCommand(cmd, probeArgs = ['--version']) {
  const r = spawnSync(cmd, probeArgs, { stdio: 'ignore' });
  return !r.error;
}

/** Reads a file through to warm the page cache (like cat FILE > /dev/null). */
export function warm(file) {
  const r = spawnSync('cat', [file], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.error || r.status !== 0) {
    // No cat? Read it ourselves.
    const fd = openSync(file, 'r');
    const buf = Buffer.allocUnsafe(8 << 20);
    try {
      while (readSync(fd, buf, 0, buf.length, null) > 0);
    } finally {
      closeSync(fd);
    }
  }
}

export function loadAverage() {
  return os.loadavg().map((x) => x.toFixed(2)).join(' ');
}

/** CPU model, cores, RAM, kernel, Node version, and the peers' versions where known. */
export function machine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  let flags = '';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    cpu = /^model name\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() || cpu;
    flags = /^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '';
  } catch {}
  let distro = '';
  try {
    distro = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {}
  return {
    cpu,
    avx2: /\bavx2\b/.test(flags),
    cores: os.availableParallelism(),
    ramBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    distro,
    node: process.version,
    arch: process.arch,
  };
}

/** First line of `cmd --version`, or undefined. */
export function versionOf(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  if (r.error) return undefined;
  return (r.stdout || r.stderr || '').split('\n').find((l) => l.trim())?.trim();
}

export const colors = process.stderr.isTTY
  ? { red: (s) => `\x1b[1;31m${s}\x1b[0m`, green: (s) => `\x1b[32m${s}\x1b[0m`, yellow: (s) => `\x1b[33m${s}\x1b[0m`, dim: (s) => `\x1b[2m${s}\x1b[0m` }
  : { red: (s) => s, green: (s) => s, yellow: (s) => s, dim: (s) => s };
