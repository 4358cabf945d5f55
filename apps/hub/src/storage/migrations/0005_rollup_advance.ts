import type { Migration } from '../migrate.js';
import { CREATE_ADVANCE_FUNCTION, ROLLUP_STATE } from '../rollups.js';

/**
 * The roll-up advance as of now, for databases that applied `0004_rollups` with the first one: it finds
 * the minutes it rolls up through the time index (kept summarised), groups them in one hash pass, and no
 * longer carries an array per reading through its aggregate (a third of the CPU time per reading). TimescaleDB
 * databases have no hub-kept roll-ups and are left alone.
 */
export const rollupAdvanceMigration: Migration = {
  id: '0005_rollup_advance',
  up: async (ctx) => {
    const [state] = await ctx.rows<{ present: boolean }>(
      `select to_regclass('${ROLLUP_STATE}') is not null as present`,
    );
    if (state?.present) await ctx.exec(CREATE_ADVANCE_FUNCTION);
  },
};
