import { sleep, waitFor } from '@edgewire/hub/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import type { HubConnectionOptions } from '../src/connection/hub-connection.js';
import { type Answer, startScriptedHub, welcome } from './support/scripted-hub.js';
import { startTestConnection } from './support/test-connection.js';

const TOKEN = 'tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(script: (attempt: number) => Answer, options: Partial<HubConnectionOptions> = {}) {
  const hub = await startScriptedHub(script);
  cleanups.push(() => hub.close());
  const { connection, logs, states } = startTestConnection({
    hubUrl: hub.url,
    deviceId: 'pi-1',
    token: TOKEN,
    ...options,
  });
  cleanups.push(() => connection.close());
  return { hub, logs, states, connection };
}

const gaps = (attempts: Array<{ at: number }>) => attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
const acceptWelcome = (heartbeatSec = 20): Answer => ({ accept: (ws) => ws.send(welcome(heartbeatSec)) });

describe('hub connection', () => {
  it('sends the token only in the Authorization header and never logs it', async () => {
    const { hub, logs, states } = await setup(() => acceptWelcome());
    await waitFor('CONNECTED', () => states.includes('CONNECTED'));
    expect(hub.attempts[0]).toMatchObject({ url: '/ws/device/pi-1', authorization: `Bearer ${TOKEN}` });
    expect(logs.lines.filter((l) => l.msg === 'hub connection CONNECTED')).toHaveLength(1);
    expect(logs.text()).not.toContain(TOKEN);
  });

  it('on 401 says the token was refused, once, and retries slowly without giving up', async () => {
    const { hub, logs, states } = await setup((n) => (n < 3 ? { refuse: 401 } : acceptWelcome()));
    await waitFor('CONNECTED after three refusals', () => states.includes('CONNECTED'), 8000);
    for (const gap of gaps(hub.attempts)) expect(gap).toBeGreaterThanOrEqual(780);
    const refused = logs.lines.filter((l) => String(l.reason ?? '').includes('refused the token (HTTP 401)'));
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused[0]!.level).toBe(50);
    // One line when the reason appears, debug lines for the repeats.
    expect(refused.filter((l) => l.level >= 40)).toHaveLength(1);
    expect(logs.text()).not.toContain(TOKEN);
  });

  it('honours Retry-After on 429', async () => {
    const { hub, states } = await setup((n) =>
      n === 0 ? { refuse: 429, headers: { 'Retry-After': '2' } } : acceptWelcome(),
    );
    await waitFor('CONNECTED', () => states.includes('CONNECTED'), 6000);
    expect(hub.attempts).toHaveLength(2);
    expect(gaps(hub.attempts)[0]).toBeGreaterThanOrEqual(1990);
  });

  it('comes back when a 429 says, with its own backoff grown far beyond it', async () => {
    // A fleet refused after a hub restart: each agent's backoff has grown while the hub was down, but
    // the hub now says when its turn comes. Before, the agent waited the longer of the two (~9.9 s here).
    const { hub, states } = await setup(
      (n) => (n < 2 ? { refuse: 429, headers: { 'Retry-After': '1' } } : acceptWelcome()),
      { initialBackoffMs: 10_000, maxBackoffMs: 30_000, random: () => 0.99 },
    );
    await waitFor('CONNECTED', () => states.includes('CONNECTED'), 20_000);
    for (const gap of gaps(hub.attempts)) {
      expect(gap).toBeGreaterThanOrEqual(1000);
      expect(gap).toBeLessThan(6000);
    }
  });

  it('on 4009 says loudly that another agent uses the device id, and backs off', async () => {
    const { hub, logs } = await setup((n) =>
      n === 0 ? { accept: (ws) => setTimeout(() => ws.close(4009, 'replaced'), 20) } : acceptWelcome(),
    );
    await waitFor('a second attempt', () => hub.attempts.length === 2, 5000);
    const line = logs.lines.find((l) => l.msg === 'hub connection RETRYING');
    expect(line?.level).toBe(50);
    expect(String(line?.reason)).toContain('another agent is connected with device id pi-1');
    // At least half the maximum backoff (400 ms), not the 50 ms initial delay.
    expect(gaps(hub.attempts)[0]).toBeGreaterThanOrEqual(190);
  });

  it('terminates and reconnects when the hub is silent for 3 heartbeats', async () => {
    const { hub, logs } = await setup(() => acceptWelcome(0.2));
    await waitFor('a reconnect', () => hub.attempts.length >= 2, 5000);
    expect(
      logs.lines.some((l) => l.msg === 'heard nothing from the hub for 3 heartbeats; reconnecting'),
    ).toBe(true);
    // 3 × 200 ms of silence, plus the check interval and the reconnect delay.
    expect(gaps(hub.attempts)[0]).toBeGreaterThanOrEqual(600);
  });

  it('keeps a connection the hub pings, however long it lasts', async () => {
    const { hub } = await setup(() => ({
      accept: (ws) => {
        ws.send(welcome(0.2));
        const ping = setInterval(() => ws.ping(), 100);
        ws.on('close', () => clearInterval(ping));
      },
    }));
    await sleep(1500);
    expect(hub.attempts).toHaveLength(1);
  });

  it('grows the delay while connections fail fast, and starts over after a stable one', async () => {
    const closeAfter = [0, 0, 0, 0, 500, 0];
    const { hub } = await setup(
      (n) => ({
        accept: (ws) => {
          ws.send(welcome());
          setTimeout(() => ws.close(1011, 'flap'), closeAfter[n] ?? 60_000);
        },
      }),
      { initialBackoffMs: 100, maxBackoffMs: 5000, stableAfterMs: 300, random: () => 0.999 },
    );
    await waitFor('six attempts', () => hub.attempts.length >= 6, 10_000);
    const [g1, g2, g3, g4, g5] = gaps(hub.attempts);
    // Flapping: at least 100, 200, 400, 800 ms (the draws sit at the top of each ceiling).
    expect(g1).toBeGreaterThanOrEqual(95);
    expect(g2).toBeGreaterThanOrEqual(195);
    expect(g3).toBeGreaterThanOrEqual(395);
    expect(g4).toBeGreaterThanOrEqual(795);
    // The fifth connection lasted 500 ms > stableAfterMs: the delay is back to about 100 ms, where
    // flapping on would have made it about 1600 ms.
    expect(g5! - 500).toBeLessThan(800);
  });
});
