/**
 * Administration: the one service behind the operators' HTTP API, the CLI and `RunningHub.admin`.
 * Each instance acts for one `Actor` (`as(actor)` gives another): every change it makes is written to
 * the audit log under that name, published on `$admin/…` so that every operator's window updates, and,
 * when it takes rights away, announced on the bus (the database announces it too, see migration 0003),
 * which closes the affected connections (4003) wherever they are.
 */
import {
  type AdminEvent,
  type AuditPage,
  type AuditQuery,
  adminTopics,
  type ClientTokenView,
  type DeviceListQuery,
  type DeviceView,
  deviceIdSchema,
  filterError,
  NAME_RULE,
  type Permission,
  type Presence,
  type Role,
  topics,
  type UserView,
} from '@edgewire/protocol';
import {
  type ClientTokenEdit,
  type ClientTokenRow,
  type IssuedToken,
  TokenStore,
} from '../auth/token-store.js';
import { type Bus, stampNow } from '../bus/bus.js';
import { ConflictError, InvalidRequestError, NotFoundError } from '../errors.js';
import { type ApiTokenRow, ApiTokenStore } from '../operators/api-token-store.js';
import { type Actor, AuditLog, SYSTEM_ACTOR } from '../operators/audit-log.js';
import { PasswordHasher } from '../operators/passwords.js';
import { type UserRow, UserStore } from '../operators/user-store.js';
import type { Database } from '../storage/database.js';
import { readLatestOfDevices } from '../telemetry/history.js';
import { type DeviceEdit, type DeviceRow, DeviceStore } from './device-store.js';

export interface AddTokenOptions {
  name?: string | undefined;
  permissions: Permission[];
  maxConnections?: number | undefined;
  expiresAt?: Date | undefined;
}

/** What the management commands need; the HTTP client of a running hub implements it too. */
export interface AdminApi {
  addDevice(id: string, about?: DeviceEdit): Promise<IssuedToken>;
  removeDevice(id: string): Promise<void>;
  addToken(options: AddTokenOptions): Promise<IssuedToken>;
  revokeToken(id: string): Promise<void>;
  setTokenPermissions(id: string, permissions: Permission[]): Promise<void>;
  listDevices(): Promise<DeviceView[]>;
  listTokens(): Promise<ClientTokenView[]>;
  listUsers(): Promise<UserView[]>;
  addUser(name: string, role: Role, password: string): Promise<UserView>;
  editUser(name: string, edit: { role?: Role; password?: string }, expected?: number): Promise<UserView>;
  removeUser(name: string): Promise<void>;
  addApiToken(name: string): Promise<IssuedToken>;
  listApiTokens(): Promise<ApiTokenRow[]>;
  revokeApiToken(id: string): Promise<void>;
}

export interface AdminParts {
  tokens: TokenStore;
  devices: DeviceStore;
  users: UserStore;
  apiTokens: ApiTokenStore;
  audit: AuditLog;
  hasher: PasswordHasher;
  bus: Bus;
  /** Retained presence of every device known to this hub (empty where no hub runs, e.g. the CLI). */
  presence(): Map<string, Presence>;
  /** The newest stored value per metric of each device (an entry for each id asked, maybe empty). */
  latest(deviceIds: readonly string[]): Promise<Map<string, DeviceView['latest']>>;
}

function checkPermissions(permissions: readonly Permission[]): void {
  for (const { filter, access } of permissions) {
    const problem = filterError(filter);
    if (problem) throw new InvalidRequestError(`permissions: ${filter}: ${problem}`);
    if (access !== 'read' && access !== 'readwrite') {
      throw new InvalidRequestError(`permissions: ${filter}: access must be read or readwrite`);
    }
  }
}

const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString());

function userView(row: UserRow): UserView {
  return { name: row.name, role: row.role, createdAt: row.createdAt.toISOString(), version: row.version };
}

function tokenView(row: ClientTokenRow): ClientTokenView {
  return {
    id: row.id,
    name: row.name,
    permissions: row.permissions,
    maxConnections: row.maxConnections,
    expiresAt: iso(row.expiresAt),
    revokedAt: iso(row.revokedAt),
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: iso(row.lastUsedAt),
    version: row.version,
  };
}

/** Which of `labels` hold: `key=value`, or `key` alone for "has this label". */
function hasLabels(labels: Record<string, string>, wanted: readonly string[]): boolean {
  return wanted.every((selector) => {
    const at = selector.indexOf('=');
    if (at < 0) return Object.hasOwn(labels, selector);
    return labels[selector.slice(0, at)] === selector.slice(at + 1);
  });
}

export class AdminService implements AdminApi {
  constructor(
    private readonly parts: AdminParts,
    readonly actor: Actor = SYSTEM_ACTOR,
  ) {}

  /** The same service acting for `actor` (audit log, `$admin` events). */
  as(actor: Actor): AdminService {
    return new AdminService(this.parts, actor);
  }

  // ---- devices ------------------------------------------------------------------------------------

  async listDevices(query: DeviceListQuery = { label: [] }): Promise<DeviceView[]> {
    const presence = this.parts.presence();
    const needle = query.q?.toLowerCase();
    const rows = (await this.parts.devices.list()).filter(
      (row) =>
        hasLabels(row.labels, query.label) &&
        (needle === undefined ||
          row.id.toLowerCase().includes(needle) ||
          (row.name ?? '').toLowerCase().includes(needle)) &&
        (query.online === undefined || (presence.get(row.id)?.online ?? false) === (query.online === 'true')),
    );
    const latest = await this.parts.latest(rows.map((row) => row.id));
    return rows.map((row) => this.#deviceView(row, presence, latest.get(row.id) ?? []));
  }

  async getDevice(id: string): Promise<DeviceView> {
    const row = await this.parts.devices.get(id);
    if (!row) throw new NotFoundError(`no device ${id}`);
    return this.#view(row);
  }

  async addDevice(id: string, about: DeviceEdit = {}): Promise<IssuedToken> {
    if (!deviceIdSchema.safeParse(id).success) throw new InvalidRequestError(`id: ${NAME_RULE}`);
    const issued = await this.parts.tokens.addDevice(id, about);
    await this.#changed('device', id, 'created', 'device.add', { tokenId: issued.id, ...about });
    return { id, token: issued.token };
  }

  async editDevice(id: string, edit: DeviceEdit, expected?: number): Promise<DeviceView> {
    const view = (row: DeviceRow) => this.#view(row);
    const row = await this.parts.devices.edit(id, edit, expected, view);
    await this.#changed('device', id, 'updated', 'device.edit', { ...edit }, row.version);
    return view(row);
  }

  /** A new token for the device; the old one stops working and its connection closes with 4003. */
  async rotateDeviceToken(id: string): Promise<IssuedToken> {
    const issued = await this.parts.tokens.rotateDeviceToken(id);
    // The old tokens' connections, not the device's: the agent may already be back with the new one.
    for (const tokenId of issued.replaced) this.parts.bus.control({ type: 'token-invalidated', tokenId });
    await this.#changed('device', id, 'updated', 'device.rotate-token', { tokenId: issued.id });
    return { id, token: issued.token };
  }

  async removeDevice(id: string): Promise<void> {
    const tokenIds = await this.parts.tokens.removeDevice(id);
    for (const tokenId of tokenIds) this.parts.bus.control({ type: 'token-invalidated', tokenId });
    // Its presence and its command list go too: nobody keeps seeing a deleted device as online.
    for (const topic of [topics.status(id), topics.commandList(id)]) {
      this.parts.bus.publish({ topic, payload: null, ts: stampNow(), retain: true });
    }
    await this.#changed('device', id, 'deleted', 'device.remove');
  }

  /** One device's view, with its latest values read on their own. */
  async #view(row: DeviceRow): Promise<DeviceView> {
    const latest = await this.parts.latest([row.id]);
    return this.#deviceView(row, this.parts.presence(), latest.get(row.id) ?? []);
  }

  #deviceView(row: DeviceRow, presence: Map<string, Presence>, latest: DeviceView['latest']): DeviceView {
    const status = presence.get(row.id);
    const online = status?.online ?? false;
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      labels: row.labels,
      createdAt: row.createdAt.toISOString(),
      online,
      lastSeen: online ? new Date().toISOString() : (status?.at ?? iso(row.lastSeenAt)),
      connectedSince: online ? status!.at : null,
      address: row.lastAddress,
      agentVersion: row.agentVersion,
      latest,
      version: row.version,
    };
  }

  // ---- client tokens ------------------------------------------------------------------------------

  async listTokens(): Promise<ClientTokenView[]> {
    return (await this.parts.tokens.listClientTokens()).map(tokenView);
  }

  async getToken(id: string): Promise<ClientTokenView> {
    const row = await this.parts.tokens.getClientToken(id);
    if (!row) throw new NotFoundError(`no token ${id}`);
    return tokenView(row);
  }

  async addToken(options: AddTokenOptions): Promise<IssuedToken> {
    if (options.permissions.length === 0)
      throw new InvalidRequestError('permissions: a client token needs at least one permission');
    checkPermissions(options.permissions);
    const max = options.maxConnections;
    if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
      throw new InvalidRequestError('maxConnections: must be a positive integer');
    }
    if (options.expiresAt !== undefined && !(options.expiresAt.getTime() > Date.now())) {
      throw new InvalidRequestError('expiresAt: must be a date in the future');
    }
    const issued = await this.parts.tokens.addClientToken(options);
    await this.#changed('token', issued.id, 'created', 'token.add', {
      name: options.name,
      permissions: options.permissions,
      maxConnections: options.maxConnections,
      expiresAt: options.expiresAt?.toISOString(),
    });
    return issued;
  }

  /** Edits name, permissions, limit or expiry; live connections of the token close with 4003. */
  async editToken(id: string, edit: ClientTokenEdit, expected?: number): Promise<ClientTokenView> {
    if (edit.permissions !== undefined) checkPermissions(edit.permissions);
    if (edit.expiresAt && !(edit.expiresAt.getTime() > Date.now())) {
      throw new InvalidRequestError('expiresAt: must be a date in the future');
    }
    const row = await this.parts.tokens.editClientToken(id, edit, expected, async (r) => tokenView(r));
    if (edit.permissions !== undefined || edit.expiresAt !== undefined) {
      // Connections that read the edited token (a client reconnecting at once) stay open.
      this.parts.bus.control({ type: 'token-invalidated', tokenId: id, version: row.credentialsVersion });
    }
    await this.#changed(
      'token',
      id,
      'updated',
      'token.edit',
      { ...edit, expiresAt: edit.expiresAt === undefined ? undefined : iso(edit.expiresAt) },
      row.version,
    );
    return tokenView(row);
  }

  async revokeToken(id: string): Promise<void> {
    await this.parts.tokens.revoke(id);
    this.parts.bus.control({ type: 'token-invalidated', tokenId: id });
    await this.#changed('token', id, 'updated', 'token.revoke');
  }

  async setTokenPermissions(id: string, permissions: Permission[]): Promise<void> {
    checkPermissions(permissions);
    const version = await this.parts.tokens.setPermissions(id, permissions);
    this.parts.bus.control({ type: 'token-invalidated', tokenId: id, version });
    await this.#changed('token', id, 'updated', 'token.edit', { permissions });
  }

  // ---- operators ----------------------------------------------------------------------------------

  async listUsers(): Promise<UserView[]> {
    return (await this.parts.users.list()).map(userView);
  }

  async addUser(name: string, role: Role, password: string): Promise<UserView> {
    const row = await this.parts.users.add(name, role, await this.parts.hasher.hash(password));
    await this.#changed('user', name, 'created', 'user.add', { role });
    return userView(row);
  }

  /** A new role or password ends the operator's sessions (and closes their WebSockets, 4003). */
  async editUser(
    name: string,
    edit: { role?: Role; password?: string },
    expected?: number,
  ): Promise<UserView> {
    if (edit.role === 'viewer') await this.#keepAnAdmin(name);
    const passwordHash =
      edit.password === undefined ? undefined : await this.parts.hasher.hash(edit.password);
    const row = await this.parts.users.edit(name, { role: edit.role, passwordHash }, expected, async (r) =>
      userView(r),
    );
    await this.#changed(
      'user',
      name,
      'updated',
      'user.edit',
      { role: edit.role, passwordChanged: edit.password === undefined ? undefined : true },
      row.version,
    );
    return userView(row);
  }

  async removeUser(name: string): Promise<void> {
    await this.#keepAnAdmin(name);
    if (!(await this.parts.users.remove(name))) throw new NotFoundError(`no operator ${name}`);
    await this.#changed('user', name, 'deleted', 'user.remove');
  }

  /** Refuses a change that would leave nobody able to administer the hub. */
  async #keepAnAdmin(name: string): Promise<void> {
    const user = await this.parts.users.get(name);
    if (!user) throw new NotFoundError(`no operator ${name}`);
    if (user.role === 'admin' && (await this.parts.users.countAdmins()) <= 1) {
      throw new ConflictError(`name: ${name} is the last admin; make another operator admin first`);
    }
  }

  // ---- admin API tokens ---------------------------------------------------------------------------

  async addApiToken(name: string): Promise<IssuedToken> {
    const issued = await this.parts.apiTokens.add(name, this.actor.name);
    await this.parts.audit.record(this.actor, {
      action: 'apitoken.add',
      target: `apitoken:${issued.id}`,
      details: { name },
    });
    return issued;
  }

  listApiTokens(): Promise<ApiTokenRow[]> {
    return this.parts.apiTokens.list();
  }

  async revokeApiToken(id: string): Promise<void> {
    await this.parts.apiTokens.revoke(id);
    await this.parts.audit.record(this.actor, { action: 'apitoken.revoke', target: `apitoken:${id}` });
  }

  // ---- audit --------------------------------------------------------------------------------------

  audit(query: AuditQuery): Promise<AuditPage> {
    return this.parts.audit.page(query);
  }

  /** Records `action` as `actor`, without a resource event (sign-in, sign-out, kicks). */
  record(action: string, target?: string, details?: Record<string, unknown>): Promise<void> {
    return this.parts.audit.record(this.actor, { action, target, details });
  }

  /** Audits a change and tells every operator's window about it. */
  async #changed(
    resource: AdminEvent['resource'],
    id: string,
    change: AdminEvent['action'],
    action: string,
    details: Record<string, unknown> = {},
    version?: number,
  ): Promise<void> {
    const defined = Object.fromEntries(Object.entries(details).filter(([, v]) => v !== undefined));
    await this.parts.audit.record(this.actor, { action, target: `${resource}:${id}`, details: defined });
    const event: AdminEvent = {
      resource,
      id,
      action: change,
      ...(version === undefined ? {} : { version }),
      by: this.actor.name,
      at: new Date().toISOString(),
    };
    this.parts.bus.publish({
      topic: adminTopics[resource](id),
      payload: event,
      ts: stampNow(),
      retain: false,
    });
  }
}

/** The stores of `database` behind one service (the hub's, or the CLI's when no hub runs). */
export function createAdminParts(
  database: Database,
  bus: Bus,
  options: { scryptLog2N: number; presence?: () => Map<string, Presence> },
): AdminParts {
  return {
    tokens: new TokenStore(database),
    devices: new DeviceStore(database),
    users: new UserStore(database),
    apiTokens: new ApiTokenStore(database),
    audit: new AuditLog(database),
    hasher: new PasswordHasher(options.scryptLog2N),
    bus,
    presence: options.presence ?? (() => new Map()),
    latest: (deviceIds) => readLatestOfDevices(database, deviceIds),
  };
}
