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

/** `token:<id>`, `device:<id>`, `session:<id>` → the control event that closes what they affect. */
export function revocationEvent(payload: string): ControlEvent | undefined {
  const at = payload.indexOf(':');
  const kind = payload.slice(0, at);
  const id = payload.slice(at + 1);
  if (at <= 0 || id.length === 0) return undefined;
  if (kind === 'token') return { type: 'token-invalidated', tokenId: id };
  if (kind === 'device') return { type: 'device-removed', deviceId: id };
  if (kind === 'session') return { type: 'session-ended', sessionId: id };
  return undefined;
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
      else logger.warn({ payload }, 'unrecognised credentials notification ignored');
    },
    resync,
  );
}
