/**
 * Every live connection of this hub instance, found by id, by device and by token, and the
 * subscription index that fan-out matches topics against.
 */
import { SubscriptionIndex, topics } from '@edgewire/protocol';
import type { Connection } from './connection.js';

export class ConnectionRegistry {
  readonly subscriptions = new SubscriptionIndex<Connection>();
  readonly #byId = new Map<string, Connection>();
  readonly #byDevice = new Map<string, Connection>();
  readonly #byToken = new Map<string, Set<Connection>>();
  get size(): number {
    return this.#byId.size;
  }

  /** Adds a connection. For a device, returns the connection it replaces, if any. */
  add(connection: Connection): Connection | undefined {
    this.#byId.set(connection.id, connection);
    const tokenId = connection.identity.tokenId;
    let ofToken = this.#byToken.get(tokenId);
    if (!ofToken) {
      ofToken = new Set();
      this.#byToken.set(tokenId, ofToken);
    }
    ofToken.add(connection);
    const deviceId = connection.identity.deviceId;
    if (deviceId === undefined) return undefined;
    const previous = this.#byDevice.get(deviceId);
    this.#byDevice.set(deviceId, connection);
    // A device hears its own commands without subscribing (SPEC "Topics").
    this.subscriptions.add(topics.commands(deviceId), connection);
    return previous;
  }

  /** Removes a connection and its subscriptions. Returns true when it was the device's live one. */
  remove(connection: Connection): boolean {
    if (!this.#byId.delete(connection.id)) return false;
    for (const filter of connection.filters) this.subscriptions.remove(filter, connection);
    connection.filters.clear();
    const tokenId = connection.identity.tokenId;
    const ofToken = this.#byToken.get(tokenId);
    ofToken?.delete(connection);
    if (ofToken?.size === 0) this.#byToken.delete(tokenId);
    const deviceId = connection.identity.deviceId;
    if (deviceId === undefined) return false;
    this.subscriptions.remove(topics.commands(deviceId), connection);
    if (this.#byDevice.get(deviceId) !== connection) return false;
    this.#byDevice.delete(deviceId);
    return true;
  }

  subscribe(connection: Connection, filter: string): void {
    if (connection.filters.has(filter)) return;
    connection.filters.add(filter);
    this.subscriptions.add(filter, connection);
  }

  unsubscribe(connection: Connection, filter: string): void {
    if (!connection.filters.delete(filter)) return;
    // The implicit command subscription of a device shares the index; keep it when the client had the same filter.
    const deviceId = connection.identity.deviceId;
    if (deviceId !== undefined && filter === topics.commands(deviceId)) return;
    this.subscriptions.remove(filter, connection);
  }

  byId(id: string): Connection | undefined {
    return this.#byId.get(id);
  }

  device(deviceId: string): Connection | undefined {
    return this.#byDevice.get(deviceId);
  }

  ofToken(tokenId: string): readonly Connection[] {
    return [...(this.#byToken.get(tokenId) ?? [])];
  }

  all(): IterableIterator<Connection> {
    return this.#byId.values();
  }
}
