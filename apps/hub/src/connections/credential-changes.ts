/**
 * Which connections a credentials change ends. Changes are heard asynchronously (the database announces
 * them at commit, other hubs over the bus), often after a client has already connected with their result:
 * a token's creation announces the token too. So a token change carries the token's credentials version
 * (migration 0006) and ends only what read an older one; session ends and unversioned token changes end
 * everything that checked its credentials before they were heard. A device deletion ends its connection
 * through its tokens' deletion, which is announced with their versions.
 */
import type { ControlEvent } from '../bus/bus.js';
import type { ConnectionIdentity } from './connection.js';

/** How long a change is remembered for handshakes that were already past their credentials check. */
const MEMORY_MS = 10_000;

export type CredentialsChange = Extract<ControlEvent, { type: 'token-invalidated' | 'session-ended' }>;

/** Whether a connection that read `identity` predates the token change announced with `version`. */
export function predates(identity: ConnectionIdentity, version: number | undefined): boolean {
  return (
    version === undefined ||
    identity.credentialsVersion === undefined ||
    identity.credentialsVersion < version
  );
}

export class CredentialChanges {
  /** Unversioned changes heard and when (key: `token:id`, `session:id`). */
  readonly #heard = new Map<string, number>();
  /** The highest credentials version heard per token, and when. */
  readonly #versions = new Map<string, { version: number; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Remembers `change` for the handshakes in flight. */
  heard(change: CredentialsChange): void {
    const now = this.now();
    for (const [key, at] of this.#heard) if (at < now - MEMORY_MS) this.#heard.delete(key);
    for (const [tokenId, { at }] of this.#versions) if (at < now - MEMORY_MS) this.#versions.delete(tokenId);
    if (change.type === 'token-invalidated' && change.version !== undefined) {
      const known = this.#versions.get(change.tokenId);
      if (known === undefined || known.version < change.version)
        this.#versions.set(change.tokenId, { version: change.version, at: now });
      return;
    }
    const key =
      change.type === 'token-invalidated' ? `token:${change.tokenId}` : `session:${change.sessionId}`;
    this.#heard.set(key, now);
  }

  /** Whether a handshake that checked `identity` at `checkedAt` (epoch ms) missed a change heard since. */
  missed(identity: ConnectionIdentity, checkedAt: number): boolean {
    const heardSince = (key: string) => (this.#heard.get(key) ?? Number.NEGATIVE_INFINITY) >= checkedAt;
    const announced = this.#versions.get(identity.tokenId);
    return (
      (announced !== undefined && predates(identity, announced.version)) ||
      // An operator's `tokenId` is their session's id.
      heardSince(`${identity.kind === 'operator' ? 'session' : 'token'}:${identity.tokenId}`)
    );
  }
}
