/** Operations: health, readiness, Prometheus metrics, connection-scoped logs without credentials, the admin endpoint's guard. */
import { Counter } from 'prom-client';
import { afterEach, expect, it } from 'vitest';
import type { TelemetrySink } from '../src/ingest/telemetry-sink.js';
import { connect, refusal, startTestHub, type TestHub } from './hub-harness.js';
import { waitFor } from './wait.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

it('answers /healthz and /readyz, and shows the telemetry writer and its metrics', async () => {
  let healthy = true;
  const sink: TelemetrySink = {
    get healthy() {
      return healthy;
    },
    offer: () => true,
    onCommitted: () => {},
    close: async () => {},
  };
  hub = await startTestHub({
    telemetrySink: ({ metrics }) => {
      // A writer registers its own metrics on the hub's registry, so they appear on /metrics.
      new Counter({ name: 'test_writer_batches_total', help: 'batches', registers: [metrics] }).inc(3);
      return sink;
    },
  });
  expect(await (await fetch(`${hub.url}/metrics`)).text()).toContain('test_writer_batches_total 3');
  expect(await (await fetch(`${hub.url}/healthz`)).json()).toEqual({ status: 'ok' });
  const ready = await fetch(`${hub.url}/readyz`);
  expect(ready.status).toBe(200);
  healthy = false;
  const notReady = await fetch(`${hub.url}/readyz`);
  expect(notReady.status).toBe(503);
  expect(await notReady.json()).toMatchObject({ storage: 'ok', telemetryWriter: 'failing' });
});

it('exports connections, frames, deliveries and refusals to Prometheus without credentials or ids in labels', async () => {
  hub = await startTestHub();
  const device = await hub.admin.addDevice('pi-1');
  const viewer = await hub.admin.addToken({ permissions: [{ filter: 'devices/#', access: 'read' }] });
  const watcher = (await connect(hub, '/ws', { token: viewer.token, topics: 'devices/+/telemetry/#' }))
    .client;
  const pi = (await connect(hub, '/ws/device/pi-1', { token: device.token })).client;
  pi.send({
    type: 'telemetry',
    seq: 1,
    readings: [
      { metric: 't', value: 1, ts: 1 },
      { metric: 'u', value: 2, ts: 1 },
    ],
  });
  await watcher.nextOfType('msg');
  await watcher.nextOfType('msg');
  await pi.nextOfType('ack');
  await refusal(hub, '/ws');
  await refusal(hub, '/ws', { token: 'ewt_unknown' });
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  expect(text).toContain('edgewire_connections{kind="device"} 1');
  expect(text).toContain('edgewire_connections{kind="client"} 1');
  expect(text).toContain('edgewire_frames_in_total{type="telemetry"} 1');
  expect(text).toContain('edgewire_frames_out_total{type="msg"} 2');
  expect(text).toContain('edgewire_frames_out_total{type="welcome"} 2');
  expect(text).toContain('edgewire_deliveries_total 2');
  expect(text).toContain('edgewire_handshake_refusals_total{status="401"} 2');
  expect(text).toContain('process_cpu_seconds_total');
  expect(text).not.toContain('pi-1');
  expect(text).not.toContain(device.token);
});

it('puts the connection id (and device id) on every connection log line, and never a token', async () => {
  hub = await startTestHub();
  const device = await hub.admin.addDevice('pi-1');
  const writer = await hub.admin.addToken({ permissions: [{ filter: '#', access: 'readwrite' }] });
  const { client: pi, welcome } = await connect(hub, '/ws/device/pi-1', { token: device.token });
  const { client } = await connect(hub, '/ws', { token: writer.token });
  pi.send('garbage');
  await pi.nextOfType('error');
  client.send({ type: 'pub', id: 1, topic: 'a', payload: 1 });
  await client.nextOfType('ack');
  await refusal(hub, `/ws/device/pi-1?token=${device.token}`);
  await hub.admin.revokeToken(writer.id);
  await client.closed;
  pi.close();
  await pi.closed;
  const logLines = () =>
    hub!
      .logText()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  // The hub logs the end of a connection once it has seen it close, which may be after the client did.
  await waitFor('the disconnect logged', () =>
    logLines().some((l) => l.conn === welcome.conn && l.msg === 'disconnected'),
  );
  const lines = logLines();
  const ofDevice = lines.filter((l) => l.conn === welcome.conn);
  expect(ofDevice.map((l) => l.msg)).toEqual(
    expect.arrayContaining(['connected', 'invalid frame', 'disconnected']),
  );
  expect(ofDevice.every((l) => l.device === 'pi-1')).toBe(true);
  expect(
    lines.some((l) => l.msg === 'closing connection' && l.code === 4003 && typeof l.conn === 'string'),
  ).toBe(true);
  const text = hub.logText();
  expect(text).not.toContain(device.token);
  expect(text).not.toContain(writer.token);
});

it('guards the management API: a guessed Bearer secret changes nothing', async () => {
  hub = await startTestHub();
  const response = await fetch(`${hub.url}/api/devices`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer guess' },
    body: JSON.stringify({ id: 'intruder' }),
  });
  expect(response.status).toBe(401);
  expect(await hub.database.rows("select id from devices where id = 'intruder'")).toEqual([]);
});
