/**
 * What operators see and edit about devices (display name, description, labels, with a version for
 * ETags) and what the hub records as devices come and go (last seen, address, agent version).
 * Registering and deleting a device, which involves its token, stays in `TokenStore`.
 */
import { eq, sql } from 'drizzle-orm';
import type { Database } from '../storage/database.js';
import { devices } from '../storage/schema.js';
import { atVersion, editVersioned, nextVersion } from '../storage/versioned.js';

export type DeviceRow = typeof devices.$inferSelect;

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

  /** The device connected from `address` (with `agentVersion`, when it said). */
  async recordConnected(id: string, address: string, agentVersion: string | undefined): Promise<void> {
    await this.database.db
      .update(devices)
      .set({ lastSeenAt: sql`now()`, lastAddress: address, agentVersion: agentVersion ?? null })
      .where(eq(devices.id, id));
  }

  async recordSeen(id: string): Promise<void> {
    await this.database.db.update(devices).set({ lastSeenAt: sql`now()` }).where(eq(devices.id, id));
  }
}
