/**
 * Redis going away (a TCP proxy in front of the shared Redis is cut; the server itself keeps running for
 * the other suites): every hub keeps serving its own connections, /readyz stays 200 and reports the bus
 * degraded, nothing crashes, and once Redis is back each hub announces its interest again, so
 * subscriptions made during the outage work across hubs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type HubPair, startHubPair, type TestClient, type TestHub } from './hub-harness.js';
import { singleRedis, TEST_REDIS_URL } from './redis-cluster.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

let proxy: TcpProxy;
let pair: HubPair;
let a: TestHub;
let b: TestHub;

beforeAll(async () => {
  const target = new URL(TEST_REDIS_URL);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
  pair = await startHubPair(singleRedis(), { redisUrl: proxy.urlFor(TEST_REDIS_URL) });
  ({ a, b } = pair);
}, 60_000);
afterAll(async () => {
  proxy?.restore();
  await pair?.close();
  await proxy?.close();
});

const readiness = async (hub: TestHub) => {
  const answer = await fetch(`${hub.url}/readyz`);
  const body = (await answer.json()) as { status: string; bus: string };
  return { code: answer.status, status: body.status, bus: body.bus };
};

async function flowing(device: TestClient, watcher: TestClient, seq: { n: number }): Promise<void> {
  await expect
    .poll(
      () => {
        device.send({
          type: 'telemetry',
          seq: ++seq.n,
          readings: [{ metric: 't', value: seq.n, ts: seq.n }],
        });
        return watcher.frames.some((f) => f.type === 'msg');
      },
      { timeout: 15_000, interval: 200 },
    )
    .toBe(true);
  watcher.frames.length = 0;
}

it('keeps serving local connections while Redis is away, and works across hubs again once it is back', async () => {
  const issued = await a.admin.addDevice('outage-1');
  const viewer = await a.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] });
  const device = (await connect(a, '/ws/device/outage-1', { token: issued.token })).client;
  const topics = 'devices/outage-1/telemetry/#';
  const local = (await connect(a, '/ws', { token: viewer.token, topics })).client;
  const remote = (await connect(b, '/ws', { token: viewer.token, topics })).client;
  const seq = { n: 0 };
  await flowing(device, remote, seq);
  await flowing(device, local, seq);

  proxy.cut();
  // Still 200: this hub serves its own connections; a 503 would have the balancer drop every hub at once.
  await expect
    .poll(() => readiness(a), { timeout: 10_000 })
    .toEqual({ code: 200, status: 'degraded', bus: 'unreachable' });
  await flowing(device, local, seq);
  // Subscribed while the hubs cannot tell each other: only their re-announcement can route it later.
  const during = (await connect(b, '/ws', { token: viewer.token, topics: 'devices/outage-1/telemetry/t' }))
    .client;
  expect((await fetch(`${b.url}/healthz`)).status).toBe(200);

  proxy.restore();
  const ready = { code: 200, status: 'ready', bus: 'ok' };
  await expect.poll(() => readiness(a), { timeout: 20_000 }).toEqual(ready);
  await expect.poll(() => readiness(b), { timeout: 20_000 }).toEqual(ready);
  await flowing(device, during, seq);
  await flowing(device, remote, seq);
}, 90_000);
