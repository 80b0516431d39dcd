/**
 * pagewise: map-reduce over files larger than RAM on every core of one machine.
 */
export { mapReduce, runJob, planJob, type RunReport, type RunStats } from './run/pipeline.js';
export { shutdown } from './run/pool.js';
export { describePlan, type RunPlan, type ExecutorName } from './plan/plan.js';
export type { PlannedInput, InputKind } from './plan/inputs.js';
export { defineJob, loadJob, type JobRef } from './job.js';
export { MappedFile } from './mapped-file.js';
export { parseSize, formatBytes, type MapReduceOptions, type ClusterOptions, type ClusterWorkerOptions } from './options.js';
export { clusterWorker, type ClusterWorker } from './cluster/worker.js';
export type { ClusterReport } from './run/executors/executor.js';
export { planChunks, resolveChunk, resolveCut, chunkCount, autoChunkSize, bufferFinder, type ChunkRange, type ByteFinder } from './plan/chunks.js';
export { builtinJobs } from './jobs/index.js';
export { memoryBudget, cgroupMemoryLimit, type MemoryBudget } from './memory.js';
export { PAGE_SIZE } from './native.js';
export * from './errors.js';
export type * from './types.js';
