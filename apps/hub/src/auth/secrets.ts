/**
 * Credentials: minted from a CSPRNG, shown once, stored only as a sha256 hash. A plain hash is enough
 * because tokens carry 256 random bits: there is nothing to brute-force, so a slow hash would only
 * slow down every handshake.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const TOKEN_PREFIX = 'ewt_';

/** A new bearer token: 256 random bits, base64url, with a prefix that secret scanners can spot. */
export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** A public, non-secret handle for a token (what `token revoke` takes). */
export function newTokenId(): string {
  return `tok_${randomBytes(9).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Compares two secrets (or hashes) without leaking where they first differ. */
export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
