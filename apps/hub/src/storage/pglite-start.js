// @ts-check
/**
 * Starting PGlite the hub's way, shared by the two places it runs: the embedded database's thread
 * (pglite-worker.js) and the short-lived process that creates a new database (pglite-create.js).
 * Plain JavaScript for the same reason as they are: it loads without a TypeScript loader.
 */
import { setFlagsFromString } from 'node:v8';

/**
 * Starts PostgreSQL in `dataDir` (in memory when undefined) with `settings` (`name=value`) added to
 * PGlite's start parameters, and resolves once it answers. A start that fails rejects with PostgreSQL's
 * last words on stderr ("could not access …", "incompatible …") appended to PGlite's message.
 * @param {string | undefined} dataDir
 * @param {readonly string[]} settings
 * @returns {Promise<import('@electric-sql/pglite').PGlite>}
 */
export async function startPglite(dataDir, settings) {
  // Baseline (Liftoff) code only: TurboFan's optimised copy of PostgreSQL costs ~30 MB of resident memory
  // and, on a small machine, compiles on the cores the hub needs, for no measured gain in insert throughput
  // (bench/embedded.ts). The flag is process-wide but only WebAssembly compiled from now on reads it, and
  // PGlite is the hub's only large module. Set before PGlite is imported, which compiles it.
  setFlagsFromString('--liftoff-only');
  const { PGlite } = await import('@electric-sql/pglite');
  /** @type {string[]} */
  const stderr = [];
  try {
    const pg = new PGlite({
      dataDir,
      startParams: [...PGlite.defaultStartParams, ...settings.flatMap((s) => ['-c', s])],
      onStderr: (text) => {
        stderr.push(text.trim());
        if (stderr.length > 3) stderr.shift();
        return false;
      },
    });
    await pg.waitReady;
    return pg;
  } catch (error) {
    // Mutated rather than wrapped: the caller reports PostgreSQL's fields (code, detail) along with it.
    const failure = error instanceof Error ? error : new Error(String(error));
    if (stderr.length > 0) failure.message += ` (${stderr.join('; ')})`;
    throw failure;
  }
}
