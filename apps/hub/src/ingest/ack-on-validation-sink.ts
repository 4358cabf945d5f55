/**
 * The default TelemetrySink until the storage writer is wired in: it stores NOTHING and reports every
 * batch committed as soon as it is offered, so the hub acks telemetry right after validation.
 * An ack from this sink is therefore not a durability promise; agents delete acked readings, so run
 * the hub with the storage writer (see README) wherever readings matter.
 */
import type { TelemetryBatch, TelemetrySink } from './telemetry-sink.js';

export class AckOnValidationSink implements TelemetrySink {
  readonly healthy = true;
  #listener: ((deviceId: string, seq: number) => void) | undefined;

  offer(batch: TelemetryBatch): boolean {
    const listener = this.#listener;
    // Asynchronous like a real writer's commit, so callers cannot come to rely on a same-tick ack.
    if (listener) queueMicrotask(() => listener(batch.deviceId, batch.seq));
    return true;
  }

  onCommitted(listener: (deviceId: string, seq: number) => void): void {
    this.#listener = listener;
  }

  async close(): Promise<void> {}
}
