/**
 * The Bus carries what must reach every hub instance: published messages (fan-out) and control events
 * (revocation, takeover, telemetry acks). The in-process implementation serves one hub; a Redis one plugs in behind
 * the same interface so that, e.g., a revocation closes connections on every instance.
 */
import type { ConnectionView } from '@edgewire/protocol';
import type { JsonValue } from '../json.js';

export interface BusMessage {
  readonly topic: string;
  readonly payload: JsonValue;
  /** When the hub accepted the message, epoch ms. */
  readonly ts: number;
  readonly retain: boolean;
}

export type ControlEvent =
  /** The token was revoked or deleted, or its permissions changed: close its connections with 4003. */
  | { readonly type: 'token-invalidated'; readonly tokenId: string }
  /** The operator session ended (sign-out, removed or changed operator, expiry): close its WebSockets with 4003. */
  | { readonly type: 'session-ended'; readonly sessionId: string }
  /** Every instance reports its live connections (`connections-report`) for the operators' list. */
  | { readonly type: 'connections-query'; readonly requestId: string; readonly kick?: string }
  | {
      readonly type: 'connections-report';
      readonly requestId: string;
      readonly connections: readonly ConnectionView[];
      readonly kicked: boolean;
    }
  /** The device was deleted: close its connection with 4003. */
  | { readonly type: 'device-removed'; readonly deviceId: string }
  /** `connId` is now the device's live connection: any other one, anywhere, closes with 4009. */
  | { readonly type: 'device-connected'; readonly deviceId: string; readonly connId: string }
  /** The device's readings up to `seq` are stored: its live connection, wherever it is, gets the ack. */
  | { readonly type: 'telemetry-committed'; readonly deviceId: string; readonly seq: number };

/** The local side of fan-out: the connections of this hub instance and what they subscribed to. */
export interface LocalDelivery {
  hasSubscribers(topic: string): boolean;
  deliver(message: BusMessage): void;
}

export interface Bus {
  /** False while the bus cannot reach the other instances; `/readyz` reports it. */
  readonly healthy: boolean;
  /** True when other hub instances may hear this bus (they answer control events asynchronously). */
  readonly distributed: boolean;
  /** Hands local deliveries to the bus; called once at start. */
  attach(local: LocalDelivery, onControl: (event: ControlEvent) => void): void;
  /** Is anyone, on any instance, subscribed to `topic`? Lets the hot path skip unwanted work. */
  hasSubscribers(topic: string): boolean;
  publish(message: BusMessage): void;
  control(event: ControlEvent): void;
  close(): Promise<void>;
}
