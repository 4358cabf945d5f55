/**
 * Issue 13, item 1: subscriptions cannot exhaust the hub's memory. Filters per connection and per
 * token are capped, and so is their estimated index memory; sub/unsub frames are rate-limited; a
 * client that keeps going over is closed with 4008.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  metric,
  refusal,
  startTestHubOnPostgres,
  type TestClient,
  type TestHub,
} from './hub-harness.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** RSS after a full collection: what the process really holds on to. */
function settledRss(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().rss;
}

const MIB = 2 ** 20;
/** A 30-level filter of about 930 bytes, distinct from its first level on (nothing shared in the index). */
const longFilter = (n: number) =>
  Array.from({ length: 30 }, (_, level) => `${n}-${level}-`.padEnd(30, 'x')).join('/');

/** Sends frames until `total` are sent or the connection closes, yielding so that answers are read. */
async function flood(client: TestClient, total: number, frame: (i: number) => unknown): Promise<number> {
  let sent = 0;
  while (sent < total && client.socket.readyState === client.socket.OPEN) {
    client.send(frame(sent++));
    if (sent % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return sent;
}

describe('at the default limits', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHubOnPostgres();
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('refuses a flood of long filters from one connection and closes it, holding RSS growth far below the 818 MiB it cost before', async () => {
    const reader = await hub.admin.addToken({ permissions: [{ filter: '#', access: 'read' }] });
    const { client } = await connect(hub, '/ws', { token: reader.token });
    const before = settledRss();
    // The attack: 1,500 frames of 60 long filters (90,000 filters).
    const sent = await flood(client, 1500, (i) => ({
      type: 'sub',
      id: i,
      filters: Array.from({ length: 60 }, (_, k) => longFilter(i * 60 + k)),
    }));
    expect((await client.closed).code).toBe(4008);
    const grown = settledRss() - before;
    expect(sent).toBeLessThan(1500);
    expect(client.frames.filter((f) => f.type === 'ack')).toHaveLength(0);
    const refused = client.frames.filter((f) => f.type === 'error');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]).toMatchObject({ code: 'too_large', ref: 0 });
    expect(refused[0]!.type === 'error' && refused[0]!.message).toMatch(
      /^filters: subscription memory limit reached \(524288 bytes per connection/,
    );
    expect(grown / MIB).toBeLessThan(64);
    expect(await metric(hub, 'edgewire_policy_closes_total{cause="refused_frames"}')).toBe(1);
    expect(await metric(hub, 'edgewire_limit_refusals_total{limit="subscriptions"}')).toBe(
      refused.length + 1,
    );
  });

  it('bounds what all connections of one token hold: about 8 MiB of index, whatever the number of connections', async () => {
    const reader = await hub.admin.addToken({ permissions: [{ filter: '#', access: 'read' }] });
    const before = settledRss();
    let accepted = 0;
    let next = 0;
    const clients: TestClient[] = [];
    // 24 connections × 60 long filters each would be 1,440 filters (13 MiB estimated) without the token cap.
    for (let c = 0; c < 24; c++) {
      const { client } = await connect(hub, '/ws', { token: reader.token });
      clients.push(client);
      for (let i = 0; i < 60; i++) {
        client.send({ type: 'sub', id: i, filters: [longFilter(next++)] });
        const answer = await client.next((f) => f.type === 'ack' || f.type === 'error');
        if (answer.type === 'ack') accepted++;
        else break;
      }
    }
    const grown = settledRss() - before;
    // 8 MiB / 9.3 KiB per filter.
    expect(accepted).toBeGreaterThan(800);
    expect(accepted).toBeLessThanOrEqual(880);
    const last = clients.at(-1)!;
    last.send({ type: 'sub', id: 'more', filters: [longFilter(next++)] });
    const error = await last.nextOfType('error');
    expect(error.message).toMatch(/per token across its connections/);
    expect(grown / MIB).toBeLessThan(64);
    for (const client of clients) client.close();
  });

  it('rate-limits sub/unsub churn, then closes the connection with 4008', async () => {
    const reader = await hub.admin.addToken({ permissions: [{ filter: '#', access: 'read' }] });
    const { client } = await connect(hub, '/ws', { token: reader.token });
    const started = Date.now();
    // The 200,000 alternating frames, stopped as soon as the hub closes the connection.
    const sent = await flood(client, 200_000, (i) => ({
      type: i % 2 ? 'unsub' : 'sub',
      filters: ['churn/a'],
    }));
    expect((await client.closed).code).toBe(4008);
    const seconds = (Date.now() - started) / 1000;
    const acks = client.frames.filter((f) => f.type === 'ack').length;
    const limited = client.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited');
    expect(sent).toBeLessThan(200_000);
    // A burst of 100, then 20 a second.
    expect(acks).toBeGreaterThanOrEqual(100);
    expect(acks).toBeLessThanOrEqual(100 + Math.ceil(20 * seconds) + 1);
    expect(limited).toHaveLength(100);
    expect(limited[0]).toMatchObject({ message: 'subscribing and unsubscribing too fast: slow down' });
  });
});

describe('with small limits', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHubOnPostgres({
      maxSubscriptions: 5,
      maxSubscriptionsPerToken: 7,
      publishStrikes: 3,
    });
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('caps filters per connection and per token, counting each filter once', async () => {
    const reader = await hub.admin.addToken({ permissions: [{ filter: '#', access: 'read' }] });
    const a = (await connect(hub, '/ws', { token: reader.token })).client;
    a.send({ type: 'sub', id: 1, filters: ['a/1', 'a/2', 'a/3', 'a/4', 'a/5', 'a/5'] });
    expect(await a.nextOfType('ack')).toMatchObject({ type: 'ack', ref: 1 });
    a.send({ type: 'sub', id: 2, filters: ['a/1'] });
    expect(await a.nextOfType('ack')).toMatchObject({ type: 'ack', ref: 2 });
    a.send({ type: 'sub', id: 3, filters: ['a/6'] });
    expect(await a.nextOfType('error')).toEqual({
      type: 'error',
      code: 'too_large',
      ref: 3,
      message: 'filters: subscription limit reached (5 filters per connection); unsubscribe first',
    });
    a.send({ type: 'unsub', id: 4, filters: ['a/1'] });
    await a.nextOfType('ack');
    a.send({ type: 'sub', id: 5, filters: ['a/6'] });
    expect(await a.nextOfType('ack')).toMatchObject({ type: 'ack', ref: 5 });

    const b = (await connect(hub, '/ws', { token: reader.token })).client;
    b.send({ type: 'sub', id: 6, filters: ['b/1', 'b/2', 'b/3'] });
    expect((await b.nextOfType('error')).message).toMatch(/7 filters per token/);
    b.send({ type: 'sub', id: 7, filters: ['b/1', 'b/2'] });
    expect(await b.nextOfType('ack')).toMatchObject({ type: 'ack', ref: 7 });

    // The Topics header counts too: beyond the per-connection cap it is refused before the upgrade...
    const tooMany = await refusal(hub, '/ws', { token: reader.token, topics: 'c/1,c/2,c/3,c/4,c/5,c/6' });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatch(/Topics: subscription limit reached \(5 filters per connection\)/);
    // ...and beyond what the token's other connections leave, the connection opens without it.
    const c = (await connect(hub, '/ws', { token: reader.token, topics: 'c/1' })).client;
    expect((await c.nextOfType('error')).message).toMatch(
      /^Topics: subscription limit reached \(7 filters per token/,
    );

    // A connection closing gives its share back.
    a.close();
    await a.closed;
    await expect
      .poll(async () => {
        c.send({ type: 'sub', id: 'again', filters: ['c/1'] });
        return (await c.next((f) => f.type === 'ack' || f.type === 'error')).type;
      })
      .toBe('ack');
  });

  it('closes a connection that keeps subscribing over its cap with 4008', async () => {
    const reader = await hub.admin.addToken({ permissions: [{ filter: '#', access: 'read' }] });
    const { client } = await connect(hub, '/ws', { token: reader.token });
    for (let i = 0; i < 10; i++)
      client.send({ type: 'sub', filters: ['x/1', 'x/2', 'x/3', 'x/4', 'x/5', 'x/6'] });
    expect((await client.closed).code).toBe(4008);
    expect(client.frames.filter((f) => f.type === 'error' && f.code === 'too_large')).toHaveLength(3);
  });
});
