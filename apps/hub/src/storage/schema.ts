/**
 * The hub's tables as drizzle sees them. The SQL that creates them is migrations `0001_core` and
 * `0003_operators` (and `0006_credentials_version`); the two must describe the same thing.
 */
import { sql } from 'drizzle-orm';
import { bigint, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

const at = (name: string) => timestamp(name, { withTimezone: true });

export const devices = pgTable('devices', {
  id: text('id').primaryKey(),
  createdAt: at('created_at').notNull().default(sql`now()`),
  /** Operator-edited: display name, description, labels; `version` counts their edits (ETag). */
  name: text('name'),
  description: text('description').notNull().default(''),
  labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
  version: integer('version').notNull().default(1),
  /** Written by the hub when the device connects and disconnects. */
  lastSeenAt: at('last_seen_at'),
  lastAddress: text('last_address'),
  agentVersion: text('agent_version'),
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
  name: text('name'),
  version: integer('version').notNull().default(1),
  /**
   * Grows with every change to what the token grants (revocation, expiry, hash, device, permissions),
   * whoever makes it: set by the triggers of migration 0006, announced with the change.
   */
  credentialsVersion: integer('credentials_version').notNull().default(1),
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

export const users = pgTable('users', {
  name: text('name').primaryKey(),
  role: text('role', { enum: ['admin', 'viewer'] }).notNull(),
  /** `scrypt$…` (see `operators/passwords.ts`); never the password. */
  passwordHash: text('password_hash').notNull(),
  version: integer('version').notNull().default(1),
  createdAt: at('created_at').notNull().default(sql`now()`),
  updatedAt: at('updated_at').notNull().default(sql`now()`),
});

export const sessions = pgTable('sessions', {
  /** Public handle (logs, notifications); the cookie holds a separate secret, stored hashed. */
  id: text('id').primaryKey(),
  secretHash: text('secret_hash').notNull().unique(),
  userName: text('user_name')
    .notNull()
    .references(() => users.name, { onDelete: 'cascade' }),
  createdAt: at('created_at').notNull().default(sql`now()`),
  lastSeenAt: at('last_seen_at').notNull().default(sql`now()`),
  expiresAt: at('expires_at').notNull(),
  address: text('address'),
});

export const signInFailures = pgTable('sign_in_failures', {
  /** `name:<user name>` or `address:<ip>`. */
  key: text('key').primaryKey(),
  failures: integer('failures').notNull(),
  lastAt: at('last_at').notNull(),
});

export const apiTokens = pgTable('api_tokens', {
  id: text('id').primaryKey(),
  hash: text('hash').notNull().unique(),
  name: text('name').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: at('created_at').notNull().default(sql`now()`),
  lastUsedAt: at('last_used_at'),
  revokedAt: at('revoked_at'),
});

export const auditLog = pgTable('audit_log', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  at: at('at').notNull().default(sql`now()`),
  actor: text('actor').notNull(),
  action: text('action').notNull(),
  target: text('target'),
  address: text('address'),
  details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
});
