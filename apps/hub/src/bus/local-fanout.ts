/**
 * Delivers bus messages to this instance's subscribers and keeps the retained ones. The `msg` frame
 * is serialised once per message, never per subscriber, and not at all when nobody here matches.
 */
import { PreparedMessage } from '../connections/prepared-message.js';
import type { ConnectionRegistry } from '../connections/registry.js';
import type { RetainedStore } from '../retained/retained-store.js';
import type { HubStats } from '../stats.js';
import type { BusMessage, LocalDelivery } from './bus.js';
import type { Recoveries } from './recovery.js';

/** The `msg` frame of a message, prepared once for every subscriber. */
export function msgFrame(message: BusMessage, retained = false): PreparedMessage {
  const flag = retained ? ',"retained":true' : '';
  const pos = message.pos ? `,"pos":${JSON.stringify(message.pos)}` : '';
  return PreparedMessage.fromText(
    `{"type":"msg","topic":${JSON.stringify(message.topic)},"payload":${JSON.stringify(message.payload)},"ts":${message.ts}${flag}${pos}}`,
  );
}

export class LocalFanout implements LocalDelivery {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly retained: RetainedStore,
    private readonly stats: HubStats,
    private readonly recoveries: Recoveries,
  ) {}

  hasSubscribers(topic: string): boolean {
    return this.registry.subscriptions.hasMatch(topic);
  }

  deliver(message: BusMessage): void {
    // Every instance keeps retained messages as they pass, so a subscriber anywhere gets them on `sub`;
    // one that arrives after a newer one of its topic (from another instance) is superseded.
    if (message.retain && !this.retained.set(message)) return;
    const index = this.registry.subscriptions;
    if (!index.hasMatch(message.topic)) return;
    const frame = msgFrame(message);
    let delivered = 0;
    for (const connection of index.match(message.topic)) {
      const held = this.recoveries.held(connection);
      if (held) held.push(message);
      else if (this.recoveries.fresh(connection, message) && connection.send(frame, 'msg')) delivered++;
    }
    this.stats.deliveries += delivered;
  }
}
