/**
 * Admin API tokens: Bearer credentials with an admin's rights on `/api`, for scripts and CI. Created
 * from the CLI only (a browser session cannot mint one), shown once, stored as a sha256 hash like
 * every token (256 random bits leave nothing to brute-force).
 */
import { randomBytes } from 'node:crypto';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { hashToken, sameSecret } from '../auth/secrets.js';
import { NotFoundError } from '../errors.js';
import type { Database } from '../storage/database.js';
import { apiTokens } from '../storage/schema.js';

/** A distinct prefix, so secret scanners and people can tell an admin credential from a client token. */
const PREFIX = 'ewa_';
/** `last_used_at` is a hint; write it at most this often per token. */
const TOUCH_INTERVAL_MS = 60_000;

export type ApiTokenRow = Omit<typeof apiTokens.$inferSelect, 'hash'>;

export class ApiTokenStore {
  readonly #touched = new Map<string, number>();

  constructor(private readonly database: Database) {}

  static looksLikeApiToken(token: string): boolean {
    return token.startsWith(PREFIX);
  }

  async add(name: string, createdBy: string): Promise<{ id: string; token: string }> {
    const token = PREFIX + randomBytes(32).toString('base64url');
    const id = `apt_${randomBytes(9).toString('base64url')}`;
    await this.database.db.insert(apiTokens).values({ id, hash: hashToken(token), name, createdBy });
    return { id, token };
  }

  async list(): Promise<ApiTokenRow[]> {
    const rows = await this.database.db.select().from(apiTokens).orderBy(desc(apiTokens.createdAt));
    return rows.map(({ hash: _hash, ...rest }) => rest);
  }

  /** The live (unrevoked) token presented, or undefined. */
  async authenticate(token: string): Promise<ApiTokenRow | undefined> {
    const hash = hashToken(token);
    const [row] = await this.database.db
      .select()
      .from(apiTokens)
      .where(and(eq(apiTokens.hash, hash), isNull(apiTokens.revokedAt)));
    if (!row || !sameSecret(row.hash, hash)) return undefined;
    const now = Date.now();
    if ((this.#touched.get(row.id) ?? 0) < now - TOUCH_INTERVAL_MS) {
      this.#touched.set(row.id, now);
      await this.database.db
        .update(apiTokens)
        .set({ lastUsedAt: sql`now()` })
        .where(eq(apiTokens.id, row.id));
    }
    const { hash: _hash, ...rest } = row;
    return rest;
  }

  async revoke(id: string): Promise<void> {
    const updated = await this.database.db
      .update(apiTokens)
      .set({ revokedAt: sql`coalesce(${apiTokens.revokedAt}, now())` })
      .where(eq(apiTokens.id, id))
      .returning({ id: apiTokens.id });
    if (updated.length === 0) throw new NotFoundError(`no admin API token ${id}`);
  }
}
