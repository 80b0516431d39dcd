/**
 * The seam to writable mappings (`inPlace`): the input mapped MAP_SHARED
 * read-write, views that write the file, and msync per chunk, through the
 * addon's `open(path, true)` and `flush` (what `MappedFile.open(path, {
 * write: true })` uses). This module is the only place the run asks the
 * addon for them, and `writableMappings` says whether this process has them
 * (the JS fallback has no mappings: `inPlace` is then refused, never written
 * nowhere).
 */
import { ErrorCodes, PagewiseError, toPagewiseError } from '../errors.js';
import { native, nativeAvailable, type MappingInfo } from '../native.js';
import type { FileRef } from '../run/messages.js';

const binding = native as unknown as { open(path: string, write?: boolean): MappingInfo & { writable?: boolean }; flush?: (id: number, offset: number, length: number) => void };

/** Whether the addon can map files writable (and flush them). */
export const writableMappings: boolean = nativeAvailable && typeof binding.flush === 'function';

/** ERR_PAGEWISE_UNSUPPORTED when this build has no writable mappings. */
export function checkWritableMappings(): void {
  if (!writableMappings) {
    throw new PagewiseError(ErrorCodes.UNSUPPORTED, 'inPlace needs writable mappings, which this build of the addon lacks (MappedFile.open(path, { write: true }))', {
      option: 'options.inPlace',
    });
  }
}

/** Maps `path` read-write, on its own (never shared with read-only handles). */
export function openWritable(path: string): MappingInfo {
  checkWritableMappings();
  const info = binding.open(path, true);
  if (info.writable === false) {
    throw new PagewiseError(ErrorCodes.UNSUPPORTED, `'${path}' was mapped read-only although a writable mapping was asked for`, { path });
  }
  return info;
}

/**
 * msync(MS_SYNC) of the pages covering [offset, offset + length) of a file
 * written in place. After an error, take what the range held as lost (Linux
 * may drop dirty pages it failed to write back; a later msync can succeed
 * without them): the run fails with the error.
 */
export function flushWritable(file: FileRef, offset: number, length: number): void {
  if (length <= 0) return;
  try {
    binding.flush!(file.mappingId, offset, length);
  } catch (error) {
    const e = toPagewiseError(error);
    if (e.path === undefined) e.path = file.path;
    throw e;
  }
}
