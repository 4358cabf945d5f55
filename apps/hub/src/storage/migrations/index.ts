import type { Migration } from '../migrate.js';

/** Every migration, in the order it is applied. Append only. */
export const migrations: readonly Migration[] = [];
