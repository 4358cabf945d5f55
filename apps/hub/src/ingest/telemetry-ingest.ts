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
import { type MetricLimit, metricLimitMessage } from './metric-limit.js';
import type { TelemetrySink } from './telemetry-sink.js';

const STORAGE_BEHIND = 'storage is behind: keep readings buffered and resend later';
const SHUTTING_DOWN = 'the hub is shutting down: keep readings buffered and resend them after reconnecting';

export class TelemetryIngest {
  /** Frames of a connection waiting, in order, for its device's metrics to be read. */
  readonly #waiting = new WeakMap<Connection, Promise<void>>();
  /** The same frames, of every connection: shutdown waits for them to reach the sink. */
  readonly #pending = new Set<Promise<void>>();
  #stopped = false;

  constructor(
    private readonly broker: Broker,
    private readonly sink: TelemetrySink,
    bus: Bus,
    private readonly metricLimit?: MetricLimit,
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
    if (this.#stopped) {
      // Refused before the live fan-out: the agent resends it to the next hub, which shows it then.
      this.#refuse(connection, frame, 'rate_limited', SHUTTING_DOWN);
      return;
    }
    // Live first, whatever storage does: a refused frame still reaches the screens, and the rewind's
    // resends of frames already shown do not appear twice.
    if (frame.seq > connection.liveSeq) {
      connection.liveSeq = frame.seq;
      this.#publishLive(deviceId, frame);
    }
    const limit = this.metricLimit;
    if (!limit) {
      this.#store(connection, deviceId, frame);
      return;
    }
    const known = limit.loaded(connection);
    const waiting = this.#waiting.get(connection);
    if (known && !waiting) {
      this.#checkMetrics(limit, known, connection, deviceId, frame);
      return;
    }
    // The first frames of a connection wait (in order, at most a second) for the device's metrics.
    const next = (waiting ?? Promise.resolve())
      .then(async () => {
        this.#checkMetrics(limit, await limit.metricsOf(connection, deviceId), connection, deviceId, frame);
      })
      .catch((error: unknown) => {
        // Off the socket handler's stack, so its own catch cannot answer: a bug costs this frame an
        // `internal` error, as it does on the synchronous path.
        connection.log.error({ err: error }, 'frame handling failed');
        connection.sendError('internal', 'the hub failed to handle this frame', frame.id);
      });
    this.#waiting.set(connection, next);
    this.#pending.add(next);
    void next.finally(() => {
      this.#pending.delete(next);
      if (this.#waiting.get(connection) === next) this.#waiting.delete(connection);
    });
  }

  /**
   * Shutdown: later frames are refused (the agent resends them after reconnecting), and this resolves
   * once every frame taken before has reached the sink or been answered, so the sink's last flush
   * stores and acks them instead of leaving them to arrive after it closed.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    // Nothing joins the set once stopped; a frame's wait never rejects (its catch answers the frame).
    await Promise.all(this.#pending);
  }

  /** Starts reading what a device that just connected has, so its first frame rarely waits for it. */
  deviceConnected(connection: Connection): void {
    const deviceId = connection.identity.deviceId;
    if (this.metricLimit && deviceId !== undefined) {
      this.metricLimit.metricsOf(connection, deviceId).catch(() => {});
    }
  }

  /** A frame bringing a metric beyond the device's limit is refused whole: not stored, not acked. */
  #checkMetrics(
    limit: MetricLimit,
    known: Set<string>,
    connection: Connection,
    deviceId: string,
    frame: TelemetryFrame,
  ): void {
    const over = limit.admit(known, frame.readings);
    if (over === undefined) this.#store(connection, deviceId, frame);
    else this.#refuse(connection, frame, 'forbidden', metricLimitMessage(over, deviceId, limit.max));
  }

  /** Later frames are refused until this one is sent again, so that no ack can cover it. */
  #refuse(
    connection: Connection,
    frame: TelemetryFrame,
    code: 'forbidden' | 'rate_limited',
    message: string,
  ) {
    if (connection.refusedSeq === undefined || frame.seq < connection.refusedSeq)
      connection.refusedSeq = frame.seq;
    connection.sendError(code, message, frame.id);
  }

  #store(connection: Connection, deviceId: string, frame: TelemetryFrame): void {
    if (connection.refusedSeq !== undefined) {
      if (frame.seq > connection.refusedSeq) {
        connection.sendError('rate_limited', STORAGE_BEHIND, frame.id);
        return;
      }
      connection.refusedSeq = undefined;
    }
    if (!this.sink.offer({ deviceId, seq: frame.seq, readings: frame.readings })) {
      this.#refuse(connection, frame, 'rate_limited', STORAGE_BEHIND);
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
