export type { BackoffOptions } from './backoff.js';
export { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export {
  type ClientOptions,
  type ConnectionState,
  EdgewireClient,
  type Message,
  type StateChange,
  type SubscribeOptions,
  type Subscription,
  toWebSocketUrl,
} from './client.js';
export { type ClientErrorCode, EdgewireError } from './errors.js';
export type { Position } from './recovery.js';
export type { OpenSocket, Refusal, SocketAdapter, SocketEvents, SocketLike } from './socket.js';
