/**
 * The client against a real hub (in-process, embedded PGlite): delivery, acks, refusals and every
 * reconnect rule a user would notice.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { type RunningHub, startHub } from '@edgewire/hub';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createClient,
  EdgewireClient,
  type Message,
  type SocketAdapter,
  type StateChange,
} from '../src/node.js';
import { nodeSocket } from '../src/node-socket.js';

const FAST_BACKOFF = { initialMs: 50, maxMs: 200 };

let hub: RunningHub;
const clients: EdgewireClient[] = [];

async function startTestHub(): Promise<RunningHub> {
  return startHub({
    host: '127.0.0.1',
    port: 0,
    dataDir: undefined,
    logLevel: 'silent',
    handshakeRatePerAddress: 100_000,
    env: {},
  });
}

// One hub (embedded, in memory) for the file: starting one costs seconds on a busy machine.
beforeAll(async () => {
  hub = await startTestHub();
}, 120_000);

afterAll(async () => {
  await hub.close();
});

/** A TCP hop in front of the hub whose connections can all be cut at once: a network that fails. */
async function cuttableLink(): Promise<{
  url: string;
  cut(): void;
  /** Refuses new connections too (false), or lets them through again (true). */
  passing(open: boolean): void;
  close(): Promise<void>;
}> {
  const target = new URL(hub.url);
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((inbound) => {
    if (!open) {
      inbound.destroy();
      return;
    }
    const outbound = tcpConnect(Number(target.port), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    passing: (passing) => {
      open = passing;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

async function token(...permissions: Array<[string, 'read' | 'readwrite']>): Promise<string> {
  const issued = await hub.admin.addToken({
    permissions: permissions.map(([filter, access]) => ({ filter, access })),
  });
  return issued.token;
}

function client(tokenText: string, url = hub.url): EdgewireClient {
  const created = createClient({ url, token: tokenText, backoff: FAST_BACKOFF, policyDelayMs: 100 });
  clients.push(created);
  return created;
}

/** Resolves with the first state change (or the current state) that satisfies `accept`. */
function until(
  c: EdgewireClient,
  accept: (s: StateChange) => boolean,
  timeoutMs = 5000,
): Promise<StateChange> {
  if (accept(c.state)) return Promise.resolve(c.state);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`state stayed ${JSON.stringify(c.state)}`)), timeoutMs);
    const off = c.on('state', (s) => {
      if (!accept(s)) return;
      clearTimeout(timer);
      off();
      resolve(s);
    });
  });
}

const isOpen = (s: StateChange) => s.state === 'open';

/** Collects messages and lets a test wait for the n-th. */
function inbox() {
  const messages: Message[] = [];
  const waiters: Array<() => void> = [];
  return {
    messages,
    push: (m: Message) => {
      messages.push(m);
      for (const wake of waiters.splice(0)) wake();
    },
    async count(n: number, timeoutMs = 5000): Promise<Message[]> {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${messages.length} of ${n} messages arrived`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return messages;
    },
  };
}

describe('messaging', () => {
  it('delivers what another client publishes to matching subscriptions, and settles publish on the ack', async () => {
    const writer = client(await token(['lab/#', 'readwrite']));
    const reader = client(await token(['lab/#', 'read']));
    const all = inbox();
    const one = inbox();
    const sub = reader.subscribe('lab/+/temp', all.push);
    reader.subscribe('lab/a/temp', one.push);
    await sub.ready;
    await until(writer, isOpen);

    await writer.publish('lab/a/temp', { value: 21.5 });
    await writer.publish('lab/b/temp', { value: 19 });
    await writer.publish('lab/b/humidity', { value: 40 });

    const got = await all.count(2);
    expect(got.map((m) => [m.topic, m.payload])).toEqual([
      ['lab/a/temp', { value: 21.5 }],
      ['lab/b/temp', { value: 19 }],
    ]);
    expect((await one.count(1)).map((m) => m.topic)).toEqual(['lab/a/temp']);
    expect(typeof got[0]!.ts).toBe('number');
  });

  it('asks for batched frames and unpacks them: a burst arrives complete and in order in a few WebSocket messages', async () => {
    let socketMessages = 0;
    const counting: SocketAdapter = {
      seesPings: nodeSocket.seesPings,
      open: (options, events) =>
        nodeSocket.open(options, {
          ...events,
          onMessage: (text) => {
            socketMessages++;
            events.onMessage(text);
          },
        }),
    };
    const reader = new EdgewireClient(
      { url: hub.url, token: await token(['burst/#', 'read']), backoff: FAST_BACKOFF },
      counting,
    );
    clients.push(reader);
    const box = inbox();
    await reader.subscribe('burst/#', box.push).ready;
    const writer = client(await token(['burst/#', 'readwrite']));
    await until(writer, isOpen);
    const before = socketMessages;
    const COUNT = 300;
    await Promise.all(Array.from({ length: COUNT }, (_, i) => writer.publish(`burst/${i % 3}`, { i })));
    const got = await box.count(COUNT);
    expect(got.map((m) => m.payload)).toEqual(Array.from({ length: COUNT }, (_, i) => ({ i })));
    expect(socketMessages - before).toBeLessThan(COUNT / 10);
  });

  it("rejects a publish the token may not make with the hub's error, and an invalid topic before sending", async () => {
    const reader = client(await token(['lab/#', 'read']));
    await until(reader, isOpen);
    await expect(reader.publish('lab/a', 1)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(reader.publish('lab/+', 1)).rejects.toMatchObject({ code: 'invalid' });
    // The connection is still usable after a refusal.
    expect(reader.state.state).toBe('open');
  });

  it('refuses a subscription outside the grant: ready rejects, onError fires, other subscriptions live on', async () => {
    const reader = client(await token(['lab/#', 'read']));
    const errors: string[] = [];
    const refused = reader.subscribe('other/#', () => {}, { onError: (e) => errors.push(e.code) });
    await expect(refused.ready).rejects.toMatchObject({ code: 'forbidden' });
    expect(errors).toEqual(['forbidden']);
    expect(() => reader.subscribe('a/#/b', () => {})).toThrow(/filter: # may only stand as the last level/);
    await reader.subscribe('lab/x', () => {}).ready;
  });

  it('stops delivering after unsubscribe, and delivers retained messages on subscribe', async () => {
    const writer = client(await token(['kept/#', 'readwrite']));
    await until(writer, isOpen);
    await writer.publish('kept/config', { mode: 'eco' }, { retain: true });
    const reader = client(await token(['kept/#', 'read']));
    const box = inbox();
    const sub = reader.subscribe('kept/#', box.push);
    const [retained] = await box.count(1);
    expect(retained).toMatchObject({ topic: 'kept/config', payload: { mode: 'eco' }, retained: true });
    sub.unsubscribe();
    // The unsub travels before this publish on the reader's connection ordering, so once the writer's
    // next message reaches a second, still-subscribed client, the first would have had it too.
    const witness = client(await token(['kept/#', 'read']));
    const witnessed = inbox();
    await witness.subscribe('kept/after', witnessed.push).ready;
    await writer.publish('kept/after', 1);
    await witnessed.count(1);
    expect(box.messages).toHaveLength(1);
  });
});

describe('connection rules', () => {
  it('reconnects after the network fails and restores its subscriptions', async () => {
    const link = await cuttableLink();
    const reader = client(await token(['net/#', 'read']), link.url);
    const box = inbox();
    await reader.subscribe('net/#', box.push).ready;
    const states: string[] = [];
    reader.on('state', (s) => states.push(s.state));

    link.cut();
    await until(reader, (s) => s.state === 'waiting');
    await until(reader, isOpen, 10_000);

    const writer = client(await token(['net/#', 'readwrite']));
    await until(writer, isOpen);
    // The resubscription is under way once open; a publish right away may overtake it, so repeat until seen.
    for (let i = 0; box.messages.length === 0 && i < 50; i++) {
      await writer.publish('net/back', { i });
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(box.messages[0]?.topic).toBe('net/back');
    expect(states.slice(0, 3)).toEqual(['waiting', 'connecting', 'open']);
    await link.close();
  });

  it('recovers from the position of its subscription what was published while away, before any message', async () => {
    const link = await cuttableLink();
    const reader = client(await token(['away/#', 'read']), link.url);
    const box = inbox();
    // One plain topic: the hub keeps its history, and the ack tells where the subscription starts.
    await reader.subscribe('away/news', box.push).ready;
    link.passing(false);
    link.cut();
    await until(reader, (s) => s.state === 'waiting');
    const writer = client(await token(['away/#', 'readwrite']));
    await until(writer, isOpen);
    for (let i = 1; i <= 5; i++) await writer.publish('away/news', { i });
    link.passing(true);
    await until(reader, isOpen, 10_000);
    const got = await box.count(5);
    expect(got.map((m) => m.payload)).toEqual([1, 2, 3, 4, 5].map((i) => ({ i })));
    await writer.publish('away/news', { i: 6 });
    expect((await box.count(6))[5]?.payload).toEqual({ i: 6 });
    expect(box.messages).toHaveLength(6);
    await link.close();
  });

  it('stops for good when its token is revoked (4003) and does not knock again', async () => {
    const issued = await hub.admin.addToken({ permissions: [{ filter: 'lab/#', access: 'read' }] });
    const reader = client(issued.token);
    await until(reader, isOpen);
    await hub.admin.revokeToken(issued.id);
    const stopped = await until(reader, (s) => s.state === 'stopped');
    expect(stopped.code).toBe(4003);
    await new Promise((r) => setTimeout(r, 400));
    expect(reader.state.state).toBe('stopped');
  });

  it('stops on an unknown token (401) instead of retrying', async () => {
    const reader = client('not-a-real-token-0123456789abcdef');
    const stopped = await until(reader, (s) => s.state === 'stopped');
    expect(stopped.code).toBe(401);
    expect(stopped.reason).toMatch(/refused the credentials/);
  });

  it('waits for Retry-After when the token has no connection left (429), then gets in once one frees up', async () => {
    const issued = await hub.admin.addToken({
      permissions: [{ filter: 'lab/#', access: 'read' }],
      maxConnections: 1,
    });
    const first = client(issued.token);
    await until(first, isOpen);
    const second = client(issued.token);
    const waiting = await until(second, (s) => s.state === 'waiting');
    expect(waiting.code).toBe(429);
    expect(waiting.retryInMs).toBeGreaterThanOrEqual(1000);
    first.close();
    await until(second, isOpen, 10_000);
  });

  it('fails a pending publish when the client closes, and refuses to publish while not connected', async () => {
    const writer = client(await token(['lab/#', 'readwrite']));
    await expect(writer.publish('lab/a', 1)).rejects.toMatchObject({ code: 'not_connected' });
    await until(writer, isOpen);
    const pending = writer.publish('lab/a', 1);
    writer.close();
    await expect(pending).rejects.toMatchObject({ code: 'closed' });
    expect(writer.state.state).toBe('closed');
  });
});
