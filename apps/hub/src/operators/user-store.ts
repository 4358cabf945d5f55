/** Operators' accounts in the database: name, role, password hash (never the password), version. */
import type { Role } from '@edgewire/protocol';
import { eq, sql } from 'drizzle-orm';
import { ConflictError, isDuplicate } from '../errors.js';
import type { Database } from '../storage/database.js';
import { users } from '../storage/schema.js';
import { atVersion, editVersioned, nextVersion } from '../storage/versioned.js';

export type UserRow = typeof users.$inferSelect;

export interface UserEdit {
  role?: Role | undefined;
  passwordHash?: string | undefined;
}

export class UserStore {
  constructor(private readonly database: Database) {}

  list(): Promise<UserRow[]> {
    return this.database.db.select().from(users).orderBy(users.name);
  }

  async get(name: string): Promise<UserRow | undefined> {
    const [row] = await this.database.db.select().from(users).where(eq(users.name, name));
    return row;
  }

  async add(name: string, role: Role, passwordHash: string): Promise<UserRow> {
    try {
      const [row] = await this.database.db.insert(users).values({ name, role, passwordHash }).returning();
      return row!;
    } catch (error) {
      if (isDuplicate(error)) throw new ConflictError(`name: operator ${name} already exists`);
      throw error;
    }
  }

  /**
   * Changes role and/or password. The database ends the operator's sessions when either changes
   * (trigger `users_end_sessions`), which closes their WebSockets on every hub.
   */
  edit(
    name: string,
    edit: UserEdit,
    expected: number | undefined,
    view: (row: UserRow) => Promise<{ version: number } & Record<string, unknown>>,
  ): Promise<UserRow> {
    return editVersioned({
      what: `operator ${name}`,
      expected,
      apply: async (version) => {
        const [row] = await this.database.db
          .update(users)
          // drizzle leaves fields that are `undefined` out of the update.
          .set({
            role: edit.role,
            passwordHash: edit.passwordHash,
            version: nextVersion(users.version),
            updatedAt: sql`now()`,
          })
          .where(atVersion(eq(users.name, name), users.version, version))
          .returning();
        return row;
      },
      current: () => this.get(name),
      view,
    });
  }

  async remove(name: string): Promise<boolean> {
    const deleted = await this.database.db
      .delete(users)
      .where(eq(users.name, name))
      .returning({ name: users.name });
    return deleted.length > 0;
  }

  async countAdmins(): Promise<number> {
    const [row] = await this.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(users)
      .where(eq(users.role, 'admin'));
    return Number(row?.n ?? 0);
  }
}
