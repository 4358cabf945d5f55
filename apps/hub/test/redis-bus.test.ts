/**
 * The Redis bus between two instances, without hubs around it: what one instance announces on the
 * control channel reaches the other in the order it was sent, on a single Redis and on a Redis Cluster
 * (where a plain PUBLISH goes to a random node, and messages sent through different nodes can swap).
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlEvent } from '../src/bus/bus.js';
import { RedisBus } from '../src/bus/redis-bus.js';
import { redisTargetOf } from '../src/cluster/redis-client.js';
import { REDIS_SETUPS, type RedisUnderTest } from './redis-cluster.js';
import { waitFor } from './wait.js';

describe.each(REDIS_SETUPS)('the Redis bus on $name', ({ start }) => {
  let redis: RedisUnderTest;
  const prefix = `edgewire-test-${randomBytes(6).toString('hex')}`;
  const buses: RedisBus[] = [];
  const connect = async (onControl: (event: ControlEvent) => void = () => {}) => {
    const bus = await RedisBus.connect({
      target: redisTargetOf(redis.options)!,
      prefix,
      logger: pino({ level: 'silent' }),
    });
    bus.attach({ hasSubscribers: () => false, deliver: () => {} }, onControl);
    buses.push(bus);
    return bus;
  };

  beforeAll(async () => {
    redis = await start();
  }, 60_000);
  afterAll(async () => {
    for (const bus of buses) await bus.close();
    await redis?.clean(prefix);
    await redis?.stop();
  });

  it("delivers one instance's control events to another in the order they were sent", async () => {
    const heard: string[] = [];
    await connect((event) => {
      if (event.type === 'session-ended') heard.push(event.sessionId);
    });
    const sender = await connect();
    // Sent at once: an instance has connected once it hears its own channels.
    const sent = Array.from({ length: 300 }, (_, i) => `session-${i}`);
    // A few at a time, as a hub sends them: each event its own publish.
    for (let i = 0; i < sent.length; i += 10) {
      for (const sessionId of sent.slice(i, i + 10)) sender.control({ type: 'session-ended', sessionId });
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor('every event', () => heard.length === sent.length, 10_000);
    expect(heard).toEqual(sent);
  });
});
