/**
 * What the hub does with each frame a client sends: parse and validate (bad input gets an `error`
 * and the connection stays usable), rate-limit publications, check permissions, then act.
 */
import { type PubFrame, parseClientFrame, type SubFrame, type UnsubFrame } from '@edgewire/protocol';
import type { RawData } from 'ws';
import type { Broker } from '../broker.js';
import { msgFrame } from '../bus/local-fanout.js';
import type { TelemetryIngest } from '../ingest/telemetry-ingest.js';
import type { JsonValue } from '../json.js';
import { mayPublish, maySubscribe } from '../permissions/policy.js';
import { HubStats } from '../stats.js';
import { CloseCode } from './close-codes.js';
import type { Connection } from './connection.js';
import type { ConnectionRegistry } from './registry.js';

export interface RateLimitPolicy {
  /** Rate-limited frames within `STRIKE_WINDOW_MS` after which the connection is closed with 4008. */
  readonly publishStrikes: number;
}

const STRIKE_WINDOW_MS = 10_000;

export class FrameHandler {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly broker: Broker,
    private readonly ingest: TelemetryIngest,
    private readonly stats: HubStats,
    private readonly policy: RateLimitPolicy,
  ) {}

  /** A device connected: telemetry ingest gets ready for its frames. */
  deviceConnected(connection: Connection): void {
    this.ingest.deviceConnected(connection);
  }

  handle(connection: Connection, data: RawData, isBinary: boolean): void {
    if (connection.closing) return;
    if (isBinary) {
      this.#invalid(connection, 'binary frames are not accepted: send one JSON object per text frame');
      return;
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString() : data.toString();
    const parsed = parseClientFrame(text);
    if (!parsed.ok) {
      this.#invalid(connection, parsed.error, parsed.ref);
      return;
    }
    const frame = parsed.frame;
    HubStats.bump(this.stats.framesIn, frame.type);
    switch (frame.type) {
      case 'sub':
        this.#subscribe(connection, frame);
        return;
      case 'unsub':
        this.#unsubscribe(connection, frame);
        return;
      case 'pub':
        if (this.#withinRate(connection, frame.id)) this.#publish(connection, frame);
        return;
      case 'telemetry':
        if (this.#withinRate(connection, frame.id)) this.ingest.handle(connection, frame);
        return;
    }
  }

  #invalid(connection: Connection, problem: string, ref?: string | number): void {
    HubStats.bump(this.stats.framesIn, 'invalid');
    connection.log.warn({ problem }, 'invalid frame');
    connection.sendError('invalid_frame', problem, ref);
  }

  #withinRate(connection: Connection, ref: string | number | undefined): boolean {
    if (connection.publishBucket.take()) return true;
    const now = Date.now();
    if (connection.strikes === 0 || now - connection.strikeWindowStart > STRIKE_WINDOW_MS) {
      connection.strikes = 0;
      connection.strikeWindowStart = now;
    }
    connection.strikes++;
    if (connection.strikes > this.policy.publishStrikes) {
      connection.log.warn({ strikes: connection.strikes }, 'publish rate limit exceeded repeatedly');
      connection.close(CloseCode.policy, 'publish rate limit exceeded repeatedly');
      return false;
    }
    connection.sendError('rate_limited', 'publishing too fast: slow down', ref);
    return false;
  }

  #subscribe(connection: Connection, frame: SubFrame): void {
    const refused = frame.filters.find((filter) => !maySubscribe(connection.identity, filter));
    if (refused !== undefined) {
      connection.sendError('forbidden', `filters: not allowed to subscribe to ${refused}`, frame.id);
      return;
    }
    for (const filter of frame.filters) this.registry.subscribe(connection, filter);
    connection.sendJson(frame.id === undefined ? { type: 'ack' } : { type: 'ack', ref: frame.id });
    this.sendRetained(connection, frame.filters);
  }

  /** Delivers the retained messages matching `filters`, each topic once. */
  sendRetained(connection: Connection, filters: readonly string[]): void {
    const seen = new Set<string>();
    for (const filter of filters) {
      for (const message of this.broker.retained.matching(filter)) {
        if (seen.has(message.topic)) continue;
        seen.add(message.topic);
        connection.send(msgFrame(message, true), 'msg');
      }
    }
  }

  #unsubscribe(connection: Connection, frame: UnsubFrame): void {
    for (const filter of frame.filters) this.registry.unsubscribe(connection, filter);
    connection.sendJson(frame.id === undefined ? { type: 'ack' } : { type: 'ack', ref: frame.id });
  }

  #publish(connection: Connection, frame: PubFrame): void {
    if (!mayPublish(connection.identity, frame.topic)) {
      connection.sendError('forbidden', `topic: not allowed to publish to ${frame.topic}`, frame.id);
      return;
    }
    this.broker.publish(frame.topic, frame.payload as JsonValue, frame.retain ?? false);
    if (frame.id !== undefined) connection.sendJson({ type: 'ack', ref: frame.id });
  }
}
