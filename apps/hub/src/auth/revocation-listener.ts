/**
 * Revocation that nothing bypasses: the database announces every change to tokens, permissions,
 * devices and operator sessions (triggers of migration 0003, `NOTIFY edgewire_credentials`), whoever
 * made it — this hub, another instance, the CLI, or SQL typed into psql. Every hub listens and closes
 * the affected live connections itself, so no instance depends on another to hear of it.
 */
import type { Logger } from 'pino';
import type { ControlEvent } from '../bus/bus.js';
import type { Database } from '../storage/database.js';
import { CREDENTIALS_CHANNEL } from '../storage/migrations/0003_operators.js';

/**
 * `token:<id>:<version>`, `session:<id>` → the control event that closes what they affect; `null` for
 * what needs nothing: the bare `token:<id>` still sent for hubs of earlier releases (migration 0006),
 * which always comes with its versioned twin, and `device:<id>`, as a deleted device's tokens announce
 * their own deletion (by device id, heard late, it would close a device re-created with that id).
 */
export function revocationEvent(payload: string): ControlEvent | null | undefined {
  const at = payload.indexOf(':');
  const kind = payload.slice(0, at);
  const id = payload.slice(at + 1);
  if (at <= 0 || id.length === 0) return undefined;
  if (kind === 'token') return tokenEvent(id);
  if (kind === 'device') return null;
  if (kind === 'session') return { type: 'session-ended', sessionId: id };
  return undefined;
}

const VERSIONED_TOKEN = /^([^:]+):(\d{1,15})$/;

function tokenEvent(idAndVersion: string): ControlEvent | null | undefined {
  if (!idAndVersion.includes(':')) return null;
  const versioned = VERSIONED_TOKEN.exec(idAndVersion);
  if (!versioned) return undefined;
  return { type: 'token-invalidated', tokenId: versioned[1]!, version: Number(versioned[2]) };
}

/**
 * Listens until the returned function is called. `apply` gets each event; `resync` runs whenever
 * listening (re)starts, since notifications sent while the connection was down are lost.
 */
export function listenForRevocations(
  database: Database,
  logger: Logger,
  apply: (event: ControlEvent) => void,
  resync: () => void,
): Promise<() => Promise<void>> {
  return database.listen(
    CREDENTIALS_CHANNEL,
    (payload) => {
      const event = revocationEvent(payload);
      if (event) apply(event);
      else if (event === undefined) logger.warn({ payload }, 'unrecognised credentials notification ignored');
    },
    resync,
  );
}
