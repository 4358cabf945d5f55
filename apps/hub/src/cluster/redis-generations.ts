/**
 * Device generations (see `device-generations.ts`) kept in Redis, one key per device, next to the
 * cluster's other state (same hash tag, so one Redis Cluster slot). Redis hands them out one at a time,
 * so they order a device's connections across instances whatever the instances' clocks say.
 */
import type { Logger } from 'pino';
import { type DeviceGenerations, LocalGenerations } from './device-generations.js';
import type { InstanceLease } from './instance-lease.js';
import type { RedisClient } from './redis-client.js';

/**
 * How long a device's last generation is kept after its last connection. A generation is never below
 * the clock (epoch ms) when it is taken, so one taken after the key expired is newer than any before it
 * (unless the instances' clocks differ by more than this); the keys of deleted or silent devices go.
 */
const KEEP_MS = 24 * 60 * 60 * 1000;

/**
 * Atomically: one more than the device's last generation, but not below ARGV[1] (the instance's clock,
 * epoch ms), so that generations given out during an outage (below) are passed once Redis is back.
 * Epoch ms have 13 digits: Lua's number-to-string conversion (14 significant digits) keeps them exact.
 */
const NEXT = `
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local next = tonumber(ARGV[1])
if next <= last then next = last + 1 end
redis.call('SET', KEYS[1], next, 'PX', ARGV[2])
return next`;

export class RedisGenerations implements DeviceGenerations {
  readonly #keyPrefix: string;
  /**
   * Stands in while Redis is unreachable, so the hub keeps serving its own connections: generations of
   * this instance's counter and clock. They still order the connections that stay on this instance, and
   * they order a connection of the outage against the cluster's generations only as well as the two
   * instances' clocks agree (to the millisecond, at the moments the device moved).
   */
  readonly #fallback = new LocalGenerations();
  #lastWarning = 0;

  constructor(
    private readonly redis: RedisClient,
    lease: InstanceLease,
    private readonly logger: Logger,
  ) {
    this.#keyPrefix = `${lease.keyPrefix}:generation:`;
  }

  async next(deviceId: string): Promise<number> {
    // Not ready: a command would wait for a reconnection attempt, holding up the handshake.
    if (this.redis.status !== 'ready') return this.#fallback.take();
    try {
      const key = this.#keyPrefix + deviceId;
      const generation = Number(await this.redis.eval(NEXT, 1, key, String(Date.now()), String(KEEP_MS)));
      this.#fallback.note(generation);
      return generation;
    } catch (error) {
      // At most one line per few seconds: a fleet reconnecting during an outage must not flood the log.
      const now = Date.now();
      if (now - this.#lastWarning >= 5000) {
        this.#lastWarning = now;
        this.logger.warn({ err: (error as Error).message }, 'taking a device generation failed');
      }
      return this.#fallback.take();
    }
  }
}
