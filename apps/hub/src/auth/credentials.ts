/**
 * Who is calling: the bearer token of a request, looked up and checked for revocation and expiry.
 * Shared by the WebSocket handshake and the REST routes, so both refuse the same things the same way.
 */
import type { TokenCache } from './token-cache.js';
import type { TokenRecord } from './token-store.js';

const BEARER = /^Bearer +(\S+)$/i;
/** Longer "tokens" are not ours; refusing them early spares hashing megabytes of header. */
const MAX_TOKEN_LENGTH = 512;

/** A refusal with the HTTP status to answer (Fastify error handlers read `statusCode`). */
export class CredentialError extends Error {
  override name = 'CredentialError';
  constructor(
    readonly statusCode: 400 | 401 | 403 | 429,
    message: string,
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}

/** The valid token presented in `authorization`; throws `CredentialError` (401/403) otherwise. */
export async function authenticate(
  tokens: TokenCache,
  authorization: string | undefined,
): Promise<TokenRecord> {
  const bearer = BEARER.exec(authorization ?? '');
  if (!bearer) throw new CredentialError(401, 'missing credentials: send Authorization: Bearer <token>');
  const token = bearer[1]!;
  const record = token.length <= MAX_TOKEN_LENGTH ? await tokens.lookup(token) : undefined;
  if (!record) throw new CredentialError(401, 'unknown token');
  if (record.revokedAt !== null) throw new CredentialError(403, 'token revoked');
  if (record.expiresAt !== null && record.expiresAt.getTime() <= Date.now()) {
    throw new CredentialError(403, 'token expired');
  }
  return record;
}
