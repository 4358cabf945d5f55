/**
 * Which signed-in operators have a device's page open ("a device page shows which other operators are
 * looking at it"). A device page subscribes to `$viewers/devices/{id}`; that subscription, on an
 * operator's session connection, is what counts as looking. It ends with the unsubscription or with
 * the connection, so a closed tab or a lost network leaves the list with no message of its own. The
 * list is published retained on the same topic: a page that opens gets it at once, and every change
 * reaches the pages already open.
 *
 * Each instance knows its own connections; `ViewerLists` joins them: on one instance they are the whole
 * list, in a cluster each instance shares its part in Redis (`RedisViewerLists`) and publishes the join.
 */
import { type PageViewers, viewerTopics } from '@edgewire/protocol';
import type { Broker } from '../broker.js';
import type { Connection } from '../connections/connection.js';
import type { SubscriptionObserver } from '../connections/registry.js';
import type { JsonValue } from '../json.js';

const PREFIX = viewerTopics.device('');

/** One operator looking at a page, since when (epoch ms). */
export interface Viewer {
  readonly name: string;
  readonly since: number;
}

/** Where each instance's viewers of a device meet. */
export interface ViewerLists {
  /** Records this instance's viewers of `deviceId` (none: forgets them); returns every instance's. */
  share(deviceId: string, mine: readonly Viewer[]): Promise<readonly Viewer[]>;
  /** In a cluster: forgets the viewers of instances that vanished, and returns their devices. */
  sweep?(): Promise<string[]>;
}

/** One instance: its viewers are all there are. */
export const localViewerLists: ViewerLists = { share: async (_deviceId, mine) => mine };

/** How often a cluster instance drops vanished instances' viewers and re-checks its own pages' lists. */
const SWEEP_MS = 5_000;

/** The device whose page `filter` watches, for an exact `$viewers/devices/{id}` filter. */
function deviceOf(filter: string): string | undefined {
  if (!filter.startsWith(PREFIX)) return undefined;
  const id = filter.slice(PREFIX.length);
  return id === '' || id.includes('/') || id.includes('+') || id.includes('#') ? undefined : id;
}

/** Each operator once (their earliest window), longest-looking first. */
function earliestPerOperator(viewers: Iterable<Viewer>): Viewer[] {
  const earliest = new Map<string, number>();
  for (const { name, since } of viewers) earliest.set(name, Math.min(since, earliest.get(name) ?? since));
  return [...earliest]
    .sort(([a, x], [b, y]) => x - y || a.localeCompare(b))
    .map(([name, since]) => ({ name, since }));
}

/** The published list: each operator once (their earliest window), longest-looking first. */
export function joinViewers(deviceId: string, viewers: readonly Viewer[]): PageViewers {
  const list = earliestPerOperator(viewers).map(({ name, since }) => ({
    name,
    since: new Date(since).toISOString(),
  }));
  return { device: deviceId, viewers: list };
}

export class PageViewerList implements SubscriptionObserver {
  /** Per device: each looking connection, with its operator and since when. */
  readonly #looking = new Map<string, Map<string, Viewer>>();
  readonly #changed = new Set<string>();
  /** What this instance last published per device; the retained copy may not have come back yet. */
  readonly #published = new Map<string, string>();
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly lists: ViewerLists = localViewerLists,
    private readonly onError: (error: Error) => void = () => {},
  ) {
    if (lists.sweep) {
      this.#timer = setInterval(() => void this.#sweep(), SWEEP_MS);
      this.#timer.unref();
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }

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

  /**
   * Shares this instance's viewers of `deviceId` and publishes the joined list, unless it is the one
   * retained already (a second window of an operator already listed sends nothing).
   */
  async refresh(deviceId: string): Promise<void> {
    const mine = earliestPerOperator(this.#looking.get(deviceId)?.values() ?? []);
    const list = joinViewers(deviceId, await this.lists.share(deviceId, mine));
    const topic = viewerTopics.device(deviceId);
    // Nobody looking: the retained list goes, rather than staying as an empty one per device ever seen.
    const payload = list.viewers.length > 0 ? (list as unknown as JsonValue) : null;
    const text = JSON.stringify(payload);
    const retained = JSON.stringify(this.broker.retained.matching(topic)[0]?.payload ?? null);
    if (text === retained && text === (this.#published.get(deviceId) ?? 'null')) return;
    if (payload === null) this.#published.delete(deviceId);
    else this.#published.set(deviceId, text);
    this.broker.publish(topic, payload, true);
  }

  /**
   * Drops vanished instances' viewers, and re-publishes the lists that changed: theirs, and those of the
   * pages open here, in case two instances' lists of one moment crossed on their way (the later change
   * delivered first).
   */
  async #sweep(): Promise<void> {
    try {
      const devices = new Set([...((await this.lists.sweep?.()) ?? []), ...this.#looking.keys()]);
      await Promise.all([...devices].map((deviceId) => this.refresh(deviceId)));
    } catch (error) {
      this.onError(error as Error);
    }
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
    for (const deviceId of this.#changed) this.refresh(deviceId).catch(this.onError);
    this.#changed.clear();
  };
}
