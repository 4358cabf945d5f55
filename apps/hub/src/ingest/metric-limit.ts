/**
 * The most metrics one device may have (`EDGEWIRE_MAX_METRICS_PER_DEVICE`): every metric is a series
 * in history, so a device (or a bug on one) inventing names must not grow them
 * without end. The metrics a device already has are read from storage once per connection; a frame
 * bringing a metric beyond the limit is refused whole, so nothing of it is acked as stored.
 */
import type { Reading } from '@edgewire/protocol';

/** A device's metrics not read within this: the database is unreachable; read again every `RETRY_MS`. */
const LOAD_TIMEOUT_MS = 1000;
const RETRY_MS = 5000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out reading the device's metrics")), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export class MetricLimit {
  readonly #known = new WeakMap<object, Promise<Set<string>>>();
  readonly #loaded = new WeakMap<object, Set<string>>();

  constructor(
    readonly max: number,
    /** The metrics `deviceId` has stored. */
    private readonly load: (deviceId: string) => Promise<string[]>,
  ) {}

  /**
   * Starts (once per connection) reading what the device has; the set then grows as metrics are admitted.
   * When storage does not answer within a second (it is down), the connection starts from what it admits
   * itself, and the stored metrics join the same set once a later read succeeds: ingest never waits on
   * an unreachable database, and the limit is then only per connection until the read comes back.
   */
  metricsOf(connection: object, deviceId: string): Promise<Set<string>> {
    let known = this.#known.get(connection);
    if (!known) {
      const set = new Set<string>();
      const read = (): Promise<void> =>
        withTimeout(this.load(deviceId), LOAD_TIMEOUT_MS).then((metrics) => {
          for (const metric of metrics) set.add(metric);
        });
      const retry = () => {
        setTimeout(() => read().catch(retry), RETRY_MS).unref();
      };
      known = read()
        .catch(retry)
        .then(() => {
          this.#loaded.set(connection, set);
          return set;
        });
      this.#known.set(connection, known);
    }
    return known;
  }

  /** The connection's metrics once read (the hot path then stays synchronous). */
  loaded(connection: object): Set<string> | undefined {
    return this.#loaded.get(connection);
  }

  /** The first metric of `readings` beyond the limit (nothing is admitted then), or undefined (all admitted). */
  admit(known: Set<string>, readings: readonly Reading[]): string | undefined {
    let added: string[] | undefined;
    for (const { metric } of readings) {
      if (known.has(metric) || added?.includes(metric)) continue;
      added ??= [];
      if (known.size + added.length >= this.max) return metric;
      added.push(metric);
    }
    for (const metric of added ?? []) known.add(metric);
    return undefined;
  }
}

export const metricLimitMessage = (metric: string, deviceId: string, max: number): string =>
  `metric: "${metric}" would be metric ${max + 1} of device ${deviceId}, more than the hub allows (EDGEWIRE_MAX_METRICS_PER_DEVICE=${max}); the frame was not stored`;
