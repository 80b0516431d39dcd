/**
 * `pagewise info`: what this process sees (for bug reports and for checking
 * a setup): versions, page size, which byte kernels run, the memory budget,
 * and libuv's threadpool as configured and as measured (native kernels read
 * with one pool thread each). Without the addon it still prints the rest,
 * and says why the addon did not load.
 */
import { availableParallelism, release } from 'node:os';
import { readFileSync } from 'node:fs';
import { memoryBudget } from '../memory.js';
import { formatBytes } from './format.js';
import type { Context } from './main.js';

interface NativeInfo {
  pageSize: number;
  kernels: string;
  threadpool: { configured: number; running: number };
  /** Why the addon did not load (the JavaScript fallback runs instead). */
  addon?: string;
}

async function nativeInfo(): Promise<NativeInfo | { error: string }> {
  try {
    // Not in the public index: the addon (or its fallback) itself, and the plan's reading of UV_THREADPOOL_SIZE.
    const [{ native, nativeLoadError }, { threadpoolSize }] = await Promise.all([import('../native.js'), import('../plan/plan.js')]);
    const configured = threadpoolSize();
    let running = 0;
    try {
      running = await native.threadpoolConcurrency(configured, 250);
    } catch {
      // The JavaScript fallback has no threadpool probe.
    }
    const info: NativeInfo = { pageSize: native.pageSize(), kernels: native.kernelFlavor(), threadpool: { configured, running } };
    if (nativeLoadError) info.addon = `${nativeLoadError.message} (${nativeLoadError.code})`;
    return info;
  } catch (error) {
    return { error: `${(error as Error).message} (${(error as { code?: string }).code ?? 'ERR_PAGEWISE_NO_ADDON'})` };
  }
}

export default async function info(ctx: Context): Promise<void> {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const addon = await nativeInfo();
  const report = {
    pagewise: pkg.version,
    node: process.version,
    napi: process.versions.napi,
    platform: `${process.platform} ${release()} ${process.arch}`,
    cores: availableParallelism(),
    memoryBudget: memoryBudget(),
    ...('error' in addon ? { addon: addon.error } : addon),
  };
  if (ctx.values.json) {
    ctx.out.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const pool = process.env.UV_THREADPOOL_SIZE ?? 'unset';
  ctx.out.write(
    [
      `pagewise      ${report.pagewise} (Node ${report.node}, Node-API ${report.napi})`,
      `platform      ${report.platform}, ${report.cores} cores${'error' in addon ? '' : `, page size ${addon.pageSize} B`}`,
      `byte kernels  ${'error' in addon ? `unavailable: ${addon.error}` : addon.addon ? `${addon.kernels}: ${addon.addon}` : addon.kernels}`,
      `memory budget ${formatBytes(report.memoryBudget.bytes)} (${report.memoryBudget.source})`,
      'error' in addon
        ? `threadpool    UV_THREADPOOL_SIZE ${pool}`
        : `threadpool    ${addon.threadpool.running} threads running at once (UV_THREADPOOL_SIZE ${pool}: ${addon.threadpool.configured})`,
    ].join('\n') + '\n',
  );
}
