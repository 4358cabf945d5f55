/**
 * Brute-force brakes on password sign-in, per user name and per client address: failures are counted
 * in the database (so every hub instance sees the same counts), each failure beyond the first few is
 * answered later and later, and past the limit the key is locked out (429 + Retry-After) until
 * `lockoutSec` after its last failure. An address gets three times a name's limit, since many people
 * may share one (an office behind NAT).
 */
import { inArray, sql } from 'drizzle-orm';
import type { Database } from '../storage/database.js';
import { signInFailures } from '../storage/schema.js';

export interface SignInLimits {
  /** Failures of one name before it is locked out (an address gets three times as many). */
  readonly signInMaxFailures: number;
  /** How long a lockout lasts after the last failure; failures older than this are forgotten. */
  readonly signInLockoutSec: number;
}

/** Failures answered without delay; then 250 ms, doubling, up to `MAX_DELAY_MS`. */
const FREE_FAILURES = 2;
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 4000;
const ADDRESS_FACTOR = 3;

export function failureDelayMs(failures: number): number {
  if (failures <= FREE_FAILURES) return 0;
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (failures - FREE_FAILURES - 1));
}

export class SignInThrottle {
  constructor(
    private readonly database: Database,
    private readonly limits: SignInLimits,
  ) {}

  static keys(name: string, address: string): { name: string; address: string } {
    return { name: `name:${name.toLowerCase()}`, address: `address:${address}` };
  }

  /** Seconds the caller must wait before trying again, or 0 when it may try now. */
  async lockedFor(name: string, address: string): Promise<number> {
    const keys = SignInThrottle.keys(name, address);
    const rows = await this.database.db
      .select()
      .from(signInFailures)
      .where(inArray(signInFailures.key, [keys.name, keys.address]));
    const now = Date.now();
    let wait = 0;
    for (const row of rows) {
      const limit =
        row.key === keys.name
          ? this.limits.signInMaxFailures
          : this.limits.signInMaxFailures * ADDRESS_FACTOR;
      const until = row.lastAt.getTime() + this.limits.signInLockoutSec * 1000;
      if (row.failures >= limit && until > now) wait = Math.max(wait, Math.ceil((until - now) / 1000));
    }
    return wait;
  }

  /** Counts a failure against the name and the address; returns how long to hold back the answer. */
  async fail(name: string, address: string): Promise<number> {
    const keys = SignInThrottle.keys(name, address);
    const forgetBefore = sql`now() - ${this.limits.signInLockoutSec} * interval '1 second'`;
    const rows = await this.database.db
      .insert(signInFailures)
      .values([
        { key: keys.name, failures: 1, lastAt: sql`now()` },
        { key: keys.address, failures: 1, lastAt: sql`now()` },
      ])
      .onConflictDoUpdate({
        target: signInFailures.key,
        set: {
          failures: sql`case when ${signInFailures.lastAt} < ${forgetBefore} then 1 else ${signInFailures.failures} + 1 end`,
          lastAt: sql`now()`,
        },
      })
      .returning();
    const ofName = rows.find((r) => r.key === keys.name)?.failures ?? 1;
    const ofAddress = rows.find((r) => r.key === keys.address)?.failures ?? 1;
    return failureDelayMs(Math.max(ofName, Math.floor(ofAddress / ADDRESS_FACTOR)));
  }

  /** A successful sign-in clears the name's count (not the address's: one good account must not reset it). */
  async succeeded(name: string): Promise<void> {
    const { name: key } = SignInThrottle.keys(name, '');
    await this.database.db.delete(signInFailures).where(inArray(signInFailures.key, [key]));
  }
}
