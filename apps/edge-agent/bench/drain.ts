/**
 * Time to drain 1,000,000 buffered readings after an outage: the buffer is filled while there is no
 * hub, then the agent connects to a hub that stores into PostgreSQL; the clock stops when the hub has
 * acknowledged (stored) every reading. Run once at the default replay pace and once unpaced.
 */
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ReadingBuffer } from '../src/buffer/reading-buffer.js';
import { benchHub, sleep, spawnAgent, stop, tempDir } from './support.js';

function fillBuffer(path: string, total: number): void {
  const buffer = new ReadingBuffer({ path, maxBytes: 1e12, flushIntervalMs: 3_600_000 });
  const start = Date.now() - total;
  for (let i = 0; i < total; ) {
    const batch = [];
    for (let k = 0; k < 1000; k++, i++)
      batch.push({ metric: `m${i % 4}`, value: i, ts: start + i, unit: 'V' });
    buffer.append(batch);
    buffer.flush();
  }
  buffer.close();
}

export async function benchDrain(
  total = 1_000_000,
  paces: Array<number | undefined> = [undefined, 1e9],
): Promise<void> {
  for (const pace of paces) {
    const path = join(tempDir('drain'), 'buffer.db');
    fillBuffer(path, total);
    const { hub, close } = await benchHub('postgres');
    try {
      const { token } = await hub.admin.addDevice('bench-drain');
      const reader = new BetterSqlite3(path, { readonly: true });
      const remaining = () => (reader.prepare('select count(*) as n from readings').get() as { n: number }).n;
      const started = performance.now();
      const agent = spawnAgent(
        {
          deviceId: 'bench-drain',
          hub: { url: hub.url },
          buffer: { path },
          ...(pace ? { delivery: { maxReadingsPerSec: pace } } : {}),
        },
        token,
      );
      while (remaining() > 0) await sleep(100);
      const seconds = (performance.now() - started) / 1000;
      reader.close();
      await stop(agent);
      const stored = await hub.database.rows<{ n: string }>(
        "select count(*) as n from readings where device_id = 'bench-drain'",
      );
      console.log(
        `drain ${total.toLocaleString('en')} buffered readings into PostgreSQL: ${seconds.toFixed(1)} s ` +
          `(${Math.round(total / seconds).toLocaleString('en')} readings/s, replay pace ${pace ? 'unlimited' : 'default 20,000/s'}, ` +
          `agent start-up included; ${Number(stored[0]?.n).toLocaleString('en')} rows stored)`,
      );
    } finally {
      await close();
    }
  }
}
