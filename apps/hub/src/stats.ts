/**
 * Counters the hot path bumps with a plain increment; `/metrics` reads them when scraped. Keeping
 * prom-client's label lookups off the per-delivery path is worth it at hundreds of thousands a second.
 */
export class HubStats {
  readonly framesIn = new Map<string, number>();
  readonly framesOut = new Map<string, number>();
  readonly errors = new Map<string, number>();
  readonly handshakeRefusals = new Map<string, number>();
  deliveries = 0;
  drops = 0;

  static bump(counts: Map<string, number>, key: string, by = 1): void {
    counts.set(key, (counts.get(key) ?? 0) + by);
  }
}
