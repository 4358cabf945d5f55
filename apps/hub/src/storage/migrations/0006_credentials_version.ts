import type { Migration } from '../migrate.js';
import { CREDENTIALS_CHANNEL } from './0003_operators.js';

/**
 * A version of each token's credentials, so that an announcement arriving late closes only the
 * connections that read the token before the change, not those whose handshake already read it after
 * (a client connecting with a token just created, whose permission rows announce the token at commit).
 *
 * Every change to what a token grants (revocation, expiry, hash, device, any permission row), made by
 * the hub, the CLI or SQL typed into psql, adds one to `tokens.credentials_version`. Changes of a token
 * serialise on its row lock, so versions grow in commit order, and a handshake reads the version with the
 * token and its permissions in one statement. The announcement becomes `token:<id>:<version>` (a deleted
 * token announces one past its last version). The bare `token:<id>` of `0003_operators` is still sent for
 * hubs of earlier releases during a rolling upgrade (`edgewire-hub migrate` runs before it); this
 * release's hubs ignore it.
 */
export const credentialsVersionMigration: Migration = {
  id: '0006_credentials_version',
  up: (ctx) =>
    ctx.exec(`
      alter table tokens add column if not exists credentials_version integer not null default 1;

      create or replace function edgewire_bump_credentials() returns trigger language plpgsql as $$
      begin
        if (new.revoked_at, new.expires_at, new.hash, new.device_id)
           is distinct from (old.revoked_at, old.expires_at, old.hash, old.device_id) then
          new.credentials_version := old.credentials_version + 1;
        end if;
        return new;
      end $$;
      drop trigger if exists tokens_bump_credentials on tokens;
      create trigger tokens_bump_credentials before update on tokens
        for each row execute function edgewire_bump_credentials();

      create or replace function edgewire_announce_token() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' then
          perform pg_notify('${CREDENTIALS_CHANNEL}', 'token:' || old.id || ':' || (old.credentials_version + 1));
          perform pg_notify('${CREDENTIALS_CHANNEL}', 'token:' || old.id);
        elsif new.credentials_version is distinct from old.credentials_version then
          perform pg_notify('${CREDENTIALS_CHANNEL}', 'token:' || new.id || ':' || new.credentials_version);
          perform pg_notify('${CREDENTIALS_CHANNEL}', 'token:' || new.id);
        end if;
        return null;
      end $$;

      -- A permission row changes its token's version; the token's own trigger announces it. A token
      -- deleted with its rows (cascade) is already gone here, and has announced itself.
      create or replace function edgewire_announce_permission() returns trigger language plpgsql as $$
      begin
        if tg_op in ('UPDATE', 'DELETE') then
          update tokens set credentials_version = credentials_version + 1 where id = old.token_id;
        end if;
        if tg_op = 'INSERT' or (tg_op = 'UPDATE' and new.token_id is distinct from old.token_id) then
          update tokens set credentials_version = credentials_version + 1 where id = new.token_id;
        end if;
        return null;
      end $$;
    `),
};
