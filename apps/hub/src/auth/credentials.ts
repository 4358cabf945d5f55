/**
 * Who is calling: the bearer token of a request, looked up and checked for revocation and expiry.
 * Shared by the WebSocket handshake and the REST routes, so both refuse the same things the same way.
 */
import type { TokenCache } from './token-cache.js';
import type { TokenRecord } from './token-store.js';

const BEARER = /^Bearer +(\S+)$/i;
/** A query parameter with such a name is a credential in the URL, where proxies and logs would keep it. */
const CREDENTIAL_PARAM = /token|auth|key|secret|pass|bearer|credential|session|jwt|sig/i;
/** A value that is a credential whatever its parameter is called: one of our tokens, a bearer value, a JWT. */
const CREDENTIAL_VALUE = /(?<![A-Za-z0-9_-])ewt_[A-Za-z0-9_-]{40,}|^bearer\s|^eyJ[A-Za-z0-9_-]*\.eyJ/i;
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

/** The parts of a request that say how it presents credentials. */
export interface PresentedRequest {
  readonly raw: { readonly rawHeaders: readonly string[] };
  readonly query: unknown;
}

/**
 * Refuses (400) credentials presented where they must not be: in the URL, under any parameter name,
 * where proxies and logs keep them; or in two `Authorization` headers, of which a proxy and the hub
 * might believe different ones.
 */
export function checkCredentialPlacement(request: PresentedRequest): void {
  const { rawHeaders } = request.raw;
  let authorizations = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'authorization') authorizations++;
  }
  if (authorizations > 1) throw new CredentialError(400, 'send one Authorization header, not several');
  const query = (request.query ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(query)) {
    const values = Array.isArray(value) ? value : [value];
    if (
      CREDENTIAL_PARAM.test(name) ||
      values.some((v) => typeof v === 'string' && CREDENTIAL_VALUE.test(v))
    ) {
      throw new CredentialError(400, 'credentials belong in the Authorization header, never in the URL');
    }
  }
}

/**
 * The valid token presented in `authorization`; throws `CredentialError` (401/403) otherwise.
 * `stillWanted`: see `TokenCache.lookup` (a caller gone before the lookup ran gets `AbandonedRequest`).
 */
export async function authenticate(
  tokens: TokenCache,
  authorization: string | undefined,
  stillWanted?: () => boolean,
): Promise<TokenRecord> {
  const bearer = BEARER.exec(authorization ?? '');
  if (!bearer) throw new CredentialError(401, 'missing credentials: send Authorization: Bearer <token>');
  const token = bearer[1]!;
  const record = token.length <= MAX_TOKEN_LENGTH ? await tokens.lookup(token, stillWanted) : undefined;
  if (!record) throw new CredentialError(401, 'unknown token');
  if (record.revokedAt !== null) throw new CredentialError(403, 'token revoked');
  if (record.expiresAt !== null && record.expiresAt.getTime() <= Date.now()) {
    throw new CredentialError(403, 'token expired');
  }
  return record;
}
