/**
 * Delivers bus messages to this instance's subscribers. The `msg` frame is serialised once per
 * message, never per subscriber, and not at all when nobody here matches.
 */
import { PreparedMessage } from '../connections/prepared-message.js';
import type { ConnectionRegistry } from '../connections/registry.js';
import type { HubStats } from '../stats.js';
import type { BusMessage, LocalDelivery } from './bus.js';

/** The `msg` frame of a message, prepared once for every subscriber. */
export function msgFrame(message: BusMessage, retained = false): PreparedMessage {
  const flag = retained ? ',"retained":true' : '';
  return PreparedMessage.fromText(
    `{"type":"msg","topic":${JSON.stringify(message.topic)},"payload":${JSON.stringify(message.payload)},"ts":${message.ts}${flag}}`,
  );
}

export class LocalFanout implements LocalDelivery {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly stats: HubStats,
  ) {}

  hasSubscribers(topic: string): boolean {
    return this.registry.subscriptions.hasMatch(topic);
  }

  deliver(message: BusMessage): void {
    const index = this.registry.subscriptions;
    if (!index.hasMatch(message.topic)) return;
    const frame = msgFrame(message);
    let delivered = 0;
    for (const connection of index.match(message.topic)) if (connection.send(frame, 'msg')) delivered++;
    this.stats.deliveries += delivered;
  }
}
