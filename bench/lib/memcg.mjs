// Child memory cgroups for benchmarks: make one under this process's own memory
// cgroup (v1 or v2) with a limit, run a command inside it from its first
// instruction, read its peak charge, remove it. No dependencies.
//
// v1: <mount>/memory/<own path>/<name>: memory.limit_in_bytes, memory.max_usage_in_bytes,
//     memory.usage_in_bytes, memory.failcnt.
// v2: /sys/fs/cgroup/<own path>/<name>: memory.max, memory.peak (kernel >= 5.19),
//     memory.current, memory.events ("max" count).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const readText = (file) => readFileSync(file, 'utf8').trim();
const readNum = (file) => {
  try {
    const n = Number(readText(file));
    return Number.isFinite(n) ? n : NaN;
  } catch {
    return NaN;
  }
};

/** Where the memory controller's hierarchies are mounted (v1 "memory", v2 "cgroup2"), from /proc/self/mountinfo. */
function mounts() {
  const out = { v1: undefined, v2: undefined };
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [pre, post] = line.split(' - ');
      if (!post) continue;
      const mountPoint = pre.split(' ')[4];
      const [fstype, , superOpts = ''] = post.split(' ');
      if (fstype === 'cgroup' && superOpts.split(',').includes('memory')) out.v1 ??= mountPoint;
      if (fstype === 'cgroup2') out.v2 ??= mountPoint;
    }
  } catch {}
  out.v1 ??= existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes') ? '/sys/fs/cgroup/memory' : undefined;
  out.v2 ??= existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : undefined;
  return out;
}

/** This process's own memory cgroup: { version, dir } candidates, v1 first. */
export function ownMemoryCgroups() {
  let lines = [];
  try {
    lines = readText('/proc/self/cgroup').split('\n');
  } catch {}
  const m = mounts();
  const found = [];
  const v1 = lines.map((l) => l.split(':')).find(([, controllers]) => controllers?.split(',').includes('memory'));
  if (v1 && m.v1) found.push({ version: 1, dir: join(m.v1, v1.slice(2).join(':')) });
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (v2 && m.v2 && existsSync(join(m.v2, 'cgroup.controllers'))) found.push({ version: 2, dir: join(m.v2, v2.slice(3)) });
  return found;
}

/**
 * Makes a child memory cgroup limited to `limit` bytes under this process's
 * own. Returns the cgroup, or { error } saying why none could be made.
 */
export function makeChildCgroup(limit, name) {
  const reasons = [];
  for (const own of ownMemoryCgroups()) {
    const dir = join(own.dir, name);
    try {
      if (own.version === 2) {
        const enabled = readText(join(own.dir, 'cgroup.subtree_control')).split(/\s+/);
        if (!enabled.includes('memory')) writeFileSync(join(own.dir, 'cgroup.subtree_control'), '+memory');
      }
      mkdirSync(dir);
      try {
        if (own.version === 1) {
          writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limit));
        } else {
          writeFileSync(join(dir, 'memory.max'), String(limit));
          if (!existsSync(join(dir, 'memory.peak'))) throw new Error('no memory.peak (kernel older than 5.19)');
        }
      } catch (error) {
        rmdirSync(dir);
        throw error;
      }
      return cgroupHandle(own.version, dir, limit);
    } catch (error) {
      reasons.push(`cgroup v${own.version}: cannot make ${dir} with a memory limit (${error.code ?? error.message})`);
    }
  }
  if (reasons.length === 0) reasons.push('this process is in no memory cgroup that can be found');
  return { error: reasons.join('; ') };
}

function cgroupHandle(version, dir, limit) {
  const f = (name) => join(dir, name);
  return {
    version,
    dir,
    limit,
    /** Highest charge since creation (bytes). */
    peak: () => readNum(f(version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak')),
    /** Charge now (bytes): after the child exits, the page cache still charged here. */
    current: () => readNum(f(version === 1 ? 'memory.usage_in_bytes' : 'memory.current')),
    /** How often the limit was hit (v1 failcnt, v2 memory.events max). */
    limitHits: () => {
      if (version === 1) return readNum(f('memory.failcnt'));
      try {
        return Number(/^max (\d+)$/m.exec(readText(f('memory.events')))?.[1] ?? NaN);
      } catch {
        return NaN;
      }
    },
    /** Page cache / anonymous split of the charge now, from memory.stat. */
    stat: () => {
      const out = {};
      try {
        for (const line of readText(f('memory.stat')).split('\n')) {
          const [k, v] = line.split(' ');
          out[k] = Number(v);
        }
      } catch {}
      return out;
    },
    remove: () => removeCgroup(dir),
    procsFile: f('cgroup.procs'),
  };
}

/** Removes a cgroup once its last process has been reaped (retries for ~2 s). */
export function removeCgroup(dir) {
  for (let i = 0; i < 100; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      if (error.code === 'ENOENT') return;
      spawnSync('sleep', ['0.02']);
    }
  }
  rmdirSync(dir);
}

/**
 * Runs `cmd args` as a child process, inside `cg` from its first instruction
 * when a cgroup is given (sh writes its own pid to cgroup.procs, then execs
 * the command). Resolves { code, signal, stdout, stderr, seconds }.
 */
export function runCommand(cg, cmd, args, { env = process.env, timeoutMs = 30 * 60_000, discardStdout = false } = {}) {
  const argv = cg ? ['sh', ['-c', 'echo $$ > "$0" && exec "$@"', cg.procsFile, cmd, ...args]] : [cmd, args];
  const t0 = performance.now();
  const child = spawn(argv[0], argv[1], { stdio: ['ignore', discardStdout ? 'ignore' : 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  // Keep at most the last 4 MiB of each stream: a runaway command must not exhaust this process.
  const keep = (s, d) => (s.length + d.length > 4 << 20 ? (s + d).slice(-(4 << 20)) : s + d);
  child.stdout?.setEncoding('utf8').on('data', (d) => (stdout = keep(stdout, d)));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr = keep(stderr, d)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, seconds: (performance.now() - t0) / 1000 });
    });
  });
}
