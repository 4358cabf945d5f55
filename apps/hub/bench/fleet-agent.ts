/**
 * A device as the load generator plays it: one WebSocket to `/ws/device/{id}` that keeps reconnecting
 * the way SPEC "Liveness" and "WebSocket endpoints" ask of every agent (and the edge agent does, with
 * its default settings): capped exponential backoff with full jitter from 500 ms to 30 s; after a 429,
 * its Retry-After plus up to a second of jitter. Only the handshake matters here, so it sends nothing.
 */
import WebSocket from 'ws';

const INITIAL_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

export interface FleetCounters {
  connected: number;
  attempts: number;
  /** 429 answers (handshake rate limits). */
  refused: number;
  /** Any other failure: other HTTP statuses, connection errors. */
  failed: number;
  /** The other failures by what happened (`HTTP 503`, `Opening handshake has timed out`, …). */
  reasons: Map<string, number>;
}

function fail(counters: FleetCounters, reason: string): void {
  counters.failed++;
  counters.reasons.set(reason, (counters.reasons.get(reason) ?? 0) + 1);
}

export class FleetAgent {
  #attempt = 0;
  #socket: WebSocket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  connected = false;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly counters: FleetCounters,
  ) {}

  start(): void {
    this.#connect();
  }

  /** The connection was stable: the next failure starts the backoff afresh (as the agent does). */
  settle(): void {
    this.#attempt = 0;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#socket?.terminate();
  }

  #backoff(): number {
    const ceiling = Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** this.#attempt);
    if (ceiling < MAX_BACKOFF_MS) this.#attempt++;
    return Math.floor(Math.random() * ceiling);
  }

  #connect(): void {
    if (this.#stopped) return;
    this.counters.attempts++;
    const socket = new WebSocket(this.url, {
      headers: { authorization: `Bearer ${this.token}` },
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    this.#socket = socket;
    let retryInMs: number | undefined;
    socket.on('unexpected-response', (_request, response) => {
      if (response.statusCode === 429) {
        this.counters.refused++;
        // As the edge agent does: the hub says when this device's turn comes, in whole seconds.
        const asked = Number(response.headers['retry-after']);
        retryInMs = Number.isFinite(asked) ? asked * 1000 + Math.random() * 1000 : this.#backoff();
      } else {
        fail(this.counters, `HTTP ${response.statusCode}`);
        retryInMs = this.#backoff();
      }
      response.resume();
      socket.terminate();
    });
    let error: string | undefined;
    socket.on('error', (e) => {
      error ??= e.message;
    });
    socket.on('open', () => {
      this.connected = true;
      this.counters.connected++;
    });
    socket.on('close', () => {
      if (this.connected) {
        this.connected = false;
        this.counters.connected--;
      } else if (retryInMs === undefined) {
        fail(this.counters, error ?? 'closed before the handshake completed');
      }
      if (this.#stopped) return;
      this.#timer = setTimeout(() => this.#connect(), retryInMs ?? this.#backoff());
    });
  }
}
