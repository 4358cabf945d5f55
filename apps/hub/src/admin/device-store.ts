/**
 * What operators see and edit about devices (display name, description, labels, with a version for
 * ETags) and what the hub records as devices come and go (last seen, address, agent version).
 * Registering and deleting a device, which involves its token, stays in `TokenStore`.
 */
import { eq, sql } from 'drizzle-orm';
import { arrayLiteral, textArray } from '../storage/array-literal.js';
import type { Database } from '../storage/database.js';
import { devices } from '../storage/schema.js';
import { atVersion, editVersioned, nextVersion } from '../storage/versioned.js';

export type DeviceRow = typeof devices.$inferSelect;

/**
 * A device seen by the hub: where it connected from (`agentVersion` when its agent said), or `null`
 * when it was only seen (it disconnected), which leaves its last address and agent version as they were.
 */
export type Sighting = { readonly address: string; readonly agentVersion: string | undefined } | null;

export interface DeviceEdit {
  name?: string | null | undefined;
  description?: string | undefined;
  labels?: Record<string, string> | undefined;
}

export class DeviceStore {
  constructor(private readonly database: Database) {}

  async list(): Promise<DeviceRow[]> {
    return this.database.db.select().from(devices).orderBy(devices.id);
  }

  async get(id: string): Promise<DeviceRow | undefined> {
    const [row] = await this.database.db.select().from(devices).where(eq(devices.id, id));
    return row;
  }

  /** Applies an operator's edit; `expected` is the version it was made against (`If-Match`). */
  edit(
    id: string,
    edit: DeviceEdit,
    expected: number | undefined,
    view: (row: DeviceRow) => Promise<{ version: number } & Record<string, unknown>>,
  ): Promise<DeviceRow> {
    // drizzle leaves fields that are `undefined` out of the update.
    const changes = { name: edit.name, description: edit.description, labels: edit.labels };
    return editVersioned({
      what: `device ${id}`,
      expected,
      apply: async (version) => {
        const [row] = await this.database.db
          .update(devices)
          .set({ ...changes, version: nextVersion(devices.version) })
          .where(atVersion(eq(devices.id, id), devices.version, version))
          .returning();
        return row;
      },
      current: () => this.get(id),
      view,
    });
  }

  /**
   * Notes that the devices of `sightings` were just seen (`last_seen_at`), and where each one that
   * connected came from: one statement for all of them (see `DeviceActivityRecorder`).
   */
  async recordSightings(sightings: ReadonlyMap<string, Sighting>): Promise<void> {
    if (sightings.size === 0) return;
    const ids: string[] = [];
    const connected: string[] = [];
    const addresses: (string | null)[] = [];
    const agentVersions: (string | null)[] = [];
    // In id order, so that two hubs writing overlapping batches lock the rows in the same order.
    for (const [id, sighting] of [...sightings].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      ids.push(id);
      connected.push(sighting ? 'true' : 'false');
      addresses.push(sighting?.address ?? null);
      agentVersions.push(sighting?.agentVersion ?? null);
    }
    await this.database.rows(sql`
      update devices d set
        last_seen_at = now(),
        last_address = case when s.connected then s.address else d.last_address end,
        agent_version = case when s.connected then s.agent_version else d.agent_version end
      from unnest(${textArray(ids)}::text[], ${arrayLiteral(connected)}::boolean[],
                  ${textArray(addresses)}::text[], ${textArray(agentVersions)}::text[])
        as s(id, connected, address, agent_version)
      where d.id = s.id`);
  }
}
