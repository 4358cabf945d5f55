/**
 * Retained messages shared by a cluster: each instance serves `sub` from its own copy (filled as the
 * bus delivers retained messages), and writes through to a Redis hash that a newly started instance
 * loads, so it knows the presence of devices that connected before it did.
 */
import type { Logger } from 'pino';
import type { BusMessage } from '../bus/bus.js';
import { connectRedis, createRedis, type RedisClient, type RedisTarget } from '../cluster/redis-client.js';
import { MemoryRetainedStore, type RetainedStore } from './retained-store.js';

export class RedisRetainedStore implements RetainedStore {
  readonly #local = new MemoryRetainedStore();

  private constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly logger: Logger,
  ) {}

  static async connect(target: RedisTarget, prefix: string, logger: Logger): Promise<RedisRetainedStore> {
    const redis = createRedis(target, logger, 'retained store', 'commands');
    await connectRedis(redis, 'retained store');
    const store = new RedisRetainedStore(redis, `{${prefix}}:retained`, logger);
    for (const text of Object.values(await redis.hgetall(store.key))) {
      store.#local.set(JSON.parse(text) as BusMessage);
    }
    return store;
  }

  set(message: BusMessage): boolean {
    if (!this.#local.set(message)) return false;
    const write =
      message.payload === null
        ? this.redis.hdel(this.key, message.topic)
        : this.redis.hset(this.key, message.topic, JSON.stringify(message));
    write.catch((error: Error) =>
      this.logger.warn({ err: error.message }, 'storing a retained message failed'),
    );
    return true;
  }

  matching(filter: string): BusMessage[] {
    return this.#local.matching(filter);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => {});
  }
}
