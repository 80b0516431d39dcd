/**
 * Piscina's entry point, in CommonJS on purpose. Piscina loads a worker file
 * with require() first; on Node 20.19+ require() of an ES module loads it
 * synchronously, and a worker terminated in the middle of that (a failed or
 * aborted run stops its pool) aborts the whole process ("v8::Module::
 * IsGraphAsync must be used on an instantiated module"). This file exports a
 * promise of the handler, so the ES module is loaded by import() instead,
 * which a termination merely interrupts.
 */
export = import('./map-worker.js').then((m) => m.default);
