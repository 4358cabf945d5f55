/**
 * A running agent answers on a unix socket beside its buffer (`{buffer.path}.sock`) with one JSON line
 * about itself, then closes. This is how `edgewire-agent check` knows an agent is running and stays out
 * of its way (connecting as the device would replace the agent's connection with 4009; opening the
 * serial port would fail, the agent holds it), and how a second agent on the same buffer is refused.
 * The kernel, not a pid file, decides whether the agent is alive: a socket file left by a killed agent
 * refuses connections and is replaced.
 */
import { rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import type { ConnectionState } from './connection/hub-connection.js';

export interface AgentStatus {
  pid: number;
  deviceId: string;
  state: ConnectionState;
  /** Why the last connection attempt failed, while RETRYING. */
  problem?: string;
  /** Readings waiting in the buffer for an ack. */
  buffered: number;
}

const ASK_TIMEOUT_MS = 2000;

/** Where the agent using this buffer answers; none for an in-memory buffer. */
export function statusSocketPath(bufferPath: string): string | undefined {
  return bufferPath === ':memory:' ? undefined : `${bufferPath}.sock`;
}

/** The status of the agent answering at `path`, or undefined when none runs there. */
export function askRunningAgent(path: string | undefined): Promise<AgentStatus | undefined> {
  if (path === undefined) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let text = '';
    const socket = connect(path);
    const done = (status: AgentStatus | undefined) => {
      socket.destroy();
      resolve(status);
    };
    socket.setTimeout(ASK_TIMEOUT_MS, () => done(undefined));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    socket.on('end', () => {
      try {
        done(JSON.parse(text) as AgentStatus);
      } catch {
        done(undefined);
      }
    });
    // ENOENT: no socket; ECONNREFUSED: left behind by an agent that is gone.
    socket.on('error', () => done(undefined));
  });
}

export class AgentAlreadyRunning extends Error {
  override name = 'AgentAlreadyRunning';
}

/**
 * Starts answering at `path`. Throws AgentAlreadyRunning when another agent answers there already.
 */
export async function serveStatus(
  path: string,
  status: () => AgentStatus,
): Promise<{ close(): Promise<void> }> {
  const other = await askRunningAgent(path);
  if (other) {
    throw new AgentAlreadyRunning(
      `another agent (pid ${other.pid}, device ${other.deviceId}) is running with this buffer; stop it first ` +
        '(systemctl stop edgewire-agent) or give this one another buffer.path',
    );
  }
  rmSync(path, { force: true });
  const server: Server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(`${JSON.stringify(status())}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}
