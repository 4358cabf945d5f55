/**
 * The audit log: every change made through the hub, who made it, from where and when, kept in the
 * database. Details name what changed and never carry a password or a token.
 */
import type { AuditEntry, AuditPage, AuditQuery } from '@edgewire/protocol';
import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type { Database } from '../storage/database.js';
import { auditLog } from '../storage/schema.js';

/** Who acts: `user:<name>`, `apitoken:<id>`, `cli`, `system`; and from which address, when known. */
export interface Actor {
  readonly name: string;
  readonly address?: string | undefined;
}

export const SYSTEM_ACTOR: Actor = { name: 'system' };

export interface AuditRecord {
  action: string;
  target?: string | undefined;
  details?: Record<string, unknown> | undefined;
}

const DEFAULT_PAGE = 100;

export class AuditLog {
  constructor(private readonly database: Database) {}

  async record(actor: Actor, entry: AuditRecord): Promise<void> {
    await this.database.db.insert(auditLog).values({
      actor: actor.name,
      address: actor.address ?? null,
      action: entry.action,
      target: entry.target ?? null,
      details: entry.details ?? {},
    });
  }

  /** Newest first; `before` (an entry id) pages back, filters match exactly. */
  async page(query: AuditQuery): Promise<AuditPage> {
    const limit = query.limit ?? DEFAULT_PAGE;
    const conditions: SQL[] = [];
    if (query.before !== undefined) conditions.push(lt(auditLog.id, query.before));
    if (query.actor !== undefined) conditions.push(eq(auditLog.actor, query.actor));
    if (query.action !== undefined) conditions.push(eq(auditLog.action, query.action));
    if (query.target !== undefined) conditions.push(eq(auditLog.target, query.target));
    const rows = await this.database.db
      .select()
      .from(auditLog)
      .where(and(...conditions))
      .orderBy(desc(auditLog.id))
      .limit(limit + 1);
    const entries: AuditEntry[] = rows.slice(0, limit).map((row) => ({
      id: Number(row.id),
      at: row.at.toISOString(),
      actor: row.actor,
      action: row.action,
      target: row.target,
      address: row.address,
      details: row.details,
    }));
    return { entries, next: rows.length > limit ? entries[entries.length - 1]!.id : null };
  }
}
