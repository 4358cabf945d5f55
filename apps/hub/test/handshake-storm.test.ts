/**
 * A fleet reconnecting at once (after a hub restart, every device at the same moment): the hub answers
 * the storm with far fewer database statements than handshakes, because the token lookups, token
 * touches, device records and metric lookups of the handshakes in progress go as one statement each.
 * Every device still ends up connected, online and recorded; a revoked or unknown token in the storm is
 * still refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DRIVERS } from './databases.js';
import { connect, refusal, startTestHub, startTestHubOnPostgres, type TestHub } from './hub-harness.js';
import { waitFor } from './wait.js';

const FLEET = 200;

/** Opens a device's WebSocket; resolves once the hub's `welcome` arrived. */
function welcomed(hub: TestHub, deviceId: string, token: string): Promise<WebSocket> {
  const socket = new WebSocket(hub.wsUrl(`/ws/device/${deviceId}`), {
    headers: { authorization: `Bearer ${token}` },
  });
  return new Promise((resolve, reject) => {
    socket.once('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string };
      if (frame.type === 'welcome') resolve(socket);
      else reject(new Error(`first frame was ${frame.type}`));
    });
    socket.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

describe.each(DRIVERS)('a handshake storm on %s', (driver) => {
  let hub: TestHub | undefined;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await hub?.close();
    hub = undefined;
  });

  it('is answered with far fewer statements than handshakes, every device online and recorded', async () => {
    let statements = 0;
    // All of them checked at once (the admission's cap would answer some 429, to come back later).
    const options = { onStatement: () => statements++, handshakesPending: 1000 };
    hub = driver === 'pglite' ? await startTestHub(options) : await startTestHubOnPostgres(options);
    const started = hub;
    const fleet = [];
    for (let i = 0; i < FLEET; i++) fleet.push(await started.admin.addDevice(`storm-${i}`));
    const revoked = await started.admin.addDevice('revoked');
    const [revokedToken] = await started.database.rows<{ id: string }>(
      `select id from tokens where device_id = 'revoked'`,
    );
    await started.admin.revokeToken(revokedToken!.id);
    const reader = await started.admin.addToken({
      permissions: [{ filter: 'devices/+/status', access: 'read' }],
    });

    const before = statements;
    const [connected, refusedRevoked, refusedUnknown] = await Promise.all([
      Promise.all(fleet.map((d) => welcomed(started, d.id, d.token))),
      refusal(started, '/ws/device/revoked', { token: revoked.token }),
      refusal(started, '/ws/device/storm-0', { token: `ewt_${'u'.repeat(43)}` }),
    ]);
    sockets.push(...connected);
    expect(refusedRevoked.status).toBe(403);
    expect(refusedUnknown.status).toBe(401);

    // What the handshakes record lands in the database too (each poll is a statement of the test's own).
    let polls = 0;
    await waitFor('every device recorded as seen from its address', async () => {
      polls++;
      const [row] = await started.database.rows<{ n: number }>(
        `select count(*)::int as n from devices
         where id like 'storm-%' and last_seen_at is not null and last_address is not null`,
      );
      return row?.n === FLEET;
    });
    const [touched] = await started.database.rows<{ n: number }>(
      `select count(*)::int as n from tokens where device_id like 'storm-%' and last_used_at is not null`,
    );
    polls++;
    expect(touched?.n).toBe(FLEET);
    const handshakes = FLEET + 2;
    // One statement per handshake each for the token, its use, the device and its metrics, before.
    expect(statements - before - polls).toBeLessThanOrEqual(handshakes / 4);

    // Every device is online (retained presence), as an operator's client sees it.
    const { client } = await connect(started, '/ws', { token: reader.token, topics: 'devices/+/status' });
    const online = new Set<string>();
    await waitFor('the presence of every device', async () => {
      for (const frame of client.frames.splice(0)) {
        if (frame.type === 'msg' && (frame.payload as { online?: boolean }).online === true) {
          online.add(frame.topic.split('/')[1]!);
        }
      }
      return online.size === FLEET;
    });
    expect(online.has('revoked')).toBe(false);
    client.close();
  });
});
