import type { Migration } from '../migrate.js';

/** Devices, their tokens (hashes only) and the permissions of client tokens. */
export const coreMigration: Migration = {
  id: '0001_core',
  up: (ctx) =>
    ctx.exec(`
      create table if not exists devices (
        id text primary key,
        created_at timestamptz not null default now()
      );
      create table if not exists tokens (
        id text primary key,
        hash text not null unique,
        kind text not null check (kind in ('device', 'client')),
        device_id text references devices (id) on delete cascade,
        max_connections integer check (max_connections > 0),
        expires_at timestamptz,
        revoked_at timestamptz,
        created_at timestamptz not null default now(),
        last_used_at timestamptz,
        check ((kind = 'device') = (device_id is not null))
      );
      create index if not exists tokens_device_id on tokens (device_id);
      create table if not exists permissions (
        token_id text not null references tokens (id) on delete cascade,
        filter text not null,
        access text not null check (access in ('read', 'readwrite')),
        primary key (token_id, filter)
      );
    `),
};
