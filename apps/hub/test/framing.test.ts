/** Prepared frames (one buffer for all subscribers) must be valid WebSocket frames of every length class, with or without compression. */
import { BATCH_SUBPROTOCOL } from '@edgewire/protocol';
import { afterEach, expect, it } from 'vitest';
import { connect, startTestHub, type TestHub } from './hub-harness.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

async function roundTrip(
  h: TestHub,
  sizes: number[],
  headers: Record<string, string> = {},
  protocols: string[] = [],
): Promise<string> {
  const issued = await h.admin.addToken({ permissions: [{ filter: 'big/#', access: 'readwrite' }] });
  const subscribers = await Promise.all(
    [1, 2].map(
      async () =>
        (await connect(h, '/ws', { token: issued.token, topics: 'big/#', headers, protocols })).client,
    ),
  );
  const publisher = (await connect(h, '/ws', { token: issued.token })).client;
  for (const size of sizes) publisher.send({ type: 'pub', topic: 'big/x', payload: 'y'.repeat(size) });
  for (const subscriber of subscribers) {
    for (const size of sizes) {
      const msg = await subscriber.nextOfType('msg');
      expect((msg.payload as string).length).toBe(size);
    }
  }
  return subscribers[0]!.socket.extensions;
}

it('delivers messages intact across the 7-bit, 16-bit and 64-bit length encodings', async () => {
  hub = await startTestHub({ maxFrameBytes: 256 * 1024 });
  // A msg frame adds ~60 bytes of envelope, so these straddle 125/126 and 65535/65536 on the wire.
  expect(await roundTrip(hub, [10, 64, 65, 66, 70, 65_470, 65_480, 65_490, 100_000])).toBe('');
});

it('delivers through permessage-deflate when the hub enables it and the client asks for it', async () => {
  hub = await startTestHub({ perMessageDeflate: true });
  expect(await roundTrip(hub, [10, 5000])).toContain('permessage-deflate');
});

it('delivers batched frames (BATCH_SUBPROTOCOL) intact, plain and through permessage-deflate', async () => {
  hub = await startTestHub({ maxFrameBytes: 256 * 1024 });
  expect(await roundTrip(hub, [10, 65_480, 100_000, 70], {}, [BATCH_SUBPROTOCOL])).toBe('');
  await hub.close();
  hub = await startTestHub({ perMessageDeflate: true });
  expect(await roundTrip(hub, [10, 5000, 20], {}, [BATCH_SUBPROTOCOL])).toContain('permessage-deflate');
});
