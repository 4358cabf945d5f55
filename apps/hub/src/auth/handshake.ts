/**
 * Authentication and authorisation of a WebSocket handshake, as a Fastify `preValidation` hook: every
 * refusal is a plain HTTP answer before the upgrade, never a 101 followed by a close (SPEC "WebSocket
 * endpoints"). The cheap checks come first so that floods cost as little as possible.
 */
import { DEVICE_ID_PATTERN, filterError, type Permission, type Role } from '@edgewire/protocol';
import type {} from '@fastify/websocket';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sessionCookie } from '../api/callers.js';
import type { OriginPolicy } from '../api/origin.js';
import type { ConnectionSlots } from '../cluster/connection-slots.js';
import type { ConnectionIdentity } from '../connections/connection.js';
import { KeyedBuckets, SlidingWindowCounter } from '../connections/rate-limit.js';
import type { OperatorSession } from '../operators/session-store.js';
import { maySubscribe } from '../permissions/policy.js';
import { HubStats } from '../stats.js';
import { authenticate, CredentialError } from './credentials.js';
import type { TokenCache } from './token-cache.js';

/** A query parameter with such a name is a credential in the URL, where proxies and logs would keep it. */
const CREDENTIAL_PARAM = /token|auth|key|secret|pass|bearer|credential|session|jwt|sig/i;
/** What a client over its token's `maxConnections` is told to wait. */
const SLOTS_RETRY_AFTER_SEC = 5;

export interface HandshakeLimits {
  readonly handshakeRatePerAddress: number;
  readonly deviceConnectsPerMinute: number;
}

/** What a successful handshake hands to the WebSocket handler. */
export interface AcceptedHandshake {
  readonly identity: ConnectionIdentity;
  readonly topics: readonly string[];
  /** When the token was looked up (epoch ms): a revocation after this must still reach the connection. */
  readonly checkedAt: number;
  /** From a `User-Agent: edgewire-agent/<version>` header, when the client sent one. */
  readonly agentVersion: string | undefined;
}

/** Operators on `/ws`: the cookie's session, from an allowed origin (cross-site WebSocket hijacking). */
export interface OperatorHandshake {
  readonly origins: Pick<OriginPolicy, 'allows'>;
  find(secret: string): Promise<OperatorSession | undefined>;
}

/** Operators read every topic, `$admin/…` included; admins may also send commands to devices. */
export function operatorPermissions(role: Role): Permission[] {
  const read: Permission[] = [
    { filter: '#', access: 'read' },
    { filter: '$admin/#', access: 'read' },
  ];
  return role === 'admin' ? [...read, { filter: 'devices/+/cmd/#', access: 'readwrite' }] : read;
}

const AGENT_VERSION = /\bedgewire-agent\/([0-9A-Za-z.+-]{1,32})/;

export class Handshake {
  readonly #accepted = new WeakMap<FastifyRequest['raw'], AcceptedHandshake>();
  readonly #addresses: KeyedBuckets;
  readonly #deviceConnects: SlidingWindowCounter;

  constructor(
    private readonly tokens: TokenCache,
    private readonly slots: ConnectionSlots,
    private readonly stats: HubStats,
    limits: HandshakeLimits,
    private readonly operators?: OperatorHandshake,
  ) {
    this.#addresses = new KeyedBuckets(limits.handshakeRatePerAddress, limits.handshakeRatePerAddress * 5);
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
      if (!(error instanceof CredentialError)) throw error;
      HubStats.bump(this.stats.handshakeRefusals, String(error.statusCode));
      request.log.info(
        { status: error.statusCode, reason: error.message, device: deviceId, address: request.ip },
        'handshake refused',
      );
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
    const query = request.query as Record<string, unknown>;
    if (Object.keys(query).some((name) => CREDENTIAL_PARAM.test(name))) {
      throw new CredentialError(400, 'credentials belong in the Authorization header, never in the URL');
    }
    if (deviceId !== undefined && !DEVICE_ID_PATTERN.test(deviceId)) {
      throw new CredentialError(400, 'malformed device id');
    }
    const wait = this.#addresses.take(request.ip);
    if (wait > 0) throw new CredentialError(429, 'too many handshakes from this address', wait);

    const checkedAt = Date.now();
    const cookie = sessionCookie(request);
    if (this.operators && deviceId === undefined && request.headers.authorization === undefined && cookie) {
      return this.#operator(request, this.operators, cookie, checkedAt);
    }
    const record = await authenticate(this.tokens, request.headers.authorization);
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
    };
    const topics = this.#topics(request, identity);

    if (deviceId !== undefined) {
      const backOff = this.#deviceConnects.hit(deviceId);
      if (backOff > 0) throw new CredentialError(429, 'device is reconnecting too often', backOff);
    }
    const release = await this.slots.reserve(record.id, record.maxConnections);
    if (!release)
      throw new CredentialError(429, 'maxConnections reached for this token', SLOTS_RETRY_AFTER_SEC);
    // The slot is the TCP connection's: it comes back when the socket closes, upgraded or not.
    if (request.raw.socket.destroyed) release();
    else request.raw.socket.once('close', release);
    this.tokens.noteUse(record.id, (error) => request.log.warn({ err: error }, 'recording token use failed'));
    const agentVersion = AGENT_VERSION.exec(request.headers['user-agent'] ?? '')?.[1];
    return { identity, topics, checkedAt, agentVersion };
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
    return filters;
  }
}
