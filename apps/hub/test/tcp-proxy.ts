/**
 * A TCP proxy in front of the shared PostgreSQL server, so a test can take "the database" away
 * without stopping the server other suites use. `cut()` drops every connection and refuses new
 * ones (the database is down); `stall()` accepts connections but forwards nothing (the database hangs).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** Where clients connect: `127.0.0.1:<port>`. */
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  urlFor(url: string): string;
  cut(): void;
  stall(): void;
  restore(): void;
  close(): Promise<void>;
}

/** `target` is read at every new connection: a test may point the proxy at a restarted server. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: 'open' | 'cut' | 'stall' = 'open';
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (mode === 'cut') {
      client.destroy();
      return;
    }
    if (mode === 'stall') return;
    const upstream = connect(target.port, target.host);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    port,
    urlFor: (url) => {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    cut: () => {
      mode = 'cut';
      dropAll();
    },
    stall: () => {
      mode = 'stall';
      dropAll();
    },
    restore: () => {
      // Stalled connections never reached the server; dropping them makes their clients reconnect.
      if (mode === 'stall') dropAll();
      mode = 'open';
    },
    close: async () => {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
