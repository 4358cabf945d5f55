/**
 * The one way the hub opens a Redis connection (bus, connection slots, retained store): not yet
 * connected, so the caller decides when to wait for it; errors logged with the part's name and the
 * error's message only, which names the host but never the password; ioredis keeps reconnecting.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export function createRedis(
  url: string,
  logger: Logger,
  part: string,
  mode: 'commands' | 'subscriber',
): Redis {
  // A command fails after one retry rather than queueing behind an outage; a subscriber only listens.
  const redis = new Redis(
    url,
    mode === 'commands' ? { lazyConnect: true, maxRetriesPerRequest: 1 } : { lazyConnect: true },
  );
  redis.on('error', (error: Error) => logger.warn({ err: error.message }, `redis ${part} error`));
  return redis;
}

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/**
 * Connects `redis` at start-up. ioredis only says "Connection is closed." when the first attempt
 * fails; this says what could not be reached (host and port, never the credentials in REDIS_URL),
 * why, and what to do about it. A failed client is disconnected so it stops retrying.
 */
export async function connectRedis(redis: Redis, part: string): Promise<void> {
  let cause: Error | undefined;
  const remember = (error: Error) => {
    cause = error;
  };
  redis.on('error', remember);
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    const { host, port, path } = redis.options;
    const where = path ? `socket ${path}` : `${host}:${port}`;
    const why = (cause ?? (error as Error)).message;
    throw new RedisUnavailableError(
      `cannot reach Redis at ${where} (REDIS_URL) for the ${part}: ${why}. ` +
        'Start Redis there, correct REDIS_URL, or unset REDIS_URL to run a single hub with the in-process bus',
    );
  } finally {
    redis.off('error', remember);
  }
}
