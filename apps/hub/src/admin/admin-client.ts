/**
 * `AdminApi` over the local admin endpoint of a running hub, for management commands. Errors carry
 * the hub's message, which never includes a credential.
 */
import type { Permission } from '@edgewire/protocol';
import type { DeviceSummary, IssuedToken, TokenSummary } from '../auth/token-store.js';
import type { AddTokenOptions, AdminApi } from './admin-service.js';
import type { LocalAdmin } from './local-admin.js';

export class AdminRequestError extends Error {
  override name = 'AdminRequestError';
}

export class HttpAdminClient implements AdminApi {
  constructor(private readonly hub: Pick<LocalAdmin, 'url' | 'secret'>) {}

  addDevice(id: string): Promise<IssuedToken> {
    return this.#call('POST', '/admin/devices', { id }) as Promise<IssuedToken>;
  }

  async removeDevice(id: string): Promise<void> {
    await this.#call('DELETE', `/admin/devices/${encodeURIComponent(id)}`);
  }

  addToken(options: AddTokenOptions): Promise<IssuedToken> {
    return this.#call('POST', '/admin/tokens', {
      permissions: options.permissions,
      maxConnections: options.maxConnections,
      expiresAt: options.expiresAt?.toISOString(),
    }) as Promise<IssuedToken>;
  }

  async revokeToken(id: string): Promise<void> {
    await this.#call('DELETE', `/admin/tokens/${encodeURIComponent(id)}`);
  }

  async setTokenPermissions(id: string, permissions: Permission[]): Promise<void> {
    await this.#call('PUT', `/admin/tokens/${encodeURIComponent(id)}/permissions`, { permissions });
  }

  listDevices(): Promise<DeviceSummary[]> {
    return this.#call('GET', '/admin/devices') as Promise<DeviceSummary[]>;
  }

  listTokens(): Promise<TokenSummary[]> {
    return this.#call('GET', '/admin/tokens') as Promise<TokenSummary[]>;
  }

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(this.hub.url + path, {
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
