/**
 * A real hub in-process, quiet, on a free port: storing telemetry through its own storage writer in a
 * fresh PostgreSQL database (or in-memory PGlite), so "stored" in an agent test means a row in the
 * readings table. The writer's options and the test-database helper are reached by path: @edgewire/hub
 * does not export its test support.
 */
import { type RunningHub, startHub } from '@edgewire/hub';
import { TelemetryWriter, type TelemetryWriterOptions } from '../../../hub/src/telemetry/telemetry-writer.js';
import { createTestDatabase, type TestDatabase } from '../../../hub/test/databases.js';

export type { RunningHub, TestDatabase };
export { createTestDatabase };

export interface TestHubOptions {
  /** A PostgreSQL test database; in-memory PGlite without it. */
  databaseUrl?: string;
  maxFrameBytes?: number;
  port?: number;
  heartbeatSec?: number;
  writer?: Partial<TelemetryWriterOptions>;
}

export function startTestHub(options: TestHubOptions = {}): Promise<RunningHub> {
  return startHub({
    host: '127.0.0.1',
    port: options.port ?? 0,
    dataDir: undefined,
    databaseUrl: options.databaseUrl,
    heartbeatSec: options.heartbeatSec ?? 20,
    ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
    logLevel: 'warn',
    logDestination: { write: () => undefined },
    env: {},
    ...(options.writer === undefined
      ? {}
      : {
          telemetrySink: ({ database, logger }) =>
            new TelemetryWriter({ database, logger, ...options.writer }),
        }),
  });
}

export const portOf = (hub: RunningHub) => Number(new URL(hub.url).port);

/** Stored values of one device's metric, oldest first, with how often each value is there. */
export async function storedValues(hub: RunningHub, deviceId: string, metric: string): Promise<number[]> {
  const rows = await hub.database.rows<{ value: number }>(
    `select value from readings where device_id = '${deviceId}' and metric = '${metric}' order by time`,
  );
  return rows.map((r) => Number(r.value));
}
