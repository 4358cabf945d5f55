/**
 * A real HTTP + WebSocket server that answers each connection attempt as a test scripts it: refuse with
 * a status (and headers) before the upgrade, or accept and then act (stay silent, ping, close with a
 * code). For the behaviours the real hub only shows under conditions a test cannot easily arrange
 * (a 429 with a given Retry-After, a hub gone silent).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export interface Attempt {
  at: number;
  url: string;
  authorization: string | undefined;
}

export type Answer =
  | { refuse: number; headers?: Record<string, string> }
  | { accept: (socket: WebSocket) => void };

export async function startScriptedHub(script: (attempt: number, req: IncomingMessage) => Answer) {
  const attempts: Attempt[] = [];
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    const index = attempts.length;
    attempts.push({ at: Date.now(), url: req.url ?? '', authorization: req.headers.authorization });
    const answer = script(index, req);
    if ('refuse' in answer) {
      const headers = Object.entries(answer.headers ?? {})
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.end(
        `HTTP/1.1 ${answer.refuse} Refused\r\n${headers}Content-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      answer.accept(ws);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    attempts,
    close: async () => {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export const welcome = (heartbeatSec = 20) =>
  JSON.stringify({ type: 'welcome', conn: 'c1', device: 'pi-1', heartbeatSec, permissions: [] });
