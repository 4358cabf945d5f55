/**
 * Who is calling the operators' API: an operator with a session cookie, a program with an admin API
 * token (Bearer), or the management CLI with the local admin secret. A Bearer header wins over a
 * cookie: browsers cannot add one to a cross-site request, so a request carrying it is not forged.
 */
import type { Role } from '@edgewire/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sameSecret } from '../auth/secrets.js';
import { ApiTokenStore } from '../operators/api-token-store.js';
import type { Actor } from '../operators/audit-log.js';
import type { OperatorSession, SessionStore } from '../operators/session-store.js';

export type Caller =
  | {
      readonly kind: 'session';
      readonly role: Role;
      readonly session: OperatorSession;
      readonly actor: Actor;
    }
  | { readonly kind: 'apitoken'; readonly role: 'admin'; readonly id: string; readonly actor: Actor }
  | { readonly kind: 'local'; readonly role: 'admin'; readonly actor: Actor };

const BEARER = /^Bearer +(\S{1,512})$/i;
const COOKIE = 'edgewire_session';
/** With `Secure`, the `__Host-` prefix also pins the cookie to this host and path `/`. */
const SECURE_COOKIE = `__Host-${COOKIE}`;

export interface CookieSettings {
  /** Treat every request as made over TLS (the hub sits behind a TLS proxy that does not say so). */
  readonly behindTls: boolean;
}

/** Whether the browser reached the hub over TLS: directly, through a trusted proxy, or by setting. */
export function overTls(request: FastifyRequest, settings: CookieSettings): boolean {
  return settings.behindTls || request.protocol === 'https';
}

/** The session secret in the request's cookie header, if any. */
export function sessionCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const name = part.slice(0, at).trim();
    if (name === COOKIE || name === SECURE_COOKIE) {
      const value = part.slice(at + 1).trim();
      return /^[A-Za-z0-9_-]{20,100}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** Sets (or, with `secret` undefined, clears) the session cookie: HttpOnly, SameSite=Strict, Secure over TLS. */
export function setSessionCookie(
  reply: FastifyReply,
  request: FastifyRequest,
  settings: CookieSettings,
  secret: string | undefined,
  maxAgeSec = 0,
): void {
  const secure = overTls(request, settings);
  const attributes = [
    `${secure ? SECURE_COOKIE : COOKIE}=${secret ?? ''}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${secret === undefined ? 0 : maxAgeSec}`,
  ];
  if (secure) attributes.push('Secure');
  reply.header('set-cookie', attributes.join('; '));
}

export class CallerResolver {
  constructor(
    private readonly sessions: SessionStore,
    private readonly apiTokens: ApiTokenStore,
    private readonly localSecret: string,
  ) {}

  /** The caller, or undefined when the request carries no valid operator credential. */
  async resolve(request: FastifyRequest): Promise<Caller | undefined> {
    const address = request.ip;
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const token = BEARER.exec(authorization)?.[1];
      if (token === undefined) return undefined;
      if (sameSecret(token, this.localSecret))
        return { kind: 'local', role: 'admin', actor: { name: 'cli', address } };
      if (!ApiTokenStore.looksLikeApiToken(token)) return undefined;
      const row = await this.apiTokens.authenticate(token);
      if (!row) return undefined;
      return { kind: 'apitoken', role: 'admin', id: row.id, actor: { name: `apitoken:${row.id}`, address } };
    }
    const secret = sessionCookie(request);
    if (secret === undefined) return undefined;
    const session = await this.sessions.find(secret);
    if (!session) return undefined;
    return { kind: 'session', role: session.role, session, actor: { name: `user:${session.name}`, address } };
  }
}
