/**
 * Liveness (SPEC "Liveness"): one timer pings every connection each interval; a connection that has
 * left 3 pings in a row unanswered is terminated. The same tick re-checks slow consumers, whose clock
 * otherwise only advances when something is sent to them.
 */
import type { ConnectionRegistry } from './registry.js';

export const MAX_MISSED_PONGS = 3;

export class Heartbeat {
  readonly #timer: NodeJS.Timeout;

  constructor(registry: ConnectionRegistry, intervalSec: number) {
    this.#timer = setInterval(() => {
      for (const connection of registry.all()) {
        if (connection.missedPongs >= MAX_MISSED_PONGS) {
          connection.log.info({ missedPongs: connection.missedPongs }, 'no pong: terminating');
          connection.socket.terminate();
          continue;
        }
        connection.missedPongs++;
        connection.socket.ping();
        connection.checkBacklog();
      }
    }, intervalSec * 1000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
