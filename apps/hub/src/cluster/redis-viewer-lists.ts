/**
 * Page viewers across hub instances: one hash holds, per device and instance, that instance's viewers
 * of the device's page. Entries count only while their instance's lease lives, like device presence,
 * so the operators of an instance killed without a goodbye leave the lists within the lease's lifetime
 * plus one sweep. Operators and open pages are few: reading the whole hash per change is cheap.
 */
import type { Viewer, ViewerLists } from '../operators/page-viewers.js';
import type { InstanceLease } from './instance-lease.js';
import type { RedisClient } from './redis-client.js';

/**
 * ARGV: lease prefix, device id, instance, this instance's viewers (JSON; empty: none). Stores them,
 * then returns every live instance's viewers of the device, dropping those of instances whose lease is
 * gone. Fields are `<device>\n<instance>` (a device id holds no newline).
 */
const SHARE = `
local field = ARGV[2] .. '\\n' .. ARGV[3]
if ARGV[4] == '' then redis.call('HDEL', KEYS[1], field) else redis.call('HSET', KEYS[1], field, ARGV[4]) end
local prefix = ARGV[2] .. '\\n'
local lists = {}
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, #prefix) == prefix then
    if redis.call('EXISTS', ARGV[1] .. string.sub(fields[i], #prefix + 1)) == 1 then
      lists[#lists + 1] = fields[i + 1]
    else
      redis.call('HDEL', KEYS[1], fields[i])
    end
  end
end
return lists`;

/** ARGV: lease prefix. Drops the entries of instances whose lease is gone; returns their devices. */
const SWEEP = `
local fields = redis.call('HGETALL', KEYS[1])
local gone = {}
for i = 1, #fields, 2 do
  local cut = string.find(fields[i], '\\n', 1, true)
  if redis.call('EXISTS', ARGV[1] .. string.sub(fields[i], cut + 1)) == 0 then
    redis.call('HDEL', KEYS[1], fields[i])
    gone[#gone + 1] = string.sub(fields[i], 1, cut - 1)
  end
end
return gone`;

export class RedisViewerLists implements ViewerLists {
  readonly #key: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly lease: InstanceLease,
  ) {
    this.#key = `${lease.keyPrefix}:viewers`;
  }

  async share(deviceId: string, mine: readonly Viewer[]): Promise<readonly Viewer[]> {
    const stored = mine.length > 0 ? JSON.stringify(mine) : '';
    const lists = (await this.redis.eval(
      SHARE,
      1,
      this.#key,
      this.lease.leasePrefix,
      deviceId,
      this.lease.id,
      stored,
    )) as string[];
    return lists.flatMap((list) => JSON.parse(list) as Viewer[]);
  }

  async sweep(): Promise<string[]> {
    return (await this.redis.eval(SWEEP, 1, this.#key, this.lease.leasePrefix)) as string[];
  }
}
