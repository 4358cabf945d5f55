/**
 * Operators signing in (SPEC "Operators' HTTP API"): server-side sessions in an HttpOnly, SameSite
 * cookie, sign-out everywhere, throttling with growing delays then 429, the same answer and about the
 * same time for an unknown name as for a wrong password, idle and absolute expiry, and CSRF / CSWSH
 * refusals for cookie requests from a foreign or missing Origin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, closedWithin } from './api-client.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { refusal, startTestHub, type TestHub } from './hub-harness.js';

const PASSWORD = 'correct horse battery';

let testDb: TestDatabase;
let hub: TestHub;

beforeAll(async () => {
  testDb = await createTestDatabase('postgres');
  hub = await startTestHub({
    databaseUrl: testDb.url,
    // Each test request names its own client address, so the per-address count stays out of the way.
    trustProxy: true,
    passwordScryptLog2N: 15,
    signInMaxFailures: 4,
    signInLockoutSec: 30,
  });
  await hub.admin.addUser('ada', 'admin', PASSWORD);
  await hub.admin.addUser('vic', 'viewer', PASSWORD);
});
afterAll(async () => {
  await hub?.close();
  await testDb?.drop();
});

let address = 0;
/** A client from an address of its own (X-Forwarded-For, trusted by this hub). */
function client(): { api: ApiClient; from: Record<string, string> } {
  address++;
  return {
    api: new ApiClient(hub.url),
    from: { 'x-forwarded-for': `10.1.${address >> 8}.${address & 255}` },
  };
}

describe('sign-in and sign-out', () => {
  it('signs in with a session cookie that is HttpOnly, SameSite=Strict and holds only a random id', async () => {
    const { api, from } = client();
    const answer = await api.signIn('ada', PASSWORD, { headers: from });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ name: 'ada', role: 'admin' });
    const cookie = answer.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^edgewire_session=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    expect(cookie).not.toContain('Secure');
    expect(cookie).not.toContain(PASSWORD);
    // Only a hash of the cookie's secret is stored.
    const secret = api.cookie!.split('=')[1]!;
    const rows = await hub.database.rows('select * from sessions');
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect((await api.call('GET', '/api/session')).body).toMatchObject({ name: 'ada', role: 'admin' });
  });

  it('marks the cookie Secure (with the __Host- prefix) when the browser came over TLS', async () => {
    const { api, from } = client();
    const answer = await api.signIn('ada', PASSWORD, {
      headers: { ...from, 'x-forwarded-proto': 'https' },
      origin: hub.url.replace(/^http:/, 'https:'),
    });
    expect(answer.headers.get('set-cookie')).toMatch(/^__Host-edgewire_session=.*; Secure$/);
  });

  it('answers a wrong password and an unknown name alike: 401, same message, no cookie', async () => {
    const wrong = await client().api.signIn('ada', 'not the password', { headers: client().from });
    const unknown = await client().api.signIn('nobody', 'not the password', { headers: client().from });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    expect(wrong.body).toEqual({ error: 401, message: 'name or password is wrong' });
    expect(wrong.headers.get('set-cookie')).toBeNull();
  });

  it('takes about as long for an unknown name as for a wrong password (a key is derived all the same)', async () => {
    const timings = { known: [] as number[], unknown: [] as number[] };
    for (let i = 0; i < 5; i++) {
      // Fresh names and addresses, so that no throttling delay is part of what is measured.
      await hub.admin.addUser(`timing${i}`, 'viewer', PASSWORD);
      timings.known.push(
        (await client().api.signIn(`timing${i}`, 'wrong password!', { headers: client().from })).ms,
      );
      timings.unknown.push(
        (await client().api.signIn(`ghost${i}`, 'wrong password!', { headers: client().from })).ms,
      );
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[2]!;
    const known = median(timings.known);
    const unknown = median(timings.unknown);
    // Without the key derivation an unknown name would answer in a fraction of the time of one scrypt.
    expect(unknown).toBeGreaterThan(known * 0.5);
    expect(unknown).toBeLessThan(known * 2);
  });

  it('signs out: the session ends and the cookie no longer works', async () => {
    const { api, from } = client();
    await api.signIn('vic', PASSWORD, { headers: from });
    const kept = api.cookie;
    const out = await api.call('DELETE', '/api/session');
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    api.cookie = kept;
    expect((await api.call('GET', '/api/session')).status).toBe(401);
  });

  it('ends the live WebSockets of a session that signs out (4003)', async () => {
    const { api, from } = client();
    await api.signIn('vic', PASSWORD, { headers: from });
    const socket = await api.socket();
    await api.call('DELETE', '/api/session');
    expect(await closedWithin(socket.closed, 1000)).toBe(4003);
  });

  it('refuses sign-in from a foreign page (login CSRF) but accepts scripts without an Origin', async () => {
    const { api, from } = client();
    expect(
      (await api.signIn('ada', PASSWORD, { headers: from, origin: 'https://evil.example' })).status,
    ).toBe(403);
    expect((await api.signIn('ada', PASSWORD, { headers: from, origin: null })).status).toBe(200);
  });

  it('names the field of a malformed sign-in', async () => {
    const { api, from } = client();
    const answer = await api.call('POST', '/api/session', { headers: from, body: { name: 'ada' } });
    expect(answer.status).toBe(400);
    expect(answer.body.message).toMatch(/^password: /);
  });
});

describe('brute-force throttling', () => {
  it('delays each failure longer than the one before, then refuses with 429 and Retry-After', async () => {
    await hub.admin.addUser('target', 'viewer', PASSWORD);
    const durations: number[] = [];
    for (let i = 0; i < 4; i++) {
      const answer = await client().api.signIn('target', `guess number ${i}`, { headers: client().from });
      expect(answer.status).toBe(401);
      durations.push(answer.ms);
    }
    // Failures 3 and 4 are held back 250 ms and 500 ms.
    expect(durations[2]).toBeGreaterThanOrEqual(250);
    expect(durations[3]).toBeGreaterThanOrEqual(500);
    const locked = await client().api.signIn('target', PASSWORD, { headers: client().from });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(30);
    // Other names are not affected.
    expect((await client().api.signIn('ada', PASSWORD, { headers: client().from })).status).toBe(200);
  });

  it('throttles one address guessing many names', async () => {
    const from = { 'x-forwarded-for': '10.99.0.1' };
    const api = new ApiClient(hub.url);
    let status = 0;
    let retryAfter: string | null = null;
    // An address gets three times a name's limit (4): the 13th attempt is refused.
    for (let i = 0; i < 13 && status !== 429; i++) {
      const answer = await api.signIn(`name${i}`, 'guess', { headers: from });
      status = answer.status;
      retryAfter = answer.headers.get('retry-after');
    }
    expect(status).toBe(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  }, 60_000);
});

describe('cross-site safety', () => {
  it('refuses a state-changing cookie request without an allowed Origin (CSRF), not a Bearer one', async () => {
    const { api, from } = client();
    await api.signIn('ada', PASSWORD, { headers: from });
    const body = { id: 'csrf-pi' };
    for (const origin of [null, 'https://evil.example', 'null']) {
      const answer = await api.call('POST', '/api/devices', { body, origin, headers: from });
      expect(answer.status).toBe(403);
      expect(answer.body.message).toMatch(/^Origin: /);
    }
    expect((await api.call('POST', '/api/devices', { body, headers: from })).status).toBe(201);
    // Reading is not a change: no Origin needed.
    expect((await api.call('GET', '/api/devices', { origin: null, headers: from })).status).toBe(200);
  });

  it('refuses /ws with the cookie from a foreign or missing Origin (403, before the upgrade)', async () => {
    const { api, from } = client();
    await api.signIn('vic', PASSWORD, { headers: from });
    const foreign = await refusal(hub, '/ws', {
      headers: { cookie: api.cookie!, origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    const missing = await refusal(hub, '/ws', { headers: { cookie: api.cookie! } });
    expect(missing.status).toBe(403);
    expect(
      (
        await refusal(hub, '/ws', {
          headers: { cookie: 'edgewire_session=x'.padEnd(60, 'x'), origin: hub.url },
        })
      ).status,
    ).toBe(401);
    const socket = await api.socket();
    socket.close();
  });
});

describe('session expiry', () => {
  let short: TestHub;
  beforeAll(async () => {
    short = await startTestHub({
      databaseUrl: testDb.url,
      passwordScryptLog2N: 15,
      sessionIdleSec: 1,
      sessionMaxSec: 3,
    });
  });
  afterAll(async () => {
    await short?.close();
  });

  it('ends a session left idle', async () => {
    const api = new ApiClient(short.url);
    await api.signIn('vic', PASSWORD);
    expect((await api.call('GET', '/api/session')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await api.call('GET', '/api/session')).status).toBe(401);
  });

  it('ends a session at its absolute expiry, closing its WebSocket with 4003', async () => {
    const api = new ApiClient(short.url);
    const signedIn = await api.signIn('vic', PASSWORD);
    const expiresAt = Date.parse(signedIn.body.expiresAt);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(3000);
    const socket = await api.socket();
    expect(await closedWithin(socket.closed, 4000)).toBe(4003);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt - 50);
  });
});
