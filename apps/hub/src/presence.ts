/**
 * Presence (SPEC "Topics"): `devices/{id}/status`, retained, published by the hub alone. In a cluster
 * each instance also records which devices it holds, under its lease; every instance sweeps for devices
 * whose instance's lease expired (killed without a goodbye) and publishes them offline, so a dead
 * instance's devices go offline within the lease's lifetime plus one sweep (well under 60 s).
 */
import { type Presence, topics } from '@edgewire/protocol';
import type { Logger } from 'pino';
import type { Broker } from './broker.js';
import type { InstanceLease } from './cluster/instance-lease.js';
import type { RedisClient } from './cluster/redis-client.js';

export interface DevicePresence {
  set(deviceId: string, online: boolean): void;
  close(): Promise<void>;
}

function publishPresence(broker: Broker, deviceId: string, online: boolean): void {
  const presence: Presence = { online, at: new Date().toISOString() };
  broker.publish(topics.status(deviceId), presence, true);
}

/** One instance: the status topic is all there is. */
export class LocalPresence implements DevicePresence {
  constructor(private readonly broker: Broker) {}

  set(deviceId: string, online: boolean): void {
    publishPresence(this.broker, deviceId, online);
  }

  async close(): Promise<void> {}
}

/** Removes the device only if this instance still holds it (it may have moved since). */
const RELEASE = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1`;

/** Removes and returns the devices whose instance's lease is gone. */
const SWEEP = `
local fields = redis.call('HGETALL', KEYS[1])
local gone = {}
for i = 1, #fields, 2 do
  if redis.call('EXISTS', ARGV[1] .. fields[i + 1]) == 0 then
    redis.call('HDEL', KEYS[1], fields[i])
    gone[#gone + 1] = fields[i]
  end
end
return gone`;

const SWEEP_MS = 5_000;

export class ClusterPresence implements DevicePresence {
  readonly #key: string;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly broker: Broker,
    private readonly redis: RedisClient,
    private readonly lease: InstanceLease,
    private readonly logger: Logger,
  ) {
    this.#key = `${lease.keyPrefix}:presence`;
    this.#timer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.#timer.unref();
  }

  set(deviceId: string, online: boolean): void {
    publishPresence(this.broker, deviceId, online);
    const write = online
      ? this.redis.hset(this.#key, deviceId, this.lease.id)
      : this.redis.eval(RELEASE, 1, this.#key, deviceId, this.lease.id);
    write.catch((error: Error) => this.logger.warn({ err: error.message }, 'recording presence failed'));
  }

  /** Publishes offline every device held by an instance whose lease expired. */
  async sweep(): Promise<void> {
    try {
      const gone = (await this.redis.eval(SWEEP, 1, this.#key, this.lease.leasePrefix)) as string[];
      for (const deviceId of gone) publishPresence(this.broker, deviceId, false);
      if (gone.length > 0)
        this.logger.info({ devices: gone.length }, 'devices of a vanished instance marked offline');
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'presence sweep failed');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
  }
}
