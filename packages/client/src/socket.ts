/**
 * The one thing the client needs from a WebSocket implementation. Node's `ws` can send an
 * `Authorization` header and tells why a handshake was refused; a browser's WebSocket can do neither,
 * so each environment brings its own adapter (node.ts, browser.ts).
 */
export interface SocketEvents {
  onOpen(): void;
  onMessage(text: string): void;
  /** Also fired when the handshake failed, after `onRefused` when the status is known. */
  onClose(code: number, reason: string): void;
  /** The hub answered the handshake with an HTTP status instead of a 101. */
  onRefused(refusal: Refusal): void;
  /** Any sign of life below the frame level (a ping), for the liveness check. */
  onActivity(): void;
}

export interface Refusal {
  status: number;
  /** Seconds from a `Retry-After` header. */
  retryAfterSec?: number;
}

export interface SocketLike {
  /** The subprotocol the hub chose in the handshake ('' for none); known once open. */
  readonly protocol: string;
  send(text: string): void;
  close(code?: number, reason?: string): void;
  /** Ends the connection at once, without a closing handshake (a peer that has gone silent). */
  terminate(): void;
}

export interface OpenSocketOptions {
  url: string;
  /** A client token, sent as `Authorization: Bearer` where the environment can send headers. */
  token?: string;
  /** Subprotocols offered in the handshake. */
  protocols: string[];
}

export type OpenSocket = (options: OpenSocketOptions, events: SocketEvents) => SocketLike;

/**
 * Whether the adapter sees the hub's pings. Only then can silence be told apart from an idle
 * connection, so only then does the client run its own liveness check.
 */
export interface SocketAdapter {
  open: OpenSocket;
  seesPings: boolean;
}
