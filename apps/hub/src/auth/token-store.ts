/**
 * Devices, tokens and permissions in the database. Everything that reads or writes those tables goes
 * through here, so the handshake and the admin service agree on what a token is.
 */
import type { Permission } from '@edgewire/protocol';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Database } from '../storage/database.js';
import { devices, permissions, tokens } from '../storage/schema.js';
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
}

export interface IssuedToken {
  readonly id: string;
  /** The token itself; returned once, never stored. */
  readonly token: string;
}

export interface ClientTokenOptions {
  permissions: Permission[];
  maxConnections?: number | undefined;
  expiresAt?: Date | undefined;
}

/** A device as `device ls` shows it: never its token, only the token's public id. */
export interface DeviceSummary {
  id: string;
  createdAt: string;
  tokenId: string | null;
  /** When the device's token last opened a connection. */
  lastSeenAt: string | null;
}

/** A token as `token ls` shows it: everything but the secret and its hash. */
export interface TokenSummary {
  id: string;
  kind: TokenKind;
  deviceId: string | null;
  permissions: Permission[];
  maxConnections: number | null;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString());

/** A unique-constraint violation, whichever driver reported it. */
const isDuplicate = (error: unknown): boolean =>
  (error as { code?: string })?.code === '23505' ||
  (error as { cause?: { code?: string } })?.cause?.code === '23505';

export class NotFoundError extends Error {
  override name = 'NotFoundError';
}
export class ConflictError extends Error {
  override name = 'ConflictError';
}

export class TokenStore {
  constructor(private readonly database: Database) {}

  /** The token whose hash is `hash`, with its permissions; `undefined` when unknown. */
  async findByHash(hash: string): Promise<TokenRecord | undefined> {
    // One round trip per handshake that misses the cache: the token and its grants together.
    const rows = await this.database.db
      .select({ token: tokens, filter: permissions.filter, access: permissions.access })
      .from(tokens)
      .leftJoin(permissions, eq(permissions.tokenId, tokens.id))
      .where(eq(tokens.hash, hash));
    const row = rows[0]?.token;
    if (!row) return undefined;
    const grants: Permission[] = [];
    for (const { filter, access } of rows)
      if (filter !== null && access !== null) grants.push({ filter, access });
    return {
      id: row.id,
      hash: row.hash,
      kind: row.kind,
      deviceId: row.deviceId,
      maxConnections: row.maxConnections,
      expiresAt: row.expiresAt,
      revokedAt: row.revokedAt,
      permissions: grants,
    };
  }

  /** Registers a device and issues its token. */
  async addDevice(deviceId: string): Promise<IssuedToken> {
    const token = newToken();
    const id = newTokenId();
    try {
      await this.database.db.transaction(async (tx) => {
        await tx.insert(devices).values({ id: deviceId });
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

  async addClientToken(options: ClientTokenOptions): Promise<IssuedToken> {
    const token = newToken();
    const id = newTokenId();
    await this.database.db.transaction(async (tx) => {
      await tx.insert(tokens).values({
        id,
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
      .set({ revokedAt: sql`now()` })
      .where(and(eq(tokens.id, tokenId), isNull(tokens.revokedAt)));
    const [row] = await db.select({ id: tokens.id }).from(tokens).where(eq(tokens.id, tokenId));
    if (!row) throw new NotFoundError(`no token ${tokenId}`);
  }

  /** Replaces a token's permissions. */
  async setPermissions(tokenId: string, grants: readonly Permission[]): Promise<void> {
    await this.database.db.transaction(async (tx) => {
      const [row] = await tx.select({ id: tokens.id }).from(tokens).where(eq(tokens.id, tokenId));
      if (!row) throw new NotFoundError(`no token ${tokenId}`);
      await tx.delete(permissions).where(eq(permissions.tokenId, tokenId));
      if (grants.length > 0) {
        await tx.insert(permissions).values(grants.map((p) => ({ tokenId, ...p })));
      }
    });
  }

  /** Every device, oldest first, with its token's id (not the token). */
  async listDevices(): Promise<DeviceSummary[]> {
    const rows = await this.database.db
      .select({
        id: devices.id,
        createdAt: devices.createdAt,
        tokenId: tokens.id,
        lastUsedAt: tokens.lastUsedAt,
      })
      .from(devices)
      .leftJoin(tokens, eq(tokens.deviceId, devices.id))
      .orderBy(asc(devices.createdAt), asc(devices.id));
    return rows.map((row) => ({
      id: row.id,
      createdAt: row.createdAt.toISOString(),
      tokenId: row.tokenId,
      lastSeenAt: iso(row.lastUsedAt),
    }));
  }

  /** Every token (device and client, revoked included), oldest first, with its permissions. */
  async listTokens(): Promise<TokenSummary[]> {
    const rows = await this.database.db
      .select({ token: tokens, filter: permissions.filter, access: permissions.access })
      .from(tokens)
      .leftJoin(permissions, eq(permissions.tokenId, tokens.id))
      .orderBy(asc(tokens.createdAt), asc(tokens.id), asc(permissions.filter));
    const byId = new Map<string, TokenSummary>();
    for (const { token, filter, access } of rows) {
      let summary = byId.get(token.id);
      if (!summary) {
        summary = {
          id: token.id,
          kind: token.kind,
          deviceId: token.deviceId,
          permissions: [],
          maxConnections: token.maxConnections,
          expiresAt: iso(token.expiresAt),
          revokedAt: iso(token.revokedAt),
          createdAt: token.createdAt.toISOString(),
          lastUsedAt: iso(token.lastUsedAt),
        };
        byId.set(token.id, summary);
      }
      if (filter !== null && access !== null) summary.permissions.push({ filter, access });
    }
    return [...byId.values()];
  }

  async touch(tokenId: string): Promise<void> {
    await this.database.db.update(tokens).set({ lastUsedAt: sql`now()` }).where(eq(tokens.id, tokenId));
  }
}
