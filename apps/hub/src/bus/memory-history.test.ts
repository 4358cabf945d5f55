import { describe, expect, it } from 'vitest';
import type { BusMessage } from './bus.js';
import { MemoryHistory } from './memory-history.js';
import { streamOf, streamOfFilter } from './streams.js';

const message = (topic: string, n: number, ts = Date.now()): BusMessage => ({
  topic,
  payload: n,
  ts,
  retain: false,
});

describe('streams', () => {
  it("puts every topic of a device in the device's stream, and other topics in their own", () => {
    expect(streamOf('devices/pi-1/telemetry/temp')).toBe('devices/pi-1');
    expect(streamOf('devices/pi-1/status')).toBe('devices/pi-1');
    expect(streamOf('rooms/1/light')).toBe('rooms/1/light');
    expect(streamOfFilter('devices/pi-1/telemetry/#')).toBe('devices/pi-1');
    expect(streamOfFilter('devices/pi-1/#')).toBe('devices/pi-1');
    expect(streamOfFilter('rooms/1/light')).toBe('rooms/1/light');
  });

  it('gives no stream to filters across streams, nor to command filters', () => {
    for (const filter of ['devices/+/status', 'devices/#', '#', 'rooms/+/light', 'devices/pi-1/cmd/#']) {
      expect(streamOfFilter(filter), filter).toBeUndefined();
    }
  });
});

describe('MemoryHistory', () => {
  it('numbers messages per stream and replays those after a position that match the filter', () => {
    const history = new MemoryHistory({ size: 10, ttlMs: 60_000 });
    const positioned = ['temp', 'load', 'temp', 'temp'].map((metric, i) =>
      history.append('devices/pi-1', message(`devices/pi-1/telemetry/${metric}`, i)),
    );
    expect(positioned.map((m) => m.pos!.offset)).toEqual([1, 2, 3, 4]);
    const since = positioned[0]!.pos!;
    const recovery = history.recover('devices/pi-1/telemetry/temp', since);
    expect(recovery.recovered).toBe(true);
    expect(recovery.messages.map((m) => m.payload)).toEqual([2, 3]);
    expect(history.recover('devices/pi-1/telemetry/temp', positioned[3]!.pos!)).toEqual({
      recovered: true,
      messages: [],
    });
  });

  it('refuses a position the ring no longer reaches back to, of another epoch, or from the future', () => {
    const history = new MemoryHistory({ size: 3, ttlMs: 60_000 });
    const positioned = [0, 1, 2, 3, 4].map((n) => history.append('t', message('t', n)));
    const epoch = positioned[0]!.pos!.epoch;
    expect(history.recover('t', { epoch, offset: 1 }).recovered).toBe(false);
    // Offset 2 is gone, but everything after it (3, 4, 5) is held.
    expect(history.recover('t', { epoch, offset: 2 }).messages.map((m) => m.payload)).toEqual([2, 3, 4]);
    expect(history.recover('t', { epoch: 'other', offset: 4 }).recovered).toBe(false);
    expect(history.recover('t', { epoch, offset: 6 }).recovered).toBe(false);
  });

  it('drops messages older than its age, and starts a new epoch once forgotten', () => {
    const history = new MemoryHistory({ size: 10, ttlMs: 1000 });
    const old = history.append('t', message('t', 0, Date.now() - 5000));
    history.append('t', message('t', 1, Date.now() - 5000));
    expect(history.recover('t', old.pos!).recovered).toBe(false);
    history.forget('t');
    const fresh = history.append('t', message('t', 2));
    expect(fresh.pos).toEqual({ epoch: expect.not.stringMatching(old.pos!.epoch), offset: 1 });
  });
});
