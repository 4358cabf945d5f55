/**
 * Counters the hot path bumps with a plain increment; `/metrics` reads them when scraped. Keeping
 * prom-client's label lookups off the per-delivery path is worth it at hundreds of thousands a second.
 */
export class HubStats {
  readonly framesIn = new Map<string, number>();
  readonly framesOut = new Map<string, number>();
  readonly errors = new Map<string, number>();
  readonly handshakeRefusals = new Map<string, number>();
  /** Requests and frames refused by an abuse limit, by limit (`subscriptions`, `api_rate`, …). */
  readonly limitRefusals = new Map<string, number>();
  /** Connections closed with 4008, by what the client kept doing. */
  readonly policyCloses = new Map<string, number>();
  deliveries = 0;
  drops = 0;

  static bump(counts: Map<string, number>, key: string, by = 1): void {
    counts.set(key, (counts.get(key) ?? 0) + by);
  }
}
