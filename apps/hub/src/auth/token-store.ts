/**
 * Devices, tokens and permissions in the database. Everything that reads or writes those tables goes
 * through here, so the handshake and the admin service agree on what a token is.
 */
import type { Permission } from '@edgewire/protocol';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { DeviceEdit } from '../admin/device-store.js';
import { ConflictError, isDuplicate, NotFoundError } from '../errors.js';
import { textArray } from '../storage/array-literal.js';
import type { Database } from '../storage/database.js';
import { devices, permissions, tokens } from '../storage/schema.js';
import { atVersion, editVersioned, nextVersion } from '../storage/versioned.js';
import { hashToken, newToken, newTokenId } from './secrets.js';

export type TokenKind = 'device' | 'client';

/** What the hub knows about a presented token. */
export interface TokenRecord {
  readonly id: string;
  readonly hash: string;
  readonly kind: TokenKind;
  readonly deviceId: string | null;
  readonly maxConnections: number | null;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly permissions: readonly Permission[];
  /** Read with the rest: a later announced version means this record predates a change (migration 0006). */
  readonly credentialsVersion: number;
}

/** A client token as operators see it: everything but the hash. */
export type ClientTokenRow = Omit<typeof tokens.$inferSelect, 'hash'> & { permissions: Permission[] };

export interface ClientTokenEdit {
  name?: string | null | undefined;
  permissions?: Permission[] | undefined;
  maxConnections?: number | null | undefined;
  expiresAt?: Date | null | undefined;
}

export interface IssuedToken {
  readonly id: string;
  /** The token itself; returned once, never stored. */
  readonly token: string;
}

export interface ClientTokenOptions {
  name?: string | undefined;
  permissions: Permission[];
  maxConnections?: number | undefined;
  expiresAt?: Date | undefined;
}

export class TokenStore {
  constructor(private readonly database: Database) {}

  /**
   * The tokens whose hashes are among `hashes`, with their permissions, by hash; unknown hashes are
   * absent. One statement however many: a reconnecting fleet's handshakes are looked up together
   * (see `TokenCache`), the token and its grants in the same round trip.
   */
  async findByHashes(hashes: readonly string[]): Promise<Map<string, TokenRecord>> {
    const found = new Map<string, TokenRecord & { permissions: Permission[] }>();
    if (hashes.length === 0) return found;
    const rows = await this.database.db
      .select({ token: tokens, filter: permissions.filter, access: permissions.access })
      .from(tokens)
      .leftJoin(permissions, eq(permissions.tokenId, tokens.id))
      .where(sql`${tokens.hash} = any(${textArray(hashes)}::text[])`);
    for (const { token: row, filter, access } of rows) {
      let record = found.get(row.hash);
      if (!record) {
        record = {
          id: row.id,
          hash: row.hash,
          kind: row.kind,
          deviceId: row.deviceId,
          maxConnections: row.maxConnections,
          expiresAt: row.expiresAt,
          revokedAt: row.revokedAt,
          permissions: [],
          credentialsVersion: row.credentialsVersion,
        };
        found.set(row.hash, record);
      }
      if (filter !== null && access !== null) record.permissions.push({ filter, access });
    }
    return found;
  }

  /** Registers a device (with what operators call it) and issues its token. */
  async addDevice(deviceId: string, about: DeviceEdit = {}): Promise<IssuedToken> {
    const token = newToken();
    const id = newTokenId();
    try {
      await this.database.db.transaction(async (tx) => {
        await tx.insert(devices).values({
          id: deviceId,
          name: about.name ?? null,
          description: about.description ?? '',
          labels: about.labels ?? {},
        });
        await tx.insert(tokens).values({ id, hash: hashToken(token), kind: 'device', deviceId });
      });
    } catch (error) {
      if (isDuplicate(error)) throw new ConflictError(`device ${deviceId} already exists`);
      throw error;
    }
    return { id, token };
  }

  /** Deletes a device and (by cascade) its tokens. Returns the ids of the tokens that went with it. */
  async removeDevice(deviceId: string): Promise<string[]> {
    const { db } = this.database;
    const owned = await db.select({ id: tokens.id }).from(tokens).where(eq(tokens.deviceId, deviceId));
    const deleted = await db.delete(devices).where(eq(devices.id, deviceId)).returning({ id: devices.id });
    if (deleted.length === 0) throw new NotFoundError(`no device ${deviceId}`);
    return owned.map((t) => t.id);
  }

  /**
   * Issues a new token for a device and deletes its old ones, in one transaction: the database then
   * announces the old tokens (see migration 0003), which closes their connections with 4003. `replaced`:
   * the old tokens' ids.
   */
  async rotateDeviceToken(deviceId: string): Promise<IssuedToken & { readonly replaced: string[] }> {
    const token = newToken();
    const id = newTokenId();
    const replaced = await this.database.db.transaction(async (tx) => {
      const [device] = await tx.select({ id: devices.id }).from(devices).where(eq(devices.id, deviceId));
      if (!device) throw new NotFoundError(`no device ${deviceId}`);
      const old = await tx.delete(tokens).where(eq(tokens.deviceId, deviceId)).returning({ id: tokens.id });
      await tx.insert(tokens).values({ id, hash: hashToken(token), kind: 'device', deviceId });
      return old.map((t) => t.id);
    });
    return { id, token, replaced };
  }

  /** Every client token with its grants, newest first (never a secret: only hashes are stored). */
  async listClientTokens(id?: string): Promise<ClientTokenRow[]> {
    const rows = await this.database.db
      .select({ token: tokens, filter: permissions.filter, access: permissions.access })
      .from(tokens)
      .leftJoin(permissions, eq(permissions.tokenId, tokens.id))
      .where(id === undefined ? eq(tokens.kind, 'client') : and(eq(tokens.kind, 'client'), eq(tokens.id, id)))
      .orderBy(desc(tokens.createdAt), tokens.id, permissions.filter);
    const byId = new Map<string, ClientTokenRow>();
    for (const { token, filter, access } of rows) {
      let entry = byId.get(token.id);
      if (!entry) {
        const { hash: _hash, ...rest } = token;
        entry = { ...rest, permissions: [] };
        byId.set(token.id, entry);
      }
      if (filter !== null && access !== null) entry.permissions.push({ filter, access });
    }
    return [...byId.values()];
  }

  async getClientToken(id: string): Promise<ClientTokenRow | undefined> {
    return (await this.listClientTokens(id))[0];
  }

  /** Applies an operator's edit to a client token; `expected` is the version it was made against. */
  editClientToken(
    id: string,
    edit: ClientTokenEdit,
    expected: number | undefined,
    view: (row: ClientTokenRow) => Promise<{ version: number } & Record<string, unknown>>,
  ): Promise<ClientTokenRow> {
    // drizzle leaves fields that are `undefined` out of the update.
    const changes = { name: edit.name, maxConnections: edit.maxConnections, expiresAt: edit.expiresAt };
    return editVersioned({
      what: `token ${id}`,
      expected,
      apply: async (version) => {
        const updated = await this.database.db.transaction(async (tx) => {
          const [row] = await tx
            .update(tokens)
            .set({ ...changes, version: nextVersion(tokens.version) })
            .where(atVersion(and(eq(tokens.id, id), eq(tokens.kind, 'client'))!, tokens.version, version))
            .returning({ id: tokens.id });
          if (!row) return false;
          if (edit.permissions !== undefined) {
            await tx.delete(permissions).where(eq(permissions.tokenId, id));
            await tx.insert(permissions).values(edit.permissions.map((p) => ({ tokenId: id, ...p })));
          }
          return true;
        });
        return updated ? this.getClientToken(id) : undefined;
      },
      current: () => this.getClientToken(id),
      view,
    });
  }

  async addClientToken(options: ClientTokenOptions): Promise<IssuedToken> {
    const token = newToken();
    const id = newTokenId();
    await this.database.db.transaction(async (tx) => {
      await tx.insert(tokens).values({
        id,
        name: options.name ?? null,
        hash: hashToken(token),
        kind: 'client',
        maxConnections: options.maxConnections ?? null,
        expiresAt: options.expiresAt ?? null,
      });
      if (options.permissions.length > 0) {
        await tx.insert(permissions).values(options.permissions.map((p) => ({ tokenId: id, ...p })));
      }
    });
    return { id, token };
  }

  /** Marks a token revoked. Revoking twice is not an error; an unknown id is. */
  async revoke(tokenId: string): Promise<void> {
    const { db } = this.database;
    await db
      .update(tokens)
      .set({ revokedAt: sql`now()`, version: nextVersion(tokens.version) })
      .where(and(eq(tokens.id, tokenId), isNull(tokens.revokedAt)));
    const [row] = await db.select({ id: tokens.id }).from(tokens).where(eq(tokens.id, tokenId));
    if (!row) throw new NotFoundError(`no token ${tokenId}`);
  }

  /** Replaces a token's permissions. Returns its credentials version as they left it. */
  async setPermissions(tokenId: string, grants: readonly Permission[]): Promise<number> {
    return this.database.db.transaction(async (tx) => {
      const [row] = await tx.select({ id: tokens.id }).from(tokens).where(eq(tokens.id, tokenId));
      if (!row) throw new NotFoundError(`no token ${tokenId}`);
      await tx.delete(permissions).where(eq(permissions.tokenId, tokenId));
      if (grants.length > 0) {
        await tx.insert(permissions).values(grants.map((p) => ({ tokenId, ...p })));
      }
      const [after] = await tx
        .select({ version: tokens.credentialsVersion })
        .from(tokens)
        .where(eq(tokens.id, tokenId));
      return after!.version;
    });
  }

  /** Notes that the tokens `tokenIds` were just used (`last_used_at`, a hint for operators). */
  async touch(tokenIds: readonly string[]): Promise<void> {
    if (tokenIds.length === 0) return;
    await this.database.db
      .update(tokens)
      .set({ lastUsedAt: sql`now()` })
      .where(sql`${tokens.id} = any(${textArray(tokenIds)}::text[])`);
  }
}
