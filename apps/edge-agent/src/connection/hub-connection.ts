/**
 * The agent's one WebSocket to the hub. Two states, CONNECTED and RETRYING, and it never gives up:
 * every failure schedules another attempt, with capped exponential backoff and full jitter, slower when
 * the hub refused the token or another agent holds the device id; after a 429, its Retry-After plus
 * jitter. The token travels only in the Authorization header and is never logged.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { parseServerFrame, type ServerFrame } from '@edgewire/protocol';
import WebSocket from 'ws';
import { Backoff } from '../backoff.js';
import type { Logger } from '../logger.js';
import { deviceSocketUrl } from './hub-url.js';

/** Sent as `User-Agent`, so operators see which agent version each device runs. */
const USER_AGENT = `edgewire-agent/${
  (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version
}`;

export type ConnectionState = 'CONNECTED' | 'RETRYING';

export interface HubConnectionOptions {
  /** Base URL of the hub (ws, wss, http or https). */
  hubUrl: string;
  /** CA certificate(s), PEM, trusted for the hub's TLS certificate (config `hub.ca`). */
  ca?: Buffer | undefined;
  deviceId: string;
  token: string;
  logger: Logger;
  initialBackoffMs: number;
  maxBackoffMs: number;
  stableAfterMs: number;
  refusedRetryMs: number;
  heartbeatSec: number;
  /** A frame arrived from the hub. */
  onFrame(frame: ServerFrame): void;
  /** The state changed; `send` works while CONNECTED. */
  onStateChange?(state: ConnectionState): void;
  /** An open connection closed with this code (before the state turns RETRYING). */
  onClosed?(code: number): void;
  random?: () => number;
}

/** The outcome of one connection attempt, which decides how long to wait before the next. */
interface Failure {
  reason: string;
  delayMs: number;
  level: 'warn' | 'error';
}

/** Missed heartbeats after which the hub is presumed gone (SPEC "Liveness"). */
const SILENT_HEARTBEATS = 3;
/** Largest frame accepted from the hub; its frames are small (acks, commands). */
const MAX_INCOMING_BYTES = 1_048_576;

/** Added at random to a 429's Retry-After: the header has whole seconds. */
const RETRY_AFTER_JITTER_MS = 1000;

/** Retry-After as seconds or an HTTP date, in ms from now. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** TLS verification failures: the hub is not the one we trust, or hub.ca is missing or wrong. */
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

function certificateFailure(error: NodeJS.ErrnoException, delayMs: number): Failure | undefined {
  if (!error.code || !CERTIFICATE_ERROR.test(error.code)) return undefined;
  return {
    reason: `refused the hub's TLS certificate (${error.code}): it is not signed by a CA this agent trusts; set hub.ca to the CA that signed it, or check hub.url`,
    delayMs,
    level: 'error',
  };
}

export class HubConnection {
  private socket: WebSocket | undefined;
  private stateNow: ConnectionState = 'RETRYING';
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly url: string;
  private heartbeatSec: number;
  private lastHeard = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private lastFailureReason: string | undefined;
  private stopped = false;

  constructor(private readonly options: HubConnectionOptions) {
    this.random = options.random ?? Math.random;
    this.backoff = new Backoff({
      initialMs: options.initialBackoffMs,
      maxMs: options.maxBackoffMs,
      random: this.random,
    });
    this.url = deviceSocketUrl(options.hubUrl, options.deviceId);
    this.heartbeatSec = options.heartbeatSec;
  }

  get state(): ConnectionState {
    return this.stateNow;
  }

  /** Why the last attempt failed, while RETRYING. */
  get problem(): string | undefined {
    return this.stateNow === 'RETRYING' ? this.lastFailureReason : undefined;
  }

  start(): void {
    this.options.logger.info({ url: this.url, state: this.stateNow }, 'connecting to the hub');
    this.connect();
  }

  /** Sends one frame's JSON text; false when not connected (the caller keeps the data for later). */
  send(text: string): boolean {
    const socket = this.socket;
    if (this.stateNow !== 'CONNECTED' || !socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(text);
    return true;
  }

  private connect(): void {
    this.retryTimer = undefined;
    if (this.stopped) return;
    let failure: Failure | undefined;
    const socket = new WebSocket(this.url, {
      headers: { Authorization: `Bearer ${this.options.token}`, 'User-Agent': USER_AGENT },
      handshakeTimeout: 10_000,
      maxPayload: MAX_INCOMING_BYTES,
      perMessageDeflate: false,
      ...(this.options.ca ? { ca: this.options.ca } : {}),
    });
    this.socket = socket;

    socket.on('unexpected-response', (_req, res: IncomingMessage) => {
      failure = this.refusal(res);
      res.resume();
      socket.terminate();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      failure ??= certificateFailure(error, this.backoff.next()) ?? {
        reason: error.code ? `cannot reach the hub (${error.code})` : `connection error: ${error.message}`,
        delayMs: this.backoff.next(),
        level: 'warn',
      };
    });
    socket.on('open', () => {
      this.lastHeard = Date.now();
      this.armSilenceCheck();
      this.stableTimer = setTimeout(() => this.backoff.reset(), this.options.stableAfterMs);
      this.lastFailureReason = undefined;
      this.setState('CONNECTED', {});
    });
    socket.on('ping', () => {
      this.lastHeard = Date.now();
    });
    socket.on('message', (data, isBinary) => {
      this.lastHeard = Date.now();
      if (isBinary) return;
      const parsed = parseServerFrame(data.toString());
      if (!parsed.ok) {
        this.options.logger.warn({ problem: parsed.error }, 'ignored a frame from the hub that is not valid');
        return;
      }
      if (parsed.frame.type === 'welcome') this.adoptHeartbeat(parsed.frame.heartbeatSec);
      this.options.onFrame(parsed.frame);
    });
    socket.on('close', (code, reasonBuffer) => {
      if (this.socket === socket) this.socket = undefined;
      clearTimeout(this.stableTimer);
      clearInterval(this.silenceTimer);
      if (!failure) this.options.onClosed?.(code);
      failure ??= this.closeOutcome(code, reasonBuffer.toString());
      this.scheduleRetry(failure);
    });
  }

  /** The hub answered the upgrade with a plain HTTP status (SPEC "WebSocket endpoints"). */
  private refusal(res: IncomingMessage): Failure {
    const status = res.statusCode ?? 0;
    if (status === 401 || status === 403) {
      return {
        reason: `the hub refused the token (HTTP ${status}); check EDGEWIRE_TOKEN and that device ${this.options.deviceId} exists`,
        delayMs: this.options.refusedRetryMs,
        level: 'error',
      };
    }
    if (status === 429) {
      const asked = retryAfterMs(res.headers['retry-after']);
      // The hub says when this agent's turn comes (it spreads a refused fleet over the time it needs),
      // in whole seconds: the jitter spreads the agents told the same second across it. The backoff,
      // meant for a hub that does not answer, would only make the agent come back later than asked.
      if (asked === undefined)
        return {
          reason: 'the hub asked to retry later (HTTP 429)',
          delayMs: this.backoff.next(),
          level: 'warn',
        };
      return {
        reason: `the hub asked to retry later (HTTP 429, Retry-After ${Math.ceil(asked / 1000)} s)`,
        delayMs: asked + Math.floor(this.random() * RETRY_AFTER_JITTER_MS),
        level: 'warn',
      };
    }
    return { reason: `the hub answered HTTP ${status}`, delayMs: this.backoff.next(), level: 'warn' };
  }

  private closeOutcome(code: number, reason: string): Failure {
    const said = reason ? `: ${reason}` : '';
    switch (code) {
      case 4009: {
        // Two agents with one id would replace each other forever; wait long enough for a person to notice.
        const half = this.options.maxBackoffMs / 2;
        return {
          reason: `REPLACED (4009): another agent is connected with device id ${this.options.deviceId}; two devices share this id${said}`,
          delayMs: Math.floor(half + this.random() * half),
          level: 'error',
        };
      }
      case 4003:
        return {
          reason: `the hub revoked the token or deleted the device (4003)${said}`,
          delayMs: this.options.refusedRetryMs,
          level: 'error',
        };
      case 1001:
        return {
          reason: `the hub is shutting down (1001)${said}`,
          delayMs: this.backoff.next(),
          level: 'warn',
        };
      case 1009:
        return {
          reason: `the hub refused a frame as too large (1009)${said}`,
          delayMs: this.backoff.next(),
          level: 'error',
        };
      default:
        return { reason: `connection closed (${code})${said}`, delayMs: this.backoff.next(), level: 'warn' };
    }
  }

  private scheduleRetry(failure: Failure): void {
    if (this.stopped) return;
    const retryInSec = Math.round(failure.delayMs / 100) / 10;
    if (this.stateNow === 'CONNECTED') {
      this.setState('RETRYING', { reason: failure.reason, retryInSec }, failure.level);
    } else if (failure.reason !== this.lastFailureReason) {
      this.options.logger[failure.level](
        { state: this.stateNow, reason: failure.reason, retryInSec },
        'still retrying',
      );
    } else {
      this.options.logger.debug(
        { state: this.stateNow, reason: failure.reason, retryInSec },
        'still retrying',
      );
    }
    this.lastFailureReason = failure.reason;
    this.retryTimer = setTimeout(() => this.connect(), failure.delayMs);
  }

  private setState(state: ConnectionState, details: object, level: 'info' | 'warn' | 'error' = 'info'): void {
    this.stateNow = state;
    this.options.logger[state === 'CONNECTED' ? 'info' : level](
      { state, ...details },
      `hub connection ${state}`,
    );
    this.options.onStateChange?.(state);
  }

  private adoptHeartbeat(sec: number): void {
    if (sec === this.heartbeatSec) return;
    this.heartbeatSec = sec;
    this.armSilenceCheck();
  }

  /** Terminates a connection the hub has been silent on for 3 heartbeats; a half-open TCP never closes. */
  private armSilenceCheck(): void {
    clearInterval(this.silenceTimer);
    const limitMs = SILENT_HEARTBEATS * this.heartbeatSec * 1000;
    this.silenceTimer = setInterval(
      () => {
        if (Date.now() - this.lastHeard <= limitMs) return;
        const socket = this.socket;
        if (!socket) return;
        this.options.logger.warn(
          { silentSec: Math.round((Date.now() - this.lastHeard) / 1000) },
          'heard nothing from the hub for 3 heartbeats; reconnecting',
        );
        socket.terminate();
      },
      Math.max(50, (this.heartbeatSec * 1000) / 4),
    );
  }

  /** Closes the connection (1000) and stops retrying. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.stableTimer);
    clearInterval(this.silenceTimer);
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => socket.terminate(), 2000);
      socket.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      else socket.close(1000, 'agent stopping');
    });
  }
}
