/**
 * Test helpers: a real hub on a random port (in-memory PGlite unless told otherwise) with its log
 * lines captured, and real `ws` clients that queue the frames they receive.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { BATCH_SUBPROTOCOL, parseServerFrame, type ServerFrame, serverBatchSchema } from '@edgewire/protocol';
import WebSocket from 'ws';
import { type HubOptions, type RunningHub, startHub } from '../src/hub.js';
import { createTestDatabase } from './databases.js';
import type { RedisUnderTest } from './redis-cluster.js';
import { waitFor } from './wait.js';

export interface TestHub extends RunningHub {
  /** Every log line written so far, as text. */
  logText(): string;
  wsUrl(path: string): string;
}

export async function startTestHub(options: HubOptions = {}): Promise<TestHub> {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const hub = await startHub({
    host: '127.0.0.1',
    port: 0,
    dataDir: undefined,
    logLevel: 'debug',
    handshakeRate: 100_000,
    handshakeRatePerAddress: 100_000,
    deviceConnectsPerMinute: 1000,
    env: {},
    logDestination: destination,
    ...options,
  });
  return {
    ...hub,
    logText: () => lines.join(''),
    wsUrl: (path) => `${hub.url.replace(/^http/, 'ws')}${path}`,
  };
}

/**
 * A test hub on a fresh PostgreSQL database of its own (dropped on close): it starts in a fraction
 * of the time in-memory PGlite takes on a busy machine.
 */
export async function startTestHubOnPostgres(options: HubOptions = {}): Promise<TestHub> {
  const database = await createTestDatabase('postgres');
  const hub = await startTestHub({ databaseUrl: database.url, ...options });
  return {
    ...hub,
    close: async () => {
      await hub.close();
      await database.drop();
    },
  };
}

/** Two hub instances of one cluster, as behind a load balancer (see `startHubPair`). */
export interface HubPair {
  readonly a: TestHub;
  readonly b: TestHub;
  /** What both were started with: another instance of the same cluster starts with it too. */
  readonly shared: HubOptions & { redisPrefix: string };
  /** Stops both, drops their database and deletes their Redis keys. */
  close(): Promise<void>;
}

/**
 * Two hubs sharing a fresh PostgreSQL database and `redis` under a key prefix of their own; `options`
 * add to (or override) what both start with, e.g. a proxied `redisUrl`.
 */
export async function startHubPair(
  redis: Pick<RedisUnderTest, 'options' | 'clean'>,
  options: HubOptions = {},
): Promise<HubPair> {
  const database = await createTestDatabase('postgres');
  const shared = {
    databaseUrl: database.url,
    redisPrefix: `edgewire-test-${randomBytes(6).toString('hex')}`,
    ...redis.options,
    ...options,
  };
  const started: TestHub[] = [];
  const close = async () => {
    for (const hub of started) await hub.close();
    await database.drop();
    await redis.clean(shared.redisPrefix);
  };
  try {
    started.push(await startTestHub(shared));
    started.push(await startTestHub(shared));
    await untilLinked(started[0]!, started[1]!);
  } catch (error) {
    await close();
    throw error;
  }
  return { a: started[0]!, b: started[1]!, shared, close };
}

/**
 * Waits until each hub hears the other: a message published on one reaches a subscriber on the other,
 * both ways. A hub learns of the others from what they announce; a Redis Cluster client that is still
 * settling its subscriber connections right after start-up may miss such an announcement (the next
 * periodic one repairs it), and a test must not start inside that window.
 */
async function untilLinked(a: TestHub, b: TestHub): Promise<void> {
  const { token } = await a.admin.addToken({
    permissions: [{ filter: 'link-probe/#', access: 'readwrite' }],
  });
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    const topic = `link-probe/${randomBytes(4).toString('hex')}`;
    const listener = (await connect(to, '/ws', { token, topics: topic })).client;
    const sender = (await connect(from, '/ws', { token })).client;
    await waitFor(
      'the two hubs to hear each other',
      () => {
        sender.send({ type: 'pub', topic, payload: 'probe' });
        return listener.frames.some((f) => f.type === 'msg');
      },
      30_000,
      200,
    );
    listener.close();
    sender.close();
  }
}

/** A sample's value on the hub's /metrics (0 when absent), e.g. `edgewire_errors_total{code="forbidden"}`. */
export async function metric(hub: TestHub, sample: string): Promise<number> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return found === undefined ? 0 : Number(found.split(' ')[1]);
}

export interface ClientOptions {
  token?: string;
  topics?: string;
  headers?: Record<string, string>;
  /** Answer pings (the default); false plays a peer that has gone silent. */
  autoPong?: boolean;
  /** Subprotocols offered in the handshake (`BATCH_SUBPROTOCOL` for batched frames). */
  protocols?: string[];
}

/**
 * A connected test client that queues what it receives, frame by frame: on a batched connection
 * (`BATCH_SUBPROTOCOL`) each WebSocket message must be an array of valid frames, unpacked in order.
 */
export class TestClient {
  readonly frames: ServerFrame[] = [];
  /** WebSocket messages received, and the size of each. */
  readonly messages: number[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<() => void> = [];

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const text = data.toString();
      this.messages.push(Buffer.byteLength(text));
      if (socket.protocol === BATCH_SUBPROTOCOL) {
        const parsed = serverBatchSchema.safeParse(JSON.parse(text));
        if (!parsed.success) throw new Error(`hub sent an invalid batch: ${parsed.error.message}`);
        this.frames.push(...parsed.data);
      } else {
        const parsed = parseServerFrame(text);
        if (!parsed.ok) throw new Error(`hub sent an invalid frame: ${parsed.error}`);
        this.frames.push(parsed.frame);
      }
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Waits for (and removes) the first received frame that satisfies `accept`. */
  async next<F extends ServerFrame = ServerFrame>(
    accept: (frame: ServerFrame) => boolean = () => true,
    timeoutMs = 3000,
  ): Promise<F> {
    const index = await this.#indexOf(accept, timeoutMs);
    return this.frames.splice(index, 1)[0] as F;
  }

  nextOfType<T extends ServerFrame['type']>(type: T, timeoutMs?: number) {
    return this.next<Extract<ServerFrame, { type: T }>>((f) => f.type === type, timeoutMs);
  }

  /**
   * Asserts that no frame matching `unwanted` arrived before the first one matching `marker`, and
   * removes the frames up to the marker. The test arranges for the marker to come after anything the
   * action under test could have caused (a later message on the same path), so the check means the
   * same on an idle machine and on a loaded one, which a fixed wait does not.
   */
  async noneBefore(
    unwanted: (frame: ServerFrame) => boolean,
    marker: (frame: ServerFrame) => boolean,
    timeoutMs = 3000,
  ): Promise<void> {
    const index = await this.#indexOf(marker, timeoutMs);
    const found = this.frames.slice(0, index).find(unwanted);
    if (found) throw new Error(`unexpected frame ${JSON.stringify(found)} before the marker`);
    this.frames.splice(0, index + 1);
  }

  async #indexOf(accept: (frame: ServerFrame) => boolean, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex(accept);
      if (index >= 0) return index;
      const left = deadline - Date.now();
      if (left <= 0 || this.socket.readyState === WebSocket.CLOSED) {
        throw new Error(`no matching frame; have ${JSON.stringify(this.frames).slice(0, 500)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

function headersOf(options: ClientOptions): Record<string, string> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.topics !== undefined) headers.topics = options.topics;
  return headers;
}

/** Opens a WebSocket and waits for the `welcome`; rejects with the HTTP status if refused. */
export async function connect(
  hub: TestHub,
  path: string,
  options: ClientOptions = {},
): Promise<{ client: TestClient; welcome: Extract<ServerFrame, { type: 'welcome' }> }> {
  const socket = new WebSocket(hub.wsUrl(path), options.protocols ?? [], {
    headers: headersOf(options),
    autoPong: options.autoPong ?? true,
  });
  const client = new TestClient(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    socket.once('error', reject);
  });
  const welcome = await client.nextOfType('welcome');
  return { client, welcome };
}

/** The answer to a handshake that the hub refuses: status, headers and body, and never a 101. */
export async function refusal(
  hub: TestHub,
  path: string,
  options: ClientOptions = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const socket = new WebSocket(hub.wsUrl(path), { headers: headersOf(options) });
  return new Promise((resolve, reject) => {
    socket.once('open', () => {
      socket.terminate();
      reject(new Error('handshake was accepted (101)'));
    });
    socket.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    socket.once('error', () => {});
  });
}
