/**
 * The telemetry hot path (SPEC "Data flow"): each reading is published to its topic at once, skipped
 * outright where nobody subscribes, then the batch is offered to the storage sink. Acks come later,
 * from the sink's commits. A refused batch puts the connection in "rewind" mode: later frames are
 * refused too (yet still shown live) until the agent resends from the refused seq, or an ack covers
 * it, so an ack can never cover a gap.
 */
import { type TelemetryFrame, topics } from '@edgewire/protocol';
import type { Broker } from '../broker.js';
import type { Bus } from '../bus/bus.js';
import type { Connection } from '../connections/connection.js';
import type { TelemetrySink } from './telemetry-sink.js';

const STORAGE_BEHIND = 'storage is behind: keep readings buffered and resend later';

export class TelemetryIngest {
  constructor(
    private readonly broker: Broker,
    private readonly sink: TelemetrySink,
    bus: Bus,
  ) {
    // An ack goes to the device's live connection, whichever (and on whichever instance) that is by
    // the time of the commit: the device may have reconnected meanwhile.
    sink.onCommitted((deviceId, seq) => bus.control({ type: 'telemetry-committed', deviceId, seq }));
  }

  handle(connection: Connection, frame: TelemetryFrame): void {
    const deviceId = connection.identity.deviceId;
    if (deviceId === undefined) {
      connection.sendError('forbidden', 'only devices send telemetry; publish with pub instead', frame.id);
      return;
    }
    // Live first, whatever storage does: a refused frame still reaches the screens, and the rewind's
    // resends of frames already shown do not appear twice.
    if (frame.seq > connection.liveSeq) {
      connection.liveSeq = frame.seq;
      this.#publishLive(deviceId, frame);
    }
    if (connection.refusedSeq !== undefined) {
      if (frame.seq > connection.refusedSeq) {
        connection.sendError('rate_limited', STORAGE_BEHIND, frame.id);
        return;
      }
      connection.refusedSeq = undefined;
    }
    if (!this.sink.offer({ deviceId, seq: frame.seq, readings: frame.readings })) {
      connection.refusedSeq = frame.seq;
      connection.sendError('rate_limited', STORAGE_BEHIND, frame.id);
    }
  }

  #publishLive(deviceId: string, frame: TelemetryFrame): void {
    for (const reading of frame.readings) {
      const topic = topics.telemetry(deviceId, reading.metric);
      if (!this.broker.hasSubscribers(topic)) continue;
      this.broker.publish(
        topic,
        reading.unit === undefined
          ? { value: reading.value, ts: reading.ts }
          : { value: reading.value, ts: reading.ts, unit: reading.unit },
      );
    }
  }
}
