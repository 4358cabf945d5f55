/**
 * One live WebSocket and everything the hub remembers about it. Outbound frames go through `send`,
 * which enforces the slow-consumer policy: past `maxQueuedBytes` of unsent data messages are dropped
 * (and counted), and a socket that stays over the cap for `graceMs` is closed with 4008, so a stalled
 * dashboard costs at most its cap in memory. A connection that negotiated `BATCH_SUBPROTOCOL` gets the
 * frames of each event-loop turn as one WebSocket frame (frame-batch.ts); the policy is the same.
 */

import type { Socket } from 'node:net';
import { BATCH_SUBPROTOCOL, type ErrorCode, type Permission } from '@edgewire/protocol';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { TokenKind } from '../auth/token-store.js';
import type { Principal } from '../permissions/policy.js';
import { HubStats } from '../stats.js';
import { CloseCode } from './close-codes.js';
import { FrameBatch } from './frame-batch.js';
import { PreparedMessage } from './prepared-message.js';
import { StrikeCount, TokenBucket } from './rate-limit.js';
import type { WriteCoalescer } from './write-coalescer.js';

export interface ConnectionIdentity extends Principal {
  /** For an operator, `tokenId` is the id of their session, which ends the connection when it ends. */
  readonly kind: TokenKind | 'operator';
  readonly expiresAt: Date | null;
  readonly permissions: readonly Permission[];
  /** The client's address (through a trusted proxy: the address it reported). */
  readonly address: string;
  /** The signed-in operator's name, for `kind` operator. */
  readonly operator?: string | undefined;
  /** The token's credentials version the handshake read (not for operators): see `ConnectionManager`. */
  readonly credentialsVersion?: number | undefined;
  /** For a device: this connection's place among the device's connections (`device-generations.ts`). */
  readonly generation?: number | undefined;
}

export interface ConnectionLimits {
  readonly maxQueuedBytes: number;
  readonly slowConsumerGraceMs: number;
  readonly publishRate: number;
  readonly publishBurst: number;
  /** `sub`/`unsub` frames per second (burst: 5 s worth). */
  readonly subscribeRate: number;
}

/** The window within which refused and invalid frames are counted against the tolerances. */
export const STRIKE_WINDOW_MS = 10_000;

/** A closing socket that does not finish the close handshake is cut after this long. */
const CLOSE_TIMEOUT_MS = 2000;
const TEXT_FRAME = { binary: false } as const;

export class Connection {
  /** Filters the client subscribed to (the device's implicit command filter is not among them). */
  readonly filters = new Set<string>();
  readonly publishBucket: TokenBucket;
  readonly subscribeBucket: TokenBucket;
  /** Frames refused for a rate or subscription limit. */
  readonly strikes = new StrikeCount(STRIKE_WINDOW_MS);
  /** Frames that failed validation. */
  readonly invalidFrames = new StrikeCount(STRIKE_WINDOW_MS);
  /** Pings sent without a pong since. */
  missedPongs = 0;
  /** Set when a newer connection of the device (on any instance) took over: its end is not "offline". */
  replaced = false;
  /** The seq of a telemetry frame the sink refused; later frames are refused until the agent rewinds. */
  refusedSeq: number | undefined;
  /** Highest telemetry seq already published live from this connection: resends are not shown twice. */
  liveSeq = -1;
  readonly since = Date.now();
  /** Payload bytes received and frame bytes sent, for the operators' connection list. */
  bytesIn = 0;
  bytesOut = 0;
  #overCapSince: number | undefined;
  #closing = false;
  readonly #plain: boolean;
  /** Frames held for one WebSocket frame at the end of the turn, on a batched connection. */
  readonly #batch: FrameBatch | undefined;
  /** The coalescer epoch of the batch this connection's writes are held in, and its backlog then. */
  #epoch = -1;
  #backlog = 0;

  constructor(
    readonly id: string,
    readonly identity: ConnectionIdentity,
    readonly socket: WebSocket,
    /** The TCP socket under `socket`, for write coalescing. */
    private readonly transport: Socket,
    private readonly coalescer: WriteCoalescer,
    readonly log: Logger,
    private readonly limits: ConnectionLimits,
    private readonly stats: HubStats,
  ) {
    this.publishBucket = new TokenBucket(limits.publishRate, limits.publishBurst);
    this.subscribeBucket = new TokenBucket(limits.subscribeRate, limits.subscribeRate * 5);
    this.#plain = socket.extensions === '';
    this.#batch = socket.protocol === BATCH_SUBPROTOCOL ? new FrameBatch() : undefined;
  }

  /** Whether the client asked for batched frames (`BATCH_SUBPROTOCOL`). */
  get batched(): boolean {
    return this.#batch !== undefined;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Sends a message (dropped, and false returned, when the socket is over its backlog cap). */
  send(message: PreparedMessage, type: string): boolean {
    // Also when the peer started closing: the raw socket may already be ended for writing.
    if (this.#closing || this.socket.readyState !== this.socket.OPEN) return false;
    if (this.#epoch !== this.coalescer.epoch) {
      // First message of this batch: the backlog is what earlier batches left unsent. Data queued
      // within the batch does not count, or a burst to a healthy client would look like a stall.
      this.#epoch = this.coalescer.epoch;
      this.#backlog = this.socket.bufferedAmount;
      this.coalescer.hold(this.transport, this.#batch && this.#flush);
    }
    if (this.#backlog > this.limits.maxQueuedBytes) {
      this.#overCap();
      return false;
    }
    this.#overCapSince = undefined;
    if (this.#batch) {
      if (!this.#batch.fits(message.payload)) this.#flush();
      this.#batch.add(message.payload);
    } else this.#write(message);
    HubStats.bump(this.stats.framesOut, type);
    return true;
  }

  #write(message: PreparedMessage): void {
    // With no extension negotiated (permessage-deflate is off by default) the prepared frame goes
    // straight to the TCP socket; ws writes only whole frames too, so frames never interleave.
    if (this.#plain) {
      this.transport.write(message.wire);
      this.bytesOut += message.wire.length;
    } else {
      this.socket.send(message.payload, TEXT_FRAME);
      this.bytesOut += message.payload.length;
    }
  }

  /**
   * Sends the batch gathered so far. Called by the coalescer at the end of the turn, before a frame
   * that would overflow the batch, and before a close frame, so that nothing overtakes it. Frames
   * gathered for a socket the peer has started closing are dropped, as `send` would have dropped them.
   */
  readonly #flush = (): void => {
    const frame = this.#batch?.take();
    if (frame && this.socket.readyState === this.socket.OPEN) this.#write(frame);
  };

  sendJson(frame: { type: string } & Record<string, unknown>): boolean {
    return this.send(PreparedMessage.fromText(JSON.stringify(frame)), frame.type);
  }

  /** Answers a frame with an `error` (SPEC "Frames"), counted by code. */
  sendError(code: ErrorCode, message: string, ref?: string | number): void {
    HubStats.bump(this.stats.errors, code);
    this.sendJson(
      ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref },
    );
  }

  /** Checks the slow-consumer clock even when nothing is being sent (called by the heartbeat). */
  checkBacklog(): void {
    if (this.#overCapSince === undefined) return;
    this.#backlog = this.socket.bufferedAmount;
    if (this.#backlog > this.limits.maxQueuedBytes) this.#overCap();
  }

  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#flush();
    this.#closing = true;
    this.log.info({ code, reason }, 'closing connection');
    this.socket.close(code, reason);
    // A peer that never answers the close frame (stalled, or gone) must not hold the socket open.
    setTimeout(() => this.socket.terminate(), CLOSE_TIMEOUT_MS).unref();
  }

  #overCap(): void {
    this.stats.drops++;
    const now = Date.now();
    this.#overCapSince ??= now;
    if (now - this.#overCapSince >= this.limits.slowConsumerGraceMs && !this.#closing) {
      HubStats.bump(this.stats.policyCloses, 'slow_consumer');
      this.close(CloseCode.policy, 'too slow to keep up');
    }
  }
}
