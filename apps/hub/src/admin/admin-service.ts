/**
 * Managing devices and tokens: the one service behind the CLI, the local admin endpoint and
 * `RunningHub.admin`. Every change that takes rights away is announced on the bus, which closes the
 * affected connections (4003) and clears the token cache wherever they are.
 */
import { deviceIdSchema, filterError, NAME_RULE, type Permission } from '@edgewire/protocol';
import type { DeviceSummary, IssuedToken, TokenStore, TokenSummary } from '../auth/token-store.js';
import type { Bus } from '../bus/bus.js';

export class InvalidRequestError extends Error {
  override name = 'InvalidRequestError';
}

export interface AddTokenOptions {
  permissions: Permission[];
  maxConnections?: number | undefined;
  expiresAt?: Date | undefined;
}

export interface AdminApi {
  addDevice(id: string): Promise<IssuedToken>;
  removeDevice(id: string): Promise<void>;
  addToken(options: AddTokenOptions): Promise<IssuedToken>;
  revokeToken(id: string): Promise<void>;
  setTokenPermissions(id: string, permissions: Permission[]): Promise<void>;
  listDevices(): Promise<DeviceSummary[]>;
  listTokens(): Promise<TokenSummary[]>;
}

function checkPermissions(permissions: readonly Permission[]): void {
  for (const { filter, access } of permissions) {
    const problem = filterError(filter);
    if (problem) throw new InvalidRequestError(`permission ${filter}: ${problem}`);
    if (access !== 'read' && access !== 'readwrite') {
      throw new InvalidRequestError(`permission ${filter}: access must be read or readwrite`);
    }
  }
}

export class AdminService implements AdminApi {
  constructor(
    private readonly store: TokenStore,
    private readonly bus: Bus,
  ) {}

  async addDevice(id: string): Promise<IssuedToken> {
    if (!deviceIdSchema.safeParse(id).success) {
      throw new InvalidRequestError(`device id: ${NAME_RULE}`);
    }
    const issued = await this.store.addDevice(id);
    return { id, token: issued.token };
  }

  async removeDevice(id: string): Promise<void> {
    const tokenIds = await this.store.removeDevice(id);
    this.bus.control({ type: 'device-removed', deviceId: id });
    for (const tokenId of tokenIds) this.bus.control({ type: 'token-invalidated', tokenId });
  }

  async addToken(options: AddTokenOptions): Promise<IssuedToken> {
    if (options.permissions.length === 0)
      throw new InvalidRequestError('a client token needs at least one permission');
    checkPermissions(options.permissions);
    const max = options.maxConnections;
    if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
      throw new InvalidRequestError('maxConnections must be a positive integer');
    }
    if (options.expiresAt !== undefined && !(options.expiresAt.getTime() > Date.now())) {
      throw new InvalidRequestError('expiresAt must be a date in the future');
    }
    return this.store.addClientToken(options);
  }

  async revokeToken(id: string): Promise<void> {
    await this.store.revoke(id);
    this.bus.control({ type: 'token-invalidated', tokenId: id });
  }

  async setTokenPermissions(id: string, permissions: Permission[]): Promise<void> {
    checkPermissions(permissions);
    await this.store.setPermissions(id, permissions);
    this.bus.control({ type: 'token-invalidated', tokenId: id });
  }

  listDevices(): Promise<DeviceSummary[]> {
    return this.store.listDevices();
  }

  listTokens(): Promise<TokenSummary[]> {
    return this.store.listTokens();
  }
}
