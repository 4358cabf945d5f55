import type { Migration } from '../migrate.js';

/** The channel on which the database announces credential changes (see `auth/revocation-listener.ts`). */
export const CREDENTIALS_CHANNEL = 'edgewire_credentials';

/**
 * A function and trigger announcing `<kind>:<id>` when a row of `table` is deleted. The SQL is what this
 * migration always ran (migrations are recorded by id only, so a database that applied it keeps the same
 * functions and triggers as a new one).
 */
const announceDeletion = (kind: string, table: string) => `
      create or replace function edgewire_announce_${kind}() returns trigger language plpgsql as $$
      begin
        perform pg_notify('${CREDENTIALS_CHANNEL}', '${kind}:' || old.id);
        return null;
      end $$;
      drop trigger if exists ${table}_announce on ${table};
      create trigger ${table}_announce after delete on ${table}
        for each row execute function edgewire_announce_${kind}();`;

/**
 * Operators (users, their sessions, sign-in failures), admin API tokens, the audit log, what operators
 * edit on devices and tokens (with a version for ETags), and the triggers that make the database itself
 * announce every change that must end live connections, whoever made it: the hub, the CLI, or SQL typed
 * into psql. Each announcement is `NOTIFY edgewire_credentials, '<kind>:<id>'`, delivered at commit.
 */
export const operatorsMigration: Migration = {
  id: '0003_operators',
  up: (ctx) =>
    ctx.exec(`
      create table if not exists users (
        name text primary key,
        role text not null check (role in ('admin', 'viewer')),
        password_hash text not null,
        version integer not null default 1,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );
      create table if not exists sessions (
        id text primary key,
        secret_hash text not null unique,
        user_name text not null references users (name) on delete cascade,
        created_at timestamptz not null default now(),
        last_seen_at timestamptz not null default now(),
        expires_at timestamptz not null,
        address text
      );
      create index if not exists sessions_user_name on sessions (user_name);
      create table if not exists sign_in_failures (
        key text primary key,
        failures integer not null,
        last_at timestamptz not null
      );
      create table if not exists api_tokens (
        id text primary key,
        hash text not null unique,
        name text not null,
        created_by text not null,
        created_at timestamptz not null default now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      );
      create table if not exists audit_log (
        id bigint generated always as identity primary key,
        at timestamptz not null default now(),
        actor text not null,
        action text not null,
        target text,
        address text,
        details jsonb not null default '{}'
      );
      create index if not exists audit_log_actor on audit_log (actor, id);
      create index if not exists audit_log_action on audit_log (action, id);
      create index if not exists audit_log_target on audit_log (target, id);

      alter table devices add column if not exists name text;
      alter table devices add column if not exists description text not null default '';
      alter table devices add column if not exists labels jsonb not null default '{}';
      alter table devices add column if not exists version integer not null default 1;
      alter table devices add column if not exists last_seen_at timestamptz;
      alter table devices add column if not exists last_address text;
      alter table devices add column if not exists agent_version text;
      alter table tokens add column if not exists name text;
      alter table tokens add column if not exists version integer not null default 1;

      create or replace function edgewire_announce_token() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' then
          perform pg_notify('${CREDENTIALS_CHANNEL}', 'token:' || old.id);
        elsif (new.revoked_at, new.expires_at, new.hash, new.device_id)
              is distinct from (old.revoked_at, old.expires_at, old.hash, old.device_id) then
          perform pg_notify('${CREDENTIALS_CHANNEL}', 'token:' || new.id);
        end if;
        return null;
      end $$;
      drop trigger if exists tokens_announce on tokens;
      create trigger tokens_announce after update or delete on tokens
        for each row execute function edgewire_announce_token();

      create or replace function edgewire_announce_permission() returns trigger language plpgsql as $$
      begin
        if tg_op in ('UPDATE', 'DELETE') then
          perform pg_notify('${CREDENTIALS_CHANNEL}', 'token:' || old.token_id);
        end if;
        if tg_op in ('UPDATE', 'INSERT') then
          perform pg_notify('${CREDENTIALS_CHANNEL}', 'token:' || new.token_id);
        end if;
        return null;
      end $$;
      drop trigger if exists permissions_announce on permissions;
      create trigger permissions_announce after insert or update or delete on permissions
        for each row execute function edgewire_announce_permission();

${announceDeletion('device', 'devices')}

      -- A removed operator loses their sessions by cascade; a new role or password ends them here.
      create or replace function edgewire_end_user_sessions() returns trigger language plpgsql as $$
      begin
        if (new.role, new.password_hash) is distinct from (old.role, old.password_hash) then
          delete from sessions where user_name = new.name;
        end if;
        return null;
      end $$;
      drop trigger if exists users_end_sessions on users;
      create trigger users_end_sessions after update on users
        for each row execute function edgewire_end_user_sessions();

${announceDeletion('session', 'sessions')}
    `),
};
