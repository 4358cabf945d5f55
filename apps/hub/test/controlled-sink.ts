import type { TelemetryBatch, TelemetrySink } from '../src/ingest/telemetry-sink.js';

/**
 * A sink whose capacity and commits the test controls: the thinnest stand-in for a storage writer
 * that has fallen behind, which the real writer (another suite) cannot be made to do on cue.
 */
export class ControlledSink implements TelemetrySink {
  readonly healthy = true;
  accepting = true;
  readonly taken: TelemetryBatch[] = [];
  #listener: ((deviceId: string, seq: number) => void) | undefined;

  offer(batch: TelemetryBatch): boolean {
    if (!this.accepting) return false;
    this.taken.push(batch);
    return true;
  }
  onCommitted(listener: (deviceId: string, seq: number) => void): void {
    this.#listener = listener;
  }
  commitAll(): void {
    for (const batch of this.taken.splice(0)) this.#listener?.(batch.deviceId, batch.seq);
  }
  async close(): Promise<void> {}
}
