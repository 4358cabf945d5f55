import { describe, expect, it } from 'vitest';
import { countedDatabase } from '../../test/counted-database.js';
import { DRIVERS } from '../../test/databases.js';
import { migrate } from '../storage/migrate.js';
import { migrations } from '../storage/migrations/index.js';
import { DeviceActivityRecorder } from './device-activity.js';
import { DeviceStore } from './device-store.js';

const FLEET = 400;

describe.each(DRIVERS)('device activity on %s', (driver) => {
  const counted = countedDatabase(driver, async (database) => {
    await migrate(database, migrations);
    await database.exec(`insert into devices (id) select 'd' || i from generate_series(1, ${FLEET}) i`);
  });

  const device = (id: string) =>
    counted.database.rows<{
      last_seen_at: Date | string | null;
      last_address: string | null;
      agent_version: string | null;
    }>(`select last_seen_at, last_address, agent_version from devices where id = '${id}'`);

  it('records a whole fleet connecting with a few statements, each device with its own address', async () => {
    const activity = new DeviceActivityRecorder(new DeviceStore(counted.database));
    const before = counted.statements;
    await Promise.all(
      Array.from({ length: FLEET }, (_, i) =>
        activity.connected(`d${i + 1}`, `10.0.${i >> 8}.${i & 255}`, i % 2 === 0 ? `1.${i}.0` : undefined),
      ),
    );
    expect(counted.statements - before).toBeLessThanOrEqual(2);
    expect(await device('d1')).toEqual([
      { last_seen_at: expect.anything(), last_address: '10.0.0.0', agent_version: '1.0.0' },
    ]);
    expect(await device('d2')).toEqual([
      { last_seen_at: expect.anything(), last_address: '10.0.0.1', agent_version: null },
    ]);
    expect(await device(`d${FLEET}`)).toEqual([
      { last_seen_at: expect.anything(), last_address: `10.0.1.${(FLEET - 1) & 255}`, agent_version: null },
    ]);
    const [count] = await counted.database.rows<{ n: number }>(
      'select count(*)::int as n from devices where last_seen_at is null or last_address is null',
    );
    expect(count?.n).toBe(0);
  });

  it('keeps where a device connected from when it leaves, also within one batch', async () => {
    const activity = new DeviceActivityRecorder(new DeviceStore(counted.database));
    await activity.connected('d1', '192.0.2.1', '2.0.0');
    const [seenBefore] = await counted.database.rows<{ at: number }>(
      `select extract(epoch from last_seen_at)::float8 as at from devices where id = 'd1'`,
    );
    // Left and came back from elsewhere, in one batch; then another left.
    void activity.disconnected('d1');
    void activity.connected('d1', '192.0.2.7', '2.0.1');
    void activity.disconnected('d1');
    void activity.connected('d3', '192.0.2.3', undefined);
    void activity.disconnected('d3');
    await activity.drain();
    expect(await device('d1')).toEqual([
      { last_seen_at: expect.anything(), last_address: '192.0.2.7', agent_version: '2.0.1' },
    ]);
    expect(await device('d3')).toEqual([
      { last_seen_at: expect.anything(), last_address: '192.0.2.3', agent_version: null },
    ]);
    const [seenAfter] = await counted.database.rows<{ at: number }>(
      `select extract(epoch from last_seen_at)::float8 as at from devices where id = 'd1'`,
    );
    expect(seenAfter!.at).toBeGreaterThanOrEqual(seenBefore!.at);
    // Only seen: the address stays.
    await activity.disconnected('d1');
    expect((await device('d1'))[0]?.last_address).toBe('192.0.2.7');
  });
});
