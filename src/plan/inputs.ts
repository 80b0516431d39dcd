/**
 * Map or read: the one place that decides how each input is read (ripgrep's
 * MmapChoice is the model). A regular file whose size is known and non-zero
 * is mapped (or, with no addon, read with positional reads, in parallel just
 * the same); everything else is read sequentially on the calling thread:
 * stdin, FIFOs, devices given a byte limit, `/dev/null`, and regular files
 * whose size says nothing (0 bytes, or on procfs/sysfs and their kind, which
 * report a size that is not their content's). A mapping that fails later
 * (`mmap` refused) falls back to the sequential read of that file, never to
 * an error, unless `mode: 'mmap'` was asked for.
 */
import { stat, statfs } from 'node:fs/promises';
import { statSync, type Stats } from 'node:fs';
import { ErrorCodes, InvalidOptionError, PagewiseError, toPagewiseError } from '../errors.js';

/** How one input is read. */
export type InputKind = 'map' | 'pread' | 'stream';

/** One input of a run, as planned. */
export interface PlannedInput {
  /** Position in the list of inputs. */
  index: number;
  /** The path as given (`-` is stdin): the name the run reports (`info.file`, errors). */
  path: string;
  /** Where the file is opened when that is not `path` (a cluster worker opens the coordinator's file by its absolute path). */
  openPath?: string;
  kind: InputKind;
  /** Size in bytes (map, pread); undefined when it is only known by reading. */
  size?: number;
  /** A stream from the process's stdin. */
  stdin?: boolean;
  /** A FIFO (read without blocking a thread, so a signal always ends the run). */
  fifo?: boolean;
  /** Why it is read this way (printed by --stats and --explain). */
  reason: string;
}

export interface InputOptions {
  mode: 'auto' | 'mmap' | 'pread' | 'read';
  maxBytes?: number;
  /** Whether the native addon loaded (mapping is possible). */
  canMap: boolean;
}

/**
 * Filesystems whose files report a size that is not their content's (procfs
 * says 0, sysfs 4096): statfs f_type magic numbers from linux/magic.h.
 */
const PSEUDO_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroupfs'],
  [0x63677270, 'cgroup2fs'],
  [0x62656570, 'configfs'],
  [0xcafe4a11, 'bpffs'],
  [0xde5e81e4, 'efivarfs'],
  [0x6165676c, 'pstorefs'],
]);

let devNull: { dev: number; rdev: number } | undefined | null;

function isDevNull(info: Stats): boolean {
  if (devNull === undefined) {
    try {
      const s = statSync('/dev/null');
      devNull = { dev: s.dev, rdev: s.rdev };
    } catch {
      devNull = null;
    }
  }
  return devNull !== null && info.isCharacterDevice() && info.rdev === devNull.rdev;
}

async function pseudoFilesystem(path: string): Promise<string | undefined> {
  try {
    return PSEUDO_FILESYSTEMS.get(Number((await statfs(path)).type));
  } catch {
    return undefined;
  }
}

/** Throws ERR_PAGEWISE_INVALID_OPTION for a path that is not a non-empty string without NUL. */
export function checkInputPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path === '') throw new InvalidOptionError('input', 'a path or a non-empty array of paths', path);
  if (path.includes('\0')) throw new InvalidOptionError('input', 'a path without NUL bytes', path);
}

/**
 * How to read `path`.
 * @throws ENOENT, EACCES, ... (fs-shaped); ERR_PAGEWISE_NOT_REGULAR_FILE for a
 * directory (or a non-file under `mode: 'mmap'`); ERR_PAGEWISE_UNBOUNDED_INPUT
 * for a device without `maxBytes`.
 */
export async function planInput(path: string, index: number, o: InputOptions): Promise<PlannedInput> {
  checkInputPath(path);
  if (path === '-') {
    if (o.mode === 'mmap') throw new PagewiseError(ErrorCodes.NOT_REGULAR_FILE, 'stdin cannot be mapped (mode: mmap)', { path });
    return { index, path, kind: 'stream', stdin: true, reason: 'stdin: read as it arrives' };
  }
  let info: Stats;
  try {
    info = await stat(path);
  } catch (error) {
    throw toPagewiseError(error);
  }
  if (info.isDirectory()) {
    throw new PagewiseError(ErrorCodes.NOT_REGULAR_FILE, `'${path}' is a directory, not a regular file`, { path });
  }
  if (info.isFile()) {
    if (o.mode === 'read') return { index, path, kind: 'stream', reason: "mode: 'read' was asked for: read sequentially" };
    const pseudo = await pseudoFilesystem(path);
    if (o.mode === 'mmap') {
      if (pseudo !== undefined) {
        throw new PagewiseError(ErrorCodes.NOT_REGULAR_FILE, `'${path}' is on ${pseudo}, whose files cannot be mapped by their size (mode: mmap)`, { path });
      }
      if (!o.canMap) throw new PagewiseError(ErrorCodes.NO_ADDON, `'${path}' cannot be mapped: the native addon is not available (mode: mmap)`, { path });
      return { index, path, kind: 'map', size: info.size, reason: "mode: 'mmap' was asked for" };
    }
    if (pseudo !== undefined) {
      return { index, path, kind: 'stream', reason: `on ${pseudo}, whose sizes are not their contents': read sequentially` };
    }
    if (info.size === 0) return { index, path, kind: 'stream', reason: 'size 0 (which some filesystems report for files with content): read sequentially' };
    if (o.mode === 'pread') return { index, path, kind: 'pread', size: info.size, reason: "mode: 'pread' was asked for: positional reads in parallel" };
    if (!o.canMap) return { index, path, kind: 'pread', size: info.size, reason: 'no native addon: positional reads in parallel' };
    return { index, path, kind: 'map', size: info.size, reason: 'regular file: mapped' };
  }
  if (o.mode === 'mmap') throw new PagewiseError(ErrorCodes.NOT_REGULAR_FILE, `'${path}' is not a regular file and cannot be mapped`, { path });
  if (info.isFIFO()) return { index, path, kind: 'stream', fifo: true, reason: 'FIFO: read as it arrives' };
  if (info.isSocket()) return { index, path, kind: 'stream', reason: 'socket: read as it arrives' };
  if (isDevNull(info)) return { index, path, kind: 'stream', reason: '/dev/null: empty' };
  if (info.isCharacterDevice() || info.isBlockDevice()) {
    if (o.maxBytes !== undefined) return { index, path, kind: 'stream', reason: `device: read sequentially, at most ${o.maxBytes} bytes` };
    throw new PagewiseError(
      ErrorCodes.UNBOUNDED_INPUT,
      `'${path}' is a device, which may never end: give a byte limit (maxBytes / --max-bytes) to read from it`,
      { path },
    );
  }
  throw new PagewiseError(ErrorCodes.NOT_REGULAR_FILE, `'${path}' is not a regular file`, { path });
}
