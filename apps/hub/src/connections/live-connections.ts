/**
 * The operators' view of live connections across every hub instance: a query goes out on the bus,
 * each instance reports its own (and closes the one being kicked, if it has it), and the answers
 * that arrive within `GATHER_MS` make the list. With the in-process bus the only instance answers at once.
 */
import { randomBytes } from 'node:crypto';
import type { ConnectionView } from '@edgewire/protocol';
import type { Bus, ControlEvent } from '../bus/bus.js';
import { CloseCode } from './close-codes.js';
import type { Connection } from './connection.js';
import type { ConnectionRegistry } from './registry.js';

/** How long a query waits for other instances; Redis pub/sub answers in a few ms when healthy. */
const GATHER_MS = 250;

export interface LiveConnections {
  list(): Promise<ConnectionView[]>;
  /** Closes the connection (4008) wherever it is; false when no instance has it. */
  kick(conn: string): Promise<boolean>;
}

function view(connection: Connection): ConnectionView {
  const { identity } = connection;
  return {
    conn: connection.id,
    kind: identity.kind,
    device: identity.deviceId ?? null,
    tokenId: identity.kind === 'operator' ? null : identity.tokenId,
    operator: identity.operator ?? null,
    address: identity.address,
    since: new Date(connection.since).toISOString(),
    subscriptions: [...connection.filters],
    bytesIn: connection.bytesIn,
    bytesOut: connection.bytesOut,
  };
}

interface Gathering {
  connections: ConnectionView[];
  kicked: boolean;
}

export class ClusterConnections implements LiveConnections {
  readonly #pending = new Map<string, Gathering>();

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly bus: Bus,
  ) {}

  async list(): Promise<ConnectionView[]> {
    return (await this.#gather()).connections.sort((a, b) => a.since.localeCompare(b.since));
  }

  async kick(conn: string): Promise<boolean> {
    return (await this.#gather(conn)).kicked;
  }

  /** Handles the bus's control events: answers queries, collects reports. */
  onControl(event: ControlEvent): void {
    if (event.type === 'connections-query') {
      let kicked = false;
      if (event.kick !== undefined) {
        const target = this.registry.byId(event.kick);
        target?.close(CloseCode.policy, 'closed by an operator');
        kicked = target !== undefined;
      }
      const connections = [...this.registry.all()].filter((c) => !c.closing).map(view);
      this.bus.control({ type: 'connections-report', requestId: event.requestId, connections, kicked });
    } else if (event.type === 'connections-report') {
      const gathering = this.#pending.get(event.requestId);
      if (!gathering) return;
      gathering.connections.push(...event.connections);
      gathering.kicked ||= event.kicked;
    }
  }

  async #gather(kick?: string): Promise<Gathering> {
    const requestId = randomBytes(8).toString('hex');
    const gathering: Gathering = { connections: [], kicked: false };
    this.#pending.set(requestId, gathering);
    try {
      this.bus.control({ type: 'connections-query', requestId, ...(kick === undefined ? {} : { kick }) });
      if (this.bus.distributed) await new Promise((resolve) => setTimeout(resolve, GATHER_MS));
      return gathering;
    } finally {
      this.#pending.delete(requestId);
    }
  }
}
