/**
 * History in one process: a ring of the latest messages per stream, bounded by count and age. A ring's
 * epoch is drawn when it is created, so a history dropped (linger ran out, hub restarted) and started
 * again is never mistaken for the old one.
 */
import { randomBytes } from 'node:crypto';
import { matches } from '@edgewire/protocol';
import {
  type BusMessage,
  type HistoryLimits,
  NOT_RECOVERED,
  type Recovery,
  type StreamPosition,
} from './bus.js';
import { streamOfFilter } from './streams.js';

class Ring {
  readonly epoch = randomBytes(6).toString('base64url');
  readonly #slots: Array<BusMessage | undefined>;
  #start = 0;
  #count = 0;
  /** Offset of the last message appended. */
  last = 0;

  constructor(readonly capacity: number) {
    this.#slots = new Array(capacity);
  }

  get first(): number {
    return this.last - this.#count + 1;
  }

  push(message: BusMessage): StreamPosition {
    const pos = { epoch: this.epoch, offset: ++this.last };
    const at = (this.#start + this.#count) % this.capacity;
    this.#slots[at] = { ...message, pos };
    if (this.#count < this.capacity) this.#count++;
    else this.#start = (this.#start + 1) % this.capacity;
    return pos;
  }

  dropOlderThan(ts: number): void {
    while (this.#count > 0 && (this.#slots[this.#start]?.ts ?? 0) < ts) {
      this.#slots[this.#start] = undefined;
      this.#start = (this.#start + 1) % this.capacity;
      this.#count--;
    }
  }

  /** Messages with an offset above `offset`, oldest first. */
  after(offset: number): BusMessage[] {
    const out: BusMessage[] = [];
    for (let i = Math.max(0, offset - this.first + 1); i < this.#count; i++) {
      out.push(this.#slots[(this.#start + i) % this.capacity]!);
    }
    return out;
  }
}

export class MemoryHistory {
  readonly #rings = new Map<string, Ring>();

  constructor(private readonly limits: HistoryLimits) {}

  append(stream: string, message: BusMessage): BusMessage {
    const ring = this.#ring(stream);
    ring.dropOlderThan(message.ts - this.limits.ttlMs);
    return { ...message, pos: ring.push(message) };
  }

  /** The position of the stream's last message (offset 0 before the first). */
  position(stream: string): StreamPosition {
    const ring = this.#ring(stream);
    return { epoch: ring.epoch, offset: ring.last };
  }

  #ring(stream: string): Ring {
    let ring = this.#rings.get(stream);
    if (!ring) {
      ring = new Ring(this.limits.size);
      this.#rings.set(stream, ring);
    }
    return ring;
  }

  forget(stream: string): void {
    this.#rings.delete(stream);
  }

  recover(filter: string, since: StreamPosition): Recovery {
    const stream = streamOfFilter(filter);
    const ring = stream === undefined ? undefined : this.#rings.get(stream);
    if (!ring || ring.epoch !== since.epoch || since.offset > ring.last) return NOT_RECOVERED;
    ring.dropOlderThan(Date.now() - this.limits.ttlMs);
    // The message right after `since` must still be held (or nothing came after it).
    if (since.offset < ring.first - 1) return NOT_RECOVERED;
    return { recovered: true, messages: ring.after(since.offset).filter((m) => matches(filter, m.topic)) };
  }
}
