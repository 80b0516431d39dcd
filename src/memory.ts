/**
 * How much memory this process may fill with page cache before it hurts: the
 * smaller of physical memory and the memory cgroup limit of the cgroup this
 * process is in (v1 `memory.limit_in_bytes` or v2 `memory.max`, walking up to
 * the root since a parent's limit binds too).
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';

export interface MemoryBudget {
  bytes: number;
  source: 'physical memory' | 'cgroup v1 memory.limit_in_bytes' | 'cgroup v2 memory.max' | 'options.memoryBudget';
  /** The cgroup directory whose limit applies, when one does. */
  cgroup?: string;
}

function readNumber(file: string): number | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    if (text === 'max') return undefined;
    const n = Number(text);
    // v1 reports "no limit" as a huge page-rounded number near 2^63.
    return Number.isFinite(n) && n > 0 && n < 2 ** 60 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The limit of the tightest memory cgroup above this process, if any. */
export function cgroupMemoryLimit(procCgroup = '/proc/self/cgroup', root = '/sys/fs/cgroup'): { bytes: number; version: 1 | 2; dir: string } | undefined {
  let lines: string[];
  try {
    lines = readFileSync(procCgroup, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  let best: { bytes: number; version: 1 | 2; dir: string } | undefined;
  const consider = (base: string, rel: string, file: string, version: 1 | 2): void => {
    let path = rel;
    for (;;) {
      const dir = join(base, path);
      const bytes = readNumber(join(dir, file));
      if (bytes !== undefined && (best === undefined || bytes < best.bytes)) best = { bytes, version, dir };
      if (path === '/' || path === '') break;
      path = path.slice(0, path.lastIndexOf('/')) || '/';
    }
  };
  for (const line of lines) {
    const [, controllers, rel] = line.split(':');
    if (rel === undefined) continue;
    if (controllers === '' && line.startsWith('0::')) consider(root, rel, 'memory.max', 2);
    else if (controllers.split(',').includes('memory')) consider(join(root, 'memory'), rel, 'memory.limit_in_bytes', 1);
  }
  return best;
}

/** The last budget found, and when (performance.now()). */
let lastBudget: { budget: MemoryBudget; at: number } | undefined;

/**
 * The memory budget `release: 'auto'` compares file sizes with. Reused for a second:
 * a command over many small files plans a run per file, and the cgroup walk reads a
 * file per level.
 */
export function memoryBudget(override?: number): MemoryBudget {
  if (override !== undefined) return { bytes: override, source: 'options.memoryBudget' };
  const now = performance.now();
  if (lastBudget !== undefined && now - lastBudget.at < 1000) return { ...lastBudget.budget };
  const budget = findMemoryBudget();
  lastBudget = { budget, at: now };
  return { ...budget };
}

function findMemoryBudget(): MemoryBudget {
  const physical = totalmem();
  const cgroup = cgroupMemoryLimit();
  if (cgroup && cgroup.bytes < physical) {
    return { bytes: cgroup.bytes, source: cgroup.version === 1 ? 'cgroup v1 memory.limit_in_bytes' : 'cgroup v2 memory.max', cgroup: cgroup.dir };
  }
  return { bytes: physical, source: 'physical memory' };
}
