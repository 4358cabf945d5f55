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
