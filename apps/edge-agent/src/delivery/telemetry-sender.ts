/**
 * Moves committed readings from the buffer to the hub and back out of the buffer once acked
 * (cross-team contract, "Telemetry and acks").
 *
 * - A frame carries consecutive buffered readings; its seq (and id) is the seq of its last reading.
 * - At most `window` frames are unacknowledged at a time, each within the hub's frame size limit.
 * - On every new connection, and after the hub refused a frame with rate_limited, sending starts again
 *   from the oldest unacknowledged reading. After a refusal of seq R the first frame ends at or before
 *   R, which is what the hub waits for before it accepts frames again.
 * - A hub that takes a frame and never answers (a frame lost inside it) would stall the window until the
 *   next reconnect; after `ackTimeoutMs` without any ack, sending starts again from the oldest
 *   unacknowledged reading on the same connection. The hub stores idempotently and does not show
 *   a resent frame live twice, so a resend that was not needed costs only bandwidth.
 */
import type { ErrorFrame } from '@edgewire/protocol';
import { Backoff } from '../backoff.js';
import type { ReadingBuffer, StoredReading } from '../buffer/reading-buffer.js';
import type { Logger } from '../logger.js';
import { RateLimiter } from './rate-limiter.js';

export interface TelemetrySenderOptions {
  buffer: ReadingBuffer;
  logger: Logger;
  window: number;
  maxReadingsPerFrame: number;
  maxFrameBytes: number;
  maxReadingsPerSec: number;
  /** How long frames may wait for an ack (none arriving at all) before they are sent again. */
  ackTimeoutMs: number;
  /** Sends one frame's JSON text; false when there is no connection. */
  send(text: string): boolean;
}

/** Room left in a frame for `{"type":"telemetry","id":…,"seq":…,"readings":[]}`. */
const FRAME_ENVELOPE_BYTES = 96;
/** Frames never shrink below this; one reading always fits. */
const MIN_FRAME_BYTES = 1024;
/** Pauses after the hub said its storage is behind: 1 s, doubling up to 30 s, with jitter; reset by an ack. */
const PAUSE_INITIAL_MS = 1000;
const PAUSE_MAX_MS = 30_000;

export class TelemetrySender {
  private live = false;
  /** Highest seq the hub acknowledged in this run. */
  private ackedSeq = 0;
  /** Seq of the last reading sent on this connection. */
  private cursor = 0;
  /** Seqs of frames sent and not yet acknowledged, in order. */
  private inFlight: number[] = [];
  /** After a rate_limited refusal of this seq, the next frame must end at or before it. */
  private resendThrough: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Runs out when frames are in flight and no ack arrived for `ackTimeoutMs`. */
  private ackTimer: NodeJS.Timeout | undefined;
  private readonly limiter: RateLimiter;
  private readonly pauses: Backoff;
  private sentFrames = 0;
  private sentReadings = 0;
  private maxFrameBytes: number;

  constructor(private readonly options: TelemetrySenderOptions) {
    this.maxFrameBytes = options.maxFrameBytes;
    this.limiter = new RateLimiter(options.maxReadingsPerSec);
    this.pauses = new Backoff({ initialMs: PAUSE_INITIAL_MS, maxMs: PAUSE_MAX_MS });
    options.buffer.onFlushed(() => this.pump());
  }

  /** A new connection: start from the oldest unacknowledged reading. */
  connected(): void {
    this.live = true;
    this.resendThrough = undefined;
    this.rewind();
    this.pump();
  }

  disconnected(): void {
    this.live = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stopAckTimer();
  }

  acked(seq: number): void {
    if (seq > this.ackedSeq) {
      this.ackedSeq = seq;
      this.options.buffer.ack(seq);
      this.pauses.reset();
    }
    // An ack at or past the refused frame means its readings are stored after all (an earlier copy was
    // still queued at the hub): there is nothing left to resend up to it.
    if (this.resendThrough !== undefined && seq >= this.resendThrough) this.resendThrough = undefined;
    while (this.inFlight.length > 0 && this.inFlight[0]! <= seq) this.inFlight.shift();
    // Any ack shows the hub is answering: the remaining frames get a full timeout of their own.
    this.stopAckTimer();
    this.pump();
    this.armAckTimer();
  }

  /** An error frame from the hub that refers to one of our telemetry frames. */
  refused(frame: ErrorFrame): void {
    const ref = typeof frame.ref === 'number' ? frame.ref : Number(frame.ref);
    // Errors for frames sent before the last rewind are already handled by that rewind.
    if (!this.inFlight.includes(ref)) return;
    const pauseMs = this.pauses.next();
    if (frame.code === 'rate_limited') {
      this.options.logger.warn({ seq: ref, pauseMs }, 'hub storage is behind: pausing, then resending');
    } else {
      this.options.logger.error(
        { seq: ref, pauseMs, code: frame.code, problem: frame.message },
        'the hub refused a telemetry frame; the readings stay buffered and are sent again after a pause',
      );
    }
    this.resendThrough = ref;
    this.inFlight = [];
    this.stopAckTimer();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.rewind();
      this.pump();
    }, pauseMs);
  }

  /**
   * The hub closed the connection because a frame was over its size limit (1009): its limit is lower
   * than ours. Halving until frames fit beats sending the same frame into the same refusal forever.
   */
  frameTooLarge(): void {
    const smaller = Math.max(MIN_FRAME_BYTES, Math.floor(this.maxFrameBytes / 2));
    this.options.logger.warn(
      { maxFrameBytes: smaller },
      "the hub refused a frame as too large: sending smaller frames; set delivery.maxFrameBytes to the hub's limit",
    );
    this.maxFrameBytes = smaller;
  }

  private rewind(): void {
    this.cursor = this.ackedSeq;
    this.inFlight = [];
    this.stopAckTimer();
  }

  private armAckTimer(): void {
    if (this.ackTimer || !this.live || this.inFlight.length === 0) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.options.logger.warn(
        { seq: this.inFlight[0], inFlight: this.inFlight.length, waitedMs: this.options.ackTimeoutMs },
        'no ack from the hub in time: sending again from the oldest unacknowledged reading',
      );
      this.rewind();
      this.pump();
    }, this.options.ackTimeoutMs);
  }

  private stopAckTimer(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }

  /** Sends frames while the window, the rate limit and the buffer allow. */
  pump(): void {
    // A pending timer is a pause or a wait for the rate limit; it calls pump itself.
    if (!this.live || this.timer) return;
    while (this.inFlight.length < this.options.window) {
      const readings = this.options.buffer.readAfter(this.cursor, this.options.maxReadingsPerFrame);
      const limited =
        this.resendThrough === undefined ? readings : readings.filter((r) => r.seq <= this.resendThrough!);
      if (limited.length === 0) return;
      const wait = this.limiter.delayFor(limited.length);
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      const { body, last, count } = encodeReadings(limited, this.maxFrameBytes - FRAME_ENVELOPE_BYTES);
      const frame = `{"type":"telemetry","id":${last},"seq":${last},"readings":[${body}]}`;
      if (!this.options.send(frame)) return;
      this.limiter.take(count);
      this.inFlight.push(last);
      this.cursor = last;
      this.resendThrough = undefined;
      this.sentFrames++;
      this.sentReadings += count;
      this.armAckTimer();
    }
  }

  stats(): { ackedSeq: number; inFlight: number; sentFrames: number; sentReadings: number } {
    return {
      ackedSeq: this.ackedSeq,
      inFlight: this.inFlight.length,
      sentFrames: this.sentFrames,
      sentReadings: this.sentReadings,
    };
  }

  close(): void {
    this.disconnected();
  }
}

/** Serialises as many readings as fit in `maxBytes` (at least one). */
function encodeReadings(
  readings: readonly StoredReading[],
  maxBytes: number,
): { body: string; last: number; count: number } {
  const parts: string[] = [];
  let bytes = 0;
  let last = 0;
  for (const r of readings) {
    const text =
      r.unit === undefined
        ? `{"metric":${JSON.stringify(r.metric)},"value":${r.value},"ts":${r.ts}}`
        : `{"metric":${JSON.stringify(r.metric)},"value":${r.value},"ts":${r.ts},"unit":${JSON.stringify(r.unit)}}`;
    const size = Buffer.byteLength(text) + 1;
    if (parts.length > 0 && bytes + size > maxBytes) break;
    parts.push(text);
    bytes += size;
    last = r.seq;
  }
  return { body: parts.join(','), last, count: parts.length };
}
