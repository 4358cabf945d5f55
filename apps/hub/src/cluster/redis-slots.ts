/**
 * Connection slots counted across hub instances in Redis. Each instance keeps its own count per token
 * (a hash field), and proves it is alive with a key that expires unless refreshed: the counts of an
 * instance that died without cleaning up stop counting within `ALIVE_TTL_MS`.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ConnectionSlots, ReleaseSlot } from './connection-slots.js';
import { connectRedis, createRedis } from './redis-client.js';

const ALIVE_TTL_MS = 15_000;
const ALIVE_REFRESH_MS = 5_000;

/** Atomically: sum the counts of live instances (dropping dead ones), and take a slot if one is free. */
const RESERVE = `
local fields = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #fields, 2 do
  if redis.call('EXISTS', ARGV[3] .. fields[i]) == 1 then
    total = total + tonumber(fields[i + 1])
  else
    redis.call('HDEL', KEYS[1], fields[i])
  end
end
if total >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return 1`;

const RELEASE = `
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1`;

export class RedisSlots implements ConnectionSlots {
  readonly #instance = randomBytes(8).toString('hex');
  readonly #timer: NodeJS.Timeout;

  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.#timer = setInterval(() => this.#heartbeat(), ALIVE_REFRESH_MS);
    this.#timer.unref();
  }

  static async connect(url: string, prefix: string, logger: Logger): Promise<RedisSlots> {
    const redis = createRedis(url, logger, 'slots', 'commands');
    await connectRedis(redis, 'connection slots');
    const slots = new RedisSlots(redis, prefix, logger);
    await slots.#heartbeat();
    return slots;
  }

  async reserve(tokenId: string, max: number | null): Promise<ReleaseSlot | undefined> {
    // Unlimited tokens need no counting, and no round trip.
    if (max === null) return () => {};
    const key = this.#key(tokenId);
    const taken = await this.redis.eval(
      RESERVE,
      1,
      key,
      this.#instance,
      String(max),
      `${this.prefix}:alive:`,
    );
    if (taken !== 1) return undefined;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.redis.eval(RELEASE, 1, key, this.#instance).catch((error: Error) => {
        this.logger.warn({ err: error.message }, 'releasing a connection slot failed');
      });
    };
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.redis.del(`${this.prefix}:alive:${this.#instance}`).catch(() => {});
    await this.redis.quit().catch(() => {});
  }

  #key(tokenId: string): string {
    return `${this.prefix}:slots:${tokenId}`;
  }

  async #heartbeat(): Promise<void> {
    await this.redis
      .set(`${this.prefix}:alive:${this.#instance}`, '1', 'PX', ALIVE_TTL_MS)
      .catch((error: Error) => this.logger.warn({ err: error.message }, 'redis slots heartbeat failed'));
  }
}
