/**
 * The hub's core tables as drizzle sees them. The SQL that creates them is migration `0001_core`;
 * the two must describe the same thing.
 */
import { sql } from 'drizzle-orm';
import { integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export const devices = pgTable('devices', {
  id: text('id').primaryKey(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
});

export const tokens = pgTable('tokens', {
  /** Public handle used by `token revoke`; not a secret. */
  id: text('id').primaryKey(),
  /** sha256 of the token, hex. The token itself is never stored. */
  hash: text('hash').notNull().unique(),
  kind: text('kind', { enum: ['device', 'client'] }).notNull(),
  deviceId: text('device_id').references(() => devices.id, { onDelete: 'cascade' }),
  maxConnections: integer('max_connections'),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().default(sql`now()`),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
});

export const permissions = pgTable(
  'permissions',
  {
    tokenId: text('token_id')
      .notNull()
      .references(() => tokens.id, { onDelete: 'cascade' }),
    filter: text('filter').notNull(),
    access: text('access', { enum: ['read', 'readwrite'] }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.tokenId, table.filter] })],
);
