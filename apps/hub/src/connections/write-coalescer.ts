/**
 * Coalesces the writes to each socket within one turn of the event loop into a single system call.
 * Every frame read in one poll phase (from every device) may fan out to the same subscriber; written
 * one by one, each message costs a system call per subscriber, which dominated the hub's CPU at high
 * fan-out. Holding until `setImmediate` (the check phase, right after that poll phase) adds no timer
 * delay: the writes leave in the same loop iteration.
 */
import type { Socket } from 'node:net';

interface Held {
  socket: Socket;
  /** Writes what its owner gathered during the turn (a batched connection's frame), before the release. */
  flush: (() => void) | undefined;
}

export class WriteCoalescer {
  readonly #held: Held[] = [];
  #scheduled = false;
  /** Changes each time held writes are released: a connection holding in a new epoch is in a new batch. */
  epoch = 0;

  /**
   * Holds `socket`'s writes until the end of the current event-loop iteration, then calls `flush` and
   * releases them. Called at most once per socket and epoch (the connection tracks the epoch).
   */
  hold(socket: Socket, flush?: () => void): void {
    socket.cork();
    this.#held.push({ socket, flush });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#release);
    }
  }

  readonly #release = (): void => {
    this.#scheduled = false;
    this.epoch++;
    for (const { socket, flush } of this.#held.splice(0)) {
      flush?.();
      socket.uncork();
    }
  };
}
