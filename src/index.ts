/**
 * pagewise: map-reduce over files larger than RAM on every core of one machine.
 */
export { mapReduce, runJob, runJobStream, planJob, type RunReport, type RunStats, type JobStream } from './run/pipeline.js';
export { AtomicFile, writeFileAtomic, removeStaleTemporaries, staleTemporaries, temporaryPrefix, type AtomicFileOptions } from './output/atomic.js';
export { shutdown } from './run/shutdown.js';
export { describePlan, type RunPlan, type ExecutorName } from './plan/plan.js';
export type { PlannedInput, InputKind } from './plan/inputs.js';
export { defineJob, jobRef, loadJob, isKeyedJob, type JobRef } from './job.js';
export { runFreq, formatFreqRows, type FreqRequest } from './keyed/freq-command.js';
export { staleRunDirs, removeStaleRunDirs, RUN_DIR_PREFIX } from './keyed/tempdir.js';
export { MappedFile, type OpenOptions, type CreateOptions } from './mapped-file.js';
export { RecordIndex, buildIndex, comparePrefix, type RecordIndexOptions, type BuildIndexOptions } from './output/record-index.js';
export { parseSize, formatBytes, type MapReduceOptions, type ClusterOptions, type ClusterWorkerOptions } from './options.js';
export { clusterWorker, type ClusterWorker } from './cluster/worker.js';
export { planChunks, resolveChunk, resolveCut, chunkCount, autoChunkSize, bufferFinder, type ChunkRange, type ByteFinder } from './plan/chunks.js';
export { builtinJobs } from './jobs/index.js';
export type { WcCounts, WcParams } from './jobs/wc.js';
export type { GrepAcc, GrepParams } from './jobs/grep.js';
export type { StatsAcc, StatsParams, StatsRow } from './jobs/stats.js';
export type { FreqAcc, FreqParams, FreqRow } from './jobs/freq.js';
export type { IndexAcc, IndexParams } from './jobs/index-records.js';
export { csvFields, csvColumns, CsvFields, type CsvFieldOptions } from './csv/fields.js';
export { memoryBudget, cgroupMemoryLimit, type MemoryBudget } from './memory.js';
export { PAGE_SIZE } from './native.js';
export * from './errors.js';
export type * from './types.js';
