/** Presence (SPEC "Topics"): `devices/{id}/status`, retained, published by the hub alone. */
import { type Presence, presenceSchema, topics } from '@edgewire/protocol';
import type { Broker } from './broker.js';
import type { RetainedStore } from './retained/retained-store.js';

export function publishPresence(broker: Broker, deviceId: string, online: boolean): void {
  const presence: Presence = { online, at: new Date().toISOString() };
  broker.publish(topics.status(deviceId), presence, true);
}

/** The retained presence of every device this hub knows of, by device id. */
export function presenceOf(retained: Pick<RetainedStore, 'matching'>): Map<string, Presence> {
  const byDevice = new Map<string, Presence>();
  for (const message of retained.matching(topics.status('+'))) {
    const parsed = presenceSchema.safeParse(message.payload);
    if (parsed.success) byDevice.set(message.topic.split('/')[1]!, parsed.data);
  }
  return byDevice;
}
