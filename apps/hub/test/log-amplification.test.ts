/**
 * Issue 13, item 3: one client cannot flood the hub's log. Invalid frames and refused handshakes are
 * logged in full only up to a burst per interval, then summed up in one line; a connection that keeps
 * sending invalid frames is closed with 4008 after a tolerance.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, metric, refusal, startTestHubOnPostgres, type TestHub } from './hub-harness.js';

// A summary interval longer than any test: each test sees one interval, summed up when the hub closes.
let hub: TestHub;
let closed = false;
beforeEach(async () => {
  hub = await startTestHubOnPostgres({ logLevel: 'info', logSummarySec: 60, handshakeRatePerAddress: 5 });
  closed = false;
});
afterEach(async () => {
  if (!closed) await hub?.close();
});

async function closeHub(): Promise<void> {
  await hub.close();
  closed = true;
}

/** Log lines with this message written since `from` (an offset into the log text). */
function linesSince(from: number, message: string): Array<Record<string, unknown>> {
  return hub
    .logText()
    .slice(from)
    .split('\n')
    .filter((line) => line.includes(`"msg":"${message}`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('invalid frames', () => {
  it('answers the first 50, closes with 4008, and logs 10 lines and a summary instead of one line each', async () => {
    const reader = await hub.admin.addToken({ permissions: [{ filter: '#', access: 'read' }] });
    const { client } = await connect(hub, '/ws', { token: reader.token });
    const from = hub.logText().length;
    let sent = 0;
    while (sent < 10_000 && client.socket.readyState === client.socket.OPEN) {
      client.send('x');
      if (++sent % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await client.closed).code).toBe(4008);
    expect(client.frames.filter((f) => f.type === 'error' && f.code === 'invalid_frame')).toHaveLength(50);
    expect(await metric(hub, 'edgewire_policy_closes_total{cause="invalid_frames"}')).toBe(1);
    await closeHub();
    const full = linesSince(from, 'invalid frame"');
    expect(full).toHaveLength(10);
    expect(full[0]).toMatchObject({ level: 40, problem: 'frame is not valid JSON' });
    const [summary] = linesSince(from, 'invalid frame: ');
    expect(summary).toMatchObject({ suppressed: 41, keys: 1 });
    expect(linesSince(from, 'policy close')).toMatchObject([{ reason: 'too many invalid frames' }]);
  });

  it('writes a bounded log however often the attacker reconnects (under 48 KiB for 20,000 frames over 20 connections)', async () => {
    const reader = await hub.admin.addToken({ permissions: [{ filter: '#', access: 'read' }] });
    const from = hub.logText().length;
    let frames = 0;
    for (let c = 0; c < 20; c++) {
      // The handshake limit (5/s) is not what this test is about: wait for it like a patient attacker.
      const { client } = await admitted(() => connect(hub, '/ws', { token: reader.token }));
      for (let i = 0; i < 1000 && client.socket.readyState === client.socket.OPEN; i++, frames++)
        client.send('{');
      await client.closed;
    }
    await closeHub();
    const bytes = Buffer.byteLength(hub.logText().slice(from));
    // Before: one 143-byte warning per frame, 2.8 MiB here.
    expect(bytes).toBeLessThan(48 * 1024);
    expect(frames).toBeGreaterThan(1000);
  });
});

/** Retries `open` while the hub answers 429, as an attacker reconnecting in a loop would. */
async function admitted<T>(open: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await open();
    } catch (error) {
      if (!/429/.test(String(error))) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

describe('refused handshakes', () => {
  it('logs 10 refusals in full and sums up the rest per address, 401s and 429s alike', async () => {
    const from = hub.logText().length;
    const statuses = new Map<number, number>();
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let i = 0; i < 30; i++) {
          const { status } = await refusal(hub, '/ws', {
            token: `ewt_${randomBytes(32).toString('base64url')}`,
          });
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
    expect((statuses.get(401) ?? 0) + (statuses.get(429) ?? 0)).toBe(300);
    expect(statuses.get(429)).toBeGreaterThan(200);
    await closeHub();
    const full = linesSince(from, 'handshake refused"');
    const summaries = linesSince(from, 'handshake refused: ');
    expect(full).toHaveLength(10);
    expect(summaries).toMatchObject([
      { suppressed: 290, keys: 1, top: [{ address: '127.0.0.1', count: 290 }] },
    ]);
    const bytes = [...full, ...summaries].reduce((sum, line) => sum + JSON.stringify(line).length, 0);
    // Before: one ~225-byte line per refusal, 66 KiB here.
    expect(bytes).toBeLessThan(6 * 1024);
    expect(hub.logText().slice(from)).not.toContain('ewt_');
  });
});
