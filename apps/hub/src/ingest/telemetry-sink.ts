/**
 * The seam between ingest (hot path: validate, fan out) and storage (cold path: batched, durable).
 * Ingest never waits on a sink: `offer` answers at once, and durability is reported later through
 * `onCommitted`, which is when the hub sends the device its `ack`.
 */
import type { Reading } from '@edgewire/protocol';

export interface TelemetryBatch {
  readonly deviceId: string;
  readonly seq: number;
  readonly readings: readonly Reading[];
}

export interface TelemetrySink {
  /**
   * Takes a validated batch for storage. Returns false when the sink is full and did NOT take it:
   * the device keeps it in its own buffer and sends it again later.
   */
  offer(batch: TelemetryBatch): boolean;
  /** Registers the listener told, per device, the highest `seq` whose readings are all committed. */
  onCommitted(listener: (deviceId: string, seq: number) => void): void;
  /** False while the sink cannot reach its store; `/readyz` reports it. */
  readonly healthy: boolean;
  /** Writes everything queued, then stops. */
  close(): Promise<void>;
}
