/**
 * Token lookups with a short memory: a device fleet reconnecting after a hub restart would otherwise
 * send one query per handshake. Revocation events clear it (see `hub.ts`), so the memory never
 * outlives a change made through the hub; the TTL bounds changes made behind its back. Unknown tokens
 * are remembered for as long, so a client repeating a wrong token costs one query per TTL, not one per
 * request (a new token cannot be among them: it is 256 fresh random bits).
 *
 * What still reaches the database is batched: the lookups (and the `last_used_at` writes) of all the
 * handshakes in progress go as one statement, so a cold cache after a restart costs a statement per
 * batch, not per device.
 */
import { Batcher } from '../storage/batcher.js';
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
  readonly #lookups: Batcher<string, undefined, TokenRecord>;
  readonly #touches: Batcher<string, undefined, never>;
  /** Counts `clear()`s: a lookup that was under way during one may have read what was just revoked. */
  #clears = 0;

  constructor(
    store: Pick<TokenStore, 'findByHashes' | 'touch'>,
    private readonly ttlMs: number,
  ) {
    this.#lookups = new Batcher((batch) => store.findByHashes([...batch.keys()]));
    this.#touches = new Batcher(async (batch) => {
      await store.touch([...batch.keys()]);
      return undefined;
    });
  }

  /**
   * The record of `token`, or `undefined` when no such token exists. `stillWanted` is asked before the
   * database is: a handshake whose client has gone by then is not looked up (`AbandonedRequest`).
   */
  async lookup(token: string, stillWanted?: () => boolean): Promise<TokenRecord | undefined> {
    const hash = hashToken(token);
    const now = Date.now();
    const cached = this.#entries.get(hash);
    if (cached && cached.until > now) return cached.record;
    if ((this.#unknown.get(hash) ?? 0) > now) return undefined;
    const clearsBefore = this.#clears;
    const record = await this.#lookups.submit(hash, undefined, stillWanted);
    // Not remembered when the cache was cleared meanwhile: the answer may predate the revocation.
    const remember = this.ttlMs > 0 && clearsBefore === this.#clears;
    // The index found the row by hash; this comparison is the one that decides, in constant time.
    if (!record || !sameSecret(record.hash, hash)) {
      if (remember) {
        if (this.#unknown.size >= MAX_ENTRIES) this.#unknown.clear();
        this.#unknown.set(hash, now + this.ttlMs);
      }
      return undefined;
    }
    if (remember) {
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
    this.#touches.submit(tokenId, undefined).catch(onError);
  }

  clear(): void {
    this.#entries.clear();
    this.#clears++;
  }

  /** Resolves once every lookup and write asked for so far is done (before the database closes). */
  async drain(): Promise<void> {
    await Promise.all([this.#lookups.drain(), this.#touches.drain()]);
  }
}
