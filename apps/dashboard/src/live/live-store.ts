/**
 * The dashboard's one connection to the hub and the small store it feeds.
 *
 * Two speeds of change are kept apart:
 * - structural (a device appears, goes offline, is renamed; the connection state): listeners are told
 *   once per animation frame, and React renders;
 * - streaming (a reading): stored in place, and only the views watching that device are marked for
 *   drawing in the next frame (frame-loop.ts). React never renders per reading.
 */
import {
  createClient,
  type EdgewireClient,
  type Message,
  type StateChange,
  type Subscription,
} from '@edgewire/client';
import { getJson } from '../api/http';
import type { AdminEvent, Device, LatestValue } from '../api/types';
import { requestDraw } from './frame-loop';
import { Ring } from './ring';

/** Points kept per metric for the overview's sparklines. */
export const SPARK_POINTS = 120;

export interface Reading {
  metric: string;
  t: number;
  v: number;
  unit: string | null;
}

type ReadingListener = (reading: Reading) => void;

export interface TelemetryPayload {
  value: number;
  ts: number;
  unit?: string;
}

export function telemetryOf(message: Message): Reading | undefined {
  const parts = message.topic.split('/');
  const payload = message.payload as Partial<TelemetryPayload> | null;
  if (parts.length !== 4 || typeof payload?.value !== 'number') return undefined;
  return {
    metric: parts[3]!,
    v: payload.value,
    t: typeof payload.ts === 'number' ? payload.ts : message.ts,
    unit: payload.unit ?? null,
  };
}

type DeviceList = { devices: Device[] };

/** How long after a device comes online its connection details are fetched (the hub stores them meanwhile). */
const CONNECTION_DETAILS_DELAY_MS = 500;
let early: Promise<DeviceList> | undefined;

/**
 * Asks for the device list while the app still checks the session, so that the overview's first
 * render does not wait for the two one after the other. The first store takes the answer; a refusal
 * (not signed in yet) is asked again by then.
 */
export function prefetchDevices(): void {
  early = getJson<DeviceList>('/api/devices');
  early.catch(() => {});
}

function takeDevices(): Promise<DeviceList> {
  const taken = early;
  early = undefined;
  const ask = () => getJson<DeviceList>('/api/devices');
  return taken ? taken.catch(ask) : ask();
}

export class LiveStore {
  readonly client: EdgewireClient;
  readonly #devices = new Map<string, Device>();
  readonly #latest = new Map<string, Map<string, LatestValue>>();
  readonly #sparks = new Map<string, Map<string, Ring>>();
  readonly #readingListeners = new Map<string, Set<ReadingListener>>();
  readonly #deviceViews = new Map<string, Set<() => void>>();
  readonly #structureListeners = new Set<() => void>();
  readonly #adminListeners = new Set<(event: AdminEvent) => void>();
  #devicesSnapshot: Device[] = [];
  #devicesError: string | undefined;
  #loaded = false;
  readonly #fleet: Subscription;
  #reloadTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #disposers: Array<() => void> = [];

  constructor(
    origin: string,
    private readonly isAdmin: boolean,
  ) {
    this.client = createClient({ url: origin });
    this.#disposers.push(this.client.on('state', () => this.#structureChanged()));
    this.#disposers.push(this.client.on('welcome', () => this.#scheduleReload(0)));
    const status = this.client.subscribe('devices/+/status', (m) => this.#onStatus(m));
    const admin = this.client.subscribe('$admin/#', (m) => this.#onAdmin(m));
    // Every reading of the fleet, for the whole session: the overview is current the moment it is
    // shown, and a device page draws from the same stream (one subscription, each reading handled once).
    this.#fleet = this.client.subscribe('devices/+/telemetry/+', (m) => this.#onTelemetry(m));
    this.#disposers.push(
      () => status.unsubscribe(),
      () => admin.unsubscribe(),
      () => this.#fleet.unsubscribe(),
    );
    void this.reloadDevices();
  }

  close(): void {
    for (const dispose of this.#disposers.splice(0)) dispose();
    clearTimeout(this.#reloadTimer);
    this.client.close();
  }

  // ---- structural state (React reads it through useSyncExternalStore) ----

  subscribeStructure = (listener: () => void): (() => void) => {
    this.#structureListeners.add(listener);
    return () => this.#structureListeners.delete(listener);
  };

  get devices(): Device[] {
    return this.#devicesSnapshot;
  }

  get devicesLoaded(): boolean {
    return this.#loaded;
  }

  get devicesError(): string | undefined {
    return this.#devicesError;
  }

  get connection(): StateChange {
    return this.client.state;
  }

  device(id: string): Device | undefined {
    return this.#devices.get(id);
  }

  async reloadDevices(): Promise<void> {
    try {
      const { devices } = await takeDevices();
      const seen = new Set<string>();
      for (const device of devices) {
        seen.add(device.id);
        const live = this.#devices.get(device.id);
        // Presence from the live stream is newer than a list fetched a moment ago.
        this.#devices.set(
          device.id,
          live ? { ...device, online: live.online, lastSeen: live.lastSeen } : device,
        );
        const latest = this.#latestOf(device.id);
        for (const value of device.latest) {
          const known = latest.get(value.metric);
          if (!known || known.t < value.t) latest.set(value.metric, value);
        }
      }
      for (const id of [...this.#devices.keys()]) if (!seen.has(id)) this.#devices.delete(id);
      this.#devicesError = undefined;
    } catch (error) {
      this.#devicesError = (error as Error).message;
    }
    this.#loaded = true;
    this.#structureChanged();
  }

  #scheduleReload(ms: number): void {
    clearTimeout(this.#reloadTimer);
    this.#reloadTimer = setTimeout(() => void this.reloadDevices(), ms);
  }

  readonly #notifyStructure = (): void => {
    this.#devicesSnapshot = [...this.#devices.values()];
    for (const listener of this.#structureListeners) listener();
  };

  #structureChanged(): void {
    requestDraw(this.#notifyStructure);
  }

  // ---- streaming state ----

  /**
   * Live readings of one device, to `listener` in arrival order. `ready` settles once the hub has
   * acknowledged the stream (history is fetched after it, so that nothing falls between the two).
   */
  watchDevice(deviceId: string, listener: ReadingListener): { ready: Promise<void>; release(): void } {
    let listeners = this.#readingListeners.get(deviceId);
    if (!listeners) {
      listeners = new Set();
      this.#readingListeners.set(deviceId, listeners);
    }
    listeners.add(listener);
    return { ready: this.#fleet.ready, release: () => listeners.delete(listener) };
  }

  /** `draw` runs in the next frame after any reading of `deviceId`. */
  onDeviceDrawn(deviceId: string, draw: () => void): () => void {
    let views = this.#deviceViews.get(deviceId);
    if (!views) {
      views = new Set();
      this.#deviceViews.set(deviceId, views);
    }
    views.add(draw);
    return () => views.delete(draw);
  }

  latest(deviceId: string): Map<string, LatestValue> {
    return this.#latestOf(deviceId);
  }

  spark(deviceId: string, metric: string): Ring | undefined {
    return this.#sparks.get(deviceId)?.get(metric);
  }

  onAdminEvent(listener: (event: AdminEvent) => void): () => void {
    this.#adminListeners.add(listener);
    return () => this.#adminListeners.delete(listener);
  }

  #latestOf(deviceId: string): Map<string, LatestValue> {
    let latest = this.#latest.get(deviceId);
    if (!latest) {
      latest = new Map();
      this.#latest.set(deviceId, latest);
    }
    return latest;
  }

  #onTelemetry(message: Message): void {
    const deviceId = message.topic.split('/')[1]!;
    const reading = telemetryOf(message);
    if (!reading) return;
    const latest = this.#latestOf(deviceId);
    const known = latest.get(reading.metric);
    if (!known || known.t <= reading.t) latest.set(reading.metric, reading);
    let sparks = this.#sparks.get(deviceId);
    if (!sparks) {
      sparks = new Map();
      this.#sparks.set(deviceId, sparks);
    }
    let ring = sparks.get(reading.metric);
    if (!ring) {
      ring = new Ring(SPARK_POINTS);
      sparks.set(reading.metric, ring);
    }
    ring.push(reading.t, reading.v);
    for (const listener of this.#readingListeners.get(deviceId) ?? []) listener(reading);
    for (const draw of this.#deviceViews.get(deviceId) ?? []) requestDraw(draw);
    // A device never seen in the list (added a moment ago in another window): fetch the list again.
    if (this.#loaded && !this.#devices.has(deviceId)) this.#scheduleReload(500);
  }

  #onStatus(message: Message): void {
    const deviceId = message.topic.split('/')[1]!;
    const payload = message.payload as { online?: unknown; at?: unknown } | null;
    const device = this.#devices.get(deviceId);
    if (!payload || typeof payload.online !== 'boolean') {
      // Presence cleared: the device was deleted.
      if (device) this.#scheduleReload(0);
      return;
    }
    if (!device) {
      if (this.#loaded) this.#scheduleReload(200);
      return;
    }
    const at = typeof payload.at === 'string' ? payload.at : new Date(message.ts).toISOString();
    const connectedSince = payload.online ? at : null;
    this.#devices.set(deviceId, { ...device, online: payload.online, lastSeen: at, connectedSince });
    this.#structureChanged();
    // A new connection: its address and agent version are the hub's to say, and the list held here
    // predates them (a device that had never connected showed "—" for both until the page was
    // reloaded). The hub stores them as the connection opens, so a moment later the list has them; a
    // burst of connections (a fleet reconnecting) costs one reload after it.
    if (payload.online && connectedSince !== device.connectedSince) {
      this.#scheduleReload(CONNECTION_DETAILS_DELAY_MS);
    }
    for (const draw of this.#deviceViews.get(deviceId) ?? []) requestDraw(draw);
  }

  #onAdmin(message: Message): void {
    const event = message.payload as unknown as AdminEvent;
    if (event?.resource === 'device') this.#scheduleReload(0);
    for (const listener of this.#adminListeners) listener(event);
  }

  get admin(): boolean {
    return this.isAdmin;
  }
}
