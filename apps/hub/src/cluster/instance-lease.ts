/**
 * This hub instance's lease in Redis: a key that expires unless refreshed. What the instance holds on
 * behalf of its connections (connection slots, device presence) counts only while its lease lives, so
 * an instance killed without cleaning up (SIGKILL, power loss) gives it all back within `LEASE_TTL_MS`
 * plus one sweep.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { RedisClient } from './redis-client.js';

export const LEASE_TTL_MS = 15_000;
const LEASE_REFRESH_MS = 5_000;

export class InstanceLease {
  readonly id = randomBytes(8).toString('hex');
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    /** Hash-tagged prefix (`{prefix}`): every cluster-state key lives in one Redis Cluster slot. */
    readonly keyPrefix: string,
    private readonly logger: Logger,
  ) {
    this.#timer = setInterval(() => void this.refresh(), LEASE_REFRESH_MS);
    this.#timer.unref();
  }

  /** Prefix of every instance's lease key; the owner's id follows. */
  get leasePrefix(): string {
    return `${this.keyPrefix}:alive:`;
  }

  async refresh(): Promise<void> {
    await this.redis
      .set(`${this.leasePrefix}${this.id}`, '1', 'PX', LEASE_TTL_MS)
      .catch((error: Error) => this.logger.warn({ err: error.message }, 'redis lease refresh failed'));
  }

  async release(): Promise<void> {
    clearInterval(this.#timer);
    await this.redis.del(`${this.leasePrefix}${this.id}`).catch(() => {});
  }
}
