/**
 * The one way the hub opens a Redis connection (bus, connection slots, retained store, presence): a
 * single server (`REDIS_URL`) or a Redis Cluster (`REDIS_CLUSTER_NODES`, through ioredis' Cluster
 * client); not yet connected, so the caller decides when to wait for it; errors logged with the part's
 * name and the error's message only, which names the host but never the password; ioredis keeps
 * reconnecting.
 */
import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/** Where Redis is: one server, or the seed nodes of a cluster. */
export type RedisTarget = { readonly url: string } | { readonly clusterNodes: readonly string[] };
export type RedisClient = Redis | Cluster;

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** The target the settings describe, or undefined for the in-process bus. */
export function redisTargetOf(config: {
  redisUrl?: string | undefined;
  redisClusterNodes?: readonly string[] | undefined;
}): RedisTarget | undefined {
  if (config.redisClusterNodes && config.redisClusterNodes.length > 0) {
    return { clusterNodes: config.redisClusterNodes };
  }
  return config.redisUrl ? { url: config.redisUrl } : undefined;
}

/** `host:port` or `redis[s]://[user:password@]host:port` → a node, plus the credentials and TLS it implies. */
function clusterNode(text: string): { node: ClusterNode; options: RedisOptions } {
  const url = new URL(text.includes('://') ? text : `redis://${text}`);
  const options: RedisOptions = {};
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.password) options.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') options.tls = {};
  return { node: { host: url.hostname, port: Number(url.port || 6379) }, options };
}

export function createRedis(
  target: RedisTarget,
  logger: Logger,
  part: string,
  mode: 'commands' | 'subscriber',
): RedisClient {
  // A command fails after one retry rather than queueing behind an outage; a subscriber only listens.
  const retries = mode === 'commands' ? { maxRetriesPerRequest: 1 } : {};
  let redis: RedisClient;
  if ('url' in target) {
    redis = new Redis(target.url, { lazyConnect: true, ...retries });
  } else {
    const nodes = target.clusterNodes.map(clusterNode);
    redis = new Cluster(
      nodes.map((n) => n.node),
      {
        lazyConnect: true,
        // Sharded pub/sub (SSUBSCRIBE): each message travels through the one shard owning its channel.
        shardedSubscribers: mode === 'subscriber',
        redisOptions: { ...nodes[0]?.options, ...retries },
      },
    );
  }
  redis.on('error', (error: Error) => logger.warn({ err: error.message }, `redis ${part} error`));
  return redis;
}
