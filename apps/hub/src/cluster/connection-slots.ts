/**
 * Connection slots per token, for `maxConnections` (SPEC: counted across all hub instances). A slot is
 * taken at the handshake, before the upgrade, so that concurrent handshakes cannot overshoot, and
 * given back when the TCP connection closes.
 */
export type ReleaseSlot = () => void;

export interface ConnectionSlots {
  /** Takes one of the token's `max` slots (no limit when null); `undefined` when all are taken. */
  reserve(tokenId: string, max: number | null): Promise<ReleaseSlot | undefined>;
  close(): Promise<void>;
}

/** Slots of a single hub instance. */
export class MemorySlots implements ConnectionSlots {
  readonly #used = new Map<string, number>();

  async reserve(tokenId: string, max: number | null): Promise<ReleaseSlot | undefined> {
    const used = this.#used.get(tokenId) ?? 0;
    if (max !== null && used >= max) return undefined;
    this.#used.set(tokenId, used + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#used.get(tokenId) ?? 1) - 1;
      if (left > 0) this.#used.set(tokenId, left);
      else this.#used.delete(tokenId);
    };
  }

  async close(): Promise<void> {}
}
