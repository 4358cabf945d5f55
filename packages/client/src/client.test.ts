/**
 * Close codes a `/ws` client rarely meets from a real hub (4009 is a device's; 4008 needs a hub under
 * abuse), played by a scripted socket: what the client does next is what a user would notice.
 */
import { describe, expect, it } from 'vitest';
import { EdgewireClient, type StateChange } from './client.js';
import type { SocketAdapter, SocketEvents } from './socket.js';

function scripted() {
  const opened: SocketEvents[] = [];
  const sent: string[] = [];
  const adapter: SocketAdapter = {
    seesPings: false,
    open(_options, events) {
      opened.push(events);
      return { protocol: '', send: (text) => sent.push(text), close: () => {}, terminate: () => {} };
    },
  };
  const welcome = (events: SocketEvents) =>
    events.onMessage(JSON.stringify({ type: 'welcome', conn: 'c1', heartbeatSec: 20, permissions: [] }));
  return { adapter, opened, sent, welcome };
}

function record(client: EdgewireClient): StateChange[] {
  const states: StateChange[] = [];
  client.on('state', (s) => states.push(s));
  return states;
}

describe('close codes', () => {
  it('4009 (replaced) stops instead of evicting the newer connection in turn', () => {
    const hub = scripted();
    const client = new EdgewireClient(
      { url: 'http://hub.test', backoff: { initialMs: 1, maxMs: 1 } },
      hub.adapter,
    );
    const states = record(client);
    hub.welcome(hub.opened[0]!);
    hub.opened[0]!.onClose(4009, 'replaced');
    expect(states.at(-1)).toMatchObject({ state: 'stopped', code: 4009 });
    expect(hub.opened).toHaveLength(1);
    client.close();
  });

  it('4008 (policy) reconnects no sooner than policyDelayMs, whatever the backoff says', () => {
    const hub = scripted();
    const client = new EdgewireClient(
      { url: 'http://hub.test', backoff: { initialMs: 1, maxMs: 1 }, policyDelayMs: 7000 },
      hub.adapter,
    );
    const states = record(client);
    hub.welcome(hub.opened[0]!);
    hub.opened[0]!.onClose(4008, 'too slow');
    expect(states.at(-1)).toMatchObject({ state: 'waiting', code: 4008, retryInMs: 7000 });
    client.close();
  });

  it('asks to replay from the last position of a single-topic subscription, and reports a gap it could not fill', () => {
    const hub = scripted();
    const client = new EdgewireClient(
      { url: 'ws://hub.test/ws', backoff: { initialMs: 1, maxMs: 1 } },
      hub.adapter,
    );
    let gaps = 0;
    client.subscribe('devices/a/telemetry/t', () => {}, { onGap: () => gaps++ });
    const first = hub.opened[0]!;
    hub.welcome(first);
    const sub = JSON.parse(hub.sent.at(-1)!);
    expect(sub).toMatchObject({ type: 'sub', filters: ['devices/a/telemetry/t'] });
    expect(sub.since).toBeUndefined();
    first.onMessage(JSON.stringify({ type: 'ack', ref: sub.id }));
    first.onMessage(
      JSON.stringify({
        type: 'msg',
        topic: 'devices/a/telemetry/t',
        payload: 1,
        ts: 1,
        pos: { epoch: 'e1', offset: 41 },
      }),
    );
    first.onClose(1006, '');
    return new Promise<void>((resolve) => {
      setTimeout(() => {
        const second = hub.opened[1]!;
        hub.welcome(second);
        const again = JSON.parse(hub.sent.at(-1)!);
        expect(again.since).toEqual({ 'devices/a/telemetry/t': { epoch: 'e1', offset: 41 } });
        second.onMessage(JSON.stringify({ type: 'ack', ref: again.id, recovered: false }));
        setTimeout(() => {
          expect(gaps).toBe(1);
          client.close();
          resolve();
        }, 0);
      }, 20);
    });
  });
});
