/**
 * Token lookups with a short memory: a device fleet reconnecting after a hub restart would otherwise
 * send one query per handshake. Revocation events clear it (see `hub.ts`), so the memory never
 * outlives a change made through the hub; the TTL bounds changes made behind its back. Unknown tokens
 * are remembered for as long, so a client repeating a wrong token costs one query per TTL, not one per
 * request (a new token cannot be among them: it is 256 fresh random bits).
 */
import { hashToken, sameSecret } from './secrets.js';
import type { TokenRecord, TokenStore } from './token-store.js';

/** Beyond this many remembered tokens the cache starts over rather than grow without bound. */
const MAX_ENTRIES = 10_000;
/** `last_used_at` is a hint for operators, not an audit log: write it at most this often per token. */
const TOUCH_INTERVAL_MS = 60_000;

export class TokenCache {
  readonly #entries = new Map<string, { record: TokenRecord; until: number }>();
  /** Hashes of tokens the store did not know, and until when that answer stands. */
  readonly #unknown = new Map<string, number>();
  readonly #touched = new Map<string, number>();

  constructor(
    private readonly store: TokenStore,
    private readonly ttlMs: number,
  ) {}

  /** The record of `token`, or `undefined` when no such token exists. */
  async lookup(token: string): Promise<TokenRecord | undefined> {
    const hash = hashToken(token);
    const now = Date.now();
    const cached = this.#entries.get(hash);
    if (cached && cached.until > now) return cached.record;
    if ((this.#unknown.get(hash) ?? 0) > now) return undefined;
    const record = await this.store.findByHash(hash);
    // The index found the row by hash; this comparison is the one that decides, in constant time.
    if (!record || !sameSecret(record.hash, hash)) {
      if (this.ttlMs > 0) {
        if (this.#unknown.size >= MAX_ENTRIES) this.#unknown.clear();
        this.#unknown.set(hash, now + this.ttlMs);
      }
      return undefined;
    }
    if (this.ttlMs > 0) {
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
      this.#entries.set(hash, { record, until: now + this.ttlMs });
    }
    return record;
  }

  /** Records a successful use, sparing the database a write per handshake. */
  noteUse(tokenId: string, onError: (error: unknown) => void): void {
    const now = Date.now();
    if ((this.#touched.get(tokenId) ?? 0) > now - TOUCH_INTERVAL_MS) return;
    if (this.#touched.size >= MAX_ENTRIES) this.#touched.clear();
    this.#touched.set(tokenId, now);
    this.store.touch(tokenId).catch(onError);
  }

  clear(): void {
    this.#entries.clear();
  }
}
