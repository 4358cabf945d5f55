/** The Node adapter: `ws`, which sends the token as a header and reports why a handshake was refused. */
import WebSocket from 'ws';
import type { SocketAdapter } from './socket.js';

export const nodeSocket: SocketAdapter = {
  seesPings: true,
  open({ url, token, protocols }, events) {
    const socket = new WebSocket(url, protocols, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      // One JSON object per frame, mostly small: compression would cost more CPU than it saves.
      perMessageDeflate: false,
    });
    socket.on('open', () => events.onOpen());
    socket.on('message', (data, isBinary) => {
      if (!isBinary) events.onMessage(data.toString());
    });
    socket.on('ping', () => events.onActivity());
    socket.on('unexpected-response', (_request, response) => {
      const retryAfter = Number(response.headers['retry-after']);
      events.onRefused({
        status: response.statusCode ?? 0,
        ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSec: retryAfter } : {}),
      });
      response.resume();
      socket.terminate();
    });
    // Every failure also ends in 'close', which is where the client decides what to do.
    socket.on('error', () => {});
    socket.on('close', (code, reason) => events.onClose(code, reason.toString()));
    return {
      get protocol() {
        return socket.protocol;
      },
      send: (text) => socket.send(text),
      close: (code, reason) => socket.close(code, reason),
      terminate: () => socket.terminate(),
    };
  },
};
