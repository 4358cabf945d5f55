/**
 * Which signed-in operators have a device's page open ("a device page shows which other operators are
 * looking at it"). A device page subscribes to `$viewers/devices/{id}`; that subscription, on an
 * operator's session connection, is what counts as looking. It ends with the unsubscription or with
 * the connection, so a closed tab or a lost network leaves the list with no message of its own. The
 * list is published retained on the same topic: a page that opens gets it at once, and every change
 * reaches the pages already open.
 *
 * In memory, for one hub instance. In a cluster each instance would publish only its own operators over
 * the others' list, so the hub does not keep viewers there: that needs the joins kept in Redis (a hash
 * per device, entries under each instance's lease, swept like device presence in presence.ts).
 */
import { type PageViewers, viewerTopics } from '@edgewire/protocol';
import type { Broker } from '../broker.js';
import type { Connection } from '../connections/connection.js';
import type { SubscriptionObserver } from '../connections/registry.js';
import type { JsonValue } from '../json.js';

const PREFIX = viewerTopics.device('');

/** The device whose page `filter` watches, for an exact `$viewers/devices/{id}` filter. */
function deviceOf(filter: string): string | undefined {
  if (!filter.startsWith(PREFIX)) return undefined;
  const id = filter.slice(PREFIX.length);
  return id === '' || id.includes('/') || id.includes('+') || id.includes('#') ? undefined : id;
}

export class LocalPageViewers implements SubscriptionObserver {
  /** Per device: each looking connection, with its operator and since when. */
  readonly #looking = new Map<string, Map<string, { name: string; since: number }>>();
  readonly #changed = new Set<string>();
  /** What was last published per device, so that a change nobody can see (a second window) sends nothing. */
  readonly #published = new Map<string, string>();

  constructor(private readonly broker: Broker) {}

  subscribed(connection: Connection, filter: string): void {
    const deviceId = deviceOf(filter);
    const name = connection.identity.operator;
    if (deviceId === undefined || connection.identity.kind !== 'operator' || name === undefined) return;
    let looking = this.#looking.get(deviceId);
    if (!looking) {
      looking = new Map();
      this.#looking.set(deviceId, looking);
    }
    looking.set(connection.id, { name, since: Date.now() });
    this.#change(deviceId);
  }

  unsubscribed(connection: Connection, filter: string): void {
    const deviceId = deviceOf(filter);
    const looking = deviceId === undefined ? undefined : this.#looking.get(deviceId);
    if (!looking?.delete(connection.id)) return;
    if (looking.size === 0) this.#looking.delete(deviceId!);
    this.#change(deviceId!);
  }

  /** The operators looking at `deviceId`'s page, each once, longest-looking first. */
  of(deviceId: string): PageViewers {
    const earliest = new Map<string, number>();
    for (const { name, since } of this.#looking.get(deviceId)?.values() ?? []) {
      earliest.set(name, Math.min(since, earliest.get(name) ?? since));
    }
    const viewers = [...earliest]
      .sort(([a, x], [b, y]) => x - y || a.localeCompare(b))
      .map(([name, since]) => ({ name, since: new Date(since).toISOString() }));
    return { device: deviceId, viewers };
  }

  /**
   * Published after the current frame is handled: the joining page gets its subscription's ack and the
   * retained list first, then the list with itself; joins and leaves of one turn go out as one message.
   */
  #change(deviceId: string): void {
    if (this.#changed.size === 0) setImmediate(this.#publish);
    this.#changed.add(deviceId);
  }

  readonly #publish = (): void => {
    for (const deviceId of this.#changed) {
      const list = this.of(deviceId);
      const text = JSON.stringify(list);
      if (this.#published.get(deviceId) === text) continue;
      // Nobody looking: the retained list goes, rather than staying as an empty one per device ever seen.
      if (list.viewers.length > 0) this.#published.set(deviceId, text);
      else this.#published.delete(deviceId);
      const payload = list.viewers.length > 0 ? (list as unknown as JsonValue) : null;
      this.broker.publish(viewerTopics.device(deviceId), payload, true);
    }
    this.#changed.clear();
  };
}
