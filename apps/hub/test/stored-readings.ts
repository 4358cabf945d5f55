/** Telemetry storage as tests see it: the real storage writer with chosen options, and what it stored. */
import type { HubOptions } from '../src/hub.js';
import type { Database } from '../src/storage/database.js';
import { TelemetryWriter, type TelemetryWriterOptions } from '../src/telemetry/telemetry-writer.js';

export type StorageWriterOptions = Omit<TelemetryWriterOptions, 'database' | 'logger' | 'registry'>;

/** A `telemetrySink` for `startHub`: the hub's own storage writer, tuned (a small queue, fast retries). */
export function storageWriter(options: StorageWriterOptions): NonNullable<HubOptions['telemetrySink']> {
  return ({ database, logger, metrics }) =>
    new TelemetryWriter({ database, logger, registry: metrics, ...options });
}

const NAME = /^[A-Za-z0-9._-]+$/;

/** Stored values of one device's metric, oldest first, each as often as it is stored. */
export async function storedValues(database: Database, deviceId: string, metric: string): Promise<number[]> {
  // Both are names the protocol restricts to this alphabet; checked here so the SQL text stays safe.
  if (!NAME.test(deviceId) || !NAME.test(metric)) throw new Error('storedValues: not a device id or metric');
  const rows = await database.rows<{ value: number }>(
    `select value from readings where device_id = '${deviceId}' and metric = '${metric}' order by time`,
  );
  return rows.map((r) => Number(r.value));
}
