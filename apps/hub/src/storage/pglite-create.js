// @ts-check
/**
 * Creates a new embedded database (initdb) and exits: `node pglite-create.js <dataDir> [name=value …]`.
 * It runs as a process of its own, not a thread, because a thread's memory does not leave with it: the
 * C allocator keeps the arena a thread used (initdb's output passing through JavaScript fills ~64 MB
 * of it) for the process's lifetime, and the hub would hold it for good. A process gives it all back.
 * A failure is reported to the parent over IPC as PostgreSQL's reason, with exit code 1.
 */
import { startPglite } from './pglite-start.js';

const [dataDir, ...settings] = process.argv.slice(2);
let done = false;
// A hub that ended (killed meanwhile) takes its creation with it: the half-made database is never used
// (it is renamed into place only on success), and a later start must not find this process still at it.
process.on('disconnect', () => {
  if (!done) process.exit(1);
});
try {
  const pg = await startPglite(dataDir, settings);
  // Closing shuts PostgreSQL down cleanly: the new database is on disk, checkpointed, when this exits.
  await pg.close();
  done = true;
} catch (error) {
  done = true;
  process.exitCode = 1;
  process.send?.({ message: error instanceof Error ? error.message : String(error) });
}
process.disconnect?.();
