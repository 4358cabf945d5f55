import { describe, expect, it } from 'vitest';
import { MAX_FRAME_DEPTH, parseClientFrame, parseServerFrame } from './parse.js';

const telemetry = (readings: unknown[]) => JSON.stringify({ type: 'telemetry', seq: 1, readings });
const reading = (over: Record<string, unknown> = {}) => ({
  metric: 'temp',
  value: 21.5,
  ts: 1_700_000_000_000,
  ...over,
});

function errorOf(text: string): string {
  const result = parseClientFrame(text);
  if (result.ok) throw new Error(`expected a rejection of ${text}`);
  return result.error;
}

describe('parseClientFrame', () => {
  it('accepts every client frame of the SPEC', () => {
    expect(parseClientFrame('{"type":"sub","id":"s1","filters":["devices/+/telemetry/#"]}')).toEqual({
      ok: true,
      frame: { type: 'sub', id: 's1', filters: ['devices/+/telemetry/#'] },
    });
    expect(parseClientFrame('{"type":"unsub","filters":["a/b"]}').ok).toBe(true);
    expect(
      parseClientFrame('{"type":"pub","id":3,"topic":"rooms/1/light","payload":{"on":true},"retain":true}'),
    ).toEqual({
      ok: true,
      frame: { type: 'pub', id: 3, topic: 'rooms/1/light', payload: { on: true }, retain: true },
    });
    expect(parseClientFrame('{"type":"pub","topic":"a","payload":null}').ok).toBe(true);
  });

  it('normalises reading timestamps to epoch milliseconds', () => {
    const result = parseClientFrame(
      telemetry([
        reading({ ts: '2026-01-31T12:00:00.250Z', unit: '°C' }),
        reading({ ts: '2026-01-31T13:00:00+01:00' }),
      ]),
    );
    expect(result.ok && result.frame.type === 'telemetry' && result.frame.readings.map((r) => r.ts)).toEqual([
      Date.UTC(2026, 0, 31, 12, 0, 0, 250),
      Date.UTC(2026, 0, 31, 12, 0, 0, 0),
    ]);
  });

  it('names the field and the problem in words a user can act on', () => {
    expect(errorOf(telemetry([reading(), reading(), reading({ value: 'abc' })]))).toBe(
      'readings[2].value: expected a finite number, got "abc"',
    );
    expect(errorOf(telemetry([reading({ ts: 'yesterday' })]))).toMatch(
      /^readings\[0\]\.ts: expected an ISO-8601/,
    );
    expect(errorOf(telemetry([reading({ metric: 'a/b' })]))).toMatch(
      /^readings\[0\]\.metric: expected 1-128 letters/,
    );
    expect(errorOf(telemetry([]))).toMatch(/^readings: /);
    expect(errorOf(telemetry([reading({ unit: '=HYPERLINK("http://x","y")' })]))).toMatch(
      /^readings\[0\]\.unit: expected 1-32 letters/,
    );
    expect(errorOf('{"type":"telemetry","seq":-1,"readings":[]}')).toMatch(/^seq: /);
    expect(errorOf('{"type":"telemetry","seq":1.5,"readings":[]}')).toMatch(/^seq: /);
    expect(errorOf('{"type":"sub"}')).toBe('filters: expected an array, got nothing (the field is required)');
    expect(errorOf('{"type":"sub","filters":["a/#/b"]}')).toBe(
      'filters[0]: # may only stand as the last level of a filter',
    );
    expect(errorOf('{"type":"pub","topic":"a/+","payload":1}')).toBe(
      'topic: topic must not contain the wildcards + or #',
    );
  });

  it('takes the units instruments print and refuses formulas and line breaks', () => {
    for (const unit of ['°C', '%', 'm/s²', 'µg/m³', 'kWh', '€/MWh', '1/min', 'W m-2', 'Ω', 'dB(A)', 'ppm']) {
      expect(parseClientFrame(telemetry([reading({ unit })])).ok, unit).toBe(true);
    }
    for (const unit of [
      '=1+1',
      '+cmd|x',
      '-2+3',
      '@SUM(A1)',
      '\tC',
      '\rC',
      'C\nx',
      'a,b',
      '"C"',
      '',
      'x'.repeat(33),
    ]) {
      expect(parseClientFrame(telemetry([reading({ unit })])).ok, JSON.stringify(unit)).toBe(false);
    }
  });

  it('refuses what is not a frame object', () => {
    expect(errorOf('not json')).toBe('frame is not valid JSON');
    expect(errorOf('[1,2]')).toBe('frame must be a JSON object, got an array');
    expect(errorOf('"text"')).toBe('frame must be a JSON object, got "text"');
    expect(errorOf('null')).toBe('frame must be a JSON object, got null');
    expect(errorOf('{"filters":[]}')).toMatch(/^type: required/);
    expect(errorOf('{"type":"hack"}')).toBe(
      'type: unknown frame type "hack"; expected one of sub, unsub, pub, telemetry',
    );
    expect(errorOf('{"type":"toString"}')).toMatch(/unknown frame type "toString"/);
  });

  it('refuses prototype keys anywhere without being affected by them', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).length;
    expect(errorOf('{"type":"pub","topic":"a","payload":{"__proto__":{"polluted":true}}}')).toBe(
      'key "__proto__" is not allowed',
    );
    expect(errorOf('{"type":"pub","topic":"a","payload":[{"constructor":{"prototype":1}}]}')).toMatch(
      /not allowed/,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).length).toBe(before);
  });

  it('refuses extra-deep nesting, however deep, without overflowing the stack', () => {
    const nested = (depth: number) =>
      `{"type":"pub","topic":"a","payload":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expect(parseClientFrame(nested(MAX_FRAME_DEPTH - 2)).ok).toBe(true);
    expect(errorOf(nested(MAX_FRAME_DEPTH))).toBe(`frame is nested deeper than ${MAX_FRAME_DEPTH} levels`);
    expect(errorOf(nested(100_000))).toMatch(/nested deeper|not valid JSON/);
  });

  it('repeats a usable id as ref so the client can match the error', () => {
    expect(parseClientFrame('{"type":"pub","id":"p-9","topic":"a/+","payload":1}')).toMatchObject({
      ok: false,
      ref: 'p-9',
    });
    expect(parseClientFrame('{"type":"pub","id":{"x":1},"topic":"a/+","payload":1}')).not.toHaveProperty(
      'ref',
    );
  });
});

describe('recovery fields (SPEC "Recovery of missed messages")', () => {
  it('accepts a sub with the last position seen per filter', () => {
    const since = { 'devices/pi-1/telemetry/#': { epoch: 'e1', offset: 41 } };
    expect(
      parseClientFrame(JSON.stringify({ type: 'sub', filters: ['devices/pi-1/telemetry/#'], since })),
    ).toEqual({ ok: true, frame: { type: 'sub', filters: ['devices/pi-1/telemetry/#'], since } });
  });

  it('refuses a position for a filter the frame does not subscribe to, or a broken position', () => {
    const sub = (since: unknown) => JSON.stringify({ type: 'sub', filters: ['a/b'], since });
    expect(errorOf(sub({ 'a/c': { epoch: 'e', offset: 1 } }))).toBe(
      "since.a/c: not one of the frame's filters",
    );
    expect(errorOf(sub({ 'a/b': { epoch: 'e', offset: -1 } }))).toMatch(/^since\.a\/b\.offset: /);
    expect(errorOf(sub({ 'a/b': { offset: 1 } }))).toMatch(/^since\.a\/b\.epoch: expected a string/);
  });

  it('reads pos in msg and recovered in ack', () => {
    const msg = { type: 'msg', topic: 't', payload: 1, ts: 5, pos: { epoch: 'e', offset: 3 } };
    expect(parseServerFrame(JSON.stringify(msg))).toEqual({ ok: true, frame: msg });
    const ack = { type: 'ack', ref: 1, recovered: false };
    expect(parseServerFrame(JSON.stringify(ack))).toEqual({ ok: true, frame: ack });
  });
});

describe('parseServerFrame', () => {
  it('reads what the hub sends', () => {
    expect(parseServerFrame('{"type":"ack","seq":4}')).toEqual({ ok: true, frame: { type: 'ack', seq: 4 } });
    expect(
      parseServerFrame(
        '{"type":"welcome","conn":"c1","heartbeatSec":20,"permissions":[{"filter":"a/#","access":"read"}]}',
      ).ok,
    ).toBe(true);
    expect(parseServerFrame('{"type":"error","code":"nope","message":"x"}').ok).toBe(false);
  });
});
