/**
 * Authentication and authorisation of a WebSocket handshake, as a Fastify `preValidation` hook: every
 * refusal is a plain HTTP answer before the upgrade, never a 101 followed by a close (SPEC "WebSocket
 * endpoints"). The cheap checks come first so that floods cost as little as possible.
 */
import {
  adminTopics,
  DEVICE_ID_PATTERN,
  filterError,
  type Permission,
  type Role,
  viewerTopics,
} from '@edgewire/protocol';
import type {} from '@fastify/websocket';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sessionCookie } from '../api/callers.js';
import type { OriginPolicy } from '../api/origin.js';
import { type ConnectionSlots, MemorySlots } from '../cluster/connection-slots.js';
import type { DeviceGenerations } from '../cluster/device-generations.js';
import type { ConnectionIdentity } from '../connections/connection.js';
import { SlidingWindowCounter } from '../connections/rate-limit.js';
import {
  type SubscriptionLimits,
  subscriptionLimitError,
  usageOf,
} from '../connections/subscription-limits.js';
import type { LogSummary } from '../log-summary.js';
import type { OperatorSession } from '../operators/session-store.js';
import { maySubscribe } from '../permissions/policy.js';
import { HubStats } from '../stats.js';
import { AbandonedRequest } from '../storage/batcher.js';
import { authenticate, CredentialError, checkCredentialPlacement } from './credentials.js';
import { HandshakeAdmission, type HandshakeRateLimits } from './handshake-admission.js';
import type { TokenCache } from './token-cache.js';

/** What a client over its token's `maxConnections`, or its address's, is told to wait. */
const SLOTS_RETRY_AFTER_SEC = 5;
const NO_SUBSCRIPTIONS = { count: 0, bytes: 0 };

export interface HandshakeLimits extends HandshakeRateLimits, SubscriptionLimits {
  readonly deviceConnectsPerMinute: number;
  /** Live connections from one address (on this instance). */
  readonly maxConnectionsPerAddress: number;
}

/** What a successful handshake hands to the WebSocket handler. */
export interface AcceptedHandshake {
  readonly identity: ConnectionIdentity;
  readonly topics: readonly string[];
  /**
   * When the credentials were looked up (epoch ms): a session end or an unversioned token change heard
   * after this must still reach the connection (versioned token changes go by `identity.credentialsVersion`).
   */
  readonly checkedAt: number;
  /** From a `User-Agent: edgewire-agent/<version>` header, when the client sent one. */
  readonly agentVersion: string | undefined;
}

/** Operators on `/ws`: the cookie's session, from an allowed origin (cross-site WebSocket hijacking). */
export interface OperatorHandshake {
  readonly origins: Pick<OriginPolicy, 'allows'>;
  find(secret: string): Promise<OperatorSession | undefined>;
}

/**
 * Operators read every topic, `$admin/…` and `$viewers/…` included; admins may also send commands to
 * devices.
 */
export function operatorPermissions(role: Role): Permission[] {
  const read: Permission[] = [
    { filter: '#', access: 'read' },
    { filter: adminTopics.all, access: 'read' },
    { filter: viewerTopics.all, access: 'read' },
  ];
  return role === 'admin' ? [...read, { filter: 'devices/+/cmd/#', access: 'readwrite' }] : read;
}

const AGENT_VERSION = /\bedgewire-agent\/([0-9A-Za-z.+-]{1,32})/;

export class Handshake {
  readonly #accepted = new WeakMap<FastifyRequest['raw'], AcceptedHandshake>();
  readonly #admission: HandshakeAdmission;
  readonly #deviceConnects: SlidingWindowCounter;
  /** Live connections per remote address: a slot per connection, like the token's. */
  readonly #addressConnections = new MemorySlots();

  constructor(
    private readonly tokens: TokenCache,
    private readonly slots: ConnectionSlots,
    private readonly generations: DeviceGenerations,
    private readonly stats: HubStats,
    private readonly limits: HandshakeLimits,
    /** Refusals are logged per address: the first ones in full, then summed up per interval. */
    private readonly refusalLog: LogSummary,
    private readonly operators?: OperatorHandshake,
  ) {
    this.#admission = new HandshakeAdmission(limits);
    this.#deviceConnects = new SlidingWindowCounter(limits.deviceConnectsPerMinute, 60_000);
  }

  /** The Fastify hook; `deviceId` is the path's id on `/ws/device/{deviceId}`, `undefined` on `/ws`. */
  readonly preValidation = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!request.ws) {
      await reply
        .code(426)
        .header('upgrade', 'websocket')
        .send({ error: 426, message: 'WebSocket upgrade required' });
      return;
    }
    const deviceId = (request.params as { deviceId?: string }).deviceId;
    try {
      const accepted = await this.#check(request, deviceId);
      this.#accepted.set(request.raw, accepted);
    } catch (error) {
      if (error instanceof AbandonedRequest) {
        // The client left before its token was looked up: nobody to answer, nothing more to do.
        reply.hijack();
        return;
      }
      if (!(error instanceof CredentialError)) throw error;
      HubStats.bump(this.stats.handshakeRefusals, String(error.statusCode));
      this.refusalLog.note(request.ip, {
        status: error.statusCode,
        reason: error.message,
        device: deviceId,
        address: request.ip,
      });
      if (error.statusCode === 401) reply.header('www-authenticate', 'Bearer');
      if (error.retryAfterSec !== undefined) reply.header('retry-after', String(error.retryAfterSec));
      await reply.code(error.statusCode).send({ error: error.statusCode, message: error.message });
    }
  };

  /** The accepted handshake of `request`; each is taken once. */
  take(request: FastifyRequest): AcceptedHandshake | undefined {
    const accepted = this.#accepted.get(request.raw);
    this.#accepted.delete(request.raw);
    return accepted;
  }

  async #check(request: FastifyRequest, deviceId: string | undefined): Promise<AcceptedHandshake> {
    checkCredentialPlacement(request);
    if (deviceId !== undefined && !DEVICE_ID_PATTERN.test(deviceId)) {
      throw new CredentialError(400, 'malformed device id');
    }
    const admission = this.#admission.admit(request.ip);
    if (!admission.admitted) throw new CredentialError(429, admission.reason, admission.retryAfterSec);
    try {
      return await this.#authorize(request, deviceId);
    } finally {
      admission.done();
    }
  }

  async #authorize(request: FastifyRequest, deviceId: string | undefined): Promise<AcceptedHandshake> {
    const checkedAt = Date.now();
    const cookie = sessionCookie(request);
    if (this.operators && deviceId === undefined && request.headers.authorization === undefined && cookie) {
      return this.#operator(request, this.operators, cookie, checkedAt);
    }
    // A client that gave up waiting (a fleet all reconnecting at once) costs no database work.
    const socket = request.raw.socket;
    const record = await authenticate(this.tokens, request.headers.authorization, () => !socket.destroyed);
    if (deviceId === undefined) {
      if (record.kind !== 'client')
        throw new CredentialError(403, 'device tokens connect at /ws/device/{deviceId}');
    } else if (record.kind !== 'device' || record.deviceId !== deviceId) {
      throw new CredentialError(403, `token does not belong to device ${deviceId}`);
    }

    const identity: ConnectionIdentity = {
      tokenId: record.id,
      kind: record.kind,
      deviceId,
      permissions: record.permissions as Permission[],
      expiresAt: record.expiresAt,
      address: request.ip,
      credentialsVersion: record.credentialsVersion,
    };
    const topics = this.#topics(request, identity);

    if (deviceId !== undefined) {
      const backOff = this.#deviceConnects.hit(deviceId);
      if (backOff > 0) throw new CredentialError(429, 'device is reconnecting too often', backOff);
    }
    const releaseAddress = await this.#addressConnections.reserve(
      request.ip,
      this.limits.maxConnectionsPerAddress,
    );
    if (!releaseAddress) {
      HubStats.bump(this.stats.limitRefusals, 'connections_per_address');
      throw new CredentialError(429, 'too many connections from this address', SLOTS_RETRY_AFTER_SEC);
    }
    // The generation is taken alongside the slot, so a device's handshake waits for one round trip.
    const [releaseToken, generation] = await Promise.all([
      this.slots.reserve(record.id, record.maxConnections),
      deviceId === undefined ? undefined : this.generations.next(deviceId),
    ]);
    if (!releaseToken) {
      releaseAddress();
      throw new CredentialError(429, 'maxConnections reached for this token', SLOTS_RETRY_AFTER_SEC);
    }
    const release = () => {
      releaseAddress();
      releaseToken();
    };
    // The slots are the TCP connection's: they come back when the socket closes, upgraded or not.
    if (request.raw.socket.destroyed) release();
    else request.raw.socket.once('close', release);
    this.tokens.noteUse(record.id, (error) => request.log.warn({ err: error }, 'recording token use failed'));
    const agentVersion = AGENT_VERSION.exec(request.headers['user-agent'] ?? '')?.[1];
    return { identity: { ...identity, generation }, topics, checkedAt, agentVersion };
  }

  async #operator(
    request: FastifyRequest,
    operators: OperatorHandshake,
    secret: string,
    checkedAt: number,
  ): Promise<AcceptedHandshake> {
    // A page on another site can open a WebSocket with the operator's cookie; its Origin gives it away.
    if (!operators.origins.allows(request)) {
      throw new CredentialError(403, 'Origin: the session cookie is accepted only from an allowed origin');
    }
    const session = await operators.find(secret);
    if (!session) throw new CredentialError(401, 'session ended or unknown: sign in again');
    const identity: ConnectionIdentity = {
      tokenId: session.id,
      kind: 'operator',
      deviceId: undefined,
      permissions: operatorPermissions(session.role),
      expiresAt: session.expiresAt,
      address: request.ip,
      operator: session.name,
    };
    return { identity, topics: this.#topics(request, identity), checkedAt, agentVersion: undefined };
  }

  /** The `Topics` header's filters, each one checked against the token's grants. */
  #topics(request: FastifyRequest, identity: ConnectionIdentity): string[] {
    const header = request.headers.topics;
    const text = Array.isArray(header) ? header.join(',') : (header ?? '');
    const filters = text
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f.length > 0);
    for (const filter of filters) {
      const problem = filterError(filter);
      if (problem) throw new CredentialError(400, `Topics: ${problem}`);
      if (!maySubscribe(identity, filter))
        throw new CredentialError(403, `Topics: not allowed to subscribe to ${filter}`);
    }
    const overLimit = subscriptionLimitError(
      this.limits,
      NO_SUBSCRIPTIONS,
      NO_SUBSCRIPTIONS,
      usageOf(new Set(filters)),
    );
    if (overLimit !== null) throw new CredentialError(400, `Topics: ${overLimit}`);
    return filters;
  }
}
