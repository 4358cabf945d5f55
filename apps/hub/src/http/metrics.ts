/**
 * Prometheus metrics. A registry per hub (not prom-client's global one) so that several hubs in one
 * process, as in tests, do not share counters. Hot-path counts live in `HubStats` and are read at
 * scrape time. No label ever carries a token, a device id or a topic: only small fixed sets.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ConnectionRegistry } from '../connections/registry.js';
import type { HubStats } from '../stats.js';

/** A counter whose value is copied from a `HubStats` map at each scrape. */
function mirroredCounter(
  registry: Registry,
  name: string,
  help: string,
  label: string,
  read: () => Map<string, number>,
): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, count] of read()) this.inc({ [label]: value }, count);
    },
  });
}

export function createMetrics(stats: HubStats, connections: ConnectionRegistry): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'edgewire_connections',
    help: 'Live WebSocket connections by kind (device or client)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      let devices = 0;
      for (const connection of connections.all()) if (connection.identity.kind === 'device') devices++;
      this.set({ kind: 'device' }, devices);
      this.set({ kind: 'client' }, connections.size - devices);
    },
  });
  mirroredCounter(
    registry,
    'edgewire_frames_in_total',
    'Frames received, by type',
    'type',
    () => stats.framesIn,
  );
  mirroredCounter(
    registry,
    'edgewire_frames_out_total',
    'Frames sent, by type',
    'type',
    () => stats.framesOut,
  );
  mirroredCounter(
    registry,
    'edgewire_errors_total',
    'error frames sent, by code',
    'code',
    () => stats.errors,
  );
  mirroredCounter(
    registry,
    'edgewire_handshake_refusals_total',
    'WebSocket handshakes refused, by HTTP status',
    'status',
    () => stats.handshakeRefusals,
  );
  mirroredCounter(
    registry,
    'edgewire_limit_refusals_total',
    'Frames, handshakes and API requests refused by an abuse limit, by limit',
    'limit',
    () => stats.limitRefusals,
  );
  mirroredCounter(
    registry,
    'edgewire_policy_closes_total',
    'Connections closed with 4008, by cause',
    'cause',
    () => stats.policyCloses,
  );
  new Counter({
    name: 'edgewire_deliveries_total',
    help: 'Messages delivered to subscribers',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.deliveries);
    },
  });
  new Counter({
    name: 'edgewire_dropped_messages_total',
    help: 'Messages dropped because a subscriber could not keep up',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.drops);
    },
  });
  return registry;
}
