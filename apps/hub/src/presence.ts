/** Presence (SPEC "Topics"): `devices/{id}/status`, retained, published by the hub alone. */
import { type Presence, topics } from '@edgewire/protocol';
import type { Broker } from './broker.js';

export function publishPresence(broker: Broker, deviceId: string, online: boolean): void {
  const presence: Presence = { online, at: new Date().toISOString() };
  broker.publish(topics.status(deviceId), presence, true);
}
