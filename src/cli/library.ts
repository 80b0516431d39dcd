/**
 * What the commands use of the library, loaded on a command's first use.
 * Lighter than the package's index: the keyed, cluster, CSV-helper, index
 * and output modules load only when a run needs them, which is start-up
 * time every command would otherwise pay.
 */
export { runJob, planJob } from '../run/pipeline.js';
export { describePlan } from '../plan/plan.js';
export { shutdown } from '../run/shutdown.js';
export { builtinJobs } from '../jobs/index.js';
export { PAGE_SIZE, guardSignals, signalSeen } from '../native.js';
