/**
 * Buffer append throughput: readings appended in sensor-sized batches and committed (fsync) in groups,
 * as the agent does; plus the bytes a buffered reading takes on disk.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { BYTES_PER_READING, ReadingBuffer } from '../src/buffer/reading-buffer.js';
import { tempDir } from './support.js';

export async function benchBufferAppend(total = 1_000_000): Promise<void> {
  const path = join(tempDir('append'), 'buffer.db');
  const buffer = new ReadingBuffer({ path, maxBytes: 1e12, flushIntervalMs: 3_600_000 });
  const metrics = ['temperature', 'humidity', 'pressure', 'cpu_temp'];
  for (const commitEvery of [100, 10_000]) {
    const start = performance.now();
    let commits = 0;
    for (let i = 0; i < total / 2; ) {
      const batch = [];
      for (let k = 0; k < 10; k++, i++) {
        batch.push({
          metric: metrics[i % 4]!,
          value: Math.sin(i) * 20,
          ts: 1_700_000_000_000 + i,
          unit: '°C',
        });
      }
      buffer.append(batch);
      if (i % commitEvery === 0) {
        buffer.flush();
        commits++;
      }
    }
    buffer.flush();
    const seconds = (performance.now() - start) / 1000;
    console.log(
      `buffer append: ${Math.round(total / 2 / seconds).toLocaleString('en')} readings/s ` +
        `(${(total / 2).toLocaleString('en')} readings, a commit with fsync every ${commitEvery.toLocaleString('en')}: ` +
        `${Math.round(commits / seconds)} commits/s)`,
    );
  }
  buffer.close();
  const db = new BetterSqlite3(path);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const rows = (db.prepare('select count(*) as n from readings').get() as { n: number }).n;
  db.close();
  const bytes = statSync(path).size;
  console.log(
    `buffer size on disk: ${(bytes / rows).toFixed(1)} bytes/reading (${rows.toLocaleString('en')} readings, ` +
      `${(bytes / 1e6).toFixed(1)} MB; the byte bound assumes ${BYTES_PER_READING})`,
  );
}
