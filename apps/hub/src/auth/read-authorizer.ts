/**
 * Read access for REST routes (history): operators (session cookie, admin API token) read every
 * device; a client token reads what it may watch live (`devices/{id}/#`), and nobody else reads.
 */
import type { Permission } from '@edgewire/protocol';
import type { FastifyRequest } from 'fastify';
import type { CallerResolver } from '../api/callers.js';
import { maySubscribe } from '../permissions/policy.js';
import { authenticate, CredentialError } from './credentials.js';
import type { TokenCache } from './token-cache.js';

export function createReadAuthorizer(tokens: TokenCache, callers: Pick<CallerResolver, 'resolve'>) {
  return async function authorizeRead(request: FastifyRequest, filter: string): Promise<void> {
    if (await callers.resolve(request)) return;
    const record = await authenticate(tokens, request.headers.authorization);
    const principal = {
      tokenId: record.id,
      deviceId: record.deviceId ?? undefined,
      permissions: record.permissions as Permission[],
    };
    if (!maySubscribe(principal, filter)) throw new CredentialError(403, `no read access to ${filter}`);
  };
}
