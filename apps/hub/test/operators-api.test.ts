/**
 * The operators' HTTP API (SPEC "Operators' HTTP API"): authorization from the route table, each
 * route's happy path and bad input, ETags and 412, the audit log, live `$admin` events, and operators
 * whose removal or downgrade closes their WebSockets.
 */
import {
  adminEventSchema,
  clientTokenViewSchema,
  deviceViewSchema,
  pageViewersSchema,
  viewerTopics,
} from '@edgewire/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from './api-client.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { connect, refusal, startTestHub, type TestHub } from './hub-harness.js';
import { closedWithin } from './wait.js';

const PASSWORD = 'correct horse battery';

let testDb: TestDatabase;
let hub: TestHub;
let admin: ApiClient;
let viewer: ApiClient;
let script: ApiClient;

beforeAll(async () => {
  testDb = await createTestDatabase('postgres');
  hub = await startTestHub({
    databaseUrl: testDb.url,
    passwordScryptLog2N: 15,
    // The route walk calls every route anonymously from one address: the /api guard's per-address
    // budgets (tested in http-abuse.test.ts) would answer 429 before access control is reached.
    apiRatePerAddress: 100_000,
    apiAuthFailuresPerMinute: 100_000,
  });
  await hub.admin.addUser('ada', 'admin', PASSWORD);
  await hub.admin.addUser('vic', 'viewer', PASSWORD);
  admin = new ApiClient(hub.url);
  viewer = new ApiClient(hub.url);
  expect((await admin.signIn('ada', PASSWORD)).status).toBe(200);
  expect((await viewer.signIn('vic', PASSWORD)).status).toBe(200);
  script = new ApiClient(hub.url, (await hub.admin.addApiToken('ci')).token);
});
afterAll(async () => {
  await hub?.close();
  await testDb?.drop();
});

/** A route's path with its parameters filled in. */
function concrete(url: string): string {
  return url
    .replace(':deviceId', 'no-such-device')
    .replace(':id', 'tok_nosuch')
    .replace(':name', 'nobody')
    .replace(':conn', '0123456789abcdef')
    .replace('*', 'index.html');
}

describe('authorization from the route table', () => {
  it('answers an anonymous caller 401 on every route but sign-in and the health routes', async () => {
    const routes = hub.app.declaredRoutes().filter((r) => r.method !== 'HEAD');
    expect(routes.length).toBeGreaterThan(25);
    const anonymous = new ApiClient(hub.url);
    const open = new Set(['POST /api/session', 'GET /healthz', 'GET /readyz', 'GET /metrics']);
    for (const route of routes) {
      const key = `${route.method} ${route.url}`;
      const status = route.websocket
        ? (await refusal(hub, concrete(route.url))).status
        : (
            await anonymous.call(route.method, concrete(route.url), {
              body: route.method === 'GET' ? undefined : {},
            })
          ).status;
      // The dashboard's files (index.html, hashed assets) are public: the app asks for a session itself.
      const webApp = route.method === 'GET' && !/^\/(api|ws)(\/|$)/.test(route.url);
      if (open.has(key) || webApp) expect(status, key).not.toBe(401);
      else expect(status, key).toBe(401);
    }
  });

  it('answers a viewer 403 on every state-changing route', async () => {
    const changing = hub.app
      .declaredRoutes()
      .filter((r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method) && r.url !== '/api/session');
    expect(changing.length).toBeGreaterThan(10);
    for (const route of changing) {
      const answer = await viewer.call(route.method, concrete(route.url), { body: {} });
      expect(answer.status, `${route.method} ${route.url}`).toBe(403);
      expect(answer.body).toMatchObject({ error: 403 });
    }
    // The viewer still reads.
    expect((await viewer.call('GET', '/api/devices')).status).toBe(200);
  });

  it('gives an admin API token an admin’s rights, but not the CLI’s (minting admin tokens)', async () => {
    expect((await script.call('GET', '/api/users', { origin: null })).status).toBe(200);
    expect((await script.call('POST', '/api/apitokens', { body: { name: 'x' }, origin: null })).status).toBe(
      403,
    );
    expect((await new ApiClient(hub.url, 'ewa_forged').call('GET', '/api/users')).status).toBe(401);
  });
});

describe('devices', () => {
  it('adds, lists with labels and presence, edits with If-Match, rotates and deletes', async () => {
    const added = await script.call('POST', '/api/devices', {
      body: { id: 'pump-1', name: 'Pump 1', labels: { site: 'north', kind: 'pump' } },
    });
    expect(added.status).toBe(201);
    expect(added.body.token).toMatch(/^ewt_/);
    await script.call('POST', '/api/devices', { body: { id: 'fan-1', labels: { site: 'south' } } });

    const pi = (
      await connect(hub, '/ws/device/pump-1', {
        token: added.body.token,
        headers: { 'user-agent': 'edgewire-agent/1.2.3' },
      })
    ).client;
    pi.send({ type: 'telemetry', seq: 1, readings: [{ metric: 'flow', value: 3.5, ts: Date.now() }] });
    await pi.nextOfType('ack');

    const north = await viewer.call('GET', '/api/devices?label=site=north');
    expect(north.body.devices.map((d: { id: string }) => d.id)).toEqual(['pump-1']);
    const device = deviceViewSchema.parse(north.body.devices[0]);
    expect(device).toMatchObject({ name: 'Pump 1', online: true, version: 1 });
    // Recorded beside the connection, not in its way: it may land a moment after the welcome.
    await expect
      .poll(async () => {
        const { address, agentVersion } = (await viewer.call('GET', '/api/devices/pump-1')).body;
        return { address, agentVersion };
      })
      .toEqual({ address: '127.0.0.1', agentVersion: '1.2.3' });
    expect(device.latest).toEqual([expect.objectContaining({ metric: 'flow', v: 3.5 })]);
    expect((await viewer.call('GET', '/api/devices?label=kind')).body.devices).toHaveLength(1);
    expect(
      (await viewer.call('GET', '/api/devices?online=false')).body.devices.map((d: { id: string }) => d.id),
    ).toEqual(['fan-1']);

    const one = await viewer.call('GET', '/api/devices/pump-1');
    expect(one.headers.get('etag')).toBe('"1"');
    const edited = await admin.call('PATCH', '/api/devices/pump-1', {
      body: { description: 'basement' },
      headers: { 'if-match': '"1"' },
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ name: 'Pump 1', description: 'basement', version: 2 });
    expect(edited.headers.get('etag')).toBe('"2"');
    // A second window still holding version 1 does not overwrite: 412 with the current device.
    const stale = await admin.call('PATCH', '/api/devices/pump-1', {
      body: { description: 'attic' },
      headers: { 'if-match': '"1"' },
    });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('etag')).toBe('"2"');
    expect(stale.body).toMatchObject({ error: 412, current: { description: 'basement', version: 2 } });

    const rotated = await admin.call('POST', '/api/devices/pump-1/token');
    expect(rotated.status).toBe(201);
    expect(await closedWithin(pi.closed, 1000)).toBe(4003);
    expect((await refusal(hub, '/ws/device/pump-1', { token: added.body.token })).status).toBe(401);
    const again = (await connect(hub, '/ws/device/pump-1', { token: rotated.body.token })).client;

    expect((await admin.call('DELETE', '/api/devices/pump-1')).status).toBe(204);
    expect(await closedWithin(again.closed, 1000)).toBe(4003);
    expect((await admin.call('GET', '/api/devices/pump-1')).status).toBe(404);
    expect((await admin.call('DELETE', '/api/devices/pump-1')).status).toBe(404);
  });

  it('names the field of bad input and refuses duplicates', async () => {
    const cases: Array<[string, string, unknown, RegExp]> = [
      ['POST', '/api/devices', { id: 'bad id!' }, /^id: /],
      ['POST', '/api/devices', { id: 'ok-1', labels: { 'bad key!': 'x' } }, /^labels\.bad key!: |^labels: /],
      ['POST', '/api/devices', { id: 'ok-1', name: '' }, /^name: /],
      ['PATCH', '/api/devices/fan-1', { colour: 'red' }, /colour|body/],
      ['GET', '/api/devices?online=maybe', undefined, /^online: /],
    ];
    for (const [method, path, body, message] of cases) {
      const answer = await admin.call(method, path, { body });
      expect(answer.status, path).toBe(400);
      expect(answer.body.message, JSON.stringify(body)).toMatch(message);
    }
    expect((await admin.call('POST', '/api/devices', { body: { id: 'fan-1' } })).status).toBe(409);
    const malformed = await fetch(`${hub.url}/api/devices`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: admin.cookie!, origin: hub.url },
      body: '{"id":',
    });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { message: string }).message).toMatch(/^body: /);
    expect(
      (await admin.call('PATCH', '/api/devices/fan-1', { body: {}, headers: { 'if-match': 'soon' } })).status,
    ).toBe(400);
  });
});

describe('client tokens', () => {
  it('lists without secrets, edits with If-Match (closing live connections), revokes', async () => {
    const added = await admin.call('POST', '/api/tokens', {
      body: {
        name: 'wall display',
        permissions: [{ filter: 'devices/#', access: 'read' }],
        maxConnections: 3,
      },
    });
    expect(added.status).toBe(201);
    const { id, token } = added.body;
    const list = await admin.call('GET', '/api/tokens');
    expect(JSON.stringify(list.body)).not.toContain(token);
    const view = clientTokenViewSchema.parse(list.body.tokens.find((t: { id: string }) => t.id === id));
    expect(view).toMatchObject({ name: 'wall display', maxConnections: 3, revokedAt: null, version: 1 });

    const display = (await connect(hub, '/ws', { token, topics: 'devices/#' })).client;
    const edited = await admin.call('PATCH', `/api/tokens/${id}`, {
      body: { permissions: [{ filter: 'devices/pump-1/#', access: 'read' }], maxConnections: null },
      headers: { 'if-match': '"1"' },
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ name: 'wall display', maxConnections: null, version: 2 });
    expect(await closedWithin(display.closed, 1000)).toBe(4003);
    expect(
      (
        await admin.call('PATCH', `/api/tokens/${id}`, {
          body: { name: 'x' },
          headers: { 'if-match': '"1"' },
        })
      ).status,
    ).toBe(412);

    const bad = await admin.call('POST', '/api/tokens', {
      body: { permissions: [{ filter: 'a/#/b', access: 'read' }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^permissions\.0\.filter: /);
    expect(
      (await admin.call('PATCH', `/api/tokens/${id}`, { body: { expiresAt: 'tomorrow' } })).body.message,
    ).toMatch(/^expiresAt: /);

    expect((await admin.call('DELETE', `/api/tokens/${id}`)).status).toBe(204);
    expect((await admin.call('GET', `/api/tokens/${id}`)).body.revokedAt).not.toBeNull();
    expect((await admin.call('DELETE', '/api/tokens/tok_nosuch')).status).toBe(404);
  });
});

describe('live connections', () => {
  it('lists who is connected, from where, since when, subscriptions and bytes; kicks one', async () => {
    const issued = await hub.admin.addToken({ permissions: [{ filter: 'plant/#', access: 'read' }] });
    const watcher = (await connect(hub, '/ws', { token: issued.token, topics: 'plant/#' })).client;
    const list = await viewer.call('GET', '/api/connections');
    const mine = list.body.connections.find((c: { tokenId: string }) => c.tokenId === issued.id);
    expect(mine).toMatchObject({ kind: 'client', address: '127.0.0.1', subscriptions: ['plant/#'] });
    expect(mine.bytesOut).toBeGreaterThan(0);
    expect((await viewer.call('DELETE', `/api/connections/${mine.conn}`)).status).toBe(403);
    expect((await admin.call('DELETE', `/api/connections/${mine.conn}`)).status).toBe(204);
    expect(await closedWithin(watcher.closed, 1000)).toBe(4008);
    expect((await admin.call('DELETE', `/api/connections/${mine.conn}`)).status).toBe(404);
  });
});

describe('operators', () => {
  it('adds, changes role, removes; keeps the last admin; never shows a password', async () => {
    const added = await admin.call('POST', '/api/users', {
      body: { name: 'olga', role: 'viewer', password: PASSWORD },
    });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ name: 'olga', role: 'viewer', createdAt: expect.any(String), version: 1 });
    expect(
      (await admin.call('POST', '/api/users', { body: { name: 'olga', role: 'viewer', password: PASSWORD } }))
        .status,
    ).toBe(409);
    const short = await admin.call('POST', '/api/users', {
      body: { name: 'pat', role: 'viewer', password: 'short' },
    });
    expect(short.status).toBe(400);
    expect(short.body.message).toBe('password: must be at least 12 characters');
    const role = await admin.call('POST', '/api/users', {
      body: { name: 'pat', role: 'root', password: PASSWORD },
    });
    expect(role.body.message).toMatch(/^role: /);
    const list = await admin.call('GET', '/api/users');
    expect(JSON.stringify(list.body)).not.toContain('scrypt');
    expect((await admin.call('PATCH', '/api/users/olga', { body: { role: 'admin' } })).body).toMatchObject({
      role: 'admin',
      version: 2,
    });
    expect((await admin.call('DELETE', '/api/users/olga')).status).toBe(204);
    // ada is the last admin (the script's token is not an operator).
    const last = await admin.call('DELETE', '/api/users/ada');
    expect(last.status).toBe(409);
    expect((await admin.call('PATCH', '/api/users/ada', { body: { role: 'viewer' } })).status).toBe(409);
  });

  it('ends the sessions and closes the WebSockets (4003) of an operator who is removed or downgraded', async () => {
    await hub.admin.addUser('tmp-admin', 'admin', PASSWORD);
    await hub.admin.addUser('tmp-viewer', 'viewer', PASSWORD);
    const downgraded = new ApiClient(hub.url);
    await downgraded.signIn('tmp-admin', PASSWORD);
    const removed = new ApiClient(hub.url);
    await removed.signIn('tmp-viewer', PASSWORD);
    const sockets = [await downgraded.socket(), await removed.socket()];
    const started = Date.now();
    await admin.call('PATCH', '/api/users/tmp-admin', { body: { role: 'viewer' } });
    await admin.call('DELETE', '/api/users/tmp-viewer');
    for (const socket of sockets) expect(await closedWithin(socket.closed, 1000)).toBe(4003);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await downgraded.call('GET', '/api/session')).status).toBe(401);
    expect((await removed.call('GET', '/api/session')).status).toBe(401);
  });

  it('lets operators read every topic over /ws, and admins (only) send commands', async () => {
    const device = await hub.admin.addDevice('valve-1');
    const valve = (await connect(hub, '/ws/device/valve-1', { token: device.token })).client;
    const seen = await viewer.socket({ topics: 'devices/valve-1/#' });
    const boss = await admin.socket();
    seen.send({ type: 'pub', id: 1, topic: 'devices/valve-1/cmd/open', payload: {} });
    expect(await seen.nextOfType('error')).toMatchObject({ code: 'forbidden', ref: 1 });
    boss.send({ type: 'pub', id: 2, topic: 'devices/valve-1/cmd/open', payload: { pct: 50 } });
    expect(await boss.nextOfType('ack')).toMatchObject({ ref: 2 });
    expect(await valve.nextOfType('msg')).toMatchObject({
      topic: 'devices/valve-1/cmd/open',
      payload: { pct: 50 },
    });
    boss.send({ type: 'pub', id: 3, topic: '$admin/devices/valve-1', payload: 'forged' });
    expect(await boss.nextOfType('error')).toMatchObject({ code: 'forbidden', ref: 3 });
    for (const c of [valve, seen, boss]) c.close();
  });
});

describe('who is looking at a device page', () => {
  it('tells each operator on the page who is there, each once, and forgets a window that closes', async () => {
    const topic = viewerTopics.device('watched');
    type Client = Awaited<ReturnType<ApiClient['socket']>>;
    /** Reads the page's viewer lists until `expected` (the retained one may come before an update). */
    const becomes = async (client: Client, expected: string[]) => {
      for (;;) {
        const message = await client.nextOfType('msg');
        expect(message.topic).toBe(topic);
        const list = message.payload === null ? [] : pageViewersSchema.parse(message.payload).viewers;
        if (JSON.stringify(list.map((v) => v.name)) === JSON.stringify(expected)) return;
      }
    };
    const ada = await admin.socket({ topics: topic });
    await becomes(ada, ['ada']);
    const vic = await viewer.socket({ topics: topic });
    await becomes(ada, ['ada', 'vic']);
    await becomes(vic, ['ada', 'vic']);
    // A second window of the same operator adds no name, and its leaving removes none: nothing is sent.
    const again = await viewer.socket();
    again.send({ type: 'sub', id: 1, filters: [topic] });
    expect(await again.nextOfType('ack')).toMatchObject({ ref: 1 });
    await becomes(again, ['ada', 'vic']);
    again.send({ type: 'unsub', id: 2, filters: [topic] });
    expect(await again.nextOfType('ack')).toMatchObject({ ref: 2 });
    vic.close();
    const next = await ada.nextOfType('msg');
    expect(pageViewersSchema.parse(next.payload).viewers.map((v) => v.name)).toEqual(['ada']);
    again.close();
    ada.close();
    // Nobody looking: the retained list is cleared, so a window opening later starts with itself alone.
    const later = await viewer.socket({ topics: topic });
    await becomes(later, ['vic']);
    later.close();
  });
});

describe('audit log and live admin events', () => {
  it('shows a change to a second operator window at once, and records it in the audit log', async () => {
    const second = await viewer.socket({ topics: '$admin/#' });
    await admin.call('POST', '/api/devices', { body: { id: 'audited', name: 'Audited' } });
    const created = await second.nextOfType('msg');
    expect(created.topic).toBe('$admin/devices/audited');
    expect(adminEventSchema.parse(created.payload)).toMatchObject({
      resource: 'device',
      action: 'created',
      by: 'user:ada',
    });
    await script.call('PATCH', '/api/devices/audited', { body: { labels: { room: '12' } } });
    expect((await second.nextOfType('msg')).payload).toMatchObject({
      action: 'updated',
      version: 2,
      by: expect.stringMatching(/^apitoken:/),
    });
    second.close();

    const page = await admin.call('GET', '/api/audit?target=device:audited');
    expect(page.body.entries.map((e: { action: string }) => e.action)).toEqual(['device.edit', 'device.add']);
    expect(page.body.entries[1]).toMatchObject({
      actor: 'user:ada',
      address: '127.0.0.1',
      details: { name: 'Audited' },
    });
    const all = await admin.call('GET', '/api/audit?limit=2');
    expect(all.body.entries).toHaveLength(2);
    const older = await admin.call('GET', `/api/audit?limit=2&before=${all.body.next}`);
    expect(older.body.entries[0].id).toBeLessThan(all.body.entries[1].id);
    const signIns = await admin.call('GET', '/api/audit?action=session.signin');
    expect(signIns.body.entries.length).toBeGreaterThan(0);
    // Never a secret: no token and no password anywhere in the log.
    const everything = await hub.database.rows('select * from audit_log');
    expect(JSON.stringify(everything)).not.toMatch(/ewt_|ewa_|scrypt|correct horse/);
    expect((await admin.call('GET', '/api/audit?limit=0')).body.message).toMatch(/^limit: /);
    expect((await viewer.call('GET', '/api/audit')).status).toBe(403);
  });
});

describe('OpenAPI documentation', () => {
  it('documents every route of /api from the schemas, with a browsable UI served by the hub', async () => {
    const spec = await admin.call('GET', '/api/docs/json');
    expect(spec.status).toBe(200);
    expect(spec.body.openapi).toMatch(/^3\./);
    const documented = new Set(
      Object.entries(spec.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
        Object.keys(methods).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      ),
    );
    const apiRoutes = hub.app
      .declaredRoutes()
      .filter((r) => r.url.startsWith('/api/') && !r.url.startsWith('/api/docs') && r.method !== 'HEAD');
    for (const route of apiRoutes)
      expect(documented, `${route.method} ${route.url}`).toContain(`${route.method} ${route.url}`);
    // Generated from the zod schemas: the sign-in body and the device view carry their fields.
    const signIn = spec.body.paths['/api/session'].post;
    expect(Object.keys(signIn.requestBody.content['application/json'].schema.properties)).toEqual([
      'name',
      'password',
    ]);
    expect(
      Object.keys(
        spec.body.paths['/api/devices/{id}'].get.responses['200'].content['application/json'].schema
          .properties,
      ),
    ).toContain('labels');

    const ui = await admin.call('GET', '/api/docs/');
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toMatch(/text\/html/);
    expect(String(ui.body)).not.toMatch(/https?:\/\/(cdn|unpkg)/);
    expect((await new ApiClient(hub.url).call('GET', '/api/docs/json')).status).toBe(401);
  });
});
