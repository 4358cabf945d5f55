/** @edgewire/client for Node: authenticates with a client token in the `Authorization` header. */
import { type ClientOptions, EdgewireClient } from './client.js';
import { nodeSocket } from './node-socket.js';

export * from './exports.js';

export function createClient(options: ClientOptions): EdgewireClient {
  return new EdgewireClient(options, nodeSocket);
}
