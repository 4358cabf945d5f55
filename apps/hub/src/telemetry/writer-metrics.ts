/** What the storage writer reports to Prometheus; registered on the hub's registry when it passes one. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface WriterMetrics {
  queueReadings: Gauge;
  queueBytes: Gauge;
  batchReadings: Histogram;
  writeSeconds: Histogram;
  readingsStored: Counter;
  readingsDuplicate: Counter;
  writeFailures: Counter;
  offersRefused: Counter;
  readingsDropped: Counter;
  healthy: Gauge;
}

export function createWriterMetrics(registry: Registry): WriterMetrics {
  const registers = [registry];
  return {
    queueReadings: new Gauge({
      name: 'edgewire_storage_queue_readings',
      help: 'Readings accepted by the storage writer and not yet committed',
      registers,
    }),
    queueBytes: new Gauge({
      name: 'edgewire_storage_queue_bytes',
      help: 'Estimated memory held by the storage queue',
      registers,
    }),
    batchReadings: new Histogram({
      name: 'edgewire_storage_batch_readings',
      help: 'Readings per committed insert statement',
      buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000],
      registers,
    }),
    writeSeconds: new Histogram({
      name: 'edgewire_storage_write_seconds',
      help: 'Duration of successful insert statements',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    readingsStored: new Counter({
      name: 'edgewire_storage_readings_stored_total',
      help: 'Readings newly stored (rate() gives rows/s)',
      registers,
    }),
    readingsDuplicate: new Counter({
      name: 'edgewire_storage_readings_duplicate_total',
      help: 'Readings committed that were already stored (resent after a lost ack)',
      registers,
    }),
    writeFailures: new Counter({
      name: 'edgewire_storage_write_failures_total',
      help: 'Insert statements that failed and were retried',
      registers,
    }),
    offersRefused: new Counter({
      name: 'edgewire_storage_offers_refused_total',
      help: 'Telemetry batches refused because the storage queue was full (devices keep and resend them)',
      registers,
    }),
    readingsDropped: new Counter({
      name: 'edgewire_storage_readings_dropped_total',
      help: 'Readings accepted but never stored (only at shutdown with the database down; never acked). Should be 0',
      registers,
    }),
    healthy: new Gauge({
      name: 'edgewire_storage_healthy',
      help: '1 while the storage writer reaches the database, 0 while it retries',
      registers,
    }),
  };
}
