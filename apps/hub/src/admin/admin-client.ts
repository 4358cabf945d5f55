/**
 * `AdminApi` over the operators' HTTP API of a running hub, for management commands: the local admin
 * secret (see `local-admin.ts`) is its Bearer credential. Errors carry the hub's message, which never
 * includes a credential.
 */
import type { Permission, Role, UserView } from '@edgewire/protocol';
import type { IssuedToken } from '../auth/token-store.js';
import type { ApiTokenRow } from '../operators/api-token-store.js';
import type { AddTokenOptions, AdminApi } from './admin-service.js';
import type { DeviceEdit } from './device-store.js';
import type { LocalAdmin } from './local-admin.js';

export class AdminRequestError extends Error {
  override name = 'AdminRequestError';
}

const path = (strings: TemplateStringsArray, ...ids: string[]) =>
  strings.reduce((out, part, i) => out + part + (i < ids.length ? encodeURIComponent(ids[i]!) : ''), '');

interface ApiTokenJson extends Omit<ApiTokenRow, 'createdAt' | 'lastUsedAt' | 'revokedAt'> {
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export class HttpAdminClient implements AdminApi {
  constructor(private readonly hub: Pick<LocalAdmin, 'url' | 'secret'>) {}

  addDevice(id: string, about: DeviceEdit = {}): Promise<IssuedToken> {
    return this.#call('POST', '/api/devices', { id, ...about }) as Promise<IssuedToken>;
  }

  async removeDevice(id: string): Promise<void> {
    await this.#call('DELETE', path`/api/devices/${id}`);
  }

  addToken(options: AddTokenOptions): Promise<IssuedToken> {
    return this.#call('POST', '/api/tokens', {
      name: options.name,
      permissions: options.permissions,
      maxConnections: options.maxConnections,
      expiresAt: options.expiresAt?.toISOString(),
    }) as Promise<IssuedToken>;
  }

  async revokeToken(id: string): Promise<void> {
    await this.#call('DELETE', path`/api/tokens/${id}`);
  }

  async setTokenPermissions(id: string, permissions: Permission[]): Promise<void> {
    await this.#call('PATCH', path`/api/tokens/${id}`, { permissions });
  }

  async listUsers(): Promise<UserView[]> {
    return ((await this.#call('GET', '/api/users')) as { users: UserView[] }).users;
  }

  addUser(name: string, role: Role, password: string): Promise<UserView> {
    return this.#call('POST', '/api/users', { name, role, password }) as Promise<UserView>;
  }

  editUser(name: string, edit: { role?: Role; password?: string }): Promise<UserView> {
    return this.#call('PATCH', path`/api/users/${name}`, edit) as Promise<UserView>;
  }

  async removeUser(name: string): Promise<void> {
    await this.#call('DELETE', path`/api/users/${name}`);
  }

  addApiToken(name: string): Promise<IssuedToken> {
    return this.#call('POST', '/api/apitokens', { name }) as Promise<IssuedToken>;
  }

  async listApiTokens(): Promise<ApiTokenRow[]> {
    const { apiTokens } = (await this.#call('GET', '/api/apitokens')) as { apiTokens: ApiTokenJson[] };
    const date = (text: string | null) => (text === null ? null : new Date(text));
    return apiTokens.map((t) => ({
      ...t,
      createdAt: new Date(t.createdAt),
      lastUsedAt: date(t.lastUsedAt),
      revokedAt: date(t.revokedAt),
    }));
  }

  async revokeApiToken(id: string): Promise<void> {
    await this.#call('DELETE', path`/api/apitokens/${id}`);
  }

  async #call(method: string, url: string, body?: unknown): Promise<unknown> {
    const response = await fetch(this.hub.url + url, {
      method,
      headers: {
        authorization: `Bearer ${this.hub.secret}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const json = text ? (JSON.parse(text) as { message?: string }) : undefined;
    if (!response.ok) throw new AdminRequestError(json?.message ?? `hub answered ${response.status}`);
    return json;
  }
}

/** True when `error` means nothing listens at the recorded address, i.e. the hub is not running. */
export function isHubDown(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } })?.cause?.code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH';
}
