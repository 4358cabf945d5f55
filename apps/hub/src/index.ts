export type { AddTokenOptions, AdminApi } from './admin/admin-service.js';
export { ConfigError, type HubConfig, loadConfig } from './config.js';
export { type HubOptions, type RunningHub, startHub } from './hub.js';
export type { TelemetryBatch, TelemetrySink } from './ingest/telemetry-sink.js';
export type { Database } from './storage/database.js';
