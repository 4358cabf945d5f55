import type { Migration } from '../migrate.js';
import { coreMigration } from './0001_core.js';
import { readingsMigration } from './0002_readings.js';
import { operatorsMigration } from './0003_operators.js';
import { rollupsMigration } from './0004_rollups.js';
import { rollupAdvanceMigration } from './0005_rollup_advance.js';
import { credentialsVersionMigration } from './0006_credentials_version.js';

/** Every migration, in the order it is applied. Append only. */
export const migrations: readonly Migration[] = [
  coreMigration,
  readingsMigration,
  operatorsMigration,
  rollupsMigration,
  rollupAdvanceMigration,
  credentialsVersionMigration,
];
