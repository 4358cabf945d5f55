/**
 * Read access for REST routes (history): the same bearer tokens and grants as live subscriptions,
 * so whoever may watch `devices/{id}/#` live may read its history, and nobody else.
 */
import type { Permission } from '@edgewire/protocol';
import type { FastifyRequest } from 'fastify';
import { maySubscribe } from '../permissions/policy.js';
import { authenticate, CredentialError } from './credentials.js';
import type { TokenCache } from './token-cache.js';

export function createReadAuthorizer(tokens: TokenCache) {
  return async function authorizeRead(request: FastifyRequest, filter: string): Promise<void> {
    const record = await authenticate(tokens, request.headers.authorization);
    const principal = {
      tokenId: record.id,
      deviceId: record.deviceId ?? undefined,
      permissions: record.permissions as Permission[],
    };
    if (!maySubscribe(principal, filter)) throw new CredentialError(403, `no read access to ${filter}`);
  };
}
