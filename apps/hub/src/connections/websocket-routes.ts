/** The two WebSocket endpoints of SPEC "WebSocket endpoints", both behind the handshake hook. */
import { BATCH_SUBPROTOCOL } from '@edgewire/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import type { Handshake } from '../auth/handshake.js';
import type { ConnectionManager } from './connection-manager.js';

/**
 * The subprotocol answered in the handshake: batched frames when the client offers them. Otherwise
 * what `ws` answers by default (the first one offered), so that no existing client sees a change.
 */
export function chooseSubprotocol(offered: Set<string>): string | false {
  if (offered.has(BATCH_SUBPROTOCOL)) return BATCH_SUBPROTOCOL;
  return offered.values().next().value ?? false;
}

export interface WebsocketRoutesOptions {
  handshake: Handshake;
  connections: ConnectionManager;
}

export const websocketRoutes: FastifyPluginAsync<WebsocketRoutesOptions> = async (
  app,
  { handshake, connections },
) => {
  const preValidation = handshake.preValidation;
  const onSocket = (socket: WebSocket, request: Parameters<Handshake['take']>[0]) => {
    const accepted = handshake.take(request);
    // Unreachable while the hook guards the route; refuse rather than serve an unauthenticated socket.
    if (!accepted) {
      socket.terminate();
      return;
    }
    connections.accept(socket, request.raw.socket, accepted);
  };
  app.get('/ws', { websocket: true, preValidation, config: { access: 'self' } }, onSocket);
  app.get('/ws/device/:deviceId', { websocket: true, preValidation, config: { access: 'self' } }, onSocket);
};
