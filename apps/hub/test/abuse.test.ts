/** Bad input and abuse: errors that keep the connection usable, size limit, rate limit, slow consumers, liveness. */
import { BATCH_SUBPROTOCOL } from '@edgewire/protocol';
import { afterEach, expect, it } from 'vitest';
import { connect, metric, startTestHub, type TestHub } from './hub-harness.js';
import { waitFor } from './wait.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

it('answers each kind of bad frame with an error naming the problem, logs and counts it, and stays usable', async () => {
  hub = await startTestHub();
  const issued = await hub.admin.addToken({ permissions: [{ filter: 'a/#', access: 'readwrite' }] });
  const { client } = await connect(hub, '/ws', { token: issued.token });
  let deep: unknown = 1;
  for (let i = 0; i < 40; i++) deep = { d: deep };
  const cases: Array<[unknown, RegExp]> = [
    ['not json', /not valid JSON/],
    ['[1,2]', /must be a JSON object, got an array/],
    ['42', /must be a JSON object/],
    [{ type: 'bogus' }, /unknown frame type "bogus"/],
    [{ topic: 'a/b' }, /type: required/],
    [{ type: 'pub', topic: 5, payload: 1 }, /^topic: /],
    [{ type: 'sub', filters: 'a/#' }, /^filters: expected an array/],
    [{ type: 'pub', topic: 'a/+', payload: 1 }, /topic: .*wildcards/],
    [{ type: 'pub', topic: 'a/b', payload: deep }, /nested deeper than/],
  ];
  for (const [frame, expected] of cases) {
    client.send(frame);
    const error = await client.nextOfType('error');
    expect(error.code).toBe('invalid_frame');
    expect(error.message).toMatch(expected);
  }
  client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
  expect((await client.nextOfType('error')).message).toMatch(/binary frames are not accepted/);
  client.send({ type: 'pub', id: 'bad-ref', topic: 1, payload: 1 });
  expect(await client.nextOfType('error')).toMatchObject({ code: 'invalid_frame', ref: 'bad-ref' });

  client.send({ type: 'sub', id: 'still-here', filters: ['a/#'] });
  expect(await client.nextOfType('ack')).toEqual({ type: 'ack', ref: 'still-here' });
  expect(await metric(hub, 'edgewire_errors_total{code="invalid_frame"}')).toBe(cases.length + 2);
  expect(hub.logText()).toContain('invalid frame');
});

it('names the field of a bad reading', async () => {
  hub = await startTestHub();
  const issued = await hub.admin.addDevice('pi-1');
  const { client } = await connect(hub, '/ws/device/pi-1', { token: issued.token });
  client.send({
    type: 'telemetry',
    id: 4,
    seq: 1,
    readings: [
      { metric: 't', value: 1, ts: 1 },
      { metric: 't', value: 'abc', ts: 2 },
    ],
  });
  const error = await client.nextOfType('error');
  expect(error).toMatchObject({ code: 'invalid_frame', ref: 4 });
  expect(error.message).toBe('readings[1].value: expected a finite number, got "abc"');
});

it('closes with 1009 on a frame over EDGEWIRE_MAX_FRAME_BYTES', async () => {
  hub = await startTestHub({ maxFrameBytes: 2048 });
  const issued = await hub.admin.addToken({ permissions: [{ filter: 'a/#', access: 'readwrite' }] });
  const { client } = await connect(hub, '/ws', { token: issued.token });
  client.send({ type: 'pub', id: 1, topic: 'a/b', payload: 'x'.repeat(1900) });
  expect(await client.nextOfType('ack')).toEqual({ type: 'ack', ref: 1 });
  client.send({ type: 'pub', topic: 'a/b', payload: 'x'.repeat(2100) });
  expect((await client.closed).code).toBe(1009);
});

it('rate-limits publishing, then closes with 4008 when it goes on', async () => {
  hub = await startTestHub({ publishRate: 5, publishBurst: 5, publishStrikes: 3 });
  const issued = await hub.admin.addToken({ permissions: [{ filter: 'a/#', access: 'readwrite' }] });
  const { client } = await connect(hub, '/ws', { token: issued.token });
  for (let i = 0; i < 20; i++) client.send({ type: 'pub', id: i, topic: 'a/b', payload: i });
  const { code } = await client.closed;
  expect(code).toBe(4008);
  const acks = client.frames.filter((f) => f.type === 'ack');
  const limited = client.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited');
  expect(acks).toHaveLength(5);
  expect(limited).toHaveLength(3);
});

it.each([
  ['one frame per message', []],
  ['batched frames', [BATCH_SUBPROTOCOL]],
])(
  'drops messages for a stalled subscriber (%s), then closes it with 4008, while others keep receiving everything',
  async (_, protocols) => {
    hub = await startTestHub({
      maxQueuedBytes: 64 * 1024,
      slowConsumerGraceMs: 200,
      publishRate: 100_000,
      publishBurst: 100_000,
    });
    const issued = await hub.admin.addToken({ permissions: [{ filter: 'bulk/#', access: 'readwrite' }] });
    const stalled = (await connect(hub, '/ws', { token: issued.token, topics: 'bulk/#', protocols })).client;
    const healthy = (await connect(hub, '/ws', { token: issued.token, topics: 'bulk/#' })).client;
    const publisher = (await connect(hub, '/ws', { token: issued.token })).client;
    stalled.socket.pause();
    let received = 0;
    healthy.socket.on('message', () => received++);
    const payload = 'x'.repeat(8 * 1024);
    // The test paces itself on the healthy subscriber (a few messages in flight, far below its 64 KiB cap),
    // so on however slow a machine only the paused one can fall behind; the kernel's socket buffers take
    // megabytes before the hub sees any backlog, hence the loop until the hub starts dropping.
    let sent = 0;
    for (let round = 0; (await metric(hub, 'edgewire_dropped_messages_total')) === 0; round++) {
      expect(round, 'the hub never dropped a message for the stalled subscriber').toBeLessThan(2000);
      for (let i = 0; i < 4; i++, sent++) publisher.send({ type: 'pub', topic: 'bulk/x', payload });
      await waitFor(`the healthy subscriber to receive ${sent} messages`, () => received === sent);
    }
    // Past the grace period the stalled subscriber is closed while the healthy one still gets everything.
    const slowConsumerCloses = 'edgewire_policy_closes_total{cause="slow_consumer"}';
    while ((await metric(hub, slowConsumerCloses)) === 0) {
      for (let i = 0; i < 4; i++, sent++) publisher.send({ type: 'pub', topic: 'bulk/x', payload });
      await waitFor(`the healthy subscriber to receive ${sent} messages`, () => received === sent);
    }
    stalled.socket.resume();
    expect((await stalled.closed).code).toBe(4008);
    expect(healthy.socket.readyState).toBe(healthy.socket.OPEN);
    expect(received).toBe(sent);
  },
);

it('terminates a peer that ignores 3 pings in a row and marks its device offline', async () => {
  hub = await startTestHub({ heartbeatSec: 0.2 });
  const silent = await hub.admin.addDevice('silent');
  const lively = await hub.admin.addDevice('lively');
  const watcherToken = await hub.admin.addToken({
    permissions: [{ filter: 'devices/+/status', access: 'read' }],
  });
  const watcher = (await connect(hub, '/ws', { token: watcherToken.token, topics: 'devices/silent/status' }))
    .client;
  const quiet = (await connect(hub, '/ws/device/silent', { token: silent.token, autoPong: false })).client;
  const alive = (await connect(hub, '/ws/device/lively', { token: lively.token })).client;
  expect((await watcher.nextOfType('msg')).payload).toMatchObject({ online: true });
  const started = Date.now();
  const { code } = await quiet.closed;
  expect(code).toBe(1006);
  expect(Date.now() - started).toBeLessThan(2000);
  expect((await watcher.nextOfType('msg')).payload).toMatchObject({ online: false });
  expect(alive.socket.readyState).toBe(alive.socket.OPEN);
});
