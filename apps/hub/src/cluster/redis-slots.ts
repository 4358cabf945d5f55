/**
 * Connection slots counted across hub instances in Redis. Each instance keeps its own count per token
 * (a hash field) under its lease (`InstanceLease`): the counts of an instance that died without cleaning
 * up stop counting once its lease expired, so a SIGKILLed instance gives its slots back within 15 s.
 */
import type { Logger } from 'pino';
import type { ConnectionSlots, ReleaseSlot } from './connection-slots.js';
import type { InstanceLease } from './instance-lease.js';
import type { RedisClient } from './redis-client.js';

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
  constructor(
    private readonly redis: RedisClient,
    private readonly lease: InstanceLease,
    private readonly logger: Logger,
  ) {}

  async reserve(tokenId: string, max: number | null): Promise<ReleaseSlot | undefined> {
    // Unlimited tokens need no counting, and no round trip.
    if (max === null) return () => {};
    const key = `${this.lease.keyPrefix}:slots:${tokenId}`;
    const instance = this.lease.id;
    const taken = await this.redis.eval(RESERVE, 1, key, instance, String(max), this.lease.leasePrefix);
    if (taken !== 1) return undefined;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.redis.eval(RELEASE, 1, key, instance).catch((error: Error) => {
        this.logger.warn({ err: error.message }, 'releasing a connection slot failed');
      });
    };
  }

  async close(): Promise<void> {}
}
