import type { Migration } from '../migrate.js';
import { CREATE_HOUR_AGGREGATE, CREATE_ROLLUP_TABLES } from '../rollups.js';
import { readingsIsHypertable } from '../timescale.js';

/**
 * Minute and hour roll-ups for history: the hourly continuous aggregate on TimescaleDB (the minute one
 * comes from `0002_readings`), hub-kept roll-up tables elsewhere. Policies are not set here: the hub
 * applies its storage settings at every start (`readings-storage.ts`).
 */
export const rollupsMigration: Migration = {
  id: '0004_rollups',
  up: async (ctx) => {
    if (ctx.driver === 'postgres' && (await readingsIsHypertable(ctx))) {
      // A continuous aggregate cannot be created inside a transaction block: a statement of its own.
      await ctx.exec(CREATE_HOUR_AGGREGATE);
      return;
    }
    await ctx.exec(CREATE_ROLLUP_TABLES);
  },
};
