/**
 * The Bus carries what must reach other hub instances: published messages (fan-out, routed by interest),
 * the bounded history of watched topics (SPEC "Recovery of missed messages"), and control events
 * (revocation, takeover, telemetry acks). `MemoryBus` serves one hub; `RedisBus` plugs in behind the same
 * interface (Centrifugo's broker seam), so that, e.g., a revocation closes connections on every instance.
 */
import type { ConnectionView } from '@edgewire/protocol';
import type { JsonValue } from '../json.js';

/** A message's place in its stream's history: `offset` rises by one per message; `epoch` names the history. */
export interface StreamPosition {
  readonly epoch: string;
  readonly offset: number;
}

let lastStamp = 0;

/**
 * A new message's `ts`: the clock, but never behind the last one given here, so that a clock set back
 * does not make this instance's next retained message look older than the one it replaces.
 */
export function stampNow(): number {
  lastStamp = Math.max(Date.now(), lastStamp);
  return lastStamp;
}

export interface BusMessage {
  readonly topic: string;
  readonly payload: JsonValue;
  /** When the hub accepted the message, epoch ms (`stampNow`); orders retained messages across instances. */
  readonly ts: number;
  readonly retain: boolean;
  /** Set on messages of a stream that keeps history. */
  readonly pos?: StreamPosition;
}

export type ControlEvent =
  /**
   * The token was revoked or deleted, or its permissions changed: close its connections with 4003 — those
   * whose handshake read a credentials version below `version`, or all of them when it is absent.
   */
  | { readonly type: 'token-invalidated'; readonly tokenId: string; readonly version?: number }
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
  /** `connId` is now the device's live connection: any older one, anywhere, closes with 4009. */
  | {
      readonly type: 'device-connected';
      readonly deviceId: string;
      readonly connId: string;
      /**
       * Orders the device's connections (`device-generations.ts`): the event may arrive late. Absent from
       * hubs of earlier versions (during a rolling upgrade), whose connections count as newest, as before.
       */
      readonly generation?: number;
    }
  /** The device's readings up to `seq` are stored: its live connection, wherever it is, gets the ack. */
  | { readonly type: 'telemetry-committed'; readonly deviceId: string; readonly seq: number };

/** The local side of fan-out: the connections of this hub instance and what they subscribed to. */
export interface LocalDelivery {
  hasSubscribers(topic: string): boolean;
  deliver(message: BusMessage): void;
}

/** What `recover` found: every held message of the filter after the position, or `recovered: false`. */
export interface Recovery {
  readonly recovered: boolean;
  /** In stream order; empty when not recovered. */
  readonly messages: readonly BusMessage[];
}

export interface Bus {
  /** False while the bus cannot reach the other instances; `/readyz` reports it. */
  readonly healthy: boolean;
  /** True when other hub instances may hear this bus (they answer control events asynchronously). */
  readonly distributed: boolean;
  /** Hands local deliveries to the bus; called once at start. */
  attach(local: LocalDelivery, onControl: (event: ControlEvent) => void): void;
  /**
   * A local connection subscribed to `filter` (called once per connection and filter). The bus routes
   * matching messages here and keeps the history of the stream it addresses, if it addresses one.
   */
  watch(filter: string): void;
  /** The counterpart of `watch`; a stream's history is kept for its age limit after the last watcher left. */
  unwatch(filter: string): void;
  /**
   * Does a message on `topic` matter anywhere: a subscriber on any instance, or a history that keeps it?
   * Lets the hot path skip work that nobody would see.
   */
  hasSubscribers(topic: string): boolean;
  publish(message: BusMessage): void;
  control(event: ControlEvent): void;
  /**
   * Where the history of the stream `filter` addresses stands now, starting it if it holds nothing yet;
   * undefined when the filter keeps no history (it spans streams, or history is off). Synchronous on a
   * bus that is not distributed; a Redis read otherwise.
   */
  position(filter: string): StreamPosition | undefined | Promise<StreamPosition | undefined>;
  /**
   * Resolves once every other instance has heard of the interest changes made so far (or could not be
   * asked): from then on, whatever they publish on those filters reaches this instance or its history.
   */
  settled(): Promise<void>;
  /** The messages matching `filter` published after `since`, from the stream's history. */
  recover(filter: string, since: StreamPosition): Promise<Recovery>;
  close(): Promise<void>;
}

/** How much history each watched stream keeps (SPEC: bounded by count and age). Size 0 keeps none. */
export interface HistoryLimits {
  readonly size: number;
  readonly ttlMs: number;
}

export const NOT_RECOVERED: Recovery = { recovered: false, messages: [] };
