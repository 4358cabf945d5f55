/**
 * The frames gathered for one connection that negotiated `BATCH_SUBPROTOCOL` (docs/protocol.md,
 * "Batched frames"): everything sent to it within one event-loop turn leaves as a single WebSocket
 * frame holding a JSON array, in the order it was sent. A browser pays per WebSocket message (an IPC
 * hop from the network service, an event, a JSON.parse); at 5,000 messages a second that, not the
 * data, was what a dashboard spent its frames on.
 */
import { PreparedMessage } from './prepared-message.js';

/**
 * A batch is cut at this size (a single larger frame still goes alone): receivers parse a frame at
 * once, so it stays in the range of the hub's own inbound frame limit.
 */
export const MAX_BATCH_BYTES = 64 * 1024;

const OPEN = 0x5b; // [
const COMMA = 0x2c;
const CLOSE = 0x5d; // ]

export class FrameBatch {
  readonly #parts: Buffer[] = [];
  #bytes = 0;

  /** Whether `payload` fits in the batch as it is (an empty batch takes anything). */
  fits(payload: Buffer): boolean {
    return (
      this.#parts.length === 0 || this.#bytes + payload.length + this.#parts.length + 2 <= MAX_BATCH_BYTES
    );
  }

  add(payload: Buffer): void {
    this.#parts.push(payload);
    this.#bytes += payload.length;
  }

  /** The gathered frames as one `[f1,f2,…]` text frame, emptying the batch; undefined when empty. */
  take(): PreparedMessage | undefined {
    const count = this.#parts.length;
    if (count === 0) return undefined;
    const out = Buffer.allocUnsafe(this.#bytes + count + 1);
    let at = 0;
    for (let i = 0; i < count; i++) {
      out[at] = i === 0 ? OPEN : COMMA;
      at += 1 + this.#parts[i]!.copy(out, at + 1);
    }
    out[at] = CLOSE;
    this.#parts.length = 0;
    this.#bytes = 0;
    return new PreparedMessage(out);
  }
}
