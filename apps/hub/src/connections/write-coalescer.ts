/**
 * Coalesces the writes to each socket within one turn of the event loop into a single system call.
 * Every frame read in one poll phase (from every device) may fan out to the same subscriber; written
 * one by one, each message costs a system call per subscriber, which dominated the hub's CPU at high
 * fan-out. Holding until `setImmediate` (the check phase, right after that poll phase) adds no timer
 * delay: the writes leave in the same loop iteration.
 */
import type { Socket } from 'node:net';

export class WriteCoalescer {
  readonly #held: Socket[] = [];
  #scheduled = false;
  /** Changes each time held writes are released: a connection holding in a new epoch is in a new batch. */
  epoch = 0;

  /** Holds `socket`'s writes until the end of the current event-loop iteration. */
  hold(socket: Socket): void {
    if (socket.writableCorked > 0) return;
    socket.cork();
    this.#held.push(socket);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#release);
    }
  }

  readonly #release = (): void => {
    this.#scheduled = false;
    this.epoch++;
    for (const socket of this.#held.splice(0)) socket.uncork();
  };
}
