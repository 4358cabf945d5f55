/**
 * Optimistic concurrency for operator edits: every editable row has a `version`, bumped by each edit.
 * An edit that names the version it was made against (`If-Match`) only applies to that version.
 */
import { NotFoundError, StaleVersionError } from '../errors.js';

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
