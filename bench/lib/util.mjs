// Small helpers for the benchmark harness: statistics, formatting, timing a
// whole command, the machine's description. No dependencies.
import { spawnSync } from 'node:child_process';
import { readFileSync, openSync, readSync, closeSync, existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

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

const GNU_TIME = '/usr/bin/time';
let gnuTimeWorks;
let rssFile;
/** Where GNU time writes %M: one scratch file of this process in os.tmpdir(), removed at exit. */
function rssPath() {
  if (!rssFile) {
    rssFile = join(os.tmpdir(), `pagewise-bench-rss-${process.pid}`);
    process.on('exit', () => rmSync(rssFile, { force: true }));
  }
  return rssFile;
}

/** The peak RSS in bytes from GNU time's -o file (its last line; a failed command's status line comes first), or NaN. */
function readRss(path) {
  try {
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const kb = Number(lines[lines.length - 1]);
    return { bytes: Number.isFinite(kb) && lines[lines.length - 1] !== '' ? kb * 1024 : NaN, signal: /terminated by signal (\d+)/.exec(lines[0])?.[1] };
  } catch {
    return { bytes: NaN };
  } finally {
    rmSync(path, { force: true });
  }
}

/**
 * True when /usr/bin/time runs commands and writes their peak RSS with
 * `-f %M -o FILE` (GNU time; a BusyBox or missing one gives NaN, not a crash).
 */
export function hasGnuTime(recheck = false) {
  if (gnuTimeWorks === undefined || recheck) {
    gnuTimeWorks = false;
    if (existsSync(GNU_TIME)) {
      const r = spawnSync(GNU_TIME, ['-f', '%M', '-o', rssPath(), 'true'], { stdio: 'ignore' });
      gnuTimeWorks = r.status === 0 && Number.isFinite(readRss(rssPath()).bytes);
    }
  }
  return gnuTimeWorks;
}

/**
 * Runs a whole command with spawnSync and times it with performance.now().
 * With GNU time it runs as `/usr/bin/time -f %M -o FILE cmd args...`: the
 * clock then also covers time's own exec and wait, and `maxRssBytes` is the
 * largest RSS of the command or of any child it waited for (not their sum).
 * `rss: false` runs the command bare (to measure what time itself costs).
 * Returns { seconds, cpuSeconds, steal, maxRssBytes, status, stdout, stderr, error }.
 */
export function timeCommand(cmd, args, { env, cwd, okStatus = [0], timeoutMs = 30 * 60_000, rss = true } = {}) {
  const viaTime = rss && hasGnuTime();
  const cpu0 = childrenCpuSeconds();
  const steal0 = stealSeconds();
  const t0 = performance.now();
  const r = spawnSync(viaTime ? GNU_TIME : cmd, viaTime ? ['-f', '%M', '-o', rssPath(), cmd, ...args] : args, {
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
  const peak = viaTime ? readRss(rssPath()) : { bytes: NaN };
  // Through time, a signal that ends the command shows as exit status 128 + N.
  const signal = r.signal ?? (peak.signal ? Object.keys(os.constants.signals).find((k) => os.constants.signals[k] === Number(peak.signal)) ?? `signal ${peak.signal}` : null);
  let error;
  if (r.error) error = `${cmd}: ${r.error.code ?? r.error.message}`;
  else if (signal) error = `${cmd} killed by ${signal}`;
  else if (!okStatus.includes(r.status)) error = `${cmd} exited ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`;
  return { seconds, cpuSeconds, steal, maxRssBytes: peak.bytes, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error };
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
