/**
 * Batched frames (docs/protocol.md, "Batched frames"): a client that offers `BATCH_SUBPROTOCOL` gets
 * what the hub sends it within one turn as one WebSocket message holding an array of frames, in order
 * and complete; a client that does not offer it gets one frame per message, as before.
 */
import { BATCH_SUBPROTOCOL, type ServerFrame } from '@edgewire/protocol';
import { afterEach, expect, it } from 'vitest';
import { MAX_BATCH_BYTES } from '../src/connections/frame-batch.js';
import { connect, startTestHub, type TestClient, type TestHub } from './hub-harness.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

async function messages(client: TestClient, count: number): Promise<ServerFrame[]> {
  const got: ServerFrame[] = [];
  while (got.length < count) got.push(await client.nextOfType('msg'));
  return got;
}

it('sends a burst as a few arrays of frames to a client that asked, in order, and one frame per message to others', async () => {
  hub = await startTestHub({ publishRate: 100_000, publishBurst: 100_000 });
  const { token } = await hub.admin.addToken({ permissions: [{ filter: 'burst/#', access: 'readwrite' }] });
  const batched = (await connect(hub, '/ws', { token, topics: 'burst/#', protocols: [BATCH_SUBPROTOCOL] }))
    .client;
  const plain = (await connect(hub, '/ws', { token, topics: 'burst/#' })).client;
  const publisher = (await connect(hub, '/ws', { token })).client;
  expect(batched.socket.protocol).toBe(BATCH_SUBPROTOCOL);
  expect(plain.socket.protocol).toBe('');
  const before = { batched: batched.messages.length, plain: plain.messages.length };

  const COUNT = 500;
  for (let i = 0; i < COUNT; i++) publisher.send({ type: 'pub', topic: `burst/${i % 7}`, payload: { i } });
  const expected = Array.from({ length: COUNT }, (_, i) => ({ i }));
  for (const client of [batched, plain]) {
    const got = await messages(client, COUNT);
    expect(got.map((m) => (m.type === 'msg' ? m.payload : m))).toEqual(expected);
  }
  expect(plain.messages.length - before.plain).toBe(COUNT);
  // The hub read the burst in a handful of turns: far fewer messages than frames.
  expect(batched.messages.length - before.batched).toBeLessThan(COUNT / 10);
});

it('cuts a batch before it outgrows the size limit, keeping the order', async () => {
  hub = await startTestHub({ publishRate: 100_000, publishBurst: 100_000 });
  const { token } = await hub.admin.addToken({ permissions: [{ filter: 'big/#', access: 'readwrite' }] });
  const batched = (await connect(hub, '/ws', { token, topics: 'big/#', protocols: [BATCH_SUBPROTOCOL] }))
    .client;
  const publisher = (await connect(hub, '/ws', { token })).client;
  const before = batched.messages.length;
  const COUNT = 40;
  const filler = 'x'.repeat(10_000);
  for (let i = 0; i < COUNT; i++) publisher.send({ type: 'pub', topic: 'big/x', payload: { i, filler } });
  const got = await messages(batched, COUNT);
  expect(got.map((m) => (m.type === 'msg' ? (m.payload as { i: number }).i : -1))).toEqual(
    Array.from({ length: COUNT }, (_, i) => i),
  );
  const sizes = batched.messages.slice(before);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
  // 40 messages of 10 KB: at least 40 × 10 KB / 64 KiB arrays, and still several to an array.
  expect(sizes.length).toBeGreaterThanOrEqual(Math.ceil((COUNT * 10_000) / MAX_BATCH_BYTES));
  expect(sizes.length).toBeLessThan(COUNT / 2);
});
