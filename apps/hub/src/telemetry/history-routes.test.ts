import { contains, historyResponseSchema, latestResponseSchema, type Permission } from '@edgewire/protocol';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DRIVERS, type TestDatabase } from '../../test/databases.js';
import { storeReadings } from '../../test/readings.js';
import type { Database } from '../storage/database.js';
import { migrate } from '../storage/migrate.js';
import { migrations } from '../storage/migrations/index.js';
import { historyRoutes } from './history-routes.js';

const T0 = Date.UTC(2026, 4, 1, 0, 0, 0);
const MIN = 60_000;

/**
 * The route plugin alone, behind a stand-in for the hub's token check (bearer tokens with MQTT-style
 * read grants): what is tested here is that the routes ask it, with the device's filter. The hub's real
 * check on these routes is tested in test/history-access.test.ts.
 */
const GRANTS: Record<string, Permission[]> = {
  'reader-of-pi-1': [{ filter: 'devices/pi-1/#', access: 'read' }],
  'reader-of-everything': [{ filter: '#', access: 'read' }],
  'reader-of-pi-9': [{ filter: 'devices/pi-9/#', access: 'read' }],
};

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

async function authorizeRead(request: FastifyRequest, filter: string): Promise<void> {
  const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
  const grants = token === undefined ? undefined : GRANTS[token];
  if (!grants) throw new HttpError(401, 'a client token is required');
  if (!grants.some((g) => contains(g.filter, filter)))
    throw new HttpError(403, `no read access to ${filter}`);
}

/** RFC 4180 parser, written independently of the hub's writer. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) throw new Error('CSV does not end with CRLF');
  return rows;
}

describe.each(DRIVERS)('history routes on %s', (driver) => {
  let testDb: TestDatabase;
  let database: Database;
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    testDb = await createTestDatabase(driver);
    database = await testDb.open();
    await migrate(database, migrations);
    const readings = [];
    for (let i = 0; i < 30; i++) {
      readings.push({ metric: 'temp', ts: T0 + i * 10_000, value: i, unit: 'deg "C", indoor' });
      readings.push({ metric: 'rpm', ts: T0 + i * 10_000 + 1, value: 1000 + i * 0.5 });
    }
    await storeReadings(database, [{ deviceId: 'pi-1', seq: 1, readings }]);
    app = Fastify();
    await app.register(historyRoutes, { database, authorizeRead });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
    await testDb?.drop();
  });

  const get = (path: string, token = 'reader-of-pi-1', accept = 'application/json') =>
    fetch(`${base}${path}`, {
      headers: { accept, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });

  const range = `from=${T0}&to=${T0 + 5 * MIN}`;

  it('returns bucketed series as JSON', async () => {
    const res = await get(`/api/devices/pi-1/readings?metric=temp&${range}&bucket=1m&agg=max`);
    expect(res.status).toBe(200);
    const body = historyResponseSchema.parse(await res.json());
    expect(body.series).toEqual([
      {
        metric: 'temp',
        unit: 'deg "C", indoor',
        points: [
          { t: T0, v: 5 },
          { t: T0 + MIN, v: 11 },
          { t: T0 + 2 * MIN, v: 17 },
          { t: T0 + 3 * MIN, v: 23 },
          { t: T0 + 4 * MIN, v: 29 },
        ],
      },
    ]);
  });

  it('answers Accept: text/csv with CSV holding the same points', async () => {
    const json = historyResponseSchema.parse(
      await (await get(`/api/devices/pi-1/readings?${range}&bucket=2m&agg=avg`)).json(),
    );
    const res = await get(
      `/api/devices/pi-1/readings?${range}&bucket=2m&agg=avg`,
      'reader-of-pi-1',
      'text/csv',
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const [header, ...rows] = parseCsv(await res.text());
    expect(header).toEqual(['time', 'metric', 'unit', 'avg']);
    const fromJson = json.series.flatMap((s) =>
      s.points.map((p) => [new Date(p.t).toISOString(), s.metric, s.unit ?? '', String(p.v)]),
    );
    expect(rows).toEqual(fromJson);
    expect(rows).toContainEqual([new Date(T0).toISOString(), 'temp', 'deg "C", indoor', '5.5']);
  });

  it('gives the latest value per metric', async () => {
    const res = await get('/api/devices/pi-1/latest');
    expect(res.status).toBe(200);
    expect(latestResponseSchema.parse(await res.json())).toEqual({
      device: 'pi-1',
      metrics: [
        { metric: 'rpm', t: T0 + 290_001, v: 1014.5, unit: null },
        { metric: 'temp', t: T0 + 290_000, v: 29, unit: 'deg "C", indoor' },
      ],
    });
  });

  it.each([
    ['metric=te%20mp', /^metric: /],
    ['from=yesterday', /^from: /],
    ['to=2026-13-01', /^to: /],
    [`from=${T0 + MIN}&to=${T0}`, /^from: must be earlier than to/],
    ['bucket=10x', /^bucket: /],
    [`${range}&bucket=1s&maxPoints=100`, /^bucket: 1s gives 300 points/],
    ['agg=median', /^agg: expected one of avg, min, max, last, count/],
    ['maxPoints=-3', /^maxPoints: /],
  ])('refuses %s with 400 naming the parameter', async (query, message) => {
    const res = await get(`/api/devices/pi-1/readings?${query}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(message);
  });

  it('refuses a malformed device id with 400', async () => {
    const res = await get('/api/devices/-bad/readings');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/^id: /);
  });

  it('needs a token with read access to the device', async () => {
    expect((await get('/api/devices/pi-1/readings', '')).status).toBe(401);
    expect((await get('/api/devices/pi-1/readings?agg=median', '')).status).toBe(401);
    expect((await get('/api/devices/pi-1/latest', 'unknown-token')).status).toBe(401);
    const denied = await get('/api/devices/pi-1/readings', 'reader-of-pi-9');
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ error: 403, message: 'no read access to devices/pi-1/#' });
    expect((await get('/api/devices/pi-1/latest', 'reader-of-pi-9')).status).toBe(403);
    expect((await get('/api/devices/pi-1/latest', 'reader-of-everything')).status).toBe(200);
  });
});
