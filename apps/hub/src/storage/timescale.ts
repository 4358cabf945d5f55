/**
 * Whether the server can give the hub TimescaleDB, and if not, why not. Enabling the extension runs on
 * a session of its own: a server that has the package but not in `shared_preload_libraries` answers
 * `create extension` with FATAL and ends the session, which must not be the one holding the migration
 * lock (postgres.js then fails every later statement of that session with a TypeError).
 */

/** What the check needs: raw statements on the caller's session, and one on a session of its own. */
export interface TimescaleProbe {
  readonly driver: 'pglite' | 'postgres';
  rows<T extends Record<string, unknown>>(text: string): Promise<T[]>;
  /** Runs `text` outside the caller's session (a pooled connection), so a FATAL ends only that one. */
  isolated(text: string): Promise<void>;
}

export type TimescaleAvailability = { enabled: true } | { enabled: false; reason: string };

const PRELOAD_HINT = 'add timescaledb to shared_preload_libraries in postgresql.conf and restart PostgreSQL';

/** Why the extension cannot be used, from the server's error; never includes connection details. */
function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/must be preloaded/i.test(message))
    return `timescaledb is installed but not preloaded: ${PRELOAD_HINT}`;
  if (/CONNECTION_CLOSED|terminating connection/i.test(message)) {
    return `the server ended the session on create extension timescaledb (usually: not preloaded; ${PRELOAD_HINT})`;
  }
  return `create extension timescaledb failed: ${message.slice(0, 200)}`;
}

async function extensionInstalled(probe: TimescaleProbe): Promise<boolean> {
  const rows = await probe.rows("select 1 from pg_extension where extname = 'timescaledb'");
  return rows.length > 0;
}

/** `shared_preload_libraries` when this role may read it (superuser, pg_read_all_settings); undefined otherwise. */
async function preloadedLibraries(probe: TimescaleProbe): Promise<string | undefined> {
  try {
    const rows = await probe.rows<{ libs: string }>(
      "select current_setting('shared_preload_libraries') as libs",
    );
    return rows[0]?.libs ?? '';
  } catch {
    return undefined;
  }
}

/**
 * Enables TimescaleDB when the server offers it and it is usable; otherwise says why not, in words an
 * operator can act on. Never throws for a server that merely lacks or refuses the extension.
 */
export async function enableTimescale(probe: TimescaleProbe): Promise<TimescaleAvailability> {
  if (probe.driver === 'pglite')
    return { enabled: false, reason: 'the embedded database has no TimescaleDB' };
  if (await extensionInstalled(probe)) return { enabled: true };
  const offered = await probe.rows("select 1 from pg_available_extensions where name = 'timescaledb'");
  if (offered.length === 0) {
    return { enabled: false, reason: 'the server does not offer the timescaledb extension' };
  }
  const libs = await preloadedLibraries(probe);
  if (libs !== undefined && !/(^|[\s,"])timescaledb([\s,"]|$)/.test(libs)) {
    return { enabled: false, reason: `timescaledb is installed but not preloaded: ${PRELOAD_HINT}` };
  }
  try {
    await probe.isolated('create extension if not exists timescaledb');
  } catch (error) {
    // Two hubs may race to create it; only its absence afterwards is a failure.
    if (await extensionInstalled(probe).catch(() => false)) return { enabled: true };
    return { enabled: false, reason: describeFailure(error) };
  }
  return { enabled: true };
}

/** True when `readings` is a hypertable (the extension may be present without the hub having used it). */
export async function readingsIsHypertable(probe: Pick<TimescaleProbe, 'rows'>): Promise<boolean> {
  if (!(await extensionInstalled(probe as TimescaleProbe))) return false;
  const rows = await probe.rows(
    "select 1 from timescaledb_information.hypertables where hypertable_name = 'readings' and hypertable_schema = current_schema()",
  );
  return rows.length > 0;
}
