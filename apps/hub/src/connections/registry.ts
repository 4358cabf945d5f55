/**
 * Every live connection of this hub instance, found by id, by device and by token, and the
 * subscription index that fan-out matches topics against, with what each connection and each
 * token holds in it (for the subscription limits).
 */
import { SubscriptionIndex, topics } from '@edgewire/protocol';
import { type DeviceConnectionOrder, isNewer } from '../cluster/device-generations.js';
import type { Connection } from './connection.js';
import { filterBytes, type SubscriptionUsage } from './subscription-limits.js';

const NOTHING: SubscriptionUsage = Object.freeze({ count: 0, bytes: 0 });

/** Told of every (connection, filter) subscription made and ended, so the bus routes by interest. */
export interface InterestSink {
  watch(filter: string): void;
  unwatch(filter: string): void;
}

/** Told of every subscription made and ended, with its connection (see `operators/page-viewers.ts`). */
export interface SubscriptionObserver {
  subscribed(connection: Connection, filter: string): void;
  unsubscribed(connection: Connection, filter: string): void;
}

export class ConnectionRegistry {
  readonly subscriptions = new SubscriptionIndex<Connection>();
  readonly #byId = new Map<string, Connection>();
  readonly #byDevice = new Map<string, Connection>();
  readonly #byToken = new Map<string, Set<Connection>>();
  /** Subscription index memory held, by connection id and by token id. */
  readonly #connectionUsage = new Map<string, SubscriptionUsage>();
  readonly #tokenUsage = new Map<string, SubscriptionUsage>();

  readonly #observers: SubscriptionObserver[] = [];

  constructor(private readonly interest: InterestSink = { watch() {}, unwatch() {} }) {}

  observe(observer: SubscriptionObserver): void {
    this.#observers.push(observer);
  }

  get size(): number {
    return this.#byId.size;
  }

  /**
   * Adds a connection. For a device that already had one here, the newer of the two (by generation: the
   * older one's handshake may finish last) becomes its live connection; returns the other.
   */
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
    const superseded = previous && isNewer(orderOf(previous), orderOf(connection)) ? connection : previous;
    if (superseded !== connection) this.#byDevice.set(deviceId, connection);
    // A device hears its own commands without subscribing (SPEC "Topics").
    this.subscriptions.add(topics.commands(deviceId), connection);
    this.interest.watch(topics.commands(deviceId));
    return superseded;
  }

  /** Removes a connection and its subscriptions. Returns true when it was the device's live one. */
  remove(connection: Connection): boolean {
    if (!this.#byId.delete(connection.id)) return false;
    for (const filter of connection.filters) this.unsubscribe(connection, filter);
    this.#connectionUsage.delete(connection.id);
    const tokenId = connection.identity.tokenId;
    const ofToken = this.#byToken.get(tokenId);
    ofToken?.delete(connection);
    if (ofToken?.size === 0) this.#byToken.delete(tokenId);
    const deviceId = connection.identity.deviceId;
    if (deviceId === undefined) return false;
    this.subscriptions.remove(topics.commands(deviceId), connection);
    this.interest.unwatch(topics.commands(deviceId));
    if (this.#byDevice.get(deviceId) !== connection) return false;
    this.#byDevice.delete(deviceId);
    return true;
  }

  subscribe(connection: Connection, filter: string): void {
    if (connection.filters.has(filter)) return;
    connection.filters.add(filter);
    this.subscriptions.add(filter, connection);
    this.interest.watch(filter);
    this.#account(connection, filter, 1);
    for (const observer of this.#observers) observer.subscribed(connection, filter);
  }

  unsubscribe(connection: Connection, filter: string): void {
    if (!connection.filters.delete(filter)) return;
    this.interest.unwatch(filter);
    this.#account(connection, filter, -1);
    for (const observer of this.#observers) observer.unsubscribed(connection, filter);
    // The implicit command subscription of a device shares the index; keep it when the client had the same filter.
    const deviceId = connection.identity.deviceId;
    if (deviceId !== undefined && filter === topics.commands(deviceId)) return;
    this.subscriptions.remove(filter, connection);
  }

  byId(id: string): Connection | undefined {
    return this.#byId.get(id);
  }

  /** What `connection`, and all connections of its token, hold in the subscription index. */
  usage(connection: Connection): { connection: SubscriptionUsage; token: SubscriptionUsage } {
    return {
      connection: this.#connectionUsage.get(connection.id) ?? NOTHING,
      token: this.#tokenUsage.get(connection.identity.tokenId) ?? NOTHING,
    };
  }

  #account(connection: Connection, filter: string, sign: 1 | -1): void {
    const bytes = sign * filterBytes(filter);
    for (const [usages, key] of [
      [this.#connectionUsage, connection.id],
      [this.#tokenUsage, connection.identity.tokenId],
    ] as const) {
      const usage = usages.get(key) ?? { count: 0, bytes: 0 };
      usage.count += sign;
      usage.bytes += bytes;
      if (usage.count === 0) usages.delete(key);
      else usages.set(key, usage);
    }
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

/** Where a device connection stands among the device's connections. */
export function orderOf(connection: Connection): DeviceConnectionOrder {
  return { generation: connection.identity.generation ?? 0, connId: connection.id };
}
