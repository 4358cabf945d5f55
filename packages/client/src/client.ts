/**
 * One connection to a hub's `/ws` endpoint that never gives up: subscriptions that survive reconnects,
 * publishes that settle on the hub's ack or error, and a state a screen can show.
 *
 * What the hub says decides what happens next (SPEC "Close codes", "WebSocket endpoints"):
 * - 4003 (credentials revoked, expired or changed), 401/403 at the handshake: stop; retrying cannot help.
 * - 4009 (replaced by a newer connection of the same identity): stop, or the two would evict each other forever.
 * - 4008 (too fast or too slow): reconnect, but not sooner than `policyDelayMs`.
 * - 429 at the handshake: reconnect after its `Retry-After`.
 * - anything else (1001 shutdown, network loss, 5xx): reconnect with capped full-jitter backoff.
 */
import {
  type AckFrame,
  BATCH_SUBPROTOCOL,
  type ErrorFrame,
  filterError,
  type MsgFrame,
  SubscriptionIndex,
  topicError,
  type WelcomeFrame,
} from '@edgewire/protocol';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import { EdgewireError } from './errors.js';
import { Listeners } from './listeners.js';
import { type Position, RecoveryPositions } from './recovery.js';
import { readServerFrame } from './server-frames.js';
import type { Refusal, SocketAdapter, SocketLike } from './socket.js';

export type ConnectionState =
  /** A handshake is under way. */
  | 'connecting'
  /** Welcomed by the hub; subscriptions are (being) restored. */
  | 'open'
  /** Waiting `retryInMs` before the next attempt. */
  | 'waiting'
  /** The hub said retrying cannot help (see `reason`); `connect()` tries again on request. */
  | 'stopped'
  /** Closed by `close()`. */
  | 'closed';

export interface StateChange {
  state: ConnectionState;
  /** Words a user can act on: why the connection ended or stopped. */
  reason?: string;
  /** The close code or the handshake's HTTP status that led here. */
  code?: number;
  /** In `waiting`: how long until the next attempt. */
  retryInMs?: number;
}

/** A delivered message; `pos` is present on topics whose history the hub keeps. */
export type Message = MsgFrame & { pos?: Position };

export interface SubscribeOptions {
  /** The hub refused the subscription (e.g. `forbidden`); it is dropped and not restored. */
  onError?(error: EdgewireError): void;
  /**
   * After a reconnect the hub could not replay what was missed (`recovered: false`): reload the gap
   * from the history API.
   */
  onGap?(): void;
}

export interface Subscription {
  readonly filter: string;
  /** Settles when the hub acknowledged the subscription, or rejects with its refusal. */
  readonly ready: Promise<void>;
  unsubscribe(): void;
}

export interface ClientOptions {
  /** `ws(s)://host/ws` or the hub's `http(s)://` base URL. */
  url: string;
  /** A client token (Node); browsers use the operator's session cookie instead. */
  token?: string;
  backoff?: BackoffOptions;
  /** Earliest reconnect after a 4008 policy close, ms. */
  policyDelayMs?: number;
  /** How long a publish or subscribe waits for its answer, ms. */
  requestTimeoutMs?: number;
  /** Connect in the constructor (default true). */
  autoConnect?: boolean;
}

interface ClientEvents {
  state: StateChange;
  welcome: WelcomeFrame;
  /** Error frames that answer no request of ours, and exceptions thrown by message handlers. */
  error: Error;
}

interface Handler {
  onMessage(message: Message): void;
  options: SubscribeOptions;
}

/** One filter the hub knows about on our behalf, shared by every `subscribe` call naming it. */
interface FilterState {
  filter: string;
  handlers: Set<Handler>;
  ready: Promise<void>;
  settle(error?: EdgewireError): void;
  settled: boolean;
}

interface PendingRequest {
  resolve(ack: AckFrame): void;
  reject(error: EdgewireError): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Frames in one `sub`; SPEC allows 100, and a refusal of one frame then refuses only its own filter. */
const FILTERS_PER_SUB = 1;
/** Missed pongs tolerated before the hub's silence counts as a dead connection (SPEC "Liveness"). */
const MISSED_HEARTBEATS = 3;

export function toWebSocketUrl(url: string): string {
  const u = new URL(url);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/ws';
  return u.toString();
}

export class EdgewireClient {
  readonly #options: Required<Omit<ClientOptions, 'token'>> & { token?: string };
  readonly #adapter: SocketAdapter;
  readonly #listeners = new Listeners<ClientEvents>();
  readonly #filters = new Map<string, FilterState>();
  readonly #index = new SubscriptionIndex<FilterState>();
  readonly #pending = new Map<string, PendingRequest>();
  readonly #positions = new RecoveryPositions();
  #socket: SocketLike | undefined;
  #state: StateChange = { state: 'closed' };
  #welcome: WelcomeFrame | undefined;
  #attempt = 0;
  #nextId = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #livenessTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ClientOptions, adapter: SocketAdapter) {
    this.#options = {
      backoff: DEFAULT_BACKOFF,
      policyDelayMs: 5000,
      requestTimeoutMs: 10_000,
      autoConnect: true,
      ...options,
      url: toWebSocketUrl(options.url),
    };
    this.#adapter = adapter;
    if (this.#options.autoConnect) this.connect();
  }

  get state(): StateChange {
    return this.#state;
  }

  /** The hub's `welcome` of the current connection: its id and the caller's permissions. */
  get welcome(): WelcomeFrame | undefined {
    return this.#state.state === 'open' ? this.#welcome : undefined;
  }

  on<E extends keyof ClientEvents>(event: E, listener: (value: ClientEvents[E]) => void): () => void {
    return this.#listeners.on(event, listener);
  }

  /** Starts connecting (again, after `stopped` or `close()`); a no-op while connecting or open. */
  connect(): void {
    if (this.#socket || this.#state.state === 'waiting') return;
    this.#attempt = 0;
    this.#open();
  }

  /** Ends the connection for good; pending requests fail with `closed`. */
  close(): void {
    this.#clearTimers();
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close(1000, 'client closed');
    this.#failPending(new EdgewireError('closed', 'the client was closed'));
    this.#setState({ state: 'closed' });
  }

  /**
   * Delivers every message on a topic `filter` matches to `onMessage`, from now on and across reconnects.
   * Throws at once for a filter that is not valid (the protocol's own rules).
   */
  subscribe(
    filter: string,
    onMessage: (message: Message) => void,
    options: SubscribeOptions = {},
  ): Subscription {
    const problem = filterError(filter);
    if (problem) throw new EdgewireError('invalid', `filter: ${problem}`);
    const handler: Handler = { onMessage, options };
    let state = this.#filters.get(filter);
    if (!state) {
      state = this.#newFilterState(filter);
      this.#filters.set(filter, state);
      this.#index.add(filter, state);
      if (this.#state.state === 'open') this.#sendSub([state]);
    }
    state.handlers.add(handler);
    const owner = state;
    return {
      filter,
      ready: owner.ready,
      unsubscribe: () => this.#unsubscribe(owner, handler),
    };
  }

  /** Publishes and settles when the hub acknowledged (or refused) the message. */
  publish(topic: string, payload: unknown, options: { retain?: boolean } = {}): Promise<void> {
    const problem = topicError(topic);
    if (problem) return Promise.reject(new EdgewireError('invalid', `topic: ${problem}`));
    if (this.#state.state !== 'open' || !this.#socket) {
      return Promise.reject(
        new EdgewireError('not_connected', 'not connected to the hub; try again when the connection is back'),
      );
    }
    const id = this.#id();
    const settled = this.#request(id).then(() => undefined);
    this.#send({ type: 'pub', id, topic, payload, ...(options.retain ? { retain: true } : {}) });
    return settled;
  }

  #newFilterState(filter: string): FilterState {
    let resolve!: () => void;
    let reject!: (error: EdgewireError) => void;
    const ready = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Callers that never look at `ready` must not see an unhandled rejection.
    ready.catch(() => {});
    const state: FilterState = {
      filter,
      handlers: new Set(),
      ready,
      settled: false,
      settle: (error) => {
        if (state.settled) return;
        state.settled = true;
        if (error) reject(error);
        else resolve();
      },
    };
    return state;
  }

  #unsubscribe(state: FilterState, handler: Handler): void {
    if (!state.handlers.delete(handler) || state.handlers.size > 0) return;
    if (this.#filters.get(state.filter) !== state) return;
    this.#forget(state);
    if (this.#state.state === 'open') this.#send({ type: 'unsub', id: this.#id(), filters: [state.filter] });
  }

  #forget(state: FilterState): void {
    this.#filters.delete(state.filter);
    this.#index.remove(state.filter, state);
    this.#positions.forget(state.filter);
  }

  #sendSub(states: FilterState[]): void {
    for (let i = 0; i < states.length; i += FILTERS_PER_SUB) {
      const batch = states.slice(i, i + FILTERS_PER_SUB);
      const id = this.#id();
      const filters = batch.map((s) => s.filter);
      const since = this.#positions.since(filters);
      this.#request(id).then(
        (ack) => {
          for (const state of batch) {
            state.settle();
            if (ack.recovered === false) {
              this.#positions.forget(state.filter);
              for (const handler of state.handlers) handler.options.onGap?.();
            }
            const start = ack.positions?.[state.filter];
            if (start) this.#positions.started(state.filter, start);
          }
        },
        (error: EdgewireError) => {
          if (error.code === 'connection_lost' || error.code === 'closed') return;
          for (const state of batch) {
            if (this.#filters.get(state.filter) === state) this.#forget(state);
            state.settle(error);
            for (const handler of state.handlers) handler.options.onError?.(error);
          }
        },
      );
      this.#send({ type: 'sub', id, filters, ...(since ? { since } : {}) });
    }
  }

  #request(id: string): Promise<AckFrame> {
    return new Promise<AckFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new EdgewireError('timeout', `the hub did not answer within ${this.#options.requestTimeoutMs} ms`),
        );
      }, this.#options.requestTimeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
    });
  }

  #id(): string {
    this.#nextId += 1;
    return `c${this.#nextId}`;
  }

  #send(frame: object): void {
    this.#socket?.send(JSON.stringify(frame));
  }

  #open(): void {
    this.#setState({ state: 'connecting' });
    let socket: SocketLike | undefined;
    let refusal: Refusal | undefined;
    const current = () => socket !== undefined && this.#socket === socket;
    socket = this.#adapter.open(
      {
        url: this.#options.url,
        // Several messages per WebSocket frame: far less per-message work in a busy browser tab.
        protocols: [BATCH_SUBPROTOCOL],
        ...(this.#options.token ? { token: this.#options.token } : {}),
      },
      {
        onOpen: () => {
          if (current()) this.#armLiveness();
        },
        onActivity: () => {
          if (current()) this.#armLiveness();
        },
        onMessage: (text) => {
          if (!current()) return;
          this.#armLiveness();
          this.#receive(text);
        },
        onRefused: (r) => {
          refusal = r;
        },
        onClose: (code, reason) => {
          if (!current()) return;
          this.#socket = undefined;
          this.#clearTimers();
          this.#failPending(
            new EdgewireError('connection_lost', 'the connection ended before the hub answered'),
          );
          this.#afterClose(code, reason, refusal);
        },
      },
    );
    this.#socket = socket;
  }

  #receive(text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.#listeners.emit(
        'error',
        new EdgewireError('invalid_frame', 'the hub sent a frame that is not JSON'),
      );
      return;
    }
    // On a batched connection a text frame holds an array of frames, to be handled in order. A
    // handler may close the client meanwhile: the rest of the batch belongs to a connection that ended.
    const socket = this.#socket;
    if (Array.isArray(raw) && socket?.protocol === BATCH_SUBPROTOCOL) {
      for (const item of raw) {
        if (this.#socket !== socket) return;
        this.#handle(item);
      }
    } else this.#handle(raw);
  }

  #handle(raw: unknown): void {
    const frame = readServerFrame(raw);
    if (typeof frame === 'string') {
      this.#listeners.emit(
        'error',
        new EdgewireError('invalid_frame', `the hub sent an invalid frame: ${frame}`),
      );
      return;
    }
    switch (frame.type) {
      case 'welcome':
        this.#onWelcome(frame);
        break;
      case 'ack': {
        const pending = frame.ref === undefined ? undefined : this.#takePending(String(frame.ref));
        pending?.resolve(frame);
        break;
      }
      case 'error':
        this.#onErrorFrame(frame);
        break;
      case 'msg':
        this.#dispatch(frame as Message);
        break;
    }
  }

  #onWelcome(frame: WelcomeFrame): void {
    this.#welcome = frame;
    this.#attempt = 0;
    this.#setState({ state: 'open' });
    this.#listeners.emit('welcome', frame);
    this.#armLiveness();
    if (this.#filters.size > 0) this.#sendSub([...this.#filters.values()]);
  }

  #onErrorFrame(frame: ErrorFrame): void {
    const pending = frame.ref === undefined ? undefined : this.#takePending(String(frame.ref));
    const error = new EdgewireError(frame.code, frame.message);
    if (pending) pending.reject(error);
    else this.#listeners.emit('error', error);
  }

  #takePending(id: string): PendingRequest | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }

  #dispatch(message: Message): void {
    for (const state of this.#index.match(message.topic)) {
      if (message.pos) this.#positions.saw(state.filter, message.topic, message.pos);
      for (const handler of state.handlers) {
        try {
          handler.onMessage(message);
        } catch (error) {
          this.#reportHandlerError(error);
        }
      }
    }
  }

  #reportHandlerError(error: unknown): void {
    const wrapped = error instanceof Error ? error : new Error(String(error));
    if (this.#listeners.count('error') > 0) this.#listeners.emit('error', wrapped);
    else console.error('edgewire client: a message handler threw', wrapped);
  }

  /** Publishes fail with the connection; subscriptions ignore this and are sent again on the next welcome. */
  #failPending(error: EdgewireError): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();
  }

  #afterClose(code: number, reason: string, refusal: Refusal | undefined): void {
    const step = this.#nextStep(code, reason, refusal);
    if (step.retryInMs === undefined) {
      this.#setState({ state: 'stopped', code: step.code, reason: step.reason });
      return;
    }
    this.#setState({ state: 'waiting', ...step });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#open();
    }, step.retryInMs);
  }

  /** What a close (or a refused handshake) means: stop with a reason, or retry after a delay. */
  #nextStep(
    code: number,
    reason: string,
    refusal: Refusal | undefined,
  ): { code: number; reason: string; retryInMs?: number } {
    const status = refusal?.status;
    if (status === 401 || status === 403) {
      return { code: status, reason: 'the hub refused the credentials (signed out, revoked or not allowed)' };
    }
    if (status === 400) return { code: status, reason: 'the hub refused the request as malformed' };
    if (status === 429) {
      const wait = (refusal?.retryAfterSec ?? 1) * 1000 + backoffDelay(0, this.#options.backoff);
      return { code: status, reason: 'too many connections; the hub asked to wait', retryInMs: wait };
    }
    if (code === 4003) return { code, reason: reason || 'credentials revoked, expired or changed' };
    if (code === 4009)
      return { code, reason: reason || 'replaced by a newer connection of the same identity' };
    const delay = backoffDelay(this.#attempt++, this.#options.backoff);
    if (code === 4008) {
      const retryInMs = Math.max(delay, this.#options.policyDelayMs);
      return { code, reason: reason || "closed by the hub's rate policy", retryInMs };
    }
    if (status !== undefined) return { code: status, reason: `the hub answered ${status}`, retryInMs: delay };
    return {
      code,
      reason: code === 1001 ? 'the hub is restarting' : reason || 'connection lost',
      retryInMs: delay,
    };
  }

  /** Where the adapter sees pings, a hub silent for three heartbeats is taken for dead (SPEC "Liveness"). */
  #armLiveness(): void {
    if (!this.#adapter.seesPings || !this.#welcome) return;
    clearTimeout(this.#livenessTimer);
    const socket = this.#socket;
    this.#livenessTimer = setTimeout(
      () => {
        if (socket && this.#socket === socket) socket.terminate();
      },
      this.#welcome.heartbeatSec * 1000 * MISSED_HEARTBEATS + 1000,
    );
  }

  #clearTimers(): void {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#livenessTimer);
    this.#retryTimer = undefined;
    this.#livenessTimer = undefined;
  }

  #setState(change: StateChange): void {
    this.#state = change;
    this.#listeners.emit('state', change);
  }
}
