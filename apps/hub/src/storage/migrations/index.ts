import type { Migration } from '../migrate.js';
import { readingsMigration } from './0002_readings.js';

/** Every migration, in the order it is applied. Append only. */
export const migrations: readonly Migration[] = [readingsMigration];
