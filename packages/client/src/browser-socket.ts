/**
 * The browser adapter: the built-in WebSocket, authenticated by the operator's session cookie.
 * A browser hides why a handshake failed, so after a failure before `open` the adapter asks the hub
 * whether the session still exists (`GET /api/session`); a 401 there means signed out, not a network fault.
 */
import type { SocketAdapter } from './socket.js';

async function sessionStatus(wsUrl: string): Promise<number | undefined> {
  const url = new URL('/api/session', wsUrl.replace(/^ws/, 'http'));
  try {
    const response = await fetch(url, {
      credentials: 'same-origin',
      headers: { accept: 'application/json' },
    });
    return response.status;
  } catch {
    return undefined;
  }
}

export const browserSocket: SocketAdapter = {
  seesPings: false,
  open({ url, protocols }, events) {
    const socket = new WebSocket(url, protocols);
    let opened = false;
    socket.onopen = () => {
      opened = true;
      events.onOpen();
    };
    socket.onmessage = (event) => {
      if (typeof event.data === 'string') events.onMessage(event.data);
    };
    socket.onclose = (event) => {
      if (opened) {
        events.onClose(event.code, event.reason);
        return;
      }
      void sessionStatus(url).then((status) => {
        if (status === 401) events.onRefused({ status });
        events.onClose(event.code, event.reason);
      });
    };
    return {
      get protocol() {
        return socket.protocol;
      },
      send: (text) => socket.send(text),
      close: (code, reason) => socket.close(code, reason),
      // Browsers cannot drop a socket without a closing handshake; close() is the nearest.
      terminate: () => socket.close(),
    };
  },
};
