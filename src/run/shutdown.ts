/**
 * `shutdown()`, apart from the pool module so that the library's declarations
 * do not pull in Piscina's (and through them Node's) types.
 */

/** Stops every cached worker pool (pagewise starts new ones when needed). */
export async function shutdown(): Promise<void> {
  const { shutdownPools } = await import('./pool.js');
  await shutdownPools();
}
