/**
 * Operators' sessions, kept in the database so that they survive a restart, work on every hub
 * instance and can be ended from anywhere. The cookie carries a random secret; the table keeps only
 * its hash, and a separate public id names the session in logs and notifications.
 */
import { randomBytes } from 'node:crypto';
import type { Role } from '@edgewire/protocol';
import { eq, sql } from 'drizzle-orm';
import { hashToken } from '../auth/secrets.js';
import type { Database } from '../storage/database.js';
import { sessions, users } from '../storage/schema.js';

export interface SessionLimits {
  /** A session unused for this long ends. */
  readonly sessionIdleSec: number;
  /** A session ends this long after sign-in, whatever the activity. */
  readonly sessionMaxSec: number;
}

export interface OperatorSession {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly expiresAt: Date;
  readonly lastSeenAt: Date;
}

/** Recording activity on every request would be a write per request; a minute's precision is enough (less for short idle limits). */
const TOUCH_AFTER_MS = 60_000;

export class SessionStore {
  constructor(
    private readonly database: Database,
    private readonly limits: SessionLimits,
  ) {}

  /** Starts a session; returns it and the secret for the cookie (shown to nobody else). */
  async create(name: string, address: string): Promise<{ session: OperatorSession; secret: string }> {
    const secret = randomBytes(32).toString('base64url');
    const id = `ses_${randomBytes(9).toString('base64url')}`;
    const expiresAt = new Date(Date.now() + this.limits.sessionMaxSec * 1000);
    const [row] = await this.database.db
      .insert(sessions)
      .values({ id, secretHash: hashToken(secret), userName: name, expiresAt, address })
      .returning();
    const [user] = await this.database.db
      .select({ role: users.role })
      .from(users)
      .where(eq(users.name, name));
    return {
      secret,
      session: { id, name, role: user!.role, expiresAt, lastSeenAt: row!.lastSeenAt },
    };
  }

  /** The live session whose cookie secret is `secret`; an idle or expired one is ended and not returned. */
  async find(secret: string): Promise<OperatorSession | undefined> {
    const [row] = await this.database.db
      .select({ session: sessions, role: users.role })
      .from(sessions)
      .innerJoin(users, eq(users.name, sessions.userName))
      .where(eq(sessions.secretHash, hashToken(secret)));
    if (!row) return undefined;
    const now = Date.now();
    const { session } = row;
    if (
      session.expiresAt.getTime() <= now ||
      session.lastSeenAt.getTime() + this.limits.sessionIdleSec * 1000 <= now
    ) {
      await this.end(session.id);
      return undefined;
    }
    if (
      now - session.lastSeenAt.getTime() >
      Math.min(TOUCH_AFTER_MS, (this.limits.sessionIdleSec * 1000) / 4)
    ) {
      await this.database.db
        .update(sessions)
        .set({ lastSeenAt: sql`now()` })
        .where(eq(sessions.id, session.id));
    }
    return {
      id: session.id,
      name: session.userName,
      role: row.role,
      expiresAt: session.expiresAt,
      lastSeenAt: session.lastSeenAt,
    };
  }

  /** Ends one session (the database announces it: its WebSockets close on every hub). */
  async end(id: string): Promise<void> {
    await this.database.db.delete(sessions).where(eq(sessions.id, id));
  }
}
