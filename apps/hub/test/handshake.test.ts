/** SPEC "WebSocket endpoints": every refusal is a plain HTTP answer before the upgrade. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, refusal, startTestHub, type TestHub } from './hub-harness.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

let hub: TestHub;
let device: { id: string; token: string };
let reader: { id: string; token: string };

beforeEach(async () => {
  hub = await startTestHub();
  device = await hub.admin.addDevice('pi-1');
  await hub.admin.addDevice('pi-2');
  reader = await hub.admin.addToken({ permissions: [{ filter: 'devices/+/telemetry/#', access: 'read' }] });
});
afterEach(async () => {
  await hub.close();
});

describe('400', () => {
  it('refuses a token in the query string, even a valid one, and keeps it out of the logs', async () => {
    const answer = await refusal(hub, `/ws/device/pi-1?token=${device.token}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('Authorization header');
    expect((await refusal(hub, `/ws?access_token=${reader.token}`)).status).toBe(400);
    expect(hub.logText()).not.toContain(device.token);
    expect(hub.logText()).not.toContain(reader.token);
  });

  it('refuses a malformed device id', async () => {
    expect((await refusal(hub, '/ws/device/-bad', { token: device.token })).status).toBe(400);
    expect((await refusal(hub, `/ws/device/${'a'.repeat(129)}`, { token: device.token })).status).toBe(400);
  });

  it('refuses an invalid Topics filter', async () => {
    const answer = await refusal(hub, '/ws', { token: reader.token, topics: 'devices/#/x' });
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('Topics');
  });
});

describe('401', () => {
  it('refuses a handshake without credentials, asking for a bearer token', async () => {
    const answer = await refusal(hub, '/ws');
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Bearer');
    expect((await refusal(hub, '/ws', { headers: { authorization: 'Basic dXNlcjpwYXNz' } })).status).toBe(
      401,
    );
  });

  it('refuses an unknown token without echoing it', async () => {
    const forged = `ewt_${'x'.repeat(43)}`;
    const answer = await refusal(hub, '/ws/device/pi-1', { token: forged });
    expect(answer.status).toBe(401);
    expect(answer.body).not.toContain(forged);
    expect(hub.logText()).not.toContain(forged);
  });
});

describe('403', () => {
  it('refuses a revoked token', async () => {
    await hub.admin.revokeToken(reader.id);
    expect((await refusal(hub, '/ws', { token: reader.token })).status).toBe(403);
  });

  it('refuses an expired token', async () => {
    const expiresAt = new Date(Date.now() + 300);
    const brief = await hub.admin.addToken({ permissions: [{ filter: 'a/#', access: 'read' }], expiresAt });
    await connect(hub, '/ws', { token: brief.token }).then(({ client }) => client.close());
    await waitFor('the expiry time to pass', () => Date.now() > expiresAt.getTime() + 10);
    expect((await refusal(hub, '/ws', { token: brief.token })).status).toBe(403);
  });

  it("refuses another device's token, and a device token on the client endpoint", async () => {
    expect((await refusal(hub, '/ws/device/pi-2', { token: device.token })).status).toBe(403);
    expect((await refusal(hub, '/ws', { token: device.token })).status).toBe(403);
    expect((await refusal(hub, '/ws/device/pi-1', { token: reader.token })).status).toBe(403);
  });

  it('refuses a Topics filter the token may not read', async () => {
    const answer = await refusal(hub, '/ws', { token: reader.token, topics: 'devices/#' });
    expect(answer.status).toBe(403);
    const { client } = await connect(hub, '/ws', { token: reader.token, topics: 'devices/pi-1/telemetry/#' });
    client.close();
  });
});

describe('429', () => {
  it('refuses a connection beyond maxConnections until one closes', async () => {
    const limited = await hub.admin.addToken({
      permissions: [{ filter: 'a/#', access: 'read' }],
      maxConnections: 2,
    });
    const first = await connect(hub, '/ws', { token: limited.token });
    await connect(hub, '/ws', { token: limited.token });
    const answer = await refusal(hub, '/ws', { token: limited.token });
    expect(answer.status).toBe(429);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    first.client.close();
    await first.client.closed;
    // The slot is given back when the hub has seen the close, which may be just after the client did.
    await waitFor('a connection in the freed slot', () =>
      connect(hub, '/ws', { token: limited.token }).then(
        () => true,
        () => false,
      ),
    );
  });

  it('counts concurrent handshakes, so a burst cannot overshoot maxConnections', async () => {
    const limited = await hub.admin.addToken({
      permissions: [{ filter: 'a/#', access: 'read' }],
      maxConnections: 3,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => connect(hub, '/ws', { token: limited.token })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
  });

  it('tells a device reconnecting in a loop to back off', async () => {
    await hub.close();
    hub = await startTestHub({ deviceConnectsPerMinute: 3 });
    const flappy = await hub.admin.addDevice('flappy');
    for (let i = 0; i < 3; i++) {
      const { client } = await connect(hub, '/ws/device/flappy', { token: flappy.token });
      client.close();
      await client.closed;
    }
    const answer = await refusal(hub, '/ws/device/flappy', { token: flappy.token });
    expect(answer.status).toBe(429);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(answer.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('limits handshakes per address', async () => {
    await hub.close();
    hub = await startTestHub({ handshakeRatePerAddress: 2 });
    // A burst of 2 s worth (4) goes through, then the address must wait.
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push((await refusal(hub, '/ws')).status);
    expect(answers.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(answers.slice(4)).toContain(429);
  });

  it('limits all addresses together at the hub rate', async () => {
    await hub.close();
    hub = await startTestHub({ handshakeRate: 2, trustProxy: ['127.0.0.1'] });
    const answers = [];
    for (let i = 0; i < 8; i++) {
      answers.push((await refusal(hub, '/ws', { headers: { 'x-forwarded-for': `203.0.113.${i}` } })).status);
    }
    expect(answers.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(answers.slice(4)).toContain(429);
  });

  it('limits each client address behind a trusted proxy separately, and logs the client address', async () => {
    await hub.close();
    hub = await startTestHub({ handshakeRatePerAddress: 1, trustProxy: ['10.9.9.9', '127.0.0.0/8'] });
    const from = (address: string) => refusal(hub, '/ws', { headers: { 'x-forwarded-for': address } });
    const first = [];
    for (let i = 0; i < 4; i++) first.push((await from('198.51.100.1')).status);
    expect(first.slice(0, 2)).toEqual([401, 401]);
    expect(first.slice(2)).toContain(429);
    expect((await from('198.51.100.2')).status).toBe(401);
    expect(hub.logText()).toContain('"address":"198.51.100.1"');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    await hub.close();
    hub = await startTestHub({ handshakeRatePerAddress: 1, trustProxy: ['10.9.9.9'] });
    const answers = [];
    for (let i = 0; i < 4; i++) {
      answers.push((await refusal(hub, '/ws', { headers: { 'x-forwarded-for': `198.51.100.${i}` } })).status);
    }
    // A client forging a new address each time is still one address: 127.0.0.1.
    expect(answers.slice(0, 2)).toEqual([401, 401]);
    expect(answers.slice(2)).toContain(429);
    expect(hub.logText()).not.toContain('198.51.100.');
  });
});

it('answers a plain GET on a WebSocket path with 426', async () => {
  const response = await fetch(`${hub.url}/ws`, { headers: { authorization: `Bearer ${reader.token}` } });
  expect(response.status).toBe(426);
});

it('welcomes an accepted client with its connection id, heartbeat and permissions', async () => {
  const { welcome } = await connect(hub, '/ws', { token: reader.token });
  expect(welcome.conn).toMatch(/^[0-9a-f]{16}$/);
  expect(welcome.heartbeatSec).toBe(20);
  expect(welcome.permissions).toEqual([{ filter: 'devices/+/telemetry/#', access: 'read' }]);
  expect(welcome.device).toBeUndefined();
});

it('keeps room in the listen queue for a fleet reconnecting at once after a restart', async () => {
  // Node's default backlog (511) overflows when thousands of agents reconnect together: their SYNs are
  // dropped and retried after 1, 3, 7 s, so handshakes time out. The kernel shows a listening socket's
  // backlog as its Send-Q, and caps it at net.core.somaxconn.
  const { stdout } = await run('ss', ['-ltnH', `sport = :${new URL(hub.url).port}`]);
  const backlog = Number(stdout.trim().split(/\s+/)[2]);
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  expect(backlog).toBe(Math.min(4096, somaxconn));
});
