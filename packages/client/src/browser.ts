/** @edgewire/client for browsers: authenticates with the operator's session cookie. */

import { browserSocket } from './browser-socket.js';
import { type ClientOptions, EdgewireClient } from './client.js';

export * from './exports.js';

export function createClient(options: ClientOptions): EdgewireClient {
  return new EdgewireClient(options, browserSocket);
}
