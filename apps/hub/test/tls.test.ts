/** The hub serves HTTPS and WSS itself with EDGEWIRE_TLS_CERT/EDGEWIRE_TLS_KEY; a bad pair stops it with a named error. */
import { get } from 'node:https';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { startTestHub, type TestHub } from './hub-harness.js';
import { makeCertificates, type TestCertificates } from './tls.js';

let certs: TestCertificates;
let testDb: TestDatabase;
let hub: TestHub;

beforeAll(async () => {
  certs = await makeCertificates();
  testDb = await createTestDatabase('postgres');
  hub = await startTestHub({ databaseUrl: testDb.url, tlsCert: certs.certFile, tlsKey: certs.keyFile });
}, 60_000);
afterAll(async () => {
  await hub?.close();
  await testDb?.drop();
  certs?.remove();
});

const fetchStatus = (url: string, ca?: Buffer) =>
  new Promise<number>((resolve, reject) => {
    get(url, ca ? { ca } : {}, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).once('error', reject);
  });

it('serves HTTPS and WSS with the configured certificate', async () => {
  expect(hub.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  expect(await fetchStatus(`${hub.url}/healthz`, certs.ca)).toBe(200);
  const device = await hub.admin.addDevice('tls-1');
  const socket = new WebSocket(`${hub.url.replace(/^https/, 'wss')}/ws/device/tls-1`, {
    ca: certs.ca,
    headers: { authorization: `Bearer ${device.token}` },
  });
  const welcome = await new Promise<string>((resolve, reject) => {
    socket.once('message', (data) => resolve(data.toString()));
    socket.once('error', reject);
  });
  expect(JSON.parse(welcome)).toMatchObject({ type: 'welcome', device: 'tls-1' });
  socket.close();
});

it('is refused by a client that does not trust its CA', async () => {
  await expect(fetchStatus(`${hub.url}/healthz`)).rejects.toMatchObject({
    code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  });
});

it('names the missing half of a certificate and key pair', () => {
  expect(() => loadConfig({ EDGEWIRE_TLS_CERT: '/etc/hub.crt' })).toThrow(/^EDGEWIRE_TLS_KEY: required too/);
});

it('names the setting whose file cannot be read', async () => {
  await expect(startTestHub({ tlsCert: '/nonexistent/hub.crt', tlsKey: certs.keyFile })).rejects.toThrow(
    'EDGEWIRE_TLS_CERT: cannot read /nonexistent/hub.crt (ENOENT)',
  );
});
