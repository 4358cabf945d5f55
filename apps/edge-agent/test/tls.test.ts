/**
 * TLS to the hub: the agent trusts the CA named by `hub.ca`, and refuses a hub whose certificate another
 * CA signed, with an error line that says what to fix; it keeps retrying, as for any other failure.
 */
import { startHub } from '@edgewire/hub';
import {
  createTestDatabase,
  makeCertificates,
  type TestCertificates,
  type TestDatabase,
  waitFor,
} from '@edgewire/hub/test-support';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestConnection } from './support/test-connection.js';

let hubCerts: TestCertificates;
let otherCerts: TestCertificates;
let testDb: TestDatabase;
let hub: Awaited<ReturnType<typeof startHub>>;
let token: string;

beforeAll(async () => {
  hubCerts = await makeCertificates();
  otherCerts = await makeCertificates();
  testDb = await createTestDatabase('postgres');
  hub = await startHub({
    host: '127.0.0.1',
    port: 0,
    dataDir: undefined,
    databaseUrl: testDb.url,
    tlsCert: hubCerts.certFile,
    tlsKey: hubCerts.keyFile,
    logLevel: 'warn',
    logDestination: { write: () => undefined },
    env: {},
  });
  token = (await hub.admin.addDevice('tls-pi')).token;
}, 60_000);
afterAll(async () => {
  await hub?.close();
  await testDb?.drop();
  hubCerts?.remove();
  otherCerts?.remove();
});

function connectWith(ca: Buffer) {
  return startTestConnection({ hubUrl: hub.url, ca, deviceId: 'tls-pi', token });
}

it('connects over wss:// to a hub whose certificate the hub.ca CA signed', async () => {
  expect(hub.url).toMatch(/^https:/);
  const { connection, states } = connectWith(hubCerts.ca);
  try {
    await waitFor('CONNECTED', () => states.includes('CONNECTED'));
  } finally {
    await connection.close();
  }
});

it('refuses a hub certificate signed by another CA, saying so in an error line, and keeps retrying', async () => {
  const { connection, logs, states } = connectWith(otherCerts.ca);
  try {
    await waitFor('the refusal logged', () => logs.lines.some((l) => String(l.reason ?? '').includes('TLS')));
    const line = logs.lines.find((l) => String(l.reason ?? '').includes('TLS'))!;
    expect(line.level).toBe(50);
    expect(line.reason).toMatch(
      /^refused the hub's TLS certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\).*hub\.ca/,
    );
    expect(states).not.toContain('CONNECTED');
    expect(logs.text()).not.toContain(token);
  } finally {
    await connection.close();
  }
});
