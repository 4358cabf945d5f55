/**
 * What the hub does with each frame a client sends: parse and validate (bad input gets an `error`
 * and the connection stays usable, up to a tolerance), rate-limit commands, check permissions and
 * subscription limits, then act. Refusals a client keeps provoking end in a policy close (4008).
 */
import { type PubFrame, parseClientFrame, type SubFrame, type UnsubFrame } from '@edgewire/protocol';
import type { RawData } from 'ws';
import type { Broker } from '../broker.js';
import type { BusMessage } from '../bus/bus.js';
import { msgFrame } from '../bus/local-fanout.js';
import type { Recoveries } from '../bus/recovery.js';
import type { TelemetryIngest } from '../ingest/telemetry-ingest.js';
import type { JsonValue } from '../json.js';
import type { LogSummary } from '../log-summary.js';
import { maySubscribe, publishRefusal } from '../permissions/policy.js';
import { HubStats } from '../stats.js';
import { CloseCode } from './close-codes.js';
import type { Connection } from './connection.js';
import type { TokenBucket } from './rate-limit.js';
import type { ConnectionRegistry } from './registry.js';
import { type SubscriptionLimits, subscriptionLimitError, usageOf } from './subscription-limits.js';

export interface FramePolicy extends SubscriptionLimits {
  /** Frames refused for a rate or subscription limit within 10 s before the connection is closed with 4008. */
  readonly publishStrikes: number;
  /** Invalid frames within 10 s before the connection is closed with 4008. */
  readonly invalidFrameTolerance: number;
}

export class FrameHandler {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly broker: Broker,
    private readonly ingest: TelemetryIngest,
    private readonly stats: HubStats,
    private readonly policy: FramePolicy,
    private readonly recoveries: Recoveries,
    /** Where invalid frames are logged: the first ones in full, then summed up per interval. */
    private readonly invalidFrameLog: LogSummary,
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
        if (this.#withinRate(connection, connection.subscribeBucket, 'subscribe', frame.id)) {
          this.#subscribe(connection, frame);
        }
        return;
      case 'unsub':
        if (this.#withinRate(connection, connection.subscribeBucket, 'subscribe', frame.id)) {
          this.#unsubscribe(connection, frame);
        }
        return;
      case 'pub':
        if (this.#withinRate(connection, connection.publishBucket, 'publish', frame.id)) {
          this.#publish(connection, frame);
        }
        return;
      case 'telemetry':
        if (this.#withinRate(connection, connection.publishBucket, 'publish', frame.id)) {
          this.ingest.handle(connection, frame);
        }
        return;
    }
  }

  /**
   * The `Topics` header's filters (already checked against the token's grants and the per-connection
   * limits), subscribed as a `sub` frame without `id` would be: an `ack` with their positions, then the
   * retained messages, live messages without a gap across hub instances. What the token's other
   * connections hold may still refuse them: then none is subscribed and an `error` says why.
   */
  subscribeAtConnect(connection: Connection, filters: readonly string[]): void {
    if (filters.length === 0) return;
    const overLimit = this.#overLimit(connection, filters);
    if (overLimit === null) this.#settle(connection, { type: 'sub', filters: [...filters] });
    else connection.sendError('too_large', `Topics: ${overLimit}`);
  }

  /** Delivers the retained messages matching `filters` (but those `skip` names), each topic once; returns them. */
  #sendRetained(
    connection: Connection,
    filters: readonly string[],
    skip: (message: BusMessage) => boolean,
  ): BusMessage[] {
    const sent = new Map<string, BusMessage>();
    for (const filter of filters) {
      for (const message of this.broker.retained.matching(filter)) {
        if (sent.has(message.topic) || skip(message)) continue;
        sent.set(message.topic, message);
        connection.send(msgFrame(message, true), 'msg');
      }
    }
    return [...sent.values()];
  }

  #invalid(connection: Connection, problem: string, ref?: string | number): void {
    HubStats.bump(this.stats.framesIn, 'invalid');
    this.invalidFrameLog.note(connection.id, {
      conn: connection.id,
      device: connection.identity.deviceId,
      problem,
    });
    if (connection.invalidFrames.hit() > this.policy.invalidFrameTolerance) {
      this.#policyClose(connection, 'invalid_frames', 'too many invalid frames');
      return;
    }
    connection.sendError('invalid_frame', problem, ref);
  }

  /** Takes a token from `bucket`; without one the frame is refused, and counted as a strike. */
  #withinRate(
    connection: Connection,
    bucket: TokenBucket,
    kind: 'publish' | 'subscribe',
    ref: string | number | undefined,
  ): boolean {
    if (bucket.take()) return true;
    HubStats.bump(this.stats.limitRefusals, `${kind}_rate`);
    if (!this.#strike(connection, `${kind} rate limit exceeded repeatedly`)) {
      const doing = kind === 'publish' ? 'publishing' : 'subscribing and unsubscribing';
      connection.sendError('rate_limited', `${doing} too fast: slow down`, ref);
    }
    return false;
  }

  /** Counts a refused frame; past the tolerance closes the connection (4008) and returns true. */
  #strike(connection: Connection, reason: string): boolean {
    if (connection.strikes.hit() <= this.policy.publishStrikes) return false;
    this.#policyClose(connection, 'refused_frames', reason);
    return true;
  }

  #policyClose(connection: Connection, kind: string, reason: string): void {
    HubStats.bump(this.stats.policyCloses, kind);
    connection.log.warn({ reason }, 'policy close');
    connection.close(CloseCode.policy, reason);
  }

  /** Why `filters` would break `connection`'s subscription limits (counted), or `null`. */
  #overLimit(connection: Connection, filters: readonly string[]): string | null {
    const added = usageOf(new Set(filters.filter((filter) => !connection.filters.has(filter))));
    const usage = this.registry.usage(connection);
    const refusal = subscriptionLimitError(this.policy, usage.connection, usage.token, added);
    if (refusal !== null) HubStats.bump(this.stats.limitRefusals, 'subscriptions');
    return refusal;
  }

  #subscribe(connection: Connection, frame: SubFrame): void {
    const refused = frame.filters.find((filter) => !maySubscribe(connection.identity, filter));
    if (refused !== undefined) {
      connection.sendError('forbidden', `filters: not allowed to subscribe to ${refused}`, frame.id);
      return;
    }
    const overLimit = this.#overLimit(connection, frame.filters);
    if (overLimit !== null) {
      if (!this.#strike(connection, 'subscription limit exceeded repeatedly')) {
        connection.sendError('too_large', `filters: ${overLimit}`, frame.id);
      }
      return;
    }
    this.#settle(connection, frame);
  }

  #settle(connection: Connection, frame: SubFrame): void {
    this.recoveries
      .subscribe(connection, frame, {
        subscribe: (filter) => this.registry.subscribe(connection, filter),
        sendRetained: (filters, skip) => this.#sendRetained(connection, filters, skip),
      })
      .catch((error: unknown) => {
        connection.log.error({ err: error }, 'subscribing failed');
        connection.sendError('internal', 'the hub failed to settle the subscription', frame.id);
      });
  }

  #unsubscribe(connection: Connection, frame: UnsubFrame): void {
    this.recoveries.inOrder(connection, () => {
      for (const filter of frame.filters) this.registry.unsubscribe(connection, filter);
      connection.sendJson(frame.id === undefined ? { type: 'ack' } : { type: 'ack', ref: frame.id });
    });
  }

  #publish(connection: Connection, frame: PubFrame): void {
    const refusal = publishRefusal(connection.identity, frame.topic);
    if (refusal !== null) {
      connection.sendError('forbidden', refusal, frame.id);
      return;
    }
    this.broker.publish(frame.topic, frame.payload as JsonValue, frame.retain ?? false);
    if (frame.id !== undefined) connection.sendJson({ type: 'ack', ref: frame.id });
  }
}
