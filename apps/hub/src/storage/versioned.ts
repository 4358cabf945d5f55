/**
 * Optimistic concurrency for operator edits: every editable row has a `version`, bumped by each edit.
 * An edit that names the version it was made against (`If-Match`) only applies to that version.
 */
import { and, eq, type SQL, sql } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { NotFoundError, StaleVersionError } from '../errors.js';

/** `row matches`, and when `expected` is given, `version = expected` too. */
export function atVersion(match: SQL, version: PgColumn, expected: number | undefined): SQL | undefined {
  return expected === undefined ? match : and(match, eq(version, expected));
}

/** The `set` value that counts an edit. */
export function nextVersion(version: PgColumn): SQL {
  return sql`${version} + 1`;
}

export interface VersionedEdit<T extends { version: number }> {
  /** What is edited, in words (`device pi-1`). */
  what: string;
  /** The version the caller saw; `undefined` edits whatever is current. */
  expected: number | undefined;
  /** Runs the update guarded by `version = expected` (when given); returns the updated row, if any. */
  apply(expected: number | undefined): Promise<T | undefined>;
  /** Reads the current row (to tell "gone" from "changed since"). */
  current(): Promise<T | undefined>;
  /** The current row as the caller should see it in a 412 answer. */
  view(row: T): Promise<{ version: number } & Record<string, unknown>>;
}

export async function editVersioned<T extends { version: number }>(edit: VersionedEdit<T>): Promise<T> {
  const updated = await edit.apply(edit.expected);
  if (updated) return updated;
  const current = await edit.current();
  if (!current) throw new NotFoundError(`no ${edit.what}`);
  throw new StaleVersionError(await edit.view(current), edit.what);
}
