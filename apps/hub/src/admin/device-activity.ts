/**
 * What the hub records as devices come and go (last seen, address, agent version for operators),
 * written in batches: a fleet reconnecting after a restart, or a hub closing thousands of sockets on its
 * way out, would otherwise cost a statement per device on a database that runs one at a time.
 */
import type { DeviceActivity } from '../connections/connection-manager.js';
import { Batcher } from '../storage/batcher.js';
import type { DeviceStore, Sighting } from './device-store.js';

export class DeviceActivityRecorder implements DeviceActivity {
  readonly #writes: Batcher<string, Sighting, never>;

  constructor(devices: Pick<DeviceStore, 'recordSightings'>) {
    this.#writes = new Batcher(
      async (batch) => {
        await devices.recordSightings(batch);
        return undefined;
      },
      // A device that connected and then left within one batch keeps the address it connected from.
      { merge: (earlier, later) => later ?? earlier },
    );
  }

  async connected(deviceId: string, address: string, agentVersion: string | undefined): Promise<void> {
    await this.#writes.submit(deviceId, { address, agentVersion });
  }

  async disconnected(deviceId: string): Promise<void> {
    await this.#writes.submit(deviceId, null);
  }

  /** Resolves once everything recorded so far is written (shutdown: before the database closes). */
  drain(): Promise<void> {
    return this.#writes.drain();
  }
}
